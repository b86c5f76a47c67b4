"""Paper C's training phases (ipsbook.methods.mst.train / teachers / distill).

Stand-alone training, Expert Training (surrogate teacher, WGAN-GP) and Expert Distilling
(Algorithm 3), on a tiny stand-in network with the specialised-model interface (framer,
extractor, regressor, z_f_dim, z_e_dim, input_scaling, pos_mean/pos_scale buffers), so that
these tests do not depend on ``ipsbook.models.fingerprint``; one smoke test uses a real model.
"""

from __future__ import annotations

import copy
import dataclasses
import math

import numpy as np
import pytest
import torch
from torch import nn

from ipsbook.methods.mst.data import FingerprintSet
from ipsbook.methods.mst.distill import (
    ABLATIONS,
    TERMS,
    DistillOptions,
    constraint_set,
    diagnosed_epoch,
    distill,
    distilling_loss,
    distilling_terms,
    term_gradient_norms,
)
from ipsbook.methods.mst.losses import JSDMIEstimator, normalise_lambdas
from ipsbook.methods.mst.teachers import (
    SurrogateGenerator,
    Teacher,
    TeacherConfig,
    teacher_quality,
    train_teacher,
)
from ipsbook.methods.mst.train import (
    SAE_BATCH_SIZE,
    SAE_EPOCHS,
    SAE_LR,
    STOP_SUMMARY_KEYS,
    Checkpoint,
    TrainConfig,
    evaluate,
    model_inputs,
    pretrain_framer,
    reference_points,
    standardise_positions,
    stop_split,
    summary,
    train_specialised,
)
from ipsbook.training import StopRule

FAST = {"num_threads": 1, "device": "cpu"}


class StandIn(nn.Module):
    """The specialised-network interface of ipsbook.models.fingerprint, in miniature."""

    input_scaling = "linear01"
    name = "standin"

    def __init__(self, n_anchors: int, z_f: int = 16, z_e: int = 8, dropout: float = 0.1):
        super().__init__()
        self.n_anchors, self.z_f_dim, self.z_e_dim = n_anchors, z_f, z_e
        self.register_buffer("pos_mean", torch.zeros(2))
        self.register_buffer("pos_scale", torch.ones(2))
        self.framer_net = nn.Sequential(nn.Linear(n_anchors, z_f), nn.ReLU())
        self.extractor_net = nn.Sequential(nn.Dropout(dropout), nn.Linear(z_f, z_e), nn.ReLU())
        self.regressor_net = nn.Linear(z_e, 2)

    def framer(self, x):
        if x.shape[1] != self.n_anchors:
            raise ValueError("wrong number of anchors")
        return self.framer_net(x)

    def extractor(self, z_f):
        return self.extractor_net(z_f)

    def regressor(self, z_e, *, standardised=False):
        y = self.regressor_net(z_e)
        return y if standardised else y * self.pos_scale + self.pos_mean

    def forward(self, x, *, standardised=False):
        return self.regressor(self.extractor(self.framer(x)), standardised=standardised)


def site(n: int, n_anchors: int, seed: int, site_id: int = 0, split: str = "train"):
    """A synthetic fingerprint set: log-distance path loss from random anchors in 100 x 60 m,
    readings below -90 dBm not heard (100), the paper's convention."""
    ap = np.random.default_rng(1000 + site_id).uniform((0, 0), (100, 60), size=(n_anchors, 2))
    rng = np.random.default_rng(seed)
    pos = rng.uniform((0, 0), (100, 60), size=(n, 2))
    d = np.linalg.norm(pos[:, None] - ap[None], axis=2)
    rss = -30.0 - 25.0 * np.log10(d + 1.0) + rng.normal(0.0, 2.0, size=d.shape)
    rss = np.where(rss < -90.0, 100.0, np.minimum(rss, 0.0))
    return FingerprintSet(name=f"site{site_id}", split=split, rss=rss.astype(np.float32), pos=pos)


def new_model(n_anchors: int, seed: int = 0, **kw) -> StandIn:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return StandIn(n_anchors, **kw)


def states_equal(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture(scope="module")
def source():
    """A trained source model on site 0 and its surrogate teacher."""
    tr = site(300, 24, seed=0, site_id=0)
    model = new_model(24)
    train_specialised(model, tr, config=TrainConfig(epochs=15, lr=3e-3, **FAST), seed=0)
    teacher = train_teacher(model, tr, config=TeacherConfig(epochs=10, **FAST), seed=0)
    return model, tr, teacher


# --- stand-alone training ------------------------------------------------------------------------


def test_stand_alone_training_learns_and_reports():
    tr, va = site(400, 24, 0), site(150, 24, 1, split="test")
    model = new_model(24)
    before = float(np.mean(evaluate(model, va)))
    hist = train_specialised(model, tr, va, config=TrainConfig(epochs=40, lr=3e-3, **FAST), seed=0)
    errors = evaluate(model, va)
    s = summary(errors)
    assert s["MAE"] == pytest.approx(min(hist.val_mae_m))  # the best epoch was restored
    assert hist.best_epoch == int(np.argmin(hist.val_mae_m))
    assert s["MAE"] < 0.5 * before and s["MAE"] < 20.0
    assert s["p75"] <= s["p95"] and 0 <= s["p_below_10m"] <= 1 and s["n"] == 150
    assert hist.completed and hist.epochs == 40 and hist.samples_per_s > 0
    assert hist.metrics["J_MAE"][-1] < hist.metrics["J_MAE"][0]
    # one isotropic scale: J_MAE in standardised units x pos_scale is metres
    assert model.pos_scale[0] == model.pos_scale[1]
    assert not model.training


def test_summary_and_positions():
    s = summary(np.arange(1.0, 101.0))
    assert s["MAE"] == 50.5 and s["p75"] == pytest.approx(75.25) and s["p_below_10m"] == 0.09
    with pytest.raises(ValueError):
        summary(np.array([]))
    m = new_model(3)
    standardise_positions(m, np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 8.0], [6.0, 8.0]]))
    assert m.pos_mean.tolist() == [3.0, 4.0]
    assert m.pos_scale.tolist() == pytest.approx([math.sqrt(12.5)] * 2)


