"""Contrastive representation distillation (Tian, Krishnan & Isola 2020, "Contrastive
Representation Distillation", ICLR, arXiv:1910.10699), with in-batch negatives."""

from __future__ import annotations

from ..base import KDTerm, check_positive, register_term
from .adapters import embedding_head, require_rank, symmetric_info_nce


@register_term("crd")
class CRD(KDTerm):
    """Contrastive student-teacher embedding alignment.

    Linear heads ``g_s`` (D_s -> d) and ``g_t`` (D_t -> d) map the penultimate embeddings to a
    shared space; with ``u_i = normalize(g_s(s_i))``, ``v_i = normalize(g_t(t_i))`` and
    temperature ``tau``::

        L = 1/2 [ CE(U V^T / tau, diag) + CE(V U^T / tau, diag) ]

    i.e. symmetric InfoNCE: record ``i``'s teacher embedding is the positive of its student
    embedding and the other records of the batch are the negatives. Deviation from the paper,
    stated: in-batch negatives replace the 16384-entry memory bank and NCE, since ECG batches are
    small and a memory bank of stale embeddings is a second moving part. Both heads train with the
    student (the teacher's embeddings themselves stay frozen).

    Hyperparameters: ``dim`` d = 128, ``temperature`` tau = 0.07 (paper defaults),
    ``feature`` = ``"penultimate"``. A batch of one record gives 0. Label-free.
    """

    def __init__(self, dim: int = 128, temperature: float = 0.07, feature: str = "penultimate"):
        super().__init__()
        self.dim = int(check_positive("crd dim", dim))
        self.temperature = check_positive("crd temperature", temperature)
        self.feature = feature
        self.student_features = (feature,)
        self.teacher_features = (feature,)
        self.student_head = self.teacher_head = None

    def build(self, student_shapes, teacher_shapes):
        require_rank(self.name, "student", self.feature, student_shapes[self.feature], 1, "(D,)")
        require_rank(self.name, "teacher", self.feature, teacher_shapes[self.feature], 1, "(D,)")
        self.student_head = embedding_head(student_shapes[self.feature][0], self.dim)
        self.teacher_head = embedding_head(teacher_shapes[self.feature][0], self.dim)

    def forward(self, s, t, batch=None):
        return symmetric_info_nce(
            self.student_head(s[self.feature]), self.teacher_head(t[self.feature]), self.temperature
        )
