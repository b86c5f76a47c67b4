"""Paper C's independent runs on a Dask cluster (issue 15, item 5): the same numbers as the local
worker pool, bit for bit, on a ``distributed.LocalCluster`` (two worker processes, one thread
each, no shared folder), at tiny sizes."""

from __future__ import annotations

import pandas as pd
import pytest

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed is not installed: the Dask path cannot be tested"
)

from conftest import need_mst_data

from ipsbook.methods.mst.experiment import Settings, run_all

TINY = {
    "max_train": {"ujiindoorloc": 32, "tampere": 32, "uji-lib": 32},
    "max_test": {"ujiindoorloc": 16, "tampere": 16, "uji-lib": 16},
    "partitions": (0,),
    "models": {"table1": ("dnn",), "table2": ("dnn",), "table3": ("dnn",), "table4": ("dnn",)},
    "transfer_models": ("dnn",),
}


def test_runs_on_a_dask_cluster_equal_the_local_pool(tmp_path) -> None:
    need_mst_data()
    s = Settings.from_profile("smoke", **TINY)
    local = run_all(s, ["table1"], workers=1, knn=False, progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, worker_dashboard_address=None) as c:
        remote = run_all(s, ["table1"], scheduler=c.scheduler_address,
                         artefacts_dir=tmp_path, knn=False, progress=False)
    pd.testing.assert_frame_equal(local.errors, remote.errors, check_exact=True)
    # every kind of Table 1 run went through the cluster: experts, distilling, both transfers
    assert set(remote.training["kind"]) == {"expert", "distill", "sequential", "collective"}
    # the experts came back and were kept where the local path keeps them
    assert len(list(tmp_path.glob("code-*/experts/*/model.pt"))) == 3
    # and the local path finds them there: a second call trains nothing and gives the same
    again = run_all(s, ["table1"], workers=1, artefacts_dir=tmp_path, knn=False, progress=False)
    pd.testing.assert_frame_equal(again.errors, local.errors, check_exact=True)


def test_a_bad_scheduler_is_named_in_the_error() -> None:
    s = Settings.from_profile("smoke", **TINY)
    with pytest.raises(ValueError, match="scheduler=''"):
        run_all(s, ["table1"], scheduler="", progress=False)