def test_model_inputs_scalings():
    rss = np.array([[100.0, -110.0, -55.0, 0.0, -120.0]], np.float32)
    m = new_model(5)
    assert model_inputs(m, rss) == pytest.approx(np.array([[0, 0, 0.5, 1, 0]]))
    m.input_scaling = "cnnloc_powed"
    x = model_inputs(m, rss)
    assert x[0, 0] == 0 and x[0, 3] == 1 and x[0, 4] == 0
    assert x[0, 2] == pytest.approx((40 / 95) ** 2.8, rel=1e-5)
    m.input_scaling = "made-up"
    with pytest.raises(ValueError, match="input_scaling"):
        model_inputs(m, rss)


# --- SAE pre-training of CNNLoc's framer -----------------------------------------------------------


def _cnnloc(n_anchors: int, seed: int = 0):
    fingerprint = pytest.importorskip("ipsbook.models.fingerprint")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return fingerprint.build("cnnloc", n_anchors)


def _capture_decoder(model) -> list:
    """Keep the decoder pretrain_framer builds (it is discarded otherwise), and a copy of it as
    it was built: ``[(decoder, initial_decoder)]``."""
    made, build_decoder = [], model.sae_decoder

    def sae_decoder():
        dec = build_decoder()
        made.append((dec, copy.deepcopy(dec)))
        return dec

    model.sae_decoder = sae_decoder
    return made


def _reconstruction_mse(model, decoder, x: torch.Tensor) -> float:
    with torch.no_grad():
        return float(nn.functional.mse_loss(decoder(model.framer(x)), x))


