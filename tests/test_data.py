"""Tests of ipsbook.data: registry vs the real files, resolution, verification, loaders.

Never touches the network: ``pooch.retrieve`` is replaced in every test (by a function that
raises a connection error, or by a fake that "downloads" from a local file).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib
import io
import os
import re
import shutil
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pooch
import pytest
import requests

import ipsbook.data as D

# The package re-exports the function fetch(), which shadows the module of the same name.
fetch_mod = importlib.import_module("ipsbook.data.fetch")

_default_root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA_ROOT = Path(os.environ.get("IPSBOOK_DATA_DIR", "").split(os.pathsep)[0] or _default_root)
BOOK_PAGE = Path(__file__).resolve().parents[1] / "book" / "datasets.md"
SMALL = "db/01/trn01crd.csv"  # a small real uji-lib file (417 bytes stored)

needs_data = pytest.mark.skipif(
    not (DATA_ROOT / "ujiindoorloc").is_dir(), reason=f"real data not found under {DATA_ROOT}"
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple]:
    """Data dir = the real data (unless set), empty cache, no network; returns download calls."""
    if not os.environ.get("IPSBOOK_DATA_DIR"):
        monkeypatch.setenv("IPSBOOK_DATA_DIR", str(DATA_ROOT))
    monkeypatch.setenv("IPSBOOK_DOWNLOAD_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("IPSBOOK_OFFLINE", raising=False)
    calls: list[tuple] = []

    def no_network(url: str, *args: object, **kwargs: object) -> str:
        calls.append((url, kwargs))
        raise requests.exceptions.ConnectionError(f"network disabled in tests (tried {url})")

    monkeypatch.setattr(pooch, "retrieve", no_network)
    return calls


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _real(relpath: str) -> bytes:
    return fetch_mod._content(DATA_ROOT / relpath)


# --- registry -------------------------------------------------------------------------------


def test_registry_lists_every_dataset() -> None:
    assert set(D.REGISTRY) == {
        "ujiindoorloc",
        "tut3",
        "uji-lib",
        "rtt-feng",
        "rtt-yu",
        "ms-ilc2020",
        "uoe-rounds",
        "uts",
    }
    lib = {f.name for f in D.REGISTRY["uji-lib"].files}
    month1 = {
        f"db/01/{s}{k}.csv"
        for k in ("rss", "crd", "tms", "ids")
        for s in ["trn01"] + [f"tst{i:02d}" for i in range(1, 6)]
    }
    assert month1 | {"shelves/shelves.csv"} <= lib
    ms = [f.name for f in D.REGISTRY["ms-ilc2020"].files]
    assert sum("/path_data_files/" in n for n in ms) == 47 + 37
    for site in ("site1", "site2"):
        for extra in ("floor_info.json", "floor_image.png", "geojson_map.json"):
            assert f"{site}/F1/{extra}" in ms
    for ds in D.REGISTRY.values():
        assert ds.title and ds.citation and ds.licence and ds.doi_or_url and ds.description
        assert (
            len({f.name for f in ds.files}) == len({f.relpath for f in ds.files}) == len(ds.files)
        )
        for f in ds.files:
            assert f.relpath.startswith(f"{ds.key}/")
            assert f.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", f.sha256)
    uts = D.REGISTRY["uts"]
    assert not uts.available and uts.files and all(f.sha256 is None for f in uts.files)
    assert all(ds.available for k, ds in D.REGISTRY.items() if k != "uts")


def test_registry_urls_are_official_sources() -> None:
    official = {
        "ujiindoorloc": "https://archive.ics.uci.edu/",
        "tut3": "https://zenodo.org/records/",
        "uji-lib": "https://zenodo.org/records/",
        "rtt-feng": "https://raw.githubusercontent.com/Fx386483710/WiFi_RSS_RTT_Dataset_for_Model_Selection/",
        "rtt-yu": "https://raw.githubusercontent.com/haiyaoyu/RTT-Indoor-localization-data-set/",
        "ms-ilc2020": "https://raw.githubusercontent.com/location-competition/indoor-location-competition-20/",
        "uoe-rounds": "https://raw.githubusercontent.com/weixijia/ipin2019-weixijia/",
        "uts": "https://github.com/XudongSong/",
    }
    for key, prefix in official.items():
        for f in D.REGISTRY[key].files:
            assert f.url.startswith(prefix), f
            if "raw.githubusercontent.com" in f.url:  # pinned to the commit the copies match
                assert re.search(r"/[0-9a-f]{40}/", f.url) and " " not in f.url and f.member is None
            if "zenodo" in f.url or "uci.edu" in f.url:
                assert f.member and f.name.endswith(f.member.rsplit("/", 1)[-1])


@needs_data
def test_registry_checksums_match_real_files() -> None:
    """Every registered sha256/size equals the real file's, and every real file is registered."""
    files = [f for ds in D.REGISTRY.values() if ds.available for f in ds.files]

    def digest(f: D.DataFile) -> tuple[str, int]:
        data = _real(f.relpath)
        return hashlib.sha256(data).hexdigest(), len(data)

    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(digest, files))
    bad = [(f.relpath, f.sha256, sha) for f, (sha, _) in zip(files, found) if sha != f.sha256]
    assert not bad
    assert [f.size for f in files] == [n for _, n in found]
    # Everything but the workplace's own notes (the root README.md and each MANIFEST.md).
    notes = {DATA_ROOT / "README.md"}
    on_disk = {
        p.relative_to(DATA_ROOT).as_posix()
        for p in DATA_ROOT.rglob("*")
        if p.is_file() and p.name != "MANIFEST.md" and p not in notes
    }
    assert on_disk == {f.relpath for f in files}


