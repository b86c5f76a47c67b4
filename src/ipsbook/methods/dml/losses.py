"""Metric-learning losses on fingerprint embeddings (paper A, Study 3).

The continuous loss is the log-ratio loss of Kim, Seo, Laptev, Cho & Kwak, "Deep Metric
Learning Beyond Binary Supervision", CVPR 2019 (eq. 2):

    ℓ_lr(a, i, j) = ( log D(f_a, f_i)/D(f_a, f_j)  −  log D(y_a, y_i)/D(y_a, y_j) )²

with D(f, f') = ‖f − f'‖² (squared Euclidean) in the embedding space. In the label space we use
the physical Euclidean distance in metres, as Saccomanno et al. write it (paper A: s(y_i, y_j) is
"the Euclidean distance"), so the optimum has squared embedding distance ∝ metres; Kim et al.'s
official code likewise feeds its task's own label distance (pose distance) in unchanged. Ranks,
and hence Spearman correlations and kNN neighbours, are the same either way.

The binarised baselines (what continuous supervision is compared against) turn a physical
distance into near (≤ threshold) / far and use the classic losses: triplet (Schroff et al. 2015,
Kim et al.'s baseline) and contrastive (Hadsell, Chopra & LeCun 2006).

Everything works on *anchor-to-member* distance matrices ``(B, M)``: row b holds the distances
from anchor b to the M members of its mini-batch (Kim et al.'s dense triplet mining: the anchor's
k nearest neighbours in label space plus randomly drawn others); ``valid`` masks members that do
not count (e.g. the anchor itself drawn among the random ones). Use :func:`anchor_sq_distances`
to build the embedding-side matrix.

Numerical guards (Kim et al.'s code adds 1e-6 inside both logs): both distances get ``eps``
before the log, so a duplicate position (label distance 0) or two identical embeddings give a
large but finite log and a finite gradient. The squared distance itself is differentiable at 0
(its gradient 2(f_i − f_a) vanishes there), unlike the plain Euclidean norm, whose gradient at 0
is NaN; the contrastive loss, which needs the norm, takes sqrt(D + eps).
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = [
    "anchor_sq_distances",
    "binarise",
    "contrastive_loss",
    "dense_log_ratio_loss",
    "log_ratio_loss",
    "triplet_loss",
]

ArrayLike = torch.Tensor | np.ndarray | float


def _check_eps(eps: float) -> float:
    if not (isinstance(eps, (int, float)) and np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps={eps!r} must be a positive finite number")
    return float(eps)


def _check_margin(margin: float) -> float:
    if not (isinstance(margin, (int, float)) and np.isfinite(margin) and margin > 0):
        raise ValueError(f"margin={margin!r} must be a positive finite number")
    return float(margin)


def _as_like(x: ArrayLike, ref: torch.Tensor, name: str) -> torch.Tensor:
    """``x`` as a tensor on ``ref``'s device and dtype (labels carry no gradient)."""
    t = torch.as_tensor(x, device=ref.device)
    if t.dtype != torch.bool:
        t = t.to(ref.dtype)
    return t


def _check_nonneg(t: torch.Tensor, name: str) -> None:
    bad = ~torch.isfinite(t) | (t < 0)
    if bool(bad.any()):
        raise ValueError(f"{name} must be finite and non-negative (distances); got e.g. "
                         f"{t[bad].flatten()[0].item()!r}")


def _check_pair(emb_dist: torch.Tensor, other: torch.Tensor, name: str) -> None:
    if emb_dist.ndim != 2:
        raise ValueError(f"emb_dist must be a (B, M) anchor-to-member matrix; got shape "
                         f"{tuple(emb_dist.shape)}")
    if other.shape != emb_dist.shape:
        raise ValueError(f"{name} has shape {tuple(other.shape)}; emb_dist has "
                         f"{tuple(emb_dist.shape)} and they must match")


def _valid_mask(valid: ArrayLike | None, emb_dist: torch.Tensor) -> torch.Tensor:
    if valid is None:
        return torch.ones_like(emb_dist, dtype=torch.bool)
    v = torch.as_tensor(valid, device=emb_dist.device)
    if v.dtype != torch.bool:
        raise ValueError(f"valid must be a boolean mask; got dtype {v.dtype}")
    _check_pair(emb_dist, v, "valid")
    return v


