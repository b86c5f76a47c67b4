"""Iterative algebro-geometric EDM resolution (IAG) — paper B, Sect. 5.2, Algorithm 2.

Sensor positions are computed many times over from small sub-problems, each solved in closed
form, brought into one frame, and averaged; a sensor whose computed positions scatter widely
is a *poor anchor* and the sub-problems it anchored are voted out. The paper's equations and
the Algorithm 2 box were lost in extraction; this is our reading of the text, with every
choice the paper leaves open marked **[choice]**.

Iterations (Fig. 5)
    An iteration has an *origin* pivot ``p0`` at ``(0, 0)`` and a second pivot ``p_t`` at
    ``(d_0t, 0)``; every sensor ``j`` with ``d_0j`` and ``d_tj`` measured is placed by the
    triangular formula ``x = (d_0j² − d_tj² + d_0t²) / (2 d_0t)``, ``|y| = sqrt(max(d_0j² − x²,
    0))`` (the clamp absorbs noise that breaks the triangle inequality). A sensor is placed
    only if both its ranges to the pivots are measured; the sub-matrix of an iteration is
    thus the set of sensors measured to both pivots. ``p_t`` runs over every sensor measured to
    ``p0`` (index order), and **[choice]** ``p0`` runs over the sensors too — all of them (the
    best connected first, then index order), or the ``n_origins`` best connected (most
    measured ranges; ties by a seeded shuffle) — so that each sensor gets a cluster of
    positions and none is privileged. Cost: ``n_origins · n`` iterations of ``O(n)`` sensors
    each — about 0.4 s for 100 APs and all origins, 16 s for 300 (2 s with ``n_origins=30``).

Sign of y **[choice]**
    The formula puts every sensor above the x-axis. As the paper says, the side is decided
    from a measured range to an already placed sensor: the ``N_REFS`` placed sensors farthest
    from the axis (best conditioned, never a known poor anchor) are resolved in turn, the first
    taken above the axis; every sensor then takes the side whose distances to the resolved
    references best match the measured ranges (least squares over the references it is
    measured to). A sensor off the axis and measured to no reference is left out of the
    iteration (its side is unknown). The mirror image of a whole iteration is left to the
    alignment.

Common frame (eq. 22) and variants
    The first iteration defines the frame. The others are moved onto it by a rigid motion fit
    on the sensors they share with their target (their *anchors*; known poor anchors are not
    used). A reflection is always allowed: an iteration's handedness is arbitrary (its first
    reference was put above the axis). Two shared sensors fix a rotation but not a reflection,
    so **[choice]** an iteration needs at least three shared sensors not on one line
    (``MIN_SPREAD``); otherwise it is set aside and retried once more iterations are in the
    frame, and dropped if it never aligns. The paper names three ways to choose the target:

    * ``"sequential"`` — onto a previously aligned iteration ("project M_{t+1} onto M_t") by
      eq. 22 applied to one pair of shared sensors, **[choice]** the pair farthest apart
      (best-conditioned angle): translate its first sensor onto its counterpart and rotate by
      the angle between the two pair vectors; the handedness is the least-squares fit's.
    * ``"combinations"`` — the same target, with eq. 22's transform computed for *every* pair
      of shared sensors and the transformed positions averaged over all pairs (the paper:
      "more computationally intensive, but ... higher precision"), **[choice]** each pair
      weighted by its squared length, as a pair's angle error shrinks with its length;
      unweighted, near pairs swamp the average. Cost ``O(shared²)`` per iteration.
    * ``"mean"`` — onto the running mean position of each shared sensor (the cluster centres
      so far), by the least-squares rigid fit (orthogonal Procrustes, no scaling) on all shared
      sensors. **[choice]** The running mean is updated once per origin: the iterations of one
      origin are aligned together (vectorised) onto the centres left by the previous origins.

    Which previous iteration is ``M_t`` (``chain_target``, chained variants only) **[choice]**.
    The paper aligns "the next matrix" onto "the previous matrix" and leaves open which one.
    ``"latest"`` takes the latest aligned iteration (within 64) that shares three anchors: a
    chain as long as the number of iterations (about 330 hops for 20 APs), along which each
    alignment inherits the errors of its target — a random walk of rotation and translation
    errors, plus every gross error (a sensor placed on the wrong side of the axis, a bad
    pair) passed down the chain. Measured (20 APs in 50 m × 50 m, 0.5 m noise, 10 % missing,
    5 layouts, no pruning), the error of an aligned iteration grows with its number of hops
    from the first frame: ``"sequential"`` 5.6 m at 1 hop, 26 m at 16–31, 240 m at 256 and
    more. With the defaults otherwise, RMSE 9.3 m (``"sequential"``) and 1.45 m
    (``"combinations"``) against 0.41 m for ``"mean"``. ``"reference"`` (default) re-anchors:
    the target is the aligned iteration with the fewest hops from the first frame (ties: the
    latest) that shares three anchors not on one line — almost always the first iteration
    itself, so no chain forms (at most 1–2 hops): RMSE 0.65 m (``"sequential"``) and 0.55 m
    (``"combinations"``) on the same layouts; 0.23 / 0.27 m against 21.6 / 12.0 m for 100
    APs. The chapter repeats this experiment on the simulated FTM networks.

    **[choice]** ``"mean"`` is the default: it has no chain at all, it uses every shared
    sensor, and it was the most accurate in our tests. With ``chain_target="latest"`` (the
    chain this module had first), RMSE with 1 m range noise and 20 % missing pairs, 50 m × 50
    m, for 10 / 30 / 100 APs: ``"mean"`` 1.06 / 0.78 / 0.36 m, ``"combinations"`` 2.3 / 6.2 /
    15.6 m, ``"sequential"`` 5.9 / 16.2 / 41 m. All three recover exact configurations to
    rounding.

Clusters and poor anchors (Fig. 6)
    A sensor's cluster is every position computed for it (as a placed sensor or as a pivot) by
    the aligned iterations; its estimate is the cluster centre (mean), its radius ``r_i`` the
    mean distance of the cluster's points to the centre. 2σ rule: a sensor with
    ``r_i > mean(r) + 2·std(r)`` (over all sensors with a cluster, population std) is a poor
    anchor. **[choice]** A radius below ``1e-9`` × the median range is never flagged (exact
    ranges: the 2σ rule would only rank rounding errors). With ``prune``, the iterations that
    used a poor anchor as a pivot (``p0`` or ``p_t``) are dropped and — **[choice]**, the
    paper's "discard all distances that were computed using poor anchors" — poor anchors are
    no longer sign references or alignment anchors; everything is recomputed, and repeated
    until no new poor anchor appears, at most ``max_prune_rounds`` times (the 2σ statistics
    are taken over all sensors each round). Poor anchors are still placed (their estimate is
    needed). The paper's optional removal of single outlying positions within a cluster is
    not implemented.

Only 2-D. Input: a distance matrix in metres, NaN = missing; an asymmetric FTM matrix is first
symmetrised by ``min`` (the best range) unless ``symmetrise=None``, which requires a symmetric
input. Used by the chapter ``notebooks/ftm.py`` (Figs. 5/6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .core import SYMMETRISE_HOWS, check_distance_matrix, check_int
from .core import symmetrise as _symmetrise  # iag_resolve's keyword shadows the name

__all__ = [
    "CHAIN_TARGETS",
    "MIN_SPREAD",
    "N_REFS",
    "VARIANTS",
    "IAGIteration",
    "IAGResult",
    "iag_resolve",
]

VARIANTS: tuple[str, ...] = ("mean", "combinations", "sequential")
#: chained variants: the previous iteration each one is aligned onto (see the module docstring)
CHAIN_TARGETS: tuple[str, ...] = ("reference", "latest")
N_REFS = 5  # sign references per iteration
MIN_SPREAD = 1e-3  # anchors' minor/major spread ratio below this: on one line, no alignment
_AXIS_EPS = 1e-9  # |y| below this × d_0t: on the axis, the side does not matter
_CHAIN_LOOKBACK = 64  # chained variants: how far back to look for a target iteration
_RADIUS_FLOOR = 1e-9  # × median range: tighter clusters are exact; 2σ there flags rounding


@dataclass(frozen=True)
class IAGIteration:
    """One iteration: pivots ``origin`` (at 0, 0) and ``pivot`` (on +x), the sensors it placed
    (``points``, ``(m,)``), their ``local`` coordinates ``(m, 2)`` (Fig. 5) and, if it could
    be aligned, their coordinates in the common frame ``aligned`` ``(m, 2)`` (Fig. 6).
    ``hops``: alignments between it and the first frame (0: the first iteration; 1: aligned
    onto it or, for ``"mean"``, onto the cluster centres; -1: not aligned)."""

    origin: int
    pivot: int
    points: np.ndarray
    local: np.ndarray
    aligned: np.ndarray | None
    hops: int = -1


@dataclass(frozen=True)
class IAGResult:
    """Output of :func:`iag_resolve`.

    ``X`` ``(n, 2)``: cluster centres in the first iteration's frame (NaN: never placed).
    ``clusters``: per sensor, its computed positions ``(m_i, 2)``. ``radii`` ``(n,)``: mean
    distance to the centre (NaN without a cluster). ``poor_anchors``: sensors flagged by the
    2σ rule, in the order found (round by round, widest cluster first); ``pruned``: those whose
    iterations were dropped from the final computation (all of ``poor_anchors`` except, with
    ``prune=False`` or when ``max_prune_rounds`` ran out, the last round's). ``iterations``: the last round's iterations (at most
    ``max_kept_iterations``), in processing order. ``n_aligned`` / ``n_iterations``:
    iterations aligned / attempted in the last round. ``rounds``: radii and threshold per
    round (round 0 is before any pruning).
    """

    X: np.ndarray
    clusters: list[np.ndarray]
    radii: np.ndarray
    poor_anchors: list[int]
    pruned: list[int]
    iterations: list[IAGIteration]
    variant: str
    chain_target: str
    n_aligned: int
    n_iterations: int
    rounds: list[dict]


# --------------------------------------------------------------------------------------------
# Placement of one origin's iterations, vectorised over its pivots and all sensors


def _place_origin(
    S: np.ndarray, M: np.ndarray, o: int, pivots: np.ndarray, poor: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Local coordinates ``(T, n, 2)`` and placed mask ``(T, n)`` of the iterations ``(o, t)``."""
    n = S.shape[0]
    T = pivots.size
    Mp = M | np.eye(n, dtype=bool)  # a pivot is "measured" to itself (distance 0)
    placed = Mp[o][None, :] & Mp[pivots]
    d0 = np.where(Mp[o], S[o], 0.0)[None, :]
    dt = np.where(Mp[pivots], S[pivots], 0.0)
    d0t = S[o, pivots][:, None]
    x = (d0 * d0 - dt * dt + d0t * d0t) / (2.0 * d0t)
    yabs = np.sqrt(np.maximum(d0 * d0 - x * x, 0.0))
    yabs[:, o] = 0.0
    yabs[np.arange(T), pivots] = 0.0
    yabs = np.where(placed, yabs, 0.0)
    on_axis = yabs <= _AXIS_EPS * d0t

    # references: placed, off the axis, not poor; farthest from the axis first
    score = np.where(placed & ~on_axis & ~poor[None, :], yabs, -1.0)
    K = min(N_REFS, n)
    rows = np.arange(T)[:, None]
    refs = np.argpartition(-score, K - 1, axis=1)[:, :K] if K < n else np.argsort(-score, axis=1)
    refs = np.take_along_axis(refs, np.argsort(-score[rows, refs], axis=1, kind="stable"), 1)
    ref_ok = score[rows, refs] > 0
    sign = np.ones((T, n))
    resolved = np.zeros((T, K), dtype=bool)
    resolved[:, 0] = ref_ok[:, 0]
    xr = x[rows, refs]  # (T, K)
    yr_abs = yabs[rows, refs]
    Dr = S[refs]  # (T, K, n): ranges from each reference to every sensor
    Mr = M[refs]

    def side_costs(xj, yj, dj, mj, use):
        """Least-squares misfit of sensors above / below the axis against the resolved refs.

        ``xj, yj`` ``(T, 1, m)``, their ranges to the refs ``dj`` and measured mask ``mj``
        ``(T, K, m)``, ``use`` ``(T, K)``: the refs resolved so far.
        """
        yr = (yr_abs * sign[rows, refs])[:, :, None]
        w = mj & use[:, :, None]
        dj = np.where(w, dj, 0.0)
        base = (xj - xr[:, :, None]) ** 2 + yj * yj + yr * yr
        cross = 2.0 * yj * yr
        up = np.where(w, (np.sqrt(np.maximum(base - cross, 0.0)) - dj) ** 2, 0.0).sum(1)
        down = np.where(w, (np.sqrt(base + cross) - dj) ** 2, 0.0).sum(1)
        return up, down, w.any(1)

    for k in range(1, K):  # each reference against the references resolved before it
        col = refs[:, k]
        use = resolved.copy()
        use[:, k:] = False
        up, down, known = side_costs(
            xr[:, k, None, None],
            yr_abs[:, k, None, None],
            np.take_along_axis(Dr, col[:, None, None], 2),
            np.take_along_axis(Mr, col[:, None, None], 2),
            use,
        )
        s = np.where(down[:, 0] < up[:, 0], -1.0, 1.0)
        ok = ref_ok[:, k] & known[:, 0]
        sign[np.arange(T)[ok], col[ok]] = s[ok]
        resolved[:, k] = ok
    up, down, known = side_costs(x[:, None, :], yabs[:, None, :], Dr, Mr, resolved)
    is_ref = np.zeros((T, n), dtype=bool)
    is_ref[rows, refs] = resolved
    sign = np.where(is_ref, sign, np.where(down < up, -1.0, 1.0))
    placed &= on_axis | known | is_ref  # side unknown: leave it out of this iteration
    P = np.stack([x, sign * yabs], axis=-1)
    P[~placed] = np.nan
    return P, placed


# --------------------------------------------------------------------------------------------
# Rigid fits (2-D, closed form)


def _procrustes(
    P: np.ndarray, Q: np.ndarray, W: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Least-squares rigid motions (rotation or reflection, no scale) of ``P`` onto ``Q``.

    ``P`` ``(B, n, 2)``, ``Q`` ``(n, 2)`` or ``(B, n, 2)``, anchors ``W`` ``(B, n)``. Returns
    ``(R (B, 2, 2), t (B, 2), ok (B,))`` with ``P @ R + t ≈ Q`` on the anchors; ``ok`` is False
    with fewer than three anchors or anchors on one line (``MIN_SPREAD``: the reflection is
    then undetermined). In 2-D the orthogonal Procrustes problem has a closed form: the best
    rotation of ``P`` (or of its mirror image) has angle ``atan2(Σ p×q, Σ p·q)`` on centred
    anchors, and the one with the larger ``|(Σ p·q, Σ p×q)|`` fits better.
    """
    Wf = W[..., None]
    cnt = W.sum(1)
    safe = np.maximum(cnt, 1)[:, None]
    P0 = np.where(Wf, P, 0.0)
    Q0 = np.where(Wf, Q, 0.0)
    Pc = np.where(Wf, P0 - (P0.sum(1) / safe)[:, None, :], 0.0)
    Qc = np.where(Wf, Q0 - (Q0.sum(1) / safe)[:, None, :], 0.0)
    sxx = (Pc[..., 0] * Qc[..., 0]).sum(1)
    syy = (Pc[..., 1] * Qc[..., 1]).sum(1)
    sxy = (Pc[..., 0] * Qc[..., 1]).sum(1)
    syx = (Pc[..., 1] * Qc[..., 0]).sum(1)
    dot, cross = sxx + syy, sxy - syx  # proper rotation of P
    dot_m, cross_m = sxx - syy, sxy + syx  # rotation of P's mirror image (y -> -y)
    flip = np.hypot(dot_m, cross_m) > np.hypot(dot, cross)
    theta = np.where(flip, np.arctan2(cross_m, dot_m), np.arctan2(cross, dot))
    R = _rotation(theta)
    R[flip] = np.array([[1.0, 0.0], [0.0, -1.0]]) @ R[flip]
    muP = P0.sum(1) / safe
    muQ = Q0.sum(1) / safe
    t = muQ - (muP[:, :, None] * R).sum(1)
    # spread of the anchors along their two principal axes (eigenvalues of the 2x2 scatter)
    a = (Pc[..., 0] ** 2).sum(1)
    c = (Pc[..., 1] ** 2).sum(1)
    b = (Pc[..., 0] * Pc[..., 1]).sum(1)
    half_tr, det = 0.5 * (a + c), a * c - b * b
    root = np.sqrt(np.maximum(half_tr * half_tr - det, 0.0))
    lam_max, lam_min = half_tr + root, half_tr - root
    ok = (cnt >= 3) & (lam_max > 0) & (lam_min > MIN_SPREAD**2 * lam_max)
    return R, t, ok


def _apply(P: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``P @ R + t`` for ``P`` ``(B, n, 2)``, ``R`` ``(B, 2, 2)``, ``t`` ``(B, 2)``, spelled out
    (einsum is several times slower on 2x2 blocks)."""
    x, y = P[..., 0], P[..., 1]
    out = np.empty_like(P)
    out[..., 0] = x * R[:, None, 0, 0] + y * R[:, None, 1, 0] + t[:, None, 0]
    out[..., 1] = x * R[:, None, 0, 1] + y * R[:, None, 1, 1] + t[:, None, 1]
    return out


def _rotation(theta: np.ndarray) -> np.ndarray:
    """Row-vector rotation matrices ``(…, 2, 2)``: ``p @ R`` turns ``p`` by ``theta``."""
    c, s = np.cos(theta), np.sin(theta)
    return np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], -2)


