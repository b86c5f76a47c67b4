"""BibTeX for the generated pages: parse ``book/references.bib`` and write full references.

A deliberately small reader (entries, braced/quoted/bare values, the LaTeX accents and macros a
bibliography uses), so that ``ipsbook build`` needs no BibTeX library; Sphinx's own
bibliography still comes from sphinxcontrib-bibtex.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .markdown import escape


class BibError(ValueError):
    """A ``.bib`` file that cannot be read (the message says where)."""


_ACCENTS = {
    "'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327", "k": "\u0328",
}
_ACCENT = re.compile(r"\\([`'^\"~=.uvHck])\s*\{?\\?([A-Za-z])\}?")
_SYMBOLS = {r"\&": "&", r"\%": "%", r"\_": "_", r"\$": "$", r"\#": "#", r"\ss": "ß",
            r"\o": "ø", r"\O": "Ø", r"\aa": "å", r"\AA": "Å", r"\l": "ł", r"\i": "ı"}


def latex_to_text(text: str) -> str:
    """Plain Unicode from the LaTeX a bibliography uses (accents, ``\\url``, dashes, braces)."""
    text = re.sub(r"\\url\{([^}]*)\}", r"\1", text)
    text = _ACCENT.sub(lambda m: m.group(2) + _ACCENTS[m.group(1)], text)
    for macro, char in sorted(_SYMBOLS.items(), key=lambda kv: -len(kv[0])):
        text = re.sub(re.escape(macro) + r"(?![A-Za-z])", char, text)
    text = text.replace("---", "—").replace("--", "–").replace("~", " ")
    text = text.replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _bib_value(text: str, i: int) -> tuple[str, int]:
    """The value starting at ``text[i]`` (``{...}``, ``"..."`` or a bare word) and the index
    after it."""
    if text[i] == "{":
        depth, j = 0, i
        while j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            if depth == 0:
                return text[i + 1:j], j + 1
            j += 1
        raise BibError("unbalanced braces in a BibTeX value")
    if text[i] == '"':
        j = text.index('"', i + 1)
        return text[i + 1:j], j + 1
    m = re.compile(r"[^,}\s]+").match(text, i)
    if not m:
        raise BibError(f"cannot read a BibTeX value at {text[i:i + 30]!r}")
    return m.group(0), m.end()


def parse_bibtex(text: str) -> dict[str, dict[str, str]]:
    """``{key: {field: raw value, "ENTRYTYPE": type}}`` for every entry of a ``.bib`` file."""
    entries: dict[str, dict[str, str]] = {}
    for m in re.finditer(r"@(\w+)\s*\{\s*([^,\s]+)\s*,", text):
        kind = m.group(1).lower()
        if kind in ("comment", "string", "preamble"):
            continue
        fields: dict[str, str] = {"ENTRYTYPE": kind}
        i = m.end()
        while True:
            fm = re.compile(r"\s*(\w[\w-]*)\s*=\s*").match(text, i)
            if not fm:
                break
            value, i = _bib_value(text, fm.end())
            fields[fm.group(1).lower()] = value
            sep = re.compile(r"\s*,?").match(text, i)
            i = sep.end() if sep else i
        entries[m.group(2)] = fields
    return entries


def _authors(raw: str) -> str:
    names = []
    for person in re.split(r"\s+and\s+", latex_to_text(raw)):
        last, _, first = person.partition(",")
        names.append(f"{first.strip()} {last.strip()}".strip() if first else person.strip())
    if len(names) > 1:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return names[0] if names else ""


@dataclass(frozen=True)
class Citation:
    key: str
    text: str  # MyST Markdown: authors, *title*, venue, year
    links: tuple[tuple[str, str], ...]  # (label, URL)


def format_citation(key: str, entry: Mapping[str, str]) -> Citation:
    """A full reference in Markdown and its links (DOI, arXiv, URL) from one BibTeX entry."""
    f = {k: latex_to_text(v) for k, v in entry.items() if k not in ("author", "ENTRYTYPE")}
    parts = []
    if "author" in entry:
        parts.append(escape(_authors(entry["author"])))
    if "title" in f:
        parts.append(f"*{escape(f['title'])}*")
    venue: list[str] = []
    if "journal" in f:
        journal = f["journal"]
        if "volume" in f:
            journal += f" {f['volume']}" + (f"({f['number']})" if "number" in f else "")
        venue.append(journal + (f":{f['pages']}" if "pages" in f else ""))
    elif "booktitle" in f:
        venue.append(f"In {f['booktitle']}")
        if "series" in f:
            venue.append(f["series"] + (f" vol. {f['volume']}" if "volume" in f else ""))
        if "pages" in f:
            venue.append(f"pp. {f['pages']}")
    for extra in ("howpublished", "publisher"):
        if extra in f and not re.match(r"https?://", f[extra]):
            venue.append(f[extra])
    if "year" in f:
        venue.append(f["year"])
    if venue:
        parts.append(escape(", ".join(venue)))
    note = f.get("note", "")
    if note and not re.match(r"Paper [A-Z], chapter", note):
        parts.append(escape(note))
    links: list[tuple[str, str]] = []
    if "doi" in f:
        links.append((f"doi:{f['doi']}", f"https://doi.org/{f['doi']}"))
    eprint = f.get("eprint", "")
    if eprint and f.get("archiveprefix", "arXiv").lower() == "arxiv":
        links.append((f"arXiv:{eprint}", f"https://arxiv.org/abs/{eprint}"))
    for field in ("url", "howpublished"):
        url = re.search(r"https?://\S+", f.get(field, ""))
        if url and url.group(0) not in {u for _, u in links}:
            links.append((url.group(0), url.group(0)))
    return Citation(key, ". ".join(p.rstrip(".") for p in parts if p) + ".", tuple(links))


def read_bib(path: str | Path) -> dict[str, dict[str, str]]:
    """Parse a ``.bib`` file such as ``book/references.bib`` (empty when the file is absent)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return parse_bibtex(path.read_text(encoding="utf-8"))
    except BibError as exc:
        raise BibError(f"{path}: {exc}") from None


__all__ = ["BibError", "Citation", "format_citation", "latex_to_text", "parse_bibtex", "read_bib"]
