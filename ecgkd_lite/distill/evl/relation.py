"""EVL-ECG geometric relation matching: within-record token-pair geometry of student and teacher."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...errors import ConfigError, ModelError
from ..base import KDTerm, register_term
from .tokens import require_tokens, resample_tokens

ALIGNMENTS = ("interpolate", "mhca")


def normalised_distances(tokens: torch.Tensor) -> torch.Tensor:
    """``D_ij / mean_{i != j} D_ij`` per record, ``D`` the Euclidean token-pair distances (B, N, N)."""
    dist = torch.cdist(tokens, tokens)
    n = tokens.shape[1]
    off_diagonal_mean = dist.sum((1, 2), keepdim=True) / max(n * (n - 1), 1)
    return dist / off_diagonal_mean.clamp_min(1e-12)


def cosine_matrix(tokens: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every token pair of a record (B, N, N)."""
    unit = F.normalize(tokens, dim=-1)
    return unit @ unit.transpose(1, 2)


@register_term("relation")
class RelationMatching(KDTerm):
    """Geometric relation matching (EVL-ECG, arXiv 2605.29977; distance part after RKD, Park et al. 2019).

    For the student tokens ``S`` (B, N_s, D_s) and a teacher token sequence aligned to the student's
    length ``A`` (B, N_s, D_a), per record::

        D(X) = pairwise L2 distances / their off-diagonal mean      (N_s, N_s)
        K(X) = pairwise cosine similarities                          (N_s, N_s)
        L    = ( MSE(D(S), D(A)) + MSE(K(S), K(A)) ) / 2             MSE over all N_s^2 entries

    Both matrices are invariant to the feature width, so no projection is needed. The teacher
    side carries no gradient.

    ``teacher_alignment``:
      * ``"interpolate"`` (default, standalone): ``A`` = the teacher tokens linearly interpolated
        along the token axis to ``N_s`` (token order is time order for ECG patch tokens);
      * ``"mhca"``: ``A = t["aligned"]``, the attended teacher summary the ``mhca`` term provides
        (the term then declares ``consumes = ("aligned",)``; the Distiller refuses a recipe in which
        ``mhca`` does not come first, and ``evl_recipe`` orders it so).
    """

    def __init__(self, teacher_alignment: str = "interpolate", feature: str = "tokens"):
        super().__init__()
        if teacher_alignment not in ALIGNMENTS:
            raise ConfigError(f"relation teacher_alignment must be one of {ALIGNMENTS}; got {teacher_alignment!r}")
        self.teacher_alignment = teacher_alignment
        self.consumes = ("aligned",) if teacher_alignment == "mhca" else ()
        self.feature = feature
        self.student_features = (feature,)
        self.teacher_features = (feature,)

    def aligned_teacher(self, t: dict, n_tokens: int) -> torch.Tensor:
        """The teacher tokens aligned to ``n_tokens`` per the chosen ``teacher_alignment``."""
        if self.teacher_alignment == "interpolate":
            teacher = require_tokens(self.name, "teacher", self.feature, t[self.feature])
            return resample_tokens(teacher.detach(), n_tokens)
        if "aligned" not in t:
            raise ModelError(
                "term 'relation' (teacher_alignment='mhca') found no t['aligned']: put the 'mhca' "
                "term before 'relation' in the recipe, or use teacher_alignment='interpolate'"
            )
        aligned = require_tokens(self.name, "teacher", "aligned", t["aligned"])
        if aligned.shape[1] != n_tokens:
            raise ModelError(
                f"term 'relation': t['aligned'] has {aligned.shape[1]} tokens but the student has {n_tokens}"
            )
        return aligned.detach()

    def forward(self, s, t, batch=None):
        student = require_tokens(self.name, "student", self.feature, s[self.feature])
        teacher = self.aligned_teacher(t, student.shape[1])
        distance = F.mse_loss(normalised_distances(student), normalised_distances(teacher))
        angle = F.mse_loss(cosine_matrix(student), cosine_matrix(teacher))
        return 0.5 * (distance + angle)
