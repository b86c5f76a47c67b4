"""How a chapter page was made: a generated block appended to each chapter of the book.

``ipsbook build`` copies ``<runs>/<profile>/<name>/<name>.ipynb`` into ``book/chapters/`` and,
through :func:`chapter_for_book`, adds two markdown cells to the copy (never to the run itself):
a one-line note under the title, and a closing section "How this page was made" with

* the paper (full citation and DOI/arXiv/URL, from ``book/references.bib`` and the first
  ``{cite}`` of the notebook's first markdown cell);
* the profile and what it shrinks compared with ``paper`` (``ipsbook.profiles`` and the run's
  ``config.json``);
* the parameters table (name, value, meaning, allowed range) parsed from the notebook's
  ``parameters`` cell, whose lines read ``name = value  # meaning (allowed range)``;
* the registered datasets of the chapter with licence and checksum (``ipsbook.data.REGISTRY``);
* the commands that re-run it (``ipsbook run`` and plain jupytext + papermill);
* package version, git commit, wall time and library versions, as ``run.json`` recorded them;
* download links for the executed notebook and the exact Jupytext source that ran.

Everything comes from the run folder, the bibliography, the registry and the profiles, so the
block is the same every time it is built from the same run.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import io
import json
import re
import shlex
import tokenize
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .bibtex import BibError, Citation, format_citation, read_bib
from .markdown import escape, table
from .runner.project import assignments

PROVENANCE_TAG = "ipsbook-provenance"
SOURCES_DIR = "_sources"  # under book/chapters/: the downloads (executed .ipynb, Jupytext .py)
PAPERMILL_DIR = "runs/papermill"  # where the plain papermill command writes (not a profile)


class ProvenanceError(ValueError):
    """A file the block is made from cannot be read (the message names it)."""


# --------------------------------------------------------------------------- parameters cell


@dataclass(frozen=True)
class ParamDoc:
    """One line of a ``parameters`` cell: ``name = source  # meaning (allowed)``."""

    name: str
    source: str  # the default as written
    comment: str  # the whole comment ("" when there is none)
    meaning: str
    allowed: str  # "" when the comment states no range or choices


_CHOICES = re.compile(r"^\s*((?:[\w.+\-\"']+\s*\|\s*)+[\w.+\-\"']+)\s*:\s*(.*)$")
_QUOTED_CHOICES = re.compile(r'"[^"]+"[^"]*\bor\s+"[^"]+"')
_NOT_A_RANGE = ("see ", "e.g.", "i.e.", "cf. ")
# what a range or a set of choices says: a number, a comparison, or one of these words
_RANGE_WORDS = re.compile(
    r"\d|[<>≤≥=|]|\b(positive|negative|non-negative|at least|at most|between|one of|or|to|"
    r"from|any|integer|exclusive|inclusive|divides?|multiple|power)\b", re.IGNORECASE)


def _trailing_parenthesis(text: str) -> tuple[str, str] | None:
    """``("before", "inside")`` when ``text`` ends with a balanced ``(...)``."""
    text = text.rstrip()
    if not text.endswith(")"):
        return None
    depth = 0
    for i in range(len(text) - 1, -1, -1):
        if text[i] == ")":
            depth += 1
        elif text[i] == "(":
            depth -= 1
            if depth == 0:
                return text[:i].rstrip(" ,;:"), text[i + 1:-1].strip()
    return None