# --------------------------------------------------------------------------------------------
# Alignment variants


def _align_mean(
    batches: list[tuple[np.ndarray, np.ndarray]], n: int, anchor_ok: np.ndarray
) -> list[np.ndarray]:
    """``"mean"``: each origin's iterations onto the running cluster centres, by Procrustes.

    ``batches``: per origin, ``(P (T, n, 2), placed (T, n))``. Returns per batch the aligned
    coordinates ``(T, n, 2)`` (NaN rows for unaligned iterations or unplaced sensors).
    """
    total = np.zeros((n, 2))
    count = np.zeros(n)
    out = [np.full_like(P, np.nan) for P, _ in batches]
    done = [np.zeros(P.shape[0], dtype=bool) for P, _ in batches]
    starts = [
        (b, int(np.argmax(pl.sum(1) >= 3)))
        for b, (_, pl) in enumerate(batches)
        if (pl.sum(1) >= 3).any()
    ]
    if not starts:
        return out
    b0, t0 = starts[0]  # the first iteration with three sensors defines the frame
    P0, pl0 = batches[b0]
    out[b0][t0] = P0[t0]
    done[b0][t0] = True
    total[pl0[t0]] += P0[t0][pl0[t0]]
    count[pl0[t0]] += 1
    progress = True
    while progress:  # a further sweep picks up iterations that lacked anchors before
        progress = False
        for b, (P, placed) in enumerate(batches):
            todo = np.flatnonzero(~done[b])
            if todo.size == 0:
                continue
            centre = total / np.maximum(count, 1)[:, None]
            W = placed[todo] & (count > 0)[None, :] & anchor_ok[None, :]
            R, t, ok = _procrustes(P[todo], centre, W)
            if not ok.any():
                continue
            rows = todo[ok]
            A = _apply(P[rows], R[ok], t[ok])
            out[b][rows] = A  # unplaced sensors are NaN in P, hence in A
            done[b][rows] = True
            m = placed[rows]
            total += np.where(m[..., None], A, 0.0).sum(0)
            count += m.sum(0)
            progress = True
    return out


