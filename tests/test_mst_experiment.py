"""Paper C's experiment layer (ipsbook.methods.mst.experiment): the plan of Tables 1-4, the smoke
profile end to end on the real data, identical numbers in and out of worker processes, the
UJI-LIB label, and clear errors for bad settings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ipsbook import profiles
from ipsbook.methods.mst import data
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


def _need_data() -> None:
    from ipsbook.data import DataFileMissing

    try:
        for d in data.DATASETS:
            data.load(d, "train")
            data.load(d, "test")
    except (DataFileMissing, FileNotFoundError) as exc:
        pytest.skip(f"paper C's datasets not available: {exc}")


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


def test_profiles_sizes():
    paper = Settings.from_profile("paper")
    assert (paper.epochs["ujiindoorloc"], paper.lr["ujiindoorloc"]) == (500, 1e-3)
    assert (paper.epochs["tampere"], paper.lr["tampere"]) == (2000, 1e-3)
    assert (paper.epochs["uts"], paper.lr["uts"]) == (400, 1e-4)
    assert (paper.epochs["uji-lib"], paper.lr["uji-lib"]) == (2000, 1e-3)
    assert paper.partitions == tuple(range(10)) and paper.max_train == {
        d: None for d in ("ujiindoorloc", "tampere", "uji-lib", "uts")}
    assert all(paper.models[t] == ("dnn", "cnnloc", "bayescnn", "baat") for t in TABLES)
    # quick: the estimated compute fits the chapter's 25 minutes on two workers with room
    quick = Settings.from_profile("quick")
    workers = profiles.resolve("mst", "quick").workers
    assert workers == 2
    cpu_s = estimate(quick)["seconds"].sum()
    assert cpu_s / workers < 0.8 * 25 * 60  # the estimate is ~1.5x the measured time
    assert estimate(paper)["seconds"].sum() > 100 * 3600  # meant for a GPU or days of CPU


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
    _need_data()
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
    # never "UTS": the UJI-LIB set keeps its own label everywhere
    for frame in (e, res.summary(), p, tr):
        assert not any("UTS" in x for x in _strings(frame))
    assert "UJI-LIB" in _strings(e)
    # the artefacts make a second call read instead of train, with the same numbers
    assert any(tmp_path.glob("experts/*/teacher.pt")) and any(tmp_path.glob("runs/*/errors.npz"))
    again = run_all(s, ["table1"], artefacts_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(again.errors, res.table("table1"), check_exact=True)
    assert estimate(s)["seconds"].gt(0).all()


def test_same_numbers_with_one_and_two_workers(tmp_path):
    _need_data()
    s = Settings.from_profile("smoke", **TINY)
    one = run_all(s, ["table1", "table4"], workers=1, progress=False)
    two = run_all(s, ["table1", "table4"], workers=2, artefacts_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(one.errors, two.errors, check_exact=True)
    assert len(one.errors) == 16 * (4 + 3) + 16 * (2 + 3)