def split_comment(comment: str) -> tuple[str, str]:
    """Split a parameter's comment into ``(meaning, allowed range)``.

    ``"a | b | c: what it sets"`` gives the choices ``a | b | c``, and so does a comment naming
    quoted values with "or" (``"a" (why) or "b"``), which stays whole as the meaning; otherwise
    a closing parenthesis is the allowed range when it reads like one (a number, a comparison,
    "positive", "one of", ...), not a pointer such as ``(see the table)`` or a remark.

    >>> split_comment("side of the area [m] (positive)")
    ('side of the area [m]', 'positive')
    >>> split_comment("smoke | quick | paper: sweep sizes (see below)")
    ('sweep sizes (see below)', 'smoke | quick | paper')
    """
    comment = " ".join(comment.split())
    choices = _CHOICES.match(comment)
    if choices:
        return choices.group(2).strip(), " | ".join(
            c.strip() for c in choices.group(1).split("|"))
    if _QUOTED_CHOICES.search(comment):
        return comment, " | ".join(f'"{v}"' for v in re.findall(r'"([^"]+)"', comment))
    found = _trailing_parenthesis(comment)
    if (found and found[0] and not found[1].lower().startswith(_NOT_A_RANGE)
            and _RANGE_WORDS.search(found[1])):
        return found[0], found[1]
    return comment, ""


def _comments(source: str) -> dict[int, tuple[str, bool]]:
    """``line -> (comment text, whole line is a comment)``."""
    found: dict[int, tuple[str, bool]] = {}
    lines = source.splitlines()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                row, col = tok.start
                alone = not lines[row - 1][:col].strip()
                found[row] = (tok.string.lstrip("#").strip(), alone)
    except (tokenize.TokenError, IndentationError):
        pass  # ast.parse below reports the syntax error
    return found


def parse_parameters_cell(source: str, where: str = "the parameters cell") -> list[ParamDoc]:
    """Every top-level ``name = value`` of a ``parameters`` cell with its comment, in order.

    The comment is the one at the end of the assignment's line; failing that, the comment
    lines right above it.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ProvenanceError(f"{where} is not valid Python ({exc})") from None
    comments = _comments(source)
    docs = []
    for node, name, value in assignments(tree):
        text = ""
        for line in (node.end_lineno, node.lineno):
            if line in comments and not comments[line][1]:
                text = comments[line][0]
                break
        if not text:
            above, line = [], node.lineno - 1
            while line in comments and comments[line][1]:
                above.insert(0, comments[line][0])
                line -= 1
            text = " ".join(above)
        meaning, allowed = split_comment(text)
        src = ast.get_source_segment(source, value) or ast.unparse(value)
        docs.append(ParamDoc(name, src, text, meaning, allowed))
    return docs


def _tags(cell: Mapping[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def parameters_source(nb: Any, where: str) -> str:
    """The source of the cell tagged ``parameters`` (a :class:`ProvenanceError` if none)."""
    for cell in nb.cells:
        if "parameters" in _tags(cell):
            return cell.source
    raise ProvenanceError(f'{where} has no cell tagged "parameters"')


def notebook_parameters(path: str | Path) -> list[ParamDoc]:
    """The documented parameters of a Jupytext script ``notebooks/<name>.py``."""
    import jupytext

    path = Path(path)
    nb = jupytext.read(path)
    return parse_parameters_cell(parameters_source(nb, str(path)), f"{path}: parameters cell")


# --------------------------------------------------------------------------- the source that ran


def executed_source(nb: Any) -> str:
    """The Jupytext percent script that an executed notebook was made from.

    papermill's injected cell, outputs and execution metadata are dropped; the header keeps the
    notebook's own ``jupytext`` and ``kernelspec`` metadata without jupytext's version stamps,
    as the project's scripts are written. The result is checked against ``run.json``'s
    ``notebook_sha256`` by the caller.
    """
    import jupytext

    clean = copy.deepcopy(nb)
    clean.cells = [c for c in clean.cells if "injected-parameters" not in _tags(c)]
    for cell in clean.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in ("papermill", "execution"):
            cell.metadata.pop(key, None)
    clean.metadata = {k: v for k, v in nb.metadata.items() if k in ("jupytext", "kernelspec")}
    text = jupytext.writes(clean, fmt="py:percent")
    return re.sub(r"^#\s+(format_version|jupytext_version): .*\n", "", text, flags=re.MULTILINE)


def _sha256(text: str | bytes) -> str:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


_CITE = re.compile(r"\{cite(?::\w+)?\}`([^`]+)`")


def first_cite_key(nb: Any) -> str | None:
    """The first key cited in the notebook's first markdown cell (its paper, by the anatomy)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = _CITE.search(cell.source)
            return m.group(1).split(",")[0].strip() if m else None
    return None


