"""Binary fingerprinting (BFP) with uncertainty regions — paper D (Omeñaca Muro, Mizmizi, Reggiani).

Offline, each beacon ``i`` splits the square area along a designed straight border; its threshold
``RSSI_REF,i`` is the mean offline RSSI along that border (Sect. 5). A fingerprint becomes one bit
per beacon (eq. 4); online, a measurement within ``±Δ/2`` dB of the threshold is *neutral* (eq. 5,
an erasure) and ignored by the Hamming search; ties are averaged (eq. 6). Cells are either the
designed squares (Forced Cell Design, FCD) or re-derived from the measured radio map (Optimized
Cell Design, OCD: same codewords, centres = centroids of the region each codeword really covers).

The baseline is nearest-neighbour fingerprinting (FP) on the full-resolution RSSI vectors at the
*same* ``K_T`` positions as BFP (eq. 3 has one position set for both: the designed cell centres,
a uniform grid of ``n x n`` points). FP on the fine ``rho_m`` grid (1,681 positions for 20 m at
0.5 m) is kept as an extra baseline, ``FP-grid``.

Two radio regimes (:meth:`Scenario.ideal`): the *default* one (3GPP LoS state, correlated
shadowing) and the *ideal* one (every link in LoS, no shadowing: a pure log-distance law).

Used by the chapter ``notebooks/bfp.py``. Every value the paper leaves out is a field of
:class:`Scenario` whose source is given by :func:`table1`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy.interpolate import RegularGridInterpolator
from scipy.spatial import cKDTree

from ..radio.grid import Grid
from ..radio.pathloss import PathLossModel, rssi_map
from .hamming import pack_bits, search_ties

DESIGNS = ("FCD", "OCD")


def check_nonneg(name: str, value: float, unit: str) -> float:
    """Return ``value`` as float; raise ValueError naming ``name`` if it is negative or not finite."""
    if not isinstance(value, (int, float, np.floating, np.integer)) or not math.isfinite(value):
        raise ValueError(f"{name}={value!r} must be a finite number of {unit}")
    if value < 0:
        raise ValueError(f"{name}={value!r} {unit} is negative; allowed: {name} >= 0")
    return float(value)


# --------------------------------------------------------------------------------------------
# Layouts


@dataclass(frozen=True)
class Border:
    """A designed straight border ``x = pos`` (axis 0) or ``y = pos`` (axis 1).

    The beacon's bit is 1 (strong RSSI) on the side where the coordinate is below ``pos`` when
    ``one_below`` is true, above it otherwise.
    """

    axis: int
    pos: float
    one_below: bool

    def bit(self, points: np.ndarray) -> np.ndarray:
        """Designed bit of ``points``. A point *on* the border gets 1, as eq. 4 gives 1 where the
        RSSI equals the threshold (``RSSI >= RSSI_REF``): the designed border is the ideal
        iso-RSSI line at ``RSSI_REF``."""
        coord = points[:, self.axis]
        return coord <= self.pos if self.one_below else coord >= self.pos


@dataclass(frozen=True)
class Layout:
    """A cell layout: ``n``×``n`` square cells labelled by one bit per beacon."""

    name: str
    side: float
    n_cells_axis: int
    beacons: np.ndarray
    borders: tuple[Border, ...]

    @property
    def n_beacons(self) -> int:
        return len(self.borders)

    @property
    def cell_centres(self) -> np.ndarray:
        """Centres of the designed square cells, row by row, ``(n*n, 2)``."""
        w = self.side / self.n_cells_axis
        c = (np.arange(self.n_cells_axis) + 0.5) * w
        xx, yy = np.meshgrid(c, c)
        return np.column_stack([xx.ravel(), yy.ravel()])

    @property
    def cell_codes(self) -> np.ndarray:
        """Designed codeword of each cell, ``(n_cells, n_beacons)`` uint8."""
        return self.ideal_bits(self.cell_centres)

    def ideal_bits(self, points: np.ndarray) -> np.ndarray:
        """Designed (ideal) bits of ``points``: the square-cell labelling of Fig. 1a."""
        points = np.asarray(points, dtype=float)
        return np.column_stack([b.bit(points) for b in self.borders]).astype(np.uint8)

    def cell_of(self, points: np.ndarray) -> np.ndarray:
        """Index of the designed cell whose codeword :meth:`ideal_bits` gives each point (a point
        on a border belongs to the cell on its '1' side, as in eq. 4)."""
        weights = 1 << np.arange(self.n_beacons)
        lookup = {int(k): c for c, k in enumerate(self.cell_codes.astype(np.int64) @ weights)}
        keys = self.ideal_bits(points).astype(np.int64) @ weights
        return np.array([lookup[int(k)] for k in keys], dtype=np.intp)

    def border_points(self, i: int, step: float) -> np.ndarray:
        """Points every ``step`` metres along beacon ``i``'s border, inside the area."""
        b = self.borders[i]
        t = np.arange(round(self.side / step) + 1) * step
        pos = np.full_like(t, b.pos)
        return np.column_stack([pos, t] if b.axis == 0 else [t, pos])


