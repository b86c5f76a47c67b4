"""The rendered book as a reader meets it, checked in a real browser (headless Chromium).

:func:`check_book` serves ``_build/html`` on 127.0.0.1, opens every page in Debian's
``chromium`` through ``chromedriver`` (selenium; never a downloaded browser or driver) and records
a failure, naming the page and the element, when

* an image does not load (``naturalWidth == 0`` once the page has loaded);
* an internal link points to a page that does not exist, or to an ``#anchor`` that the target
  page does not have;
* the browser console logs an error (a JavaScript exception, or a same-origin resource that
  failed to load; a missing ``favicon.ico`` is ignored);
* a chapter page (``book/chapters/*.html``) shows a Python traceback or an error output cell;
* a claim of the scorecard (``book/scorecard.html``) links to an anchor that its chapter lacks,
  or that is not followed, within its section, by the figure or table the claim refers to.

It saves a 1280×900 PNG of each chapter's first screen and of the scorecard. Run it with
``python -m ipsbook.book.bookcheck [HTML_DIR]`` (``make check-book``): exit 1 with the list of
failures, 0 when there are none, 2 when the check cannot run (no book, no browser).

Requires ``selenium`` (``pip install 'ipsbook[test]'``) and, on Debian/Ubuntu,
``apt-get install -y chromium chromium-driver``.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
APT_HINT = "apt-get update && apt-get install -y chromium chromium-driver"
CHAPTER_PATTERN = "book/chapters/*.html"
SCORECARD_PAGE = "book/scorecard.html"
WINDOW = (1280, 900)
# pages a reader does not read as such (Sphinx's index and search pages, theme assets)
SKIPPED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-quic", "--disable-dev-shm-usage", "--no-proxy-server",
    f"--window-size={WINDOW[0]},{WINDOW[1]}",
)
PAGE_TIMEOUT_S = 60
IMAGE_WAIT_S = 15


class BookCheckError(RuntimeError):
    """The check cannot run (no built book, no browser, no selenium); the CLI exits 2."""


class Failure(NamedTuple):
    """One problem a reader would meet: the page, the element, what is wrong."""

    page: str
    element: str
    problem: str

    def __str__(self) -> str:
        return f"{self.page}: {self.element}: {self.problem}"


@dataclass
class Report:
    """What :func:`check_book` found."""

    html_dir: Path
    pages: list[str] = field(default_factory=list)  # pages opened, relative to html_dir
    failures: list[Failure] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)
    claims: dict[str, list[str]] = field(default_factory=dict)  # chapter page -> anchors checked
    # resources on other hosts that did not load (the check runs offline): listed, not failures
    offline: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    def format(self) -> str:
        """A readable summary: the failures grouped by page, then the screenshots."""
        lines = [
            f"checked {len(self.pages)} pages of {self.html_dir} "
            f"({sum(map(len, self.claims.values()))} claim anchors) in {self.seconds:.1f} s: "
            + (f"{len(self.failures)} failure(s)" if self.failures else "no failures")
        ]
        by_page: dict[str, list[Failure]] = {}
        for f in self.failures:
            by_page.setdefault(f.page, []).append(f)
        for page, found in by_page.items():
            lines.append(f"\n{page}")
            lines += [f"  - {f.element}: {f.problem}" for f in found]
        if self.offline:
            lines.append(
                f"\nnot checked (other hosts, offline): {len(self.offline)} resource(s), "
                f"e.g. {self.offline[0]}"
            )
        if self.screenshots:
            folder = self.screenshots[0].parent
            names = ", ".join(p.name for p in self.screenshots)
            lines.append(f"\nscreenshots in {folder}: {names}")
        return "\n".join(lines)


# --------------------------------------------------------------------------- the local server


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(html_dir: Path) -> Iterator[str]:
    """Serve ``html_dir`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bookcheck-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# no proxy for 127.0.0.1, whatever the environment says
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http_status(url: str) -> int:
    try:
        with _OPENER.open(urllib.request.Request(url, method="HEAD"), timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


class _IdParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value and (key == "id" or (key == "name" and tag == "a")):
                self.ids.add(value)


def _static_ids(path: Path) -> set[str]:
    parser = _IdParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser.ids


# --------------------------------------------------------------------------- the browser


def _tool(path: str | None, env: str, default: str, what: str) -> str:
    chosen = path or os.environ.get(env) or default
    if not (Path(chosen).is_file() and os.access(chosen, os.X_OK)):
        raise BookCheckError(
            f"{what} not found at {chosen} (set {env} to use another); on Debian/Ubuntu install "
            f"it with: {APT_HINT}"
        )
    return chosen


def missing_tools(chromium: str | None = None, chromedriver: str | None = None) -> list[str]:
    """What the browser check lacks here (empty when it can run): the browser, the driver
    (``IPSBOOK_CHROMIUM`` / ``IPSBOOK_CHROMEDRIVER`` override the Debian paths) or selenium."""
    missing = []
    for path, env, default, what in (
        (chromium, "IPSBOOK_CHROMIUM", CHROMIUM, "chromium"),
        (chromedriver, "IPSBOOK_CHROMEDRIVER", CHROMEDRIVER, "chromedriver"),
    ):
        try:
            _tool(path, env, default, what)
        except BookCheckError:
            missing.append(f"{what} ({path or os.environ.get(env) or default})")
    try:
        _require_selenium()
    except BookCheckError:
        missing.append("selenium (pip install 'ipsbook[test]')")
    return missing


def _require_selenium() -> None:
    try:
        import selenium  # noqa: F401
    except ImportError as exc:
        raise BookCheckError(
            "the browser check needs selenium: pip install 'ipsbook[test]' (or make venv)"
        ) from exc


@contextmanager
def chromium_driver(
    chromium: str | None = None, chromedriver: str | None = None
) -> Iterator[Any]:
    """A headless Chromium driven by selenium through the system's ``chromedriver``.

    The driver's path is given explicitly, so Selenium Manager never runs (it would download a
    driver or a browser); ``SE_OFFLINE`` forbids it to download anything in any case.
    """
    browser = _tool(chromium, "IPSBOOK_CHROMIUM", CHROMIUM, "chromium")
    driver_path = _tool(chromedriver, "IPSBOOK_CHROMEDRIVER", CHROMEDRIVER, "chromedriver")
    _require_selenium()
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")

    with tempfile.TemporaryDirectory(prefix="ipsbook-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for arg in (*CHROMIUM_ARGS, f"--user-data-dir={profile}/user-data"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        log = Path(profile) / "chromedriver.log"
        service = Service(executable_path=driver_path, log_output=str(log))
        try:
            driver = webdriver.Chrome(service=service, options=options)
        except WebDriverException as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise BookCheckError(
                f"could not start {browser} through {driver_path} (are their versions the "
                f"same? {APT_HINT}):\n{exc.msg or exc}\n{tail}"
            ) from exc
        try:
            driver.set_page_load_timeout(PAGE_TIMEOUT_S)
            # the first screen is exactly WINDOW, whatever the headless window's decorations
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False,
            })
            yield driver
        finally:
            driver.quit()


# One round trip per page: everything the checks need from the DOM.
_COLLECT_JS = r"""
const chapter = arguments[0];
const claimIds = arguments[1];
function describe(el) {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  else if (el.classList.length) s += '.' + Array.from(el.classList).slice(0, 3).join('.');
  for (const a of ['src', 'href']) {
    const v = el.getAttribute(a);
    if (v !== null) s += '[' + a + '="' + (v.length > 90 ? v.slice(0, 87) + '...' : v) + '"]';
  }
  const sec = el.closest('section[id]');
  if (sec && sec !== el) s += ' in section #' + sec.id;
  return s;
}
const out = {ids: [], links: [], images: [], errors: [], traceback: false, claims: []};
for (const e of document.querySelectorAll('[id]')) out.ids.push(e.id);
for (const e of document.querySelectorAll('a[name]')) out.ids.push(e.getAttribute('name'));
for (const a of document.querySelectorAll('a[href]')) {
  const text = (a.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 60);
  out.links.push({href: a.href, where: describe(a) + (text ? ' "' + text + '"' : '')});
}
for (const img of document.images) {
  out.images.push({src: img.currentSrc || img.src, complete: img.complete,
                   width: img.naturalWidth, where: describe(img)});
}
if (chapter) {
  const sel = '.output.error, .output.traceback, .traceback, [class*="highlight-ipythontb"]';
  const seen = new Set();
  for (const e of document.querySelectorAll(sel)) {
    const top = e.parentElement && e.parentElement.closest(sel);
    if (top || seen.has(e)) continue;
    seen.add(e);
    const first = (e.innerText || '').trim().split('\n').filter(Boolean).slice(-1)[0] || '';
    out.errors.push({where: describe(e), text: first.slice(0, 160)});
  }
  out.traceback = (document.body.innerText || '').includes('Traceback (most recent call last)');
}
for (const id of claimIds) {
  const el = document.getElementById(id);
  if (!el) { out.claims.push([id, 'missing']); continue; }
  const sec = el.tagName === 'SECTION' ? el : (el.closest('section') || el.parentElement);
  const after = Array.from(sec.querySelectorAll('img, table')).filter(
    x => x === el || (el.compareDocumentPosition(x) & Node.DOCUMENT_POSITION_FOLLOWING));
  out.claims.push([id, after.length ? 'ok' : 'no figure or table']);
}
return out;
"""

_IMAGES_SETTLED_JS = """
for (const img of document.images) { if (img.loading === 'lazy') img.loading = 'eager'; }
return document.readyState === 'complete' && Array.from(document.images).every(i => i.complete);
"""


# --------------------------------------------------------------------------- the check


def book_pages(html_dir: Path) -> list[str]:
    """The pages a reader reads: every ``.html`` under ``html_dir`` except Sphinx's index and
    search pages and anything under a ``_``-folder (``_static``, ``_sources``, ``_images``)."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        rel = path.relative_to(html_dir).as_posix()
        if rel in SKIPPED_PAGES or any(part.startswith("_") for part in rel.split("/")[:-1]):
            continue
        pages.append(rel)
    return pages


def _is_chapter(page: str) -> bool:
    return PurePosixPath(page).match(CHAPTER_PATTERN)


def _page_of(path: str) -> str:
    """The file a same-origin URL path serves, relative to the root (``/`` → ``index.html``)."""
    rel = unquote(path).lstrip("/")
    return rel + "index.html" if rel == "" or rel.endswith("/") else rel


def _console_failures(
    page: str, entries: Iterable[Mapping[str, Any]], origin: str, broken_images: set[str],
    offline: list[str],
) -> list[Failure]:
    found = []
    for entry in entries:
        if entry.get("level") != "SEVERE":
            continue
        message = str(entry.get("message", ""))
        source = entry.get("source", "")
        if "favicon.ico" in message:
            continue
        url = message.split(" ", 1)[0]
        if source == "network":
            if url in broken_images:  # already named as a broken image
                continue
            if url.startswith(("http://", "https://")) and not url.startswith(origin):
                offline.append(url)
                continue
            found.append(Failure(page, f"resource {url.removeprefix(origin)}",
                                 f"failed to load ({message[len(url):].strip()})"))
        else:
            where = re.match(r"^(\S+) (\d+:\d+) ", message)  # "URL line:col message"
            text = message[where.end():] if where else message
            script = (f" at {where.group(1).removeprefix(origin)} {where.group(2)}"
                      if where else "")
            kind = "console.error" if source == "console-api" else "JavaScript error"
            found.append(Failure(page, f"console ({source or 'javascript'}){script}",
                                 f"{kind}: {text[:300]}"))
    return found


def _claims_from_scorecard(links: Sequence[Mapping[str, str]], origin: str) -> dict[str, list[str]]:
    claims: dict[str, list[str]] = {}
    for link in links:
        parts = urlsplit(link["href"])
        if not link["href"].startswith(origin) or not parts.fragment:
            continue
        target = _page_of(parts.path)
        if _is_chapter(target):
            anchors = claims.setdefault(target, [])
            if unquote(parts.fragment) not in anchors:
                anchors.append(unquote(parts.fragment))
    return claims


def check_book(
    html_dir: str | Path = "_build/html",
    screenshots: str | Path | None = None,
    claims_tables: Mapping[str, Iterable[str]] | None = None,
    *,
    chromium: str | None = None,
    chromedriver: str | None = None,
) -> Report:
    """Open every page of the built book in headless Chromium; return what a reader would trip on.

    ``screenshots``: where the PNGs of the chapters' first screens and of the scorecard go
    (default: ``screenshots/`` beside ``html_dir``, i.e. ``_build/screenshots``).
    ``claims_tables``: the anchors that claims refer to, ``{chapter page: [anchor id, ...]}``
    with pages relative to ``html_dir``; by default, every link from ``book/scorecard.html`` to
    a chapter's anchor. Raises :class:`BookCheckError` when the check cannot run.
    """
    start = time.monotonic()
    root = Path(html_dir).resolve()
    if not (root / "index.html").is_file():
        raise BookCheckError(
            f"{root} holds no built book (no index.html): run `make book` "
            "(or `make book PROFILE=smoke` for a fast one) first"
        )
    shots = Path(screenshots) if screenshots is not None else root.parent / "screenshots"
    report = Report(html_dir=root, pages=book_pages(root))
    has_chapters = any(_is_chapter(p) for p in report.pages)
    if has_chapters and claims_tables is None and SCORECARD_PAGE not in report.pages:
        report.failures.append(Failure(SCORECARD_PAGE, "page", "the book has chapters but no "
                                       "scorecard page (ipsbook build writes it)"))
    # the scorecard first: its links say which chapter anchors the claims refer to
    order = sorted(report.pages, key=lambda p: (p != SCORECARD_PAGE, p))
    claims: dict[str, list[str]] = (
        {k: list(v) for k, v in claims_tables.items()} if claims_tables is not None else {}
    )
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str, str]] = []  # (page, absolute href, element)

    _require_selenium()
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    with serve(root) as base, chromium_driver(chromium, chromedriver) as driver:
        origin = base.rstrip("/")
        for page in order:
            try:
                driver.get(base + page)
            except TimeoutException:
                report.failures.append(Failure(page, "page", f"did not load in {PAGE_TIMEOUT_S} s"))
                continue
            try:
                WebDriverWait(driver, IMAGE_WAIT_S, poll_frequency=0.05).until(
                    lambda d: d.execute_script(_IMAGES_SETTLED_JS))
            except TimeoutException:
                pass  # the unfinished images are reported below
            page_claims = claims.get(page, [])
            data = driver.execute_script(_COLLECT_JS, _is_chapter(page), page_claims)
            ids[page] = set(data["ids"])
            links += [(page, link["href"], link["where"]) for link in data["links"]]

            broken: set[str] = set()
            for img in data["images"]:
                if img["width"] == 0:
                    broken.add(img["src"])
                    why = "did not load (naturalWidth 0)" if img["complete"] else \
                        f"still loading after {IMAGE_WAIT_S} s"
                    report.failures.append(Failure(page, img["where"], f"image {why}"))
            try:
                entries = driver.get_log("browser")
            except WebDriverException:  # pragma: no cover (a driver without the log endpoint)
                entries = []
            report.failures += _console_failures(page, entries, origin, broken, report.offline)

            for err in data["errors"]:
                report.failures.append(Failure(
                    page, err["where"], f"error output in the chapter: {err['text']}"))
            if data["traceback"] and not data["errors"]:
                report.failures.append(Failure(
                    page, "page text", "shows a Python traceback "
                    "('Traceback (most recent call last)')"))
            for anchor, status in data["claims"]:
                element = f"#{anchor} (a claim's anchor" + (
                    f", linked from {SCORECARD_PAGE})" if claims_tables is None else ")")
                if status == "missing":
                    report.failures.append(Failure(page, element, "no such anchor on the page"))
                elif status != "ok":
                    report.failures.append(Failure(
                        page, element, "no figure or table follows it within its section"))

            if page == SCORECARD_PAGE and claims_tables is None:
                claims = _claims_from_scorecard(data["links"], origin)
            if page == SCORECARD_PAGE or _is_chapter(page):
                shots.mkdir(parents=True, exist_ok=True)
                png = shots / f"{PurePosixPath(page).stem}.png"
                driver.execute_script("window.scrollTo(0, 0);")
                if driver.get_screenshot_as_file(str(png)):
                    report.screenshots.append(png)
                else:  # pragma: no cover
                    report.failures.append(Failure(page, "screenshot", f"could not save {png}"))

        report.failures += _link_failures(root, origin, links, ids, claims)
    for target, anchors in claims.items():
        if target not in report.pages:
            report.failures.append(Failure(
                target, f"claims #{', #'.join(anchors)}", "the chapter page does not exist"))
    report.claims = claims
    report.seconds = time.monotonic() - start
    return report


def _link_failures(
    root: Path, origin: str, links: list[tuple[str, str, str]], ids: dict[str, set[str]],
    claims: Mapping[str, Iterable[str]],
) -> list[Failure]:
    """Same-origin links whose page does not answer 200, or whose ``#anchor`` is absent."""
    claimed = {(page, a) for page, anchors in claims.items() for a in anchors}
    status: dict[str, int] = {}
    found = []
    for page, href, where in links:
        if not href.startswith(origin + "/"):
            continue  # other hosts are not checked (offline), nor mailto: or javascript:
        parts = urlsplit(href)
        url = f"{origin}{parts.path}"
        if url not in status:
            status[url] = _http_status(url)
        if status[url] != 200:
            found.append(Failure(page, f"link {where}",
                                 f"points to {parts.path} (HTTP {status[url] or 'no answer'})"))
            continue
        fragment = unquote(parts.fragment)
        if not fragment or fragment.startswith(":~:"):
            continue
        target = _page_of(parts.path)
        if (target, fragment) in claimed:
            continue  # reported by the claims check, against the chapter
        if target not in ids:
            file = root / target
            if file.suffix != ".html" or not file.is_file():
                continue
            ids[target] = _static_ids(file)
        if fragment not in ids[target]:
            found.append(Failure(page, f"link {where}",
                                 f"anchor #{fragment} does not exist on {target}"))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ipsbook.book.bookcheck [HTML_DIR]``: 0 when the book is clean, 1 with failures,
    2 when the check cannot run."""
    parser = argparse.ArgumentParser(
        prog="python -m ipsbook.book.bookcheck",
        description="Open every page of the built book in headless Chromium and report broken "
                    "images, dead links and anchors, JavaScript errors, tracebacks in chapters "
                    "and claims without their figure or table; save screenshots.",
    )
    parser.add_argument("html_dir", nargs="?", default="_build/html",
                        help="the built HTML book (default: _build/html)")
    parser.add_argument("--screenshots", metavar="DIR",
                        help="where the PNGs go (default: screenshots/ beside HTML_DIR)")
    args = parser.parse_args(argv)
    try:
        report = check_book(args.html_dir, args.screenshots)
    except BookCheckError as exc:
        print(f"check-book: {exc}", file=sys.stderr)
        return 2
    print(report.format())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "APT_HINT", "BookCheckError", "Failure", "Report", "book_pages", "check_book",
    "chromium_driver", "main", "missing_tools", "serve",
]
