"""Classical (Torgerson) metric MDS, exactly as paper B (Sect. 3) writes it.

From measured distances: squared distances ``D²``; centring matrix ``J = I − (1/n) c cᵀ``
(``c`` the column of ones); double-centred Gram matrix ``B = −½ J D² J``; eigendecomposition
``B = Q Λ Qᵀ`` (eigenvalues sorted descending); keep the ``dim`` largest positive eigenpairs
and return ``X = Q_m Λ_m^{1/2}``. The eigenvalues are reported too: for an exact EDM of a
``dim``-dimensional configuration exactly ``dim`` are positive and the rest are zero; noise
(and non-Euclidean FTM dilation) makes the small ones non-zero and some negative (paper B:
"the presence of many and/or large negative eigenvalues is either a sign that the geometric
object ... is not Euclidean, or that noise is large").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from .core import check_distance_matrix, complete_shortest_path, symmetrise

__all__ = ["MDSResult", "classical_mds", "double_centre"]

DEFAULT_RANK_TOL = 1e-6


@dataclass(frozen=True)
class MDSResult:
    """Output of :func:`classical_mds`.

    ``X`` ``(n, dim)`` coordinates (centred at the origin); ``eigenvalues`` all ``n``
    eigenvalues of ``B``, descending; ``n_negative`` how many are below
    ``-rank_tol·λ_max``; ``negative_mass = Σ|λ<0| / Σ|λ|`` (0 for an exact EDM, grows with
    non-Euclidean noise); ``rank_estimate`` how many are above ``rank_tol·λ_max``
    (the dimension paper B reads off the spectrum); ``rank_tol`` the threshold used.
    """

    X: np.ndarray
    eigenvalues: np.ndarray
    n_negative: int
    negative_mass: float
    rank_estimate: int
    rank_tol: float


def double_centre(D: np.ndarray) -> np.ndarray:
    """``B = −½ J D² J`` with ``J = I − (1/n) c cᵀ`` — paper B's centred scalar-product matrix."""
    n = D.shape[0]
    J = np.eye(n) - np.full((n, n), 1.0 / n)
    B = -0.5 * J @ (D**2) @ J
    return 0.5 * (B + B.T)  # exact symmetry for eigh despite round-off


def classical_mds(
    D: np.ndarray,
    dim: int = 2,
    *,
    complete: Literal["shortest_path"] | None = None,
    rank_tol: float = DEFAULT_RANK_TOL,
) -> MDSResult:
    """Classical MDS of a distance matrix into ``dim`` dimensions.

    An asymmetric ``D`` (FTM both directions) is first symmetrised by the mean,
    ``(d_ij + d_ji)/2`` — the algebraic averaging paper B criticises; symmetrise with
    ``how="min"`` beforehand to keep the best range instead. Classical MDS needs every
    distance: missing (NaN) entries raise ValueError unless ``complete="shortest_path"``,
    which fills them with :func:`~.core.complete_shortest_path` first.

    ``rank_tol`` is relative to the largest eigenvalue: eigenvalues above
    ``rank_tol·λ_max`` count towards ``rank_estimate``, those below ``−rank_tol·λ_max``
    are counted as negative. The default (1e-6) gives the numerical rank of an exact EDM;
    for noisy data pass a larger value (e.g. 0.05) to count only "large" eigenvalues.
    If fewer than ``dim`` eigenvalues are positive, the missing axes are set to 0.
    """
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"dim={dim!r} must be an integer >= 1")
    if complete not in (None, "shortest_path"):
        raise ValueError(f"complete={complete!r} is not allowed; allowed: None, 'shortest_path'")
    if not (np.isfinite(rank_tol) and rank_tol >= 0):
        raise ValueError(f"rank_tol={rank_tol!r} must be a finite number >= 0")
    A = check_distance_matrix(D, min_points=dim + 1)
    if np.isnan(A).any():
        if complete is None:
            raise ValueError(
                f"D has {int(np.isnan(A).sum())} missing (NaN) entries; classical MDS needs a "
                "complete matrix: pass complete='shortest_path' or complete it first "
                "(complete_shortest_path)"
            )
        A = complete_shortest_path(A)
    A = symmetrise(A, "mean")

    B = double_centre(A)
    w, Q = np.linalg.eigh(B)
    order = np.argsort(w)[::-1]
    w, Q = w[order], Q[:, order]
    # eigenvectors are defined up to sign: fix it so results do not depend on the LAPACK build
    big = np.argmax(np.abs(Q), axis=0)
    Q = Q * np.where(Q[big, np.arange(Q.shape[1])] < 0, -1.0, 1.0)

    lam_max = max(float(w[0]), 0.0)
    thr = rank_tol * lam_max
    X = Q[:, :dim] * np.sqrt(np.clip(w[:dim], 0.0, None))
    total = float(np.abs(w).sum())
    neg = w[w < 0]
    return MDSResult(
        X=X,
        eigenvalues=w,
        n_negative=int((w < -thr).sum()),
        negative_mass=float(np.abs(neg).sum() / total) if total > 0 else 0.0,
        rank_estimate=int((w > thr).sum()),
        rank_tol=float(rank_tol),
    )
