"""Reference methods of the semi-supervised tables (design section 6, "Scenarios"): what a KD student
must beat besides the baseline.

* ``mean_teacher`` (``mean_teacher.py``): a lead-I-only semi-supervised student with NO 12-lead
  teacher: an EMA copy of the student is its teacher, with consistency on the unlabeled records;
* ``hard_pseudo_label`` (``hard_pseudo_label.py``): the student trained on the 12-lead teacher's
  hard pseudo-labels (threshold 0.5) on the unlabeled records, with no soft targets.

The third reference row, the baseline trained on 100 % of the labels, needs no term (an empty
recipe; the benchmark trains it without the labeled mask).
"""

from .hard_pseudo_label import HardPseudoLabel
from .mean_teacher import MeanTeacher, NoTeacher, needs_teacher

__all__ = ["HardPseudoLabel", "MeanTeacher", "NoTeacher", "needs_teacher"]
