"""Wall Remover — paper B, Sect. 5.1, Algorithm 1: find and contract directionally dilated ranges.

An obstacle between two fixed APs stretches their FTM range (dilation factor ``k`` above the
others'); centring (classical MDS) would spread that error over every pair. The Wall Remover
instead tests ranges against each other geometrically and contracts, one at a time, the range
that is most probably stretched. The paper's equations (20)–(21) and the Algorithm 1 box were
lost in extraction; this is our reading of the text, with every choice the paper leaves open
marked **[choice]**.

Quadruples
    A quadruple ``(a, b, c, l)`` is a triangle ``a, b, c`` whose three sides are measured and a
    fourth sensor ``l`` with ``d_la, d_lb, d_lc`` measured that lies *inside* it (all six
    distances measured). The triangle is placed by the law of cosines (eqs. 20–21): ``a`` at the
    origin, ``b`` on the x-axis, ``c`` above it.

Triangle test (Fig. 3)
    For each *inner segment* ``l–x`` (``x`` ∈ {a, b, c}), ``l`` is placed from its two other
    ranges, to the other vertices ``y, z`` (two-circle intersection; of the two mirror solutions
    the one on ``x``'s side of ``yz``, i.e. inside or closest to the triangle), and the range to
    ``x`` is predicted from that placement. The *stretch* is
    ``s = d_lx(measured) − d_lx(predicted)``. A range dilated by a wall leaves the placement
    from the other two vertices exact, so its stretch is its whole excess ``(k − 1)·d``, in
    every quadruple where it is an inner segment; the other segments' stretches move only
    where that range was used to place ``l``, and not always in the same direction. Where the
    two circles do not meet (noise), the placement is clamped to the line ``yz``.

Containment **[choice]**
    ``l`` is contained if at least one of its three placements is inside ``abc``. A placement
    from ``y, z`` is inside if (i) its barycentric coordinates are ``>= 0`` — tested without a
    square root by the law of cosines: the angle ``zyl`` is at most ``zyx`` and ``yzl`` at most
    ``yzx`` — and (ii) the measured ``d_lx`` is consistent with ``l`` being on ``x``'s side of
    ``yz``: its square is nearer the squared distance from this placement to ``x`` than from the
    mirror placement. Without (ii), an ``l`` just beyond a side has a mirror image inside the
    triangle and, with exact ranges, metres of spurious stretch. There is no slack on (i): an
    ``l`` slightly outside is placed as its mirror image. "At least one" keeps the quadruples
    where a dilated inner range pushes the two placements that use it out (the paper's worry
    about the right side of Fig. 3), since the placement that does not use it is exact; a large
    dilation of the range to a vertex can still make ``l``, if it is close to the opposite
    side, look like a point beyond that side, and that quadruple is lost (the paper: "this risk
    is mitigated if multiple other triangles ... can also be evaluated"). Triangles whose
    smallest altitude is below ``MIN_ALTITUDE_RATIO`` (5 %) of their longest side are skipped:
    near-collinear, the side of ``l`` is decided by noise. An inside ``l`` is within the
    longest side of both vertices of its placement pair, so candidates with fewer than two
    ranges below the longest side (×1.05) are dropped before any geometry (an exact prefilter).

Weights and probability **[choice]**
    A stretch above the acceptable error ``ε`` (``tolerance``, metres) flags the segment: its
    weight ``w`` grows by 1 (a count, not the stretch, so that ``p = w / n_evaluated`` is the
    frequency with which the segment is flagged — the "stretch probability"); several segments
    of one quadruple may be flagged. Only positive stretches count: walls and reflections
    lengthen FTM ranges.

Choosing the segment to contract **[choice]**
    A pass evaluates every contained quadruple. The paper ranks segments by "largest w and
    therefore largest p"; the two differ when segments are tested in different numbers of
    quadruples, and both, taken alone, contracted many unstretched ranges in our simulations
    (a range tested once and flagged once has ``p = 1``; a range tested 120 times has a large
    ``w`` at ``p = 0.6`` because a stretched neighbour keeps disturbing its placements). We
    rank by the lower end of the Wilson score interval of ``p`` (``confidence``, 95 %), and a
    segment is a *candidate* only if that lower bound is at least ``min_probability`` (2/3)
    and its excess stretch — its mean stretch minus the median of the mean stretches of all
    testable segments — is above ``ε`` ("until the largest stretch is within a (configurable)
    acceptable range from the others"). Consequence: a segment tested in fewer than 8
    quadruples is never contracted at the defaults (8 flags in 8 tests give a lower bound of
    0.68). ``confidence=0`` gives the plain rule ``p >= min_probability``.

Contraction **[choice]**
    The best candidate is contracted by the learning rate, ``d ← d·(1 − η)`` (a step
    increment, not a step proportional to ``p``: ``p`` is near 1 for every candidate that
    matters), but never by more than its excess, ``d ← d − excess``, so that it does not
    overshoot below the range its neighbours support. Then the next pass, until no candidate
    is left (``converged``) or after ``max_iter`` contractions.

Order **[choice]**
    The paper evaluates triangles from the largest to the smallest (perimeter); the quadruples
    are enumerated in that order. With counted weights over a whole pass the order does not
    change ``w``, ``p`` or the contraction; it matters for ``max_quadruples``: triangles are
    then drawn in random order (``seed``) until the cap is reached, so short and long segments
    are tested alike, and the kept ones are evaluated largest first.

Untestable segments
    A segment that is never an inner segment of a contained quadruple (the hull of the
    constellation: the paper's *outer segments*) cannot be tested; ``testable`` records which
    can, and ``probability`` is NaN elsewhere.

Speed
    Enumeration is vectorised over chunks of triangles × all candidate ``l`` (no Python loop
    over quadruples). A contraction of ``d_ij`` only changes the quadruples that contain both
    ``i`` and ``j``, so a pass re-evaluates only those (re-deciding their containment, too;
    a point × quadruple bitmap finds them) and updates the per-segment sums: a pass costs
    ``O(k/8 + n²)``, not ``O(k)``. The full enumeration grows as ``n⁴`` (``C(n,3)·(n−3)``
    candidates): about 0.3 s at 100 APs, over a minute at 300 on two cores — cap it with
    ``max_quadruples`` for networks of hundreds of APs.

Input: a distance matrix in metres, NaN = missing. An asymmetric FTM matrix is first
symmetrised by ``min`` (paper B keeps the best, smallest, range) unless ``symmetrise=None``,
which requires a symmetric input. Used by the chapter ``notebooks/ftm.py`` (Figs. 3/4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from .core import SYMMETRISE_HOWS, check_distance_matrix, check_int, symmetrise

__all__ = [
    "MIN_ALTITUDE_RATIO",
    "WallRemoverResult",
    "contained_quadruples",
    "triangle_test",
    "wall_remover",
]

MIN_ALTITUDE_RATIO = 0.05  # smallest altitude / longest side below this: triangle skipped
_PREFILTER_SLACK = 1.05  # prefilter "range <= longest side": slack for rounding and clamping
_CHUNK = 1 << 16  # triangle × candidate elements per enumeration chunk (cache-sized: fastest)
_BITMAP_MAX_N = 128  # beyond, the point × quadruple bitmap outweighs the quadruples (16 B each)


@dataclass(frozen=True)
class WallRemoverResult:
    """Output of :func:`wall_remover`.

    ``D``: corrected symmetric matrix (NaN where missing). ``weights``, ``n_evaluated``,
    ``probability`` (= weights / n_evaluated, NaN where untested) and ``stretch`` (mean
    stretch, metres, NaN where untested) are ``(n, n)`` symmetric, from the last pass.
    ``contractions``: ``(i, j, factor)`` per iteration, ``i < j``, new ``d = factor · old d``.
    ``quadruples_per_pass``: contained quadruples evaluated in each pass. ``quadruples``:
    those of the last pass ``(k, 4)`` as ``(a, b, c, l)``, largest triangle first.
    ``history``: per pass, the chosen segment (None on the last, converged pass), its
    ``probability``, its Wilson ``lower_bound``, ``weight``, ``excess`` and the
    ``median_stretch`` of all testable segments. ``testable``: segments that are an inner
    segment of at least one contained quadruple. ``symmetrised``: ``D`` was asymmetric.
    """

    D: np.ndarray
    weights: np.ndarray
    probability: np.ndarray
    n_evaluated: np.ndarray
    stretch: np.ndarray
    testable: np.ndarray
    contractions: list[tuple[int, int, float]]
    n_iter: int
    converged: bool
    quadruples_per_pass: list[int]
    quadruples: np.ndarray
    symmetrised: bool
    history: list[dict] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Validation and preparation


def _check_fraction(name: str, value: float, *, low: float, high: float, closed: bool) -> float:
    ok_type = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )
    if not ok_type or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be a finite number")
    inside = low <= value <= high if closed else low < value < high
    if not inside:
        interval = f"[{low}, {high}]" if closed else f"({low}, {high})"
        raise ValueError(f"{name}={value!r} is out of range; allowed: {name} in {interval}")
    return float(value)



def _prepare(D: np.ndarray, how: str | None) -> tuple[np.ndarray, bool]:
    """Symmetric float copy of ``D`` (NaN missing) and whether it had to be symmetrised."""
    if how is not None and how not in SYMMETRISE_HOWS:
        raise ValueError(
            f"symmetrise={how!r} is not allowed; allowed: {', '.join(SYMMETRISE_HOWS)} or None"
        )
    A = check_distance_matrix(D, name="D", symmetric=how is None, allow_missing=True, min_points=4)
    nan = np.isnan(A)
    sym = bool(np.array_equal(nan, nan.T) and np.allclose(A[~nan], A.T[~nan], rtol=0, atol=0))
    if sym:
        return A, False
    return symmetrise(A, how), True  # type: ignore[arg-type]


def _measured(S: np.ndarray) -> np.ndarray:
    M = ~np.isnan(S)
    np.fill_diagonal(M, False)
    return M


# --------------------------------------------------------------------------------------------
# Geometry, vectorised over quadruples


def _inside(s_yz, s_yx, s_zx, s_ly, s_lz, s_lx, d_yx, d_zx, d_ly, d_lz):
    """Is ``l``, placed from its ranges to ``y`` and ``z``, inside the triangle ``yzx``?

    All from squared ranges ``s_*``, without a square root. Frame: ``y`` at the origin, ``z``
    on +x, ``x`` above (eqs. 20–21), ``l`` placed on ``x``'s side (``λ_x >= 0``). Law of
    cosines: the angle ``zyl`` at most ``zyx`` (``λ_z >= 0``) and ``yzl`` at most ``yzx``
    (``λ_y >= 0``). Side test: the measured ``d_lx²`` is nearer the squared distance from this
    placement to ``x`` than from its mirror image across ``yz`` (midpoint
    ``s_yx + s_ly − 2·x_x·x_l``); otherwise ``l`` is really beyond ``yz`` and only its mirror
    image falls inside.
    """
    px = s_yz + s_yx - s_zx  # 2·d_yz·x_x
    pl = s_yz + s_ly - s_lz  # 2·d_yz·x_l
    at_y = pl * d_yx >= px * d_ly
    at_z = (2.0 * s_yz - pl) * d_zx >= (2.0 * s_yz - px) * d_lz
    side = 2.0 * s_yz * (s_lx - s_yx - s_ly) <= -px * pl
    return at_y & at_z & side


def _predict(dyz, dyx, dzx, dly, dlz):
    """Predicted ``d_lx``: ``l`` placed from its ranges to ``y``, ``z`` on ``x``'s side.

    Frame: ``y`` at the origin, ``z`` on +x, ``x`` above (eqs. 20–21); where the two circles
    do not meet (noise), ``l`` is put on the line ``yz``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = 0.5 / dyz
        xx = (dyz * dyz + dyx * dyx - dzx * dzx) * inv
        yx = np.sqrt(np.maximum(dyx * dyx - xx * xx, 0.0))
        xl = (dyz * dyz + dly * dly - dlz * dlz) * inv
        yl = np.sqrt(np.maximum(dly * dly - xl * xl, 0.0))
        return np.hypot(xx - xl, yx - yl)


