"""LiteHeart cross-layer mutual-information maximisation (InfoNCE between student and teacher layers)."""

from __future__ import annotations

import math

import torch
from torch import nn

from ...errors import ConfigError, ModelError
from ..base import KDTerm, TermOutput, check_positive, register_term
from ..baselines.adapters import check_non_empty, symmetric_info_nce

PAIRINGS = ("all", "same_depth")


def pool_feature(x: torch.Tensor, token_layout: bool) -> torch.Tensor:
    """A (B, D) vector per record: mean over time of (B, C, T), over tokens of (B, N, D); (B, D) as is."""
    if x.dim() == 2:
        return x
    if x.dim() == 3:
        return x.mean(1) if token_layout else x.mean(2)
    raise ModelError(f"cross_layer_mi pools (B, D), (B, C, T) or (B, N, D) features; got {tuple(x.shape)}")


def feature_width(shape: torch.Size, token_layout: bool) -> int:
    """The pooled width of a per-sample shape: D of (D,), C of (C, T), D of (N, D)."""
    return shape[-1] if (len(shape) == 1 or token_layout) else shape[0]


def is_token_layout(name: str, shape: torch.Size, temporal: torch.Size | None) -> bool:
    """Whether a per-sample feature is (N, D) tokens rather than a (C, T) map.

    ``"tokens"`` always is. Otherwise, with the model's ``"temporal"`` map (C_f, T_f) as the
    reference (channel-first by contract), a 2-D feature is in token layout when its last axis has
    the model's width and its first does not: e.g. a Transformer block output (N, D) next to a
    temporal map (D, N).
    """
    if name == "tokens":
        return True
    if len(shape) != 2 or temporal is None or len(temporal) != 2:
        return False
    return shape[-1] == temporal[0] and shape[0] != temporal[0]


def projection_head(in_dim: int, dim: int) -> nn.Sequential:
    """The 2-layer MLP projection head (SimCLR form): Linear -> ReLU -> Linear."""
    return nn.Sequential(nn.Linear(in_dim, dim), nn.ReLU(), nn.Linear(dim, dim))


def short_name(layer: str) -> str:
    """``"stage2"`` -> ``"2"``; other layer names as they are (``"s2-t3"``, ``"spenultimate-t3"``)."""
    return layer[len("stage") :] if layer.startswith("stage") else layer


