"""Where data and trained artefacts go: the checkout's data/ (downloads, with a README written
from the registry) and .cache/ (trained artefacts), each overridable by an environment variable."""

from __future__ import annotations

from pathlib import Path

import ipsbook.data as D

REPO = Path(__file__).resolve().parents[1]


def test_the_committed_data_readme_is_the_registrys():
    committed = (REPO / "data" / "README.md").read_text(encoding="utf-8")
    assert committed == D.readme(), "data/README.md is stale: run `make data-readme`"


def test_readme_lists_every_file_with_its_checksum():
    text = D.readme()
    for ds in D.REGISTRY.values():
        assert f"## `{ds.key}`" in text and ds.licence in text
        for f in ds.files[:3]:
            assert f"`{f.relpath}` | `{f.sha256 or 'unknown'}`" in text


def test_checkout_folders_by_default(monkeypatch):
    monkeypatch.delenv("IPSBOOK_DOWNLOAD_DIR", raising=False)
    monkeypatch.delenv("IPSBOOK_CACHE_DIR", raising=False)
    assert D.project_root() == REPO
    assert D.download_dir() == REPO / "data"
    assert D.cache_dir() == REPO / ".cache"


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("IPSBOOK_DOWNLOAD_DIR", str(tmp_path / "dl"))
    monkeypatch.setenv("IPSBOOK_CACHE_DIR", str(tmp_path / "art"))
    assert D.download_dir() == tmp_path / "dl"
    assert D.cache_dir() == tmp_path / "art"


def test_downloads_folder_is_searched_after_the_data_dirs(monkeypatch, tmp_path):
    from ipsbook.data.fetch import _candidates

    monkeypatch.setenv("IPSBOOK_DATA_DIR", str(tmp_path / "mine"))
    monkeypatch.setenv("IPSBOOK_DOWNLOAD_DIR", str(tmp_path / "dl"))
    f = D.get_dataset("ujiindoorloc").files[0]
    labels = [label for _, label in _candidates(f)]
    roots = [p for p, _ in _candidates(f)]
    assert labels[0] == "$IPSBOOK_DATA_DIR" and labels[-1] == "downloads"
    assert roots[0].is_relative_to(tmp_path / "mine") and roots[-1].is_relative_to(tmp_path / "dl")


def test_data_folder_content_is_ignored_but_its_readme(tmp_path):
    import subprocess

    probe = REPO / "data" / "some-download.csv"
    out = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q", str(probe)], check=False)
    readme = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q",
                             str(REPO / "data" / "README.md")], check=False)
    cache = subprocess.run(["git", "-C", str(REPO), "check-ignore", "-q",
                            str(REPO / ".cache" / "mst" / "x.pt")], check=False)
    assert out.returncode == 0 and cache.returncode == 0 and readme.returncode == 1


def test_loaders_are_imported_on_first_use_only():
    """A chapter that reads one dataset does not import (and so does not depend on) the other
    datasets' loaders: the runner's staleness check rests on the modules a kernel imported."""
    import subprocess
    import sys

    code = ("import sys, ipsbook.data as D; "
            "print(sorted(m for m in sys.modules if m.startswith('ipsbook.data.'))); "
            "D.load_site; print(sorted(m for m in sys.modules if m.startswith('ipsbook.data.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert out[0] == "['ipsbook.data.fetch', 'ipsbook.data.registry']"
    assert "ipsbook.data.ilc" in out[1] and "ipsbook.data.rtt" not in out[1]


def test_every_public_name_resolves():
    missing = [n for n in D.__all__ if getattr(D, n, None) is None]
    assert missing == []
