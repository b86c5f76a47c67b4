"""Metric SMACOF with weights (de Leeuw; Borg & Groenen, *Modern MDS*, ch. 8).

Minimises the raw stress ``σ(X) = Σ_{i<j} w_ij (d_ij − ||x_i − x_j||)²`` by majorisation:
each step is the weighted Guttman transform ``X ← V⁺ B(X) X`` with
``V = Σ_{i<j} w_ij (e_i − e_j)(e_i − e_j)ᵀ`` and ``B(X)_ij = −w_ij d_ij / ||x_i − x_j||``
(``i ≠ j``, 0 where the points coincide), ``B_ii = −Σ_{j≠i} B_ij``. ``V`` is singular (its
rows sum to 0), so its Moore–Penrose inverse is taken as ``(V + 11ᵀ)⁻¹ − n⁻²11ᵀ``, valid
when the graph of positive weights is connected (checked).

Weights make missing FTM ranges harmless: a NaN distance gets weight 0. scikit-learn 1.9's
``sklearn.manifold.smacof``/``MDS`` has no weights and, in the metric case, no missing
values (zeros are treated as missing only by non-metric MDS), so the weighted case is ours;
:func:`smacof_sklearn` is the plain unweighted baseline a user would pick instead.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.sparse.csgraph import connected_components

from .core import check_distance_matrix, check_points, complete_shortest_path, symmetrise
from .mds import classical_mds

__all__ = ["SmacofResult", "smacof", "smacof_sklearn", "stress"]


@dataclass(frozen=True)
class SmacofResult:
    """Best run of :func:`smacof`: ``X`` ``(n, dim)``, its raw ``stress``, ``n_iter`` it took."""

    X: np.ndarray
    stress: float
    n_iter: int


def _pairwise(X: np.ndarray) -> np.ndarray:
    diff = X[:, None, :] - X[None, :, :]
    return np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))


def _symmetric_problem(D: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Reduce (possibly asymmetric, incomplete) ``D`` and ``weights`` to symmetric ``(Δ, W)``.

    Over ordered pairs, ``w_ij (d_ij − δ)² + w_ji (d_ji − δ)²`` equals
    ``(w_ij + w_ji) (d̄ − δ)²`` plus a constant, with ``d̄`` the weight-averaged distance,
    so an asymmetric problem is exactly the symmetric one with ``W = (w + wᵀ)/2`` and ``Δ = d̄``.
    """
    n = D.shape[0]
    if weights is None:
        w = np.ones((n, n))
    else:
        w = np.array(weights, dtype=float)
        if w.shape != D.shape:
            raise ValueError(f"weights has shape {w.shape}; it must match D's shape {D.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights must be finite and >= 0 (0 = ignore the pair)")
    missing = np.isnan(D)
    w = np.where(missing, 0.0, w)  # a missing distance never counts, whatever its weight
    np.fill_diagonal(w, 0.0)
    Dz = np.where(missing, 0.0, D)
    W = w + w.T
    with np.errstate(invalid="ignore", divide="ignore"):
        Delta = np.where(W > 0, (w * Dz + w.T * Dz.T) / np.where(W > 0, W, 1.0), 0.0)
    return Delta, 0.5 * W


def stress(X: np.ndarray, Delta: np.ndarray, W: np.ndarray) -> float:
    """Raw stress ``Σ_{i<j} W_ij (Δ_ij − ||x_i − x_j||)²`` of a symmetric problem."""
    R = W * (Delta - _pairwise(X)) ** 2
    return float(np.triu(R, 1).sum())


def _run(
    X: np.ndarray, Delta: np.ndarray, W: np.ndarray, Vp: np.ndarray, max_iter: int, eps: float
) -> tuple[np.ndarray, float, int]:
    WD = W * Delta
    s_old = stress(X, Delta, W)
    it = 0
    for it in range(1, max_iter + 1):
        dist = _pairwise(X)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(dist > 0, WD / np.where(dist > 0, dist, 1.0), 0.0)
        Bm = -ratio
        Bm[np.diag_indices_from(Bm)] = ratio.sum(axis=1) - np.diagonal(ratio)
        X = Vp @ (Bm @ X)
        s_new = stress(X, Delta, W)
        # relative decrease below eps: converged; an (almost) exact fit needs no more steps
        if s_old - s_new <= eps * s_old or s_new <= 1e-24:
            s_old = s_new
            break
        s_old = s_new
    return X, s_old, it


