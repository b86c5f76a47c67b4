"""Euclidean distance matrices (EDM): checks, symmetrisation, alignment, errors, completion.

Conventions shared by the whole ``edm`` package (paper B, FTM ranging between fixed APs):

* a distance matrix ``D`` is an ``(n, n)`` float array in metres with a zero diagonal;
* ``NaN`` means *missing* (the pair was not measured);
* ``D`` may be asymmetric: FTM ranges ``d_ij`` and ``d_ji`` are measured in both directions.

Estimated configurations ``X`` are ``(n, dim)`` arrays; a row of ``NaN`` is an *unplaced* point.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.linalg import orthogonal_procrustes
from scipy.sparse.csgraph import connected_components, csgraph_from_dense, shortest_path

SymmetriseHow = Literal["mean", "min", "max"]
SYMMETRISE_HOWS: tuple[str, ...] = ("mean", "min", "max")
SYMMETRY_ATOL = 1e-9

__all__ = [
    "SYMMETRISE_HOWS",
    "AlignedErrors",
    "align",
    "check_distance_matrix",
    "check_points",
    "complete_shortest_path",
    "dilation_factors",
    "dilation_stats",
    "edm",
    "position_errors",
    "symmetrise",
]


def check_distance_matrix(
    D: np.ndarray,
    *,
    name: str = "D",
    symmetric: bool = False,
    allow_missing: bool = True,
    min_points: int = 3,
) -> np.ndarray:
    """Validate a distance matrix and return a float copy.

    Raises ValueError (naming ``name``) if ``D`` is not square, has fewer than ``min_points``
    points (an embedding in ``dim`` dimensions needs at least ``dim + 1``), contains ``inf``,
    negative entries, ``NaN`` while ``allow_missing`` is False, a non-zero or ``NaN``
    diagonal, or — with ``symmetric=True`` — differs from its transpose by more than
    1e-9 m where both directions are present (a pair missing in one direction only is
    accepted: NaN means not measured, not a different value).
    """
    try:
        A = np.array(D, dtype=float)  # always a copy: callers may modify it freely
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric (n, n) array of distances in metres: {exc}")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) distance matrix; got shape {A.shape}")
    n = A.shape[0]
    if n < min_points:
        raise ValueError(
            f"{name} has {n} points; needs at least dim+1 = {min_points} points "
            f"(min_points={min_points})"
        )
    if np.isinf(A).any():
        i, j = np.argwhere(np.isinf(A))[0]
        raise ValueError(
            f"{name}[{i}, {j}] = {A[i, j]} is infinite; allowed: finite distances >= 0, NaN = missing"
        )
    nan = np.isnan(A)
    diag = np.diagonal(A)
    if np.isnan(diag).any() or (diag != 0).any():
        i = int(np.flatnonzero(np.isnan(diag) | (diag != 0))[0])
        raise ValueError(
            f"{name}[{i}, {i}] = {diag[i]}; the diagonal of a distance matrix must be 0"
        )
    if not allow_missing and nan.any():
        i, j = np.argwhere(nan)[0]
        raise ValueError(
            f"{name}[{i}, {j}] is NaN (missing) but missing distances are not allowed here "
            f"({int(nan.sum())} missing); complete the matrix first, e.g. complete_shortest_path"
        )
    neg = A < 0  # NaN compares False
    if neg.any():
        i, j = np.argwhere(neg)[0]
        raise ValueError(f"{name}[{i}, {j}] = {A[i, j]} is negative; allowed: distances >= 0")
    if symmetric:
        both = ~nan & ~nan.T
        diff = np.where(both, np.abs(A - A.T), 0.0)
        if (diff > SYMMETRY_ATOL).any():
            i, j = np.argwhere(diff > SYMMETRY_ATOL)[0]
            raise ValueError(
                f"{name} must be symmetric (atol {SYMMETRY_ATOL:g}) but {name}[{i}, {j}] = "
                f"{A[i, j]} != {name}[{j}, {i}] = {A[j, i]}; symmetrise it first (symmetrise)"
            )
    return A


def check_int(name: str, value: int | None, *, minimum: int, allow_none: bool = False) -> int | None:
    """Return ``value`` as int; ValueError naming ``name`` unless it is an integer >= ``minimum``
    (or None where ``allow_none``). Booleans are refused: ``True`` is not a count."""
    if value is None and allow_none:
        return None
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        allowed = f"an integer >= {minimum}" + (" or None" if allow_none else "")
        raise ValueError(f"{name}={value!r} is not allowed; allowed: {allowed}")
    return int(value)


def check_points(X: np.ndarray, *, name: str = "X", allow_nan_rows: bool = True) -> np.ndarray:
    """Validate a configuration ``(n, dim)`` and return a float copy.

    A point is either fully finite or a row of NaN (unplaced, only if ``allow_nan_rows``).
    """
    try:
        A = np.array(X, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric (n, dim) array of coordinates: {exc}")
    if A.ndim != 2 or A.shape[0] < 1 or A.shape[1] < 1:
        raise ValueError(f"{name} must be an (n, dim) array of points; got shape {A.shape}")
    if np.isinf(A).any():
        raise ValueError(f"{name} contains inf; allowed: finite coordinates (NaN row = unplaced)")
    nan = np.isnan(A)
    partial = nan.any(axis=1) & ~nan.all(axis=1)
    if partial.any():
        i = int(np.flatnonzero(partial)[0])
        raise ValueError(
            f"{name}[{i}] = {A[i]} is partly NaN; a point is either finite or all-NaN (unplaced)"
        )
    if not allow_nan_rows and nan.any():
        i = int(np.flatnonzero(nan.any(axis=1))[0])
        raise ValueError(f"{name}[{i}] is NaN; all points of {name} must be finite here")
    return A


def symmetrise(D: np.ndarray, how: SymmetriseHow = "mean") -> np.ndarray:
    """Combine ``d_ij`` and ``d_ji`` into one symmetric matrix.

    ``how``: ``"mean"`` (default), ``"min"`` or ``"max"`` of the two directions. Where one
    direction is missing the other is taken; where both are missing the pair stays NaN.
    Paper B keeps the best (smallest) FTM range, so the FTM chapter uses ``how="min"``.
    """
    if how not in SYMMETRISE_HOWS:
        raise ValueError(f"how={how!r} is not allowed; allowed: {', '.join(SYMMETRISE_HOWS)}")
    A = check_distance_matrix(D, min_points=1)
    stack = np.stack([A, A.T])
    if not np.isnan(stack).any():
        reduce = {"mean": np.mean, "min": np.min, "max": np.max}[how]
        return reduce(stack, axis=0)
    reduce = {"mean": np.nanmean, "min": np.nanmin, "max": np.nanmax}[how]
    both_missing = np.isnan(A) & np.isnan(A.T)
    # fill the all-NaN slices first so nan-reductions do not warn; restore them after
    stack[:, both_missing] = 0.0
    S = reduce(stack, axis=0)
    S[both_missing] = np.nan
    return S


def edm(X: np.ndarray) -> np.ndarray:
    """Euclidean distance matrix of the points ``X`` ``(n, dim)``; NaN rows give NaN rows/cols."""
    P = check_points(X)
    diff = P[:, None, :] - P[None, :, :]
    D = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
    np.fill_diagonal(D, 0.0)
    return D


def align(
    X_est: np.ndarray, X_true: np.ndarray, *, reflection: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best rigid motion of ``X_est`` onto ``X_true`` (least squares, no scaling).

    Returns ``(X_aligned, R, t)`` with ``X_aligned = X_est @ R + t``. ``R`` is orthogonal
    (scipy's ``orthogonal_procrustes`` on centred points); with ``reflection=False`` it is a
    proper rotation, ``det(R) = +1`` (Kabsch's sign fix). MDS coordinates are only defined
    up to such a motion, so errors are measured after it. Rows of NaN in ``X_est``
    (unplaced points) are left out of the fit and stay NaN.
    """
    E = check_points(X_est, name="X_est")
    T = check_points(X_true, name="X_true", allow_nan_rows=False)
    if E.shape != T.shape:
        raise ValueError(
            f"X_est has shape {E.shape} but X_true has shape {T.shape}; they must be equal"
        )
    placed = ~np.isnan(E).any(axis=1)
    if not placed.any():
        raise ValueError("X_est has no placed point (all rows NaN); nothing to align")
    mu_e = E[placed].mean(axis=0)
    mu_t = T[placed].mean(axis=0)
    A = E[placed] - mu_e
    B = T[placed] - mu_t
    if reflection:
        R, _ = orthogonal_procrustes(A, B)
    else:
        U, _, Vt = np.linalg.svd(A.T @ B)
        s = np.ones(U.shape[1])
        # a reflection would fit better: flip the weakest axis instead (Kabsch)
        s[-1] = np.sign(np.linalg.det(U @ Vt)) or 1.0
        R = (U * s) @ Vt
    t = mu_t - mu_e @ R
    return E @ R + t, R, t