def paper_citation(nb: Any, name: str, bib: Mapping[str, Mapping[str, str]]) -> Citation | None:
    """The chapter's paper: the first ``{cite}`` key, else the entry noted ``chapter <name>``."""
    key = first_cite_key(nb)
    if key is None or key not in bib:
        noted = [k for k, e in bib.items()
                 if re.search(rf"\bchapter\s+{re.escape(name)}\b", e.get("note", ""))]
        key = noted[0] if noted else key
    if key is None or key not in bib:
        return None
    return format_citation(key, bib[key])


# --------------------------------------------------------------------------- profile sizes


def _plain(value: Any) -> Any:
    """JSON's view of a value (tuples become lists), so run records and code compare."""
    return json.loads(json.dumps(value, default=repr))


_MISSING = object()  # a size one side has and the other has not


def _pairs(ours: Mapping[str, Any], paper: Mapping[str, Any],
           prefix: str = "") -> list[tuple[str, Any, Any]]:
    """``(dotted name, ours, paper)`` for every size, descending into a mapping only where both
    sides have one (a stopping rule on one side and ``None`` on the other stays one row)."""
    out = []
    for k in list(paper) + [n for n in ours if n not in paper]:
        a, b = ours.get(k, _MISSING), paper.get(k, _MISSING)
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += _pairs(a, b, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", a, b))
    return out


def format_value(value: Any) -> str:
    """A size or parameter value as a reader reads it (lists comma-separated, floats %g)."""
    if value is _MISSING:
        return "—"
    if isinstance(value, Mapping):
        return "; ".join(f"{k} {format_value(v)}" for k, v in value.items()) or "(none)"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value) if value else "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _literal(value: Any) -> str:
    """A parameter value as Python source (strings in double quotes, as the cells write them)."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else repr(value)


def profile_differences(
    key: str, profile: str, run_config: Mapping[str, Any] | None = None,
) -> tuple[list[tuple[str, str, str]], list[str]]:
    """Sizes of chapter ``key`` under this run vs ``paper``: ``([(size, this run, paper), ...]
    for those that differ, [names of those equal])``. ``run_config`` (``config.json``'s
    ``config``) holds the sizes the run really used; without it the profile's are taken.
    Raises :class:`ipsbook.profiles.ProfileError` when the chapter has no profile sizes."""
    from .. import profiles

    paper = _plain(dict(profiles.resolve(key, "paper").values))
    if run_config is None:
        run_config = dict(profiles.resolve(key, profile).values)
    ours = _plain({k: v for k, v in run_config.items() if k not in ("chapter", "profile")})
    differ, same = [], []
    for name, a, b in _pairs(ours, paper):
        if a == b:
            same.append(name)
        else:
            differ.append((name, format_value(a), format_value(b)))
    return differ, same


# --------------------------------------------------------------------------- datasets


def dataset_digest(key: str) -> str | None:
    """sha256 of a dataset's registered checksums, one ``<sha256>  <relpath>`` line per file
    (sorted by path, as ``sha256sum`` writes them); None when a checksum is unknown."""
    from ..data import get_dataset

    files = sorted(get_dataset(key).files, key=lambda f: f.relpath)
    if not files or any(f.sha256 is None for f in files):
        return None
    return _sha256("".join(f"{f.sha256}  {f.relpath}\n" for f in files))


def chapter_datasets(names: Iterable[str]) -> list[Any]:
    """Registered datasets whose ``chapters`` include any of ``names`` (registry order)."""
    from ..data import REGISTRY

    wanted = set(names)
    return [ds for ds in REGISTRY.values() if wanted & set(ds.chapters)]


# --------------------------------------------------------------------------- commands


def _ipsbook_assignment(name: str, value: Any) -> str:
    from .runner import parse_value

    # a string that `ipsbook run -p` would read back unchanged goes bare; all else as a literal
    bare = isinstance(value, str) and value.strip() == value and parse_value(value) == value
    return shlex.quote(f"{name}={value if bare else _literal(value)}")


def _papermill_option(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return ["-r", name, shlex.quote(value)]  # raw: never re-typed by papermill
    if value is None or isinstance(value, (bool, int, float)):
        return ["-p", name, str(value)]
    return ["-y", shlex.quote(json.dumps({name: value}))]  # JSON is YAML


def rerun_commands(
    name: str, profile: str, overrides: Mapping[str, Any], *, needs_data: bool,
) -> tuple[str, str]:
    """``(ipsbook command, plain jupytext + papermill commands)`` that repeat this run."""
    env = ("export IPSBOOK_DATA_DIR=/path/to/data   # the folder that holds the datasets\n"
           if needs_data else "")
    ipsbook = f"{env}ipsbook run {name} --profile {profile}" + "".join(
        f" -p {_ipsbook_assignment(k, v)}" for k, v in overrides.items()) + " --force"
    out = f"{PAPERMILL_DIR}/{name}"
    options = ["-p", "profile", profile, "-p", "output_dir", out]
    for k, v in overrides.items():
        options += _papermill_option(k, v)
    papermill = (f"{env}mkdir -p {out}\n"
                 f"jupytext --to ipynb -o - notebooks/{name}.py \\\n"
                 f"  | papermill - {out}/{name}.ipynb -k python3 \\\n"
                 f"      {' '.join(options)}")
    return ipsbook, papermill


# --------------------------------------------------------------------------- the block


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProvenanceError(f"{path} is not valid JSON ({exc}); re-run its notebook") from None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {rest:.0f} s ({seconds:,.0f} s)"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min ({seconds:,.0f} s)"


@dataclass
class RunFacts:
    """What a run folder says about one run (``run.json``, ``config.json``, the notebook)."""

    name: str
    nb: Any
    record: dict[str, Any]
    config: dict[str, Any] | None  # config.json's "config" (the resolved sizes), if any
    source: str  # the Jupytext script that ran, rebuilt from the executed notebook
    source_verified: bool  # its sha256 equals run.json's notebook_sha256
    run_dir: Path | None = None  # <runs>/<profile>/<name>

    @property
    def profile(self) -> str:
        """From run.json, else config.json, else the run folder's parent (``<runs>/<profile>``)."""
        from ..profiles import PROFILES

        folder = self.run_dir.parent.name if self.run_dir is not None else ""
        return str(self.record.get("profile") or (self.config or {}).get("profile")
                   or (folder if folder in PROFILES else "unknown"))

    @property
    def chapter_key(self) -> str:
        return str((self.config or {}).get("chapter") or self.name)


