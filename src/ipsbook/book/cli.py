"""The ``ipsbook`` command: ``run``, ``list``, ``build``, ``freeze`` and ``status`` (logic in
:mod:`ipsbook.book.runner`, :mod:`ipsbook.book.build` and :mod:`ipsbook.book.freeze`).

Exit codes: 0 all went well; 1 a notebook (or the book build) failed; 2 bad input (unknown
profile, notebook or parameter; bad value); 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ..profiles import PROFILES, ProfileError
from . import runner

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ipsbook",
        description="Run the ipsbook notebooks with papermill and build the book.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--project", metavar="DIR",
        help="project root (default: the folder with pyproject.toml and notebooks/ "
             "found from the current directory upward)",
    )

    def add_profile(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--profile", default="quick", metavar="P",
            help=f"run profile: {', '.join(PROFILES)} (default: quick)",
        )
        p.add_argument(
            "--runs", metavar="DIR",
            help=f"runs root (default: ${runner.RUNS_ENV} or <project>/runs)",
        )

    run = sub.add_parser(
        "run", parents=[common], help="execute notebooks",
        description="Execute notebooks into <runs>/<profile>/<name>/ (atomically, cached).",
    )
    run.add_argument("names", nargs="+", metavar="NAME", help="notebook name(s), or 'all'")
    add_profile(run)
    run.add_argument(
        "-p", "--param", action="append", default=[], metavar="KEY=VALUE",
        help="set a parameter (a Python literal, else a string); repeatable",
    )
    run.add_argument("-j", "--jobs", type=int, default=1, metavar="N",
                     help="run N notebooks at once (default 1)")
    run.add_argument("--force", action="store_true", help="re-run even if the cache is fresh")
    run.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                     help="run the notebooks on this Dask distributed scheduler (then -j is "
                          "ignored: the cluster's workers decide how many run at once); a "
                          "notebook's own runs stay in its kernel unless it has a parameter for "
                          "that (paper C: -p scheduler=tcp://HOST:PORT)")

    sub.add_parser("list", parents=[common], help="list the notebooks and their parameters")

    freeze = sub.add_parser(
        "freeze", parents=[common], help="keep finished runs as reference results (results/)",
        description="Copy finished runs <runs>/<profile>/<name>/ into results/<profile>/<name>/ "
                    "with a sha256 manifest (the committed reference results); 'bench' copies "
                    "benchmarks/results/ into results/bench/.",
    )
    freeze.add_argument("names", nargs="+", metavar="NAME",
                        help="notebook name(s), 'all' (every finished run), or 'bench'")
    add_profile(freeze)
    freeze.set_defaults(profile="full")
    freeze.add_argument("--allow-dirty", action="store_true",
                        help="freeze a run made on a checkout with uncommitted changes")

    status = sub.add_parser(
        "status", parents=[common], help="which runs and reference results are current",
        description="Per chapter and profile: the local run (runs/) and the frozen reference "
                    "(results/), each current, stale (with the inputs that changed) or missing.",
    )
    status.add_argument("names", nargs="*", metavar="NAME", help="notebook name(s) (default all)")
    add_profile(status)
    status.set_defaults(profile=None)
    status.add_argument("--verify", action="store_true",
                        help="also check every bundle in results/ against its manifest")

    build = sub.add_parser(
        "build", parents=[common], help="copy executed notebooks into the book and render it",
    )
    add_profile(build)
    build.add_argument("--no-html", action="store_true",
                       help="copy notebooks and write the scorecard and performance pages, but do "
                            "not run jupyter-book")
    return parser


def _say(text: str, *, err: bool = False) -> None:
    from tqdm import tqdm

    # tqdm.write keeps an active progress bar intact
    tqdm.write(text, file=sys.stderr if err else sys.stdout)


def _cmd_run(args: argparse.Namespace) -> int:
    params = runner.parse_assignments(args.param)
    plans = runner.plan_runs(
        args.names, args.profile, params, project=args.project, runs=args.runs,
    )

    def on_result(result: runner.RunResult) -> None:
        if result.error:
            _say(f"ipsbook: {result.error}", err=True)

    try:
        results = runner.run_notebooks(
            args.names, args.profile, plans=plans, jobs=args.jobs, force=args.force,
            scheduler=args.scheduler, on_result=on_result,
        )
    except KeyboardInterrupt:
        _say("ipsbook: interrupted; the last good outputs are untouched", err=True)
        return EXIT_INTERRUPTED
    for result in results:
        _say(result.summary())
    return EXIT_OK if all(r.status != runner.FAILED for r in results) else EXIT_FAILED


def _cmd_list(args: argparse.Namespace) -> int:
    project = runner.open_project(args.project)
    names = runner.available_notebooks(project)
    if not names:
        _say(f"no notebooks in {project.notebooks_dir}")
    for name in names:
        try:
            nb = runner.load_notebook(project, name)
        except runner.InputError as exc:
            _say(f"{name}  (cannot read its parameters: {exc})")
            continue
        _say(name)
        for p in nb.parameters.values():
            note = "  (set by the runner)" if p.name in runner.MANAGED_PARAMETERS else ""
            _say(f"    {p.name} = {p.source}{note}")
    return EXIT_OK


def _cmd_build(args: argparse.Namespace) -> int:
    from .build import BuildError, build_book

    try:
        result = build_book(
            args.profile, project=args.project, runs=args.runs, html=not args.no_html,
        )
    except BuildError as exc:
        _say(f"ipsbook: {exc}", err=True)
        return EXIT_FAILED
    _say(
        f"book/chapters: {len(result.chapters)} notebook(s) ({len(result.copied)} updated, "
        f"{len(result.removed)} stale removed); scorecard: {result.scorecard}; "
        f"performance: {result.performance}"
    )
    return EXIT_OK if result.returncode == 0 else EXIT_FAILED


def _cmd_freeze(args: argparse.Namespace) -> int:
    from .freeze import BENCH, FreezeError, freeze, freeze_bench

    names = list(dict.fromkeys(args.names))
    if "all" in names:
        project = runner.open_project(args.project, args.runs)
        names = [n for n in runner.available_notebooks(project)
                 if (project.output_dir(args.profile, n) / "run.json").is_file()]
        if not names:
            _say(f"ipsbook freeze: no finished run under {project.profile_dir(args.profile)}",
                 err=True)
            return EXIT_FAILED
    failed = 0
    for name in names:
        try:
            if name == BENCH:
                dest = freeze_bench(project=args.project)
            else:
                dest = freeze(name, args.profile, project=args.project, runs=args.runs,
                              allow_dirty=args.allow_dirty)
        except FreezeError as exc:
            _say(f"ipsbook freeze {name}: {exc}", err=True)
            failed += 1
            continue
        _say(f"frozen  {name:<10} -> {dest}")
    return EXIT_FAILED if failed else EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    from .freeze import status_rows, verify

    profiles = [args.profile] if args.profile else list(PROFILES)
    for p in profiles:
        if p not in PROFILES:
            raise ProfileError(f"profile={p!r} is not known; allowed: {', '.join(PROFILES)}")
    rows = status_rows(args.project, profiles, args.names or None, runs=args.runs)
    for row in rows:
        where = "results/" if row["where"] == "results" else "runs/"
        what = f"{where}{row['profile']}/{row['chapter']}"
        commit = f" (frozen at {row['commit']})" if row.get("commit") else ""
        _say(f"{row['state']:<8} {what:<24}{commit}")
        for why in row["why"]:
            _say(f"           changed: {why}")
    code = EXIT_OK
    if args.verify:
        problems = verify(args.project)
        for line in problems:
            _say(f"ipsbook status: {line}", err=True)
        _say("results/: every bundle matches its manifest" if not problems
             else f"results/: {len(problems)} problem(s)")
        code = EXIT_FAILED if problems else EXIT_OK
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ipsbook`` console script; returns the exit code."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or argparse's own usage errors (code 2)
        return int(exc.code or 0)
    command = {"run": _cmd_run, "list": _cmd_list, "build": _cmd_build,
               "freeze": _cmd_freeze, "status": _cmd_status}[args.command]
    try:
        return command(args)
    except (runner.InputError, ProfileError) as exc:
        _say(f"ipsbook {args.command}: error: {exc}", err=True)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("ipsbook: interrupted", err=True)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    raise SystemExit(main())