def _manifest_checksums(text: str) -> dict[str, str]:
    """(path in the dataset folder -> sha256) from the rows of a MANIFEST's "## Files" section."""
    out, in_files = {}, False
    for line in text.splitlines():
        if line.startswith("## "):
            in_files = line.startswith("## Files")
        elif in_files and line.startswith("|"):
            sha = re.search(r"\b[0-9a-f]{64}\b", line)
            if sha:
                cell = line.split("|")[1].strip().strip("`").split(" (")[0].strip("`")
                out[cell] = sha.group()
    return out


@needs_data
@pytest.mark.parametrize("key", ["tut3", "uji-lib", "rtt-feng", "rtt-yu", "ms-ilc2020"])
def test_registry_matches_manifest(key: str) -> None:
    manifest = _manifest_checksums((DATA_ROOT / key / "MANIFEST.md").read_text("utf-8"))
    registry = {f.relpath.partition("/")[2]: f.sha256 for f in D.REGISTRY[key].files}
    assert manifest == registry


@needs_data
def test_registry_matches_data_readme() -> None:
    readme = (DATA_ROOT / "README.md").read_text("utf-8")
    for f in D.REGISTRY["ujiindoorloc"].files:
        assert f.sha256 in readme


def test_dataset_checksums() -> None:
    got = D.dataset_checksums(["tut3", "ujiindoorloc", "tut3"])
    assert list(got) == ["tut3", "ujiindoorloc"]
    assert got["ujiindoorloc"]["ujiindoorloc/trainingData.csv.gz"] == (
        "45ca0128bd12019c976bb4793e407c979c82995d7a5940ab7288620247905168"
    )
    assert D.dataset_checksums("uji-lib")["uji-lib"]["uji-lib/db/01/trn01rss.csv.gz"] == (
        "495ef627048973f3565fdb732900c0df619324f8bf7473bc078e4882a240c1b0"
    )
    with pytest.raises(D.UnknownDataError, match="allowed keys: .*'ujiindoorloc'"):
        D.dataset_checksums(["nope"])
    everything = D.dataset_checksums()  # the runner passes REGISTRY itself: same result
    assert everything == D.dataset_checksums(D.REGISTRY) and set(everything) == set(D.REGISTRY)
    assert everything["uts"] == {"uts/UTS_training.csv": None, "uts/UTS_test.csv": None}


def test_citation_table() -> None:
    table = D.citation_table()
    assert list(table.columns) == ["key", "title", "licence", "source", "files", "citation"]
    assert list(table["key"]) == [
        "ujiindoorloc",
        "tut3",
        "uji-lib",
        "rtt-feng",
        "rtt-yu",
        "ms-ilc2020",
        "uoe-rounds",
    ]
    assert table.set_index("key").loc["ujiindoorloc", "licence"] == "CC BY 4.0"
    assert table.set_index("key").loc["uji-lib", "files"] == 684
    assert "uts" in set(D.citation_table(include_unavailable=True)["key"])


# --- resolution and verification ----------------------------------------------------------------


