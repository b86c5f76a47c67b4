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
    "profile", "status", "reason", "anchor",
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

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status={self.status!r} is not allowed; allowed: {STATUSES}")


def _fmt(x: float, unit: str = "") -> str:
    text = f"{x:.3g}" if isinstance(x, float) else str(x)
    return f"{text} {unit}".strip()


@dataclass
class ClaimSet:
    """The claims of one chapter run; add with :meth:`value`, :meth:`relation`, :meth:`not_comparable`."""

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
    ) -> Claim:
        """A qualitative finding (``statement``) that our numbers either support or not."""
        status = REPRODUCED if bool(holds) else NOT_REPRODUCED
        return self._add(
            artefact=artefact, quantity=quantity, paper_value=statement, ours=ours,
            criterion="relation", status=status, reason="" if holds else why_not, anchor=anchor,
        )

    def not_comparable(
        self, artefact: str, quantity: str, paper_value: str, ours: str, reason: str,
        *, anchor: str = "",
    ) -> Claim:
        """A number shown beside ours that cannot be judged (different data, missing value...)."""
        if not reason:
            raise ValueError("not_comparable(): reason must say why")
        return self._add(
            artefact=artefact, quantity=quantity, paper_value=paper_value, ours=ours,
            criterion="—", status=NOT_COMPARABLE, reason=reason, anchor=anchor,
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


def scorecard_markdown(frame, profile: str) -> str:
    """The scorecard page (MyST Markdown) for one profile's claims."""
    lines = [
        "(scorecard)=",
        "# Reproducibility scorecard",
        "",
        "Every number or finding that a chapter regenerates, beside the paper's, with a status "
        "decided by code: *reproduced* (within the stated tolerance, or the relation holds), "
        "*not reproduced* (with our number), *not comparable* (with the reason).",
        "",
        f"Profile of these runs: **{profile}**. Under `smoke` and `quick` the Monte-Carlo runs, "
        "epochs and sizes are smaller than the papers' (see each chapter's profile table), so a "
        "status may change under `paper`.",
        "",
    ]
    if frame.empty:
        lines.append("No chapter has recorded claims under this profile yet.")
        return "\n".join(lines) + "\n"
    lines += ["## Summary", ""]
    summ = summary(frame)
    lines.append("| paper | " + " | ".join(STATUSES) + " | total |")
    lines.append("|---|" + "---|" * (len(STATUSES) + 1))
    for paper, row in summ.iterrows():
        total = int(row.sum())
        counts = " | ".join(str(int(row[s])) for s in STATUSES)
        lines.append(f"| {paper} — {_md_cell(PAPERS.get(paper, ''))} | {counts} | {total} |")
    lines += ["", "## All claims", "", "````{div} full-width", ""]
    head = ("paper", "artefact", "quantity", "paper_value", "ours", "criterion", "status",
            "reason", "profile")
    lines.append("| " + " | ".join(h.replace("_", " ") for h in head) + " |")
    lines.append("|" + "---|" * len(head))
    for _, row in frame.iterrows():
        cells = [_md_cell(row[h]) for h in head]
        if row["anchor"]:
            # a MyST cross-reference: the build (-W) fails if the chapter lost its label
            cells[1] = f"{{ref}}`{cells[1]} <{row['anchor']}>`"
        cells[6] = f"**{cells[6]}**"
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "````"]
    return "\n".join(lines) + "\n"


def write_scorecard_page(runs_root: str | Path, profile: str, dest: str | Path) -> Path:
    """Gather the claims of ``profile`` and write the scorecard page to ``dest``."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(scorecard_markdown(collect(runs_root, profile), profile))
    return dest
