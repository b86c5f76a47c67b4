"""FTM (IEEE 802.11mc round-trip-time) ranging between fixed nodes, through walls (paper B).

Paper B ranges between fixed APs and models a measured distance as the true one stretched by a
dilation factor ``k``: near 1 in line of sight (LoS), larger across obstacles, and different from
pair to pair ("asymmetry", its Fig. 1), which is what its Wall Remover undoes. This module
simulates such a network on a floor plan of straight wall segments:

``d_meas = d_true · k + w · wall_bias + bias_los + noise``,  ``k = k_los + k_per_wall · w``,

where ``w`` is the number of walls the straight path crosses. Each pair is ranged in a burst of
``best_of`` exchanges and, as in the paper, the smallest is kept. Pairs farther than
``max_range`` or behind more than ``max_walls`` walls are not measured (NaN). Every parameter
can be fitted to real phone↔AP RTT data with :mod:`ipsbook.radio.ftm_fit`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields

import numpy as np

__all__ = [
    "MIN_RANGE",
    "FTMModel",
    "FTMRanges",
    "FloorPlan",
    "pairwise_walls",
    "random_aps",
    "random_floor_plan",
    "simulate_ranges",
    "walls_crossed",
]

# Simulated ranges are clipped here. Positive rather than 0 because a 0 between two distinct
# nodes reads as "same node" to EDM code (and would clash with the zero diagonal); 5 cm is
# below anything FTM resolves, so the clip only touches pairs a few cm apart or huge negative
# noise draws. (Real phone APIs do return negative ranges; the loaders keep those as they are.)
MIN_RANGE = 0.05

# Two vectors whose cross product is below this fraction of the product of their lengths are
# treated as collinear: exact for the round numbers of hand-made tests, scale-free otherwise.
_COLLINEAR_RTOL = 1e-12
_CHUNK = 1 << 20  # max pairs × walls evaluated at once, to bound memory on large networks


def _finite(name: str, value: object, *, low: float | None = None, strict: bool = False) -> float:
    """``value`` as a float, with an error naming ``name`` unless finite and above ``low``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if strict else value >= low
    if not ok:
        need = "a finite number" + ("" if low is None else f" {'>' if strict else '>='} {low:g}")
        raise ValueError(f"{name}={value!r} is not valid; allowed: {need}")
    return float(value)