def test_sae_pretraining_lowers_reconstruction_error_and_changes_only_the_framer():
    # the authors' recipe as the defaults (XudongSong/CNNLoc-Access main.py / encoder_model.py)
    assert (SAE_EPOCHS, SAE_LR, SAE_BATCH_SIZE) == (40, 1e-3, 66)
    tr = site(400, 30, 0)
    model = _cnnloc(30)
    initial = copy.deepcopy(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    made = _capture_decoder(model)
    x = torch.as_tensor(model_inputs(model, tr))  # the model's own input scaling
    h = pretrain_framer(model, tr, epochs=15, seed=0, **FAST)
    assert len(made) == 1
    decoder, initial_decoder = made[0]
    start = _reconstruction_mse(initial, initial_decoder, x)
    end = _reconstruction_mse(model, decoder, x)
    assert end < 0.1 * start  # 3.4e-3 -> 1.6e-4
    assert h.kind == "sae" and h.completed and h.epochs == 15 and h.n_train == 400
    assert h.metrics["MSE"] == h.metrics["loss"] and h.metrics["MSE"][-1] < h.metrics["MSE"][0]
    assert h.trainable_parameters == 30 * 128 + 128 + 128 * 64 + 64 + 64 * 128 + 128 + 128 * 30 + 30
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {k for k in before if k.startswith("framer_net.")}  # all of F, nothing else
    assert not model.training
    # the decoder is not part of the model
    assert set(after) == set(before)


def test_sae_pretraining_is_deterministic_with_the_seed():
    tr = site(200, 20, 1)
    runs = []
    for seed in (3, 3, 4):
        model = _cnnloc(20)
        h = pretrain_framer(model, tr, epochs=3, seed=seed, **FAST)
        runs.append((model, h))
    assert states_equal(runs[0][0], runs[1][0]) and runs[0][1].metrics == runs[1][1].metrics
    assert not states_equal(runs[0][0], runs[2][0])


def test_sae_pretraining_checkpoint_and_bad_input(tmp_path):
    # resumable like the other phases: stopped and resumed, bit-identical to one go
    tr = site(150, 20, 2)
    ref = _cnnloc(20)
    pretrain_framer(ref, tr, epochs=4, seed=1, **FAST)
    ck = Checkpoint(tmp_path / "sae.pt", stop_after_epochs=2)
    m = _cnnloc(20)
    assert not pretrain_framer(m, tr, epochs=4, seed=1, checkpoint=ck, **FAST).completed
    m = _cnnloc(20)
    h = pretrain_framer(m, tr, epochs=4, seed=1, checkpoint=ck, **FAST)
    assert h.completed and h.resumed_at == [2] and states_equal(m, ref)
    with pytest.raises(TypeError, match="sae_decoder"):
        pretrain_framer(new_model(20), tr, epochs=1, seed=0)
    dnn = pytest.importorskip("ipsbook.models.fingerprint").build("dnn", 20)
    with pytest.raises(TypeError, match="sae_decoder"):
        pretrain_framer(dnn, tr, epochs=1, seed=0)
    for kw, name in (({"epochs": 0}, "epochs"), ({"epochs": -1}, "epochs"),
                     ({"batch_size": 0}, "batch_size"), ({"lr": -1.0}, "lr"),
                     ({"seed": -2}, "seed")):
        args = {"epochs": 1, "seed": 0, **kw}
        with pytest.raises(ValueError, match=name):
            pretrain_framer(_cnnloc(20), tr, **args)
    with pytest.raises(ValueError, match="anchors"):
        pretrain_framer(_cnnloc(21), tr, epochs=1, seed=0)


def test_transfer_baselines_pretrain_every_fresh_framer():
    from ipsbook.methods.mst.transfer import collective_transfer, sequential_transfer

    src1, src2, tgt = site(120, 20, 0, 0), site(100, 24, 1, 1), site(90, 16, 2, 2)
    cfg = TrainConfig(epochs=1, lr=1e-3, **FAST)
    _, h = sequential_transfer("cnnloc", [src1, src2], tgt, config=cfg, seed=0,
                               sae_epochs=[2, 3, 1])
    names = [p.name for p in h.phases]
    assert names == ["sae pre-training: site0", "source 1: site0", "sae pre-training: site1",
                     "source 2: site1", "sae pre-training: site2", "target: site2"]
    assert [p.history.epochs for p in h.phases if p.history.kind == "sae"] == [2, 3, 1]
    # encoder="anchor": CNNLoc's second SAE layer is carried, so only source 1 is pre-trained
    _, h = sequential_transfer("cnnloc", [src1, src2], tgt, config=cfg, seed=0, sae_epochs=2,
                               encoder="anchor")
    assert [p.name for p in h.phases if p.history.kind == "sae"] == ["sae pre-training: site0"]
    _, h = collective_transfer("cnnloc", [src1, src2], tgt, config=cfg, seed=0, sae_epochs=1)
    assert [p.name for p in h.phases] == [
        "sae pre-training: site0", "sae pre-training: site1", "sources (jointly): site0 + site1",
        "sae pre-training: site2", "target: site2"]
    # 0 = the old behaviour, to the bit
    a, ha = sequential_transfer("cnnloc", [src1], tgt, config=cfg, seed=0, sae_epochs=0)
    b, _ = sequential_transfer("cnnloc", [src1], tgt, config=cfg, seed=0)
    assert states_equal(a, b) and len(ha.phases) == 2
    with pytest.raises(ValueError, match="no SAE framer"):
        sequential_transfer("dnn", [src1], tgt, config=cfg, seed=0, sae_epochs=1)
    with pytest.raises(ValueError, match="sae_epochs"):
        sequential_transfer("cnnloc", [src1], tgt, config=cfg, seed=0, sae_epochs=-1)
    with pytest.raises(ValueError, match="sae_epochs"):
        collective_transfer("cnnloc", [src1, src2], tgt, config=cfg, seed=0, sae_epochs=[1, 1])


# --- checkpoints -----------------------------------------------------------------------------------


def test_checkpoint_resume_is_bit_identical(tmp_path):
    tr, va = site(260, 24, 0), site(80, 24, 1, split="test")
    cfg = TrainConfig(epochs=6, lr=3e-3, **FAST)
    ref = new_model(24)
    ref_hist = train_specialised(ref, tr, va, config=cfg, seed=3)

    ck = Checkpoint(tmp_path / "run.pt", every_epochs=2, stop_after_epochs=3)
    first = new_model(24)
    h1 = train_specialised(first, tr, va, config=cfg, seed=3, checkpoint=ck)
    assert not h1.completed and h1.epochs == 3 and ck.exists()
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically, no temporary left behind

    resumed = new_model(24, seed=99)  # a different initialisation: the checkpoint decides
    h2 = train_specialised(resumed, tr, va, config=cfg, seed=3, checkpoint=ck)
    assert h2.completed and h2.epochs == 6 and h2.resumed_at == [3]
    assert states_equal(resumed, ref)
    assert h2.val_mae_m == ref_hist.val_mae_m and h2.best_epoch == ref_hist.best_epoch

    # a finished run's checkpoint: the same weights back at once
    again = new_model(24, seed=5)
    h3 = train_specialised(again, tr, va, config=cfg, seed=3, checkpoint=ck)
    assert states_equal(again, ref) and h3.epochs == 6

    # another run's checkpoint is refused, not mixed in
    with pytest.raises(ValueError, match="different run"):
        train_specialised(
            new_model(24),
            tr,
            va,
            config=TrainConfig(epochs=6, lr=1e-3, **FAST),
            seed=3,
            checkpoint=ck,
        )


def test_distill_checkpoint_resume_is_bit_identical(tmp_path, source):
    _, _, teacher = source
    tgt = site(200, 18, 5, site_id=1)
    cfg = TrainConfig(epochs=4, lr=1e-3, **FAST)
    ref = new_model(18, seed=1)
    distill(ref, tgt, [teacher], config=cfg, seed=2)
    ck = Checkpoint(tmp_path / "d.pt", stop_after_epochs=1)
    h1 = distill(new_model(18, seed=1), tgt, [teacher], config=cfg, seed=2, checkpoint=ck)
    assert not h1.completed
    ck.stop_after_epochs = None
    m = new_model(18, seed=1)
    h2 = distill(m, tgt, [teacher], config=cfg, seed=2, checkpoint=ck)
    assert h2.completed and states_equal(m, ref)


def test_teacher_checkpoint_resume_is_bit_identical(tmp_path):
    tr = site(300, 12, 0)
    model = new_model(12, z_f=8, z_e=4)
    train_specialised(model, tr, config=TrainConfig(epochs=2, lr=1e-3, **FAST), seed=0)
    cfg = TeacherConfig(epochs=4, **FAST)  # 3 critic steps an epoch: G steps straddle epochs
    ref = train_teacher(model, tr, config=cfg, seed=4)
    ck = Checkpoint(tmp_path / "t.pt", stop_after_epochs=3)
    assert not train_teacher(model, tr, config=cfg, seed=4, checkpoint=ck).history.completed
    again = train_teacher(model, tr, config=cfg, seed=4, checkpoint=ck)
    assert again.history.completed and states_equal(again.generator, ref.generator)


# --- Expert Training ---------------------------------------------------------------------------


def test_teacher_shapes_frozen_and_quality(source, tmp_path):
    model, tr, teacher = source
    assert isinstance(teacher.generator, SurrogateGenerator)
    assert (teacher.noise_dim, teacher.z_f_dim, teacher.z_e_dim) == (128, 16, 8)
    linears = [m for m in teacher.generator.modules() if isinstance(m, nn.Linear)]
    assert len(linears) == 3  # the paper's three fully connected layers
    assert all(not p.requires_grad for p in teacher.generator.parameters())
    z_f, z_e = teacher.sample(32, generator=torch.Generator().manual_seed(0))
    assert z_f.shape == (32, 16) and z_e.shape == (32, 8) and not z_e.requires_grad
    # Z^E is E^G(Z^F): the block J_FI reads
    assert torch.allclose(teacher.generator.extractor(z_f), z_e, atol=1e-5)
    # 300 fingerprints = 3 critic steps an epoch; G steps every 5th: epochs without one say NaN
    for k in ("W", "GP", "critic", "G_adv", "J_Sim", "J_MAE_gen_m", "J_MAE_real_m"):
        assert len(teacher.history.metrics[k]) == 10
        assert np.isfinite(teacher.history.metrics[k]).sum() >= (5 if k[0] in "JG" else 10)
    q = teacher_quality(teacher, model, tr, n=64)
    assert q["R_error_gen_m"] >= 0 and q["live_features"] >= 1
    teacher.save(tmp_path / "t.pt")
    back = Teacher.load(tmp_path / "t.pt")
    assert states_equal(back.generator, teacher.generator) and back.source == teacher.source
    np.testing.assert_equal(back.history.metrics, teacher.history.metrics)  # NaN == NaN here


def test_teacher_training_leaves_source_model_unchanged():
    tr = site(150, 12, 0)
    model = new_model(12, z_f=8, z_e=4)
    train_specialised(model, tr, config=TrainConfig(epochs=2, lr=1e-3, **FAST), seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    train_teacher(model, tr, config=TeacherConfig(epochs=2, pairing="row", **FAST), seed=1)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.requires_grad for p in model.parameters())


# --- Expert Distilling -----------------------------------------------------------------------


def test_distilling_epoch_end_to_end_and_teachers_frozen(source):
    _, _, teacher = source
    other = train_teacher(source[0], source[1], config=TeacherConfig(epochs=1, **FAST), seed=7)
    tgt, va = site(200, 18, 5, site_id=1), site(60, 18, 6, site_id=1, split="test")
    frozen = [{k: v.clone() for k, v in t.generator.state_dict().items()} for t in (teacher, other)]
    model = new_model(18, seed=1)
    hist = distill(
        model,
        tgt,
        [teacher, other],
        config=TrainConfig(epochs=1, lr=1e-3, **FAST),
        seed=0,
        val_set=va,
    )
    for k in ("loss", "J_MAE", "J_Sim", "J_MI", "J_FI"):
        assert math.isfinite(hist.metrics[k][0])
    assert hist.completed and len(hist.val_mae_m) == 1 and hist.samples_per_s > 0
    assert np.all(np.isfinite(evaluate(model, va)))
    for t, before in zip((teacher, other), frozen, strict=True):
        assert all(torch.equal(before[k], v) for k, v in t.generator.state_dict().items())
        assert all(not p.requires_grad for p in t.generator.parameters())


def test_ablation_table_and_switches(source):
    _, _, teacher = source
    assert set(ABLATIONS) >= {"+", "*", "++", "°", "+++"}
    assert constraint_set("+") == {"sim": True, "mi": False, "fi": False}
    assert constraint_set("*") == {"sim": False, "mi": True, "fi": False}
    assert constraint_set("++") == {"sim": True, "mi": True, "fi": False}
    assert constraint_set("°") == constraint_set("o") == {"sim": False, "mi": False, "fi": True}
    assert constraint_set("+++") == {"sim": True, "mi": True, "fi": True}
    assert constraint_set("+++", use_fi=False) == constraint_set("++")  # bAaT++
    with pytest.raises(ValueError, match="ablation"):
        constraint_set("+-")

    tgt = site(150, 18, 5, site_id=1)
    cfg = TrainConfig(epochs=1, lr=1e-3, **FAST)
    h = distill(new_model(18), tgt, [teacher], config=cfg, seed=0, ablation="+")
    assert "J_Sim" in h.metrics and "J_MI" not in h.metrics and "J_FI" not in h.metrics
    assert h.trainable_parameters == sum(p.numel() for p in new_model(18).parameters())  # no Ψθ
    h = distill(new_model(18), tgt, [teacher], config=cfg, seed=0, use_fi=False)
    assert {"J_Sim", "J_MI"} <= set(h.metrics) and "J_FI" not in h.metrics


def _grads(model, estimator, teacher, flags, lambdas, x, y, noise):
    model.zero_grad(set_to_none=True)
    torch.manual_seed(0)  # the power iteration's start vector
    terms = distilling_terms(model, x, y, [teacher], estimator, constraints=flags, noise=noise)
    distilling_loss(terms, lambdas).backward()
    return terms, [p.grad.clone() for p in model.parameters()]


def test_zero_weight_equals_excluded_term(source):
    _, _, teacher = source
    torch.manual_seed(0)
    model = new_model(18, seed=1).eval()
    est = JSDMIEstimator(8, 8, hidden=16)
    x = torch.rand(32, 18)
    y = torch.randn(32, 2)
    noise = torch.randn(32, teacher.noise_dim)
    every = {"sim": True, "mi": True, "fi": True}
    for drop, lam in (
        ("mi", (3, 0.5, 0, 0.5)),
        ("fi", (3, 0.5, 0.5, 0)),
        ("sim", (3, 0, 0.5, 0.5)),
    ):
        flags = dict(every, **{drop: False})
        t_all, g_zero = _grads(model, est, teacher, every, lam, x, y, noise)
        t_cut, g_cut = _grads(model, est, teacher, flags, (3, 0.5, 0.5, 0.5), x, y, noise)
        key = {"sim": "J_Sim", "mi": "J_MI", "fi": "J_FI"}[drop]
        assert t_all[key] is not None and t_cut[key] is None
        for a, b in zip(g_zero, g_cut, strict=True):
            assert torch.allclose(a, b, rtol=1e-6, atol=1e-9)
    # and a positive weight does change the gradient
    _, g_on = _grads(model, est, teacher, every, (3, 0.5, 0.5, 0.5), x, y, noise)
    _, g_off = _grads(model, est, teacher, every, (3, 0.5, 0, 0.5), x, y, noise)
    assert not all(torch.allclose(a, b) for a, b in zip(g_on, g_off, strict=True))


def test_gradient_diagnostics_add_up_and_leave_training_unchanged(source):
    """The per-term gradient norms are those of the weighted terms (they add up, as vectors, to
    the step's gradient), their shares sum to 1, and a run with diagnostics trains the same
    weights as one without."""
    _, _, teacher = source
    model = new_model(18, seed=1).eval()
    est = JSDMIEstimator(8, 8, hidden=16)
    x, y = torch.rand(32, 18), torch.randn(32, 2)
    noise = torch.randn(32, teacher.noise_dim)
    every = {"sim": True, "mi": True, "fi": True}
    torch.manual_seed(0)
    terms = distilling_terms(model, x, y, [teacher], est, constraints=every, noise=noise)
    w = dict(zip(TERMS, normalise_lambdas((3, 0.5, 0.5, 0.5)), strict=True))
    params = list(model.parameters())
    norms = term_gradient_norms(terms, w, params)
    assert set(norms) == set(TERMS) and all(v > 0 for v in norms.values())
    per_term = [torch.autograd.grad(w[k] * terms[k], params, retain_graph=True,
                                    allow_unused=True) for k in TERMS]
    for k, g in zip(TERMS, per_term, strict=True):
        flat = torch.cat([t.reshape(-1) for t in g if t is not None])
        assert norms[k] == pytest.approx(float(flat.norm()), rel=1e-5)
    distilling_loss(terms).backward()
    for i, p in enumerate(params):
        summed = sum(g[i] for g in per_term if g[i] is not None)
        assert torch.allclose(p.grad, summed, rtol=1e-5, atol=1e-7)

    tgt = site(150, 18, 5, site_id=1)
    cfg = TrainConfig(epochs=2, lr=1e-3, **FAST)
    on, off = new_model(18, seed=1), new_model(18, seed=1)
    h_on = distill(on, tgt, [teacher, teacher], config=cfg, seed=0,
                   options=DistillOptions(diagnose_every=1))
    h_off = distill(off, tgt, [teacher, teacher], config=cfg, seed=0,
                    options=DistillOptions(diagnose_every=0))
    assert states_equal(on, off)
    assert h_on.metrics["loss"] == h_off.metrics["loss"]
    assert not any(k.startswith(("grad_", "share_")) for k in h_off.metrics)
    for e in range(2):
        shares = [h_on.metrics[f"share_{k}"][e] for k in TERMS]
        assert sum(shares) == pytest.approx(1.0) and all(0 < v < 1 for v in shares)
    # the schedule: one diagnosed batch every `every` steps, counted across epochs
    assert [diagnosed_epoch(e, 6, 50) for e in range(18)] == [
        e in (0, 8, 16) for e in range(18)]  # steps 0-5, ..., 48-53: epoch 8, 96-101: 16
    assert all(diagnosed_epoch(e, 156, 50) for e in range(5))  # UJI: every epoch
    assert not any(diagnosed_epoch(e, 6, 0) for e in range(5))
    sparse = distill(new_model(18, seed=1), tgt, [teacher], config=TrainConfig(
        epochs=3, lr=1e-3, **FAST), seed=0, options=DistillOptions(diagnose_every=4))
    assert [math.isnan(v) for v in sparse.metrics["grad_J_MAE"]] == [False, True, False]
    # J_MI of two teachers on Algorithm 3's independent pairs sits near 2 ln 4 from the start
    assert h_on.metrics["J_MI"][0] == pytest.approx(2 * math.log(4), abs=0.1)
    # the pairing switch trains differently (and runs)
    near = new_model(18, seed=1)
    h_near = distill(near, tgt, [teacher], config=cfg, seed=0,
                     options=DistillOptions(pairing="nearest"))
    assert math.isfinite(h_near.metrics["J_MI"][-1]) and not states_equal(near, on)


# --- bad input -------------------------------------------------------------------------------


def test_bad_input_errors(source):
    _, _, teacher = source
    cfg = TrainConfig(epochs=1, lr=1e-3, **FAST)
    tgt = site(60, 18, 5, site_id=1)
    wrong = site(60, 20, 5, site_id=1)
    with pytest.raises(ValueError, match="20 anchors.*n_anchors=18"):
        distill(new_model(18), wrong, [teacher], config=cfg, seed=0)
    with pytest.raises(ValueError, match="20 anchors"):
        train_specialised(new_model(18), wrong, config=cfg, seed=0)
    with pytest.raises(ValueError, match="20 anchors"):
        train_specialised(new_model(18), tgt, wrong, config=cfg, seed=0)
    with pytest.raises(ValueError, match="20 anchors"):
        train_teacher(new_model(18), wrong, config=TeacherConfig(epochs=1), seed=0)
    with pytest.raises(ValueError, match="3 weights"):
        distill(new_model(18), tgt, [teacher], lambdas=(3, 0.5, 0.5), config=cfg, seed=0)
    with pytest.raises(ValueError, match="negative"):
        distill(new_model(18), tgt, [teacher], lambdas=(3, -0.5, 0.5, 0.5), config=cfg, seed=0)
    with pytest.raises(ValueError, match="Z\\^E of width 8"):
        distill(new_model(18, z_e=6), tgt, [teacher], config=cfg, seed=0)
    with pytest.raises(ValueError, match="empty"):
        distill(new_model(18), tgt, [], config=cfg, seed=0)
    with pytest.raises(ValueError, match="seed"):
        train_specialised(new_model(18), tgt, config=cfg, seed=-1)
    with pytest.raises(ValueError):
        TrainConfig(epochs=0, lr=1e-3)
    with pytest.raises(ValueError):
        TeacherConfig(epochs=1, pairing="random")
    with pytest.raises(TypeError, match="framer"):
        train_specialised(nn.Linear(18, 2), tgt, config=cfg, seed=0)


# --- real data and a real model (skipped when absent) --------------------------------------------


def test_end_to_end_on_uji_lib_subset():
    from ipsbook.data import DataFileMissing
    from ipsbook.methods.mst import data

    try:
        full = data.load("uji-lib", "train")
    except (DataFileMissing, FileNotFoundError) as exc:
        pytest.skip(f"UJI-LIB not available: {exc}")
    src = data.subsample(full, 200 / len(full), seed=0)
    tgt = data.subsample(full, 200 / len(full), seed=1)
    assert len(src) == len(tgt) == 200 and src.n_anchors == 620
    model = new_model(620)
    h = train_specialised(model, src, config=TrainConfig(epochs=3, lr=1e-3, **FAST), seed=0)
    assert math.isfinite(h.metrics["J_MAE"][-1])
    teacher = train_teacher(model, src, config=TeacherConfig(epochs=2, **FAST), seed=0)
    student = new_model(620, seed=1)
    hd = distill(student, tgt, [teacher], config=TrainConfig(epochs=1, lr=1e-3, **FAST), seed=0)
    assert all(math.isfinite(v[0]) for v in hd.metrics.values())
    assert np.all(np.isfinite(evaluate(student, tgt)))


def test_real_network_smoke():
    fingerprint = pytest.importorskip("ipsbook.models.fingerprint")
    src, tgt = site(160, 30, 0), site(160, 26, 1, site_id=1)
    model = fingerprint.build("dnn", 30)
    h = train_specialised(model, src, config=TrainConfig(epochs=1, lr=1e-3, **FAST), seed=0)
    assert math.isfinite(h.metrics["J_MAE"][0])
    teacher = train_teacher(model, src, config=TeacherConfig(epochs=1, **FAST), seed=0)
    assert (teacher.z_f_dim, teacher.z_e_dim) == (model.z_f_dim, model.z_e_dim)
    student = fingerprint.build("dnn", 26)
    hd = distill(
        student,
        tgt,
        [teacher],
        config=TrainConfig(epochs=1, lr=1e-3, **FAST),
        seed=0,
        options=DistillOptions(n_iter=5),
    )
    assert {"J_MAE", "J_Sim", "J_MI", "J_FI"} <= set(hd.metrics)
    with pytest.raises(ValueError, match="anchors"):
        distill(
            fingerprint.build("dnn", 26),
            src,
            [teacher],
            config=TrainConfig(epochs=1, lr=1e-3, **FAST),
            seed=0,
        )


# --- converged training (TrainConfig.stop, the full profile) -------------------------------------

# a tiny problem that learns for a few dozen epochs and then plateaus well before the cap
STOP = StopRule(patience=4, lr_patience=2, min_delta=0.01, val_fraction=0.2)
STOP_CFG = TrainConfig(epochs=200, lr=3e-2, batch_size=16, stop=STOP, **FAST)


def test_stop_split_holds_out_whole_reference_points():
    base = site(30, 12, 0)
    grid = np.stack([np.arange(30) * 3.0, np.full(30, 7.0)], axis=1)  # 30 points 3 m apart
    rows = np.repeat(np.arange(30), 5)  # five fingerprints at each reference point
    jitter = np.random.default_rng(0).normal(0.0, 0.05, size=(150, 2))  # centimetres apart
    fs = FingerprintSet("pts", "train", base.rss[rows], grid[rows] + jitter,
                        floor=np.zeros(150, int))
    assert len(np.unique(reference_points(fs))) == 30
    # the same place on another floor is another reference point
    upstairs = FingerprintSet("pts", "train", fs.rss, fs.pos, floor=np.arange(150) % 2)
    assert len(np.unique(reference_points(upstairs))) == 60
    fit, held = stop_split(fs, STOP, seed=4)
    assert len(fit) + len(held) == 150 and 0.1 < len(held) / 150 < 0.3
    pts = set(map(tuple, np.round(fs.pos[fit.index])))
    assert not pts & set(map(tuple, np.round(fs.pos[held.index])))  # no point on both sides
    assert np.all(np.diff(fit.index) > 0) and np.all(np.diff(held.index) > 0)
    again = stop_split(fs, {"patience": 4, "lr_patience": 2, "val_fraction": 0.2}, seed=4)[1]
    assert np.array_equal(held.index, again.index)  # seeded; the mapping form is accepted
    assert not np.array_equal(held.index, stop_split(fs, STOP, seed=5)[1].index)
    # one reference point only: split by fingerprint
    one = FingerprintSet("one", "train", base.rss[:10], np.zeros((10, 2)))
    assert len(stop_split(one, STOP, seed=0)[1]) == 2
    with pytest.raises(ValueError, match="at least 2"):
        stop_split(one.subset([0]), STOP, seed=0)
    with pytest.raises(ValueError, match="stop rule"):
        stop_split(fs, None, seed=0)


def test_stop_rule_stops_on_a_plateau_lowers_the_rate_and_restores_the_best_epoch(monkeypatch):
    from ipsbook.methods.mst import train as train_mod

    made = []

    def recording_adam(params, lr):
        made.append(train_mod.torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-7))
        return made[-1]

    monkeypatch.setattr(train_mod, "make_adam", recording_adam)
    tr = site(160, 24, 0)
    model = new_model(24)
    h = train_specialised(model, tr, config=STOP_CFG, seed=0)
    s = h.stopping
    assert s["stopped"] == "plateau" and s["cap"] == 200 and h.epochs == s["epochs_run"] < 200
    assert h.completed and h.best_epoch == s["best_epoch"] == h.epochs - 1 - STOP.patience
    assert h.best_epoch > 2  # it learned for a while before the plateau
    # the learning rate fell on the plateaus, and the optimiser ended below its start
    assert s["lr_drops"] and made[0].param_groups[0]["lr"] < STOP_CFG.lr
    # the validation split is carved from the training set, and only the rest is trained on
    fit, held = stop_split(tr, STOP, seed=0)
    assert (h.n_train, h.n_val) == (len(fit), len(held)) and h.n_train + h.n_val == len(tr)
    # the best epoch's weights are back: its validation error is the model's
    assert float(np.mean(evaluate(model, held))) == pytest.approx(h.val_mae_m[h.best_epoch],
                                                                    rel=1e-6)
    assert h.val_mae_m[h.best_epoch] < h.val_mae_m[0] and h.val_mae_m[-1] != h.val_mae_m[
        h.best_epoch]
    rec = h.summary()
    assert {k: rec[k] for k in STOP_SUMMARY_KEYS} == {
        "epochs_cap": 200, "stopped": "plateau", "still_improving": False,
        "lr_drops": len(s["lr_drops"]), "n_val": len(held)}
    # a given val_set is watched instead of a carved split (all of train_set is trained on)
    va = site(60, 24, 1, split="test")
    hv = train_specialised(new_model(24), tr, va, config=STOP_CFG, seed=0)
    assert hv.n_train == len(tr) and hv.n_val == len(va) and hv.stopping is not None
    # a history with its stop record survives to_dict / from_dict
    back = type(h).from_dict(h.to_dict())
    assert back.stopping == h.stopping and back.n_val == h.n_val