def read_run(run_dir: str | Path, name: str) -> RunFacts:
    """Read ``<run_dir>/<name>.ipynb``, ``run.json`` and ``config.json``."""
    import nbformat

    run_dir = Path(run_dir)
    path = run_dir / f"{name}.ipynb"
    if not path.is_file():
        raise ProvenanceError(f"{path} does not exist: run `ipsbook run {name}` first")
    nb = nbformat.read(path, as_version=4)
    record = _read_json(run_dir / "run.json") or {}
    config = (_read_json(run_dir / "config.json") or {}).get("config")
    source = executed_source(nb)
    verified = record.get("notebook_sha256") == _sha256(source)
    return RunFacts(name, nb, record, config, source, verified, run_dir)


def _paper_section(facts: RunFacts, bib: Mapping[str, Mapping[str, str]]) -> list[str]:
    cit = paper_citation(facts.nb, facts.name, bib)
    if cit is None:
        key = first_cite_key(facts.nb)
        why = (f"its first citation `{key}` is not in book/references.bib" if key
               else "its first markdown cell cites no paper")
        return [f"**Paper.** Not identified: {why}.", ""]
    links = "; ".join(f"[{label}]({url})" for label, url in cit.links)
    return [f"**Paper.** {cit.text}" + (f" {links}." if links else "")
            + f" ({{cite:t}}`{cit.key}` in the bibliography)", ""]