def test_unknown_dataset_and_file_list_allowed_values() -> None:
    with pytest.raises(
        D.UnknownDataError, match=r"unknown dataset 'UJI'.*'ujiindoorloc'.*'ms-ilc2020'"
    ):
        D.fetch("UJI", "trainingData.csv")
    with pytest.raises(
        D.UnknownDataError,
        match=r"no file 'training.csv'.*'trainingData.csv', 'validationData.csv'",
    ):
        D.fetch("ujiindoorloc", "training.csv")
    with pytest.raises(D.UnknownDataError, match=r"closest: 'db/\d\d/trn01rss.csv'"):
        D.fetch("uji-lib", "trn01rss.csv")


@needs_data
def test_fetch_accepts_name_stored_path_and_relpath() -> None:
    a = D.fetch("uji-lib", SMALL)
    assert a == D.fetch("uji-lib", SMALL + ".gz") == D.fetch("uji-lib", "uji-lib/" + SMALL + ".gz")
    assert a == DATA_ROOT / "uji-lib" / (SMALL + ".gz")
    assert D.read_bytes("uji-lib", SMALL).startswith(b"12.91385188,29.21654402,3\n")


def test_missing_file_gives_one_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _isolated: list[tuple]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(empty))
    with pytest.raises(D.DataFileMissing) as info:
        D.fetch("ujiindoorloc", "trainingData.csv")
    msg = str(info.value)
    assert isinstance(info.value, D.DataError) and isinstance(info.value, FileNotFoundError)
    assert "'trainingData.csv'" in msg
    assert str(empty / "ujiindoorloc" / "trainingData.csv.gz") in msg  # the data dir searched
    assert str(tmp_path / "cache" / "ujiindoorloc" / "trainingData.csv") in msg  # the cache
    assert "https://archive.ics.uci.edu/static/public/310/ujiindoorloc.zip" in msg
    assert "set IPSBOOK_DATA_DIR" in msg and "download" in msg and "ConnectionError" in msg
    assert [url for url, _ in _isolated] == [
        "https://archive.ics.uci.edu/static/public/310/ujiindoorloc.zip"
    ]
    with pytest.raises(D.DataFileMissing):  # the loaders raise the same error
        D.load_ujiindoorloc("validation")


def test_offline_switch_skips_download(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _isolated: list[tuple]
) -> None:
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("IPSBOOK_OFFLINE", "1")
    with pytest.raises(D.DataFileMissing, match=r"IPSBOOK_OFFLINE[\s\S]*raw.githubusercontent.com"):
        D.fetch("rtt-yu", "AP_idx_CarPark.csv")
    assert _isolated == []


@needs_data
def test_corrupted_file_raises_checksum_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    good = _real("uji-lib/" + SMALL + ".gz")
    bad = bytearray(good)
    bad[0] = ord("2")  # 12.91... -> 22.91...: one byte of the content
    target = tmp_path / "data" / "uji-lib" / (SMALL + ".gz")
    target.parent.mkdir(parents=True)
    target.write_bytes(_gz(bytes(bad)))
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "data"))
    expected = D.REGISTRY["uji-lib"].file(SMALL).sha256
    actual = hashlib.sha256(bytes(bad)).hexdigest()
    for call in (D.fetch, D.read_bytes):
        with pytest.raises(D.DataChecksumError) as info:
            call("uji-lib", SMALL)
        msg = str(info.value)
        assert expected in msg and actual in msg and "trn01crd.csv" in msg and str(target) in msg
        assert "Delete or replace" in msg and "zenodo" in msg


@needs_data
def test_verification_is_cached_until_the_file_changes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    good = _real("uji-lib/" + SMALL + ".gz")
    target = tmp_path / "data" / "uji-lib" / (SMALL + ".gz")
    target.parent.mkdir(parents=True)
    target.write_bytes(_gz(good))
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "data"))
    reads = []
    real_content = fetch_mod._content
    monkeypatch.setattr(fetch_mod, "_content", lambda p: reads.append(p) or real_content(p))
    D.fetch("uji-lib", SMALL)
    D.fetch("uji-lib", SMALL)
    assert len(reads) == 1  # the second check was remembered
    target.write_bytes(_gz(good.replace(b"12.91", b"12.92", 1)))
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    with pytest.raises(D.DataChecksumError):
        D.fetch("uji-lib", SMALL)