def anchor_sq_distances(anchors: torch.Tensor, members: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances ``(B, M)`` from ``anchors`` ``(B, d)`` to ``members`` ``(B, M, d)``.

    Computed from differences (not the Gram-matrix trick) so that it is exact, non-negative and
    has a finite gradient (zero) when a member coincides with its anchor.
    """
    if anchors.ndim != 2 or members.ndim != 3 or members.shape[0] != anchors.shape[0] \
            or members.shape[2] != anchors.shape[1]:
        raise ValueError(f"anchors (B, d) and members (B, M, d) do not fit: "
                         f"{tuple(anchors.shape)} and {tuple(members.shape)}")
    return (members - anchors[:, None, :]).pow(2).sum(-1)


def binarise(label_dist: ArrayLike, threshold_m: float) -> torch.Tensor:
    """Near (``True``, distance ≤ ``threshold_m``) / far labels from physical distances."""
    if not (isinstance(threshold_m, (int, float)) and np.isfinite(threshold_m)
            and threshold_m > 0):
        raise ValueError(f"threshold_m={threshold_m!r} must be a positive finite distance (m)")
    return torch.as_tensor(label_dist) <= threshold_m


def log_ratio_loss(
    emb_dist_ai: torch.Tensor,
    emb_dist_aj: torch.Tensor,
    label_dist_ai: ArrayLike,
    label_dist_aj: ArrayLike,
    eps: float = 1e-6,
) -> torch.Tensor:
    """Mean log-ratio loss over explicit triplets (a, i, j) (Kim et al., eq. 2).

    ``emb_dist_*`` are *squared* Euclidean embedding distances D(f_a, f_·); ``label_dist_*`` the
    physical distances D(y_a, y_·) (metres); all of one (broadcastable) shape. Zero exactly when
    every embedding ratio equals its label ratio; invariant to a common scale of either side.
    """
    eps = _check_eps(eps)
    emb_ai, emb_aj = torch.as_tensor(emb_dist_ai), torch.as_tensor(emb_dist_aj)
    if not emb_ai.is_floating_point():
        emb_ai = emb_ai.double()
    lab_ai = _as_like(label_dist_ai, emb_ai, "label_dist_ai")
    lab_aj = _as_like(label_dist_aj, emb_ai, "label_dist_aj")
    emb_aj = emb_aj.to(emb_ai.dtype)
    for name, t in (("emb_dist_ai", emb_ai), ("emb_dist_aj", emb_aj),
                    ("label_dist_ai", lab_ai), ("label_dist_aj", lab_aj)):
        _check_nonneg(t.detach(), name)
    try:
        shape = torch.broadcast_shapes(emb_ai.shape, emb_aj.shape, lab_ai.shape, lab_aj.shape)
    except RuntimeError as exc:
        raise ValueError(f"emb_dist_ai/emb_dist_aj/label_dist_ai/label_dist_aj do not "
                         f"broadcast together: {exc}") from None
    if len(shape) and min(shape) == 0:
        raise ValueError("log_ratio_loss got no triplets (empty inputs)")
    emb_log = torch.log(emb_ai + eps) - torch.log(emb_aj + eps)
    lab_log = torch.log(lab_ai + eps) - torch.log(lab_aj + eps)
    return (emb_log - lab_log).pow(2).mean()


def dense_log_ratio_loss(
    emb_dist: torch.Tensor,
    label_dist: ArrayLike,
    valid: ArrayLike | None = None,
    eps: float = 1e-6,
) -> torch.Tensor:
    """Log-ratio loss averaged over *all* triplets (a, i, j), i < j, of each anchor's members.

    ``emb_dist`` ``(B, M)``: squared embedding distances from anchor b to its members;
    ``label_dist`` ``(B, M)``: their physical distances; ``valid`` ``(B, M)`` bool: members that
    count. Every triplet of the batch has weight 1 / (number of triplets), as in Kim et al.'s
    code (uniform weights over i < j; ℓ(a, i, j) = ℓ(a, j, i), so ordered pairs only double it).

    With r_i = log(D_emb(a, i) + eps) − log(D_lab(a, i) + eps), the n members of one anchor give
    Σ_{i<j} (r_i − r_j)² = n Σ_i (r_i − r̄)²: evaluated that way it costs O(B·M), not O(B·M²), and
    shows what the loss asks for: embedding distances proportional to physical ones *per anchor*
    (the proportionality constant may differ between anchors).
    """
    eps = _check_eps(eps)
    emb = torch.as_tensor(emb_dist)
    lab = _as_like(label_dist, emb, "label_dist")
    _check_pair(emb, lab, "label_dist")
    w = _valid_mask(valid, emb)
    _check_nonneg(emb.detach()[w], "emb_dist")
    _check_nonneg(lab[w], "label_dist")
    return _dense_log_ratio(emb, lab, w, eps)


def _dense_log_ratio(emb: torch.Tensor, lab: torch.Tensor, w: torch.Tensor,
                     eps: float) -> torch.Tensor:
    """:func:`dense_log_ratio_loss` without the input checks (the training loop's inner call)."""
    wf = w.to(emb.dtype)
    # masked members get r = 0 (not the log of whatever they hold) so nothing non-finite leaks
    r = torch.where(w, torch.log(emb + eps) - torch.log(lab + eps), torch.zeros_like(emb))
    n = wf.sum(1)
    mean = r.sum(1) / n.clamp(min=1.0)
    sq = ((r - mean[:, None]) * wf).pow(2).sum(1)  # Σ_i w_i (r_i − r̄)²
    n_triplets = n * (n - 1) / 2
    total = n_triplets.sum()
    if float(total) == 0:
        raise ValueError("dense_log_ratio_loss got no triplets: every anchor needs at least two "
                         "valid members")
    return (n * sq).sum() / total


def _binarised_inputs(emb_dist, near, valid):
    """``(emb, near, valid)`` as tensors for the losses on near/far labels, checked."""
    emb = torch.as_tensor(emb_dist)
    pos = torch.as_tensor(near, device=emb.device)
    if pos.dtype != torch.bool:
        raise ValueError(f"near must be a boolean (B, M) mask; got dtype {pos.dtype}")
    _check_pair(emb, pos, "near")
    return emb, pos, _valid_mask(valid, emb)


def triplet_loss(
    emb_dist: torch.Tensor,
    near: ArrayLike,
    margin: float = 0.2,
    valid: ArrayLike | None = None,
) -> torch.Tensor:
    """Triplet loss on binarised labels, all (anchor, near member, far member) triplets.

    ℓ(a, p, n) = max(0, D(f_a, f_p) − D(f_a, f_n) + margin), D squared Euclidean (on
    L2-normalised embeddings, where ``margin`` has a meaning: D ∈ [0, 4]). ``near`` ``(B, M)``
    bool marks each anchor's positives (physical distance ≤ threshold, :func:`binarise`), the
    rest of the valid members are negatives. Averaged over every such triplet, satisfied ones
    included (Kim et al.'s dense triplet baseline weights them uniformly). Zero (with a graph)
    when the batch holds no anchor with both a positive and a negative.
    """
    margin = _check_margin(margin)
    emb, pos, w = _binarised_inputs(emb_dist, near, valid)
    pos, neg = pos & w, ~pos & w
    mask = pos[:, :, None] & neg[:, None, :]
    count = mask.sum()
    if int(count) == 0:
        return emb.sum() * 0.0
    hinge = torch.relu(emb[:, :, None] - emb[:, None, :] + margin)
    return (hinge * mask).sum() / count


def contrastive_loss(
    emb_dist: torch.Tensor,
    near: ArrayLike,
    margin: float = 1.0,
    valid: ArrayLike | None = None,
    eps: float = 1e-6,
) -> torch.Tensor:
    """Contrastive loss (Hadsell et al. 2006) on binarised anchor–member pairs.

    Near pairs cost d², far pairs max(0, margin − d)², with d = sqrt(D + eps) the Euclidean
    embedding distance (``emb_dist`` holds squared distances D; ``eps`` keeps the root's
    gradient finite at d = 0). Mean over valid pairs; ``margin`` is a Euclidean distance (on
    L2-normalised embeddings d ∈ [0, 2]).
    """
    margin = _check_margin(margin)
    eps = _check_eps(eps)
    emb, pos, w = _binarised_inputs(emb_dist, near, valid)
    count = w.sum()
    if int(count) == 0:
        raise ValueError("contrastive_loss got no valid pairs")
    d = torch.sqrt(emb.clamp(min=0) + eps)
    per_pair = torch.where(pos, emb, torch.relu(margin - d).pow(2))
    return (per_pair * w).sum() / count
