"""The two semi-supervised scenarios, defined in one place (design section 6, "Scenarios").

Both split the **training split** only (folds 1-8; validation and test are never touched), by
position, from the records' folds and a seed: never from their labels, so the split itself reads
no label of the records it leaves unlabeled.

* ``"a"`` -- *few labels everywhere*. One pool: the whole training split. A labeled part L of
  ``ratio`` of the records (drawn per fold, ``max(1, round(ratio * n_fold))`` records each, with
  ``np.random.default_rng(seed)``: the same L as ``ECGData.labeled_unlabeled_split``) and the
  unlabeled rest U. The 12-lead teacher trains on L only; the 1-lead student trains on L with
  labels and U without. At ``ratio = 1`` the teacher and the student see the whole split.
* ``"b"`` -- *a labeled 12-lead archive and an unlabeled wearable pool*. The training split is
  cut into two DISJOINT halves, per fold (``n_fold // 2`` records to the archive, the rest to the
  pool, with ``np.random.default_rng([seed, 1])``): the archive A (labeled, 12 leads), on which the
  teacher trains, and the wearable pool W (lead I), on which the student trains; of W, a labeled
  fraction W_L of ``ratio`` (per fold, at least one record each) and the unlabeled rest W_U. The
  teacher's and the student's records are disjoint; the student sees no archive record.

``ScenarioSplit`` holds the positions (indices into the training split) of each part, sorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data.container import ECGData
from ..errors import ConfigError

#: scenario name -> one-line description (the CLI's ``--scenario`` choices)
SCENARIOS = {
    "a": "few labels everywhere: the teacher trains on the labeled part L, the student on L + unlabeled U",
    "b": "labeled 12-lead archive (half of the training split, the teacher's) and a disjoint wearable pool "
    "(the other half, the student's) of which only a fraction is labeled",
}
#: scenario b: the archive's share of every training fold (the pool gets the rest)
ARCHIVE_SHARE = 0.5


def check_scenario(scenario, label_ratio) -> tuple[str, float]:
    """``(scenario, label_ratio)`` checked; ConfigError naming the argument otherwise."""
    if scenario not in SCENARIOS:
        raise ConfigError(f"scenario must be one of {sorted(SCENARIOS)}; got {scenario!r}")
    if isinstance(label_ratio, bool) or not isinstance(label_ratio, (int, float, np.floating)):
        raise ConfigError(f"label_ratio must be a number in (0, 1]; got {label_ratio!r}")
    if not 0 < float(label_ratio) <= 1:
        raise ConfigError(f"label_ratio must lie in (0, 1]; got {label_ratio!r}")
    return scenario, float(label_ratio)


@dataclass(frozen=True)
class ScenarioSplit:
    """Positions in the training split of each part of a scenario (sorted ``int64`` arrays).

    ``teacher``: the records the 12-lead teacher trains on (all labeled); ``student``: the
    student's pool; ``labeled``: the part of the pool whose labels the student may use;
    ``unlabeled``: the rest of the pool, whose labels no model may read."""

    scenario: str
    ratio: float
    seed: int
    n_train: int
    teacher: np.ndarray
    student: np.ndarray
    labeled: np.ndarray

    @property
    def unlabeled(self) -> np.ndarray:
        return np.setdiff1d(self.student, self.labeled)

    def labeled_mask(self) -> np.ndarray:
        """Bool per record of the student's pool (in ``student`` order): True where labeled."""
        return np.isin(self.student, self.labeled)

    def sizes(self) -> dict[str, int]:
        return {
            "train": self.n_train,
            "teacher": len(self.teacher),
            "student_pool": len(self.student),
            "labeled": len(self.labeled),
            "unlabeled": len(self.unlabeled),
        }

    def describe(self) -> dict:
        """The JSON record of the split (name, description, ratio, seed, sizes)."""
        return {
            "scenario": self.scenario,
            "description": SCENARIOS[self.scenario],
            "label_ratio": self.ratio,
            "seed": self.seed,
            "sizes": self.sizes(),
        }


def _per_fold(folds: np.ndarray, positions: np.ndarray, share: float, rng, *, at_least_one: bool) -> np.ndarray:
    """Per fold of ``positions``: ``max(1, round(share * n))`` of its ``n`` records
    (``at_least_one``) or ``floor(share * n)``, drawn with ``rng``; all of them, sorted."""
    picked = []
    for f in np.unique(folds[positions]):
        pos = positions[folds[positions] == f]
        k = max(1, int(round(share * len(pos)))) if at_least_one else int(share * len(pos))
        picked.append(rng.choice(pos, size=min(k, len(pos)), replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64) if picked else np.zeros(0, np.int64)


def scenario_split(train: ECGData, label_ratio: float, scenario: str = "a", *, seed: int = 0) -> ScenarioSplit:
    """The index sets of ``scenario`` (``"a"`` or ``"b"``, module docstring) over ``train`` (the
    training split) at ``label_ratio`` in (0, 1]. Reads the folds, never the labels."""
    scenario, ratio = check_scenario(scenario, label_ratio)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer; got {seed!r}")
    folds = np.asarray(train.folds)
    everyone = np.arange(len(train), dtype=np.int64)
    if scenario == "a":
        # the same draw as ECGData.labeled_unlabeled_split (one rng, folds in order)
        labeled = _per_fold(folds, everyone, ratio, np.random.default_rng(seed), at_least_one=True)
        teacher, student = labeled, everyone
    else:
        rng = np.random.default_rng([seed, 1])
        archive = _per_fold(folds, everyone, ARCHIVE_SHARE, rng, at_least_one=False)
        student = np.setdiff1d(everyone, archive)
        if len(archive) == 0 or len(student) == 0:
            raise ConfigError(f"scenario 'b' needs at least two training records per fold; got {len(train)} records")
        labeled = _per_fold(folds, student, ratio, rng, at_least_one=True)
        teacher = archive
    return ScenarioSplit(scenario, ratio, int(seed), len(train), teacher, student, labeled)
