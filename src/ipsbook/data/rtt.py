"""Real Wi-Fi RTT (FTM) ranges, phone ↔ AP: rtt-feng (3 rooms, LoS labels) and rtt-yu
(CarPark, Library; no labels), in one long format, plus an AP/phone network built from them.

Both loaders return one row per (scan, AP) with the columns of :data:`COMMON_COLUMNS` (and a
few dataset-specific ones), in metres, with the true range computed from the coordinates.
Every file is read through the registry (found via ``$IPSBOOK_DATA_DIR``, sha256-checked).
Details of the files: ``shared/data/rtt-*/MANIFEST.md`` and ``book/datasets.md``.
"""

from __future__ import annotations

import io
import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from ..radio.ftm import MIN_RANGE  # one floor for simulated and real ranges
from .fetch import DataError, read_bytes
from .loaders import read_csv

__all__ = [
    "COMMON_COLUMNS",
    "FENG_GRID_M",
    "FENG_SCENES",
    "YU_SCENES",
    "RTTNetwork",
    "feng_ap_positions",
    "load_rtt_feng",
    "load_rtt_yu",
    "rtt_network",
]

FENG_GRID_M = 0.6  # rtt-feng grid unit (README: "Grid size: 0.6 × 0.6 m2"; checked in MANIFEST)
FENG_SCENES = ("lecture_theatre", "office", "corridor")
FENG_SPLITS = ("train", "test", "all")
YU_SCENES = ("CarPark", "Library")
_FENG_NO_RESPONSE_MM = 100000.0
_FENG_NOT_HEARD_DBM = -200.0
# Which CSV AP columns each scene's AP_position.txt entries belong to (in order). The corridor
# lists 4 positions; its AP1 columns are empty in every row, so they are AP2..AP5 (MANIFEST).
_FENG_AP_COLUMNS = {
    "lecture_theatre": (1, 2, 3, 4, 5),
    "office": (1, 2, 3, 4, 5),
    "corridor": (2, 3, 4, 5),
}
_YU_N_APS = 6

# Columns both loaders return, in this order (dataset-specific ones follow).
COMMON_COLUMNS = (
    "scene",
    "x_m",
    "y_m",
    "ap",
    "ap_x_m",
    "ap_y_m",
    "measured_m",
    "true_m",
    "rss_dbm",
    "los",
)


