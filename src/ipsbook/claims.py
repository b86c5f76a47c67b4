"""Claims: a paper's number or finding put beside ours, with an honest status.

One :class:`Claim` per regenerated number or qualitative finding. A chapter collects them in a
:class:`ClaimSet` (``out.claims`` in a notebook) and saves ``claims.json`` in its run folder; the
scorecard page gathers every chapter's claims (:func:`collect`, :func:`write_scorecard_page`).
Statuses are decided by code from the values, never typed by hand.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_COMPARABLE = "not comparable"
STATUSES = (REPRODUCED, NOT_REPRODUCED, NOT_COMPARABLE)

PAPERS = {
    "A": "Saccomanno et al. — deep metric learning on continuous similarities",
    "B": "FTM ranging: classical MDS vs Wall Remover + iterative EDM resolution",
    "C": "Nguyen et al. — multi-surrogate-teacher representation alignment",
    "D": "Omeñaca Muro, Mizmizi & Reggiani — binary fingerprinting with uncertainty regions",
    "E": "Wei & Radu — MTLoc, multimodal transfer learning",
}

COLUMNS = (
    "paper", "chapter", "artefact", "quantity", "paper_value", "ours", "criterion",
    "profile", "status", "reason", "anchor", "profile_sensitive",
)


@dataclass(frozen=True)
class Claim:
    """One paper-vs-ours record."""

    paper: str
    chapter: str
    artefact: str
    quantity: str
    paper_value: str
    ours: str
    criterion: str
    profile: str
    status: str
    reason: str = ""
    anchor: str = ""
    # why the status may change under the papers' own sizes (None: not known to depend on them)
    profile_sensitive: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status={self.status!r} is not allowed; allowed: {STATUSES}")
        if self.profile_sensitive is not None and not str(self.profile_sensitive).strip():
            raise ValueError("profile_sensitive must say why the status may change under "
                             "`paper` (or be None)")


def _fmt(x: float, unit: str = "") -> str:
    text = f"{x:.3g}" if isinstance(x, float) else str(x)
    return f"{text} {unit}".strip()


@dataclass
class ClaimSet:
    """The claims of one chapter run; add with :meth:`value`, :meth:`relation`, :meth:`not_comparable`.

    Each takes ``profile_sensitive="why"`` for a claim whose status rests on a quantity that the
    profile limits (Monte-Carlo runs, epochs, a sweep's extent): the scorecard lists it among
    the statuses that may change under ``paper``, with that reason.
    """

    paper: str
    chapter: str
    profile: str
    claims: list[Claim] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.paper not in PAPERS:
            raise ValueError(f"paper={self.paper!r} is not known; allowed: {', '.join(PAPERS)}")

    def _add(self, **kw: Any) -> Claim:
        claim = Claim(paper=self.paper, chapter=self.chapter, profile=self.profile, **kw)
        self.claims.append(claim)
        return claim

    def value(
        self,
        artefact: str,
        quantity: str,
        paper_value: float,
        ours: float,
        *,
        rel_tol: float | None = None,
        abs_tol: float | None = None,
        unit: str = "",
        anchor: str = "",
        profile_sensitive: str | None = None,
    ) -> Claim:
        """A number: reproduced when ``|ours - paper| <= max(abs_tol, rel_tol*|paper|)``."""
        if rel_tol is None and abs_tol is None:
            raise ValueError("value(): give rel_tol or abs_tol (the tolerance must be explicit)")
        tol = max(abs_tol or 0.0, (rel_tol or 0.0) * abs(paper_value))
        if not math.isfinite(ours):
            status, reason = NOT_REPRODUCED, "our value is not finite"
        elif abs(ours - paper_value) <= tol:
            status, reason = REPRODUCED, ""
        else:
            status = NOT_REPRODUCED
            reason = f"differs by {_fmt(ours - paper_value, unit)} (tolerance ±{_fmt(tol, unit)})"
        crit = f"±{_fmt(tol, unit)}"
        return self._add(
            artefact=artefact, quantity=quantity, paper_value=_fmt(paper_value, unit),
            ours=_fmt(ours, unit), criterion=crit, status=status, reason=reason, anchor=anchor,
            profile_sensitive=profile_sensitive,
        )

    def relation(
        self,
        artefact: str,
        quantity: str,
        statement: str,
        holds: bool,
        ours: str,
        *,
        why_not: str = "",
        anchor: str = "",
        profile_sensitive: str | None = None,
    ) -> Claim:
        """A qualitative finding (``statement``) that our numbers either support or not."""
        status = REPRODUCED if bool(holds) else NOT_REPRODUCED
        return self._add(
            artefact=artefact, quantity=quantity, paper_value=statement, ours=ours,
            criterion="relation", status=status, reason="" if holds else why_not, anchor=anchor,
            profile_sensitive=profile_sensitive,
        )

    def not_comparable(
        self, artefact: str, quantity: str, paper_value: str, ours: str, reason: str,
        *, anchor: str = "", profile_sensitive: str | None = None,
    ) -> Claim:
        """A number shown beside ours that cannot be judged (different data, missing value...)."""
        if not reason:
            raise ValueError("not_comparable(): reason must say why")
        return self._add(
            artefact=artefact, quantity=quantity, paper_value=paper_value, ours=ours,
            criterion="—", status=NOT_COMPARABLE, reason=reason, anchor=anchor,
            profile_sensitive=profile_sensitive,
        )

    def to_frame(self):
        """A pandas DataFrame with one row per claim (columns :data:`COLUMNS`)."""
        import pandas as pd

        return pd.DataFrame([asdict(c) for c in self.claims], columns=list(COLUMNS))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps([asdict(c) for c in self.claims], indent=1, ensure_ascii=False))
        return path


def load(path: str | Path) -> list[Claim]:
    """Read a ``claims.json`` written by :meth:`ClaimSet.save`."""
    path = Path(path)
    try:
        rows = json.loads(path.read_text())
        return [Claim(**row) for row in rows]
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"{path} is not a valid claims file ({exc}); re-run its notebook") from exc


def collect(runs_root: str | Path, profile: str):
    """Every chapter's claims under ``runs_root/<profile>/*/claims.json`` as one DataFrame."""
    import pandas as pd

    files = sorted(Path(runs_root, profile).glob("*/claims.json"))
    rows = [asdict(c) for f in files for c in load(f)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


def summary(frame) -> Any:
    """Counts of claims per paper and status (a pandas DataFrame)."""
    import pandas as pd

    if frame.empty:
        return pd.DataFrame(columns=list(STATUSES))
    counts = pd.crosstab(frame["paper"], frame["status"])
    return counts.reindex(columns=list(STATUSES), fill_value=0)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


Key = tuple[str, str, str]


def _key(c: Claim) -> Key:
    """How a claim is recognised in another profile's runs: chapter, artefact, quantity."""
    return (c.chapter, c.artefact, c.quantity)


def _from_frame(frame) -> list[Claim]:
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [Claim(**{c: row.get(c) for c in COLUMNS if c in row}) for row in rows]


def _claims_of(runs_root: Path, profile: str) -> dict[Key, Claim]:
    """One profile's claims by :func:`_key` (the first of any duplicates)."""
    found: dict[Key, Claim] = {}
    for f in sorted(Path(runs_root, profile).glob("*/claims.json")):
        for c in load(f):
            found.setdefault(_key(c), c)
    return found


def _chapter_scale(runs_root: Path | None, profile: str, chapter: str) -> str:
    """What ``profile`` changes in ``chapter`` compared with ``paper``, on one line."""
    from .profiles import ProfileError
    from .provenance import profile_differences

    config = None
    path = Path(runs_root, profile, chapter, "config.json") if runs_root is not None else None
    if path is not None and path.is_file():
        try:
            config = json.loads(path.read_text()).get("config")
        except json.JSONDecodeError:
            config = None  # the size table then shows the profile's own sizes
    try:
        differ, _ = profile_differences(chapter, profile, config)
    except ProfileError:
        return "no profile sizes (nothing is scaled)"
    if not differ:
        return "the papers' sizes"
    return "; ".join(f"`{n}` {a} (paper {b})" for n, a, b in differ)


def _moved_table(pairs: list[tuple[Claim, Claim]], a: str, b: str) -> list[str]:
    lines = [f"| chapter | artefact | quantity | under `{a}` | under `{b}` |",
             "|---|---|---|---|---|"]
    lines += [f"| {x.chapter} | {_md_cell(x.artefact)} | {_md_cell(x.quantity)} | {x.status} | "
              f"{y.status} |" for x, y in pairs]
    return lines + [""]


def _compare(here: dict[Key, Claim], there: dict[Key, Claim]) -> tuple[int, list[Key]]:
    """How many claims both have, and the keys whose status differs."""
    both = [k for k in here if k in there]
    return len(both), [k for k in both if here[k].status != there[k].status]


def outlook(
    claims: list[Claim], profile: str, runs_root: str | Path | None = None,
) -> tuple[list[str], set[Key]]:
    """Which statuses of one profile's ``claims`` would change under ``paper``, and why.

    Measured where ``<runs_root>/paper`` has runs; otherwise (and besides) the claims that a
    chapter marked ``profile_sensitive`` and those whose status already differs between this
    profile and another scaled one. Returns the page's lines and the keys of those claims.
    """
    lines = ["## Would a status change under `paper`?", ""]
    if profile == "paper":
        return lines + [("These runs used the papers' own sizes (`paper`): no status on this "
                        "page is limited by a scaled-down profile."), ""], set()
    from .profiles import PROFILES

    root = Path(runs_root) if runs_root is not None else None
    here = {_key(c): c for c in claims}
    flagged: set[Key] = set()
    lines += [
        (f"Under `{profile}` the chapters run smaller than the papers, so a status that rests on "
        "a Monte-Carlo mean, a trained model or a sweep's extent can move under `paper`. What "
        "the profile changes, per chapter (from `ipsbook.profiles` and each run's "
        "`config.json`):"), "",
        f"| chapter | sizes under `{profile}` (paper's in brackets) |", "|---|---|",
        *(f"| {c} | {_md_cell(_chapter_scale(root, profile, c))} |"
          for c in sorted({c.chapter for c in claims})),
        "",
    ]

    measured = _claims_of(root, "paper") if root is not None else {}
    if measured:
        n, moved = _compare(here, measured)
        flagged.update(moved)
        lines += ["### Measured under `paper`", "",
                  f"{n} of these {len(here)} claims also have a `paper` run; {len(moved)} of "
                  "them change status there" + (":" if moved else "."), ""]
        if moved:
            lines += _moved_table([(here[k], measured[k]) for k in moved], profile, "paper")
    else:
        lines += [("No chapter has a `paper` run here, so the statuses at the papers' sizes "
                  "are not known; the claims below are the ones expected to move."), ""]

    marked = [c for c in claims if c.profile_sensitive]
    flagged.update(_key(c) for c in marked)
    lines += ["### Marked by the chapters", ""]
    if marked:
        lines += ["| chapter | artefact | quantity | status | why it may change |",
                  "|---|---|---|---|---|"]
        lines += [f"| {c.chapter} | {_md_cell(c.artefact)} | {_md_cell(c.quantity)} | "
                  f"{c.status} | {_md_cell(c.profile_sensitive)} |" for c in marked]
        lines.append("")
    else:
        lines += [("No claim is marked yet: a chapter marks one with "
                  '`profile_sensitive="why"` in `ClaimSet.value`, `relation` or '
                  "`not_comparable`."), ""]

    for other in PROFILES:
        theirs = _claims_of(root, other) if root is not None and other not in (
            profile, "paper") else {}
        if not theirs:
            continue
        n, moved = _compare(here, theirs)
        flagged.update(moved)
        lines += [f"### Seen moving between `{other}` and `{profile}`", "",
                  f"{n} of these {len(here)} claims also exist under `{other}` (the others are "
                  f"worded differently there, e.g. after a sweep's extent); {len(moved)} have "
                  "another status there, so they depend on the sizes and may move again under "
                  "`paper`" + (":" if moved else "."), ""]
        if moved:
            lines += _moved_table([(theirs[k], here[k]) for k in moved], other, profile)

    flagged &= set(here)
    mark = " (marked † in the table below)" if flagged else ""
    lines += [(f"**In all**, {len(flagged)} of the {len(here)} claims on this page may change "
               f"under `paper`{mark}; the other {len(here) - len(flagged)} were neither marked "
               "nor seen to move, which does not show that they would hold at the papers' "
               "sizes."), ""]
    return lines, flagged


def _summary_lines(frame) -> list[str]:
    counts = {s: int((frame["status"] == s).sum()) for s in STATUSES}
    total = len(frame)
    papers = sorted(set(frame["paper"]))
    chapters = sorted(set(frame["chapter"]))
    lines = [
        "## Summary", "",
        f"{total} claims from {len(chapters)} chapter(s) ({', '.join(chapters)}) of "
        f"{len(papers)} paper(s): "
        + ", ".join(f"**{n} {s}**" for s, n in counts.items()) + ".", "",
        "| paper | " + " | ".join(STATUSES) + " | total |",
        "|---|" + "---:|" * (len(STATUSES) + 1),
    ]
    for paper, row in summary(frame).iterrows():
        cells = " | ".join(str(int(row[s])) for s in STATUSES)
        lines.append(f"| {paper} — {_md_cell(PAPERS.get(paper, ''))} | {cells} | "
                     f"{int(row.sum())} |")
    lines.append("| **all papers** | " + " | ".join(f"**{counts[s]}**" for s in STATUSES)
                 + f" | **{total}** |")
    return lines + [""]


def scorecard_markdown(frame, profile: str, runs_root: str | Path | None = None) -> str:
    """The scorecard page (MyST Markdown) for one profile's claims. With ``runs_root``, the
    outlook compares them with the runs of the other profiles found there."""
    lines = [
        "(scorecard)=",
        "# Reproducibility scorecard",
        "",
        ("Every number or finding that a chapter regenerates, beside the paper's, with a status "
        "decided by code: *reproduced* (within the stated tolerance, or the relation holds), "
        "*not reproduced* (with our number), *not comparable* (with the reason)."),
        "",
        f"Profile of these runs: **{profile}**.",
        "",
    ]
    if frame.empty:
        lines.append("No chapter has recorded claims under this profile yet.")
        return "\n".join(lines) + "\n"
    claims = _from_frame(frame)
    lines += _summary_lines(frame)
    more, flagged = outlook(claims, profile, runs_root)
    lines += more
    lines += ["## All claims", "", "````{div} full-width", ""]
    head = ("paper", "artefact", "quantity", "paper_value", "ours", "criterion", "status",
            "reason", "profile")
    lines.append("| " + " | ".join(h.replace("_", " ") for h in head) + " |")
    lines.append("|" + "---|" * len(head))
    for claim in claims:
        row = asdict(claim)
        cells = [_md_cell(row[h]) for h in head]
        if claim.anchor:
            # a MyST cross-reference: the build (-W) fails if the chapter lost its label
            cells[1] = f"{{ref}}`{cells[1]} <{claim.anchor}>`"
        cells[6] = f"**{cells[6]}**" + (" †" if _key(claim) in flagged else "")
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "````"]
    if flagged:
        lines += ["", "† may change under `paper` (see above)."]
    return "\n".join(lines) + "\n"


def write_scorecard_page(runs_root: str | Path, profile: str, dest: str | Path) -> Path:
    """Gather the claims of ``profile`` and write the scorecard page to ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(scorecard_markdown(collect(runs_root, profile), profile, runs_root))
    return dest