@needs_data
def test_plain_copy_and_data_dir_before_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    content = _real("uji-lib/" + SMALL + ".gz")
    plain = tmp_path / "data" / "uji-lib" / SMALL  # uncompressed, as unzipped from Zenodo
    plain.parent.mkdir(parents=True)
    plain.write_bytes(content)
    cached = tmp_path / "cache" / "uji-lib" / SMALL
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the real content")
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "data"))
    assert D.fetch("uji-lib", SMALL) == plain
    assert D.read_bytes("uji-lib", SMALL) == content
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(D.DataChecksumError, match="downloads it again"):
        D.fetch("uji-lib", SMALL)


@needs_data
def test_download_extracts_the_archive_member(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    content = _real("uji-lib/" + SMALL + ".gz")
    calls = []

    def fake_retrieve(
        url: str, known_hash: str | None, fname: str, path: Path, **kw: object
    ) -> str:
        calls.append((url, known_hash, fname))
        out = Path(path) / fname
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w") as z:  # the layout of the Zenodo package
            z.writestr("UJI_LIB_DB_v2/db/Readme.txt", "x")
            z.writestr("UJI_LIB_DB_v2/" + SMALL, content)
        return str(out)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "empty"))
    path = D.fetch("uji-lib", SMALL)
    assert path == tmp_path / "cache" / "uji-lib" / SMALL and path.read_bytes() == content
    assert calls == [(D.REGISTRY["uji-lib"].file(SMALL).url, None, "UJI_LIB_DB_v2.zip")]
    assert D.fetch("uji-lib", SMALL) == path and len(calls) == 1  # now found in the cache


@needs_data
def test_download_plain_file_and_bad_archive(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name = "AP_idx_CarPark.csv"
    calls = []

    def fake_retrieve(
        url: str, known_hash: str | None, fname: str, path: Path, **kw: object
    ) -> str:
        calls.append((url, known_hash))
        out = Path(path) / fname
        out.parent.mkdir(parents=True, exist_ok=True)
        if url.endswith(".zip"):  # an archive with the wrong content
            with zipfile.ZipFile(out, "w") as z:
                z.writestr("UJI_LIB_DB_v2/" + SMALL, b"wrong")
        else:
            shutil.copy(DATA_ROOT / "rtt-yu" / name, out)
        return str(out)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "empty"))
    f = D.REGISTRY["rtt-yu"].file(name)
    assert D.fetch("rtt-yu", name) == tmp_path / "cache" / "rtt-yu" / name
    assert calls == [(f.url, f"sha256:{f.sha256}")]
    assert f.url.endswith("/raw_data/CarPark/AP_idx_CarPark.csv")
    with pytest.raises(D.DataChecksumError, match="_archives"):
        D.fetch("uji-lib", SMALL)


def test_unavailable_dataset_never_downloads_and_unverified_file_warns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _isolated: list[tuple]
) -> None:
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(D.DataFileMissing, match="not obtainable automatically"):
        D.fetch("uts", "UTS_training.csv")
    assert _isolated == []
    target = tmp_path / "data" / "uts" / "UTS_training.csv"
    target.parent.mkdir(parents=True)
    target.write_text("WAP001\n100\n")
    with pytest.warns(D.DataIntegrityWarning, match="no registered sha256"):
        assert D.fetch("uts", "UTS_training.csv") == target
    with pytest.warns(D.DataIntegrityWarning):
        assert D.read_csv("uts", "UTS_training.csv").shape == (1, 1)


@needs_data
def test_verify_all() -> None:
    assert D.verify_all(["tut3", "uts"]) == "10 files of 1 dataset(s) verified"


def test_verify_all_offline_tries_each_url_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _isolated: list[tuple]
) -> None:
    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(D.DataError, match=r"^10 data file\(s\) failed[\s\S]*and 5 more$"):
        D.verify_all(["tut3"])
    assert len(_isolated) == 1  # one archive URL, tried once


# --- loaders --------------------------------------------------------------------------------------


@needs_data
def test_ujiindoorloc_loader() -> None:
    train = D.load_ujiindoorloc("train")
    val = D.load_ujiindoorloc("validation")
    assert train.shape == (19_937, 529) and val.shape == (1_111, 529)
    assert list(train.columns[:2]) == ["WAP001", "WAP002"] and train.columns[519] == "WAP520"
    assert list(train.columns[520:]) == [
        "LONGITUDE", "LATITUDE", "FLOOR", "BUILDINGID", "SPACEID",
        "RELATIVEPOSITION", "USERID", "PHONEID", "TIMESTAMP",
    ]  # fmt: skip
    rss, pos, floor, building = D.ujiindoorloc_arrays("validation")
    assert rss.shape == (1_111, 520) and rss.dtype == np.float32
    assert pos.shape == (1_111, 2) and pos.dtype == np.float64
    assert (rss == 100).mean() > 0.9 and rss[rss != 100].max() <= 0
    assert set(np.unique(floor)) <= {0, 1, 2, 3, 4} and set(np.unique(building)) == {0, 1, 2}
    np.testing.assert_array_equal(pos[:, 1], val["LATITUDE"].to_numpy())


