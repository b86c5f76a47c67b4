"""Claims: a paper's number or finding put beside ours, with an honest status.

One :class:`Claim` per regenerated number or qualitative finding. A chapter collects them in a
:class:`ClaimSet` (``out.claims`` in a notebook) and saves ``claims.json`` in its run folder; the
scorecard page (:mod:`ipsbook.book.scorecard`) gathers every chapter's claims (:func:`collect`).
Statuses are decided by code from the values, never typed by hand. Each claim has an ``id``
that stays the same across profiles (see :func:`claim_id`), so that a quick-profile claim can be
put beside its converged (``full``) counterpart.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_COMPARABLE = "not comparable"
STATUSES = (REPRODUCED, NOT_REPRODUCED, NOT_COMPARABLE)
#: An arithmetic fact shown beside the verdicts (e.g. a map's size in bytes): true by
#: construction, so it is no reproduction and stays out of the counts.
FACT = "fact"
ALL_STATUSES = (*STATUSES, FACT)
#: What a claim's protocol says (all optional; the scorecard shows them per claim).
PROTOCOL_FIELDS = ("source", "data", "metric", "baseline", "rule", "interval")

PAPERS = {
    "A": "Saccomanno et al. — deep metric learning on continuous similarities",
    "B": "FTM ranging: classical MDS vs Wall Remover + iterative EDM resolution",
    "C": "Nguyen et al. — multi-surrogate-teacher representation alignment",
    "D": "Omeñaca Muro, Mizmizi & Reggiani — binary fingerprinting with uncertainty regions",
    "E": "Wei & Radu — MTLoc, multimodal transfer learning",
}

COLUMNS = (
    "paper", "chapter", "artefact", "quantity", "paper_value", "ours", "criterion",
    "profile", "status", "reason", "anchor", "profile_sensitive", "id", "protocol",
)


def _slug(text: str) -> str:
    """Letters only, lower case, joined by '-': numbers (a sweep's extent, a profile's size)
    and punctuation do not take part, so the slug is the same under every profile."""
    plain = unicodedata.normalize("NFKD", str(text))
    words = re.findall(r"[^\W\d_]+", plain.lower())
    return "-".join(words)[:80] or "x"


def claim_id(chapter: str, artefact: str, quantity: str, taken: set[str] | None = None) -> str:
    """``chapter:artefact-slug:quantity-slug``, with ``#2``, ``#3`` ... for claims of one run
    whose words are the same (they differ only in numbers, e.g. one per layout)."""
    base = f"{chapter}:{_slug(artefact)}:{_slug(quantity)}"
    if taken is None or base not in taken:
        return base
    k = 2
    while f"{base}#{k}" in taken:
        k += 1
    return f"{base}#{k}"


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
    id: str = ""  # stable across profiles (claim_id); filled in by ClaimSet
    # where it is in the paper (source: table/figure/section and the printed value or a short
    # quote), data and split, metric and unit, the baseline, the rule with its tolerance, and
    # the interval that decided it (PROTOCOL_FIELDS)
    protocol: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.status not in ALL_STATUSES:
            raise ValueError(f"status={self.status!r} is not allowed; allowed: {ALL_STATUSES}")
        if self.protocol is not None:
            unknown = sorted(set(self.protocol) - set(PROTOCOL_FIELDS))
            if unknown:
                raise ValueError(f"protocol has unknown field(s) {', '.join(unknown)}; "
                                 f"allowed: {', '.join(PROTOCOL_FIELDS)}")
        if self.profile_sensitive is not None and not str(self.profile_sensitive).strip():
            raise ValueError("profile_sensitive must say why the status may change under "
                             "`paper` (or be None)")


def _fmt(x: float, unit: str = "") -> str:
    text = f"{x:.3g}" if isinstance(x, float) else str(x)
    return f"{text} {unit}".strip()


def _why_not(interval: Any, want: int, margin: float, unit: str) -> str:
    """Why a difference claim failed: B better, A better by less than the margin, or the
    interval holds 0 (unresolved at this size)."""
    side0 = interval.side(0.0)
    if side0 == -want:
        return "the other one is better: the interval lies wholly on the other side"
    if side0 == want:  # only possible with a margin
        return (f"A is better, but the interval is not wholly beyond the margin "
                f"{want * margin:+g}{' ' + unit if unit else ''}")
    return ("unresolved: the interval contains no difference (0), so the data cannot tell "
            "the two apart at this size")


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
    # protocol fields shared by the chapter's claims (e.g. its data and metric); a claim's own
    # protocol overrides them field by field (set with :meth:`protocol_defaults`)
    defaults: dict[str, str] = field(default_factory=dict)

    def protocol_defaults(self, **fields: str) -> None:
        """Protocol fields every later claim of this set gets unless it states its own."""
        unknown = sorted(set(fields) - set(PROTOCOL_FIELDS))
        if unknown:
            raise ValueError(f"protocol has unknown field(s) {', '.join(unknown)}; "
                             f"allowed: {', '.join(PROTOCOL_FIELDS)}")
        self.defaults.update({k: str(v) for k, v in fields.items() if v})

    def __post_init__(self) -> None:
        if self.paper not in PAPERS:
            raise ValueError(f"paper={self.paper!r} is not known; allowed: {', '.join(PAPERS)}")

    def _add(self, protocol: dict[str, str] | None = None, **kw: Any) -> Claim:
        taken = {c.id for c in self.claims}
        kw.setdefault("id", claim_id(self.chapter, kw["artefact"], kw["quantity"], taken))
        proto = {**self.defaults,
                 **{k: str(v) for k, v in dict(protocol or {}).items() if v not in (None, "")}}
        proto.setdefault("rule", kw.get("criterion", ""))
        claim = Claim(paper=self.paper, chapter=self.chapter, profile=self.profile,
                      protocol=proto or None, **kw)
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
        protocol: dict[str, str] | None = None,
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
            profile_sensitive=profile_sensitive, protocol=protocol,
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
        protocol: dict[str, str] | None = None,
    ) -> Claim:
        """A qualitative finding (``statement``) that our numbers either support or not."""
        status = REPRODUCED if bool(holds) else NOT_REPRODUCED
        return self._add(
            artefact=artefact, quantity=quantity, paper_value=statement, ours=ours,
            criterion="relation", status=status, reason="" if holds else why_not, anchor=anchor,
            profile_sensitive=profile_sensitive, protocol=protocol,
        )

    def difference(
        self,
        artefact: str,
        quantity: str,
        statement: str,
        interval: Any,
        *,
        better: str = "lower",
        margin: float = 0.0,
        unit: str = "",
        ours: str = "",
        anchor: str = "",
        profile_sensitive: str | None = None,
        protocol: dict[str, str] | None = None,
    ) -> Claim:
        """"A is better than B", decided by the interval of the paired difference A − B
        (:class:`ipsbook.stats.Interval`, over seeds, Monte-Carlo realisations or bootstrap
        resamples of test items). ``better="lower"`` (errors) wants the whole interval below
        ``-margin``; ``"higher"`` (correlations, hit rates) above ``+margin``. Wholly on the
        other side: not reproduced (B is better); straddling: not reproduced, unresolved at
        this size. A single seed (``n == 1``) decides nothing: not comparable. ``ours``: our
        two values, shown before the interval."""
        if better not in ("lower", "higher"):
            raise ValueError(f"better={better!r} is not allowed; allowed: 'lower', 'higher'")
        if margin < 0:
            raise ValueError(f"margin={margin!r} must be >= 0")
        want = -1 if better == "lower" else 1
        side = interval.side(margin)
        text = interval.describe(unit)
        edge = f"{want * margin:+g}" if margin else "0"
        rule = (f"{interval.level:.0%} interval of A − B wholly "
                f"{'below' if want < 0 else 'above'} {edge}{' ' + unit if unit else ''}")
        proto = {"interval": text, "rule": rule, **dict(protocol or {})}
        kw = {"artefact": artefact, "quantity": quantity, "paper_value": statement,
              "ours": f"{ours}; {text}" if ours else text, "criterion": "interval",
              "anchor": anchor, "profile_sensitive": profile_sensitive, "protocol": proto}
        if interval.n < 2:
            return self._add(status=NOT_COMPARABLE,
                             reason="one repeat only: no interval, so no verdict", **kw)
        if side == want:
            return self._add(status=REPRODUCED, reason="", **kw)
        return self._add(status=NOT_REPRODUCED, reason=_why_not(interval, want, margin, unit),
                         **kw)

    def fact(
        self, artefact: str, quantity: str, statement: str, holds: bool, ours: str,
        *, anchor: str = "", protocol: dict[str, str] | None = None,
    ) -> Claim:
        """An arithmetic fact (true by construction, e.g. a map's size): shown beside the
        verdicts, never counted as reproduced. One that does not hold says so in ``reason``."""
        return self._add(
            artefact=artefact, quantity=quantity, paper_value=statement, ours=ours,
            criterion="arithmetic", status=FACT,
            reason="" if holds else "does not hold for these settings", anchor=anchor,
            profile_sensitive=None, protocol=protocol,
        )

    def not_comparable(
        self, artefact: str, quantity: str, paper_value: str, ours: str, reason: str,
        *, anchor: str = "", profile_sensitive: str | None = None,
        protocol: dict[str, str] | None = None,
    ) -> Claim:
        """A number shown beside ours that cannot be judged (different data, missing value...)."""
        if not reason:
            raise ValueError("not_comparable(): reason must say why")
        return self._add(
            artefact=artefact, quantity=quantity, paper_value=paper_value, ours=ours,
            criterion="—", status=NOT_COMPARABLE, reason=reason, anchor=anchor,
            profile_sensitive=profile_sensitive, protocol=protocol,
        )

    def verdicts(self) -> str:
        """Every claim's status, id and our value, one line each, as plain text: the cell
        that shows it (tagged ``nbval-check-output``) fails the suite when a re-execution
        changes any verdict (a DataFrame's repr would elide the middle of a long list)."""
        return "\n".join(f"{c.status:<14} {c.id}: {c.ours}" for c in self.claims)

    def to_frame(self):
        """A pandas DataFrame with one row per claim (columns :data:`COLUMNS`)."""
        import pandas as pd

        return pd.DataFrame([asdict(c) for c in self.claims], columns=list(COLUMNS))

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps([asdict(c) for c in self.claims], indent=1, ensure_ascii=False))
        return path


def load(path: str | Path) -> list[Claim]:
    """Read a ``claims.json`` written by :meth:`ClaimSet.save` (ids filled in for files written
    before claims had them)."""
    path = Path(path)
    try:
        rows = json.loads(path.read_text())
        claims: list[Claim] = []
        taken: set[str] = set()
        for row in rows:
            row = dict(row)
            if not row.get("id"):
                row["id"] = claim_id(row["chapter"], row["artefact"], row["quantity"], taken)
            taken.add(row["id"])
            claims.append(Claim(**row))
        return claims
    except (json.JSONDecodeError, TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"{path} is not a valid claims file ({exc}); re-run its notebook") from exc


def collect(runs_root: str | Path, profile: str):
    """Every chapter's claims under ``runs_root/<profile>/*/claims.json`` as one DataFrame."""
    return collect_files(sorted(Path(runs_root, profile).glob("*/claims.json")))


def collect_files(files):
    """The claims of these ``claims.json`` files as one DataFrame (columns :data:`COLUMNS`)."""
    import pandas as pd

    rows = [asdict(c) for f in files for c in load(f)]
    return pd.DataFrame(rows, columns=list(COLUMNS))