def _profile_section(facts: RunFacts) -> list[str]:
    from ..profiles import ProfileError

    profile = facts.profile
    head = f"**Profile.** Executed under `{profile}`."
    try:
        differ, same = profile_differences(facts.chapter_key, profile, facts.config)
    except ProfileError:
        return [head + f" The chapter key `{facts.chapter_key}` has no profile sizes in "
                "`ipsbook.profiles`, so nothing is scaled by the profile.", ""]
    if not differ:
        return [head + " Every size equals the papers' own (`paper`)."
                + (f" Sizes: {', '.join(f'`{s}`' for s in same)}." if same else ""), ""]
    lines = [head + f" Compared with `paper`, it changes {len(differ)} size(s) of "
             f"`ipsbook.profiles` (key `{facts.chapter_key}`), as `config.json` records them:",
             ""]
    lines += table(("size", f"this run ({profile})", "paper"),
                    [(f"`{n}`", a, b) for n, a, b in differ])
    if same:
        lines += [f"Equal to `paper`: {', '.join(f'`{s}`' for s in same)}.", ""]
    return lines


def _parameters_section(facts: RunFacts) -> list[str]:
    try:
        docs = parse_parameters_cell(parameters_source(facts.nb, f"{facts.name}.ipynb"),
                                     f"{facts.name}.ipynb: parameters cell")
    except ProvenanceError as exc:
        return [f"**Parameters.** Not available: {exc}.", ""]
    values = facts.record.get("parameters") or {}
    overrides = facts.record.get("overrides") or {}
    rows = []
    for d in docs:
        if d.name in values:
            value = _literal(values[d.name])
        elif d.name == "output_dir":
            value = '"." (the run folder)'
        else:
            value = d.source
        if d.name in overrides:
            value = f"**{value}** (set with `-p`; default `{d.source}`)"
        rows.append((f"`{d.name}`", value, d.meaning or "—", d.allowed or "—"))
    lines = [("**Parameters** (the cell tagged `parameters`; the runner sets `profile` and "
             "`output_dir`):"), ""]
    return lines + table(("name", "value", "meaning", "allowed"), rows)


def _data_section(facts: RunFacts) -> list[str]:
    datasets = chapter_datasets({facts.name, facts.chapter_key})
    if not datasets:
        return [("**Data.** The registry (`ipsbook.data.REGISTRY`) lists no dataset for this "
                "chapter: it reads no measured data."), ""]
    lines = [("**Data** (from `ipsbook.data.REGISTRY`; every file's sha256 is checked when it is "
             "read, and listed in {doc}`../datasets`):"), ""]
    for ds in datasets:
        digest = dataset_digest(ds.key)
        check = (f"sha256 of its {len(ds.files)} registered file checksum(s) `{digest}`"
                 if digest else f"{len(ds.files)} file(s), checksums not all registered")
        source = f"[{escape(ds.doi_or_url)}]({ds.doi_or_url})" if re.match(
            r"https?://", ds.doi_or_url) else escape(ds.doi_or_url)
        lines.append(f"* **{escape(ds.title)}** (`{ds.key}`), licence {ds.licence}, "
                     f"source {source}; {check}.")
    return lines + [""]