def smacof(
    D: np.ndarray,
    dim: int = 2,
    *,
    weights: np.ndarray | None = None,
    init: np.ndarray | None = None,
    n_init: int = 4,
    max_iter: int = 300,
    eps: float = 1e-6,
    seed: int = 0,
) -> SmacofResult:
    """Weighted metric SMACOF; returns the best of several starts.

    ``D`` may be asymmetric and incomplete: NaN entries get weight 0, and ordered pairs are
    combined exactly (see :func:`_symmetric_problem`); ``weights`` ``(n, n)`` ≥ 0 defaults
    to 1. The reported ``stress`` is ``Σ_{i<j}`` over the symmetrised problem. Starts: with
    ``init`` given, that one configuration only; otherwise classical MDS of the
    shortest-path-completed matrix, plus ``n_init − 1`` random starts drawn from ``seed``
    (deterministic). Stops when the relative stress decrease falls below ``eps``.
    """
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"dim={dim!r} must be an integer >= 1")
    if not isinstance(n_init, (int, np.integer)) or n_init < 1:
        raise ValueError(f"n_init={n_init!r} must be an integer >= 1")
    if not isinstance(max_iter, (int, np.integer)) or max_iter < 1:
        raise ValueError(f"max_iter={max_iter!r} must be an integer >= 1")
    if not (np.isfinite(eps) and eps >= 0):
        raise ValueError(f"eps={eps!r} must be a finite number >= 0")
    A = check_distance_matrix(D, min_points=dim + 1)
    n = A.shape[0]
    Delta, W = _symmetric_problem(A, weights)

    n_comp, labels = connected_components(W > 0, directed=False)
    if n_comp > 1:
        comps = [np.flatnonzero(labels == c).tolist() for c in range(n_comp)]
        raise ValueError(
            f"the graph of pairs with positive weight and a measured distance is disconnected "
            f"({n_comp} components: {comps}); their relative placement is undetermined"
        )
    V = np.diag(W.sum(axis=1)) - W
    ones = np.full((n, n), 1.0)
    Vp = np.linalg.inv(V + ones) - ones / n**2

    starts: list[np.ndarray] = []
    if init is not None:
        X0 = check_points(init, name="init", allow_nan_rows=False)
        if X0.shape != (n, dim):
            raise ValueError(f"init has shape {X0.shape}; it must be (n, dim) = {(n, dim)}")
        starts.append(X0)
    else:
        D_known = np.where(W > 0, Delta, np.nan)
        np.fill_diagonal(D_known, 0.0)
        starts.append(classical_mds(complete_shortest_path(D_known), dim).X)
        rng = np.random.default_rng(seed)
        scale = np.sqrt(np.average(Delta**2, weights=W) / (2 * dim)) if W.sum() > 0 else 1.0
        for _ in range(n_init - 1):
            starts.append(rng.standard_normal((n, dim)) * scale)

    best: SmacofResult | None = None
    for X0 in starts:
        X, s, it = _run(X0.copy(), Delta, W, Vp, max_iter, eps)
        if best is None or s < best.stress:
            best = SmacofResult(X=X, stress=s, n_iter=it)
    assert best is not None
    return best


def smacof_sklearn(
    D: np.ndarray,
    dim: int = 2,
    seed: int = 0,
    *,
    n_init: int = 4,
    max_iter: int = 300,
    eps: float = 1e-6,
) -> np.ndarray:
    """Plain unweighted metric SMACOF from scikit-learn (the baseline a user would pick).

    Needs a complete matrix (ValueError on NaN); an asymmetric one is symmetrised by the
    mean. Random starts (``init="random"``), ``n_init`` of them, seeded by ``seed``;
    ``max_iter`` and ``eps`` are scikit-learn's (its own defaults).
    """
    from sklearn.manifold import MDS

    A = check_distance_matrix(D, allow_missing=False, min_points=dim + 1)
    A = symmetrise(A, "mean")
    kwargs = {
        "n_components": dim,
        "n_init": n_init,
        "random_state": seed,
        "normalized_stress": False,
        "max_iter": max_iter,
        "eps": eps,
    }
    try:  # scikit-learn >= 1.8: metric_mds / metric="precomputed" / init
        model = MDS(metric_mds=True, metric="precomputed", init="random", **kwargs)
    except TypeError:  # older releases
        model = MDS(metric=True, dissimilarity="precomputed", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return np.asarray(model.fit_transform(A))
