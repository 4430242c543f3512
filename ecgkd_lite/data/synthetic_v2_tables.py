"""Numbers of the v2 synthetic generator estimated from real labels (``synthetic_v2.py``).

Source: the 1,805 labelled records of ptbxl-2k (real PTB-XL records with PhysioNet/CinC Challenge
2021 labels; ``shared/data/ptbxl-2k/README.md``). ``benchmarks/estimate_v2_prevalence.py``
recomputes every number here from that release and prints this table; the generator never needs
the data at run time.

Synthetic class -> CinC 2021 class (``CINC_MAP``; a synthetic class is positive in a real record when
any of its CinC classes is). Where a class has no counterpart the table says so and the generator
uses a documented default (``DEFAULT_PREVALENCE_NO_DATA``):

=======  ============================  =======================================================
class    CinC 2021 (ptbxl-2k)          note
=======  ============================  =======================================================
NORM     (none)                        derived: no other finding (CinC NSR means sinus rhythm)
SBRAD    SB
STACH    STach
AFIB     AF, AFL                       AFL has 2 positives
1AVB     IAVB, LPR                     LPR "prolonged PR" is 1AVB by the PR > 200 ms rule
CRBBB    CRBBB (= CRBBB|RBBB)
CLBBB    CLBBB (= CLBBB|LBBB)
LAFB     LAnFB                         LAD (axis < -30 deg) is not a class here
AMI      (none)                        QAb (Q wave abnormal, 31) does not say where
IMI      (none)                        as AMI
LVH      (none)                        LVH is not a scored CinC 2021 class
NST_     TAb, TInv                     approximate: T-wave abnormality / inversion
PVC      PVC (= PVC|VPB)               no positive in ptbxl-2k
LNGQT    LQT                           9 positives: a wide interval
LVOLT    LQRSV
=======  ============================  =======================================================

The latent dimensions of the label model (``LATENT``) are the classes, except that SBRAD and STACH
share one dimension, ``rate`` (one heart rate: slow tail SBRAD, fast tail STACH).
``LATENT_CORRELATION`` holds tetrachoric correlations (the correlation of a bivariate normal whose
thresholded 2x2 table has the observed cell frequencies; Pearson 1900; Haldane's 0.5 added to
every cell so that an empty cell gives a finite value), for the pairs with data; ``rate`` takes the
mean of STach's correlation and minus SB's. The full matrix is made positive definite by
eigenvalue clipping (``synthetic_v2.latent_correlation``). Pairs without data are 0 except
``ASSUMED_CORRELATION``.
"""

from __future__ import annotations

#: synthetic class -> CinC 2021 abbreviations in ptbxl-2k (None: no counterpart)
CINC_MAP: dict[str, tuple[str, ...] | None] = {
    "NORM": None,
    "SBRAD": ("SB",),
    "STACH": ("STach",),
    "AFIB": ("AF", "AFL"),
    "1AVB": ("IAVB", "LPR"),
    "CRBBB": ("CRBBB",),
    "CLBBB": ("CLBBB",),
    "LAFB": ("LAnFB",),
    "AMI": None,
    "IMI": None,
    "LVH": None,
    "NST_": ("TAb", "TInv"),
    "PVC": ("PVC",),
    "LNGQT": ("LQT",),
    "LVOLT": ("LQRSV",),
}

#: latent dimensions of the label model (SBRAD and STACH share ``rate``)
LATENT: tuple[str, ...] = (
    "rate",
    "AFIB",
    "1AVB",
    "CRBBB",
    "CLBBB",
    "LAFB",
    "AMI",
    "IMI",
    "LVH",
    "NST_",
    "PVC",
    "LNGQT",
    "LVOLT",
)

# ---- estimated by benchmarks/estimate_v2_prevalence.py from ptbxl-2k (1,805 labelled records)
#: observed (reader-coded) prevalence per class
PTBXL2K_PREVALENCE: dict[str, float] = {
    "SBRAD": 0.0211,  # 38 positives
    "STACH": 0.0366,  # 66 positives
    "AFIB": 0.0687,  # 124 positives
    "1AVB": 0.0526,  # 95 positives
    "CRBBB": 0.0283,  # 51 positives
    "CLBBB": 0.0327,  # 59 positives
    "LAFB": 0.0781,  # 141 positives
    "NST_": 0.1385,  # 250 positives
    "LNGQT": 0.0050,  # 9 positives
    "LVOLT": 0.0122,  # 22 positives
}
#: tetrachoric correlation of the latent dimensions, pairs with data
PTBXL2K_CORRELATION: dict[tuple[str, str], float] = {
    ("AFIB", "1AVB"): -0.425,
    ("AFIB", "CRBBB"): 0.192,
    ("AFIB", "CLBBB"): 0.370,
    ("AFIB", "LAFB"): 0.118,
    ("AFIB", "NST_"): 0.138,
    ("AFIB", "LNGQT"): -0.056,
    ("AFIB", "LVOLT"): 0.098,
    ("1AVB", "CRBBB"): 0.364,
    ("1AVB", "CLBBB"): 0.325,
    ("1AVB", "LAFB"): 0.172,
    ("1AVB", "NST_"): -0.070,
    ("1AVB", "LNGQT"): 0.210,
    ("1AVB", "LVOLT"): 0.238,
    ("CRBBB", "CLBBB"): -0.202,
    ("CRBBB", "LAFB"): 0.380,
    ("CRBBB", "NST_"): -0.451,
    ("CRBBB", "LNGQT"): 0.091,
    ("CRBBB", "LVOLT"): -0.046,
    ("CLBBB", "LAFB"): -0.371,
    ("CLBBB", "NST_"): -0.473,
    ("CLBBB", "LNGQT"): 0.068,
    ("CLBBB", "LVOLT"): -0.069,
    ("LAFB", "NST_"): -0.039,
    ("LAFB", "LNGQT"): 0.135,
    ("LAFB", "LVOLT"): -0.037,
    ("NST_", "LNGQT"): 0.017,
    ("NST_", "LVOLT"): 0.023,
    ("LNGQT", "LVOLT"): 0.219,
    ("rate", "AFIB"): -0.044,
    ("rate", "1AVB"): 0.056,
    ("rate", "CRBBB"): 0.038,
    ("rate", "CLBBB"): -0.002,
    ("rate", "LAFB"): 0.168,
    ("rate", "NST_"): 0.026,
    ("rate", "LNGQT"): 0.069,
    ("rate", "LVOLT"): 0.054,
}

#: classes without data in ptbxl-2k: assumed observed prevalence. AMI, IMI: PTB-XL (Wagner et al.,
#: Sci. Data 7:154, 2020) codes myocardial infarction in about a quarter of its records, but the
#: ptbxl-2k subset has only 1.7 % QAb; 3 % each is an assumption between the two. LVH: assumption
#: (5 %). PVC: ptbxl-2k has none; 3 % is an assumption of the order of PVCs in resting 10 s ECGs.
DEFAULT_PREVALENCE_NO_DATA: dict[str, float] = {"AMI": 0.03, "IMI": 0.03, "LVH": 0.05, "PVC": 0.03}

#: correlations without data, assumed: hypertrophy with repolarisation abnormality (LV strain
#: pattern, e.g. Okin et al., Circulation 2004), inferior with anterior infarction (multivessel
#: disease) and infarction with T-wave change. Assumptions, not estimates.
ASSUMED_CORRELATION: dict[tuple[str, str], float] = {
    ("LVH", "NST_"): 0.45,
    ("AMI", "IMI"): 0.2,
    ("AMI", "NST_"): 0.3,
    ("IMI", "NST_"): 0.3,
}