def _count(name: str, value: object, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{name}={value!r} is not valid; allowed: an integer >= {low}")
    return int(value)


# --- floor plans -------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FloorPlan:
    """A ``width × height`` m floor (origin at a corner) with wall segments ``walls``, an
    ``(m, 2, 2)`` array: ``walls[w] = [[x0, y0], [x1, y1]]`` in metres."""

    width: float
    height: float
    walls: np.ndarray

    def __post_init__(self) -> None:
        _finite("width", self.width, low=0.0, strict=True)
        _finite("height", self.height, low=0.0, strict=True)
        walls = np.asarray(self.walls, dtype=float)
        if walls.size == 0:
            walls = walls.reshape(0, 2, 2)
        if walls.ndim != 3 or walls.shape[1:] != (2, 2):
            raise ValueError(
                f"walls has shape {walls.shape}; allowed: (m, 2, 2), one [[x0, y0], [x1, y1]] "
                "segment per wall"
            )
        if not np.all(np.isfinite(walls)):
            raise ValueError("walls contains NaN or infinite coordinates; allowed: finite metres")
        walls.setflags(write=False)
        object.__setattr__(self, "walls", walls)

    @property
    def n_walls(self) -> int:
        return len(self.walls)


def random_floor_plan(
    rng: np.random.Generator,
    width: float = 50.0,
    height: float = 50.0,
    n_walls: int = 10,
    min_len: float = 3.0,
    max_len: float = 15.0,
) -> FloorPlan:
    """``n_walls`` random axis-aligned interior walls (as offices have) on a ``width × height``
    floor: orientation 50/50, length uniform in ``[min_len, max_len]`` (capped by the floor's
    side), position uniform such that the wall lies inside the floor."""
    width = _finite("width", width, low=0.0, strict=True)
    height = _finite("height", height, low=0.0, strict=True)
    n_walls = _count("n_walls", n_walls)
    min_len = _finite("min_len", min_len, low=0.0, strict=True)
    max_len = _finite("max_len", max_len, low=0.0, strict=True)
    if max_len < min_len:
        raise ValueError(f"max_len={max_len!r} is not valid; allowed: >= min_len={min_len!r}")
    horizontal = rng.random(n_walls) < 0.5
    length = rng.uniform(min_len, max_len, n_walls)
    side_along = np.where(horizontal, width, height)
    side_across = np.where(horizontal, height, width)
    length = np.minimum(length, side_along)
    start = rng.random(n_walls) * (side_along - length)
    across = rng.random(n_walls) * side_across
    # (along, across) -> (x, y): horizontal walls run along x
    a0, a1 = start, start + length
    x0 = np.where(horizontal, a0, across)
    x1 = np.where(horizontal, a1, across)
    y0 = np.where(horizontal, across, a0)
    y1 = np.where(horizontal, across, a1)
    walls = np.stack([np.column_stack([x0, y0]), np.column_stack([x1, y1])], axis=1)
    return FloorPlan(width, height, walls)


def random_aps(
    rng: np.random.Generator, plan: FloorPlan, n: int, min_separation: float = 1.0
) -> np.ndarray:
    """``(n, 2)`` AP positions uniform over ``plan``, at least ``min_separation`` m apart
    (sequential rejection sampling; ValueError when the floor cannot hold them)."""
    n = _count("n", n)
    min_sep = _finite("min_separation", min_separation, low=0.0)
    size = np.array([plan.width, plan.height])
    out = np.empty((n, 2))
    placed, tries, max_tries = 0, 0, 1000 * max(n, 1)
    while placed < n:
        batch = rng.random((256, 2)) * size
        for p in batch:
            tries += 1
            if placed == 0 or np.min(np.hypot(*(out[:placed] - p).T)) >= min_sep:
                out[placed] = p
                placed += 1
                if placed == n:
                    break
        if placed < n and tries >= max_tries:
            raise ValueError(
                f"min_separation={min_sep!r} m is too large to place n={n} APs on a "
                f"{plan.width:g} × {plan.height:g} m floor (placed {placed} in {tries} tries); "
                "allowed: a smaller separation or fewer APs"
            )
    return out


# --- wall crossings ----------------------------------------------------------------------------


def _sign(cross: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Sign of an orientation test, 0 when (numerically) collinear."""
    return np.where(np.abs(cross) <= _COLLINEAR_RTOL * scale, 0.0, np.sign(cross))


def _crossings(walls: np.ndarray, P: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(hit, t)``, both ``(k, m)``: whether segment ``P_i→Q_i`` crosses wall ``w``, and where
    (fraction of the way from ``P_i``; NaN where not crossed).

    Convention (what "crosses" means at the edges): ``P`` and ``Q`` must lie *strictly* on
    opposite sides of the wall's line, and the wall's *closed* segment must meet the line PQ.
    So a node standing on a wall (AP mounted on it) is not behind it, a path running along a
    wall is not blocked by it, and a path through a wall's end point counts (it grazes the
    wall's edge). Symmetric in ``P``/``Q`` by construction.
    """
    A, B = walls[:, 0], walls[:, 1]  # (m, 2)
    d = (Q - P)[:, None, :]  # (k, 1, 2)
    e = (B - A)[None, :, :]  # (1, m, 2)

    def cross(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        c = u[..., 0] * v[..., 1] - u[..., 1] * v[..., 0]
        return c, np.hypot(*np.moveaxis(u, -1, 0)) * np.hypot(*np.moveaxis(v, -1, 0))

    Pk, Qk = P[:, None, :], Q[:, None, :]
    Am, Bm = A[None], B[None]
    s_pq_a = _sign(*cross(d, Am - Pk))
    s_pq_b = _sign(*cross(d, Bm - Pk))
    c_ab_p, n_ab_p = cross(e, Pk - Am)
    c_ab_q, n_ab_q = cross(e, Qk - Am)
    s_ab_p, s_ab_q = _sign(c_ab_p, n_ab_p), _sign(c_ab_q, n_ab_q)
    hit = (s_ab_p * s_ab_q < 0) & (s_pq_a * s_pq_b <= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # signed distances of P and Q to the wall's line are proportional to c_ab_p, c_ab_q
        t = np.where(hit, c_ab_p / (c_ab_p - c_ab_q), np.nan)
    return hit, t


def _as_points(name: str, a: object) -> np.ndarray:
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 0 or arr.shape[-1] != 2:
        raise ValueError(f"{name} has shape {arr.shape}; allowed: (..., 2) points in metres")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite coordinates; allowed: finite metres")
    return arr


def _chunked(plan: FloorPlan, P: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_crossings` over ``(k, 2)`` endpoints in chunks of bounded memory."""
    k, m = len(P), plan.n_walls
    if m == 0 or k == 0:
        return np.zeros((k, m), bool), np.full((k, m), np.nan)
    # Evaluate every segment from its lexicographically smaller end: the orientation tests of
    # P→Q and Q→P agree in exact arithmetic only, and this makes the count exactly symmetric
    # even for nearly collinear configurations.
    swap = (P[:, 0] > Q[:, 0]) | ((P[:, 0] == Q[:, 0]) & (P[:, 1] > Q[:, 1]))
    P, Q = np.where(swap[:, None], Q, P), np.where(swap[:, None], P, Q)
    step = max(1, _CHUNK // m)
    parts = [_crossings(plan.walls, P[s : s + step], Q[s : s + step]) for s in range(0, k, step)]
    hit, t = np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    return hit, np.where(swap[:, None], 1.0 - t, t)  # t measured from the caller's P


def walls_crossed(plan: FloorPlan, P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Number of walls of ``plan`` each segment ``P_i→Q_i`` crosses (``P``, ``Q``: ``(..., 2)``,
    broadcast together; result ``int`` with their common leading shape).

    A wall counts when ``P`` and ``Q`` are strictly on opposite sides of its line and the
    wall's closed segment meets the segment: end points *on* a wall and paths running *along*
    a wall do not count, a path through a wall's end point does. Symmetric in ``P``/``Q``.
    """
    P, Q = np.broadcast_arrays(_as_points("P", P), _as_points("Q", Q))
    lead = P.shape[:-1]
    hit, _ = _chunked(plan, P.reshape(-1, 2), Q.reshape(-1, 2))
    return hit.sum(axis=1).astype(np.int64).reshape(lead)


def _check_nodes(X: object) -> np.ndarray:
    X = _as_points("X", X)
    if X.ndim != 2:
        raise ValueError(f"X has shape {X.shape}; allowed: (n, 2) node positions in metres")
    return X


def pairwise_walls(plan: FloorPlan, X: np.ndarray) -> np.ndarray:
    """``(n, n)`` symmetric ``int`` matrix: walls crossed between every pair of nodes ``X``."""
    X = _check_nodes(X)
    n = len(X)
    i, j = np.triu_indices(n, 1)
    out = np.zeros((n, n), dtype=np.int64)
    out[i, j] = walls_crossed(plan, X[i], X[j])
    out[j, i] = out[i, j]
    return out


def _near_end_walls(
    plan: FloorPlan, X: np.ndarray, near_end: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(walls, near)``: wall counts and ``near[i, j]`` = walls crossed within ``near_end`` m
    of node ``i`` but not of node ``j`` (used by the asymmetric model)."""
    n = len(X)
    i, j = np.triu_indices(n, 1)
    hit, t = _chunked(plan, X[i], X[j])
    d = np.hypot(*(X[j] - X[i]).T)[:, None]
    close_i = hit & (t * d < near_end)
    close_j = hit & ((1 - t) * d < near_end)
    walls = np.zeros((n, n), dtype=np.int64)
    near = np.zeros((n, n), dtype=np.int64)
    walls[i, j] = walls[j, i] = hit.sum(axis=1)
    near[i, j] = (close_i & ~close_j).sum(axis=1)
    near[j, i] = (close_j & ~close_i).sum(axis=1)
    return walls, near


# --- the ranging model -------------------------------------------------------------------------


@dataclass(frozen=True)
class FTMModel:
    """Parameters of the FTM ranging simulator (metres; see :func:`simulate_ranges`).

    - ``sigma_los``: noise std of a LoS range (FTM in LoS: about 1 m); ``sigma_nlos`` the same
      for a link crossing walls (``None``: ``sigma_los``).
    - ``bias_los``: offset added to every range (phone/AP calibration).
    - ``k_los``, ``k_per_wall``: dilation ``k = k_los + k_per_wall · walls``.
    - ``wall_bias``: metres added per wall crossed (may be negative: a fitted NLoS intercept can
      sit below the LoS one while its slope is above).
    - ``max_range``, ``max_walls``: pairs farther apart (true distance) or behind more walls are
      not measured (NaN); ``p_missing``: share of the remaining pairs dropped at random.
    - ``best_of``: exchanges per burst; the smallest range is kept (paper B, Section 3).
    - ``burst_share``: share of the noise *variance* redrawn at every exchange of a burst; the
      rest is a static per-link offset (multipath at fixed positions does not change between
      exchanges). Real RTT data put most of it in the static part (within-point std ≈ 0.3 m
      against ≈ 1 m overall), so ``best_of`` lowers ranges less than i.i.d. draws would;
      ``1.0`` (default) makes every exchange independent.
    - ``asymmetric``: measure ``d_ij`` (initiated by ``i``) and ``d_ji`` separately, see below.
    - ``asym_sigma``: std of an extra per-direction offset (asymmetric only), e.g. the two ends'
      different turnaround calibration; makes ``D ≠ Dᵀ`` even in LoS.
    - ``near_end``: asymmetric only; a wall crossed within this many metres of one end of a link
      (and not of the other) stretches only the range that end measures.

    Asymmetric model (paper B, Fig. 1: an obstacle close to one sensor stretches that sensor's
    distances): the per-exchange noise of ``d_ij`` and ``d_ji`` is independent, each also gets
    its own ``asym_sigma`` offset, while the static multipath part is shared (the channel is
    reciprocal). Walls near node ``i`` only (``near_end``) add their dilation and bias to
    ``d_ij`` only; walls near neither (or both) ends stretch both directions. Missing pairs by
    ``p_missing`` are drawn per direction; ``max_range``/``max_walls`` act on both.
    """

    sigma_los: float = 1.0
    bias_los: float = 0.0
    k_los: float = 1.0
    k_per_wall: float = 0.15
    wall_bias: float = 0.5
    sigma_nlos: float | None = None
    max_range: float = 40.0
    max_walls: int = 4
    p_missing: float = 0.0
    asymmetric: bool = False
    asym_sigma: float = 0.0
    near_end: float = 2.0
    best_of: int = 1
    burst_share: float = 1.0

    def __post_init__(self) -> None:
        _finite("sigma_los", self.sigma_los, low=0.0)
        _finite("bias_los", self.bias_los)
        _finite("k_los", self.k_los, low=0.0, strict=True)
        _finite("k_per_wall", self.k_per_wall, low=0.0)
        _finite("wall_bias", self.wall_bias)
        if self.sigma_nlos is not None:
            _finite("sigma_nlos", self.sigma_nlos, low=0.0)
        mr = self.max_range
        if not (isinstance(mr, numbers.Real) and not isinstance(mr, bool) and mr > 0):
            raise ValueError(f"max_range={mr!r} is not valid; allowed: a number > 0 (inf: none)")
        _count("max_walls", self.max_walls)
        p = _finite("p_missing", self.p_missing, low=0.0)
        if p >= 1:
            raise ValueError(f"p_missing={p!r} is not valid; allowed: 0 <= p_missing < 1")
        if not isinstance(self.asymmetric, bool | np.bool_):
            raise TypeError(f"asymmetric={self.asymmetric!r} is not valid; allowed: True, False")
        _finite("asym_sigma", self.asym_sigma, low=0.0)
        _finite("near_end", self.near_end, low=0.0)
        _count("best_of", self.best_of, low=1)
        b = _finite("burst_share", self.burst_share, low=0.0)
        if b > 1:
            raise ValueError(f"burst_share={b!r} is not valid; allowed: 0 <= burst_share <= 1")

    @property
    def sigma_nlos_(self) -> float:
        """``sigma_nlos`` with its default (``sigma_los``) resolved."""
        return self.sigma_los if self.sigma_nlos is None else float(self.sigma_nlos)

    def replace(self, **changes: object) -> FTMModel:
        """A copy with ``changes`` (validated)."""
        names = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - names)
        if unknown:
            raise ValueError(f"unknown FTMModel field(s) {unknown}; allowed: {sorted(names)}")
        return FTMModel(**{**{n: getattr(self, n) for n in names}, **changes})  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class FTMRanges:
    """Output of :func:`simulate_ranges`; all ``(n, n)``.

    ``D`` measured ranges (NaN: not measured; zero diagonal; row ``i`` is what node ``i``
    measured, so ``D`` is symmetric unless the model is asymmetric), ``D_true`` true distances,
    ``walls`` walls crossed (geometric, symmetric), ``los`` = ``walls == 0``, ``k`` the dilation
    used per direction, ``walls_eff`` the walls applied per direction (= ``walls`` unless
    asymmetric: walls near the other end only are left out).
    """

    D: np.ndarray
    D_true: np.ndarray
    walls: np.ndarray
    los: np.ndarray
    k: np.ndarray
    walls_eff: np.ndarray

    @property
    def missing(self) -> np.ndarray:
        """Off-diagonal pairs not measured."""
        return np.isnan(self.D)


def simulate_ranges(
    plan: FloorPlan, X: np.ndarray, model: FTMModel, rng: np.random.Generator
) -> FTMRanges:
    """Simulate one FTM measurement campaign between all pairs of fixed nodes ``X`` (``(n, 2)``
    m) on ``plan`` under ``model``; deterministic given ``rng``.

    Each link: ``d·k + walls·wall_bias + bias_los`` plus a static offset and ``best_of``
    exchange draws (std from ``sigma_los``/``sigma_nlos`` split by ``burst_share``), the
    smallest kept, clipped below at :data:`MIN_RANGE`. The same random numbers are drawn
    whatever the model (common random numbers), so two models compared on one seed differ
    only by their parameters.
    """
    if not isinstance(model, FTMModel):
        raise TypeError(f"model={model!r} is not valid; allowed: an FTMModel")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng={rng!r} is not valid; allowed: a numpy.random.Generator")
    X = _check_nodes(X)
    n, b = len(X), model.best_of
    D_true = np.hypot(X[:, None, 0] - X[None, :, 0], X[:, None, 1] - X[None, :, 1])

    if model.asymmetric:
        walls, near = _near_end_walls(plan, X, model.near_end)
        walls_eff = walls - near.T  # d_ij leaves out walls that are near j only
    else:
        walls = pairwise_walls(plan, X)
        walls_eff = walls
    los = walls == 0
    k = model.k_los + model.k_per_wall * walls_eff

    # Fixed draw order and shapes (see docstring); symmetric models read the upper triangle.
    z_burst = rng.standard_normal((n, n, b))
    z_static = rng.standard_normal((n, n))
    z_asym = rng.standard_normal((n, n))
    u_miss = rng.random((n, n))
    iu = np.triu_indices(n, 1)

    def sym(a: np.ndarray) -> np.ndarray:
        out = np.zeros_like(a)
        out[iu] = a[iu]
        return out + np.swapaxes(out, 0, 1)

    z_static = sym(z_static)  # reciprocal channel: shared by both directions
    if not model.asymmetric:
        z_burst, u_miss = sym(z_burst), sym(u_miss)
        z_asym = np.zeros((n, n))

    sigma = np.where(los, model.sigma_los, model.sigma_nlos_)
    s_burst = sigma * math.sqrt(model.burst_share)
    s_static = sigma * math.sqrt(1.0 - model.burst_share)
    base = D_true * k + walls_eff * model.wall_bias + model.bias_los
    base = base + s_static * z_static + model.asym_sigma * z_asym
    D = base + s_burst * z_burst.min(axis=2)  # min of the burst: s > 0, so min z gives min range
    D = np.maximum(D, MIN_RANGE)

    missing = (D_true > model.max_range) | (walls > model.max_walls) | (u_miss < model.p_missing)
    D[missing] = np.nan
    np.fill_diagonal(D, 0.0)
    np.fill_diagonal(k, model.k_los)
    return FTMRanges(D=D, D_true=D_true, walls=walls, los=los, k=k, walls_eff=walls_eff)