@register_term("cross_layer_mi")
class CrossLayerMI(KDTerm):
    """Cross-layer MI maximisation (LiteHeart, arXiv 2511.02851; InfoNCE, van den Oord et al. 2018).

    Student layers ``i`` and teacher layers ``j`` are each pooled over time/tokens and mapped by
    their own 2-layer MLP head to a shared ``dim``; ``z = normalize(head(pool(F)))``. For every pair
    (``pairs="all"``: all i x j; ``"same_depth"``: i-th with i-th)::

        L_ij = 1/2 [ CE(z_s^i z_t^j^T / tau, diag) + CE(z_t^j z_s^i^T / tau, diag) ]
        L    = mean_ij L_ij

    ``log B - L_ij`` is the InfoNCE lower bound on I(student layer i; teacher layer j), returned
    detached as the diagnostic ``mi_bound/s<i>-t<j>`` (``stageN`` written ``N``; logged by the
    distiller as ``metric:cross_layer_mi/mi_bound/s2-t3``, never part of the loss).

    Returns ``TermOutput({"infonce": L}, diagnostics={"mi_bound/s2-t3": ..., ...})``.

    Pooling: (C, T) maps are averaged over T, (N, D) token sets over N. The layout of each layer is
    read in ``build`` with ``is_token_layout`` (the term also requests each model's ``"temporal"``
    map as the reference), or given explicitly by ``token_layers`` (names in (N, D) layout, for
    both models; every other 3-D layer is then channel-first).

    Hyperparameters (stated): student/teacher layers ("stage2", "stage3"), ``dim`` 128, ``tau`` 0.1,
    ``pairs`` "all", ``token_layers`` None (= detect). Needs a batch of >= 2 records.
    """

    def __init__(
        self,
        student_layers=("stage2", "stage3"),
        teacher_layers=("stage2", "stage3"),
        dim: int = 128,
        tau: float = 0.1,
        pairs: str = "all",
        token_layers=None,
    ):
        super().__init__()
        self.student_layers = tuple(check_non_empty("cross_layer_mi student_layers", tuple(student_layers)))
        self.teacher_layers = tuple(check_non_empty("cross_layer_mi teacher_layers", tuple(teacher_layers)))
        self.dim = int(check_positive("cross_layer_mi dim", dim))
        self.tau = check_positive("cross_layer_mi tau", tau)
        if pairs not in PAIRINGS:
            raise ConfigError(f"cross_layer_mi pairs must be one of {PAIRINGS}; got {pairs!r}")
        if pairs == "same_depth" and len(self.student_layers) != len(self.teacher_layers):
            raise ConfigError(
                f"cross_layer_mi pairs='same_depth' needs as many student as teacher layers; got "
                f"{self.student_layers} and {self.teacher_layers}"
            )
        self.pairs = [
            (i, j)
            for i in range(len(self.student_layers))
            for j in range(len(self.teacher_layers))
            if pairs == "all" or i == j
        ]
        self.token_layers = None if token_layers is None else frozenset(token_layers)
        reference = ("temporal",) if token_layers is None else ()
        self.student_features = tuple(dict.fromkeys(self.student_layers + reference))
        self.teacher_features = tuple(dict.fromkeys(self.teacher_layers + reference))
        self.token_layout: dict[tuple[str, str], bool] = {}
        self.student_heads = nn.ModuleList()
        self.teacher_heads = nn.ModuleList()

    def _check_layers(self, role: str, wanted: tuple[str, ...], available) -> None:
        missing = [name for name in wanted if name not in available]
        if missing:
            raise ModelError(
                f"term 'cross_layer_mi': {role} layer(s) {missing} unknown; available: {sorted(available)}"
            )

    def build(self, student_shapes, teacher_shapes):
        heads = {}
        for role, layers, shapes in (
            ("student", self.student_layers, student_shapes),
            ("teacher", self.teacher_layers, teacher_shapes),
        ):
            self._check_layers(role, layers, shapes)
            for name in layers:
                tokens = (
                    is_token_layout(name, shapes[name], shapes.get("temporal"))
                    if self.token_layers is None
                    else name in self.token_layers
                )
                self.token_layout[role, name] = tokens
            heads[role] = nn.ModuleList(
                projection_head(feature_width(shapes[n], self.token_layout[role, n]), self.dim) for n in layers
            )
        self.student_heads, self.teacher_heads = heads["student"], heads["teacher"]

    def embed(self, features: dict, layers: tuple[str, ...], heads: nn.ModuleList, role: str) -> list[torch.Tensor]:
        """Projected (B, dim) embeddings (normalised inside the InfoNCE) of each layer; teacher ones detached."""
        self._check_layers(role, layers, features)
        pooled = [pool_feature(features[name], self.token_layout[role, name]) for name in layers]
        return [head(x.detach() if role == "teacher" else x) for x, head in zip(pooled, heads)]

    def forward(self, s, t, batch=None):
        if not self.student_heads:
            raise ModelError("term 'cross_layer_mi' is not built; call build(student_shapes, teacher_shapes) first")
        zs = self.embed(s, self.student_layers, self.student_heads, "student")
        zt = self.embed(t, self.teacher_layers, self.teacher_heads, "teacher")
        batch_size = zs[0].shape[0]
        if batch_size < 2:
            raise ConfigError(
                f"term 'cross_layer_mi' needs >= 2 records per batch for in-batch negatives; got {batch_size}"
            )
        bounds, losses = {}, []
        for i, j in self.pairs:
            loss = symmetric_info_nce(zs[i], zt[j], self.tau)
            losses.append(loss)
            label = f"s{short_name(self.student_layers[i])}-t{short_name(self.teacher_layers[j])}"
            bounds[f"mi_bound/{label}"] = (math.log(batch_size) - loss).detach()
        return TermOutput({"infonce": torch.stack(losses).mean()}, diagnostics=bounds)
