"""ecgkd_lite: knowledge distillation of ECG diagnosis from a 12-lead teacher to a 1-lead student.

Subpackages, one concern each: ``data``, ``models``, ``distill``, ``train``, ``evaluate``,
``explain``, ``plots``, ``edge``; ``cli`` is the ``ecgkd`` command; ``notebook`` the standard first
cell of every notebook.
"""

__version__ = "0.1.0"
