"""The browser check of the rendered book (``ipsbook.book.bookcheck``, ``make check-book``).

* On a tiny synthetic site written here: every kind of failure is found and named (a broken
  image, a dead link, a missing anchor, a JavaScript error, a traceback, a claim without its
  figure or table), and a clean site has none.
* On the real book: the smoke runs (``smoke_runs``, shared with ``test_notebooks.py``) are built
  into a copy of the project under a temporary folder (``ipsbook build --no-html --project``,
  then ``jupyter-book build -W -n --keep-going``), so a user's ``book/chapters`` and ``_build``
  are never touched; then the check must find nothing, and each chapter and the scorecard must
  have its screenshot.

Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run`` installs them). Without them the
browser tests are skipped, except under CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import base64
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, ipsbook_command, run_log_tail

from ipsbook.book import bookcheck
from ipsbook.book.bookcheck import APT_HINT, BookCheckError, check_book

# a 2×2 red PNG
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8DAwMDAwMDAAAAh/wH/"
    "7GhKbQAAAABJRU5ErkJggg=="
)
BUILD_TIMEOUT_S = 300


@pytest.fixture(scope="module")
def browser() -> None:
    missing = bookcheck.missing_tools()
    if missing:
        why = f"the browser check needs {', '.join(missing)}; install with: {APT_HINT}"
        if os.environ.get("CI"):
            pytest.fail(f"under CI: {why}")
        pytest.skip(why)


def _page(title: str, body: str, head: str = "") -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<link rel='icon' href='data:,'>{head}</head><body>{body}</body></html>"
    )


def _write(root: Path, rel: str, text: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def _clean_site(root: Path) -> Path:
    """index → scorecard → a chapter whose claim anchor is followed by a figure and a table."""
    html = root / "html"
    _write(html, "index.html", _page("home", (
        "<p><a href='book/scorecard.html'>scorecard</a> "
        "<a href='book/chapters/good.html#fig-1'>figure 1</a> <a href='#top'>top</a></p>"
        "<span id='top'></span><a href='https://example.invalid/x'>elsewhere</a>"
    )))
    _write(html, "book/chapters/fig.png", PNG)
    _write(html, "book/chapters/good.html", _page("good", (
        "<section id='chapter'><h1>Good</h1>"
        "<section id='figure-1'><span id='fig-1'></span><h2>Fig. 1</h2>"
        "<div class='cell_output'><img src='fig.png' alt='fig'></div>"
        "<table><tr><td>1</td></tr></table></section>"
        "<section id='text-only'><span id='bare'></span><h2>Words</h2><p>no figure</p></section>"
        "</section>"
    )))
    _write(html, "book/scorecard.html", _page("scorecard", (
        "<table><tr><td><a href='chapters/good.html#fig-1'>Fig. 1</a></td></tr></table>"
    )))
    return html


def _bad_site(root: Path) -> Path:
    html = _clean_site(root)
    _write(html, "book/chapters/bad.html", _page("bad", (
        "<section id='bad'><h1>Bad</h1>"
        "<img src='missing.png' alt='gone'>"
        "<a href='nowhere.html'>dead link</a>"
        "<a href='../../index.html#nope'>missing anchor</a>"
        "<a href='good.html#fig-1'>good anchor</a>"
        "<div class='cell_output docutils container'>"
        "<div class='output traceback highlight-ipythontb notranslate'><pre>"
        "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: boom</pre>"
        "</div></div></section>"
        "<script>throw new Error('x')</script>"
    )))
    # a traceback printed as plain text (no error class on the output)
    _write(html, "book/chapters/text_tb.html", _page("text traceback", (
        "<div class='output stream highlight-myst-ansi'><pre>"
        "Traceback (most recent call last):\n  File \"y.py\"\nKeyError: 'k'</pre></div>"
    )))
    # the scorecard also refers to an anchor without a figure and to one that does not exist
    _write(html, "book/scorecard.html", _page("scorecard", (
        "<a href='chapters/good.html#fig-1'>ok</a>"
        "<a href='chapters/good.html#bare'>no figure</a>"
        "<a href='chapters/good.html#gone'>gone</a>"
    )))
    return html


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


def test_clean_site_has_no_failures(browser, tmp_path: Path) -> None:
    html = _clean_site(tmp_path)
    report = check_book(html, tmp_path / "shots")
    assert report.failures == [], report.format()
    assert sorted(report.pages) == ["book/chapters/good.html", "book/scorecard.html", "index.html"]
    assert sorted(p.name for p in report.screenshots) == ["good.png", "scorecard.png"]
    for png in report.screenshots:
        assert png.parent == tmp_path / "shots" and _png_size(png) == bookcheck.WINDOW


def test_each_failure_is_found_and_named(browser, tmp_path: Path) -> None:
    html = _bad_site(tmp_path)
    report = check_book(html, tmp_path / "shots")
    text = report.format()
    bad, good = "book/chapters/bad.html", "book/chapters/good.html"
    expected = {
        "broken image": (bad, "missing.png", "image did not load"),
        "dead link": (bad, "nowhere.html", "HTTP 404"),
        "missing anchor": (bad, "#nope", "anchor #nope does not exist on index.html"),
        "JavaScript error": (bad, "console", "Uncaught Error: x"),
        "error output": (bad, "traceback", "error output in the chapter: ValueError: boom"),
        "traceback text": ("book/chapters/text_tb.html", "page text", "Python traceback"),
        "claim without figure": (good, "#bare", "no figure or table follows it"),
        "claim anchor missing": (good, "#gone", "no such anchor"),
    }
    unmatched = list(report.failures)
    for what, (page, element, problem) in expected.items():
        hits = [f for f in unmatched
                if f.page == page and element in f.element and problem in f.problem]
        assert len(hits) == 1, f"{what}: expected one failure on {page}, got {hits}\n{text}"
        unmatched.remove(hits[0])
    assert not unmatched, f"unexpected failures: {unmatched}\n{text}"
    # the good anchor, the in-page anchor and the external link raised nothing
    assert "fig-1" not in text and "#top" not in text and "example.invalid" not in text
    for page, element, problem in report.failures:
        assert f"{page}: {element}: {problem}" in [str(f) for f in report.failures]
        assert page in text and problem in text


def test_cli_exit_codes(browser, tmp_path: Path, capsys) -> None:
    bad = _bad_site(tmp_path / "bad")
    assert bookcheck.main([str(bad)]) == 1
    out = capsys.readouterr().out
    assert "book/chapters/bad.html" in out and "missing.png" in out
    assert (tmp_path / "bad" / "screenshots" / "bad.png").is_file()  # beside html/
    clean = _clean_site(tmp_path / "clean")
    assert bookcheck.main([str(clean), "--screenshots", str(tmp_path / "s")]) == 0
    assert "no failures" in capsys.readouterr().out


def test_clear_errors_without_book_or_browser(tmp_path: Path, capsys) -> None:
    assert bookcheck.main([str(tmp_path / "nothing")]) == 2
    assert "make book" in capsys.readouterr().err
    html = _clean_site(tmp_path)
    with pytest.raises(BookCheckError, match="apt-get install -y chromium chromium-driver"):
        check_book(html, tmp_path / "s", chromium=str(tmp_path / "no-chromium"))
    fake = tmp_path / "chromium"  # an executable, so that the driver is what is missing
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    with pytest.raises(BookCheckError, match="chromedriver not found"):
        check_book(html, tmp_path / "s", chromium=str(fake),
                   chromedriver=str(tmp_path / "no-driver"))


# --------------------------------------------------------------------------- the real book


def _jupyter_book() -> str | None:
    here = Path(sys.executable).parent / "jupyter-book"
    return str(here) if here.is_file() else shutil.which("jupyter-book")


@pytest.fixture(scope="module")
def smoke_book(smoke_runs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The smoke book's HTML, built in a copy of the project (never in the user's tree)."""
    jb = _jupyter_book()
    if jb is None:
        why = "jupyter-book is not installed (pip install 'ipsbook[book]')"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    proj = tmp_path_factory.mktemp("book")
    for name in ("pyproject.toml", "_config.yml", "_toc.yml"):
        shutil.copy2(REPO / name, proj / name)
    shutil.copytree(REPO / "notebooks", proj / "notebooks",
                    ignore=shutil.ignore_patterns("*.ipynb", "__pycache__", ".*"))
    # generated pages are written again below from the smoke runs
    shutil.copytree(REPO / "book", proj / "book",
                    ignore=shutil.ignore_patterns("chapters", "scorecard.md", "performance.md",
                                                  "_generated", ".*"))
    # the book's local Sphinx extensions (named in _config.yml)
    shutil.copytree(REPO / "_ext", proj / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    for cmd in (
        [*ipsbook_command(), "build", "--profile", "smoke", "--runs", str(smoke_runs),
         "--no-html", "--project", str(proj)],
        [jb, "build", str(proj), "-W", "-n", "--keep-going"],
    ):
        proc = subprocess.run(cmd, cwd=proj, check=False, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT_S)
        assert proc.returncode == 0, (
            f"$ {' '.join(cmd)}\nexit {proc.returncode}\n{proc.stdout[-4000:]}\n"
            f"{proc.stderr[-4000:]}\n--- smoke runs:\n{run_log_tail(smoke_runs)}"
        )
    return proj / "_build" / "html"


def test_smoke_book_in_the_browser(browser, smoke_book: Path, tmp_path: Path) -> None:
    chapters = sorted(p.stem for p in (smoke_book.parent.parent / "book" / "chapters")
                      .glob("*.ipynb"))
    assert chapters, "ipsbook build put no chapter into the book"
    report = check_book(smoke_book, tmp_path / "screenshots")
    assert report.failures == [], "the smoke book, as a reader's browser shows it:\n" + \
        report.format()
    for name in chapters:
        assert f"book/chapters/{name}.html" in report.pages
    assert report.claims, "the scorecard links no claim to a chapter's figure or table"
    shots = {p.name: p for p in report.screenshots}
    assert sorted(shots) == sorted([*(f"{n}.png" for n in chapters), "scorecard.png"])
    for png in shots.values():
        assert png.is_file() and _png_size(png) == bookcheck.WINDOW