def _evaluate(S: np.ndarray, Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadruples ``Q`` ``(k, 4)`` = (a, b, c, l): ``(contained (k,) bool, stretch (m, 3))``.

    ``stretch`` has a row per *contained* quadruple: the stretches of its inner segments
    l–a, l–b, l–c. Containment is decided from squared ranges first; placements are computed
    for the contained quadruples only.
    """
    a, b, c, l = Q[:, 0], Q[:, 1], Q[:, 2], Q[:, 3]
    d = [S[a, b], S[a, c], S[b, c], S[l, a], S[l, b], S[l, c]]
    dab, dac, dbc, dla, dlb, dlc = d
    sab, sac, sbc, sla, slb, slc = (v * v for v in d)
    with np.errstate(invalid="ignore"):
        inside = _inside(sab, sac, sbc, sla, slb, slc, dac, dbc, dla, dlb)  # from a, b
        inside |= _inside(sbc, sab, sac, slb, slc, sla, dab, dac, dlb, dlc)  # from b, c
        inside |= _inside(sac, sbc, sab, slc, sla, slb, dbc, dab, dlc, dla)  # from c, a
        # Heron: 16·area² = 4·s_ab·s_ac − (s_ab + s_ac − s_bc)²; smallest altitude
        # 2·area/longest >= ratio·longest  <=>  16·area² >= 4·ratio²·longest⁴
        area16 = 4.0 * sab * sac - (sab + sac - sbc) ** 2
        longest2 = np.maximum(np.maximum(sab, sac), sbc)
        inside &= area16 >= 4.0 * MIN_ALTITUDE_RATIO**2 * longest2 * longest2
    idx = np.flatnonzero(inside)
    dab, dac, dbc, dla, dlb, dlc = (v[idx] for v in d)
    stretch = np.stack(
        [
            dla - _predict(dbc, dab, dac, dlb, dlc),  # l–a, l placed from b, c
            dlb - _predict(dac, dbc, dab, dlc, dla),  # l–b, from c, a
            dlc - _predict(dab, dac, dbc, dla, dlb),  # l–c, from a, b
        ],
        axis=1,
    )
    return inside, stretch


def _inner_segments(Q: np.ndarray, n: int) -> np.ndarray:
    """Flat ids ``min·n + max`` of the inner segments l–a, l–b, l–c, ``(k, 3)`` int64."""
    l = Q[:, 3:4].astype(np.int64)
    v = Q[:, :3].astype(np.int64)
    return np.minimum(l, v) * n + np.maximum(l, v)


def _triangles(S: np.ndarray, M: np.ndarray) -> np.ndarray:
    """All triangles ``(T, 3)`` (``a < b < c``, int32) with three measured sides, largest first."""
    n = S.shape[0]
    i, j = np.triu_indices(n, 1)
    keep = M[i, j]
    i, j = i[keep], j[keep]
    cnt = n - 1 - j
    total = int(cnt.sum())
    if total == 0:
        return np.zeros((0, 3), dtype=np.int32)
    I = np.repeat(i, cnt)
    J = np.repeat(j, cnt)
    start = np.repeat(np.cumsum(cnt) - cnt, cnt)
    K = np.arange(total) - start + J + 1
    keep = M[I, K] & M[J, K]
    tri = np.stack([I[keep], J[keep], K[keep]], axis=1).astype(np.int32)
    perimeter = S[tri[:, 0], tri[:, 1]] + S[tri[:, 0], tri[:, 2]] + S[tri[:, 1], tri[:, 2]]
    return tri[np.argsort(-perimeter, kind="stable")]


def _candidates(S: np.ndarray, M: np.ndarray, tri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadruples (a, b, c, l) from triangles × every l with its three ranges measured that
    passes the exact prefilter (at least two ranges within the longest side); also the row of
    ``tri`` each comes from."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    mask = M[a] & M[b] & M[c]  # rows gathered: (T, n); M's diagonal is False so l ∉ abc
    longest = np.maximum(np.maximum(S[a, b], S[a, c]), S[b, c])[:, None] * _PREFILTER_SLACK
    with np.errstate(invalid="ignore"):
        close = (S[a] <= longest).astype(np.int8)
        close += S[b] <= longest
        close += S[c] <= longest
    mask &= close >= 2
    t, l = np.nonzero(mask)
    Q = np.empty((t.size, 4), dtype=np.int32)
    Q[:, :3] = tri[t]
    Q[:, 3] = l
    return Q, t


def _enumerate(
    S: np.ndarray, M: np.ndarray, tri: np.ndarray, cap: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contained quadruples of ``tri`` (in ``tri``'s order) and their stretches, in chunks.

    With ``cap``, stops once it is reached, keeping whole triangles (the last one may take
    the count a little over the cap). Returns ``(Q, stretch, triangles used)``.
    """
    n = S.shape[0]
    step = max(1, _CHUNK // max(n, 1))
    Qs, Ss, Ts = [], [], []
    found = 0
    for s in range(0, tri.shape[0], step):
        Qc, tc = _candidates(S, M, tri[s : s + step])
        contained, stretch = _evaluate(S, Qc)
        Qs.append(Qc[contained])
        Ss.append(stretch)
        Ts.append(tc[contained] + s)
        found += int(contained.sum())
        if cap is not None and found >= cap:
            T = np.concatenate(Ts)
            last = int(T[cap - 1])
            keep = T <= last
            return np.concatenate(Qs)[keep], np.concatenate(Ss)[keep], tri[: last + 1]
    Q = np.concatenate(Qs) if Qs else np.zeros((0, 4), dtype=np.int32)
    St = np.concatenate(Ss) if Ss else np.zeros((0, 3))
    return Q, St, tri


class _Store:
    """Contained quadruples with their stretches and the per-segment sums, updated in place.

    Rows are tombstoned and reused. Up to ``_BITMAP_MAX_N`` points a bitmap (point × row) finds
    the rows that hold both ends of a contracted segment in a scan of ``k / 8`` bytes; beyond,
    the bitmap would outweigh the quadruples themselves and the rows are found by a scan of
    the quadruple array. Either way a contraction re-evaluates only the quadruples it changes.
    """

    def __init__(self, Q: np.ndarray, stretch: np.ndarray, n: int, tolerance: float) -> None:
        self.n, self.tol = n, tolerance
        k = Q.shape[0]
        cap = (k + k // 4 + 1024) // 8 * 8
        self.Q = np.zeros((cap, 4), dtype=np.int32)
        self.seg = np.zeros((cap, 3), dtype=np.int32 if n * n < 2**31 else np.int64)
        self.st = np.zeros((cap, 3))
        self.alive = np.zeros(cap, dtype=bool)
        # bit r of row p: point p is in quadruple r
        self.bits = np.zeros((n if n <= _BITMAP_MAX_N else 0, cap // 8), dtype=np.uint8)
        self.size = 0
        self.w = np.zeros(n * n)
        self.cnt = np.zeros(n * n)
        self.sum = np.zeros(n * n)
        self._write(np.arange(k), Q, stretch)

    def _tally(self, seg: np.ndarray, st: np.ndarray, sign: float) -> None:
        m = self.n * self.n
        seg, st = seg.ravel(), st.ravel()
        self.cnt += sign * np.bincount(seg, minlength=m)
        self.sum += sign * np.bincount(seg, weights=st, minlength=m)
        self.w += sign * np.bincount(seg[st > self.tol], minlength=m)

    def _grow(self, rows_needed: int) -> None:
        cap = max(rows_needed, 2 * self.Q.shape[0]) // 8 * 8 + 8
        for name in ("Q", "seg", "st", "alive"):
            old = getattr(self, name)
            new = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
            new[: old.shape[0]] = old
            setattr(self, name, new)
        bits = np.zeros((self.bits.shape[0], cap // 8), dtype=np.uint8)
        bits[:, : self.bits.shape[1]] = self.bits
        self.bits = bits

    def _set_bits(self, rows: np.ndarray, Q: np.ndarray, on: bool) -> None:
        if self.bits.shape[0] == 0:
            return
        byte = np.repeat(rows >> 3, 4)
        mask = np.repeat((1 << (rows & 7)).astype(np.uint8), 4)
        if on:
            np.bitwise_or.at(self.bits, (Q.ravel(), byte), mask)
        else:
            np.bitwise_and.at(self.bits, (Q.ravel(), byte), ~mask)

    def _write(self, rows: np.ndarray, Q: np.ndarray, stretch: np.ndarray) -> None:
        if rows.size == 0:
            return
        if rows.max() >= self.Q.shape[0]:
            self._grow(int(rows.max()) + 1)
        seg = _inner_segments(Q, self.n)
        self.Q[rows], self.seg[rows], self.st[rows] = Q, seg, stretch
        self.alive[rows] = True
        self._set_bits(rows, Q, on=True)
        self.size = max(self.size, int(rows.max()) + 1)
        self._tally(seg, stretch, 1.0)

    def rows_with(self, i: int, j: int) -> np.ndarray:
        if self.bits.shape[0] == 0:
            Qv = self.Q[: self.size]
            hits = (Qv == i).sum(axis=1) + (Qv == j).sum(axis=1)
            return np.flatnonzero((hits == 2) & self.alive[: self.size])
        both = np.unpackbits(self.bits[i] & self.bits[j], bitorder="little")
        return np.flatnonzero(both[: self.size])

    def replace_pair(self, i: int, j: int, Q: np.ndarray, stretch: np.ndarray) -> None:
        """Drop the quadruples holding both ``i`` and ``j``; store ``Q`` (their re-evaluation)."""
        rows = self.rows_with(i, j)
        self._tally(self.seg[rows], self.st[rows], -1.0)
        self._set_bits(rows, self.Q[rows], on=False)
        self.alive[rows] = False
        k = Q.shape[0]
        slots = rows[:k]
        if k > rows.size:
            slots = np.concatenate([slots, self.size + np.arange(k - rows.size)])
        self._write(slots, Q, stretch)

    def quadruples(self) -> np.ndarray:
        return self.Q[: self.size][self.alive[: self.size]]


class _TriangleIndex:
    """The triangles (fixed for a run) and, per point, the triangles that hold it."""

    def __init__(self, tri: np.ndarray, n: int) -> None:
        self.tri = tri
        flat = tri.ravel()
        order = np.argsort(flat, kind="stable")
        self.rows = (order // 3).astype(np.int64)
        self.ptr = np.concatenate([[0], np.cumsum(np.bincount(flat, minlength=n))])

    def of(self, p: int) -> np.ndarray:
        return self.rows[self.ptr[p] : self.ptr[p + 1]]

    def pair_candidates(self, S: np.ndarray, M: np.ndarray, i: int, j: int) -> np.ndarray:
        """Every candidate quadruple that holds both ``i`` and ``j``."""
        ri, rj = self.of(i), self.of(j)
        tag = np.zeros(self.tri.shape[0], dtype=np.int8)
        tag[ri] += 1
        tag[rj] += 2
        both = np.sort(ri[tag[ri] == 3])
        parts = [_candidates(S, M, self.tri[both])[0]]  # i–j a side of the triangle: any l
        for inner, rows in ((i, rj[tag[rj] == 2]), (j, ri[tag[ri] == 1])):  # i–j inner
            t = self.tri[np.sort(rows)]
            ok = M[inner, t[:, 0]] & M[inner, t[:, 1]] & M[inner, t[:, 2]]
            Q = np.empty((int(ok.sum()), 4), dtype=np.int32)
            Q[:, :3] = t[ok]
            Q[:, 3] = inner
            parts.append(Q)
        return np.concatenate(parts)


def _wilson_lower(w: np.ndarray, n: np.ndarray, z: float) -> np.ndarray:
    """Lower end of the Wilson score interval of ``w`` successes in ``n`` trials (0 if n = 0).

    Ranks proportions measured on different numbers of quadruples: 1 flag in 1 evaluation is
    weaker evidence than 40 in 42.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, w / n, 0.0)
        nn = np.maximum(n, 1.0)
        centre = p + z * z / (2 * nn)
        half = z * np.sqrt(p * (1 - p) / nn + z * z / (4 * nn * nn))
        low = (centre - half) / (1 + z * z / nn)
    return np.where(n > 0, np.maximum(low, 0.0), 0.0)


def _segment_matrix(flat: np.ndarray, n: int) -> np.ndarray:
    """Upper-triangle flat statistics ``(n*n,)`` to a symmetric ``(n, n)`` matrix."""
    A = flat.reshape(n, n)
    A = np.triu(A, 1)
    return A + A.T


def wall_remover(
    D: np.ndarray,
    *,
    learning_rate: float = 0.05,
    tolerance: float = 0.5,
    max_iter: int = 200,
    max_quadruples: int | None = None,
    min_probability: float = 2 / 3,
    confidence: float = 0.95,
    symmetrise: str | None = "min",
    seed: int = 0,
) -> WallRemoverResult:
    """Paper B's Wall Remover (Algorithm 1): contract the most probably dilated ranges.

    ``learning_rate`` η in (0, 1): a contraction multiplies a range by ``1 − η`` (at most by
    its excess stretch). ``tolerance`` ε >= 0 (metres): the acceptable error; a stretch above
    it flags a segment and the loop stops when no segment's excess stretch exceeds it.
    ``max_iter``: most contractions. ``max_quadruples``: cap on the contained quadruples
    (triangles drawn at random with ``seed``); None = all. ``min_probability`` and
    ``confidence``: a segment is contracted only if the lower end of the ``confidence`` Wilson
    interval of its stretch probability reaches ``min_probability`` (``confidence=0``: ``p``
    itself). ``symmetrise``: how an asymmetric ``D`` is made symmetric (``"min"``: the best FTM
    range), None to require a symmetric ``D``. See the module docstring for every choice.
    """
    eta = _check_fraction("learning_rate", learning_rate, low=0.0, high=1.0, closed=False)
    if (
        not isinstance(tolerance, (int, float, np.integer, np.floating))
        or isinstance(tolerance, bool)
        or not math.isfinite(tolerance)
        or tolerance < 0
    ):
        raise ValueError(
            f"tolerance={tolerance!r} is not allowed; allowed: a finite number of metres >= 0"
        )
    tol = float(tolerance)
    max_iter = check_int("max_iter", max_iter, minimum=0)
    cap = check_int("max_quadruples", max_quadruples, minimum=1, allow_none=True)
    p_min = _check_fraction("min_probability", min_probability, low=0.0, high=1.0, closed=True)
    conf = _check_fraction("confidence", confidence, low=0.0, high=1.0, closed=True)
    if conf == 1.0:
        raise ValueError("confidence=1.0 is not allowed; allowed: confidence in [0, 1)")
    z = NormalDist().inv_cdf(0.5 + conf / 2)  # two-sided interval, its lower end
    seed = check_int("seed", seed, minimum=0)
    S, symmetrised = _prepare(D, symmetrise)
    n = S.shape[0]
    M = _measured(S)

    tri = _triangles(S, M)
    if cap is None:
        Q, st, _ = _enumerate(S, M, tri, None)
    else:
        order = np.random.default_rng(seed).permutation(tri.shape[0])
        Q, st, used = _enumerate(S, M, tri[order], cap)
        tri = tri[np.sort(order[: used.shape[0]])]  # the drawn triangles, back to largest first
    store = _Store(Q, st, n, tol)
    index = _TriangleIndex(tri, n)

    upper = np.zeros((n, n), dtype=bool)
    upper[np.triu_indices(n, 1)] = True
    upper = upper.ravel()
    contractions: list[tuple[int, int, float]] = []
    per_pass: list[int] = []
    history: list[dict] = []
    converged = False
    for it in range(max_iter + 1):
        per_pass.append(int(store.alive[: store.size].sum()))
        testable = upper & (store.cnt > 0.5)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(testable, store.w / store.cnt, np.nan)
            mean_st = np.where(testable, store.sum / store.cnt, np.nan)
        median = float(np.median(mean_st[testable])) if testable.any() else 0.0
        excess = mean_st - median
        low = _wilson_lower(store.w, store.cnt, z)
        cand = testable & (store.w > 0.5) & (low >= p_min) & (excess > tol)
        if not cand.any():
            converged = True
            history.append({"pass": it, "segment": None, "median_stretch": median})
            break
        idx = np.flatnonzero(cand)
        keys = (excess[idx], low[idx])  # most confidently stretched first; ties: larger excess
        best = int(idx[np.lexsort(keys)[-1]])
        i, j = divmod(best, n)
        history.append(
            {
                "pass": it,
                "segment": (i, j),
                "probability": float(p[best]),
                "lower_bound": float(low[best]),
                "weight": round(float(store.w[best])),
                "excess": float(excess[best]),
                "median_stretch": median,
            }
        )
        if it == max_iter:
            break
        factor = float(max(1.0 - eta, 1.0 - excess[best] / S[i, j]))
        S[i, j] = S[j, i] = S[i, j] * factor
        contractions.append((i, j, factor))
        Qn = index.pair_candidates(S, M, i, j)
        contained, stn = _evaluate(S, Qn)
        store.replace_pair(i, j, Qn[contained], stn)

    w = _segment_matrix(store.w, n)
    cnt = _segment_matrix(store.cnt, n)
    testable = cnt > 0.5
    with np.errstate(divide="ignore", invalid="ignore"):
        prob = np.where(testable, w / cnt, np.nan)
        stretch = np.where(testable, _segment_matrix(store.sum, n) / cnt, np.nan)
    Qf = store.quadruples()
    return WallRemoverResult(
        D=S,
        weights=np.rint(w).astype(np.int64),
        probability=prob,
        n_evaluated=np.rint(cnt).astype(np.int64),
        stretch=stretch,
        testable=testable,
        contractions=contractions,
        n_iter=len(contractions),
        converged=converged,
        quadruples_per_pass=per_pass,
        quadruples=_largest_first(S, Qf),
        symmetrised=symmetrised,
        history=history,
    )


def _largest_first(S: np.ndarray, Q: np.ndarray) -> np.ndarray:
    a, b, c = Q[:, 0], Q[:, 1], Q[:, 2]
    perimeter = S[a, b] + S[a, c] + S[b, c]
    return Q[np.lexsort((Q[:, 3], -perimeter))]


def contained_quadruples(
    D: np.ndarray,
    *,
    max_quadruples: int | None = None,
    symmetrise: str | None = "min",
    seed: int = 0,
) -> np.ndarray:
    """Contained quadruples ``(k, 4)`` int ``(a, b, c, l)`` (``a < b < c``), largest triangle first.

    Same definition, cap and sampling as :func:`wall_remover`'s first pass.
    """
    cap = check_int("max_quadruples", max_quadruples, minimum=1, allow_none=True)
    seed = check_int("seed", seed, minimum=0)
    S, _ = _prepare(D, symmetrise)
    M = _measured(S)
    tri = _triangles(S, M)
    if cap is not None:
        order = np.random.default_rng(seed).permutation(tri.shape[0])
        _, _, used = _enumerate(S, M, tri[order], cap)
        tri = tri[np.sort(order[: used.shape[0]])]
    Q, _, _ = _enumerate(S, M, tri, None)
    return _largest_first(S, Q).astype(np.int64)


def _circle_point(Y, Z, ry, rz, X, *, far: bool = False):
    """Intersection of circles (Y, ry), (Z, rz) on X's side of line YZ (the other side if
    ``far``); where they do not meet, the point on line YZ."""
    d = float(np.hypot(*(Z - Y)))
    e = (Z - Y) / d
    u = (d * d + ry * ry - rz * rz) / (2 * d)
    h = math.sqrt(max(ry * ry - u * u, 0.0))
    perp = np.array([-e[1], e[0]])
    side = 1.0 if float(np.dot(X - Y, perp)) >= 0 else -1.0
    if far:
        side = -side
    return Y + u * e + side * h * perp


def _barycentric(P, A, B, C) -> np.ndarray:
    T = np.array([[A[0] - C[0], B[0] - C[0]], [A[1] - C[1], B[1] - C[1]]])
    la, lb = np.linalg.solve(T, P - C)
    return np.array([la, lb, 1.0 - la - lb])


def triangle_test(
    D: np.ndarray,
    a: int,
    b: int,
    c: int,
    l: int,
    *,
    tolerance: float = 0.5,
    symmetrise: str | None = "min",
) -> dict:
    """The triangle test of one quadruple, with everything Figs. 3/4 draw.

    Frame: ``a`` at the origin, ``b`` on +x, ``c`` above (eqs. 20–21). Returns a dict:
    ``points`` {a, b, c: (2,)}, ``placements`` {"ab", "bc", "ca": ``l`` placed from the ranges
    to that pair, on the third vertex's side}, ``barycentric`` and ``inside`` per placement,
    ``mirrors`` (the other intersections) and ``side_consistent`` (the measured squared range
    to the third vertex is nearer the placement's prediction than the mirror's; ``inside`` is
    the angle test — barycentric ``>= 0`` — and this), ``valid_triangle``,
    ``contained``, and per inner segment "la", "lb", "lc": ``measured``,
    ``predicted`` (from the placement that does not use it), ``stretch`` (= measured −
    predicted), ``flagged`` (stretch > tolerance). ``indices``: (a, b, c, l).

    One quadruple is ambiguous: a stretched l–c is flagged, but it also moves the two
    placements that predict l–a and l–b, which are often flagged too and may show the larger
    stretch (for exact ranges and l–c ×1.3, l–c had the largest stretch in only 42 % of the
    contained quadruples of a 16-AP layout). The evidence is the count over quadruples.
    """
    S, _ = _prepare(D, symmetrise)
    n = S.shape[0]
    idx = (a, b, c, l)
    for name, v in zip("abcl", idx):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or not 0 <= v < n:
            raise ValueError(f"{name}={v!r} is not a point index; allowed: 0 <= {name} < {n}")
    if len({int(v) for v in idx}) != 4:
        raise ValueError(f"a, b, c, l = {idx} must be four distinct points")
    if tolerance < 0 or not math.isfinite(tolerance):
        raise ValueError(f"tolerance={tolerance!r} is not allowed; allowed: metres >= 0")
    pairs = [(a, b), (a, c), (b, c), (l, a), (l, b), (l, c)]
    missing = [p for p in pairs if np.isnan(S[p])]
    if missing:
        raise ValueError(f"D is missing the distances {missing}; a quadruple needs all six")
    dab, dac, dbc, dla, dlb, dlc = (float(S[p]) for p in pairs)
    A = np.zeros(2)
    B = np.array([dab, 0.0])
    xc = (dab * dab + dac * dac - dbc * dbc) / (2 * dab)
    C = np.array([xc, math.sqrt(max(dac * dac - xc * xc, 0.0))])
    placements = {
        "ab": _circle_point(A, B, dla, dlb, C),
        "bc": _circle_point(B, C, dlb, dlc, A),
        "ca": _circle_point(C, A, dlc, dla, B),
    }
    sab, sac, sbc = dab * dab, dac * dac, dbc * dbc
    longest2 = max(sab, sac, sbc)
    # as in _evaluate: Heron, 16·area² >= 4·ratio²·longest⁴
    valid = bool(4 * sab * sac - (sab + sac - sbc) ** 2 >= 4 * MIN_ALTITUDE_RATIO**2 * longest2**2)
    mirrors = {
        "ab": _circle_point(A, B, dla, dlb, C, far=True),
        "bc": _circle_point(B, C, dlb, dlc, A, far=True),
        "ca": _circle_point(C, A, dlc, dla, B, far=True),
    }
    bary = {k: _barycentric(P, A, B, C) for k, P in placements.items()}
    measured = {"la": dla, "lb": dlb, "lc": dlc}
    # pair -> (opposite vertex's point, the inner segment whose range it predicts)
    third = {"ab": (C, "lc"), "bc": (A, "la"), "ca": (B, "lb")}
    predicted = {seg: float(np.hypot(*(placements[k] - X))) for k, (X, seg) in third.items()}
    mirror_pred = {seg: float(np.hypot(*(mirrors[k] - X))) for k, (X, seg) in third.items()}
    side_ok = {  # nearer in squared range, as in _inside
        k: bool(2 * measured[seg] ** 2 <= predicted[seg] ** 2 + mirror_pred[seg] ** 2)
        for k, (_, seg) in third.items()
    }
    sl = {"a": dla * dla, "b": dlb * dlb, "c": dlc * dlc}
    inside = {  # the very test the vectorised pass applies
        "ab": _inside(sab, sac, sbc, sl["a"], sl["b"], sl["c"], dac, dbc, dla, dlb),
        "bc": _inside(sbc, sab, sac, sl["b"], sl["c"], sl["a"], dab, dac, dlb, dlc),
        "ca": _inside(sac, sbc, sab, sl["c"], sl["a"], sl["b"], dbc, dab, dlc, dla),
    }
    inside = {k: bool(valid and v) for k, v in inside.items()}
    predicted = {k: predicted[k] for k in ("la", "lb", "lc")}
    stretch = {k: measured[k] - predicted[k] for k in measured}
    return {
        "indices": tuple(int(v) for v in idx),
        "points": {"a": A, "b": B, "c": C},
        "placements": placements,
        "barycentric": bary,
        "mirrors": mirrors,
        "side_consistent": side_ok,
        "inside": inside,
        "valid_triangle": valid,
        "contained": valid and any(inside.values()),
        "measured": measured,
        "predicted": predicted,
        "stretch": stretch,
        "flagged": {k: s > tolerance for k, s in stretch.items()},
    }
