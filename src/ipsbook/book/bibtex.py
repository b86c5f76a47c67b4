"""BibTeX for the generated pages: read ``book/references.bib`` and write full references.

Reading is pybtex's (the library sphinxcontrib-bibtex itself uses): entries, persons, string
macros, and latexcodec for the LaTeX accents. Writing stays here: one reference in MyST
Markdown with its DOI/arXiv/URL links, in the book's own short style (pybtex's formatting
styles give no links and would need a style class of their own to match it).
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import latexcodec  # noqa: F401 -- registers the "ulatex" codec
from pybtex.database import parse_string
from pybtex.exceptions import PybtexError

from .markdown import escape


class BibError(ValueError):
    """A ``.bib`` file that cannot be read (the message says where)."""


def latex_to_text(text: str) -> str:
    """Plain Unicode from the LaTeX a bibliography uses (accents, ``\\url``, dashes, braces)."""
    text = re.sub(r"\\url\{([^}]*)\}", r"\1", text)
    text = codecs.decode(text, "ulatex")
    text = text.replace("---", "—").replace("--", "–").replace("{", "").replace("}", "")
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _person(person) -> str:
    return " ".join(person.first_names + person.middle_names + person.prelast_names
                    + person.last_names + person.lineage_names)


def parse_bibtex(text: str) -> dict[str, dict[str, str]]:
    """``{key: {field: raw value, "ENTRYTYPE": type}}`` for every entry of a ``.bib`` file;
    ``author`` is the names as "First Last and First Last" (LaTeX still in them)."""
    try:
        data = parse_string(text, "bibtex")
    except PybtexError as exc:
        raise BibError(str(exc)) from None
    entries: dict[str, dict[str, str]] = {}
    for key, entry in data.entries.items():
        fields = {"ENTRYTYPE": entry.type.lower()}
        fields.update({name.lower(): str(value) for name, value in entry.fields.items()})
        if entry.persons.get("author"):
            fields["author"] = " and ".join(_person(p) for p in entry.persons["author"])
        entries[key] = fields
    return entries


def _authors(raw: str) -> str:
    names = [n.strip() for n in re.split(r"\s+and\s+", latex_to_text(raw)) if n.strip()]
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
