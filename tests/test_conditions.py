"""The synthetic conditions name their PTB-XL superclass from the one superclass table (the PTB-XL
reader's ``SUPERDIAGNOSTIC``)."""

from ecgkd_lite.data.conditions import CLASS_NAMES, CONDITIONS
from ecgkd_lite.data.ptbxl import SUPERDIAGNOSTIC


def test_superclasses_come_from_the_ptbxl_table():
    used = {c.superclass for c in CONDITIONS} - {None}
    assert used <= set(SUPERDIAGNOSTIC) and "NORM" in used
    assert len(set(CLASS_NAMES)) == len(CLASS_NAMES)
