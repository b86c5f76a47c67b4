"""The reproducibility scorecard: every chapter's claims on one page (book machinery).

The claims themselves are recorded by :mod:`ipsbook.book.claims` while a chapter runs; this module
only reads ``claims.json`` files and writes ``book/scorecard.md``.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .claims import COLUMNS, FACT, PAPERS, PROTOCOL_FIELDS, STATUSES, Claim, collect, load


def summary(frame) -> Any:
    """Counts of claims per paper and status (a pandas DataFrame)."""
    import pandas as pd

    if frame.empty:
        return pd.DataFrame(columns=list(STATUSES))
    counts = pd.crosstab(frame["paper"], frame["status"])
    return counts.reindex(columns=list(STATUSES), fill_value=0)


def _md_cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


Key = str


def _key(c: Claim) -> Key:
    """How a claim is recognised in another profile's runs: its id (ipsbook.book.claims.claim_id)."""
    return c.id


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
    from ..profiles import ProfileError
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
    from ..profiles import PROFILES

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
    facts = int((frame["status"] == FACT).sum())
    total = len(frame) - facts
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
    if facts:
        lines += ["", (f"Besides these, {facts} arithmetic fact(s) (true by construction, e.g. "
                       "a map's size) are listed with status *fact*: they are no reproduction, "
                       "so they are not counted.")]
    return lines + [""]


_PROTOCOL_TITLES = {"source": "in the paper", "data": "data and split",
                    "metric": "metric and unit", "baseline": "baseline", "rule": "rule",
                    "interval": "interval that decided it"}


def _protocol_lines(claims: list[Claim]) -> list[str]:
    """Each claim's protocol, per chapter, in a collapsed box (sphinx-design's dropdown)."""
    lines = ["## How each claim is judged", "",
             ("Per claim: where it stands in the paper, the data and split, the metric and unit, "
              "the baseline it is compared with, the rule and the interval that decided it "
              "(empty where the chapter does not state it yet)."), ""]
    for chapter in sorted({c.chapter for c in claims}):
        mine = [c for c in claims if c.chapter == chapter]
        n_full = sum(bool(c.protocol and set(c.protocol) - {"rule"}) for c in mine)
        lines += [(f"````{{dropdown}} {chapter}: {len(mine)} claims, {n_full} with a stated "
                   "protocol"), "",
                  "| claim | " + " | ".join(_PROTOCOL_TITLES[f] for f in PROTOCOL_FIELDS) + " |",
                  "|" + "---|" * (len(PROTOCOL_FIELDS) + 1)]
        for c in mine:
            proto = c.protocol or {}
            cells = [_md_cell(proto.get(f, "") or "—") for f in PROTOCOL_FIELDS]
            lines.append(f"| {_md_cell(c.artefact)}: {_md_cell(c.quantity)} | "
                         + " | ".join(cells) + " |")
        lines += ["", "````", ""]
    return lines


REFERENCE = "full"


def _reference_section(
    claims: list[Claim], profile: str, ref: dict[Key, Claim], stale: dict[str, list[str]],
) -> list[str]:
    """How this profile's verdicts compare with the frozen reference (``full``) runs."""
    lines = [f"## Beside the converged reference runs (`{REFERENCE}`)", ""]
    chapters = sorted({c.chapter for c in claims})
    frozen = [c for c in chapters if c in stale]
    if not frozen:
        return lines + [(f"No chapter on this page has a frozen `{REFERENCE}` run yet "
                         "(`results/full/`), so there is nothing to compare with."), ""]
    lines += [(f"Each chapter's converged run is frozen in `results/{REFERENCE}/` "
               "(`ipsbook freeze`); the reference columns of the table below show its value and "
               "status for the same claim (matched by the claim's id). A *stale* reference was "
               "made by older code: its inputs changed since, as listed."), "",
              "| chapter | reference run |", "|---|---|"]
    for ch in chapters:
        if ch not in stale:
            state = "none frozen yet"
        elif stale[ch]:
            state = "**stale**: changed since: " + _md_cell("; ".join(stale[ch]))
        else:
            state = "current"
        lines.append(f"| {ch} | {state} |")
    lines.append("")
    both = [c for c in claims if _key(c) in ref]
    moved = [c for c in both if ref[_key(c)].status != c.status]
    lines += [f"{len(both)} of the {len(claims)} claims here also have a reference verdict; "
              f"**{len(moved)}** of them differ between `{profile}` and `{REFERENCE}`"
              + (":" if moved else "."), ""]
    if moved:
        lines += [(f"| chapter | artefact | quantity | `{profile}` | `{REFERENCE}` | "
                   f"ours under `{REFERENCE}` |"), "|---|---|---|---|---|---|"]
        for c in moved:
            r = ref[_key(c)]
            lines.append(f"| {c.chapter} | {_md_cell(c.artefact)} | {_md_cell(c.quantity)} | "
                         f"{c.status} | {r.status}{' (stale)' if stale.get(c.chapter) else ''} "
                         f"| {_md_cell(r.ours)} |")
        lines.append("")
    return lines