def _rerun_section(facts: RunFacts, needs_data: bool) -> list[str]:
    overrides = facts.record.get("overrides") or {}
    ipsbook_cmd, papermill_cmd = rerun_commands(
        facts.name, facts.profile, overrides, needs_data=needs_data)
    commit = facts.record.get("git_commit")
    at = f" at commit `{commit}`" if commit else ""
    return [
        (f"**Re-run it** from a clone of the repository{at} (`make venv`, then "
        "`source .venv/bin/activate`); `--force` runs it even when the cache holds this run:"),
        "", "```bash", ipsbook_cmd, "```", "",
        "or with jupytext and papermill alone:", "", "```bash", papermill_cmd, "```", "",
    ]


def _software_section(facts: RunFacts) -> list[str]:
    r = facts.record
    commit = r.get("git_commit")
    dirty = r.get("git_dirty")
    if commit:
        state = {True: " (the working tree had uncommitted changes)",
                 False: " (clean working tree)"}.get(dirty, " (working-tree state unknown)")
        where = f"commit `{commit}`{state}"
    else:
        where = "no git commit recorded"
    wall = r.get("wall_s")
    timing = (f"wall time {_duration(float(wall))}" if isinstance(wall, (int, float))
              else "wall time not recorded")
    if r.get("started") and r.get("finished"):
        timing += f", from {r['started']} to {r['finished']}"
    libs = r.get("libraries") or {}
    lines = [f"**Software and run.** ipsbook {r.get('ipsbook_version', 'version not recorded')}, "
             f"{where}; {timing}"
             + (f"; Python {r['python']}" if r.get("python") else "")
             + (f" on {r['platform']}" if r.get("platform") else "") + "."]
    if libs:
        lines.append("Libraries: " + ", ".join(f"{k} {v}" for k, v in libs.items()) + ".")
    return lines + [""]


def _downloads_section(facts: RunFacts, source_note: str) -> list[str]:
    sha = _sha256(facts.source)
    check = ("the `notebook_sha256` that `run.json` recorded" if facts.source_verified
             else "not verified: `run.json` records no matching `notebook_sha256`")
    nb_link = f"{{download}}`The executed notebook ({facts.name}.ipynb) " \
        f"<{SOURCES_DIR}/{facts.name}.ipynb>`"
    py_link = f"{{download}}`the Jupytext source that ran ({facts.name}.py) " \
        f"<{SOURCES_DIR}/{facts.name}.py>`"
    return [
        (f"**Downloads.** {nb_link}, exactly as papermill wrote it; {py_link}, sha256 `{sha}` "
        f"({check}).{source_note}"),
        "",
    ]


def provenance_markdown(
    facts: RunFacts, bib: Mapping[str, Mapping[str, str]], current_source: str | None = None,
    reference: str | None = None,
) -> str:
    """The closing "How this page was made" cell. ``current_source``: today's
    ``notebooks/<name>.py``, to say whether it still is the source that ran; ``reference``: a
    sentence on the chapter's frozen reference run (where it is, current or stale)."""
    needs_data = bool(chapter_datasets({facts.name, facts.chapter_key}))
    note = ""
    if current_source is not None and _sha256(current_source) != _sha256(facts.source):
        note = (f" `notebooks/{facts.name}.py` has changed since this run, so the commands "
                "above run a newer source than this page shows.")
    lines = [
        f"({facts.name}-provenance)=",
        "## How this page was made",
        "",
        ("Generated by `ipsbook build` from this run's folder (`run.json`, `config.json`, the "
        "executed notebook), the bibliography, the dataset registry and the profiles."),
        "",
    ]
    lines += _paper_section(facts, bib)
    lines += _profile_section(facts)
    lines += _parameters_section(facts)
    lines += _data_section(facts)
    if reference:
        lines += [f"**Reference run.** {reference}", ""]
    lines += _rerun_section(facts, needs_data)
    lines += _software_section(facts)
    lines += _downloads_section(facts, note)
    return "\n".join(lines).rstrip() + "\n"