@needs_data
def test_tut3_loader() -> None:
    rss, coords, floor = D.load_tut3("train")
    assert rss.shape == (697, 992) and coords.shape == (697, 3) and rss.dtype == np.float32
    assert np.bincount(floor).tolist() == [226, 197, 139, 118, 17]  # MANIFEST: floors of z
    test = D.load_tut3("test")
    assert test.rss.shape == (3_951, 992)
    assert np.bincount(test.floor).tolist() == [1265, 1108, 770, 699, 109]


@needs_data
def test_uji_lib_loader() -> None:
    train = D.load_uji_lib(month=1, split="train")
    assert train.rss.shape == (576, 620) and train.coords.shape == (576, 2)
    assert set(np.unique(train.floor)) == {3, 5} and set(train.set_id) == {1}
    assert train.time[0] == np.datetime64("2016-06-02T15:52:17.232")
    assert train.ids[0] == 101100101
    test = D.load_uji_lib(1, "test")
    assert test.rss.shape == (3_120, 620) and set(test.set_id) == {1, 2, 3, 4, 5}
    heard = ((np.vstack([train.rss, test.rss]) != 100).any(axis=0)).sum()
    assert heard == 174  # MANIFEST: APs heard in trn01 + tst01-tst05
    two = D.load_uji_lib(1, "train", sets=[2, 3])
    assert len(two.rss) == 1_152 and list(np.unique(two.set_id)) == [2, 3]


@pytest.mark.parametrize(
    ("call", "param", "value"),
    [
        (lambda: D.load_ujiindoorloc("test"), "split", "'test'"),
        (lambda: D.ujiindoorloc_arrays("Train"), "split", "'Train'"),
        (lambda: D.load_tut3("validation"), "split", "'validation'"),
        (lambda: D.load_uji_lib(1, "validation"), "split", "'validation'"),
        (lambda: D.load_uji_lib(26), "month", "26"),
        (lambda: D.load_uji_lib("1"), "month", "'1'"),
        (lambda: D.load_uji_lib(2, "train", sets=[2]), "sets", "2"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_parameter(call, param: str, value: str) -> None:
    with pytest.raises(ValueError, match="allowed values") as info:
        call()
    assert str(info.value).startswith(f"{param}") and f"={value} is not valid" in str(info.value)


def test_read_csv_passes_options(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch_mod, "_locate", lambda ds, f: Path(os.devnull))
    monkeypatch.setattr(fetch_mod, "_content", lambda p: b"a;b\n1;2\n")
    monkeypatch.setattr(fetch_mod, "_check", lambda *a: None)
    df = D.read_csv("rtt-yu", "AP_idx_Library.csv", sep=";")
    pd.testing.assert_frame_equal(df, pd.DataFrame({"a": [1], "b": [2]}))


# --- the book page ----------------------------------------------------------------------------------


def test_book_page_is_accurate() -> None:
    """Each sha256 in book/datasets.md is the registry's for the file named on that row."""
    text = BOOK_PAGE.read_text("utf-8")
    by_sha: dict[str, list[D.DataFile]] = {}
    for ds in D.REGISTRY.values():
        for f in ds.files:
            by_sha.setdefault(f.sha256, []).append(f)  # identical files share a sha256
    rows = [line for line in text.splitlines() if re.search(r"\b[0-9a-f]{64}\b", line)]
    assert len(rows) >= 30
    for line in rows:
        for sha in re.findall(r"\b[0-9a-f]{64}\b", line):
            named = [f for f in by_sha[sha] if f"`{f.relpath.partition('/')[2]}`" in line]
            assert len(named) == 1, line
            assert f"| {named[0].size:,} |" in line, line
    for key, ds in D.REGISTRY.items():
        if ds.available:
            assert f"`{key}`" in text and ds.licence in text
    assert "IPSBOOK_DATA_DIR" in text and "UTS" in text
    assert io.StringIO(text).readline().startswith("# Datasets")
