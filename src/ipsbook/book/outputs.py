"""Where a notebook puts what it makes: tables (CSV), figures (PNG + SVG), claims (JSON).

The runner executes every notebook inside a fresh temporary folder and passes it as the
``output_dir`` parameter; only a successful run replaces the previous output. A notebook does::

    out = ipsbook.book.outputs.RunOutput(output_dir, chapter="bfp", paper="D", cfg=cfg, params=...)
    out.table(df, "table1")          # tables/table1.csv, and shows it
    out.figure(fig, "fig3a")         # figures/fig3a.png and .svg
    out.claims.relation(...)         # claims
    out.finish()                     # claims.json + config.json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..display import readable
from .claims import ClaimSet


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


class RunOutput:
    """The output folder of one notebook run."""

    def __init__(
        self,
        output_dir: str | Path,
        *,
        chapter: str,
        paper: str,
        cfg: Any,
        params: dict[str, Any] | None = None,
    ) -> None:
        self.root = Path(output_dir)
        self.tables_dir = self.root / "tables"
        self.figures_dir = self.root / "figures"
        for d in (self.tables_dir, self.figures_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.chapter = chapter
        self.cfg = cfg
        self.params = dict(params or {})
        self.claims = ClaimSet(paper=paper, chapter=chapter, profile=cfg.profile)
        self.training_record: dict[str, Any] = {}

    def table(self, frame, name: str, *, index: bool = False, float_format: str = "%.4g"):
        """Save ``frame`` as ``tables/<name>.csv`` and return it, shown readably (no index unless
        ``index=True``, booleans as yes/no: :func:`ipsbook.display.readable`); it still computes
        as the same DataFrame."""
        path = self.tables_dir / f"{name}.csv"
        frame.to_csv(path, index=index, float_format=float_format)
        return readable(frame, index=index)

    def figure(self, fig, name: str, *, dpi: int = 110) -> Path:
        """Save ``fig`` as PNG and SVG, with no timestamps so reruns give identical files."""
        png = self.figures_dir / f"{name}.png"
        fig.savefig(png, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        fig.savefig(self.figures_dir / f"{name}.svg", bbox_inches="tight", metadata={"Date": None})
        return png

    def json(self, obj: Any, name: str) -> Path:
        path = self.root / f"{name}.json"
        path.write_text(json.dumps(_jsonable(obj), indent=1, ensure_ascii=False))
        return path

    def training(self, phases: dict[str, dict[str, Any]]):
        """Record how each training phase ended (``{name: Plateau.summary()}``-like dicts:
        epochs run, best epoch, why it stopped) in ``training.json``, where the runner puts it
        into ``run.json``; returns the table the chapter shows."""
        import pandas as pd

        self.training_record.update({str(k): _jsonable(dict(v)) for k, v in phases.items()})
        self.json(self.training_record, "training")
        cols = ["epochs_run", "cap", "best_epoch", "best_value", "stopped", "still_improving"]
        rows = [{"phase": k, **{c: v.get(c) for c in cols}} for k, v in phases.items()]
        frame = pd.DataFrame(rows, columns=["phase", *cols])
        if frame["best_epoch"].notna().any():  # 1-based for readers
            frame["best_epoch"] = frame["best_epoch"].map(
                lambda e: None if e is None or pd.isna(e) else int(e) + 1)
        return frame.dropna(axis=1, how="all")

    def finish(self):
        """Write ``claims.json`` and ``config.json``; return the claims as a DataFrame."""
        self.claims.save(self.root / "claims.json")
        self.json({"config": self.cfg.as_dict(), "params": self.params}, "config")
        return self.claims.to_frame()