def profile_note(facts: RunFacts) -> str:
    """The short note put under the chapter's title."""
    from ..profiles import ProfileError

    try:
        differ, _ = profile_differences(facts.chapter_key, facts.profile, facts.config)
        scale = (f"which changes {len(differ)} size(s) compared with `paper`" if differ
                 else "with the papers' own sizes")
    except ProfileError:
        scale = "(the chapter has no profile sizes)"
    return (
        "```{note}\n"
        f"This page was executed under the **{facts.profile}** profile, {scale}. "
        f"The paper, parameters, data, commands to re-run it and downloads are in "
        f"{{ref}}`{facts.name}-provenance`.\n"
        "```\n"
    )


def _markdown_cell(text: str, cell_id: str, nb: Any) -> Any:
    import nbformat

    cell = nbformat.v4.new_markdown_cell(text, metadata={"tags": [PROVENANCE_TAG]})
    if (nb.nbformat, nb.nbformat_minor) >= (4, 5):
        cell["id"] = cell_id  # fixed: nbformat draws a random one, the page would always change
    else:
        cell.pop("id", None)  # cell ids do not exist before nbformat 4.5
    return cell


def chapter_for_book(
    facts: RunFacts, bib: Mapping[str, Mapping[str, str]], current_source: str | None = None,
    banner: str | None = None, reference: str | None = None,
) -> Any:
    """A copy of the executed notebook with the note under its title (and ``banner``, e.g. the
    reference run's state, under it) and the closing block."""
    nb = copy.deepcopy(facts.nb)
    first_md = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), None)
    at = 0 if first_md is None else first_md + 1
    if banner:
        nb.cells.insert(at, _markdown_cell(banner, f"{PROVENANCE_TAG}-reference", nb))
    note = _markdown_cell(profile_note(facts), f"{PROVENANCE_TAG}-note", nb)
    nb.cells.insert(at, note)
    nb.cells.append(_markdown_cell(provenance_markdown(facts, bib, current_source, reference),
                                   PROVENANCE_TAG, nb))
    return nb


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.is_file() and path.read_bytes() == data:
        return False  # unchanged files keep their mtime, so Sphinx rebuilds only what changed
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return True


def write_chapter(
    run_dir: str | Path, name: str, chapters_dir: str | Path, *, bib_path: str | Path,
    notebooks_dir: str | Path | None = None, banner: str | None = None,
    reference: str | None = None,
) -> bool:
    """Write ``<chapters_dir>/<name>.ipynb`` (with the provenance cells) and its downloads
    under ``<chapters_dir>/_sources/``; return whether any file changed."""
    import nbformat

    facts = read_run(run_dir, name)
    current = None
    if notebooks_dir is not None and (Path(notebooks_dir) / f"{name}.py").is_file():
        current = (Path(notebooks_dir) / f"{name}.py").read_text(encoding="utf-8")
    try:
        bib = read_bib(bib_path)
    except BibError as exc:
        raise ProvenanceError(str(exc)) from None
    nb = chapter_for_book(facts, bib, current, banner, reference)
    chapters_dir = Path(chapters_dir)
    changed = _write_if_changed(chapters_dir / f"{name}.ipynb",
                                nbformat.writes(nb).encode("utf-8") + b"\n")
    sources = chapters_dir / SOURCES_DIR
    changed |= _write_if_changed(sources / f"{name}.ipynb",
                                 (Path(run_dir) / f"{name}.ipynb").read_bytes())
    changed |= _write_if_changed(sources / f"{name}.py", facts.source.encode("utf-8"))
    return changed


__all__ = [
    "PROVENANCE_TAG", "SOURCES_DIR", "ParamDoc", "ProvenanceError", "RunFacts",
    "chapter_datasets", "chapter_for_book", "dataset_digest", "executed_source",
    "first_cite_key", "format_value", "notebook_parameters",
    "paper_citation", "parameters_source", "parse_parameters_cell",
    "profile_differences", "profile_note", "provenance_markdown", "read_run",
    "rerun_commands", "split_comment", "write_chapter",
]
