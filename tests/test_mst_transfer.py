"""Table 1's transfer-learning baselines (ipsbook.methods.mst.transfer): (*) sequential and (**)
collective transfer of a specialised network across fingerprint datasets with different numbers
of anchors. Tiny synthetic sets and small networks; one smoke run on UJI-LIB and Tampere."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ipsbook.methods.mst.data import FingerprintSet
from ipsbook.methods.mst.train import TrainConfig, evaluate
from ipsbook.methods.mst.transfer import (
    collective_transfer,
    sequential_transfer,
    split_parameters,
)
from ipsbook.models.fingerprint import build, parameter_count

FAST = {"num_threads": 1, "device": "cpu"}
SMALL_DNN = {"hidden": (64, 32), "dropout": 0.0}


def site(n: int, n_anchors: int, seed: int, site_id: int, split: str = "train") -> FingerprintSet:
    """Synthetic fingerprints: log-distance path loss from ``n_anchors`` random anchors in a
    100 x 60 m floor, readings below -90 dBm not heard (100), the paper's convention."""
    ap = np.random.default_rng(1000 + site_id).uniform((0, 0), (100, 60), size=(n_anchors, 2))
    rng = np.random.default_rng(seed)
    pos = rng.uniform((0, 0), (100, 60), size=(n, 2))
    d = np.linalg.norm(pos[:, None] - ap[None], axis=2)
    rss = -30.0 - 25.0 * np.log10(d + 1.0) + rng.normal(0.0, 2.0, size=d.shape)
    rss = np.where(rss < -90.0, 100.0, np.minimum(rss, 0.0))
    return FingerprintSet(name=f"site{site_id}", split=split, rss=rss.astype(np.float32), pos=pos)


@pytest.fixture(scope="module")
def sets():
    """Two sources and a target, each with its own number of anchors (24, 30, 18)."""
    return {
        "sources": [site(160, 24, 0, 0), site(160, 30, 1, 1)],
        "target": site(200, 18, 2, 2),
        "val": site(100, 18, 3, 2, split="test"),
    }


def params(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone().cpu() for k, v in model.named_parameters()}


