"""EVL-ECG geometric relation matching: within-record token-pair geometry of student and teacher."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...errors import ConfigError
from ..base import KDTerm, register_term
from .tokens import require_tokens, resample_tokens

ALIGNMENTS = ("interpolate",)


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

    For the student tokens ``S`` (B, N_s, D_s) and the teacher's own tokens resampled to the
    student's length ``A = resample(stopgrad(T), N_s)`` (B, N_s, D_t), per record::

        D(X) = pairwise L2 distances / their off-diagonal mean      (N_s, N_s)
        K(X) = pairwise cosine similarities                          (N_s, N_s)
        L    = ( MSE(D(S), D(A)) + MSE(K(S), K(A)) ) / 2             MSE over all N_s^2 entries

    Both matrices are invariant to the feature width, so no projection is needed. ``resample`` is
    linear interpolation along the token axis (token order is time order for ECG patch and time
    tokens).

    Collapse safety (stated, tested): the target ``D(A), K(A)`` is a function of the teacher's
    tokens alone and carries no gradient (``target`` returns it with ``requires_grad`` False). The
    former ``teacher_alignment="mhca"`` compared with the MHCA summary, which is computed with the
    *student's* queries: a student whose tokens drift together makes the attention rows, hence the
    summary tokens, alike too, so the target followed the student into collapse (MHCA + relation at
    unit weights lost validation AUC). That option is refused with a ConfigError; the
    ``teacher_alignment`` argument stays for existing configs and takes ``"interpolate"`` only.
    """

    def __init__(self, teacher_alignment: str = "interpolate", feature: str = "tokens"):
        super().__init__()
        if teacher_alignment == "mhca":
            raise ConfigError(
                "relation teacher_alignment='mhca' was removed: its target depended on the student's "
                "own queries and could follow it into collapse; use 'interpolate' (the teacher's own tokens)"
            )
        if teacher_alignment not in ALIGNMENTS:
            raise ConfigError(f"relation teacher_alignment must be one of {ALIGNMENTS}; got {teacher_alignment!r}")
        self.teacher_alignment = teacher_alignment
        self.feature = feature
        self.student_features = (feature,)
        self.teacher_features = (feature,)

    def target(self, t: dict, n_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(D(A), K(A))`` of the teacher tokens resampled to ``n_tokens``, without gradient."""
        teacher = require_tokens(self.name, "teacher", self.feature, t[self.feature])
        with torch.no_grad():
            aligned = resample_tokens(teacher.detach(), n_tokens)
            return normalised_distances(aligned), cosine_matrix(aligned)

    def forward(self, s, t, batch=None):
        student = require_tokens(self.name, "student", self.feature, s[self.feature])
        distances, cosines = self.target(t, student.shape[1])
        distance = F.mse_loss(normalised_distances(student), distances)
        angle = F.mse_loss(cosine_matrix(student), cosines)
        return 0.5 * (distance + angle)