def _choice(param: str, value: object, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        shown = ", ".join(map(repr, allowed))
        raise ValueError(f"{param}={value!r} is not valid; allowed values: {shown}")


# --- rtt-feng --------------------------------------------------------------------------------


def _parse_ap_positions(text: str) -> dict[str, np.ndarray]:
    """``AP_position.txt`` -> {scene: (n_ap, 2) grid units}.

    The file is blocks of a scene-name line then ``AP X: a,b,...`` and ``AP Y: ...`` lines;
    spacing after the colon varies, lines end in CRLF and the last has no newline, so parse by
    pattern rather than by line position.
    """
    out: dict[str, np.ndarray] = {}
    scene: str | None = None
    xs: list[float] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = re.fullmatch(r"AP\s*([XY])\s*:\s*(.*)", line, flags=re.IGNORECASE)
        if m is None:
            scene, xs = re.sub(r"\s+", "_", line.lower()), None
            continue
        if scene is None:
            raise DataError(f"rtt-feng AP_position.txt: coordinates before a scene name: {line!r}")
        values = [float(v) for v in re.split(r"[,\s]+", m[2].strip()) if v]
        if m[1].upper() == "X":
            xs = values
        elif xs is None or len(xs) != len(values):
            raise DataError(f"rtt-feng AP_position.txt: scene {scene!r} has unmatched X/Y lists")
        else:
            out[scene] = np.column_stack([xs, values])
    return out


def feng_ap_positions(scene: str) -> pd.DataFrame:
    """AP positions of an rtt-feng ``scene``: columns ``ap`` (CSV column number) and
    ``ap_x_m``, ``ap_y_m`` (metres), from the registry's ``AP_position.txt``."""
    _choice("scene", scene, FENG_SCENES)
    table = _parse_ap_positions(read_bytes("rtt-feng", "AP_position.txt").decode("utf-8-sig"))
    if scene not in table:
        raise DataError(f"rtt-feng AP_position.txt has no scene {scene!r} (found {list(table)})")
    pos, cols = table[scene], _FENG_AP_COLUMNS[scene]
    if len(pos) != len(cols):
        raise DataError(
            f"rtt-feng AP_position.txt lists {len(pos)} APs for {scene!r}; expected {len(cols)}"
        )
    return pd.DataFrame(
        {"ap": cols, "ap_x_m": pos[:, 0] * FENG_GRID_M, "ap_y_m": pos[:, 1] * FENG_GRID_M}
    )


def _load_feng_split(scene: str, split: str) -> pd.DataFrame:
    raw = read_csv("rtt-feng", f"database_{scene}_{split}.csv", dtype={"LOS APs": "string"})
    aps = feng_ap_positions(scene)
    n = len(raw)
    # RP id: order of first appearance of the grid point (every RP has ~60 consecutive scans)
    rp = pd.factorize(pd.MultiIndex.from_arrays([raw["X"], raw["Y"]]))[0]
    los_sets = [
        {int(a) for a in str(s).split()} if not pd.isna(s) else set() for s in raw["LOS APs"]
    ]
    if scene == "corridor":  # the mapping below relies on AP1 being empty (MANIFEST)
        ap1_rtt, ap1_rss = raw["AP1 RTT(mm)"], raw["AP1 RSS(dBm)"]
        if not ((ap1_rtt == _FENG_NO_RESPONSE_MM).all() and (ap1_rss == _FENG_NOT_HEARD_DBM).all()):
            raise DataError("rtt-feng corridor: AP1 columns are not all empty; AP mapping unsafe")
    parts = []
    for ap, ax, ay in aps.itertuples(index=False):
        mm = raw[f"AP{ap} RTT(mm)"].to_numpy(float)
        rss = raw[f"AP{ap} RSS(dBm)"].to_numpy(float)
        x, y = raw["X"].to_numpy(float) * FENG_GRID_M, raw["Y"].to_numpy(float) * FENG_GRID_M
        parts.append(
            pd.DataFrame(
                {
                    "scene": scene,
                    "split": split,
                    "rp": rp,
                    "scan": np.arange(n),
                    "x_m": x,
                    "y_m": y,
                    "ap": ap,
                    "ap_x_m": ax,
                    "ap_y_m": ay,
                    # negative ranges are raw API output and kept (MANIFEST)
                    "measured_m": np.where(mm == _FENG_NO_RESPONSE_MM, np.nan, mm / 1000.0),
                    "true_m": np.hypot(x - ax, y - ay),
                    "rss_dbm": np.where(rss == _FENG_NOT_HEARD_DBM, np.nan, rss),
                    "los": np.array([ap in s for s in los_sets], dtype=bool),
                }
            )
        )
    # one row per (scan, AP): scans outer, APs inner
    return pd.concat(parts).sort_values(["scan", "ap"], kind="stable").reset_index(drop=True)


def load_rtt_feng(scene: str = "lecture_theatre", split: str = "train") -> pd.DataFrame:
    """rtt-feng ``scene`` (``"lecture_theatre"``, ``"office"``, ``"corridor"``), ``split``
    (``"train"``, ``"test"`` or ``"all"``: both) in long form, one row per (scan, AP).

    Columns: scene, split, rp (reference-point id, per split), scan (row of the file), x_m,
    y_m (grid × 0.6 m), ap (CSV column number), ap_x_m, ap_y_m, measured_m (mm / 1000; no
    response → NaN; negative values kept), true_m (2-D, from the coordinates), rss_dbm (not
    heard → NaN), los (the AP is in the RP's ``LOS APs`` list). The corridor's 4 AP positions
    are APs 2–5; its AP1 columns, empty in every row, are checked and left out.
    """
    _choice("scene", scene, FENG_SCENES)
    _choice("split", split, FENG_SPLITS)
    if split == "all":
        return pd.concat([_load_feng_split(scene, s) for s in ("train", "test")], ignore_index=True)
    return _load_feng_split(scene, split)


# --- rtt-yu ----------------------------------------------------------------------------------


def _yu_ap_positions(scene: str) -> pd.DataFrame:
    raw = read_bytes("rtt-yu", f"AP_idx_{scene}.csv").decode("utf-8-sig")  # file has a BOM
    t = pd.read_csv(io.StringIO(raw), index_col=0)
    ap = t.index.str.extract(r"(\d+)", expand=False).astype(int)
    return pd.DataFrame(
        {"ap": ap, "ap_x_m": t["x"].to_numpy(float), "ap_y_m": t["y"].to_numpy(float)}
    )


def load_rtt_yu(scene: str = "CarPark", *, fill_missing: bool = False) -> pd.DataFrame:
    """rtt-yu ``scene`` (``"CarPark"``, ``"Library"``) in long form, one row per (step, AP).

    Columns: scene, step (``class_idx``), walk (``circle``), phone (``user``), x_m, y_m (true
    position), ap, ap_x_m, ap_y_m, measured_m (``RTT``), rtt_std_m, rss_dbm, true_m, los
    (``pd.NA``: no labels). ``true_m`` is ``hypot`` from the coordinates, *not* the file's
    ``real_dis`` (wrong for CarPark AP2/AP3). Failed rows (RTT = 0 and RSS = 0) are dropped;
    ``df.attrs["n_failed"]`` counts them. The file only has rows for APs heard at a step;
    ``fill_missing=True`` adds a NaN row for each AP not heard (and each failed one), so that
    missing ranges can be counted as in rtt-feng.
    """
    _choice("scene", scene, YU_SCENES)
    raw = read_csv("rtt-yu", f"dataset_{scene}.csv")
    aps = _yu_ap_positions(scene)
    # The AP coordinates in the table must be those of AP_idx_<scene>.csv (MANIFEST).
    check = (
        raw[["AP_idx", "AP_x", "AP_y"]]
        .drop_duplicates()
        .merge(aps, left_on="AP_idx", right_on="ap", how="left")
    )
    if not np.allclose(check[["AP_x", "AP_y"]], check[["ap_x_m", "ap_y_m"]], atol=1e-6):
        raise DataError(f"rtt-yu {scene}: AP_x/AP_y disagree with AP_idx_{scene}.csv")
    failed = (raw["RTT"] == 0) & (raw["RSS"] == 0)
    raw = raw.loc[~failed]
    df = pd.DataFrame(
        {
            "scene": scene,
            "step": raw["class_idx"].to_numpy(),
            "walk": raw["circle"].to_numpy(),
            "phone": raw["user"].to_numpy(),
            "x_m": raw["true_x"].to_numpy(float),
            "y_m": raw["true_y"].to_numpy(float),
            "ap": raw["AP_idx"].to_numpy(),
            "ap_x_m": raw["AP_x"].to_numpy(float),
            "ap_y_m": raw["AP_y"].to_numpy(float),
            "measured_m": raw["RTT"].to_numpy(float),
            "rtt_std_m": raw["RTT std"].to_numpy(float),
            "rss_dbm": raw["RSS"].to_numpy(float),
        }
    )
    if fill_missing:
        steps = df.groupby("step", sort=True)[["walk", "phone", "x_m", "y_m"]].first()
        full = steps.reset_index().merge(aps, how="cross")
        df = full.merge(
            df.drop(columns=["walk", "phone", "x_m", "y_m", "ap_x_m", "ap_y_m"]),
            on=["step", "ap"],
            how="left",
        )
        df["scene"] = scene
    df["true_m"] = np.hypot(df["x_m"] - df["ap_x_m"], df["y_m"] - df["ap_y_m"])
    df["los"] = pd.array([pd.NA] * len(df), dtype="boolean")
    cols = [
        "scene", "step", "walk", "phone", "x_m", "y_m", "ap", "ap_x_m", "ap_y_m",
        "measured_m", "rtt_std_m", "rss_dbm", "true_m", "los",
    ]  # fmt: skip
    df = df[cols].sort_values(["step", "ap"], kind="stable").reset_index(drop=True)
    df.attrs["n_failed"] = int(failed.sum())
    return df


# --- network -----------------------------------------------------------------------------------


class RTTNetwork(NamedTuple):
    """Nodes (APs first, then phone positions) and their measured range matrix.

    ``X_true`` ``(n, 2)`` m; ``D`` ``(n, n)``: phone–AP reduced measured ranges (NaN when never
    measured), AP–AP true distances, phone–phone NaN, zero diagonal; ``is_ap`` ``(n,)``;
    ``labels`` ``"AP3"`` or ``"x=1.20,y=3.00"``; ``n_clipped``: ranges raised to ``MIN_RANGE``.
    """

    X_true: np.ndarray
    D: np.ndarray
    is_ap: np.ndarray
    labels: list[str]
    n_clipped: int = 0

    @property
    def D_true(self) -> np.ndarray:
        """True distances between all nodes."""
        X = self.X_true
        return np.hypot(X[:, None, 0] - X[None, :, 0], X[:, None, 1] - X[None, :, 1])


_REDUCE = ("min", "median")


def rtt_network(
    df: pd.DataFrame, *, reduce: str = "min", max_points: int | None = None
) -> RTTNetwork:
    """A paper-B style network from one scene's long-form ranges (either loader).

    Nodes are the scene's APs (sorted by ``ap``) then each distinct phone position (rtt-feng:
    the RPs; rtt-yu: the walked positions, which hardly repeat), in order of first appearance;
    ``max_points`` keeps that many positions evenly spaced along that order (deterministic).
    ``D[phone, ap] = D[ap, phone]`` is the ``reduce`` (``"min"``: the paper's best of a burst;
    ``"median"``) of the measured ranges over all scans there. The paper ranges between fixed
    APs; these data only range phone ↔ AP, but the AP positions are surveyed, so AP–AP entries
    are their true distances (known nodes, as in the paper's network) and phone–phone entries
    are missing. A reduced range below ``MIN_RANGE`` (the raw API reports some negative ranges
    close to an AP) is raised to it, since a distance matrix has no negative entries; the
    number raised is ``RTTNetwork.n_clipped``.
    """
    _choice("reduce", reduce, _REDUCE)
    need = {"scene", "x_m", "y_m", "ap", "ap_x_m", "ap_y_m", "measured_m"}
    if not isinstance(df, pd.DataFrame) or not need <= set(df.columns):
        missing = sorted(need - set(df.columns)) if isinstance(df, pd.DataFrame) else sorted(need)
        raise ValueError(f"df lacks columns {missing}; allowed: a load_rtt_feng/load_rtt_yu frame")
    scenes = pd.unique(df["scene"])
    if len(scenes) != 1:
        raise ValueError(f"df has scenes {list(scenes)}; allowed: exactly one scene")
    if max_points is not None and (
        isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1
    ):
        raise ValueError(f"max_points={max_points!r} is not valid; allowed: None or an int >= 1")

    aps = df[["ap", "ap_x_m", "ap_y_m"]].drop_duplicates().sort_values("ap")
    if aps["ap"].duplicated().any():
        raise ValueError("df gives one AP two positions; allowed: one scene's consistent frame")
    pos_codes, positions = pd.factorize(pd.MultiIndex.from_arrays([df["x_m"], df["y_m"]]))
    n_pos = len(positions)
    keep = np.arange(n_pos)
    if max_points is not None and max_points < n_pos:
        keep = np.unique(np.round(np.linspace(0, n_pos - 1, max_points)).astype(int))
    node_of_pos = np.full(n_pos, -1)
    node_of_pos[keep] = np.arange(len(keep))

    n_ap = len(aps)
    ap_index = pd.Series(np.arange(n_ap), index=aps["ap"].to_numpy())
    sel = node_of_pos[pos_codes] >= 0
    grouped = (
        pd.DataFrame(
            {
                "node": node_of_pos[pos_codes[sel]] + n_ap,
                "a": ap_index.loc[df["ap"].to_numpy()[sel]].to_numpy(),
                "m": df["measured_m"].to_numpy(float)[sel],
            }
        )
        .groupby(["node", "a"])["m"]
        .agg(reduce)  # NaN-skipping; a group with no valid range stays NaN
    )
    xy = np.array([positions[i] for i in keep], dtype=float).reshape(-1, 2)
    X = np.vstack([aps[["ap_x_m", "ap_y_m"]].to_numpy(float), xy])
    n = len(X)
    D = np.full((n, n), np.nan)
    D_true = np.hypot(X[:, None, 0] - X[None, :, 0], X[:, None, 1] - X[None, :, 1])
    D[:n_ap, :n_ap] = D_true[:n_ap, :n_ap]
    nodes = grouped.index.get_level_values(0).to_numpy()
    a = grouped.index.get_level_values(1).to_numpy()
    vals = grouped.to_numpy()
    n_clipped = int(np.sum(vals < MIN_RANGE))
    vals = np.where(vals < MIN_RANGE, MIN_RANGE, vals)  # NaN stays NaN
    D[nodes, a] = D[a, nodes] = vals
    np.fill_diagonal(D, 0.0)
    labels = [f"AP{int(k)}" for k in aps["ap"]] + [f"x={x:.2f},y={y:.2f}" for x, y in xy]
    is_ap = np.arange(n) < n_ap
    return RTTNetwork(X, D, is_ap, labels, n_clipped)
