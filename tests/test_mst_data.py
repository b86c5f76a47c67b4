"""Tests of paper C's data module (ipsbook.methods.mst.data) and its kNN yardstick (knn.py).

Real-data tests skip when ``$IPSBOOK_DATA_DIR`` (default ``../shared/data``) lacks the sets.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from ipsbook.data import DataFileMissing, DataIntegrityWarning
from ipsbook.methods.mst import data as D
from ipsbook.methods.mst.knn import K_VALUES, knn_errors, knn_table

_default_root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_ROOT = Path(os.environ.get("IPSBOOK_DATA_DIR", "").split(os.pathsep)[0] or _default_root)
needs_data = pytest.mark.skipif(
    not all((DATA_ROOT / d).is_dir() for d in ("ujiindoorloc", "tut3", "uji-lib")),
    reason=f"real data not found under {DATA_ROOT}",
)

# (dataset, n_train, n_test, n_anchors, floors, buildings): pinned from the real files.
EXPECTED = [
    ("ujiindoorloc", 19937, 1111, 520, {0, 1, 2, 3, 4}, {0, 1, 2}),
    ("tampere", 697, 3951, 992, {0, 1, 2, 3, 4}, {0}),
    ("uji-lib", 576, 3120, 620, {3, 5}, {0}),
]


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if not os.environ.get("IPSBOOK_DATA_DIR"):
        monkeypatch.setenv("IPSBOOK_DATA_DIR", str(DATA_ROOT))
    monkeypatch.setenv("IPSBOOK_DOWNLOAD_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IPSBOOK_OFFLINE", "1")


# --- names, labels, errors (no data needed) ----------------------------------------------------


def test_names_and_labels() -> None:
    assert D.DATASETS == ("ujiindoorloc", "tampere", "uji-lib")
    assert [D.label(n) for n in D.DATASETS] == ["UJI", "Tampere", "UJI-LIB"]
    assert D.label("tut3") == "Tampere" and D.label("UJI-LIB") == "UJI-LIB"
    assert D.label("uts") == "UTS" and D.LABELS["uji-lib"] != "UTS"


@pytest.mark.parametrize("bad", ["mnist", "", None, "uji-lib-2"])
def test_unknown_dataset_is_a_clear_error(bad: object) -> None:
    with pytest.raises(ValueError, match="unknown dataset.*'ujiindoorloc', 'tampere', 'uji-lib'"):
        D.load(bad, "train")  # type: ignore[arg-type]


def test_unknown_split_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="split='validation'.*train, test"):
        D.load("ujiindoorloc", "validation")


def test_uts_missing_says_where_to_put_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "empty"))
    assert not D.uts_available() and "uts" not in D.available_datasets()
    with pytest.raises(DataFileMissing) as info:
        D.load("uts", "train")
    msg = str(info.value)
    assert "UTS_training.csv" in msg and "UTS_test.csv" in msg
    assert str(tmp_path / "empty" / "uts") in msg and "IPSBOOK_DATA_DIR" in msg
    assert "uji-lib" in msg


def test_uts_loads_when_its_files_are_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A synthetic file shaped like UTSIndoorLoc's (header, WAPnnn, Pos_x, Pos_y, Floor_ID...)."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "data" / "uts"
    folder.mkdir(parents=True)
    n_ap = 7
    header = [f"WAP{i:03d}" for i in range(1, n_ap + 1)]
    header += ["Pos_x", "Pos_y", "Floor_ID", "Building_ID", "User_ID", "Phone_ID", "Time"]
    for fname, n in (("UTS_training.csv", 30), ("UTS_test.csv", 10)):
        rss = np.where(rng.random((n, n_ap)) < 0.5, 100, rng.integers(-95, -30, (n, n_ap)))
        rows = [
            [*map(str, r), f"{rng.uniform(0, 50):.3f}", f"{rng.uniform(0, 20):.3f}", "3", "0"]
            + ["1", "2", "0"]
            for r in rss
        ]
        text = ",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
        (folder / fname).write_text(text)
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "data"))
    D.clear_cache()
    try:
        assert D.uts_available() and D.available_datasets()[-1] == "uts"
        with pytest.warns(DataIntegrityWarning, match="no registered sha256"):
            tr, te = D.load("uts", "train"), D.load("uts", "test")
        assert (len(tr), len(te), tr.n_anchors, tr.label) == (30, 10, n_ap, "UTS")
        assert set(np.unique(tr.floor)) == {3} and tr.pos.shape == (30, 2)
        assert np.all((tr.rss == 100) | (tr.rss < 0))
        assert knn_errors(tr, te, 3).shape == (10,)
    finally:
        D.clear_cache()


# --- real data: counts, convention, positions --------------------------------------------------


@needs_data
@pytest.mark.parametrize(
    ("name", "n_train", "n_test", "n_anchors", "floors", "buildings"), EXPECTED
)
def test_counts_anchors_floors(
    name: str, n_train: int, n_test: int, n_anchors: int, floors: set, buildings: set
) -> None:
    tr, te = D.load(name, "train"), D.load(name, "test")
    assert (len(tr), len(te)) == (n_train, n_test)
    assert tr.n_anchors == te.n_anchors == n_anchors
    for s, split in ((tr, "train"), (te, "test")):
        assert s.name == name and s.split == split and s.label == D.LABELS[name]
        assert s.rss.dtype == np.float32 and s.pos.dtype == np.float64
        assert set(np.unique(s.floor)) == floors and set(np.unique(s.building)) == buildings
        assert np.array_equal(s.index, np.arange(len(s)))
        assert not s.rss.flags.writeable  # cached arrays are shared, so read-only
    assert D.load(name, "train") is tr  # cached


@needs_data
@pytest.mark.parametrize("name", D.DATASETS)
def test_not_heard_is_100_everywhere(name: str) -> None:
    for split in D.SPLITS:
        rss = D.load(name, split).rss
        heard = rss != 100
        assert heard.any() and (~heard).any()
        assert np.all(rss[heard] <= 0) and np.all(rss[heard] >= -105)
        assert 0.01 < heard.mean() < 0.10  # sparse, as the paper says


@needs_data
def test_uji_lib_month01_sets_and_heard_anchors() -> None:
    te = D.load("uji-lib", "test")
    assert (te.heard.any(axis=0).sum(), D.load("uji-lib", "train").heard.any(axis=0).sum()) == (
        174,
        77,
    )


@needs_data
@pytest.mark.parametrize(
    ("name", "x_extent", "y_extent"),
    [
        ("ujiindoorloc", (380, 410), (260, 280)),
        ("tampere", (190, 215), (75, 115)),
        ("uji-lib", (8, 12), (12, 15)),
    ],
)
def test_positions_in_metres_local_frame(
    name: str, x_extent: tuple[float, float], y_extent: tuple[float, float]
) -> None:
    for split in D.SPLITS:
        s = D.load(name, split)
        assert s.pos.shape == (len(s), 2) and np.all(np.isfinite(s.pos))
        assert x_extent[0] <= np.ptp(s.pos[:, 0]) <= x_extent[1]
        assert y_extent[0] <= np.ptp(s.pos[:, 1]) <= y_extent[1]
        assert np.all(np.abs(s.pos) < 500) and s.frame


@needs_data
def test_uji_positions_are_the_file_coordinates_shifted() -> None:
    from ipsbook.data import ujiindoorloc_arrays

    s = D.load("ujiindoorloc", "test")
    assert s.origin == D.UJI_ORIGIN
    assert np.allclose(s.pos + np.asarray(s.origin), ujiindoorloc_arrays("validation").positions)
    assert s.pos.min() > 0


# --- scalings ---------------------------------------------------------------------------------

_TOY = np.array([[100, -110, -55, 0], [-104, 100, -30, -80], [100, 100, -70, -20]], np.float32)


def test_positive_scaling() -> None:
    out = D.scale(_TOY, "positive")
    assert out.dtype == np.float32 and out.shape == _TOY.shape
    assert np.all((out >= 0) & (out <= 1))
    assert np.all(out[_TOY == 100] == 0)
    assert out[0, 3] == pytest.approx(1.0) and out[0, 2] == pytest.approx(0.5)
    assert out[0, 1] == 0 and out[1, 0] == pytest.approx(6 / 110)


def test_minmax_and_standard_use_the_reference() -> None:
    ref = _TOY
    mm = D.scale(ref, "minmax01")
    assert mm.min() == 0 and mm.max() == 1
    query = np.array([[-20, -120, -200, 0]], np.float32)  # beyond ref's ranges
    q = D.scale(query, "minmax01", ref=ref)
    assert np.all((q >= 0) & (q <= 1))
    st = D.Scaler("standard").fit(ref)
    z = st.transform(ref)
    assert np.allclose(z.mean(axis=0), 0, atol=1e-6)
    # anchor 1 is -110 dBm or unheard (= -110) everywhere: constant, so 0
    assert np.allclose(z.std(axis=0), [1, 0, 1, 1], atol=1e-5) and np.all(z[:, 1] == 0)
    const = np.array([[100, -50], [100, -60]], np.float32)  # anchor 0 never heard
    assert np.all(D.scale(const, "standard")[:, 0] == 0)
    assert np.all(D.scale(const, "minmax01")[:, 0] == 0)
    assert np.array_equal(D.scale(_TOY, "none"), _TOY)  # the paper's fill, kept


@needs_data
def test_scalings_on_real_sets() -> None:
    tr, te = D.load("uji-lib", "train"), D.load("uji-lib", "test")
    for how in ("positive", "minmax01"):
        out = D.scale(te.rss, how, ref=tr.rss)
        assert out.dtype == np.float32 and out.min() >= 0 and out.max() <= 1
        assert np.all(out[~te.heard] == 0)
    assert np.isfinite(D.scale(te.rss, "standard", ref=tr.rss)).all()


def test_scaling_errors() -> None:
    with pytest.raises(ValueError, match="unknown scaling 'zscore'.*'positive', 'minmax01'"):
        D.scale(_TOY, "zscore")
    with pytest.raises(ValueError, match="must be fitted"):
        D.Scaler("standard").transform(_TOY)
    with pytest.raises(ValueError, match="fitted on 4"):
        D.Scaler("minmax01").fit(_TOY).transform(_TOY[:, :3])
    with pytest.raises(ValueError, match="paper's convention"):
        D.scale(D.scale(_TOY, "positive"), "positive")  # already scaled
    with pytest.raises(ValueError, match="min_rss"):
        D.Scaler("positive", min_rss=10)
    with pytest.raises(ValueError, match="numeric"):
        D.scale(_TOY[0], "positive")


# --- Table 4 partitions ------------------------------------------------------------------------


@needs_data
@pytest.mark.parametrize(
    ("name", "fraction", "size"),
    [
        ("ujiindoorloc", 0.01, 199),
        ("ujiindoorloc", 0.10, 1993),
        ("tampere", 0.10, 69),
        ("uji-lib", 0.10, 57),
    ],
)
def test_subsample_sizes_match_table4(name: str, fraction: float, size: int) -> None:
    full = D.load(name, "train")
    parts = [D.subsample(full, fraction, seed) for seed in D.PARTITION_SEEDS]
    assert {len(p) for p in parts} == {size}
    assert len({tuple(p.index) for p in parts}) == len(D.PARTITION_SEEDS)  # ten different draws
    p = parts[3]
    assert np.all(np.diff(p.index) > 0)  # distinct, in file order
    assert np.array_equal(p.rss, full.rss[p.index]) and np.array_equal(p.pos, full.pos[p.index])
    assert p.split == "train" and p.name == name


def test_subsample_is_deterministic_and_checked() -> None:
    rng = np.random.default_rng(1)
    fs = D.FingerprintSet("uji-lib", "train", rng.integers(-90, -40, (50, 4)), rng.random((50, 2)))
    a, b = D.subsample(fs, 0.1, 7), D.subsample(fs, 0.1, 7)
    assert np.array_equal(a.index, b.index) and len(a) == 5
    assert len(D.subsample(fs, 0.001, 0)) == 1 and len(D.subsample(fs, 1.0, 0)) == 50
    for bad in (0, -0.1, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            D.subsample(fs, bad, 0)
    with pytest.raises(TypeError, match="seed"):
        D.subsample(fs, 0.1, 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="pos must be"):
        D.FingerprintSet("x", "train", np.zeros((3, 2)), np.zeros((2, 2)))


# --- kNN yardstick -----------------------------------------------------------------------------


@needs_data
def test_knn_on_ujiindoorloc_validation_is_plausible() -> None:
    err = knn_errors(D.load("ujiindoorloc", "train"), D.load("ujiindoorloc", "test"), 3)
    assert err.shape == (1111,) and np.all(err >= 0)
    assert 5.0 < err.mean() < 15.0  # a sanity band, not a target


@needs_data
def test_knn_table_and_errors() -> None:
    tr, te = D.load("uji-lib", "train"), D.load("uji-lib", "test")
    t = knn_table(tr, te)
    assert list(t["k"]) == list(K_VALUES) and set(t["dataset"]) == {"UJI-LIB"}
    assert np.all((t["mean_m"] < t["p75_m"]) & (t["p75_m"] < t["p95_m"]))
    assert np.all((t["mean_m"] > 0.5) & (t["mean_m"] < 10))
    with pytest.raises(ValueError, match="anchors"):
        knn_errors(tr, D.load("tampere", "test"), 3)
    with pytest.raises(ValueError, match="k must be"):
        knn_errors(tr, te, 0)
