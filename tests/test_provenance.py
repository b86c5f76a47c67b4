"""The generated "How this page was made" block (ipsbook.book.provenance) and its parsers."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, notebook_names

from ipsbook.book import bibtex, provenance
from ipsbook.book.provenance import ProvenanceError, parse_parameters_cell, split_comment

# --------------------------------------------------------------------------- parameters cell


@pytest.mark.parametrize(("comment", "meaning", "allowed"), [
    ("side of the square area [m] (positive)", "side of the square area [m]", "positive"),
    ("Wall Remover contraction step η (0 to 1, exclusive)", "Wall Remover contraction step η",
     "0 to 1, exclusive"),
    ("smoke | quick | paper: floor plans per point (table below)",
     "floor plans per point (table below)", "smoke | quick | paper"),
    ("noise std σ_W [dB] for Fig. 2 (f(x) form) (at least 0)",
     "noise std σ_W [dB] for Fig. 2 (f(x) form)", "at least 0"),
    ("the headline statistic (see the table below)", "the headline statistic (see the table below)",
     ""),
    ("seeds every realisation", "seeds every realisation", ""),
    ("added to each seed (each seed draws a split)", "added to each seed (each seed draws a split)",
     ""),
    ("fine-tuning rate (one of the rates)", "fine-tuning rate", "one of the rates"),
    ('"fitted" (from real sets) or "default" (1 m noise)',
     '"fitted" (from real sets) or "default" (1 m noise)', '"fitted" | "default"'),
    ('frame alignment: "sequential", "combinations" or "mean"',
     'frame alignment: "sequential", "combinations" or "mean"',
     '"sequential" | "combinations" | "mean"'),
    ('RSS that stands for "not heard" [dBm] (negative)', 'RSS that stands for "not heard" [dBm]',
     "negative"),
    ("", "", ""),
])
def test_split_comment(comment: str, meaning: str, allowed: str) -> None:
    assert split_comment(comment) == (meaning, allowed)


def test_parse_parameters_cell_reads_values_and_comments() -> None:
    source = (
        'profile = "quick"  # smoke | quick | paper: sizes\n'
        "# a comment above, read when the line has none\n"
        "seed = 0\n"
        "sizes = (1,\n"
        "         2)  # swept sizes [m] (positive)\n"
        "rate: float = 0.5  # step (0 to 1)\n"
        "undocumented = 3\n"
        "x.attr = 1  # not a parameter\n"
    )
    docs = {d.name: d for d in parse_parameters_cell(source)}
    assert list(docs) == ["profile", "seed", "sizes", "rate", "undocumented"]
    assert docs["profile"].allowed == "smoke | quick | paper" and docs["profile"].source == '"quick"'
    assert docs["seed"].meaning == "a comment above, read when the line has none"
    assert docs["sizes"].source == "(1,\n         2)" and docs["sizes"].allowed == "positive"
    assert (docs["rate"].meaning, docs["rate"].allowed) == ("step", "0 to 1")
    assert docs["undocumented"].comment == ""
    with pytest.raises(ProvenanceError, match="not valid Python"):
        parse_parameters_cell("x = = 1", "notebooks/x.py")


@pytest.mark.parametrize("name", notebook_names())
def test_every_notebook_parameter_has_a_comment(name: str) -> None:
    docs = provenance.notebook_parameters(REPO / "notebooks" / f"{name}.py")
    assert {"profile", "seed", "output_dir"} <= {d.name for d in docs}
    missing = [d.name for d in docs if not d.meaning]
    assert not missing, (
        f"notebooks/{name}.py: parameters without a comment (write "
        f"`name = value  # meaning (allowed range)`): {missing}"
    )


# --------------------------------------------------------------------------- bibliography

BIB = r"""
% a comment line
@article{henry2021geometric,
  author  = {Henry, Jerome and Ome{\~n}aca Muro, Miguel and Joaqu{\'i}n Huerta},
  title   = {A Geometric Approach to Noisy {EDM} Resolution},
  journal = {Computers},
  volume  = {10},
  number  = {3},
  pages   = {33--40},
  year    = 2021,
  doi     = {10.3390/computers10030033},
  note    = {Paper B, chapter toy},
}
@misc{smith2024arxiv,
  author = "Smith, Ann",
  title = {Binary \& ternary codes},
  eprint = {2405.13339}, archivePrefix = {arXiv},
  year = {2024},
}
"""


def test_bibtex_parse_and_format() -> None:
    bib = bibtex.parse_bibtex(BIB)
    assert set(bib) == {"henry2021geometric", "smith2024arxiv"}
    assert bib["henry2021geometric"]["year"] == "2021"
    cit = bibtex.format_citation("henry2021geometric", bib["henry2021geometric"])
    assert cit.text.startswith("Jerome Henry, Miguel Omeñaca Muro and Joaquín Huerta.")
    assert "*A Geometric Approach to Noisy EDM Resolution*" in cit.text
    assert "Computers 10(3):33–40, 2021." in cit.text and "Paper B" not in cit.text
    assert cit.links == (("doi:10.3390/computers10030033",
                          "https://doi.org/10.3390/computers10030033"),)
    arx = bibtex.format_citation("smith2024arxiv", bib["smith2024arxiv"])
    assert "Binary & ternary codes" in arx.text
    assert arx.links == (("arXiv:2405.13339", "https://arxiv.org/abs/2405.13339"),)
    with pytest.raises(bibtex.BibError, match="line 1: premature end of file"):
        bibtex.parse_bibtex("@misc{x, title = {open")


def test_the_books_papers_have_full_citations() -> None:
    bib = bibtex.read_bib(REPO / "book" / "references.bib")
    noted = {k: e for k, e in bib.items() if re.match(r"Paper [A-E], chapter", e.get("note", ""))}
    assert len(noted) == 5
    for key, entry in noted.items():
        cit = bibtex.format_citation(key, entry)
        assert "{" not in cit.text and "\\" not in cit.text.replace("\\_", ""), cit.text


# --------------------------------------------------------------------------- a fake run

HEADER = """# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---
"""

SOURCE = HEADER + '''
# %% [markdown]
# (toy)=
# # A toy chapter
#
# Reproduces {cite}`henry2021geometric` (and {cite}`smith2024arxiv`).

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | paper: Monte-Carlo sizes
seed = 0  # seeds everything
output_dir = "."  # set by the runner
sigma_w = 2.0  # noise std [dB] (at least 0)
label = "x"  # a label for the figures

# %%
print(sigma_w)
'''


def _fake_run(root: Path, name: str = "bfp", *, source: str = SOURCE) -> Path:
    """An output folder as ``ipsbook run bfp --profile smoke -p sigma_w=3 -p label='a b'``
    leaves it (no kernel): executed notebook, run.json, config.json."""
    import jupytext

    run = root / "runs" / "smoke" / name
    run.mkdir(parents=True)
    nb = jupytext.reads(source, fmt="py:percent")
    params = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nbformat.v4.new_code_cell(
        'profile = "smoke"\nsigma_w = 3.0\nlabel = "a b"\noutput_dir = "."\n',
        metadata={"tags": ["injected-parameters"], "papermill": {"duration": 0.01}})
    nb.cells.insert(params + 1, injected)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="3.0\n")]
            cell.execution_count = 1
            cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    nb.metadata["papermill"] = {"input_path": f"notebooks/{name}.py"}
    nbformat.write(nb, run / f"{name}.ipynb")
    record = {
        "name": name, "profile": "smoke", "status": "ok",
        "parameters": {"profile": "smoke", "seed": 0, "sigma_w": 3.0, "label": "a b"},
        "overrides": {"sigma_w": 3.0, "label": "a b"},
        "notebook": f"notebooks/{name}.py",
        "notebook_sha256": hashlib.sha256(source.encode()).hexdigest(),
        "ipsbook_version": "9.9.9", "git_commit": "0123456789abcdef" * 2 + "01234567",
        "git_dirty": True, "started": "2026-01-01T00:00:00+00:00",
        "finished": "2026-01-01T00:00:12+00:00", "wall_s": 12.5, "python": "3.11.7",
        "libraries": {"numpy": "2.4.6"},
    }
    (run / "run.json").write_text(json.dumps(record))
    from ipsbook import profiles

    config = {**profiles.resolve("bfp", "smoke", n_mc=7).as_dict()}
    (run / "config.json").write_text(json.dumps({"config": config, "params": {}}))
    return run


@pytest.fixture
def bib_path(tmp_path: Path) -> Path:
    path = tmp_path / "references.bib"
    path.write_text(BIB)
    return path


def test_provenance_block_of_a_fake_run(tmp_path: Path, bib_path: Path) -> None:
    run = _fake_run(tmp_path)
    facts = provenance.read_run(run, "bfp")
    assert facts.source == SOURCE and facts.source_verified
    text = provenance.provenance_markdown(facts, bibtex.read_bib(bib_path), SOURCE)
    assert text.startswith("(bfp-provenance)=\n## How this page was made\n")
    # the paper: the first {cite} of the first markdown cell, in full, with its DOI
    assert "Jerome Henry, Miguel Omeñaca Muro and Joaquín Huerta." in text
    assert "[doi:10.3390/computers10030033](https://doi.org/10.3390/computers10030033)" in text
    assert "{cite:t}`henry2021geometric`" in text
    # the profile's sizes against paper's, as config.json recorded them (n_mc overridden to 7)
    assert "| `n_mc` | 7 | 500 |" in text and "| `n_noise` | 2 | 200 |" in text
    assert "Executed under `smoke`" in text
    # the parameters table: value of this run, meaning, allowed range
    assert "| `sigma_w` | **3.0** (set with `-p`; default `2.0`) | noise std [dB] | at least 0 |" \
        in text
    assert '| `profile` | "smoke" | Monte-Carlo sizes | smoke \\| quick \\| paper |' in text
    assert '| `label` | **"a b"** (set with `-p`; default `"x"`) | a label for the figures | — |' \
        in text
    # re-run commands
    assert "ipsbook run bfp --profile smoke -p sigma_w=3.0 -p 'label=a b' --force" in text
    assert "jupytext --to ipynb -o - notebooks/bfp.py" in text
    assert "-p profile smoke -p output_dir runs/papermill/bfp -p sigma_w 3.0 -r label 'a b'" \
        in text
    # data, software, run, downloads
    assert "reads no measured data" in text
    assert "ipsbook 9.9.9" in text and "uncommitted changes" in text
    assert "wall time 12.5 s" in text and "numpy 2.4.6" in text
    assert "{download}`The executed notebook (bfp.ipynb) <_sources/bfp.ipynb>`" in text
    assert hashlib.sha256(SOURCE.encode()).hexdigest() in text
    assert "has changed since this run" not in text
    # the same run gives the same block; a changed notebooks/<name>.py is pointed out
    assert provenance.provenance_markdown(facts, bibtex.read_bib(bib_path), SOURCE) == text
    changed = provenance.provenance_markdown(facts, {}, SOURCE + "\n# edited\n")
    assert "has changed since this run" in changed and "Paper.** Not identified" in changed


def test_write_chapter_adds_cells_and_downloads(tmp_path: Path, bib_path: Path) -> None:
    run = _fake_run(tmp_path)
    before = (run / "bfp.ipynb").read_bytes()
    chapters = tmp_path / "book" / "chapters"
    assert provenance.write_chapter(run, "bfp", chapters, bib_path=bib_path)
    assert (run / "bfp.ipynb").read_bytes() == before  # the run itself is never touched
    assert (chapters / "_sources" / "bfp.ipynb").read_bytes() == before
    assert (chapters / "_sources" / "bfp.py").read_text() == SOURCE
    book = nbformat.read(chapters / "bfp.ipynb", as_version=4)
    run_nb = nbformat.read(run / "bfp.ipynb", as_version=4)
    tagged = [i for i, c in enumerate(book.cells)
              if provenance.PROVENANCE_TAG in c.metadata.get("tags", [])]
    assert tagged == [1, len(book.cells) - 1]
    assert "**smoke** profile" in book.cells[1].source and "{ref}`bfp-provenance`" in \
        book.cells[1].source
    assert [c.source for i, c in enumerate(book.cells) if i not in tagged] == \
        [c.source for c in run_nb.cells]
    # a second build from the same run changes nothing (Sphinx then rebuilds nothing)
    mtime = (chapters / "bfp.ipynb").stat().st_mtime_ns
    assert not provenance.write_chapter(run, "bfp", chapters, bib_path=bib_path)
    assert (chapters / "bfp.ipynb").stat().st_mtime_ns == mtime


def test_unverified_source_and_missing_records(tmp_path: Path) -> None:
    run = _fake_run(tmp_path)
    record = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**record, "notebook_sha256": "0" * 64}))
    (run / "config.json").unlink()
    facts = provenance.read_run(run, "bfp")
    assert not facts.source_verified
    text = provenance.provenance_markdown(facts, {})
    assert "not verified" in text and "| `n_mc` | 2 | 500 |" in text  # the profile's own sizes
    (run / "run.json").write_text(json.dumps({}))  # no profile recorded: the folder's parent
    bare = provenance.provenance_markdown(provenance.read_run(run, "bfp"), {})
    assert "Executed under `smoke`" in bare and "wall time not recorded" in bare
    assert "no git commit recorded" in bare
    (run / "run.json").write_text("{broken")
    with pytest.raises(ProvenanceError, match="run.json is not valid JSON"):
        provenance.read_run(run, "bfp")
    with pytest.raises(ProvenanceError, match="ipsbook run nope"):
        provenance.read_run(run, "nope")


def test_datasets_and_commands() -> None:
    keys = [ds.key for ds in provenance.chapter_datasets(["ftm"])]
    assert keys == ["rtt-feng", "rtt-yu"]
    digest = provenance.dataset_digest("rtt-feng")
    assert digest is not None and re.fullmatch(r"[0-9a-f]{64}", digest)
    assert provenance.dataset_digest("rtt-feng") == digest
    ipsbook_cmd, papermill_cmd = provenance.rerun_commands(
        "ftm", "quick", {"n_aps": 30, "sweep": [1, 2], "mode": "2"}, needs_data=True)
    assert ipsbook_cmd.startswith("export IPSBOOK_DATA_DIR=")
    assert """-p n_aps=30 -p 'sweep=[1, 2]' -p 'mode="2"'""" in ipsbook_cmd
    assert "-p n_aps 30 -y '{\"sweep\": [1, 2]}' -r mode 2" in papermill_cmd


def test_real_runs_rebuild_their_exact_source() -> None:
    runs = sorted((REPO / "runs").glob("*/*/run.json"))
    if not runs:
        pytest.skip("no runs under runs/ (run `ipsbook run all --profile smoke`)")
    for record in runs[:6]:
        name = record.parent.name
        if not (record.parent / f"{name}.ipynb").is_file():
            continue
        facts = provenance.read_run(record.parent, name)
        assert facts.source_verified, f"{record.parent}: the rebuilt source's sha256 differs"


def test_profile_differences_keep_a_rule_against_none_on_one_row(monkeypatch) -> None:
    """A stopping rule (a mapping) against the paper's ``None`` is one row in words, not one row
    per field with '"—"' on the other side; two mappings are compared field by field."""
    from ipsbook import profiles

    sizes = {
        "paper": {"stop": None, "train": {"epochs": 500, "lr": 0.001}},
        "full": {"stop": {"patience": 8, "min_delta": 0.001}, "train": {"epochs": 60, "lr": 0.001}},
    }
    monkeypatch.setattr(profiles, "resolve", lambda key, profile: type(
        "C", (), {"values": sizes[profile]})())
    differ, same = provenance.profile_differences("x", "full")
    assert differ == [("stop", "patience 8; min_delta 0.001", "None"),
                      ("train.epochs", "60", "500")]
    assert same == ["train.lr"]