def line_layout(side: float, n_cells_axis: int) -> Layout:
    """``n``×``n`` cells with one beacon per straight border (``2(n-1)`` beacons).

    Borders sit at ``side*k/n``; per axis the bits form a thermometer code, so neighbouring cells
    differ in one bit and the Hamming distance between two cells is their city-block distance
    in cells. Beacon ``i`` stands on the perpendicular through the middle of its border, on its
    "1" side, ``side/2`` away from it: in the 2×2 case that is the midpoint of a wall. Paper D
    takes its layouts from Mizmizi & Reggiani (IPIN 2016/2017), whose beacon coordinates we
    could not obtain: this placement is our choice and :func:`table1` says so.
    """
    side = check_nonneg("side", side, "m")
    if side <= 0:
        raise ValueError(f"side={side!r} m must be > 0")
    if not isinstance(n_cells_axis, (int, np.integer)) or n_cells_axis < 2:
        raise ValueError(f"n_cells_axis={n_cells_axis!r} must be an integer >= 2")
    borders, beacons = [], []
    for axis in (0, 1):
        for k in range(1, n_cells_axis):
            pos = side * k / n_cells_axis
            one_below = 2 * k <= n_cells_axis
            offset = -side / 2 if one_below else side / 2
            borders.append(Border(axis, pos, one_below))
            b = [side / 2, side / 2]
            b[axis] = pos + offset
            beacons.append(b)
    return Layout(
        name=f"{n_cells_axis}x{n_cells_axis}",
        side=side,
        n_cells_axis=n_cells_axis,
        beacons=np.array(beacons, dtype=float),
        borders=tuple(borders),
    )


LAYOUTS = {"2x2": 2, "4x4": 4}


def make_layout(name: str, side: float) -> Layout:
    """The paper's 2×2 (2 beacons) or 4×4 (6 beacons, our reconstruction) layout."""
    if name not in LAYOUTS:
        raise ValueError(f"layout={name!r} is not known; allowed: {', '.join(LAYOUTS)}")
    return line_layout(side, LAYOUTS[name])


# --------------------------------------------------------------------------------------------
# Labelling (eqs. 3-5)


def code_rate(n_positions: int, n_beacons: int, levels: int = 2) -> float:
    """Eq. 3: ``R = log2(K_T) / (N_B log2 L)``."""
    if n_positions < 1 or n_beacons < 1 or levels < 2:
        raise ValueError("code_rate needs n_positions >= 1, n_beacons >= 1, levels >= 2")
    return math.log2(n_positions) / (n_beacons * math.log2(levels))


def thresholds(rssi_on_borders: list[np.ndarray]) -> np.ndarray:
    """``RSSI_REF,i``: the mean (in dB) of the offline RSSI along beacon ``i``'s border."""
    return np.array([float(np.mean(v)) for v in rssi_on_borders])


