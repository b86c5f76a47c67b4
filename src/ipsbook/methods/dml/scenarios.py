"""Study 1 of paper A: how well does a fingerprint distance rank physical distances?

Protocol (Saccomanno, Brunello & Montanari, "What you sense is not where you are: on the
relationships between fingerprints and spatial knowledge in indoor positioning", IEEE Sensors
Journal 2021, as summarised in ``papers/A-dml-continuous-similarities.md``): for pairs of
fingerprints of one *scenario* (a dataset at one granularity: the whole set, one building, one
floor), correlate a fingerprint-space distance with the physical distance of the two positions,
for every metric and data representation; the optimal case is a correlation of 1. The paper's
full text could not be consulted from this workplace (it is not in the reference stores we can
search), so the choices below are ours where the summary is silent, and are stated here:

* **Correlations.** Both Pearson's r (linear agreement) and Spearman's rho (rank agreement: what
  a kNN positioner uses) on the same sampled pairs. Spearman is the headline in the chapter
  because a distance only has to *order* neighbours correctly; Pearson is kept beside it, since
  the summary we have does not say which of the two the papers report.
* **Pairs.** Unordered pairs ``i < j`` of distinct fingerprints of the scenario, all of them
  when there are at most ``max_pairs``, else ``max_pairs`` drawn uniformly without replacement
  (:func:`~.distances.sample_pairs`); the same pairs serve every metric and representation of
  a scenario, so their correlations are paired comparisons. Pairs at the same position
  (repeated scans) are kept: physical distance 0 is a legitimate target.
* **Physical distance.** ``physical="3d"`` (default): Euclidean distance between
  ``(x, y, floor * floor_height)``, so pairs across floors are not treated as co-located; on one
  floor it equals the 2-D distance. ``floor_height`` is 3.7 m for TUT3 (the dataset's own
  z = 3.7 m x floor), and an assumed 4.0 m for UJIIndoorLoc and UJI-LIB, whose files give no
  height. Pairs across UJIIndoorLoc buildings are simply far apart in (x, y).
  ``physical="2d"`` ignores floors. UJIIndoorLoc's LONGITUDE/LATITUDE are Web-Mercator metres
  (about 1.3 x ground metres at 40 deg N); we keep them, as every paper reporting errors on this
  set does.
* **Scenarios.**
  - ``ujiindoorloc``: the training file (the validation file is the kNN test set), minus its 76
    fingerprints with no AP heard; granularities whole (1), building (3), building+floor (13).
  - ``tut3``: training and test files together (4,648 fingerprints; the correlation study
    evaluates no positioner, so nothing leaks); one building, so "building" equals "whole" and
    is not repeated; floors 0-4.
  - ``uji-lib``: month 01, its training set 01 and its five test sets (3,696 fingerprints: the
    loader's default split), floors 3 and 5, the library's two surveyed floors (a row with any
    other floor value would be an upstream error and is dropped; none occurs in these sets);
    one building, as for TUT3.
* **Missing value.** One ``min_rss`` per dataset (``min(observed) - 1`` over every fingerprint
  loaded for it: Torres-Sospedra et al.'s default), shared by all its scenarios.

Speed: per scenario the pairs are computed in memory-bounded chunks by
:func:`~.distances.pair_features`; the representation-free metrics (Jaccard, LGD, PLGD) are
computed once per scenario and reused for every representation.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from ...progress import tqdm
from .distances import (
    METRICS,
    LGDParams,
    check_metric,
    check_representation,
    pair_features,
    sample_pairs,
)
from .representations import REPRESENTATIONS, default_min_rss, heard

__all__ = [
    "DATASETS",
    "FLOOR_HEIGHT",
    "GRANULARITIES",
    "Scenario",
    "correlation_study",
    "scenarios",
]

DATASETS: tuple[str, ...] = ("ujiindoorloc", "tut3", "uji-lib")
GRANULARITIES: tuple[str, ...] = ("whole", "building", "floor")
FLOOR_HEIGHT = {"ujiindoorloc": 4.0, "tut3": 3.7, "uji-lib": 4.0}  # metres; see module docs
_REPRESENTATION_FREE = ("jaccard", "lgd", "plgd")
_COLUMNS = [
    "scenario",
    "dataset",
    "granularity",
    "metric",
    "representation",
    "pearson",
    "spearman",
    "n_pairs",
]


@dataclass(frozen=True, eq=False)
class Scenario:
    """Fingerprints of one dataset at one granularity (positions in metres, 2-D)."""

    name: str
    dataset: str
    granularity: str
    rss: np.ndarray  # (n, n_aps), dBm, 100 = not heard
    positions: np.ndarray  # (n, 2) x, y
    floor: np.ndarray  # (n,) int
    building: np.ndarray  # (n,) int
    floor_height: float = 4.0
    min_rss: float | None = field(default=None)

    def __post_init__(self) -> None:
        n = len(self.rss)
        if self.rss.ndim != 2 or self.positions.shape != (n, 2):
            raise ValueError(
                f"scenario {self.name!r}: rss must be (n, n_aps) and positions (n, 2); got "
                f"{self.rss.shape} and {self.positions.shape}"
            )
        if self.floor.shape != (n,) or self.building.shape != (n,):
            raise ValueError(f"scenario {self.name!r}: floor and building must have {n} entries")

    def __len__(self) -> int:
        return len(self.rss)

    def coords(self, physical: str = "3d") -> np.ndarray:
        """``(x, y)`` or ``(x, y, floor * floor_height)`` per fingerprint."""
        if physical == "2d":
            return np.asarray(self.positions, dtype=np.float64)
        if physical == "3d":
            z = self.floor.astype(np.float64) * self.floor_height
            return np.column_stack([self.positions, z])
        raise ValueError(f"physical={physical!r} is not valid; allowed: '2d', '3d'")

    def physical_distance(self, i: np.ndarray, j: np.ndarray, physical: str = "3d") -> np.ndarray:
        """Physical distance (m) of the pairs ``(i[r], j[r])``."""
        c = self.coords(physical)
        return np.sqrt(((c[i] - c[j]) ** 2).sum(axis=1))


def _load(dataset: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from ipsbook.data import load_tut3, load_uji_lib, ujiindoorloc_arrays

    if dataset == "ujiindoorloc":
        rss, pos, floor, building = ujiindoorloc_arrays("train")
    elif dataset == "tut3":
        parts = [load_tut3(s) for s in ("train", "test")]
        rss = np.concatenate([p.rss for p in parts])
        pos = np.concatenate([p.coords[:, :2] for p in parts])
        floor = np.concatenate([p.floor for p in parts])
        building = np.zeros(len(rss), np.int64)
    elif dataset == "uji-lib":
        parts = [load_uji_lib(1, s) for s in ("train", "test")]
        rss = np.concatenate([p.rss for p in parts])
        pos = np.concatenate([p.coords for p in parts])
        floor = np.concatenate([p.floor for p in parts])
        keep = np.isin(floor, (3, 5))
        rss, pos, floor = rss[keep], pos[keep], floor[keep]
        building = np.zeros(len(rss), np.int64)
    else:
        raise ValueError(f"dataset={dataset!r} is not valid; allowed: {', '.join(DATASETS)}")
    keep = heard(rss).any(axis=1)  # fingerprints with no AP heard carry no information
    return rss[keep], pos[keep], floor[keep], building[keep]


def scenarios(dataset: str, granularities: Sequence[str] = GRANULARITIES) -> list[Scenario]:
    """The Study 1 scenarios of ``dataset`` at the given granularities (see module docs).

    Names: ``<dataset>/whole``, ``<dataset>/b<k>`` (building), ``<dataset>/b<k>f<f>`` (floor of
    a building; ``<dataset>/f<f>`` for the single-building sets).
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset={dataset!r} is not valid; allowed: {', '.join(DATASETS)}")
    granularities = [granularities] if isinstance(granularities, str) else list(granularities)
    for g in granularities:
        if g not in GRANULARITIES:
            raise ValueError(f"granularity {g!r} is not valid; allowed: {', '.join(GRANULARITIES)}")
    rss, pos, floor, building = _load(dataset)
    min_rss = default_min_rss(rss)
    h = FLOOR_HEIGHT[dataset]
    multi = dataset == "ujiindoorloc"

    def make(name: str, gran: str, mask: np.ndarray | None) -> Scenario:
        sel = slice(None) if mask is None else mask
        return Scenario(
            f"{dataset}/{name}",
            dataset,
            gran,
            rss[sel],
            pos[sel],
            floor[sel],
            building[sel],
            floor_height=h,
            min_rss=min_rss,
        )

    out: list[Scenario] = []
    if "whole" in granularities:
        out.append(make("whole", "whole", None))
    if "building" in granularities and multi:
        for b in np.unique(building):
            out.append(make(f"b{b}", "building", building == b))
    if "floor" in granularities:
        for b in np.unique(building):
            for f in np.unique(floor[building == b]):
                name = f"b{b}f{f}" if multi else f"f{f}"
                out.append(make(name, "floor", (building == b) & (floor == f)))
    return out


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    x = x - x.mean()
    y = y - y.mean()
    den = np.sqrt((x @ x) * (y @ y))
    return float(x @ y / den) if den > 0 else float("nan")


