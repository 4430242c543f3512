"""The synthetic data set's conditions: PTB-XL SCP names, superclasses, SNOMED-CT codes.

``lead_I`` says how plainly lead I shows the condition: ``"plain"`` (rate, rhythm, QRS width, QT
are all readable from lead I), ``"partial"``, or ``"hidden"`` (the finding lives mainly in other
leads: the 12-lead teacher sees it, the 1-lead student mostly does not). This is the gap that
knowledge distillation works on.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Condition:
    code: str  # PTB-XL SCP abbreviation
    name: str
    superclass: str | None  # PTB-XL diagnostic superclass (one of data.ptbxl.SUPERDIAGNOSTIC) or None
    snomed: str | None  # SNOMED-CT code (as in the PhysioNet/CinC Challenge tables)
    leads: str  # where a cardiologist looks
    lead_I: str  # "plain" | "partial" | "hidden"


CONDITIONS: tuple[Condition, ...] = (
    Condition("NORM", "normal ECG", "NORM", "426783006", "all", "plain"),
    Condition("SBRAD", "sinus bradycardia", None, "426177001", "rhythm (any lead)", "plain"),
    Condition("STACH", "sinus tachycardia", None, "427084000", "rhythm (any lead)", "plain"),
    Condition("AFIB", "atrial fibrillation", None, "164889003", "rhythm, f-waves in II/V1", "plain"),
    Condition("1AVB", "first degree AV block", "CD", "270492004", "PR interval (II best)", "partial"),
    Condition("CRBBB", "complete right bundle branch block", "CD", "713427006", "V1 rsR', wide S in I/V6", "partial"),
    Condition(
        "CLBBB", "complete left bundle branch block", "CD", "164909002", "wide QRS, V1 QS, notched R in I/V6", "plain"
    ),
    Condition("LAFB", "left anterior fascicular block", "CD", "445118002", "left axis: II/III/aVF negative", "hidden"),
    Condition("AMI", "anterior myocardial infarction", "MI", "54329005", "Q waves and ST elevation V1-V4", "hidden"),
    Condition("IMI", "inferior myocardial infarction", "MI", None, "Q waves and ST change II/III/aVF", "hidden"),
    Condition("LVH", "left ventricular hypertrophy", "HYP", "164873001", "voltage S V1 + R V5", "partial"),
    Condition(
        "NST_",
        "non-specific ST-T change / T inversion",
        "STTC",
        "428750005",
        "ST-T in lateral/precordial leads",
        "partial",
    ),
    Condition("PVC", "ventricular premature complex", None, "427172004", "early wide beat (any lead)", "plain"),
    Condition("LNGQT", "long QT interval", "STTC", "111975006", "QT interval (any lead)", "plain"),
    Condition("LVOLT", "low QRS voltage", None, "251146004", "all limb and chest leads", "partial"),
)

CLASS_NAMES: tuple[str, ...] = tuple(c.code for c in CONDITIONS)
N_CLASSES: int = len(CONDITIONS)