def _align_chain(
    batches: list[tuple[np.ndarray, np.ndarray]],
    n: int,
    anchor_ok: np.ndarray,
    combinations: bool,
    target: str = "reference",
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``"sequential"`` / ``"combinations"``: each iteration onto a previously aligned one.

    ``target="reference"``: the aligned iteration with the fewest alignment hops from the first
    frame (ties: the latest) sharing three anchors not on one line; ``"latest"``: the latest
    one (within ``_CHAIN_LOOKBACK``) that does. The handedness is the least-squares fit's.
    ``"sequential"`` applies eq. 22 to the shared pair farthest apart; ``"combinations"``
    averages eq. 22 over every shared pair, each weighted by its squared length
    (**[choice]**: a pair's angle error shrinks with its length; unweighted, near pairs swamp
    the average). Returns the aligned coordinates per batch and, per batch, each iteration's
    number of hops from the first frame (0 for the first, -1 if it was not aligned).
    """
    out = [np.full_like(P, np.nan) for P, _ in batches]
    hops_out = [np.full(P.shape[0], -1, dtype=np.int64) for P, _ in batches]
    total = sum(P.shape[0] for P, _ in batches)
    coords: list[np.ndarray] = []  # aligned iterations: coordinates (n, 2)
    masks = np.zeros((total, n), dtype=np.int8)  # their anchor masks
    hops = np.zeros(total, dtype=np.int64)
    mirror = np.array([[1.0, 0.0], [0.0, -1.0]])

    def fits(k: int, P: np.ndarray, mine: np.ndarray):
        common = mine & masks[k].astype(bool)
        if common.sum() < 3:
            return None
        R_ls, _, ok = _procrustes(P[None], coords[k], common[None])
        return (common, R_ls) if ok[0] else None

    for b, (Pb, placedb) in enumerate(batches):
        for t in range(Pb.shape[0]):
            P, placed = Pb[t], placedb[t]
            mine = placed & anchor_ok
            if not coords:
                if placed.sum() >= 3:
                    out[b][t] = P
                    hops_out[b][t] = 0
                    masks[0] = mine
                    coords.append(P)
                continue
            m = len(coords)
            if target == "latest":
                order = range(m - 1, max(-1, m - 1 - _CHAIN_LOOKBACK), -1)
            else:  # the first frame itself, else fewest hops first, then the latest
                first = fits(0, P, mine)
                if first is None:
                    shared = masks[:m] @ mine.astype(np.int64)
                    cand = np.flatnonzero(shared >= 3)
                    order = cand[np.lexsort((-cand, hops[cand]))]
                else:
                    order = [0]
            found = None
            for k in order:
                found = fits(int(k), P, mine)
                if found is not None:
                    break
            if found is None:
                continue
            common, R_ls = found
            A_prev = coords[k]
            F = mirror if np.linalg.det(R_ls[0]) < 0 else np.eye(2)
            idx = np.flatnonzero(common)
            Pa, Qa = P[idx] @ F, A_prev[idx]
            if combinations:
                i, j = np.triu_indices(idx.size, 1)
            else:  # the shared pair farthest apart: the best-conditioned angle
                d = ((Qa[:, None, :] - Qa[None, :, :]) ** 2).sum(-1)
                i, j = (np.atleast_1d(v) for v in np.unravel_index(np.argmax(d), d.shape))
            vp, vq = Pa[j] - Pa[i], Qa[j] - Qa[i]
            w = (vq**2).sum(1)
            w = w / w.sum()
            theta = np.arctan2(vq[:, 1], vq[:, 0]) - np.arctan2(vp[:, 1], vp[:, 0])
            R = _rotation(theta)  # (pairs, 2, 2)
            # weighted mean over pairs of p ↦ (p F − P_i F) R + Q_i (linear in the pair's terms)
            R_bar = np.einsum("p,pij->ij", w, R)
            shift = w @ Qa[i] - np.einsum("p,pi,pij->j", w, Pa[i], R)
            X = (P @ F) @ R_bar + shift
            out[b][t] = X  # unplaced sensors stay NaN
            hops_out[b][t] = hops[k] + 1
            masks[m] = mine
            hops[m] = hops[k] + 1
            coords.append(X)
    return out, hops_out


# --------------------------------------------------------------------------------------------
# Public API



def _origins(M: np.ndarray, n_origins: int | None, seed: int) -> np.ndarray:
    """Sensors used as origin pivot: the best connected first (ties: seeded shuffle)."""
    n = M.shape[0]
    shuffle = np.random.default_rng(seed).permutation(n)
    degree = M.sum(1)
    order = shuffle[np.lexsort((np.arange(n)[shuffle], -degree[shuffle]))]
    # without a cap, every sensor in index order after the best connected first one
    if n_origins is None or n_origins >= n:
        return np.concatenate([[order[0]], np.setdiff1d(np.arange(n), [order[0]])])
    return order[:n_origins]


def iag_resolve(
    D: np.ndarray,
    *,
    dim: int = 2,
    variant: str = "mean",
    chain_target: str = "reference",
    n_origins: int | None = None,
    prune: bool = True,
    max_prune_rounds: int = 3,
    symmetrise: str | None = "min",
    max_kept_iterations: int | None = 2000,
    seed: int = 0,
) -> IAGResult:
    """Paper B's iterative algebro-geometric EDM resolution (Algorithm 2), in 2-D.

    ``variant``: ``"mean"`` (default), ``"combinations"`` or ``"sequential"`` — how each
    iteration is brought into the common frame. ``chain_target``: ``"reference"`` (default) or
    ``"latest"``, the previous iteration a chained variant aligns onto. ``n_origins``: how many sensors serve as
    origin pivot (None = all; the best connected first). ``prune``: apply the 2σ rule and
    drop the iterations anchored by poor anchors, at most ``max_prune_rounds`` times.
    ``symmetrise``: how an asymmetric ``D`` is made symmetric, None to require a symmetric
    ``D``. ``max_kept_iterations``: how many iterations to return (memory; None = all).
    ``seed``: breaks ties in the choice of origins. See the module docstring.
    """
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool) or dim != 2:
        raise ValueError(f"dim={dim!r} is not supported; allowed: dim=2 (the method is planar)")
    if variant not in VARIANTS:
        raise ValueError(f"variant={variant!r} is not allowed; allowed: {', '.join(VARIANTS)}")
    if chain_target not in CHAIN_TARGETS:
        raise ValueError(
            f"chain_target={chain_target!r} is not allowed; allowed: {', '.join(CHAIN_TARGETS)}"
        )
    n_origins = check_int("n_origins", n_origins, minimum=1, allow_none=True)
    max_prune_rounds = check_int("max_prune_rounds", max_prune_rounds, minimum=0)
    keep = check_int("max_kept_iterations", max_kept_iterations, minimum=0, allow_none=True)
    seed = check_int("seed", seed, minimum=0)
    if not isinstance(prune, (bool, np.bool_)):
        raise ValueError(f"prune={prune!r} is not allowed; allowed: True or False")  # noqa: TRY004
    if symmetrise is not None and symmetrise not in SYMMETRISE_HOWS:
        raise ValueError(
            f"symmetrise={symmetrise!r} is not allowed; allowed: {', '.join(SYMMETRISE_HOWS)} "
            "or None"
        )
    A = check_distance_matrix(
        D, name="D", symmetric=symmetrise is None, allow_missing=True, min_points=3
    )
    S = A if symmetrise is None else _symmetrise(A, symmetrise)  # type: ignore[arg-type]
    n = S.shape[0]
    M = ~np.isnan(S)
    np.fill_diagonal(M, False)
    origins = _origins(M, n_origins, seed)
    floor = _RADIUS_FLOOR * (float(np.median(S[M])) if M.any() else 1.0)

    poor = np.zeros(n, dtype=bool)
    poor_list: list[int] = []
    rounds: list[dict] = []
    for rnd in range(max_prune_rounds + 1):
        batches, pivots_of = [], []
        for o in origins:
            if poor[o]:
                continue
            piv = np.flatnonzero(M[o] & (np.nan_to_num(S[o]) > 0) & ~poor)
            if piv.size == 0:
                continue
            batches.append(_place_origin(S, M, int(o), piv, poor))
            pivots_of.append((int(o), piv))
        if variant == "mean":
            aligned = _align_mean(batches, n, ~poor)
            hops = [np.where((~np.isnan(A_[:, :, 0])).any(1), 1, -1) for A_ in aligned]
            if hops:  # the first aligned iteration defines the frame: 0 hops
                first = next((b for b, h in enumerate(hops) if (h >= 0).any()), None)
                if first is not None:
                    hops[first][np.argmax(hops[first] >= 0)] = 0
        else:
            aligned, hops = _align_chain(batches, n, ~poor, variant == "combinations",
                                         chain_target)
        X, clusters, radii = _clusters(aligned, n)
        fin = ~np.isnan(radii)
        thr = float(radii[fin].mean() + 2.0 * radii[fin].std()) if fin.any() else math.nan
        new = np.flatnonzero(fin & (radii > thr) & (radii > floor) & ~poor)
        new = new[np.argsort(-radii[new], kind="stable")]  # the widest cluster first
        rounds.append({"round": rnd, "radii": radii, "threshold": thr, "new_poor": new.tolist()})
        poor_list += [int(v) for v in new]
        if not prune or new.size == 0 or rnd == max_prune_rounds:
            break  # flagged now but not pruned: reported in poor_anchors only
        poor[new] = True

    iterations: list[IAGIteration] = []
    n_it = sum(P.shape[0] for P, _ in batches)
    n_al = int(sum((~np.isnan(A_[:, :, 0])).any(1).sum() for A_ in aligned))
    for (o, piv), (P, placed), A_, H in zip(pivots_of, batches, aligned, hops):
        for t in range(P.shape[0]):
            if keep is not None and len(iterations) >= keep:
                break
            idx = np.flatnonzero(placed[t])
            al = A_[t, idx]
            iterations.append(
                IAGIteration(
                    origin=o,
                    pivot=int(piv[t]),
                    points=idx,
                    local=P[t, idx],
                    aligned=None if np.isnan(al).all() else al,
                    hops=int(H[t]),
                )
            )
    return IAGResult(
        X=X,
        clusters=clusters,
        radii=radii,
        poor_anchors=poor_list,
        pruned=[int(v) for v in np.flatnonzero(poor)],
        iterations=iterations,
        variant=variant,
        chain_target=chain_target,
        n_aligned=n_al,
        n_iterations=n_it,
        rounds=rounds,
    )


def _clusters(aligned: list[np.ndarray], n: int) -> tuple[np.ndarray, list[np.ndarray], np.ndarray]:
    """Cluster per sensor, centres ``(n, 2)`` and mean radii ``(n,)`` (NaN where none)."""
    if aligned:
        A = np.concatenate(aligned, axis=0)  # (I, n, 2)
    else:
        A = np.full((0, n, 2), np.nan)
    ok = ~np.isnan(A[:, :, 0])
    clusters = [A[ok[:, i], i] for i in range(n)]
    X = np.full((n, 2), np.nan)
    radii = np.full(n, np.nan)
    for i, C in enumerate(clusters):
        if C.shape[0]:
            X[i] = C.mean(0)
            radii[i] = float(np.linalg.norm(C - X[i], axis=1).mean())
    return X, clusters, radii
