"""The synthetic generator, version 2 (issue 15, part 1): an opt-in variant of ``synthetic.py``
with latent severities, measurement error, label noise, graded lead-I visibility, correlated
long-tailed labels and episodic findings. It reuses the v1 machinery (wave model, Dower projection,
noise, fiducial and region tables) and never changes a v1 record: ``load_synthetic`` is untouched.

Label model, per record (``sample_v2_labels``; no signal is needed, so large label samples are cheap):

1. **Latent correlation**: ``z ~ N(0, R)`` over ``LATENT`` (``synthetic_v2_tables``: tetrachoric
   correlations estimated from ptbxl-2k, plus stated assumptions), ``u = Phi(z)``.
2. **Severity**: each latent maps to a physical quantity by a monotone piecewise-linear quantile
   function (``severity_knots``; a truncated normal on the unaffected side where ``Severity.sd``
   is set) whose threshold sits at the quantile ``true_prevalence`` solves for;
   ``SEVERITY`` names the quantity, unit, threshold and source of every class.
3. **Truth** = the severity beyond its threshold (``true_<code>`` in ``meta``).
4. **Measured** = severity + N(0, ``measurement_sd``) beyond the threshold: what a careful reader
   codes (``measured_<code>``); records near a threshold flip, so the 12-lead Bayes error is > 0.
5. **Observed** ``labels`` = measured labels through per-class omission (``false_negative``) and
   flip (``false_positive``) noise. The measured prevalence must be ``(p_obs - fp) / (1 - fp - fn)``
   for the *observed* prevalence to equal ``prevalence``; ``true_prevalence`` solves the threshold
   quantiles for it, counting the records measurement error moves across each threshold and the
   records the rules below remove (observed = target within about 2 % relative on a large sample,
   ``tests/test_synthetic_v2.py``).

Rules applied to truth and measured labels (not to observed ones: label noise may break them): a
record in atrial fibrillation is not coded SBRAD / STACH (rate rules are for sinus rhythm), one in
AF throughout has no PR (no 1AVB); a record with both bundle branch blocks keeps CLBBB. NORM is the
absence of every other finding (truth, measured and observed alike).

The container: the classes, leads and tables of ``load_synthetic``; ``labels`` are the observed
labels; ``meta`` adds ``sev_<latent>``, ``true_<code>``, ``measured_<code>``, ``axis_deg``,
``location_AMI``/``location_IMI`` (used where the severity is above 0), ``misplaced``, ``af_start_s``/``af_end_s`` and ``pvc_start_s``/``pvc_end_s``
(the episodes), ``pvc_rendered``, ``habitus_limb``, ``limb_qrs_pp_mV``, ``qrs_gain`` and ``sokolow_mV`` (rendered). ``ECGData.subset``/``save``/``load`` keep
``meta``. Regions follow the *true* findings (the paroxysmal AF region is its episode).
Rendering: ``synthetic_v2_render``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Mapping

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ..checks import check_fraction, check_number
from ..errors import ConfigError
from ..progress import progress
from ..utils import fingerprint
from ..versions import version
from .conditions import CLASS_NAMES, CONDITIONS
from .container import ECGData
from .leads import LEADS12
from .synthetic import RNG_BLOCK, _check_args, _check_memory, assign_folds, sample_params
from .synthetic_v2_tables import (
    ASSUMED_CORRELATION,
    DEFAULT_PREVALENCE_NO_DATA,
    LATENT,
    PTBXL2K_CORRELATION,
    PTBXL2K_PREVALENCE,
)

FINDINGS: tuple[str, ...] = tuple(c for c in CLASS_NAMES if c != "NORM")


@dataclass(frozen=True)
class Severity:
    """What a class's latent severity is: ``quantity`` in ``unit``; the finding is present when the
    severity is ``above`` (else below) ``threshold``; ``low``/``high`` bound the range; ``mid`` is
    the median of the unaffected side (None: a ``band`` of width ``band`` in probability below the
    threshold ramps from 0, the rest is 0). ``sd``: the unaffected side is a normal distribution
    ``N(mid, sd)`` truncated at the threshold (and clipped to ``low``/``high``), so its density
    thins out towards the threshold as in a real population; None: linear from ``mid`` to the
    threshold (a flat density up to the threshold)."""

    quantity: str
    unit: str
    threshold: float
    low: float
    high: float
    mid: float | None
    above: bool = True
    band: float = 0.0
    sd: float | None = None


#: latent -> severity. Sources: SBRAD/STACH rate < 60 / > 100 bpm, 1AVB PR > 200 ms, complete
#: bundle branch block QRS >= 120 ms, LAFB frontal axis -45 deg or more leftward: Surawicz et al.,
#: AHA/ACCF/HRS recommendations for the standardization and interpretation of the ECG, part III
#: (J Am Coll Cardiol 53:976-981, 2009); QTc: Rautaharju et al., part IV (Circulation 119:e241, 2009),
#: prolonged at >= 450 ms (men) / 460 ms (women): the label uses the sex-specific value, the quantile
#: map their mean and each sex's QTc is shifted by its threshold minus that mean (women's QTc is longer
#: than men's by about this much), so the sex-specific label is the same latent tail in both; LVH: Sokolow-Lyon index S(V1) + max R(V5, V6) >= 3.5 mV (Sokolow & Lyon, Am Heart J
#: 37:161, 1949); LVOLT: every limb lead's QRS < 0.5 mV peak-to-peak (Surawicz 2009); infarction: a
#: Q-wave dipole >= 0.15 mV (assumption: about the 0.1 mV Q-wave criterion of the Fourth Universal
#: Definition of MI, Thygesen et al., Circulation 138:e618, 2018, in the best-aligned leads, whose
#: Dower rows have norms 0.9-1.5); NST_: lateral ST depression >= 0.05 mV (the same definition's
#: ischaemic ST-depression level); PVC: count >= 1 (0.5 on the continuous latent, rounded);
#: AFIB: AF burden (fraction of the 10 s) >= 0.25 (assumption: the shortest run a reader codes).
#: Ranges (low, mid, high) are assumptions of plausible adult values. ``sd`` (population spread of the
#: unaffected side): heart rate 12 bpm, PR 22 ms, QTc 20 ms: of the order of the adult normal-value
#: distributions of Rijnbeek et al. (J Electrocardiol 47:914-921, 2014; 2nd-98th percentiles about
#: +-2 SD around the mean); Sokolow-Lyon 0.7 mV and limb-lead QRS peak-to-peak 0.35 mV: assumptions
#: of the same order (population spreads of QRS voltage). Without them (a flat density up to the
#: threshold) the measurement error alone pushed more records over SB, 1AVB, LVH, LQT and LQRSV
#: thresholds than their targets allow.
SEVERITY: Mapping[str, Severity] = MappingProxyType(
    {
        "rate": Severity("heart rate", "bpm", 60.0, 40.0, 150.0, 72.0, sd=12.0),  # two-tailed: STACH > 100
        "AFIB": Severity("AF burden", "fraction", 0.25, 0.0, 1.0, None, band=0.005),
        "1AVB": Severity("PR interval", "s", 0.200, 0.120, 0.320, 0.160, sd=0.022),
        "CRBBB": Severity("QRS duration (right bundle delay)", "s", 0.120, 0.0, 0.170, None, band=0.05),
        "CLBBB": Severity("QRS duration (left bundle delay)", "s", 0.120, 0.0, 0.170, None, band=0.01),
        "LAFB": Severity("frontal QRS axis", "deg", -45.0, -90.0, 150.0, None, above=False),  # V2Config.axis_*
        "AMI": Severity("anterior Q-wave dipole", "mV", 0.15, 0.0, 0.6, None, band=0.03),
        "IMI": Severity("inferior/posterior Q-wave dipole", "mV", 0.15, 0.0, 0.6, None, band=0.03),
        "LVH": Severity("Sokolow-Lyon index", "mV", 3.5, 1.0, 5.5, 2.3, sd=0.7),
        "NST_": Severity("lateral ST depression", "mV", 0.05, 0.0, 0.15, None, band=0.08),
        "PVC": Severity("PVC count", "beats", 0.5, 0.0, 5.49, None),
        "LNGQT": Severity("QTc", "s", 0.455, 0.370, 0.550, 0.410, sd=0.020),
        "LVOLT": Severity("largest limb-lead QRS peak-to-peak", "mV", 0.5, 0.25, 2.4, 1.1, above=False, sd=0.35),
    }
)
RATE_STACH_BPM = 100.0
QTC_THRESHOLD_S = {"M": 0.450, "F": 0.460}
#: the lower edge of the incomplete-block zone (QRS 110-119 ms, Surawicz 2009): bundle-branch
#: morphology is rendered from here, the label needs >= 120 ms
INCOMPLETE_BLOCK_S = 0.110

#: measurement error (SD, severity units). Assumptions of the order of the disagreement between
#: automated interval programs (Kligfield et al., Am Heart J 200:1-10, 2018: differences of several
#: ms in PR, QRS and QT) and between readers (QT: Viskin et al., Heart Rhythm 2:569, 2005). PVC: a
#: count is exact (misses are label noise). Rate: 1 bpm (the rate of a 10 s record is counted from
#: 8-16 RR intervals; 2 bpm made the SB prevalence target unreachable: ``true_prevalence``). 1AVB:
#: 6.5 ms, calibrated (``benchmarks/calibration_synthetic.py``: with the calibrated flip rate, 5 ms put
#: the 12-lead probe's AUC 0.02 above the real one and the lead-I gap 0.057 above; 6.5 ms meets
#: both), within Kligfield's several-ms differences.
DEFAULT_MEASUREMENT_SD: Mapping[str, float] = MappingProxyType(
    {
        "rate": 1.0,
        "AFIB": 0.03,
        "1AVB": 0.0065,
        "CRBBB": 0.006,
        "CLBBB": 0.006,
        "LAFB": 8.0,
        "AMI": 0.03,
        "IMI": 0.03,
        "LVH": 0.25,
        "NST_": 0.015,
        "PVC": 0.0,
        "LNGQT": 0.012,
        "LVOLT": 0.05,
    }
)
#: label noise: omission (a measured finding not coded) and flip (coded without being measured).
#: ASSUMPTIONS: PTB-XL (Wagner et al. 2020) labels come from one or two cardiologists and publish no
#: per-class disagreement rates; the values are set low for rhythm and wide-QRS findings and high
#: for subtle or often unreported ones (QT, low voltage, non-specific ST-T, fascicular block), the
#: ranking reported for cardiologist agreement on ECG statements. Calibrate before relying on them.
DEFAULT_FALSE_NEGATIVE: Mapping[str, float] = MappingProxyType(
    {
        "SBRAD": 0.05,
        "STACH": 0.05,
        "AFIB": 0.03,
        "1AVB": 0.15,
        "CRBBB": 0.05,
        "CLBBB": 0.05,
        "LAFB": 0.20,
        "AMI": 0.15,
        "IMI": 0.20,
        "LVH": 0.20,
        "NST_": 0.30,
        "PVC": 0.10,
        "LNGQT": 0.85,
        "LVOLT": 0.25,
    }
)
#: LNGQT: omission 0.85 and flip 0.001. With a population QTc spread of 20 ms and a 12 ms measurement
#: error, some 2-5 % of records measure above the sex-specific limit, while PTB-XL codes LQT in
#: 0.5 % (ptbxl-2k; PTB-XL's LNGQT statement is similarly rare): its readers leave most long QTc
#: uncoded. A 0.3 omission made the 0.5 % target unreachable (``true_prevalence``).
#: Flip rates are what sets a probe's AUC ceiling (a flipped label is a positive that looks normal,
#: ranked below most negatives; an omitted one is one high-scoring negative among thousands), so the
#: classes with a real counterpart are CALIBRATED by ``benchmarks/calibration_synthetic.py`` to the
#: real 12-lead AUC of the feature probe on ptbxl-2k's training part: SBRAD, CLBBB, LVOLT 0.0003
#: (real AUCs 0.89-1.0 leave no room for more: PTB-XL rarely codes these without the finding),
#: CRBBB, 1AVB 0.001, LAFB 0.003, NST_ 0.04 (T-wave abnormality is the least reproducible call,
#: cf. the ranking above; real probe AUC 0.78); STACH, AFIB, PVC 0.003 and AMI, IMI, LVH 0.01 are
#: the initial assumptions (no real counterpart, or already within target).
DEFAULT_FALSE_POSITIVE: Mapping[str, float] = MappingProxyType(
    {
        "SBRAD": 0.0003,
        "STACH": 0.003,
        "AFIB": 0.003,
        "1AVB": 0.001,
        "CRBBB": 0.001,
        "CLBBB": 0.0003,
        "LAFB": 0.003,
        "AMI": 0.01,
        "IMI": 0.01,
        "LVH": 0.01,
        "NST_": 0.04,
        "PVC": 0.003,
        "LNGQT": 0.001,
        "LVOLT": 0.0003,
    }
)
#: observed prevalence: ptbxl-2k where it has the class, else the documented default
DEFAULT_PREVALENCE: Mapping[str, float] = MappingProxyType({**DEFAULT_PREVALENCE_NO_DATA, **PTBXL2K_PREVALENCE})
#: infarct location -> (class, direction towards the infarcted wall in the heart frame: +X left,
#: +Y inferior, +Z posterior). ST elevation points along it, Q waves away. Lead I (Dower row
#: (0.632, -0.235, 0.059)) sees anterolateral (0.42) and inferolateral (0.22) walls, barely
#: anteroseptal (-0.18), inferior (-0.08) or posterior (0.00) ones.
INFARCT_LOCATIONS: Mapping[str, tuple[str, tuple[float, float, float]]] = MappingProxyType(
    {
        "anteroseptal": ("AMI", (-0.2, 0.0, -1.0)),
        "anterolateral": ("AMI", (0.7, -0.1, -0.7)),
        "inferior": ("IMI", (0.25, 1.0, 0.0)),
        "inferolateral": ("IMI", (0.6, 0.8, 0.2)),
        "posterior": ("IMI", (0.0, 0.3, 1.0)),
    }
)
#: share of each location within its class: approximate PTB-XL statement counts (Wagner et al.
#: 2020: ASMI + AMI far more frequent than ALMI + LMI; IMI than ILMI, IPLMI, IPMI, PMI); the exact
#: counts were not re-verified in this session (assumption of their order).
DEFAULT_INFARCT_LOCATION: Mapping[str, float] = MappingProxyType(
    {"anteroseptal": 0.85, "anterolateral": 0.15, "inferior": 0.80, "inferolateral": 0.17, "posterior": 0.03}
)


def _mapping(default: Mapping[str, float]):
    return field(default_factory=lambda: dict(default))


@dataclass(frozen=True)
class V2Config:
    """Every v2 effect, each a field (all enter the data key).

    * ``prevalence``: observed prevalence per finding (ptbxl-2k estimates, ``synthetic_v2_tables``);
    * ``correlation_scale``: multiplies the off-diagonal latent correlations (0 independent, 1 as
      estimated; in [0, 1] so the matrix stays positive definite);
    * ``measurement_sd``: SD of the reader's measurement of each latent severity (``SEVERITY``
      units; 0: labels are exactly the thresholded severity);
    * ``false_negative`` / ``false_positive``: per-class omission and flip rates of the coded labels;
    * ``infarct_location``: relative frequency of each location within AMI / IMI;
    * ``axis_range_deg``: (lowest, highest) frontal QRS axis (adults: normal -30..+90 deg; LAD below,
      RAD above; Surawicz 2009); the LAFB prevalence sets how much lies below -45 deg (linear from
      the lowest axis to -45 deg);
    * ``axis_median_deg`` / ``axis_sd_deg``: above -45 deg the axis is ``N(median, sd)`` truncated
      to [-45 deg, highest]. Calibrated (``benchmarks/calibration_synthetic.py``) against ptbxl-2k's
      axis labels: RAD (> +90 deg) 1.3 % and LAD (< -30 deg) 22 % of records, an older, clinical
      population whose axis lies left of the young-adult mean of about +50 deg (Surawicz 2009: the
      axis moves leftward with age). 20 and 35 deg give about 2 % RAD and 13 % LAD; the former default
      (linear from -45 to +50 to +150 deg) put some 30 % of records right of +90 deg, where lead I
      barely sees the QRS;
    * ``habitus_sd``: SD of the log gain of each precordial lead and of the limb leads' common gain
      (chest wall, electrode distance; assumption 0.15, a factor of about 0.75-1.35);
    * ``nondipolar_sd``: SD of a per-record perturbation of the Dower lead vectors (torso
      inhomogeneity; assumption 0.04 mV/mV: each lead sees the heart slightly off the average torso);
    * ``misplacement_rate``: probability of a left/right arm electrode reversal (I inverted, II<->III,
      aVR<->aVL); Batchvarov, Malik & Camm (Europace 9:1081, 2007) review rates of 0.4-4 %;
    * ``af_paroxysmal_fraction``: share of AF records whose AF occupies only part of the record;
    * ``pvc_burst_fraction``: share of PVC records whose PVCs form one bigeminal burst in a 4-6 s window.
    """

    prevalence: Mapping[str, float] = _mapping(DEFAULT_PREVALENCE)
    correlation_scale: float = 1.0
    measurement_sd: Mapping[str, float] = _mapping(DEFAULT_MEASUREMENT_SD)
    false_negative: Mapping[str, float] = _mapping(DEFAULT_FALSE_NEGATIVE)
    false_positive: Mapping[str, float] = _mapping(DEFAULT_FALSE_POSITIVE)
    infarct_location: Mapping[str, float] = _mapping(DEFAULT_INFARCT_LOCATION)
    axis_range_deg: tuple[float, float] = (-90.0, 150.0)
    axis_median_deg: float = 20.0
    axis_sd_deg: float = 35.0
    habitus_sd: float = 0.15
    nondipolar_sd: float = 0.04
    misplacement_rate: float = 0.004
    af_paroxysmal_fraction: float = 0.2
    pvc_burst_fraction: float = 0.3

    def checked(self) -> "V2Config":
        """A copy with every mapping completed from its defaults and every value checked;
        ConfigError naming the field otherwise."""
        out = {}
        for f, default, keys in (
            ("prevalence", DEFAULT_PREVALENCE, FINDINGS),
            ("measurement_sd", DEFAULT_MEASUREMENT_SD, LATENT),
            ("false_negative", DEFAULT_FALSE_NEGATIVE, FINDINGS),
            ("false_positive", DEFAULT_FALSE_POSITIVE, FINDINGS),
            ("infarct_location", DEFAULT_INFARCT_LOCATION, tuple(INFARCT_LOCATIONS)),
        ):
            given = getattr(self, f)
            if not isinstance(given, Mapping):
                raise ConfigError(f"V2Config.{f} must be a mapping; got {type(given).__name__}")
            merged = dict(default)
            for k, v in given.items():
                if k not in keys:
                    raise ConfigError(f"V2Config.{f}: unknown key {k!r}; known: {list(keys)}")
                if f == "measurement_sd":
                    merged[k] = check_number(f"V2Config.{f}[{k!r}]", v, low=0)
                else:
                    merged[k] = check_fraction(f"V2Config.{f}[{k!r}]", v)
            out[f] = {k: merged[k] for k in keys}
        for c in FINDINGS:
            fp, fn = out["false_positive"][c], out["false_negative"][c]
            if fp + fn >= 1.0:
                raise ConfigError(f"V2Config.false_positive[{c!r}] + false_negative[{c!r}] must be < 1")
            if not fp < out["prevalence"][c] < 1 - fn:
                raise ConfigError(
                    f"V2Config.prevalence[{c!r}]={out['prevalence'][c]} must lie strictly between "
                    f"false_positive ({fp}) and 1 - false_negative ({1 - fn})"
                )
        for cls in ("AMI", "IMI"):
            if sum(p for loc, p in out["infarct_location"].items() if INFARCT_LOCATIONS[loc][0] == cls) <= 0:
                raise ConfigError(f"V2Config.infarct_location gives every {cls} location probability 0")
        axis = self.axis_range_deg
        if not (isinstance(axis, tuple) and len(axis) == 2):
            raise ConfigError(f"V2Config.axis_range_deg must be a (low, high) tuple; got {axis!r}")
        lo, hi = (check_number(f"V2Config.axis_range_deg[{i}]", v) for i, v in enumerate(axis))
        if not lo < SEVERITY["LAFB"].threshold < hi <= 180 or lo < -180:
            raise ConfigError(f"V2Config.axis_range_deg must satisfy -180 <= low < -45 < high <= 180; got {axis}")
        median = check_number("V2Config.axis_median_deg", self.axis_median_deg)
        if not SEVERITY["LAFB"].threshold < median < hi:
            raise ConfigError(f"V2Config.axis_median_deg must lie between -45 and axis_range_deg[1]={hi}; got {median}")
        scalars = {
            "axis_median_deg": median,
            "axis_sd_deg": check_number("V2Config.axis_sd_deg", self.axis_sd_deg, low=1, high=180),
            "correlation_scale": check_fraction("V2Config.correlation_scale", self.correlation_scale),
            "habitus_sd": check_number("V2Config.habitus_sd", self.habitus_sd, low=0, high=1),
            "nondipolar_sd": check_number("V2Config.nondipolar_sd", self.nondipolar_sd, low=0, high=0.5),
        }
        for f in ("misplacement_rate", "af_paroxysmal_fraction", "pvc_burst_fraction"):
            scalars[f] = check_fraction(f"V2Config.{f}", getattr(self, f))
        return V2Config(**out, axis_range_deg=(lo, hi), **scalars)

    def recipe(self) -> dict:
        """Every field, JSON-ready (the data key hashes it)."""
        c = self.checked()
        return {f.name: (list(v) if isinstance(v := getattr(c, f.name), tuple) else v) for f in fields(c)}


def _config(config) -> V2Config:
    if config is None:
        return V2Config().checked()
    if not isinstance(config, V2Config):
        raise ConfigError(f"config must be a V2Config or None; got {type(config).__name__}")
    return config.checked()


# ============================================================================ label model
def latent_correlation(scale: float = 1.0) -> np.ndarray:
    """``(len(LATENT),) * 2`` correlation matrix: ptbxl-2k estimates and ``ASSUMED_CORRELATION``,
    made positive definite (eigenvalues clipped at 0.05, rescaled to a unit diagonal), with the
    off-diagonal multiplied by ``scale``."""
    idx = {d: i for i, d in enumerate(LATENT)}
    r = np.eye(len(LATENT))
    for (a, b), rho in {**PTBXL2K_CORRELATION, **ASSUMED_CORRELATION}.items():
        r[idx[a], idx[b]] = r[idx[b], idx[a]] = rho
    w, v = np.linalg.eigh(r)
    r = (v * np.maximum(w, 0.05)) @ v.T
    d = np.sqrt(np.diag(r))
    r = r / d[:, None] / d[None, :]
    return (1 - scale) * np.eye(len(LATENT)) + scale * r


def measured_prevalence_target(cfg: V2Config) -> dict[str, float]:
    """The prevalence of the measured findings (after the exclusion rules) that gives the observed
    ``cfg.prevalence`` after label noise: ``(p_obs - fp) / (1 - fp - fn)``."""
    out = {}
    for c in FINDINGS:
        fp, fn = cfg.false_positive[c], cfg.false_negative[c]
        out[c] = (cfg.prevalence[c] - fp) / (1.0 - fp - fn)
    return out


_TAILS_CACHE: dict[str, dict[str, float]] = {}
#: the exclusion rules: finding -> the finding that removes it (``_apply_rules``); 1AVB's is
#: permanent AF (burden 1), handled in ``_exclusion``
_EXCLUDED_BY = {"SBRAD": "AFIB", "STACH": "AFIB", "CRBBB": "CLBBB", "1AVB": "AFIB"}


def true_prevalence(cfg: V2Config) -> dict[str, float]:
    """The latent tail mass beyond each threshold (the prevalence of the true findings before the
    exclusion rules), solved so that the MEASURED prevalence after measurement error and the rules
    equals ``measured_prevalence_target`` (hence the observed one ``cfg.prevalence``).

    Measurement error moves records across a threshold in both directions; where the unaffected
    side is denser at the threshold than the affected side, more records cross into the finding
    than out of it, so the measured prevalence exceeds the true one. ``measured_prevalence`` gives
    that exactly (a numerical integral over the quantile function); each tail mass is found by
    root finding. The rules (``_apply_rules``) remove a share of a finding's records; that share is
    taken from the latent bivariate normal (an approximation: measured findings are not exact
    thresholds of the latent), and the measured target divided by what the rule leaves.
    ConfigError when a target is unreachable (the measurement error alone pushes more records over
    the threshold than the target allows)."""
    cfg = cfg.checked()
    key = repr(sorted(cfg.recipe().items()))
    if key not in _TAILS_CACHE:
        _TAILS_CACHE[key] = _solve_tails(cfg)
    return dict(_TAILS_CACHE[key])


def _tail_key(latent: str) -> tuple[str, ...]:
    return ("SBRAD", "STACH") if latent == "rate" else (latent,)


def measured_prevalence(latent: str, q: dict[str, float], cfg: V2Config) -> dict[str, float]:
    """Prevalence of the measured finding(s) of ``latent`` before the exclusion rules, for tail
    masses ``q`` (``severity_knots``): the integral over ``u`` of P(severity(u) + error beyond the
    threshold), error ~ N(0, ``cfg.measurement_sd[latent]``)."""
    from scipy.integrate import trapezoid

    knots_u, knots_v = severity_knots(latent, q, cfg)
    u = np.union1d(np.linspace(0.0, 1.0, 20001), knots_u)
    v = np.interp(u, knots_u, knots_v)
    sd = cfg.measurement_sd[latent]
    s = SEVERITY[latent]

    def beyond(threshold: float, above: bool) -> float:
        d = (v - threshold) if above else (threshold - v)
        p = ndtr(d / sd) if sd > 0 else (d >= 0).astype(float)
        return float(trapezoid(p, u))

    if latent == "rate":
        return {"SBRAD": beyond(s.threshold, False), "STACH": beyond(RATE_STACH_BPM, True)}
    return {latent: beyond(s.threshold, s.above)}


def _exclusion(c: str, p_c: float, q: dict[str, float], m: dict[str, float], cfg: V2Config) -> float:
    """P(the rule removes a measured ``c`` record), from the latent bivariate normal."""
    from scipy.stats import multivariate_normal

    other = _EXCLUDED_BY[c]
    p_other = q["AFIB"] * (1 - cfg.af_paroxysmal_fraction) if c == "1AVB" else m[other]
    if p_other <= 0 or p_c <= 0:
        return 0.0
    lat_c, lat_o = ("rate" if c in ("SBRAD", "STACH") else c), other
    r = latent_correlation(cfg.correlation_scale)[LATENT.index(lat_c), LATENT.index(lat_o)]
    r = -r if c == "SBRAD" else r  # SBRAD is the low tail of the rate latent
    a, b = ndtri(1 - p_c), ndtri(1 - p_other)
    both = multivariate_normal.cdf([-a, -b], cov=[[1, r], [r, 1]])
    return float(min(both / p_c, 0.999))


def _solve_tails(cfg: V2Config) -> dict[str, float]:
    from scipy.optimize import brentq

    target = measured_prevalence_target(cfg)
    q = dict(target)
    m = dict(target)  # measured prevalences before the rules (the excluders' are their targets)
    for _ in range(3):
        for latent in LATENT:
            for c in _tail_key(latent):
                keep = 1.0 - (_exclusion(c, m[c], q, m, cfg) if c in _EXCLUDED_BY else 0.0)
                goal = target[c] / keep

                def gap(x: float, c=c, latent=latent) -> float:
                    return measured_prevalence(latent, {**q, c: x}, cfg)[c] - goal

                low, high = (
                    1e-7,
                    (
                        1.0 - q["STACH"] - 1e-6
                        if c == "SBRAD"
                        else 1.0 - q["SBRAD"] - 1e-6
                        if c == "STACH"
                        else 1 - 1e-6
                    ),
                )
                if gap(low) > 0:
                    raise ConfigError(
                        f"V2Config: the measured prevalence of {c} cannot reach {goal:.4f} (observed target "
                        f"{cfg.prevalence[c]}): measurement error alone (measurement_sd[{latent!r}]="
                        f"{cfg.measurement_sd[latent]}) gives {gap(low) + goal:.4f}; lower measurement_sd "
                        f"or false_positive, or raise false_negative"
                    )
                q[c] = float(brentq(gap, low, high, xtol=1e-9))
                m[c] = goal
    return q


def _normal_part(u0: float, u1: float, v0: float, v1: float, mid: float, sd: float, n: int = 257):
    """Knots of the quantile function of ``N(mid, sd)`` truncated to ``[v0, v1]``, spread over ``[u0, u1]``
    (denser near both ends, where the normal quantile bends most)."""
    f0, f1 = ndtr((v0 - mid) / sd), ndtr((v1 - mid) / sd)
    w = 0.5 - 0.5 * np.cos(np.pi * np.linspace(0.0, 1.0, n))
    v = np.clip(mid + sd * ndtri(f0 + w * (f1 - f0)), v0, v1)
    v[0], v[-1] = v0, v1
    return u0 + w * (u1 - u0), v


def severity_knots(latent: str, p: dict[str, float], cfg: V2Config) -> tuple[np.ndarray, np.ndarray]:
    """Quantile function knots ``(u, value)`` of a latent, with the threshold at ``1 - p`` (or ``p``
    where the finding lies below it); ``p``: tail masses (``true_prevalence``)."""
    s = SEVERITY[latent]
    if latent == "rate":
        lo, hi = p["SBRAD"], 1.0 - p["STACH"]
        u, v = _normal_part(lo, hi, s.threshold, RATE_STACH_BPM, s.mid, s.sd)
        return np.concatenate([[0], u, [1]]), np.concatenate([[s.low], v, [s.high]])
    q = p[latent]
    if latent == "LAFB":
        lo, hi = cfg.axis_range_deg
        u, v = _normal_part(q, 1.0, s.threshold, hi, cfg.axis_median_deg, cfg.axis_sd_deg)
        return np.concatenate([[0], u]), np.concatenate([[lo], v])
    if not s.above:
        if s.sd is not None:
            u, v = _normal_part(q, 1.0, s.threshold, s.high, s.mid, s.sd)
            return np.concatenate([[0], u]), np.concatenate([[s.low], v])
        return np.array([0, q, (q + 1) / 2, 1]), np.array([s.low, s.threshold, s.mid, s.high])
    if latent == "AFIB":  # permanent AF (burden 1) beyond the paroxysmal share
        par = 1 - q + q * cfg.af_paroxysmal_fraction
        start = max(1 - q - s.band, 0.0)
        return np.array([0, start, 1 - q, par, 1]), np.array([0, 0, s.threshold, 1, 1])
    if s.mid is None:
        start = max(1 - q - s.band, 0.0)
        low_edge = INCOMPLETE_BLOCK_S if latent in ("CRBBB", "CLBBB") else 0.0
        u = np.array([0, start, np.nextafter(start, 1), 1 - q, 1])
        return u, np.array([0, 0, low_edge, s.threshold, s.high])
    if s.sd is not None:
        u, v = _normal_part(0.0, 1.0 - q, s.low, s.threshold, s.mid, s.sd)
        return np.concatenate([u, [1]]), np.concatenate([v, [s.high]])
    return np.array([0, (1 - q) / 2, 1 - q, 1]), np.array([s.low, s.mid, s.threshold, s.high])


def _positive(latent: str, value: np.ndarray, sex: np.ndarray) -> dict[str, np.ndarray]:
    s = SEVERITY[latent]
    if latent == "rate":
        return {"SBRAD": value < s.threshold, "STACH": value > RATE_STACH_BPM}
    if latent == "LNGQT":
        return {latent: value >= np.where(sex == "M", QTC_THRESHOLD_S["M"], QTC_THRESHOLD_S["F"])}
    return {latent: value >= s.threshold if s.above else value <= s.threshold}


def _apply_rules(y: dict[str, np.ndarray], burden: np.ndarray) -> None:
    af = y["AFIB"]
    y["SBRAD"] = y["SBRAD"] & ~af
    y["STACH"] = y["STACH"] & ~af
    y["1AVB"] = y["1AVB"] & (burden < 1.0)
    y["CRBBB"] = y["CRBBB"] & ~y["CLBBB"]


def sample_v2_labels(n: int, rng: np.random.Generator, cfg: V2Config, sex: np.ndarray | None = None) -> pd.DataFrame:
    """Severities and labels of ``n`` records (no signals): ``sev_<latent>``, ``true_<code>``,
    ``measured_<code>`` and ``obs_<code>`` (observed, with label noise), ``location_AMI``/``location_IMI``.
    ``sex`` (``"M"``/``"F"``) sets the QTc threshold (drawn 50/50 when None)."""
    cfg = cfg.checked()
    if sex is None:
        sex = np.where(rng.random(n) < 0.5, "M", "F")
    p = true_prevalence(cfg)
    z = rng.standard_normal((n, len(LATENT))) @ np.linalg.cholesky(latent_correlation(cfg.correlation_scale)).T
    u = ndtr(z)
    err = rng.standard_normal((n, len(LATENT)))
    out: dict[str, np.ndarray] = {}
    true: dict[str, np.ndarray] = {}
    measured: dict[str, np.ndarray] = {}
    for j, d in enumerate(LATENT):
        value = np.interp(u[:, j], *severity_knots(d, p, cfg))
        if d == "PVC":
            value = np.round(value)
        if d == "LNGQT":  # women's QTc runs longer (Rautaharju 2009): each sex sits at its own threshold
            value = value + np.where(sex == "M", QTC_THRESHOLD_S["M"], QTC_THRESHOLD_S["F"]) - SEVERITY[d].threshold
        out[f"sev_{d}"] = value
        true.update(_positive(d, value, sex))
        measured.update(_positive(d, value + cfg.measurement_sd[d] * err[:, j], sex))
    burden = out["sev_AFIB"]
    for y in (true, measured):
        _apply_rules(y, burden)
    flip, omit = rng.random((n, len(FINDINGS))), rng.random((n, len(FINDINGS)))
    for k, c in enumerate(FINDINGS):
        m = measured[c]
        out[f"obs_{c}"] = np.where(m, omit[:, k] >= cfg.false_negative[c], flip[:, k] < cfg.false_positive[c])
    for prefix, y in (("true", true), ("measured", measured)):
        for c in FINDINGS:
            out[f"{prefix}_{c}"] = y[c]
    for prefix in ("true", "measured", "obs"):
        out[f"{prefix}_NORM"] = ~np.any([out[f"{prefix}_{c}"] for c in FINDINGS], axis=0)
    out.update(_draw_locations(n, rng, cfg))
    out["sex"] = sex
    return pd.DataFrame(out)


def _draw_locations(n: int, rng: np.random.Generator, cfg: V2Config) -> dict[str, np.ndarray]:
    """``location_AMI`` and ``location_IMI`` of every record (drawn whatever its labels; used where
    the class's latent Q dipole is above 0)."""
    u = rng.random((n, 2))
    out = {}
    for j, cls in enumerate(("AMI", "IMI")):
        names = [k for k, (c, _) in INFARCT_LOCATIONS.items() if c == cls]
        w = np.array([cfg.infarct_location[k] for k in names])
        pick = np.searchsorted(np.cumsum(w / w.sum()), u[:, j], side="right").clip(0, len(names) - 1)
        out[f"location_{cls}"] = np.asarray(names, dtype=object)[pick]
    return out


def labels_table(table: pd.DataFrame, prefix: str) -> np.ndarray:
    """``(n, C)`` float32 labels in ``CLASS_NAMES`` order from ``<prefix>_<code>`` columns."""
    return table[[f"{prefix}_{c}" for c in CLASS_NAMES]].to_numpy(np.float32)


# ============================================================================ the data set
def record_params_v2(n_records: int, seed: int, cfg: V2Config) -> pd.DataFrame:
    """v1 patient parameters (``synthetic.sample_params``) joined with the v2 label model and the
    v2 per-record draws, block-seeded as in v1 (record ``i`` depends only on ``(seed, i)``)."""
    from .synthetic_v2_render import sample_render_draws

    blocks = []
    for b in range(-(-n_records // RNG_BLOCK)):
        rng = np.random.default_rng([int(seed), b, 0x5632])
        base = sample_params(RNG_BLOCK, rng).drop(columns=["sex"])
        lab = sample_v2_labels(RNG_BLOCK, rng, cfg)
        blocks.append(pd.concat([base, lab, sample_render_draws(lab, rng, cfg)], axis=1))
    return pd.concat(blocks, ignore_index=True).iloc[:n_records].reset_index(drop=True)


def synthetic_v2_recipe(n_records, fs=500, seconds=10.0, seed=0, *, config=None, noise=True) -> dict:
    """What defines a v2 data set: ``generator_version`` 2, the versions of the v2 component and of
    the v1 generator it reuses, every argument and every ``V2Config`` field."""
    _check_args(n_records, fs, seconds, seed, 1)
    return {
        "step": "synthetic",
        "generator_version": 2,
        "generator_v2": version("generator_v2"),
        "generator": version("generator"),
        "n_records": int(n_records),
        "fs": float(fs),
        "seconds": float(seconds),
        "seed": int(seed),
        "noise": bool(noise),
        "config": _config(config).recipe(),
    }


def load_synthetic_v2(
    n_records: int,
    fs: float = 500,
    seconds: float = 10.0,
    seed: int = 0,
    *,
    config: V2Config | None = None,
    noise: bool = True,
    chunk_size: int = 256,
) -> ECGData:
    """``n_records`` v2 synthetic 12-lead ECGs (module docstring), deterministic from ``seed`` and
    ``config``; ``chunk_size`` changes memory use only. Bad arguments raise ConfigError."""
    from .synthetic_v2_render import render_v2

    _check_args(n_records, fs, seconds, seed, chunk_size)
    cfg = _config(config)
    _check_memory(n_records, fs, seconds)
    params = record_params_v2(n_records, seed, cfg)
    ids = np.array([f"syn2-{seed}-{i:06d}" for i in range(n_records)], dtype=object)
    signals = np.empty((n_records, 12, int(round(fs * seconds))), dtype=np.float32)
    fiducials, regions, extra = [], [], []
    starts = range(0, n_records, chunk_size)
    for c0 in progress(starts, desc="synthetic ECG v2", unit="chunk", enabled=len(starts) >= 8, leave=False):
        c1 = min(c0 + chunk_size, n_records)
        fid, reg, ext = render_v2(params.iloc[c0:c1], cfg, fs, seconds, noise, ids[c0:c1], signals[c0:c1])
        fiducials.append(fid), regions.append(reg), extra.append(ext)
    labels = labels_table(params, "obs")
    meta = pd.concat(
        [
            params[["age", "sex"]],
            params[[f"sev_{d}" for d in LATENT]],
            params[[f"{p}_{c}" for p in ("true", "measured") for c in CLASS_NAMES]],
            params[["location_AMI", "location_IMI"]],
            pd.concat(extra, ignore_index=True),
        ],
        axis=1,
    )
    recipe = synthetic_v2_recipe(n_records, fs, seconds, seed, config=cfg, noise=noise)
    return ECGData(
        signals=signals,
        labels=labels,
        classes=CLASS_NAMES,
        fs=float(fs),
        folds=assign_folds(labels, seed),
        record_ids=ids.astype(str),
        leads=LEADS12,
        snomed=tuple(c.snomed for c in CONDITIONS),
        meta=meta,
        fiducials=pd.concat(fiducials, ignore_index=True),
        regions=pd.concat(regions, ignore_index=True),
        preprocessing=[recipe],
        source="synthetic",
        key=fingerprint(recipe),
    )


__all__ = ["V2Config", "load_synthetic_v2", "sample_v2_labels", "SEVERITY", "INFARCT_LOCATIONS"]