@dataclass(frozen=True)
class AlignedErrors:
    """Position errors after :func:`align`.

    ``rmse`` is over placed points only (NaN if none); ``errors`` is per point, NaN for
    unplaced ones; ``n_unplaced`` counts them; ``aligned`` is the aligned configuration.
    """

    rmse: float
    errors: np.ndarray
    n_unplaced: int
    aligned: np.ndarray

    @property
    def mean(self) -> float:
        """Mean error over placed points (MAE as the papers use it)."""
        e = self.errors[~np.isnan(self.errors)]
        return float(e.mean()) if e.size else float("nan")


def position_errors(
    X_est: np.ndarray, X_true: np.ndarray, *, reflection: bool = True
) -> AlignedErrors:
    """Align ``X_est`` onto ``X_true`` (:func:`align`) and measure Euclidean errors in metres."""
    aligned, _, _ = align(X_est, X_true, reflection=reflection)
    T = np.asarray(X_true, dtype=float)
    errors = np.linalg.norm(aligned - T, axis=1)  # NaN rows stay NaN
    placed = ~np.isnan(errors)
    rmse = float(np.sqrt(np.mean(errors[placed] ** 2))) if placed.any() else float("nan")
    return AlignedErrors(rmse=rmse, errors=errors, n_unplaced=int((~placed).sum()), aligned=aligned)