def binary_labels(rssi: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Eq. 4, with bit 1 on the strong side: ``rssi`` is ``(n, n_beacons)`` in dBm."""
    return (np.asarray(rssi) >= np.asarray(ref)[None, :]).astype(np.uint8)


def ternary_labels(rssi: np.ndarray, ref: np.ndarray, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Eq. 5 as ``(bits, mask)``: mask 0 marks the neutral value (``|RSSI - REF| < Δ/2``).

    With ``delta = 0`` the mask is all ones and the bits are those of eq. 4.
    """
    delta = check_nonneg("delta", delta, "dB")
    rssi = np.asarray(rssi)
    ref = np.asarray(ref)[None, :]
    bits = rssi >= ref
    mask = (rssi < ref - delta / 2) | (rssi >= ref + delta / 2)
    return bits.astype(np.uint8), mask.astype(np.uint8)


#: The largest number of beacons for which :class:`TernaryTable` tabulates every ternary word
#: (3**12 = 531,441 entries); above it, use :func:`locate_bfp`.
MAX_TABLE_BEACONS = 12


def ternary_keys(rssi: np.ndarray, ref: np.ndarray, delta: float) -> np.ndarray:
    """Eq. 5 as one base-3 integer per measurement: digit ``i`` is 0 (neutral), 1 (bit 0) or 2
    (bit 1) for beacon ``i``. Same labels as :func:`ternary_labels`."""
    delta = check_nonneg("delta", delta, "dB")
    rssi = np.asarray(rssi, dtype=float)
    ref = np.asarray(ref, dtype=float)[None, :]
    digit = 2 * (rssi >= ref + delta / 2) + (rssi < ref - delta / 2)
    return digit.astype(np.int64) @ (3 ** np.arange(rssi.shape[1], dtype=np.int64))


class TernaryTable:
    """Eq. 6's estimate for every possible ternary word of ``n_beacons`` digits, computed once
    with the packed Hamming search (:func:`~ipsbook.methods.hamming.search_ties`): a query is then
    one table look-up. Identical to :func:`locate_bfp` (the tests hold it to that); it only
    makes the Monte-Carlo study fast, since a codebook has few beacons and many queries."""

    def __init__(self, codes: np.ndarray, centres: np.ndarray) -> None:
        codes = np.asarray(codes)
        nb = codes.shape[1]
        if nb > MAX_TABLE_BEACONS:
            raise ValueError(f"n_beacons={nb} is too many for a table (3**{nb} words); allowed: "
                             f"<= {MAX_TABLE_BEACONS}; use locate_bfp() instead")
        keys = np.arange(3**nb, dtype=np.int64)
        digit = (keys[:, None] // 3 ** np.arange(nb, dtype=np.int64)) % 3
        est, _, _ = search_ties(pack_bits(codes), pack_bits(digit == 2), pack_bits(digit != 0),
                                centres)
        self.estimates = est

    def locate(self, keys: np.ndarray) -> np.ndarray:
        """Estimates ``(n, 2)`` for the keys of :func:`ternary_keys`."""
        return self.estimates[keys]


# --------------------------------------------------------------------------------------------
# Scenario (Table 1) and one realisation of the radio map


@dataclass(frozen=True)
class Scenario:
    """System parameters (the paper's Table 1; see :func:`table1` for each value's source)."""

    side_m: float = 20.0
    rho_m: float = 0.5
    test_step_m: float = 0.25
    sigma_sh_db: float = 4.0
    d_sh_m: float = 6.0
    pathloss: PathLossModel = field(default_factory=PathLossModel)

    def __post_init__(self) -> None:
        for name, unit in (("side_m", "m"), ("rho_m", "m"), ("test_step_m", "m")):
            if check_nonneg(name, getattr(self, name), unit) == 0:
                raise ValueError(f"{name}=0 m must be > 0")
        check_nonneg("sigma_sh_db", self.sigma_sh_db, "dB")
        check_nonneg("d_sh_m", self.d_sh_m, "m")
        for name, step in (("rho_m", self.rho_m), ("test_step_m", self.test_step_m)):
            n = self.side_m / step
            if abs(n - round(n)) > 1e-9 * max(1.0, n):
                raise ValueError(
                    f"{name}={step!r} m does not divide the area side side_m={self.side_m!r} m; "
                    f"allowed: a step such that side_m/{name} is a whole number"
                )
        ratio = self.rho_m / self.test_step_m
        if abs(ratio - round(ratio)) > 1e-9 * max(1.0, ratio):
            raise ValueError(
                f"rho_m={self.rho_m!r} m must be a multiple of test_step_m={self.test_step_m!r} m "
                "(the fingerprint grid must lie on the test grid)"
            )

    @property
    def test_grid(self) -> Grid:
        return Grid(self.side_m, self.side_m, self.test_step_m)

    @property
    def fp_grid(self) -> Grid:
        return Grid(self.side_m, self.side_m, self.rho_m)

    def with_side(self, side_m: float) -> Scenario:
        return replace(self, side_m=side_m)

    def ideal(self) -> Scenario:
        """The ideal regime: every link in line of sight, no shadowing (a pure log-distance
        law). The radio map is then the same in every realisation; only the online noise W
        varies."""
        return replace(self, sigma_sh_db=0.0, pathloss=replace(self.pathloss, los_model="always"))

    @property
    def deterministic(self) -> bool:
        """True when the offline map has no random part (LoS everywhere, no shadowing)."""
        return self.sigma_sh_db == 0 and self.pathloss.los_model == "always"

    @property
    def regime(self) -> str:
        """``"ideal"`` (:meth:`ideal`) or ``"default"`` (anything with a random LoS state or
        shadowing)."""
        return "ideal" if self.deterministic else "default"


@dataclass(frozen=True)
class Realisation:
    """One draw of LoS states and shadowing: the offline radio map and what BFP derives from it."""

    scenario: Scenario
    layout: Layout
    rssi: np.ndarray  # (n_beacons, test_grid.size): noise-free RSSI at every test point, dBm
    los: np.ndarray  # (n_beacons, test_grid.size) bool
    fp_index: np.ndarray  # indices of the fingerprint grid inside the test grid
    ref: np.ndarray  # RSSI_REF,i (n_beacons,)
    real_bits: np.ndarray  # (test_grid.size, n_beacons): eq. 4 on the interpolated radio map
    codebooks: dict[str, tuple[np.ndarray, np.ndarray]]  # design -> (codes (n,nb), centres (n,2))
    kt_map: np.ndarray  # (n_cells, n_beacons): noise-free RSSI at the K_T designed cell centres

    @property
    def fp_map(self) -> np.ndarray:
        """The stored fingerprint map ``(fp_grid.size, n_beacons)`` (offline: no online noise)."""
        return self.rssi[:, self.fp_index].T


def realise(scenario: Scenario, layout: Layout, rng: np.random.Generator) -> Realisation:
    """Draw one offline radio map and derive thresholds, real binary map and both codebooks."""
    if abs(layout.side - scenario.side_m) > 1e-9:
        raise ValueError(f"layout side {layout.side} m differs from scenario side {scenario.side_m} m")
    tg, fg = scenario.test_grid, scenario.fp_grid
    rssi, los = rssi_map(tg, layout.beacons, scenario.pathloss, scenario.sigma_sh_db,
                         scenario.d_sh_m, rng)
    fp_index = tg.subgrid_index(fg)
    # Sect. 5: RSSI_REF,i averages what was collected on beacon i's border (fingerprint grid).
    ref = thresholds([rssi[i, tg.index_of(layout.border_points(i, scenario.rho_m))]
                      for i in range(layout.n_beacons)])
    # OCD: "real borders ... derived by interpolation of the collected radio map".
    fp_img = rssi[:, fp_index].reshape(layout.n_beacons, *fg.shape)
    pts_yx = tg.points[:, ::-1]
    interp = np.column_stack([
        RegularGridInterpolator((fg.ys, fg.xs), fp_img[i])(pts_yx) for i in range(layout.n_beacons)
    ])
    real_bits = binary_labels(interp, ref)
    codes = layout.cell_codes
    ideal = layout.cell_centres
    ocd = ideal.copy()
    # Centroid of the test points whose real label equals each designed codeword; a codeword
    # that the real map never produces keeps its designed centre (only the centres change).
    real_key = real_bits @ (1 << np.arange(layout.n_beacons))
    code_key = codes.astype(np.int64) @ (1 << np.arange(layout.n_beacons))
    pts = tg.points
    for c, key in enumerate(code_key):
        sel = real_key == key
        if sel.any():
            ocd[c] = pts[sel].mean(axis=0)
    # FP's K_T fingerprints: the RSSI at the designed cell centres (bilinear on the test grid,
    # exact where a centre is a test point, as for sides that are multiples of 2 n * step).
    img = rssi.reshape(layout.n_beacons, *tg.shape)
    kt_map = np.column_stack([
        RegularGridInterpolator((tg.ys, tg.xs), img[i])(ideal[:, ::-1])
        for i in range(layout.n_beacons)
    ])
    return Realisation(scenario, layout, rssi, los, fp_index, ref, real_bits,
                       {"FCD": (codes, ideal), "OCD": (codes, ocd)}, kt_map)


# --------------------------------------------------------------------------------------------
# Online positioning


def locate_bfp(meas: np.ndarray, ref: np.ndarray, delta: float, codes: np.ndarray,
               centres: np.ndarray) -> np.ndarray:
    """BFP estimates for measurements ``(n, n_beacons)`` (eqs. 5 and 6, packed Hamming search)."""
    bits, mask = ternary_labels(meas, ref, delta)
    est, _, _ = search_ties(pack_bits(codes), pack_bits(bits), pack_bits(mask), centres)
    return est


class FingerprintNN:
    """NN fingerprinting: Euclidean distance on full-resolution RSSI vectors (k-d tree), at the
    positions given (the K_T cell centres for FP, the fine grid for FP-grid)."""

    def __init__(self, fp_map: np.ndarray, positions: np.ndarray) -> None:
        self.tree = cKDTree(np.asarray(fp_map, dtype=float))
        self.positions = np.asarray(positions, dtype=float)

    def locate(self, meas: np.ndarray) -> np.ndarray:
        _, idx = self.tree.query(np.asarray(meas, dtype=float), k=1)
        return self.positions[idx]


def _sq_err(est: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return ((est - truth) ** 2).sum(axis=1)


def simulate(
    scenario: Scenario,
    layout_name: str,
    sigma_ws: tuple[float, ...],
    deltas: tuple[float, ...],
    n_mc: int,
    seed: int = 0,
    *,
    designs: tuple[str, ...] = DESIGNS,
    progress: bool = True,
) -> pd.DataFrame:
    """Monte-Carlo study: one row per (run, σ_W, method, design, Δ) with that realisation's mean
    squared error over the test grid (``mse``, m²; its square root is the realisation's RMSE,
    the unit of the paired intervals).

    Methods: ``BFP`` (one row per design and Δ, with ``erased``: the share of neutral digits),
    ``FP`` (NN on full RSSI vectors at the same K_T cell centres as BFP) and ``FP-grid`` (NN on
    the fine ``rho_m`` grid). Each run draws new LoS states and shadowing (a new offline map,
    thresholds and OCD centres) and one standard-normal online noise draw, scaled by every σ_W:
    the same realisation serves every σ_W, Δ, method and design (common random numbers), so
    paired differences between them are not noise. In the ideal regime the map is drawn once
    (it is the same in every run); the noise still differs per run.
    """
    from ..progress import tqdm

    for s in sigma_ws:
        check_nonneg("sigma_w", s, "dB")
    for d in deltas:
        check_nonneg("delta", d, "dB")
    if not isinstance(n_mc, (int, np.integer)) or n_mc < 1:
        raise ValueError(f"n_mc={n_mc!r} must be an integer >= 1")
    for d in designs:
        if d not in DESIGNS:
            raise ValueError(f"design={d!r} is not known; allowed: {', '.join(DESIGNS)}")
    layout = make_layout(layout_name, scenario.side_m)
    truth = scenario.test_grid.points
    rows = []
    bar = tqdm(range(n_mc), desc=f"BFP {layout_name} side {scenario.side_m:g} m, "
               f"{scenario.regime} regime", unit="run", disable=not progress, leave=False)
    fixed = None
    for run in bar:
        rng = np.random.default_rng([seed, run])  # one stream per run: order-free, reproducible
        if fixed is None or not scenario.deterministic:
            real = realise(scenario, layout, rng)  # consumes nothing when deterministic
            tables = {g: TernaryTable(*real.codebooks[g]) for g in designs}
            fp_kt = FingerprintNN(real.kt_map, layout.cell_centres)
            fp_grid = FingerprintNN(real.fp_map, truth[real.fp_index])
            fixed = (real, tables, fp_kt, fp_grid)
        real, tables, fp_kt, fp_grid = fixed
        z = rng.standard_normal(real.rssi.shape)
        for sw in sigma_ws:
            meas = (real.rssi + sw * z).T
            base = {"layout": layout_name, "side_m": scenario.side_m,
                    "regime": scenario.regime, "sigma_w_db": float(sw), "run": run}
            for method, fp in (("FP", fp_kt), ("FP-grid", fp_grid)):
                rows.append({**base, "method": method, "design": "—", "delta_db": np.nan,
                             "mse": _sq_err(fp.locate(meas), truth).mean(), "erased": np.nan})
            for delta in deltas:
                keys = ternary_keys(meas, real.ref, delta)
                erased = float(_neutral_share(meas, real.ref, delta))
                for design in designs:
                    est = tables[design].locate(keys)
                    rows.append({**base, "method": "BFP", "design": design,
                                 "delta_db": float(delta), "mse": _sq_err(est, truth).mean(),
                                 "erased": erased})
    return pd.DataFrame(rows)


def _neutral_share(meas: np.ndarray, ref: np.ndarray, delta: float) -> float:
    """Share of (point, beacon) digits that eq. 5 makes neutral: ``REF - Δ/2 <= RSSI < REF + Δ/2``."""
    meas = np.asarray(meas)
    ref = np.asarray(ref)[None, :]
    return float(np.mean((meas >= ref - delta / 2) & (meas < ref + delta / 2)))


def rmse_table(results: pd.DataFrame, by: list[str], *, n_boot: int = 400, seed: int = 0,
               level: float = 0.95) -> pd.DataFrame:
    """RMSE over runs and test points per group, with a percentile-bootstrap CI over runs."""
    rng = np.random.default_rng(seed)
    out = []
    for key, g in results.groupby(by, sort=True, dropna=False):
        mse = g["mse"].to_numpy()
        rmse = math.sqrt(mse.mean())
        if len(mse) > 1:
            boot = np.sqrt(mse[rng.integers(0, len(mse), (n_boot, len(mse)))].mean(axis=1))
            lo, hi = np.quantile(boot, [(1 - level) / 2, (1 + level) / 2])
        else:
            lo = hi = rmse
        key = key if isinstance(key, tuple) else (key,)
        out.append({**dict(zip(by, key)), "rmse_m": rmse, "ci_low_m": lo, "ci_high_m": hi,
                    "n_runs": len(mse)})
    return pd.DataFrame(out)


def best_delta(rmse: pd.DataFrame) -> pd.DataFrame:
    """Per ([regime,] layout, design, σ_W): the Δ of lowest RMSE among the BFP rows of
    :func:`rmse_table` (the first, i.e. smallest, Δ on a tie).

    ``at_sweep_edge`` flags an optimum at the largest Δ swept: the true optimum may lie beyond.
    """
    bfp = rmse[rmse["method"] == "BFP"]
    keys = [c for c in ("regime", "layout", "design", "sigma_w_db") if c in bfp.columns]
    idx = bfp.groupby(keys)["rmse_m"].idxmin()
    best = bfp.loc[idx, [*keys, "delta_db", "rmse_m"]]
    best = best.reset_index(drop=True)
    best["at_sweep_edge"] = np.isclose(best["delta_db"], bfp["delta_db"].max())
    return best


def distance_to_real_border(real: Realisation) -> np.ndarray:
    """Distance (m) from each test point to the nearest border of the real binary map."""
    from scipy.ndimage import distance_transform_edt

    g = real.scenario.test_grid
    code = (real.real_bits @ (1 << np.arange(real.layout.n_beacons))).reshape(g.shape)
    edge = np.zeros(g.shape, dtype=bool)
    edge[:, 1:] |= code[:, 1:] != code[:, :-1]
    edge[:, :-1] |= code[:, 1:] != code[:, :-1]
    edge[1:, :] |= code[1:, :] != code[:-1, :]
    edge[:-1, :] |= code[1:, :] != code[:-1, :]
    if not edge.any():
        return np.full(g.size, np.inf)
    return (distance_transform_edt(~edge) * g.step).ravel()


def error_draws(real: Realisation, sigma_w: float, delta: float, design: str, n_noise: int,
                seed: int = 0) -> np.ndarray:
    """Positioning error (m) at each test point for each of ``n_noise`` online noise draws,
    ``(n_noise, test_grid.size)``; the draws are the same for every Δ and design (same seed)."""
    check_nonneg("sigma_w", sigma_w, "dB")
    if design not in DESIGNS:
        raise ValueError(f"design={design!r} is not known; allowed: {', '.join(DESIGNS)}")
    if not isinstance(n_noise, (int, np.integer)) or n_noise < 1:
        raise ValueError(f"n_noise={n_noise!r} must be an integer >= 1")
    rng = np.random.default_rng(seed)
    truth = real.scenario.test_grid.points
    table = TernaryTable(*real.codebooks[design])
    out = np.empty((n_noise, len(truth)))
    for k in range(n_noise):
        meas = (real.rssi + sigma_w * rng.standard_normal(real.rssi.shape)).T
        out[k] = np.sqrt(_sq_err(table.locate(ternary_keys(meas, real.ref, delta)), truth))
    return out


def error_map(real: Realisation, sigma_w: float, delta: float, design: str, n_noise: int,
              seed: int = 0) -> np.ndarray:
    """Mean positioning error (m) at each test point over ``n_noise`` online noise draws."""
    return error_draws(real, sigma_w, delta, design, n_noise, seed).mean(axis=0)


def border_error(draws: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Per noise draw: mean error within ``near`` (e.g. 1 m of a real border) minus the mean
    error elsewhere (m), the paired quantity behind 'the borders are the main source of error'."""
    near = np.asarray(near, dtype=bool)
    if near.all() or not near.any():
        raise ValueError("near must mark some test points but not all of them")
    return draws[:, near].mean(axis=1) - draws[:, ~near].mean(axis=1)


# --------------------------------------------------------------------------------------------
# Table 1 and the footprint the paper claims but does not measure

_CHOSEN = "our choice"


def table1(scenario: Scenario, sigma_ws: tuple[float, ...], deltas: tuple[float, ...],
           n_mc: int) -> pd.DataFrame:
    """The reconstructed Table 1: parameter, symbol, value, unit, source, and whether we chose it."""
    pl = scenario.pathloss
    l2, l4 = make_layout("2x2", scenario.side_m), make_layout("4x4", scenario.side_m)
    g38 = "3GPP TR 38.901 InH at 2.4 GHz"
    rows = [
        ("area", "—", f"square, side {scenario.side_m:g}", "m", "paper Sect. 2 (square); side: " + _CHOSEN, True),
        ("FP and BFP positions", "K_T", f"{l2.n_cells_axis**2} (2×2), {l4.n_cells_axis**2} (4×4): the designed cell centres", "—", "paper eq. 3 (one K_T for FP and BFP)", False),
        ("fine grid of the extra baseline FP-grid", "ρ", scenario.rho_m, "m", _CHOSEN, True),
        ("test grid resolution", "—", scenario.test_step_m, "m", "paper Sect. 6", False),
        ("beacons, 2×2 layout", "N_B", l2.n_beacons, "—", "paper Sect. 6 ('with just 2 beacons')", False),
        ("beacons, 4×4 layout", "N_B", l4.n_beacons, "—", "reconstruction (thermometer code, one beacon per border); refs [5,6] unavailable", True),
        ("beacon placement", "P_i^BS", "on the perpendicular through each border's middle, side/2 away on its '1' side", "—", _CHOSEN, True),
        ("transmit power + antenna gains", "A", pl.a_dbm, "dBm", _CHOSEN + " (BLE beacon); cancels in BFP and FP", True),
        ("reference distance", "d0", pl.d0_m, "m", "paper Sect. 2.2 ('usually 1 m')", False),
        ("loss at d0, LoS", "L0", pl.l0_los_db, "dB", g38, True),
        ("path-loss exponent, LoS", "η", pl.eta_los, "—", g38, True),
        ("loss at d0, NLoS", "L0", pl.l0_nlos_db, "dB", g38 + " (NLoS loss floored at LoS loss)", True),
        ("path-loss exponent, NLoS", "η", pl.eta_nlos, "—", g38, True),
        ("LoS state", "—", "InH-Mixed LoS probability, spatially consistent (10 m); always LoS in the ideal regime", "—", "3GPP TR 38.901 Tables 7.4.2-1, 7.6.3.1-2", True),
        ("shadowing std", "σ_SH", scenario.sigma_sh_db, "dB", _CHOSEN + "; 0 in the ideal regime", True),
        ("shadowing decorrelation distance", "d_SH", scenario.d_sh_m, "m", "3GPP TR 38.901 InH NLoS (6 m); Gudmundson exponential model", True),
        ("online measurement error std", "σ_W", ", ".join(f"{s:g}" for s in sigma_ws), "dB", "paper Sect. 2.2 (typical 2–2.83 dB); sweep range " + _CHOSEN, True),
        ("uncertainty region size", "Δ", ", ".join(f"{d:g}" for d in deltas), "dB", "paper Sect. 4 (Δ = 2 dB in Fig. 5a); sweep range " + _CHOSEN, True),
        ("Monte-Carlo realisations", "—", n_mc, "—", "profile (paper does not say)", True),
    ]
    return pd.DataFrame(rows, columns=["parameter", "symbol", "value", "unit", "source", "chosen"])


def footprint(scenario: Scenario, layout_name: str) -> dict[str, float]:
    """Bits per stored fingerprint and radio-map sizes: FP at the K_T cell centres (float32),
    the extra baseline FP-grid on the fine grid, and BFP (packed bits, K_T codewords)."""
    layout = make_layout(layout_name, scenario.side_m)
    nb, n_grid = layout.n_beacons, scenario.fp_grid.size
    k_t = layout.n_cells_axis**2  # eq. 3: one position set for FP and BFP
    return {
        "layout": layout_name,
        "beacons": nb,
        "positions_K_T": k_t,
        "fp_grid_positions": n_grid,
        "fp_bits_per_fingerprint_float32": 32 * nb,
        "fp_bits_per_fingerprint_int8": 8 * nb,
        "bfp_bits_per_fingerprint": nb,
        "fp_map_bytes_float32": 4 * nb * k_t,
        "fp_grid_map_bytes_float32": 4 * nb * n_grid,
        "bfp_map_bytes_packed": 8 * math.ceil(nb / 64) * k_t,
        "code_rate": code_rate(k_t, nb),
    }
