"""Paper C's experiment layer (ipsbook.methods.mst.experiment): the plan of Tables 1-4, the smoke
profile end to end on the real data, identical numbers in and out of worker processes, the
UJI-LIB label, and clear errors for bad settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import need_mst_data

from ipsbook import profiles
from ipsbook.methods.mst import data
from ipsbook.methods.mst import experiment as ex
from ipsbook.methods.mst.experiment import (
    TABLES,
    VARIANTS,
    Run,
    Settings,
    estimate,
    full_variant,
    plan,
    run_all,
    sources_of,
)

ERROR_COLUMNS = [
    "table", "dataset", "sources", "model", "variant", "method", "seed", "fraction",
    "partition", "n_train", "sample", "error_m",
]
SUMMARY_COLUMNS = ["MAE", "p75", "p95", "p_below_10m", "n", "gain_pct"]


def _strings(frame: pd.DataFrame) -> set[str]:
    out: set[str] = set(map(str, frame.columns))
    for c in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[c]):
            out |= set(map(str, frame[c].unique()))
    return out


TINY = {
    "max_train": {"ujiindoorloc": 32, "tampere": 32, "uji-lib": 32},
    "max_test": {"ujiindoorloc": 16, "tampere": 16, "uji-lib": 16},
    "partitions": (0,),
}
ALL = ("ujiindoorloc", "tampere", "uji-lib", "uts")


def _digest_of(run: Run, s: Settings) -> str:
    return ex._digest(ex._definition(run, s))


# --- the plan (no data needed) -------------------------------------------------------------------


def test_pairs_follow_the_paper_with_uji_lib_in_uts_place():
    assert sources_of("ujiindoorloc") == ("uji-lib", "tampere")
    assert sources_of("uji-lib") == ("ujiindoorloc", "tampere")
    assert sources_of("tampere") == ("ujiindoorloc", "uji-lib")
    # the paper's exact pairs for a user with the UTS files
    assert sources_of("uji", third="uts") == ("uts", "tampere")
    assert sources_of("uts", third="uts") == ("ujiindoorloc", "tampere")
    assert sources_of("tampere", third="uts") == ("ujiindoorloc", "uts")
    s = Settings(third="uts")
    assert s.datasets == s.targets == ("ujiindoorloc", "uts", "tampere")
    assert Settings().targets == ("ujiindoorloc", "uji-lib", "tampere")
    q = Settings.from_profile("quick", third="uts")
    assert q.targets == ("ujiindoorloc", "uts", "tampere") and q.sources("uts") == (
        "ujiindoorloc", "tampere")
    assert Settings.from_profile("smoke", third="uts").targets == ("tampere",)


def test_plan_shares_runs_across_tables_and_labels_rows():
    s = Settings.from_profile("paper")
    rows = plan(s)
    by = {(r.table, r.dataset, r.model, r.variant, r.partition, r.fraction): r.run for r in rows}
    for m in ("dnn", "cnnloc", "bayescnn"):
        full = by[("table1", "tampere", m, "+++", -1, 1.0)]
        assert full.kind == "distill" and full.flags == (True, True, True)
        assert by[("table2", "tampere", m, "+++", -1, 1.0)] == full
        assert by[("table3", "tampere", m, "+++", -1, 1.0)] == full
        assert by[("table1", "tampere", m, "stand-alone", -1, 1.0)] == Run("expert", m, "tampere")
    # bAaT: "++" (no J_FI) in Tables 1, 3, 4 = Table 2's "++"; Table 2 also has bAaT+++ with J_FI
    assert full_variant("baat") == "++" and full_variant("DNN") == "+++"
    b = by[("table1", "ujiindoorloc", "baat", "++", -1, 1.0)]
    assert b.flags == (True, True, False) and by[("table2", "ujiindoorloc", "baat", "++", -1, 1.0)] == b
    assert by[("table2", "ujiindoorloc", "baat", "+++", -1, 1.0)].flags == (True, True, True)
    assert ("table1", "ujiindoorloc", "baat", "+++", -1, 1.0) not in by
    # Table 3: † the first source, ‡ the second, one teacher each
    assert by[("table3", "ujiindoorloc", "dnn", "†", -1, 1.0)].sources == ("uji-lib",)
    assert by[("table3", "ujiindoorloc", "dnn", "‡", -1, 1.0)].sources == ("tampere",)
    # Table 4: UJI at 1 % and 10 %, the others at 10 %, ten partitions, teachers of seed 0
    t4 = [r for r in rows if r.table == "table4" and r.model == "dnn" and r.variant == "+++"]
    assert sorted({(r.dataset, r.fraction) for r in t4}) == [
        ("tampere", 0.1), ("uji-lib", 0.1), ("ujiindoorloc", 0.01), ("ujiindoorloc", 0.1)]
    assert len(t4) == 40 and {r.partition for r in t4} == set(range(10))
    assert all(r.run.teacher_seed == 0 and r.run.seed == r.partition for r in t4)
    # every table has its variants per model, and kNN rows k = 3, 4, 5
    for table in TABLES:
        got = {r.variant for r in rows if r.table == table and r.model == "dnn"}
        assert got == set(VARIANTS[table])
        assert {r.variant for r in rows if r.table == table and r.model == "knn"} == {
            "k=3", "k=4", "k=5"}


def test_seed_limits_cut_seeds_per_table_model_and_transfer_rows():
    s = Settings.from_profile("paper", seeds=(0, 1, 2),
                              seed_limits={"table2": 1, "baat": 2, "transfer": 1})
    rows = plan(s)

    def seeds(table, model, variant):
        return sorted({r.seed for r in rows if (r.table, r.dataset, r.model, r.variant)
                       == (table, "tampere", model, variant)})

    assert seeds("table1", "dnn", "stand-alone") == [0, 1, 2]
    assert seeds("table1", "dnn", "+++") == [0, 1, 2]
    assert seeds("table1", "dnn", "*") == seeds("table1", "dnn", "**") == [0]
    assert seeds("table1", "baat", "++") == [0, 1]
    assert seeds("table2", "dnn", "+") == [0]  # the table's limit
    assert seeds("table2", "baat", "+") == [0]  # the smaller of the two limits
    assert seeds("table3", "cnnloc", "†") == [0, 1, 2]
    # kNN rows only for the seeds some network of the table ran
    assert seeds("table2", "knn", "k=3") == [0] and seeds("table1", "knn", "k=3") == [0, 1, 2]
    assert s.seeds_of("table1", "bAaT") == (0, 1)
    # without limits: every seed everywhere
    assert Settings(seeds=(0, 1)).seeds_of("table2", "dnn", "*") == (0, 1)
    for bad, match in (({"table9": 1}, "table9"), ({"dnn": 0}, "seed_limits"),
                       ({"dnn": 1.5}, "seed_limits")):
        with pytest.raises(ValueError, match=match):
            Settings(seeds=(0, 1), seed_limits=bad)


def test_profiles_sizes():
    paper = Settings.from_profile("paper")
    assert (paper.epochs["ujiindoorloc"], paper.lr["ujiindoorloc"]) == (500, 1e-3)
    assert (paper.epochs["tampere"], paper.lr["tampere"]) == (2000, 1e-3)
    assert (paper.epochs["uts"], paper.lr["uts"]) == (400, 1e-4)
    assert (paper.epochs["uji-lib"], paper.lr["uji-lib"]) == (2000, 1e-3)
    assert paper.partitions == tuple(range(10)) and paper.max_train == {
        d: None for d in ("ujiindoorloc", "tampere", "uji-lib", "uts")}
    assert all(paper.models[t] == ("dnn", "cnnloc", "bayescnn", "baat") for t in TABLES)
    # CNNLoc's SAE pre-training: the authors' 40 epochs (main.py epoch_sae); quick, smoke small
    assert paper.sae_epochs == dict.fromkeys(ALL, 40) == Settings().sae_epochs
    assert Settings.from_profile("quick").sae_epochs == {
        "ujiindoorloc": 5, "tampere": 40, "uji-lib": 40, "uts": 5}
    assert Settings.from_profile("smoke").sae_epochs == dict.fromkeys(ALL, 1)
    # quick: the estimated compute fits the chapter's 25 minutes on two workers with room
    quick = Settings.from_profile("quick")
    workers = profiles.resolve("mst", "quick").workers
    assert workers == 2
    cpu_s = estimate(quick)["seconds"].sum()
    assert cpu_s / workers < 0.8 * 25 * 60  # the estimate is ~1.5x the measured time
    assert estimate(paper)["seconds"].sum() > 100 * 3600  # meant for a GPU or days of CPU


def test_sae_setting_enters_only_the_digests_of_cnnloc_runs():
    paper = Settings.from_profile("paper")
    runs = ex._runs(plan(paper))
    assert {r.kind for r in runs} == {"expert", "standalone", "sequential", "collective",
                                      "distill", "knn"}
    more = Settings.from_profile("paper", sae_epochs=dict.fromkeys(ALL, 7))
    off = Settings.from_profile("paper", sae_epochs=dict.fromkeys(ALL, 0))
    for r in runs:
        same = _digest_of(r, paper) == _digest_of(r, more) == _digest_of(r, off)
        assert same == (r.model != "cnnloc"), r.name  # DNN, BayesCNN, bAaT, kNN: cache kept
        assert (_digest_of(r, paper) != _digest_of(r, off)) == (r.model == "cnnloc")
        # 0 = no pre-training = the definition (and digest) CNNLoc runs had before it existed
        assert "sae_epochs" not in str(ex._definition(r, off))
    # one dataset's value: only the CNNLoc runs that train on it (or use its experts) change
    tam = Settings.from_profile("paper", sae_epochs={**paper.sae_epochs, "tampere": 3})
    uji_expert = Run("expert", "cnnloc", "ujiindoorloc")
    assert _digest_of(uji_expert, tam) == _digest_of(uji_expert, paper)
    for r in (Run("expert", "cnnloc", "tampere"),
              Run("distill", "cnnloc", "ujiindoorloc", ("uji-lib", "tampere"),
                  flags=(True, True, True)),
              Run("sequential", "cnnloc", "ujiindoorloc", ("uji-lib", "tampere"))):
        assert _digest_of(r, tam) != _digest_of(r, paper)
    # the estimate counts the pre-training of CNNLoc runs only
    dnn_only = {"models": {t: ("dnn",) for t in TABLES}, "transfer_models": ("dnn",)}
    assert estimate(Settings.from_profile("quick", **dnn_only))["seconds"].sum() == estimate(
        Settings.from_profile("quick", sae_epochs=dict.fromkeys(ALL, 0), **dnn_only)
    )["seconds"].sum()
    quick = estimate(Settings.from_profile("quick")).set_index("run")["seconds"]
    quick0 = estimate(Settings.from_profile("quick", sae_epochs=dict.fromkeys(ALL, 0))
                      ).set_index("run")["seconds"]
    extra = quick - quick0
    assert (extra[[n for n in extra.index if "_cnnloc_" in n]] > 0).all()
    assert (extra[[n for n in extra.index if "_cnnloc_" not in n]] == 0).all()
    assert 20 < extra.sum() < 80  # CPU-s (profiles' comment: +40 on 2,256)


def test_stop_rule_enters_configs_and_digests_only_when_set():
    from ipsbook.training import StopRule

    quick, paper = Settings.from_profile("quick"), Settings.from_profile("paper")
    assert quick.stop is None and paper.stop is None and Settings().stop is None
    assert quick.train_config("tampere").stop is None
    assert quick.joint_config(("ujiindoorloc", "tampere")).stop is None
    # fixed-epoch artefacts keep the digests they had before the stop rule existed (the expert
    # and distilling ones changed once since, deliberately: J_Sim's printed form became the
    # default and the teachers' loss settings entered the experts' digests)
    pinned = {
        Run("expert", "dnn", "tampere"): "cc0c97279f9f694c",
        Run("standalone", "dnn", "tampere", fraction=0.1, partition=0): "98c7757fb695033b",
        Run("distill", "cnnloc", "ujiindoorloc", ("uji-lib", "tampere"),
            flags=(True, True, True)): "eaf67e6c47eedef1",
        Run("sequential", "dnn", "uji-lib", ("ujiindoorloc", "tampere")): "2bf499ee2a1b5739",
    }
    for run, digest in pinned.items():
        assert _digest_of(run, quick) == digest, run.name
    full = Settings.from_profile("full")
    rule = StopRule.of(profiles.resolve("mst", "full").stop)
    assert isinstance(full.stop, StopRule) and full.stop == rule
    assert full.train_config("ujiindoorloc").stop == rule
    assert full.train_config("tampere", partition=0).epochs == 1000  # the cap
    assert full.joint_config(("ujiindoorloc", "tampere")).stop == rule
    # with a rule, every trained run's digest changes, kNN's does not
    stopped = Settings.from_profile("quick", stop=rule.as_dict())
    assert stopped.stop == rule
    for r in ex._runs(plan(quick)):
        assert "stop" not in str(ex._definition(r, quick))
        assert (_digest_of(r, stopped) != _digest_of(r, quick)) == (r.kind != "knn"), r.name
    other = Settings.from_profile("quick", stop={**rule.as_dict(), "patience": 3})
    assert _digest_of(Run("expert", "dnn", "tampere"), other) != _digest_of(
        Run("expert", "dnn", "tampere"), stopped)
    with pytest.raises(ValueError, match="unknown field"):
        Settings(stop={"patients": 3})


def test_cpu_bf16_enters_the_configs_and_digests_of_the_named_networks_only():
    quick = Settings.from_profile("quick")
    assert quick.cpu_bf16 == ("bayescnn",) and Settings().cpu_bf16 == ()
    assert quick.train_config("tampere", model="bayescnn").cpu_bf16 is True
    assert quick.train_config("tampere", model="dnn").cpu_bf16 is False
    assert quick.train_config("tampere").cpu_bf16 is False
    assert quick.joint_config(("ujiindoorloc", "tampere"), "bayescnn").cpu_bf16 is True
    assert Settings(cpu_bf16="BayesCNN").cpu_bf16 == ("bayescnn",)
    fp32 = Settings.from_profile("quick", cpu_bf16=())
    runs = ex._runs(plan(quick))
    assert {r.model for r in runs} >= {"bayescnn", "dnn", "knn"}
    for r in runs:
        changed = _digest_of(r, quick) != _digest_of(r, fp32)
        assert changed == (r.model == "bayescnn"), r.name
        assert ("cpu_bf16" in ex._definition(r, quick)) == (r.model == "bayescnn")
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        Settings(cpu_bf16=("resnet",))
    # the chapter's parameter
    assert ex.parse_cpu_bf16("profile") is None
    assert ex.parse_cpu_bf16("none") == () == ex.parse_cpu_bf16(" ")
    assert ex.parse_cpu_bf16("BayesCNN, baat") == ("bayescnn", "baat")
    with pytest.raises(ValueError, match="unknown model 'vgg'"):
        ex.parse_cpu_bf16("vgg")
    with pytest.raises(TypeError, match="cpu_bf16=1"):
        ex.parse_cpu_bf16(1)
    from ipsbook.methods.mst.report import precision_note

    assert precision_note(quick) == "BayesCNN trains under bf16 autocast on CPU (the rest float32)"
    assert precision_note(fp32) == "float32 throughout"
    both = Settings.from_profile("quick", cpu_bf16=("bayescnn", "baat"))
    assert precision_note(both).startswith("BayesCNN, bAaT train under")


def test_loss_options_enter_the_digests_of_what_they_train():
    """A cached expert (its teacher) or distilling run trained under another J_Sim form, margin or
    pairing is never reused: each changes the digests of the runs it trains, and nothing else."""
    from ipsbook.methods.mst.distill import DistillOptions
    from ipsbook.methods.mst.losses import SIM_MODES

    base = Settings.from_profile("quick")
    assert base.options.sim_mode == "printed"  # eq. 1 as printed is the default
    assert base.teacher_config("tampere").sim_mode == "printed"
    runs = ex._runs(plan(base))
    for change in ({"sim_mode": "per-sample"}, {"sim_mode": "hinge"}, {"margin": 0.3}):
        other = Settings.from_profile("quick", options=DistillOptions(**change))
        assert other.teacher_config("tampere").weights_key() != base.teacher_config(
            "tampere").weights_key()
        for r in runs:
            trains_with_j_sim = r.kind in ("expert", "distill")
            assert (_digest_of(r, other) != _digest_of(r, base)) == trains_with_j_sim, r.name
    # the pairing and the diagnostics belong to distilling only: experts keep their digests
    for change in ({"pairing": "nearest"}, {"diagnose_every": 0}):
        other = Settings.from_profile("quick", options=DistillOptions(**change))
        for r in runs:
            assert (_digest_of(r, other) != _digest_of(r, base)) == (r.kind == "distill"), r.name
    digests = {m: _digest_of(Run("expert", "dnn", "tampere"), Settings.from_profile(
        "quick", options=DistillOptions(sim_mode=m))) for m in SIM_MODES}
    assert len(set(digests.values())) == len(SIM_MODES)
    with pytest.raises(ValueError, match="sim_mode='additive'.*'printed'"):
        DistillOptions(sim_mode="additive")
    with pytest.raises(ValueError, match="pairing='random'.*'row'.*'nearest'"):
        DistillOptions(pairing="random")
    with pytest.raises(ValueError, match="diagnose_every"):
        DistillOptions(diagnose_every=-1)


def test_stop_rule_end_to_end_on_the_smoke_plan():
    need_mst_data()
    from ipsbook.methods.mst.train import STOP_SUMMARY_KEYS

    rule = {"patience": 2, "lr_patience": 1, "min_delta": 0.01, "val_fraction": 0.25}
    caps = dict.fromkeys(("ujiindoorloc", "tampere", "uji-lib", "uts"), 25)
    s = Settings.from_profile("smoke", stop=rule, epochs=caps, partition_epochs=caps, **TINY)
    res = run_all(s, ["table4"], progress=False)
    tr = res.training
    assert set(STOP_SUMMARY_KEYS) <= set(tr.columns)
    trained = tr[tr.phase.isin(["stand-alone"]) | tr.phase.str.startswith("distill")]
    assert len(trained) == 4  # UJI and UJI-LIB experts, the partition model, the distilled one
    assert set(trained.stopped) <= {"plateau", "cap"} and (trained.epochs_cap == 25).all()
    assert (trained.epochs <= 25).all() and (trained.stopped == "plateau").any()
    assert ((trained.best_epoch >= 0) & (trained.best_epoch < trained.epochs)).all()
    # 32 training fingerprints (max_train): the networks train on the rest of their split
    assert (trained.n_train + trained.n_val == 32).all() and (trained.n_val > 0).all()
    teachers = tr[tr.phase == "teacher"]  # the WGAN-GP keeps its fixed epochs
    assert teachers.stopped.isna().all() and (teachers.epochs == 1).all()
    assert np.all(np.isfinite(res.errors.error_m))
    # without a rule the training frame has no stop columns (fixed-epoch records as before)
    plain = run_all(Settings.from_profile("smoke", **TINY), ["table4"], progress=False)
    assert not set(STOP_SUMMARY_KEYS) & set(plain.training.columns)


def test_validation_curves_and_older_results_remade_from_checkpoints(tmp_path):
    """Every trained phase's validation curve is in Results.validation; a stored result of an
    older format (without them) is made again from the finished checkpoints: the same errors
    and curves, and the first training's wall time kept."""
    need_mst_data()
    import json

    rule = {"patience": 2, "lr_patience": 1, "min_delta": 0.01, "val_fraction": 0.25}
    caps = dict.fromkeys(("ujiindoorloc", "tampere", "uji-lib", "uts"), 6)
    s = Settings.from_profile("smoke", stop=rule, epochs=caps, partition_epochs=caps, **TINY)
    first = run_all(s, ["table1"], artefacts_dir=tmp_path, progress=False)
    v = first.validation
    trained = first.training[first.training["stopped"].notna()]
    assert len(v.groupby(["run", "phase"])) == len(trained) > 0
    for (run, phase), g in v.groupby(["run", "phase"]):
        row = trained[(trained["run"] == run) & (trained["phase"] == phase)].iloc[0]
        assert list(g["epoch"]) == list(range(1, int(row["epochs"]) + 1))
        assert g["best_epoch"].iloc[0] == row["best_epoch"] + 1  # 1-based here
        # the best epoch: no later epoch improved on it by the rule's relative min_delta
        at_best = g["val_mae_m"].iloc[g["best_epoch"].iloc[0] - 1]
        later = g["val_mae_m"].iloc[g["best_epoch"].iloc[0]:]
        assert later.empty or later.min() >= at_best * (1 - 0.01)
    assert {"sequential", "collective", "expert", "distill"} <= set(
        first.training.loc[first.training["stopped"].notna(), "kind"])
    # the chapter's view of it: a figure, and how each group of phases ended
    import matplotlib

    matplotlib.use("Agg")
    from ipsbook.methods.mst import plots, report

    fig = plots.validation_figure(v)
    # the experts of the sources (UJI, UJI-LIB) are stand-alone models too; only Tampere is a
    # target here, so only its bottom panel has an enhanced curve
    titles = {ax.get_title(): bool(ax.get_lines()) for ax in fig.axes}
    assert titles == {"UJI: stand-alone": True, "UJI-LIB (in UTS's place): stand-alone": True,
                      "Tampere: stand-alone": True, "UJI: fully enhanced": False,
                      "UJI-LIB (in UTS's place): fully enhanced": False,
                      "Tampere: fully enhanced": True}
    stop = report.stopping_table(first.training)
    assert stop["phases"].sum() == len(trained)
    assert (stop["plateau"] + stop["at_cap"] == stop["phases"]).all()
    assert set(stop["group"]) == {"stand-alone", "distilling (Tables 1-3)",
                                  "transfer baselines (* / **)"}
    text = report.stopping_text(stop)
    assert f"of {len(trained)} trained phases" in text
    assert ("Still improving" in text) == bool(trained["still_improving"].fillna(False).any())
    with pytest.raises(ValueError, match="without a stop rule"):
        report.stopping_table(first.training.drop(columns=["stopped"]))
    # make every stored result look like format 1 (no validation curves, no format)
    walls = {}
    for f in tmp_path.rglob("result.json"):
        meta = json.loads(f.read_text())
        meta.pop("format"), meta.pop("validation")
        meta["wall_s"] = walls[f] = 1234.5
        f.write_text(json.dumps(meta))
    again = run_all(s, ["table1"], artefacts_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(again.errors, first.errors)
    pd.testing.assert_frame_equal(again.validation, first.validation)
    assert (again.runs["wall_s"] == 1234.5).all()
    assert all(json.loads(f.read_text())["format"] == ex.RESULT_FORMAT for f in walls)


def test_a_part_of_the_targets_shares_its_runs_with_the_whole():
    """The full reference run comes in parts (the profile's targets): every run of a part has
    the digest the same run has when all three targets are planned, so the later part reuses
    the earlier one's artefacts and trains only what the added target brings."""
    part = Settings.from_profile("full", targets=("uji-lib", "tampere"))
    whole = Settings.from_profile("full", targets=("ujiindoorloc", "uji-lib", "tampere"))
    part_runs, whole_runs = ex._runs(plan(part)), ex._runs(plan(whole))
    assert set(part_runs) < set(whole_runs)
    for r in part_runs:
        assert _digest_of(r, part) == _digest_of(r, whole), r.name
    # what the whole adds is UJI as a target (UJI's experts already serve as teachers)
    added = set(whole_runs) - set(part_runs)
    assert {r.target for r in added} == {"ujiindoorloc"}
    assert not any(r.kind == "expert" for r in added)


def test_uji_lib_is_never_labelled_uts():
    s = Settings.from_profile("paper")
    labels = {data.label(r.dataset) for r in plan(s)}
    labels |= {data.label(x) for r in plan(s) for x in r.sources}
    assert labels == {"UJI", "UJI-LIB", "Tampere"}


# --- bad input ---------------------------------------------------------------------------------


def test_bad_settings_give_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        Settings(models={"table1": ("resnet",)})
    with pytest.raises(ValueError, match="unknown model"):
        Settings(transfer_models=("lstm",))
    with pytest.raises(ValueError, match="unknown dataset 'mars'"):
        Settings(targets=("mars",))
    with pytest.raises(ValueError, match="unknown dataset"):
        Settings(epochs={"atlantis": 3, "ujiindoorloc": 1, "tampere": 1, "uji-lib": 1})
    with pytest.raises(ValueError, match="not among"):
        Settings(targets=("uts",))  # third is UJI-LIB unless third="uts"
    with pytest.raises(ValueError, match="lambdas"):
        Settings(lambdas=(3.0, 0.5, 0.5))
    with pytest.raises(ValueError, match="lambdas"):
        Settings(lambdas=(3.0, -0.5, 0.5, 0.5))
    with pytest.raises(ValueError, match="unknown table"):
        Settings(models={"table9": ("dnn",)})
    with pytest.raises(ValueError, match="fraction"):
        Settings(fractions={"tampere": (0.0,)})
    with pytest.raises(ValueError, match=r"sae_epochs\['tampere'\]=-1 must be a non-negative"):
        Settings(sae_epochs={**dict.fromkeys(ALL, 40), "tampere": -1})
    with pytest.raises(ValueError, match="sae_epochs"):
        Settings(sae_epochs={**dict.fromkeys(ALL, 40), "tampere": 2.5})
    with pytest.raises(ValueError, match="sae_epochs has no value"):
        Settings(sae_epochs={"tampere": 3})
    with pytest.raises(ValueError, match="unknown settings"):
        Settings.from_profile("smoke", epochz=3)
    s = Settings.from_profile("smoke")
    with pytest.raises(ValueError, match="unknown tables"):
        run_all(s, ["table9"], progress=False)
    with pytest.raises(ValueError, match="workers"):
        run_all(s, workers=0, progress=False)


def test_uts_without_its_files_says_where_to_put_them():
    from ipsbook.data import DataFileMissing

    if data.uts_available():
        pytest.skip("UTS files present")
    s = Settings.from_profile("smoke", third="uts")  # Tampere <- UJI & UTS
    with pytest.raises(DataFileMissing, match="UTS_training.csv"):
        run_all(s, ["table1"], progress=False)


# --- the smoke profile end to end on the real data -------------------------------------------


def test_smoke_profile_end_to_end(tmp_path):
    need_mst_data()
    s = Settings.from_profile("smoke")
    res = run_all(s, artefacts_dir=tmp_path, progress=False)
    e = res.errors
    assert list(e.columns) == ERROR_COLUMNS
    assert set(e["table"]) == set(TABLES)
    assert np.all(np.isfinite(e["error_m"])) and (e["error_m"] >= 0).all()
    for table in TABLES:
        t = res.table(table)
        assert set(t.loc[t.model == "DNN", "variant"]) == set(VARIANTS[table])
        assert set(t.loc[t.model == "kNN", "variant"]) == {"k=3", "k=4", "k=5"}
        assert set(t["dataset"]) == {"Tampere"}
        summ = res.summary(table)
        assert set(SUMMARY_COLUMNS) <= set(summ.columns)
        assert (summ["n"] == 64).all()  # max_test
        sa = summ[(summ.model == "DNN") & (summ.variant == "stand-alone")]
        assert np.allclose(sa["gain_pct"], 0.0)
        expected = len(VARIANTS[table]) + 3
        assert len(summ) == expected * (2 if table == "table4" else 1)
    # Table 3: † = UJI, ‡ = UJI-LIB for the target Tampere; two sources for the full row
    t3 = res.summary("table3").set_index("variant")
    assert (t3.loc["†", "sources"], t3.loc["‡", "sources"]) == ("UJI", "UJI-LIB")
    assert t3.loc["+++", "sources"] == "UJI & UJI-LIB"
    # one run, three tables: the same errors
    same = [res.table(t).query("variant == '+++'")["error_m"].to_numpy() for t in TABLES[:3]]
    assert np.array_equal(same[0], same[1]) and np.array_equal(same[0], same[2])
    # Table 4: mean ± std over the two partitions; 10 % of Tampere's 697, capped at 48
    p = res.partition_summary()
    assert set(p["n_partitions"]) == {2} and {"MAE_mean", "MAE_std"} <= set(p.columns)
    assert set(res.table("table4")["partition"]) == {0, 1}
    # training record: every expert's stand-alone and teacher phase, the transfer phases
    tr = res.training
    experts = tr[tr.kind == "expert"]
    assert set(zip(experts.dataset, experts.phase, strict=True)) == {
        (d, ph) for d in ("UJI", "UJI-LIB", "Tampere") for ph in ("stand-alone", "teacher")}
    assert (tr["epochs"] == 1).all()
    # the distilling phases' per-epoch diagnostics: each term's value and gradient share
    cv = res.curves
    assert set(cv["phase"]) == set(tr.loc[tr.kind == "distill", "phase"])
    two = cv["sources"].str.contains(" & ")
    full = cv[(cv["variant"] == "+++") & two]
    for term in ("J_MAE", "J_Sim", "J_MI", "J_FI"):
        for kind in ("", "grad_", "share_"):
            assert np.isfinite(full.loc[full.metric == kind + term, "value"]).all()
    shares = full[full.metric.str.startswith("share_")].groupby(["run", "epoch"])["value"].sum()
    assert np.allclose(shares, 1.0)
    assert np.allclose(full["J_MI_no_information"], 2 * np.log(4))  # two teachers
    assert np.allclose(cv.loc[~two, "J_MI_no_information"], np.log(4))  # Table 3's † and ‡
    # never "UTS": the UJI-LIB set keeps its own label everywhere
    for frame in (e, res.summary(), p, tr):
        assert not any("UTS" in x for x in _strings(frame))
    assert "UJI-LIB" in _strings(e)
    # the artefacts make a second call read instead of train, with the same numbers
    assert any(tmp_path.glob("code-*/experts/*/teacher.pt")) and any(tmp_path.glob("code-*/runs/*/errors.npz"))
    again = run_all(s, ["table1"], artefacts_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(again.errors, res.table("table1"), check_exact=True)
    assert estimate(s)["seconds"].gt(0).all()


def test_same_numbers_with_one_and_two_workers(tmp_path):
    need_mst_data()
    s = Settings.from_profile("smoke", **TINY)
    one = run_all(s, ["table1", "table4"], workers=1, progress=False)
    two = run_all(s, ["table1", "table4"], workers=2, artefacts_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(one.errors, two.errors, check_exact=True)
    assert len(one.errors) == 16 * (4 + 3) + 16 * (2 + 3)


def test_cnnloc_runs_pretrain_their_sae_and_zero_epochs_is_the_old_behaviour():
    need_mst_data()
    from ipsbook.methods.mst.train import evaluate, train_specialised
    from ipsbook.torchutil import torch_session

    run = Run("standalone", "cnnloc", "tampere", seed=0, fraction=0.1, partition=0)
    s = Settings.from_profile("smoke", **TINY)  # sae_epochs 1
    got = ex._execute(run, ex._Store(None, s))
    phases = [r["phase"] for r in got["training"]]
    assert phases == ["sae pre-training", "stand-alone"]
    sae = got["training"][0]
    assert sae["epochs"] == 1 and sae["trained_on"] == "Tampere" and sae["n_train"] == 32
    assert np.isfinite(sae["final_MSE"]) and sae["final_J_MAE"] is None
    off = Settings.from_profile("smoke", sae_epochs=dict.fromkeys(ALL, 0), **TINY)
    plain = ex._execute(run, ex._Store(None, off))
    assert [r["phase"] for r in plain["training"]] == ["stand-alone"]
    # sae_epochs 0: bit for bit what the experiments did before SAE pre-training existed
    train, test = ex._train_set(off, "tampere", 0.1, 0), ex._test_set(off, "tampere")
    with torch_session(0, torch.device("cpu"), 1):
        model = ex._build("cnnloc", train.n_anchors, {}, 0)
        train_specialised(model, train, config=off.train_config("tampere", 0), seed=0)
        before = evaluate(model, test)
    assert np.array_equal(plain["errors"][""], before)
    assert not np.array_equal(got["errors"][""], before)


def test_every_fresh_cnnloc_is_pretrained_in_table1(tmp_path):
    need_mst_data()
    s = Settings.from_profile("smoke", models={"table1": ("cnnloc",)},
                              transfer_models=("cnnloc",), **TINY)
    res = run_all(s, ["table1"], artefacts_dir=tmp_path, knn=False, progress=False)
    tr = res.training
    by_kind = {k: list(g["phase"]) for k, g in tr.groupby("kind")}
    assert by_kind["expert"].count("sae pre-training") == 3  # UJI, UJI-LIB, Tampere
    assert by_kind["distill"][0] == "sae pre-training"
    for kind in ("sequential", "collective"):
        sae = [p for p in by_kind[kind] if "sae pre-training" in p]
        assert sorted(sae) == sorted(f"{kind} sae pre-training: {d}"
                                     for d in ("UJI", "UJI-LIB", "Tampere"))
    assert (tr.loc[tr.phase.str.contains("sae"), "epochs"] == 1).all()
    assert any(tmp_path.glob("code-*/experts/*/sae.ckpt")) and any(tmp_path.glob("code-*/runs/*/transfer/*sae*"))
    again = run_all(s, ["table1"], artefacts_dir=tmp_path, knn=False, progress=False)
    pd.testing.assert_frame_equal(again.errors, res.errors, check_exact=True)


def test_store_folder_follows_the_training_code(tmp_path, monkeypatch):
    """An artefact trained by other code is never reused: the store's folder names the digest
    of the modules that decide the numbers, and an edit to one of them changes it."""
    import inspect

    s = Settings.from_profile("smoke")
    store = ex._Store(tmp_path, s)
    run = Run("expert", "dnn", "tampere")
    before = store.folder(run)
    assert before.parent.parent.name == f"code-{ex.code_digest()}"
    real = inspect.getsource

    def edited(obj):
        text = real(obj)
        return text + "\n# edited" if getattr(obj, "__name__", "") == "ipsbook.methods.mst.losses" else text

    ex.code_digest.cache_clear()
    monkeypatch.setattr(inspect, "getsource", edited)
    try:
        after = store.folder(run)
    finally:
        ex.code_digest.cache_clear()
    assert after != before and after.name == before.name