def _true_distances(D_meas: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Ground-truth distances from either a distance matrix or coordinates (see dilation_factors)."""
    R = np.asarray(ref, dtype=float)
    n = D_meas.shape[0]
    looks_like_D = (
        R.ndim == 2
        and R.shape == (n, n)
        and not np.isnan(R).any()
        and np.allclose(np.diagonal(R), 0.0)
        and np.allclose(R, R.T)
        and (R >= 0).all()
    )
    if looks_like_D:
        return check_distance_matrix(
            R, name="D_true", symmetric=True, allow_missing=False, min_points=1
        )
    P = check_points(R, name="X_true", allow_nan_rows=False)
    if P.shape[0] != n:
        raise ValueError(
            f"X_true has {P.shape[0]} points but D_meas has {n}; they must describe the same points"
        )
    return edm(P)


def dilation_factors(
    D_meas: np.ndarray, X_true_or_D_true: np.ndarray, *, as_matrix: bool = False
) -> np.ndarray:
    """Paper B's dilation factor ``k = d_meas / d_true`` for every measured off-diagonal pair.

    The second argument is a ground-truth distance matrix if it is ``(n, n)``, symmetric,
    non-negative with a zero diagonal; otherwise it is read as coordinates ``(n, dim)``.
    Returns the 1-D array of ``k`` over measured pairs ``(i, j), i != j`` in row-major order
    (both directions of an asymmetric matrix count), or with ``as_matrix=True`` the ``(n, n)``
    matrix with NaN where not measured, on the diagonal and where ``d_true = 0``.
    """
    Dm = check_distance_matrix(D_meas, name="D_meas", min_points=2)
    Dt = _true_distances(Dm, X_true_or_D_true)
    with np.errstate(divide="ignore", invalid="ignore"):
        K = np.where(Dt > 0, Dm / np.where(Dt > 0, Dt, 1.0), np.nan)
    np.fill_diagonal(K, np.nan)
    if as_matrix:
        return K
    return K[~np.isnan(K)]


def dilation_stats(k: np.ndarray) -> dict[str, float]:
    """Summary of dilation factors: mean, std (population), var, median, p95; NaN ignored."""
    a = np.asarray(k, dtype=float).ravel()
    a = a[~np.isnan(a)]
    if a.size == 0:
        raise ValueError("k has no finite dilation factor; need at least one measured pair")
    return {
        "mean": float(a.mean()),
        "std": float(a.std()),
        "var": float(a.var()),
        "median": float(np.median(a)),
        "p95": float(np.percentile(a, 95)),
    }


def complete_shortest_path(D: np.ndarray, *, how: SymmetriseHow = "mean") -> np.ndarray:
    """Fill missing distances with graph shortest-path lengths (the usual completion before MDS).

    Measured entries are kept as they are. A pair measured in one direction only takes the
    other direction's value. A pair measured in neither direction gets the length of the
    shortest path in the undirected graph whose edges are the measured pairs, weighted by
    ``symmetrise(D, how)``. Raises ValueError naming the components if that graph is
    disconnected (no completion exists then).
    """
    A = check_distance_matrix(D)
    missing = np.isnan(A)
    if not missing.any():
        return A
    S = symmetrise(A, how)
    # null_value=None keeps measured zero distances as edges; NaN marks non-edges
    G = csgraph_from_dense(S, null_value=None, nan_null=True)
    n_comp, labels = connected_components(G, directed=False)
    if n_comp > 1:
        comps = [np.flatnonzero(labels == c).tolist() for c in range(n_comp)]
        raise ValueError(
            f"D's graph of measured pairs is disconnected ({n_comp} components: {comps}); "
            "shortest-path completion needs a connected graph"
        )
    P = shortest_path(G, method="D", directed=False)
    return np.where(missing, np.where(np.isnan(S), P, S), A)