def test_stopped_run_resumed_from_checkpoints_stops_at_the_same_epoch(tmp_path):
    tr = site(160, 24, 0)
    ref = new_model(24)
    ref_hist = train_specialised(ref, tr, config=STOP_CFG, seed=0)
    assert ref_hist.stopping["stopped"] == "plateau" and len(ref_hist.stopping["lr_drops"]) > 1

    ck = Checkpoint(tmp_path / "stop.pt", every_epochs=3, stop_after_epochs=5)
    calls = 0
    while True:  # interrupted every 5 epochs: across learning-rate drops and the plateau
        calls += 1
        # after the first call another initialisation: the checkpoint decides
        m = new_model(24, seed=0 if calls == 1 else calls + 10)
        h = train_specialised(m, tr, config=STOP_CFG, seed=0, checkpoint=ck)
        if h.completed:
            break
        assert h.stopping["stopped"] == "interrupted" and calls < 50
    assert calls == -(-ref_hist.epochs // 5) and h.resumed_at == list(range(5, h.epochs, 5))
    assert h.epochs == ref_hist.epochs and h.best_epoch == ref_hist.best_epoch
    assert h.val_mae_m == ref_hist.val_mae_m and h.stopping == ref_hist.stopping
    assert states_equal(m, ref)

    # the stopped run is finished: a repeated call returns at once with the same weights, even
    # with a higher cap (it stopped on its plateau, not at the cap)
    again = new_model(24, seed=99)
    h2 = train_specialised(again, tr, config=dataclasses.replace(STOP_CFG, epochs=300), seed=0,
                           checkpoint=Checkpoint(ck.path))
    assert h2.epochs == ref_hist.epochs and states_equal(again, ref)
    # the rule is part of the run's identity: a fixed-epoch run does not take its checkpoint
    with pytest.raises(ValueError, match="different run"):
        train_specialised(new_model(24), tr, config=dataclasses.replace(STOP_CFG, stop=None),
                          seed=0, checkpoint=Checkpoint(ck.path))


def test_without_a_stop_rule_training_is_as_before():
    """stop=None is the fixed-epoch training of before: the numbers below were produced by the
    code before the stop rule existed (same seed, data and settings)."""
    tr, va = site(200, 24, 0), site(60, 24, 1, split="test")
    cfg = TrainConfig(epochs=5, lr=3e-3, **FAST)
    assert cfg.stop is None and cfg == TrainConfig(epochs=5, lr=3e-3, stop=None, **FAST)
    h = train_specialised(new_model(24), tr, va, config=cfg, seed=3)
    assert h.val_mae_m == pytest.approx([30.31734525238936, 30.29028189829677, 30.236778607818316,
                                         30.19452487692214, 30.151965406240517], rel=1e-5)
    assert h.metrics["J_MAE"] == pytest.approx(
        [1.346922607421875, 1.3423924255371094, 1.3403460693359375, 1.3372418212890624,
         1.3340333557128907], rel=1e-5)
    assert h.best_epoch == 4 and h.epochs == 5 and h.n_train == 200
    assert h.stopping is None and h.n_val == 0
    assert not set(STOP_SUMMARY_KEYS) & set(h.summary())
    with pytest.raises(ValueError, match="patience"):
        TrainConfig(epochs=5, lr=1e-3, stop={"patience": 0})
    with pytest.raises(ValueError, match="unknown field"):
        TrainConfig(epochs=5, lr=1e-3, stop={"patiense": 3})


def test_distill_and_transfer_phases_stop_on_their_own_splits(source):
    _, _, teacher = source
    tgt = site(160, 18, 5, site_id=1)
    cfg = dataclasses.replace(STOP_CFG, epochs=12, lr=1e-2)
    h = distill(new_model(18, seed=1), tgt, [teacher], config=cfg, seed=2)
    fit, held = stop_split(tgt, STOP, seed=2)  # the stand-alone model of seed 2 holds out these
    assert h.stopping is not None and h.stopping["cap"] == 12 and h.epochs <= 12
    assert (h.n_train, h.n_val) == (len(fit), len(held))
    assert h.best_epoch == h.stopping["best_epoch"]

    from ipsbook.methods.mst.transfer import collective_transfer, sequential_transfer

    src1, src2 = site(100, 18, 11, site_id=2), site(90, 18, 12, site_id=3)
    small = dataclasses.replace(STOP_CFG, epochs=3, lr=1e-3)
    for transfer in (sequential_transfer, collective_transfer):
        _, th = transfer("dnn", [src1, src2], tgt, config=small, seed=0)
        trained = [p for p in th.phases if not p.name.startswith("sae")]
        assert all(p.history.stopping is not None for p in trained), transfer.__name__
        assert all(0 < p.history.n_val < p.history.n_val + p.history.n_train for p in trained)
    joint = th.phases[0].history  # collective: the pooled sources, each with its split held out
    assert joint.kind == "collective-sources"
    assert joint.n_train + joint.n_val == len(src1) + len(src2)



# --- bf16 autocast on CPU (TrainConfig.cpu_bf16) -------------------------------------------------


def test_cpu_bf16_autocast_runs_products_in_bf16_and_only_when_asked():
    from ipsbook.methods.mst.train import autocast

    cpu, w = torch.device("cpu"), torch.ones(4, 3)
    with autocast(cpu, amp=True, cpu_bf16=True):
        assert nn.functional.linear(torch.ones(2, 3), w).dtype == torch.bfloat16
    for amp in (True, False):  # amp alone is CUDA's switch: on CPU it changes nothing
        with autocast(cpu, amp=amp, cpu_bf16=False):
            assert nn.functional.linear(torch.ones(2, 3), w).dtype == torch.float32
    # one region per forward pass: the next pass sees the weights the optimiser left
    lin, x = nn.Linear(3, 1), torch.ones(1, 3)
    with autocast(cpu, amp=False, cpu_bf16=True):
        before = lin(x).item()
    with torch.no_grad():
        lin.weight.add_(1.0)
    with autocast(cpu, amp=False, cpu_bf16=True):
        after = lin(x).item()
    assert after == pytest.approx(before + 3.0, abs=0.05)


def test_cpu_bf16_training_follows_the_float32_loss_curve_and_evaluates_in_float32():
    """The switch changes the arithmetic of the forward passes, not the recipe: the loss curve
    stays near float32's (bf16 keeps 8 bits of mantissa), the network learns, the weights stay
    float32, and a float32 and a bf16 run really differ (the switch acts)."""
    from ipsbook.models.fingerprint import build

    tr, te = site(256, 36, seed=0), site(128, 36, seed=1, split="test")
    curves, errors = {}, {}
    for bf16 in (False, True):
        torch.manual_seed(0)
        model = build("bayescnn", tr.n_anchors)  # the network the profiles name
        h = train_specialised(model, tr, seed=0, config=TrainConfig(
            epochs=8, lr=3e-3, cpu_bf16=bf16, **FAST))
        assert all(p.dtype == torch.float32 for p in model.parameters())
        curves[bf16], errors[bf16] = np.array(h.metrics["J_MAE"]), np.mean(evaluate(model, te))
    assert curves[True][-1] < 0.8 * curves[True][0]  # it learns
    assert not np.array_equal(curves[True], curves[False])  # bf16 was used
    np.testing.assert_allclose(curves[True], curves[False], rtol=0.05)
    assert errors[True] == pytest.approx(errors[False], rel=0.1)


def test_distilling_terms_under_cpu_bf16_are_float32():
    model = new_model(16, seed=0)
    x = torch.as_tensor(model_inputs(model, site(8, 16, seed=2).rss))
    off = {"sim": False, "mi": False, "fi": False}
    got = {bf16: distilling_terms(model, x, torch.zeros(8, 2), [], None, constraints=off,
                                  cpu_bf16=bf16) for bf16 in (False, True)}
    assert got[True]["J_MAE"].dtype == torch.float32 and got[True]["J_Sim"] is None
    # the student's forward pass ran in bf16: near float32's value, not equal to it
    assert got[True]["J_MAE"].item() != got[False]["J_MAE"].item()
    assert got[True]["J_MAE"].item() == pytest.approx(got[False]["J_MAE"].item(), rel=0.02)
