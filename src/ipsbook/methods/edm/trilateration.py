"""Trilateration: a position from ranges to known anchors.

A linearised least-squares solution (subtract one range equation from the others) gives the
initial guess; a few Gauss–Newton steps on the range residuals ``||x − a_i|| − r_i`` then
remove the bias the linearisation puts on noisy ranges.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .core import SymmetriseHow, check_distance_matrix, check_points, symmetrise

__all__ = ["trilaterate", "trilaterate_network"]

_GN_ITER = 20


def _linearised(A: np.ndarray, r: np.ndarray, w: np.ndarray) -> np.ndarray:
    # reference = the shortest range: on FTM the shortest range is usually the least dilated
    k = int(np.argmin(r))
    keep = np.arange(len(r)) != k
    M = 2.0 * (A[keep] - A[k])
    b = (A[keep] ** 2).sum(1) - (A[k] ** 2).sum() - r[keep] ** 2 + r[k] ** 2
    sw = np.sqrt(w[keep])[:, None]
    x, *_ = np.linalg.lstsq(M * sw, b * sw[:, 0], rcond=None)
    return x


def _cost(x: np.ndarray, A: np.ndarray, r: np.ndarray, w: np.ndarray) -> float:
    return float((w * (np.linalg.norm(A - x, axis=1) - r) ** 2).sum())


def trilaterate(
    anchors: np.ndarray, ranges: np.ndarray, *, weights: np.ndarray | None = None
) -> np.ndarray:
    """Position ``(dim,)`` from ``anchors`` ``(m, dim)`` and ``ranges`` ``(m,)`` in metres.

    NaN ranges (and ranges of weight 0) are ignored; with fewer than ``dim + 1`` usable
    ranges the position is undetermined and a row of NaN is returned. ``weights`` ``(m,)``
    ≥ 0 weigh the squared range residuals (default 1). Wrong shapes, negative or infinite
    ranges and non-finite anchors raise ValueError.
    """
    A = check_points(anchors, name="anchors", allow_nan_rows=False)
    m, dim = A.shape
    r = np.array(ranges, dtype=float)
    if r.shape != (m,):
        raise ValueError(f"ranges has shape {r.shape}; it must be (m,) = ({m},) like anchors")
    if np.isinf(r).any() or (r < 0).any():
        raise ValueError(f"ranges must be finite and >= 0 (NaN = missing); got {r}")
    if weights is None:
        w = np.ones(m)
    else:
        w = np.array(weights, dtype=float)
        if w.shape != (m,):
            raise ValueError(f"weights has shape {w.shape}; it must be (m,) = ({m},)")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError(f"weights must be finite and >= 0; got {w}")
    use = ~np.isnan(r) & (w > 0)
    if use.sum() < dim + 1:
        return np.full(dim, np.nan)
    A, r, w = A[use], r[use], w[use]

    x = _linearised(A, r, w)
    cost = _cost(x, A, r, w)
    scale = max(float(np.ptp(A, axis=0).max()), float(r.max()), 1.0)
    sw = np.sqrt(w)
    for _ in range(_GN_ITER):
        diff = x - A
        dist = np.linalg.norm(diff, axis=1)
        if (dist == 0).any():  # on an anchor: the Jacobian is undefined there; nudge off it
            dist = np.where(dist == 0, 1e-12 * scale, dist)
        J = diff / dist[:, None]
        res = dist - r
        step, *_ = np.linalg.lstsq(J * sw[:, None], -res * sw, rcond=None)
        # halve the step until the cost does not increase (keeps Gauss–Newton monotone)
        t = 1.0
        while t > 1e-6:
            x_new = x + t * step
            c_new = _cost(x_new, A, r, w)
            if c_new <= cost:
                break
            t *= 0.5
        else:
            break
        x, cost = x_new, c_new
        if np.linalg.norm(t * step) < 1e-12 * scale:
            break
    return x


def trilaterate_network(
    D: np.ndarray,
    anchor_idx: Sequence[int] | np.ndarray,
    anchor_pos: np.ndarray,
    *,
    how: SymmetriseHow = "mean",
) -> np.ndarray:
    """Place every point of ``D`` by trilateration from the anchors' known positions.

    ``anchor_idx`` (distinct indices into ``D``) keep ``anchor_pos`` ``(len(anchor_idx), dim)``.
    Each other point uses its measured distances to the anchors (``d_ia`` and ``d_ai``
    combined by ``symmetrise(·, how)``); with fewer than ``dim + 1`` of them its row is NaN.
    """
    A = check_distance_matrix(D, min_points=1)
    n = A.shape[0]
    idx = np.asarray(anchor_idx)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError(f"anchor_idx={anchor_idx!r} must be a non-empty 1-D sequence of integers")
    if (idx < 0).any() or (idx >= n).any() or len(np.unique(idx)) != idx.size:
        raise ValueError(f"anchor_idx={idx.tolist()} must be distinct indices in [0, {n})")
    P = check_points(anchor_pos, name="anchor_pos", allow_nan_rows=False)
    if P.shape[0] != idx.size:
        raise ValueError(
            f"anchor_pos has {P.shape[0]} rows but anchor_idx has {idx.size} anchors; must match"
        )
    dim = P.shape[1]
    S = symmetrise(A, how)
    X = np.full((n, dim), np.nan)
    X[idx] = P
    for i in np.setdiff1d(np.arange(n), idx):
        X[i] = trilaterate(P, S[i, idx])
    return X
