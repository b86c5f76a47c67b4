"""Tests of ipsbook.book.runner (and the ipsbook CLI's exit codes) on toy notebooks.

The toy notebooks live in tests/fixtures/notebooks and are copied into a temporary project, so
that nothing here touches the real runs/ or book/. Tests that start a kernel are marked
``notebook``; each costs about a second.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import pytest

from ipsbook.book import runner
from ipsbook.book.cli import main
from ipsbook.profiles import ProfileError

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"


@pytest.fixture(autouse=True)
def _isolate(monkeypatch):
    monkeypatch.delenv(runner.RUNS_ENV, raising=False)
    monkeypatch.setattr(runner.log, "_LOG_FORCE", False)  # the log has a test of its own


@pytest.fixture
def proj(tmp_path) -> runner.Project:
    """A throw-away project: pyproject.toml, notebooks/ (the fixtures), a stub src/ipsbook."""
    root = tmp_path / "proj"
    (root / "notebooks").mkdir(parents=True)
    for nb in FIXTURES.glob("*.py"):
        shutil.copy(nb, root / "notebooks" / nb.name)
    (root / "pyproject.toml").write_text('[project]\nname = "toyproject"\n')
    # the cache key hashes <project>/src/ipsbook: a stub keeps it independent of the real
    # package, which other people edit while these tests run
    (root / "src" / "ipsbook").mkdir(parents=True)
    (root / "src" / "ipsbook" / "__init__.py").write_text("# stub\n")
    return runner.open_project(root)


def tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


def leftovers(proj: runner.Project, profile: str = "smoke") -> list[str]:
    folder = proj.profile_dir(profile)
    return sorted(p.name for p in folder.glob(".tmp-*")) if folder.exists() else []


def fake_good_run(proj: runner.Project, name: str, profile: str = "smoke") -> Path:
    """An output folder as a successful run leaves it (no kernel needed)."""
    out = proj.output_dir(profile, name)
    (out / "tables").mkdir(parents=True)
    (out / "tables" / "values.csv").write_text("i,value\n0,0\n")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    nbformat.write(nb, out / f"{name}.ipynb")
    (out / "run.json").write_text(json.dumps({"name": name, "cache_key": "old"}))
    return out


# ------------------------------------------------------------------------------------------
# input checks (no kernel)


def test_parse_value():
    assert runner.parse_value("3") == 3
    assert runner.parse_value("2.5") == 2.5
    assert runner.parse_value("True") is True
    assert runner.parse_value("None") is None
    assert runner.parse_value("[1, 2]") == [1, 2]
    assert runner.parse_value("(1, 2)") == (1, 2)
    assert runner.parse_value("'quoted'") == "quoted"
    assert runner.parse_value("uji") == "uji"
    assert runner.parse_value("a b") == "a b"


def test_parse_assignments():
    assert runner.parse_assignments(["n=3", "name=a=b", "n=4"]) == {"n": "4", "name": "a=b"}
    with pytest.raises(runner.ParameterError, match="name=value"):
        runner.parse_assignments(["n"])


def test_parameters_of_a_notebook(proj):
    nb = runner.load_notebook(proj, "toy")
    assert {k: p.default for k, p in nb.parameters.items()} == {
        "profile": "quick", "seed": 0, "output_dir": ".", "n": 3, "scale": 1.5,
    }
    assert nb.user_parameters() == ["seed", "n", "scale"]


def test_unknown_parameter_names_notebook_and_allowed(proj):
    with pytest.raises(runner.ParameterError) as info:
        runner.plan_runs(["toy"], "smoke", {"nn": "4"}, project=proj)
    msg = str(info.value)
    assert "'toy'" in msg and "'nn'" in msg
    assert "seed, n, scale" in msg and "did you mean 'n'" in msg


@pytest.mark.parametrize("name, hint", [("profile", "--profile"), ("output_dir", "managed")])
def test_managed_parameters_are_refused(proj, name, hint):
    with pytest.raises(runner.ParameterError, match=hint):
        runner.plan_runs(["toy"], "smoke", {name: "x"}, project=proj)


def test_parameter_values_are_typed(proj):
    with pytest.raises(runner.ParameterError, match=r"n='abc' is not an integer"):
        runner.plan_runs(["toy"], "smoke", {"n": "abc"}, project=proj)
    with pytest.raises(runner.ParameterError, match=r"scale='fast' is not a number"):
        runner.plan_runs(["toy"], "smoke", {"scale": "fast"}, project=proj)
    with pytest.raises(runner.ParameterError, match="True or False"):
        runner.plan_runs(["boom"], "smoke", {"fail": "3"}, project=proj)
    (plan,) = runner.plan_runs(["toy"], "smoke", {"n": "5", "scale": "2"}, project=proj)
    assert plan.overrides == {"n": 5, "scale": 2.0}
    assert plan.parameters == {"profile": "smoke", "seed": 0, "n": 5, "scale": 2.0}
    assert plan.injected() == {"n": 5, "scale": 2.0, "profile": "smoke", "output_dir": "."}
    (plan,) = runner.plan_runs(["boom"], "smoke", {"fail": "false"}, project=proj)
    assert plan.overrides == {"fail": False}


def test_parameters_with_all(proj):
    (proj.notebooks_dir / "_helper.py").write_text("x = 1\n")  # '_' files are not notebooks
    plans = runner.plan_runs(["all"], "smoke", {"n": "4", "fail": "False"}, project=proj)
    assert [p.name for p in plans] == ["boom", "toy"]
    assert plans[0].overrides == {"fail": False} and plans[1].overrides == {"n": 4}
    with pytest.raises(runner.ParameterError, match="no selected notebook has a parameter 'zz'"):
        runner.plan_runs(["all"], "smoke", {"zz": "1"}, project=proj)


def test_unknown_profile(proj):
    with pytest.raises(ProfileError, match="smoke, quick, full, paper"):
        runner.plan_runs(["toy"], "fast", project=proj)


def test_unknown_notebook_lists_the_available(proj):
    with pytest.raises(runner.NotebookNotFoundError) as info:
        runner.plan_runs(["toyy"], "smoke", project=proj)
    assert "'toyy'" in str(info.value) and "available: boom, toy" in str(info.value)


def test_notebook_without_required_parameters(proj):
    (proj.notebooks_dir / "bare.py").write_text('# %% tags=["parameters"]\nseed = 0\n')
    with pytest.raises(runner.InputError, match="missing: profile, output_dir"):
        runner.plan_runs(["bare"], "smoke", project=proj)


def test_project_and_runs_root(proj, monkeypatch, tmp_path):
    monkeypatch.chdir(proj.notebooks_dir)
    assert runner.find_project_root() == proj.root
    assert runner.open_project().runs_root == proj.root / "runs"
    monkeypatch.setenv(runner.RUNS_ENV, str(tmp_path / "elsewhere"))
    assert runner.open_project().runs_root == tmp_path / "elsewhere"
    assert runner.open_project(runs=tmp_path / "cli").runs_root == tmp_path / "cli"
    monkeypatch.chdir(tmp_path)
    with pytest.raises(runner.InputError, match="--project"):
        runner.open_project()


def test_cache_key_depends_on_what_decides_the_result(proj):
    def key(**kw) -> str:
        return runner.plan_runs(["toy"], kw.pop("profile", "smoke"), kw, project=proj)[0].cache_key

    base = key()
    assert key() == base
    assert key(n="4") != base
    assert key(n="3") == base  # the default, written out, is the same run
    assert key(profile="quick") != base
    # a module the run never imported is no input of it (modules are checked from the record)
    (proj.root / "src" / "ipsbook" / "new.py").write_text("x = 1\n")
    assert key() == base
    (proj.root / runner.LOCK_FILE).write_text("numpy==2.0\n")
    assert key() != base


def fake_recorded_run(proj: runner.Project, name: str, modules: list[str]) -> runner.RunPlan:
    """A finished run of ``name`` whose kernel imported ``modules`` of the stub package."""
    from ipsbook.book import inputs

    (plan,) = runner.plan_runs([name], "smoke", project=proj)
    out = fake_good_run(proj, name)
    pkg = proj.root / "src" / "ipsbook"
    used = inputs.inputs_now(root=proj.root, package_dir=pkg, name=name, profile="smoke",
                             parameters=plan.parameters, notebook_text=plan.notebook.text,
                             modules=modules, datasets=[])
    (out / "run.json").write_text(json.dumps({"name": name, "cache_key": plan.cache_key,
                                              "inputs": used}))
    return plan


def test_a_changed_module_makes_stale_only_the_chapters_that_imported_it(proj):
    pkg = proj.root / "src" / "ipsbook"
    (pkg / "a.py").write_text("A = 1\n")
    (pkg / "b.py").write_text("B = 1\n")
    plan_a = fake_recorded_run(proj, "toy", ["__init__.py", "a.py"])
    plan_b = fake_recorded_run(proj, "boom", ["__init__.py", "b.py"])
    assert runner.why_stale(plan_a) == [] and runner.why_stale(plan_b) == []
    (pkg / "a.py").write_text("A = 2\n")
    assert runner.why_stale(plan_a) == ["src/ipsbook/a.py"]
    assert runner.why_stale(plan_b) == []
    (pkg / "__init__.py").write_text("# changed\n")
    assert "src/ipsbook/__init__.py" in runner.why_stale(plan_b)
    (pkg / "b.py").unlink()
    assert "src/ipsbook/b.py (removed)" in runner.why_stale(plan_b)


def test_interrupted_run_leaves_old_output_and_no_temp(proj, monkeypatch):
    good = fake_good_run(proj, "toy")
    before = tree_digest(good)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("papermill.execute_notebook", interrupted)
    with pytest.raises(runner.RunInterrupted, match="interrupted"):
        runner.run_notebook("toy", "smoke", project=proj, force=True)
    assert tree_digest(good) == before
    assert leftovers(proj) == []
    with pytest.raises(KeyboardInterrupt):  # the multi-notebook API stops and re-raises
        runner.run_notebooks(["all"], "smoke", project=proj, force=True)
    assert tree_digest(good) == before
    assert leftovers(proj) == []
    assert main(["run", "toy", "--profile", "smoke", "--project", str(proj.root)]) == 130


def test_exception_before_any_cell_is_a_run_error(proj, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("kernel died")

    monkeypatch.setattr("papermill.execute_notebook", broken)
    with pytest.raises(runner.RunError, match="RuntimeError: kernel died") as info:
        runner.run_notebook("toy", "smoke", project=proj)
    assert "no executed notebook was written" in str(info.value)
    assert leftovers(proj) == []


# ------------------------------------------------------------------------------------------
# CLI (no kernel)


@pytest.mark.parametrize(
    "args, needle",
    [
        (["run", "nope", "--profile", "smoke"], "available: boom, toy"),
        (["run", "toy", "--profile", "fast"], "allowed: smoke, quick, full, paper"),
        (["run", "toy", "--profile", "smoke", "-p", "nn=1"], "has no parameter 'nn'"),
        (["run", "toy", "--profile", "smoke", "-p", "n=x"], "is not an integer"),
        (["run", "toy", "--profile", "smoke", "-p", "profile=paper"], "--profile"),
        (["run", "toy", "--profile", "smoke", "-j", "0"], "at least 1"),
        (["build", "--profile", "fast", "--no-html"], "not known"),
    ],
)
def test_cli_bad_input_exits_2(proj, capsys, args, needle):
    assert main([*args, "--project", str(proj.root)]) == 2
    err = capsys.readouterr().err
    assert needle in err and "Traceback" not in err


def test_cli_list(proj, capsys):
    assert main(["list", "--project", str(proj.root)]) == 0
    out = capsys.readouterr().out
    assert "toy\n" in out and "    n = 3\n" in out and "    scale = 1.5\n" in out
    assert "    fail = True\n" in out


# ------------------------------------------------------------------------------------------
# build (no kernel: the runs are faked)


def fake_chapter_run(proj: runner.Project, name: str, profile: str = "smoke") -> None:
    from ipsbook.book.claims import ClaimSet

    out = fake_good_run(proj, name, profile)
    claims = ClaimSet(paper="D", chapter=name, profile=profile)
    claims.value("Table 1", f"{name} RMSE", 1.0, 1.05, rel_tol=0.1, unit="m")
    claims.save(out / "claims.json")


def test_build_no_html_copies_notebooks_and_writes_scorecard(proj, capsys):
    fake_chapter_run(proj, "toy")
    chapters = proj.root / "book" / "chapters"
    chapters.mkdir(parents=True)
    (chapters / "gone.ipynb").write_text("{}")  # from a notebook that no longer exists
    args = ["build", "--profile", "smoke", "--no-html", "--project", str(proj.root)]
    assert main(args) == 0
    assert sorted(p.name for p in chapters.iterdir()) == ["_sources", "toy.ipynb"]
    executed = proj.output_dir("smoke", "toy") / "toy.ipynb"
    # the book's copy is the executed notebook plus the generated provenance cells; the run's
    # own notebook is what the page offers for download
    book = nbformat.read(chapters / "toy.ipynb", as_version=4)
    run_nb = nbformat.read(executed, as_version=4)
    assert [c.source for c in book.cells if "ipsbook-provenance" not in
            c.metadata.get("tags", [])] == [c.source for c in run_nb.cells]
    assert "## How this page was made" in book.cells[-1].source
    assert (chapters / "_sources" / "toy.ipynb").read_bytes() == executed.read_bytes()
    scorecard = (proj.root / "book" / "scorecard.md").read_text()
    assert "toy RMSE" in scorecard and "reproduced" in scorecard
    performance = (proj.root / "book" / "performance.md").read_text()
    assert "`make bench` has not been run" in performance
    assert "1 notebook(s)" in capsys.readouterr().out


def test_build_requires_runs_of_toc_chapters(proj, capsys):
    fake_chapter_run(proj, "toy")
    (proj.root / "_toc.yml").write_text(
        "format: jb-book\nroot: book/intro\nparts:\n- caption: Chapters\n  chapters:\n"
        "  - file: book/chapters/toy\n  - file: book/chapters/boom\n"
    )
    args = ["build", "--profile", "smoke", "--no-html", "--project", str(proj.root)]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "boom" in err and "ipsbook run all --profile smoke" in err


# ------------------------------------------------------------------------------------------
# real runs (a kernel each)


@pytest.mark.notebook
def test_parameters_injected_and_recorded(proj):
    result = runner.run_notebook("toy", "smoke", {"n": "4", "scale": "2"}, project=proj)
    out = result.output_dir
    assert result.status == runner.RAN and out == proj.runs_root / "smoke" / "toy"
    record = json.loads((out / "run.json").read_text())
    assert record["parameters"] == {"profile": "smoke", "seed": 0, "n": 4, "scale": 2.0}
    assert record["overrides"] == {"n": 4, "scale": 2.0}
    assert record["profile"] == "smoke" and len(record["cache_key"]) == 64
    for field in ("ipsbook_version", "git_commit", "started", "finished", "wall_s", "python"):
        assert field in record
    assert record["libraries"]["papermill"]
    # what the notebook wrote, with the injected values
    assert (out / "tables" / "values.csv").read_text().splitlines()[-1] == "3,6"
    assert json.loads((out / "claims.json").read_text())[0]["profile"] == "smoke"
    env = json.loads((out / "env.json").read_text())
    assert env["hashseed"] == "0"
    assert Path(env["cwd"]).parent == proj.profile_dir("smoke")  # ran inside the temp folder
    nb = nbformat.read(out / "toy.ipynb", as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert 'profile = "smoke"' in injected[0].source and "n = 4" in injected[0].source
    assert nb.metadata.papermill["input_path"] == "notebooks/toy.py"
    assert any("total=12.0" in o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
    assert leftovers(proj) == []


@pytest.mark.notebook
def test_failed_run_keeps_the_good_output(proj):
    good = runner.run_notebook("boom", "smoke", {"fail": "False"}, project=proj).output_dir
    before = tree_digest(good)
    with pytest.raises(runner.RunError) as info:
        runner.run_notebook("boom", "smoke", project=proj)
    msg = str(info.value)
    assert "notebook 'boom'" in msg
    assert "cell index 2" in msg and "from pathlib import Path" in msg
    assert "ValueError: boom: asked to fail" in msg
    assert f"last good output is untouched: {good}" in msg
    failed = proj.failed_dir("smoke", "boom") / "boom.ipynb"
    assert f"failed notebook is at {failed}" in msg and failed.is_file()
    assert tree_digest(good) == before
    assert leftovers(proj) == []
    # a later good run replaces the output and clears the failure
    runner.run_notebook("boom", "smoke", {"fail": "False", "seed": "1"}, project=proj)
    assert not failed.parent.exists()


@pytest.mark.notebook
def test_cache(proj):
    first = runner.run_notebook("toy", "smoke", project=proj)
    record = first.output_dir / "run.json"
    stamp = record.read_bytes()
    assert runner.run_notebook("toy", "smoke", project=proj).status == runner.CACHED
    assert record.read_bytes() == stamp
    assert runner.run_notebook("toy", "smoke", {"n": "2"}, project=proj).status == runner.RAN
    assert runner.run_notebook("toy", "smoke", {"n": "2"}, project=proj).status == runner.CACHED
    path = proj.notebooks_dir / "toy.py"
    path.write_text(path.read_text() + "\n# %%\nprint('changed')\n")
    assert runner.run_notebook("toy", "smoke", {"n": "2"}, project=proj).status == runner.RAN
    forced = runner.run_notebook("toy", "smoke", {"n": "2"}, project=proj, force=True)
    assert forced.status == runner.RAN


@pytest.mark.notebook
def test_two_notebooks_in_parallel(proj, monkeypatch):
    import threading

    active, peak, lock = [0], [0], threading.Lock()
    real_run_one = runner.local._run_one

    def counting_run_one(*args, **kwargs):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            return real_run_one(*args, **kwargs)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(runner.local, "_run_one", counting_run_one)
    seen = []
    results = runner.run_notebooks(
        ["all"], "smoke", {"fail": "False"}, project=proj, jobs=2, on_result=seen.append,
    )
    assert peak[0] == 2  # both kernels ran at the same time
    assert [r.name for r in results] == ["boom", "toy"]
    assert [r.status for r in results] == [runner.RAN, runner.RAN]
    assert sorted(r.name for r in seen) == ["boom", "toy"]
    for r in results:
        assert (r.output_dir / f"{r.name}.ipynb").is_file() and (r.output_dir / "run.json").is_file()
    assert leftovers(proj) == []


@pytest.mark.notebook
def test_dask_cluster_run_lands_in_the_same_folder(proj):
    distributed = pytest.importorskip("distributed")
    with pytest.raises(runner.RunError) as local:
        runner.run_notebook("boom", "smoke", project=proj)
    shutil.rmtree(proj.failed_dir("smoke", "boom"))
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://")
        results = runner.run_notebooks(
            ["all"], "smoke", {"n": "5"}, project=proj, scheduler=address,
        )
    by_name = {r.name: r for r in results}
    toy = by_name["toy"]
    assert toy.status == runner.RAN and toy.output_dir == proj.output_dir("smoke", "toy")
    record = json.loads((toy.output_dir / "run.json").read_text())
    assert record["executed_on"] == "dask" and record["parameters"]["n"] == 5
    assert (toy.output_dir / "tables" / "values.csv").is_file()
    # the worker's failure comes back with the same message as a local one
    assert by_name["boom"].status == runner.FAILED
    assert by_name["boom"].error == str(local.value)
    assert (proj.failed_dir("smoke", "boom") / "boom.ipynb").is_file()
    assert leftovers(proj) == []


@pytest.mark.notebook
def test_cli_exit_codes_of_runs(proj, capsys):
    base = ["--profile", "smoke", "--project", str(proj.root)]
    assert main(["run", "toy", "-p", "n=2", *base]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ran ") and str(proj.output_dir("smoke", "toy")) in out
    assert main(["run", "toy", "-p", "n=2", *base]) == 0
    assert capsys.readouterr().out.startswith("cached ")
    assert main(["run", "all", "-j", "2", *base]) == 1  # boom fails, toy (n=3) runs
    captured = capsys.readouterr()
    assert "ValueError: boom: asked to fail" in captured.err and "Traceback" not in captured.err
    lines = captured.out.splitlines()
    assert lines[0].startswith("failed  boom") and lines[1].startswith("ran     toy")


@pytest.mark.notebook
def test_kernel_start_race_is_retried(proj, monkeypatch):
    """A kernel that dies at start-up on a port taken by a neighbour is started again."""
    import papermill

    real = papermill.execute_notebook
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(*args, **kwargs)

    monkeypatch.setattr("papermill.execute_notebook", flaky)
    result = runner.run_notebook("toy", "smoke", project=proj, force=True)
    assert len(calls) == 2 and result.output_dir.exists()
    assert leftovers(proj) == []


def test_kernel_start_failure_gives_up_after_bounded_attempts(proj, monkeypatch):
    calls = []

    def always(*args, **kwargs):
        calls.append(1)
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr("papermill.execute_notebook", always)
    with pytest.raises(runner.RunError, match="Kernel died before replying"):
        runner.run_notebook("toy", "smoke", project=proj, force=True)
    assert len(calls) == runner.KERNEL_START_ATTEMPTS
    assert leftovers(proj) == []


@pytest.mark.notebook
def test_log_lines_when_stdout_is_not_a_terminal(proj, monkeypatch, capsys):
    monkeypatch.setattr(runner.log, "_LOG_FORCE", True)
    assert main(["run", "toy", "--profile", "smoke", "--project", str(proj.root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ipsbook: start toy (profile smoke)"
    assert lines[1].startswith("ipsbook: end   toy (profile smoke): ran after 0:")
    assert main(["run", "toy", "--profile", "smoke", "--project", str(proj.root)]) == 0
    assert "ipsbook: end   toy (profile smoke): cached (inputs unchanged)" in capsys.readouterr().out
    # the run folder keeps neither the record of inputs nor the progress file
    assert not list(proj.output_dir("smoke", "toy").glob(".ipsbook-*"))


def test_progress_bars_write_log_lines_for_the_runner(tmp_path, monkeypatch):
    from ipsbook import progress

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(runner.PROGRESS_ENV, "1")
    monkeypatch.setenv("IPSBOOK_PROGRESS_EVERY", "0")
    with progress.tqdm(total=4, desc="Table 1", unit="epoch", file=open(tmp_path / "bar", "w")) as bar:
        for _ in range(4):
            bar.update(1)
    lines = (tmp_path / ".ipsbook-progress.log").read_text().splitlines()
    assert lines[0].startswith("Table 1: 1/4 epoch, ") and "ETA" in lines[0]
    assert lines[-1].startswith("Table 1: 4/4 epoch done")
    monkeypatch.delenv(runner.PROGRESS_ENV)
    (tmp_path / ".ipsbook-progress.log").unlink()
    with progress.tqdm(total=2, file=open(tmp_path / "bar", "w")) as bar:
        bar.update(2)
    assert not (tmp_path / ".ipsbook-progress.log").exists()
    # a bar that ends within one log period writes no "done" line (no flood of small bars)
    monkeypatch.setenv(runner.PROGRESS_ENV, "1")
    monkeypatch.setenv("IPSBOOK_PROGRESS_EVERY", "3600")
    with progress.tqdm(total=2, desc="tiny", file=open(tmp_path / "bar", "w")) as bar:
        bar.update(2)
    assert not (tmp_path / ".ipsbook-progress.log").exists()