class Recorder:
    """``on_transfer``: snapshots of the previous and the new network right after a transfer."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict, dict, dict]] = []

    def __call__(self, phase, previous, model) -> None:
        grads = {k: p.requires_grad for k, p in model.named_parameters()}
        self.calls.append((phase, params(previous), params(model), grads))


# --- which parameters are carried --------------------------------------------------------------


def test_split_parameters_per_model():
    spec, carried = split_parameters("dnn")
    assert spec == ["framer_net.0.weight", "framer_net.0.bias"]
    assert all(k.startswith(("extractor_net.", "regressor_net.")) for k in carried)
    # CNNLoc: the whole SAE encoder by default, only its anchor-wide first layer with "anchor"
    spec, _ = split_parameters("cnnloc")
    assert spec == [f"framer_net.{i}.{w}" for i in (0, 2) for w in ("weight", "bias")]
    assert split_parameters("CNNLoc", "anchor")[0] == ["framer_net.0.weight", "framer_net.0.bias"]
    # BayesCNN: the fully connected layer of E depends on the anchor count, so it is specific
    spec, carried = split_parameters("bayescnn", "anchor")
    assert spec == ["extractor_net.8.weight", "extractor_net.8.bias"]
    assert "framer_net.1.weight" in carried
    assert "extractor_net.8.weight" in split_parameters("bayescnn")[0]
    # bAaT is anchor-agnostic: nothing depends on the anchor count
    assert split_parameters("baat", "anchor")[0] == []
    assert split_parameters("baat")[0] == ["framer_net.embed.weight", "framer_net.embed.bias"]
    for name in ("dnn", "cnnloc", "bayescnn", "baat"):
        spec, carried = split_parameters(name)
        names = [k for k, _ in build(name, 50).named_parameters()]
        assert sorted(spec + carried) == sorted(names) and not set(spec) & set(carried)
        # the carried body has the same shapes whatever the dataset
        a, b = dict(build(name, 520).named_parameters()), dict(build(name, 992).named_parameters())
        assert all(a[k].shape == b[k].shape for k in carried)


# --- (*) sequential --------------------------------------------------------------------------------


def test_sequential_carries_body_reinitialises_encoder_and_learns(sets):
    rec = Recorder()
    src_cfg = TrainConfig(epochs=12, lr=3e-3, **FAST)
    model, hist = sequential_transfer(
        "dnn",
        sets["sources"],
        sets["target"],
        config=TrainConfig(epochs=30, lr=1e-2, **FAST),
        seed=0,
        val_set=sets["val"],
        source_configs=[src_cfg, src_cfg],
        model_kw=SMALL_DNN,
        on_transfer=rec,
    )
    assert [c[0] for c in rec.calls] == ["source 2: site1", "target: site2"]
    for _, prev, new, grads in rec.calls:
        for k in hist.carried:  # carried: exactly the previous phase's trained values
            assert torch.equal(prev[k], new[k]), k
        for k in hist.specific:  # re-initialised: fresh (Keras init: zero bias), not trained
            assert not torch.equal(prev[k], new[k]), k
        assert prev["framer_net.0.weight"].shape != new["framer_net.0.weight"].shape
        assert torch.count_nonzero(new["framer_net.0.bias"]) == 0
        assert torch.count_nonzero(prev["framer_net.0.bias"]) > 0
        assert all(grads.values())  # fine-tuning: everything trains
    # the target phase fine-tuned the carried body
    after = params(model)
    assert not all(torch.equal(after[k], rec.calls[-1][2][k]) for k in hist.carried)
    # phases, epochs, throughput
    assert [p.name for p in hist.phases] == ["source 1: site0", "source 2: site1", "target: site2"]
    rows = hist.summary()
    assert [r["epochs"] for r in rows] == [12, 12, 30]
    assert all(r["samples_per_s"] > 0 for r in rows) and hist.completed
    assert model.n_anchors == 18 and not model.training
    # errors decrease on the target
    t = hist.target
    assert t.metrics["J_MAE"][-1] < 0.7 * t.metrics["J_MAE"][0]
    assert min(t.val_mae_m) < 0.7 * t.val_mae_m[0]
    assert float(np.mean(evaluate(model, sets["val"]))) == pytest.approx(min(t.val_mae_m))


def test_sequential_encoder_framer_vs_anchor_on_cnnloc(sets):
    """CNNLoc's second SAE layer (128 -> 64) has the same shape in every dataset: "framer"
    re-initialises it, "anchor" carries it."""
    cfg = TrainConfig(epochs=1, lr=1e-3, **FAST)
    src, tgt = sets["sources"][:1], sets["target"]
    for encoder, carried_sae2 in (("framer", False), ("anchor", True)):
        rec = Recorder()
        sequential_transfer(
            "cnnloc", src, tgt, config=cfg, seed=1, encoder=encoder, on_transfer=rec
        )
        ((_, prev, new, _),) = rec.calls
        k = "framer_net.2.weight"
        assert prev[k].shape == new[k].shape
        assert torch.equal(prev[k], new[k]) is carried_sae2
        assert torch.equal(prev["extractor_net.2.weight"], new["extractor_net.2.weight"])


# --- (**) collective -------------------------------------------------------------------------------


def test_collective_joint_body_then_frozen_target(sets):
    rec = Recorder()
    cfg = TrainConfig(epochs=10, lr=3e-3, **FAST)
    model, hist = collective_transfer(
        "dnn",
        sets["sources"],
        sets["target"],
        config=TrainConfig(epochs=25, lr=1e-2, **FAST),
        seed=0,
        val_set=sets["val"],
        source_config=cfg,
        model_kw=SMALL_DNN,
        shared="frozen",
        on_transfer=rec,
    )
    ((phase, prev, new, grads),) = rec.calls
    assert phase == "target: site2"
    for k in hist.carried:
        assert torch.equal(prev[k], new[k]) and not grads[k]  # carried and frozen
    for k in hist.specific:
        assert grads[k]
    joint, target = hist.phases
    assert joint.datasets == ["site0", "site1"] and joint.history.samples_per_epoch == 320
    assert joint.history.epochs == 10 and joint.history.samples_per_s > 0
    # one shared body (tied parameters) and one encoder per source: 64 * (24 + 1) + 64 * (30 + 1)
    n_body = sum(new[k].numel() for k in hist.carried)
    assert joint.history.trainable_parameters == n_body + 64 * 25 + 64 * 31
    assert joint.history.metrics["J_MAE"][-1] < joint.history.metrics["J_MAE"][0]
    # frozen part unchanged by the target phase, the encoder trained; requires_grad restored
    after = params(model)
    for k in hist.carried:
        assert torch.equal(after[k], new[k]), k
    assert not torch.equal(after["framer_net.0.weight"], new["framer_net.0.weight"])
    assert all(p.requires_grad for p in model.parameters())
    n_frozen = sum(new[k].numel() for k in hist.carried)
    assert target.frozen_parameters == n_frozen
    assert target.history.trainable_parameters == parameter_count(model) - n_frozen
    # a new encoder into the frozen body still learns the target
    assert min(target.history.val_mae_m) < 0.7 * target.history.val_mae_m[0]


def test_collective_deterministic_and_resumable(sets, tmp_path):
    cfg = TrainConfig(epochs=2, lr=1e-3, **FAST)
    args = ("dnn", sets["sources"], sets["target"])
    kw = {"config": cfg, "model_kw": SMALL_DNN}
    a, ha = collective_transfer(*args, seed=5, **kw)
    b, _ = collective_transfer(*args, seed=5, checkpoint_dir=tmp_path, **kw)
    c, hc = collective_transfer(*args, seed=5, checkpoint_dir=tmp_path, **kw)  # from checkpoints
    d, _ = collective_transfer(*args, seed=6, **kw)
    pa, pb, pc, pd = (params(m) for m in (a, b, c, d))
    assert all(torch.equal(pa[k], pb[k]) and torch.equal(pa[k], pc[k]) for k in pa)
    assert not all(torch.equal(pa[k], pd[k]) for k in pa)
    assert len(list(tmp_path.glob("collective_dnn_framer_finetune_phase*.pt"))) == 2
    assert hc.completed and [p.history.epochs for p in hc.phases] == [2, 2]
    assert ha.summary()[0]["phase"] == "sources (jointly): site0 + site1"


@pytest.mark.parametrize("name", ["dnn", "cnnloc", "bayescnn", "baat"])
def test_every_model_runs_both_methods(name):
    """Sources of 24 and 40 anchors, target of 18: each network's body is carried intact."""
    src, tgt = [site(60, 24, 0, 0), site(60, 40, 1, 1)], site(60, 18, 2, 2)
    cfg = TrainConfig(epochs=1, lr=1e-3, **FAST)
    for method, shared in ((sequential_transfer, "finetune"), (collective_transfer, "frozen")):
        rec = Recorder()
        model, hist = method(name, src, tgt, config=cfg, seed=0, shared=shared, on_transfer=rec)
        assert hist.specific and all(
            torch.equal(prev[k], new[k]) for _, prev, new, _ in rec.calls for k in hist.carried
        )
        assert model.n_anchors == 18 and np.all(np.isfinite(evaluate(model, tgt)))


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [sequential_transfer, collective_transfer])
def test_bad_input(method, sets):
    cfg = TrainConfig(epochs=1, lr=1e-3, **FAST)
    src, tgt = sets["sources"], sets["target"]
    with pytest.raises(ValueError, match="unknown model 'resnet'"):
        method("resnet", src, tgt, config=cfg, seed=0)
    with pytest.raises(TypeError, match="model name must be a string"):
        method(None, src, tgt, config=cfg, seed=0)
    with pytest.raises(ValueError, match="at least one source"):
        method("dnn", [], tgt, config=cfg, seed=0)
    with pytest.raises(TypeError, match="sequence"):
        method("dnn", src[0], tgt, config=cfg, seed=0)
    with pytest.raises(TypeError, match="source 2 must be a FingerprintSet"):
        method("dnn", [src[0], "tampere"], tgt, config=cfg, seed=0)
    with pytest.raises(TypeError, match="TrainConfig"):
        method("dnn", src, tgt, config={"epochs": 1}, seed=0)
    with pytest.raises(ValueError, match="encoder="):
        method("dnn", src, tgt, config=cfg, seed=0, encoder="sae")
    with pytest.raises(ValueError, match="shared="):
        method("dnn", src, tgt, config=cfg, seed=0, shared="partly")
    with pytest.raises(ValueError, match="nothing left to train"):
        method("baat", src, tgt, config=cfg, seed=0, encoder="anchor", shared="frozen")
    with pytest.raises(ValueError, match="seed"):
        method("dnn", src, tgt, config=cfg, seed=-1)
    with pytest.raises(ValueError, match="validation set must come from the target"):
        method("dnn", src, tgt, config=cfg, seed=0, val_set=src[0])