def correlation_study(
    scenarios: Scenario | Iterable[Scenario],
    metrics: Sequence[str] = METRICS,
    representations: Sequence[str] = REPRESENTATIONS,
    max_pairs: int = 200_000,
    rng: np.random.Generator | int | None = 0,
    *,
    physical: str = "3d",
    lgd_params: LGDParams | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Pearson and Spearman correlation of each metric with physical distance, per scenario.

    One row per (scenario, metric, representation): columns ``scenario, dataset, granularity,
    metric, representation, pearson, spearman, n_pairs``. ``rng``: an int seeds each scenario
    separately from ``(rng, name)``, so a scenario's pairs do not depend on which others are in
    the list; a Generator is used in turn. Pairs whose metric value is not finite (none, given
    that empty fingerprints are dropped) would be left out of that row and ``n_pairs`` says so.
    """
    scs = [scenarios] if isinstance(scenarios, Scenario) else list(scenarios)
    metrics = [metrics] if isinstance(metrics, str) else list(metrics)
    representations = (
        [representations] if isinstance(representations, str) else list(representations)
    )
    for m in metrics:
        check_metric(m)
    for r in representations:
        check_representation(r)
    if max_pairs < 1:
        raise ValueError(f"max_pairs={max_pairs} must be >= 1")
    if physical not in ("2d", "3d"):
        raise ValueError(f"physical={physical!r} is not valid; allowed: '2d', '3d'")
    free = [m for m in metrics if m in _REPRESENTATION_FREE]
    dependent = [m for m in metrics if m not in _REPRESENTATION_FREE]
    if progress is None:
        progress = sum(min(max_pairs, len(s) * (len(s) - 1) // 2) for s in scs) >= 100_000
    bar = tqdm(
        total=len(scs) * len(representations),
        desc="correlation study",
        disable=not progress,
        leave=False,
    )
    rows = []
    for s in scs:
        if isinstance(rng, np.random.Generator):
            gen = rng
        else:
            gen = np.random.default_rng(
                [0 if rng is None else int(rng), zlib.crc32(s.name.encode())]
            )
        i, j = sample_pairs(len(s), max_pairs, gen)
        phys = s.physical_distance(i, j, physical)
        phys_rank = rankdata(phys)
        kw = {"pairs_i": i, "pairs_j": j, "min_rss": s.min_rss, "lgd_params": lgd_params}
        free_vals = pair_features(s.rss, s.rss, free, "raw", **kw) if free else None
        for rep in representations:
            vals = pair_features(s.rss, s.rss, dependent, rep, **kw) if dependent else None
            for m in metrics:
                col = (
                    free_vals[:, free.index(m)] if m in free else vals[:, dependent.index(m)]
                ).astype(np.float64)
                ok = np.isfinite(col)
                if ok.all():
                    pr, ranks_p = phys, phys_rank
                else:
                    pr = phys[ok]
                    ranks_p = rankdata(pr)
                    col = col[ok]
                rows.append(
                    (
                        s.name,
                        s.dataset,
                        s.granularity,
                        m,
                        rep,
                        _corr(col, pr),
                        _corr(rankdata(col), ranks_p),
                        int(col.size),
                    )
                )
            bar.update()
    bar.close()
    return pd.DataFrame(rows, columns=_COLUMNS)
