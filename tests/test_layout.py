"""The package has two wings: the science (data, radio, models, methods, metrics, plotting,
stats, training, ...) and the book machinery (``ipsbook.book``). The science never imports
the machinery, so someone who wants a method never needs the runner, and the runner can change
without touching a result."""

from __future__ import annotations

import ast
from pathlib import Path

import ipsbook

PACKAGE = Path(ipsbook.__file__).resolve().parent
BOOK = PACKAGE / "book"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every module ``path`` imports, as absolute dotted names (relative imports resolved)."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # a module's package; for __init__, the package itself
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(package[: len(package) - node.level + 1])
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            found.append((node.lineno, mod))
            found += [(node.lineno, f"{mod}.{a.name}") for a in node.names]
    return found


def _science_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if BOOK not in p.parents]


def test_the_science_wing_never_imports_the_book_machinery():
    offenders = [
        f"{p.relative_to(PACKAGE.parent)}:{line} imports {mod}"
        for p in _science_files()
        for line, mod in _imports(p)
        if mod == "ipsbook.book" or mod.startswith("ipsbook.book.")
    ]
    # __main__ is the command line's door, not science
    offenders = [o for o in offenders if not o.startswith("ipsbook/__main__.py")]
    assert offenders == [], "science modules import the book machinery:\n" + "\n".join(offenders)


def test_the_check_sees_a_relative_import_of_the_machinery(tmp_path, monkeypatch):
    """The check must be able to fail: a science module with ``from ...book import claims``
    resolves to ``ipsbook.book.claims``."""
    fake = PACKAGE / "methods" / "mst" / "plots.py"
    src = "from ...book import claims\nfrom ... import stats\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: src)
    mods = [m for _, m in _imports(fake)]
    assert "ipsbook.book.claims" in mods and "ipsbook.stats" in mods


def test_the_machinery_lives_in_one_subpackage():
    machinery = {"runner", "build", "provenance", "performance", "bookcheck", "claims",
                 "scorecard", "cli", "inputs", "freeze", "bibtex", "markdown", "outputs"}
    top = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir() if p.is_dir()}
    assert machinery & top == set(), f"machinery outside ipsbook.book: {sorted(machinery & top)}"
    inside = {p.stem for p in BOOK.glob("*.py")} | {p.name for p in BOOK.iterdir() if p.is_dir()}
    assert machinery <= inside


def test_models_package_imports_no_network():
    """A chapter that uses one network must not depend on the others' code (the runner's
    staleness check rests on the modules a kernel imported)."""
    import subprocess
    import sys

    code = ("import sys, ipsbook.models; "
            "print(sorted(m for m in sys.modules if m.startswith('ipsbook.models.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
