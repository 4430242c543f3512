"""The semi-supervised settings of the quality benchmark (``--label-ratio r --scenario a|b``).

``ecgkd bench quality --profile quick --label-ratio 0.1 --scenario a --json results/bench_quality_quick-labels10pct.json``
writes ``results/bench_quality_quick-labels10pct_scenario_a.json`` (the scenario is always in the name).

* The scenario (``train/scenarios.py``, design section 6) decides which records the 12-lead
  teacher trains on (a: the labeled part L only; b: a labeled archive, half of the training
  split, disjoint from the student's pool) and which the student trains on (a: L + the unlabeled
  rest U; b: the other half, of which a fraction ``r`` is labeled). A label ratio below 1 without
  a scenario is scenario a: the teacher never sees a label the students do not.
* Matched supervision (``train/matched.py``): every method of the run (the baseline included)
  trains on the same batches of ``k`` labeled + ``B - k`` unlabeled records,
  ``k = round(B * labeled share of the pool)``; an epoch is one pass over the labeled records.
* Reference rows (``distill/reference/``, method table kind ``reference``) join every
  semi-supervised table: ``baseline-full_labels`` (the baseline on every label of the student's
  pool, plain batches: an upper reference), ``mean_teacher`` (lead I only, no 12-lead teacher)
  and ``hard_pseudo_label`` (the teacher's hard labels at 0.5 on the unlabeled records).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import experiment
from ..distill import methods_of
from ..train.matched import labeled_per_batch
from ..train.scenarios import check_scenario

#: the reference rows added to every semi-supervised table, in table order
REFERENCES = methods_of("reference", kind="reference")
#: the reference trained on every label of the student's pool
FULL_LABELS = "baseline-full_labels"


@dataclass
class SemiSetting:
    """What a label-ratio run trains on. ``data``: the scenario's teacher / student data;
    ``k``: labeled records per batch (None when the pool is fully labeled)."""

    scenario: str
    label_ratio: float
    data: experiment.ScenarioData
    k: int | None

    @property
    def suffix(self) -> str:
        """The cache tag's suffix (``-labels10pct-scenario_a``)."""
        return f"-labels{round(100 * self.label_ratio):g}pct-scenario_{self.scenario}"

    def student_args(self, name: str) -> dict:
        """``train_student`` keywords of method ``name``: the student's pool, its labeled mask and
        the matched batches; the full-label reference gets every label and plain batches."""
        if name == FULL_LABELS:
            return {"labeled": None}
        return {"labeled": self.data.labeled, "labeled_per_batch": self.k}

    def teacher_args(self, batch_size: int) -> dict:
        """``train_teacher`` keywords: a teacher whose records are fewer than the student's pool
        trains on epochs as long as the student's (``ceil(|pool| / B)`` steps), so that the same
        early-stopping rule gives both the same number of steps."""
        n_teacher, n_pool = len(self.data.teacher.train), len(self.data.student.train)
        return {"steps_per_epoch": -(-n_pool // batch_size)} if n_teacher < n_pool else {}

    def train(self, methods, *, size: str = "tiny", seed: int = 0, progress: bool | None = None):
        """The scenario's 12-lead teacher and the lead-I students ``methods``, as the benchmark and
        notebook 07 train them (matched batches, the benchmark's cache tags, so cached or shipped
        runs load): ``(teacher FitResult, {method: FitResult})``."""
        batch = self.data.student.profile.batch_size
        teacher = experiment.train_teacher(self.data.teacher, seed=seed, progress=progress, **self.teacher_args(batch))
        cache = experiment.teacher_cache(self.data.student, teacher)
        students = {
            m: experiment.train_student(
                self.data.student,
                m,
                teacher=teacher,
                size=size,
                seed=seed,
                cache=cache,
                progress=progress,
                tag=f"student-{experiment.STUDENT_ARCH}-{size}-{m}{self.suffix}",
                **self.student_args(m),
            )
            for m in methods
        }
        return teacher, students

    def record(self) -> dict:
        """The JSON fields of the setting."""
        mask = self.data.labeled
        pool = len(self.data.student.train)
        return {
            "scenario": self.data.split.describe(),
            "n_labeled": int(pool if mask is None else mask.sum()),
            "label_ratio_achieved": 1.0 if mask is None else float(mask.mean()),
            "labeled_per_batch": self.k,
            "teacher_records": len(self.data.teacher.train),
            "student_records": pool,
        }


def check(label_ratio, scenario) -> str | None:
    """The scenario a run uses (None: no label-ratio run, the plain benchmark); ConfigError naming
    ``label_ratio`` or ``scenario`` when bad. A ratio below 1 without a scenario is scenario a."""
    if scenario is None and isinstance(label_ratio, (int, float)) and label_ratio == 1:
        return None
    scenario, _ = check_scenario("a" if scenario is None else scenario, label_ratio)
    return scenario


def setting(prep, label_ratio: float, scenario: str, batch_size: int, log=print) -> SemiSetting:
    """The scenario's data and the matched batch size, logged."""
    data = experiment.scenario_data(prep, label_ratio, scenario, seed=0)
    mask = data.labeled
    k = None if mask is None else labeled_per_batch(int(mask.sum()), len(mask), batch_size)
    sizes = data.split.sizes()
    log(
        f"[bench] scenario {scenario}: teacher on {sizes['teacher']} records, student pool {sizes['student_pool']} "
        f"({sizes['labeled']} labeled, {sizes['unlabeled']} unlabeled)"
        + ("" if k is None else f"; matched batches of {k} labeled + {batch_size - k} unlabeled records")
    )
    return SemiSetting(scenario, float(label_ratio), data, k)


def with_references(names: list[str]) -> list[str]:
    """``names`` plus the reference rows (each once, after the methods asked for)."""
    return [*names, *(n for n in REFERENCES if n not in names)]


def json_path(json_out, scenario: str) -> Path:
    """``json_out`` with ``_scenario_<s>`` before the suffix (unless already there)."""
    path = Path(json_out)
    tail = f"_scenario_{scenario}"
    return path if path.stem.endswith(tail) else path.with_name(f"{path.stem}{tail}{path.suffix}")


__all__ = ["SemiSetting", "check", "setting", "with_references", "json_path", "REFERENCES", "FULL_LABELS"]