# --- real data smoke -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    from ipsbook.data import DataFileMissing
    from ipsbook.methods.mst.data import load, subsample

    try:
        lib, tam = load("uji-lib", "train"), load("tampere", "train")
    except DataFileMissing as exc:
        pytest.skip(f"UJI-LIB / Tampere not available: {exc}")
    return subsample(lib, 200 / len(lib), 0), subsample(tam, 200 / len(tam), 0)


@pytest.mark.parametrize("method", [sequential_transfer, collective_transfer])
def test_real_smoke_uji_lib_to_tampere(method, real):
    lib, tam = real
    assert (len(lib), lib.n_anchors, len(tam), tam.n_anchors) == (200, 620, 200, 992)
    rec = Recorder()
    model, hist = method(
        "dnn",
        [lib],
        tam,
        config=TrainConfig(epochs=2, lr=1e-3, **FAST),
        seed=0,
        on_transfer=rec,
    )
    ((_, prev, new, _),) = rec.calls
    assert prev["framer_net.0.weight"].shape == (512, 620)
    assert new["framer_net.0.weight"].shape == (512, 992)
    assert all(torch.equal(prev[k], new[k]) for k in hist.carried)
    err = evaluate(model, tam)
    assert err.shape == (200,) and np.all(np.isfinite(err))
    assert [r["epochs"] for r in hist.summary()] == [2, 2]