def scorecard_markdown(
    frame, profile: str, runs_root: str | Path | None = None,
    reference: dict[Key, Claim] | None = None, stale: dict[str, list[str]] | None = None,
) -> str:
    """The scorecard page (MyST Markdown) for one profile's claims. With ``runs_root``, the
    outlook compares them with the runs of the other profiles found there. ``reference``: the
    frozen ``full`` claims by id, shown beside these; ``stale``: per chapter with a frozen run,
    what changed since it was frozen (empty: current)."""
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
    stale = dict(stale or {})
    lines += _summary_lines(frame)
    if profile == REFERENCE and stale:
        old = {ch: why for ch, why in stale.items() if why}
        lines += ["## Are these reference runs current?", "",
                  (f"These are the frozen `{REFERENCE}` runs of `results/{REFERENCE}/`. "
                   + (f"{len(old)} chapter(s) changed since they were frozen; their claims are "
                      "marked *(stale)*: they come from older code." if old else
                      "None of their inputs has changed since they were frozen.")), ""]
        for ch, why in sorted(old.items()):
            lines.append(f"* **{ch}**: changed since: {_md_cell('; '.join(why))}")
        lines.append("")
    with_ref = reference is not None and profile != REFERENCE
    if with_ref:
        lines += _reference_section(claims, profile, reference, stale)
    more, flagged = outlook(claims, profile, runs_root)
    lines += more
    lines += ["## All claims", "", "````{div} full-width", ""]
    head = ("paper", "artefact", "quantity", "paper_value", "ours", "criterion", "status",
            "reason", "profile")
    titles = [h.replace("_", " ") for h in head]
    if with_ref:
        titles += [f"ours under `{REFERENCE}`", f"status under `{REFERENCE}`"]
    lines.append("| " + " | ".join(titles) + " |")
    lines.append("|" + "---|" * len(titles))
    for claim in claims:
        row = asdict(claim)
        cells = [_md_cell(row[h]) for h in head]
        if claim.anchor:
            # a MyST cross-reference: the build (-W) fails if the chapter lost its label
            cells[1] = f"{{ref}}`{cells[1]} <{claim.anchor}>`"
        cells[6] = f"**{cells[6]}**" + (" †" if _key(claim) in flagged else "")
        if profile == REFERENCE and stale.get(claim.chapter):
            cells[6] += " *(stale)*"
        if with_ref:
            r = reference.get(_key(claim))
            if r is None:
                cells += ["—", "—"]
            else:
                mark = " *(stale)*" if stale.get(claim.chapter) else ""
                cells += [_md_cell(r.ours), f"**{r.status}**{mark}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "````", ""]
    if flagged:
        lines += ["† may change under `paper` (see above).", ""]
    lines += _protocol_lines(claims)
    return "\n".join(lines) + "\n"


def write_scorecard_page(
    runs_root: str | Path, profile: str, dest: str | Path, *,
    reference: dict[str, Any] | None = None, reference_root: str | Path | None = None,
) -> Path:
    """Gather the claims of ``profile`` and write the scorecard page to ``dest``.

    ``reference``: chapter → its frozen run's state (anything with ``.state`` and ``.why``,
    e.g. :class:`ipsbook.book.freeze.BundleState`); ``reference_root``: the folder of the frozen
    runs (``results/full``), whose claims are shown beside these."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    stale = {name: (list(st.why) if st.state != "current" else [])
             for name, st in (reference or {}).items()}
    ref_claims = None
    if reference_root is not None:
        root = Path(reference_root)
        ref_claims = _claims_of(root.parent, root.name)
    dest.write_text(scorecard_markdown(collect(runs_root, profile), profile, runs_root,
                                       reference=ref_claims, stale=stale))
    return dest
