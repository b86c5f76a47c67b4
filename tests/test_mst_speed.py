"""Paper C's BayesCNN and bAaT after their speed-up (issue 15, item 5): the same networks, the
same maths, the same loss curve.

The old forward passes are kept here, and only here, as the reference: BayesCNN with
contiguous (NCHW) feature maps and kernels, bAaT's encoder as ``nn.TransformerEncoderLayer``
run over every word with the empty ones masked as keys. The tests hold the package's networks
to them for the same weights and batches: outputs in eval mode, gradients, and the loss of
every Adam step of a short training run.

Tolerances (float32): outputs and losses agree to 1e-5 relative (what summing the same terms
in another order gives); after 20 Adam steps the predictions to 1e-4. BayesCNN's dropout draws the
same masks on both paths (same shape, same order), so its test keeps the default dropout;
bAaT's draws masks for the computed words only, so its training test sets dropout to 0 (with
dropout its curve is the same in distribution, not draw for draw).

``python tests/test_mst_speed.py [steps]`` measures the speed-up on UJIIndoorLoc batches of 128
(or on synthetic ones without the data): one thread, old and new interleaved step by step on
the same batches, each with its own copy of the same weights; it prints the medians and the
spread of the per-step times and of the per-pair ratios.
"""

from __future__ import annotations

import copy
import math
import statistics
import sys
import time

import pytest
import torch
from torch import nn

from ipsbook.models.fingerprint import BAaT, BayesCNN, build

# --- the old forward passes (the reference) ------------------------------------------------


def reference_copy(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with contiguous (NCHW) parameters and out-of-place ReLUs, as the old
    BayesCNN had them."""
    ref = copy.deepcopy(model)
    for p in ref.parameters():
        p.data = p.data.contiguous()
    for m in ref.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = False
    return ref


def _bayescnn_old(model: BayesCNN, x: torch.Tensor) -> torch.Tensor:
    s, n, b = model.side, model.n_anchors, x.shape[0]
    h = nn.functional.pad(x, (0, s * s - n)).view(b, 1, s, s)
    for layer in list(model.framer_net)[1:]:  # after _ToImage
        h = layer(h)
    c1 = model.channels[0]
    h = h.view(b, c1, s // 2, s // 2)
    for layer in list(model.extractor_net)[1:]:  # after _View
        h = layer(h)
    return model.regressor(h, standardised=True)


def _baat_old(model: BAaT, x: torch.Tensor) -> torch.Tensor:
    ext = model.extractor_net
    z_f = model.framer(x)
    b = z_f.shape[0]
    tok = z_f.view(b, -1, ext.d_model)
    pad = torch.cat([torch.zeros(b, 1, dtype=torch.bool), (tok == 0).all(dim=-1)], dim=1)
    h = torch.cat([ext.cls.expand(b, -1, -1), tok], dim=1)
    for layer in ext.encoder.layers:
        h = nn.TransformerEncoderLayer.forward(layer, h, src_key_padding_mask=pad)
    return model.regressor(ext.norm(h[:, 0]), standardised=True)


def old_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The standardised output of the old implementation of ``model``'s network."""
    return _bayescnn_old(model, x) if isinstance(model, BayesCNN) else _baat_old(model, x)


def new_forward(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    return model(x, standardised=True)


# --- data -----------------------------------------------------------------------------------


def sparse_batch(n: int, anchors: int, heard: float, seed: int) -> torch.Tensor:
    """``n`` scaled fingerprints, each anchor heard with probability ``heard``, at least one."""
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(n, anchors, generator=g) < heard).float() * torch.rand(n, anchors, generator=g)
    x[:, 0] = torch.where(x.sum(1) == 0, 0.5, x[:, 0])
    return x


def _loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (y_hat - y).norm(dim=1).mean()  # J_MAE, eq. 2


def _train(model: nn.Module, forward, batches, seed: int) -> list[float]:
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    model.train()
    out = []
    for x, y in batches:
        loss = _loss(forward(model, x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out


def _close(a: torch.Tensor, b: torch.Tensor, rtol: float) -> bool:
    a, b = a.detach(), b.detach()
    return bool((a - b).abs().max() <= rtol * max(1.0, float(b.abs().max())))


# --- tests ----------------------------------------------------------------------------------

CASES = [("bayescnn", 520), ("bayescnn", 620), ("baat", 520), ("baat", 992)]


@pytest.mark.parametrize(("name", "anchors"), CASES)
def test_eval_outputs_and_gradients_equal_the_old_implementation(name: str, anchors: int) -> None:
    torch.manual_seed(0)
    model = build(name, anchors).eval()
    ref = reference_copy(model)
    x = sparse_batch(48, anchors, 0.03, seed=1)
    x[5] = 0.0  # a fingerprint with nothing heard
    y = torch.randn(48, 2, generator=torch.Generator().manual_seed(2))
    new, old = new_forward(model, x), old_forward(ref, x)
    assert _close(new, old, 1e-5)
    _loss(new, y).backward()
    _loss(old, y).backward()
    for (k, p), q in zip(model.named_parameters(), ref.parameters(), strict=True):
        g0 = torch.zeros_like(q) if q.grad is None else q.grad
        g1 = torch.zeros_like(p) if p.grad is None else p.grad
        assert _close(g1, g0, 1e-4), k


@pytest.mark.parametrize("name", ["bayescnn", "baat"])
def test_training_curve_equals_the_old_implementation(name: str) -> None:
    anchors = 100  # a 10 x 10 image, 7 words: small enough for a fast test
    kw = {} if name == "bayescnn" else {"dropout": 0.0}  # see the module notes
    torch.manual_seed(0)
    model = build(name, anchors, **kw)
    ref = reference_copy(model)
    start = [p.detach().clone() for p in model.parameters()]
    g = torch.Generator().manual_seed(3)
    batches = [(sparse_batch(32, anchors, 0.05, seed=10 + i), torch.randn(32, 2, generator=g))
               for i in range(20)]
    new = _train(model, new_forward, batches, seed=4)
    old = _train(ref, old_forward, batches, seed=4)
    # the weights moved: the comparison is not between two models that did not train
    assert max(float((p.detach() - p0).abs().max())
               for p, p0 in zip(model.parameters(), start, strict=True)) > 1e-2
    for a, b in zip(new, old, strict=True):
        assert math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-6), (new, old)
    # and the trained networks predict the same (not compared weight by weight: the key bias
    # of attention has a zero gradient in exact arithmetic, which Adam turns into steps of
    # either sign from rounding noise; the function it computes does not depend on it)
    x = sparse_batch(64, anchors, 0.05, seed=99)
    assert _close(new_forward(model.eval(), x), old_forward(ref.eval(), x), 1e-4)


def test_baat_masks_only_what_it_should() -> None:
    # a fingerprint whose every word is heard: nothing is skipped, the result is the same
    torch.manual_seed(0)
    model = build("baat", 64).eval()
    x = torch.rand(8, 64) * 0.9 + 0.05
    assert _close(new_forward(model, x), old_forward(model, x), 1e-5)
    # and removing a heard word changes the output (the kept words are really used)
    x2 = x.clone()
    x2[:, :16] = 0.0
    assert not _close(new_forward(model, x2), new_forward(model, x), 1e-3)


def test_baat_dropout_is_active_in_training() -> None:
    torch.manual_seed(0)
    model = build("baat", 520).train()
    x = sparse_batch(16, 520, 0.03, seed=1)
    torch.manual_seed(1)
    a = new_forward(model, x)
    torch.manual_seed(2)
    b = new_forward(model, x)
    assert not torch.equal(a, b)


# --- the speed measurement (not a test) ------------------------------------------------------


def _batches(anchors_name: str, steps: int) -> tuple[list[tuple[torch.Tensor, torch.Tensor]], str]:
    try:
        import numpy as np

        from ipsbook.methods.mst import data
        from ipsbook.methods.mst.train import model_inputs

        fs = data.load(anchors_name, "train")
        x_all = torch.as_tensor(model_inputs(build("baat", fs.n_anchors), fs))
        y_all = torch.as_tensor(fs.pos, dtype=torch.float32)
        y_all = (y_all - y_all.mean(0)) / y_all.std(0)
        rng = np.random.default_rng(0)
        idx = [torch.as_tensor(rng.choice(len(x_all), 128, replace=False)) for _ in range(steps)]
        return [(x_all[i], y_all[i]) for i in idx], f"{anchors_name} training fingerprints"
    except Exception as exc:  # noqa: BLE001 -- no data here: synthetic batches, said so
        g = torch.Generator().manual_seed(0)
        return ([(sparse_batch(128, 520, 0.035, seed=i), torch.randn(128, 2, generator=g))
                 for i in range(steps)], f"synthetic (no UJIIndoorLoc: {exc})")


def measure(name: str, steps: int = 30, dataset: str = "ujiindoorloc") -> dict[str, float]:
    """Seconds per training step (batch 128, forward + J_MAE + backward + Adam) of the old and
    the new implementation, interleaved step by step on one thread."""
    torch.set_num_threads(1)
    batches, what = _batches(dataset, steps + 3)
    torch.manual_seed(0)
    model = build(name, batches[0][0].shape[1])
    ref = reference_copy(model)
    sides = {"new": (model, new_forward), "old": (ref, old_forward)}
    opts = {k: torch.optim.Adam(m.parameters(), lr=1e-3, eps=1e-7) for k, (m, _) in sides.items()}
    times: dict[str, list[float]] = {"new": [], "old": []}
    losses: dict[str, list[float]] = {"new": [], "old": []}
    for i, (x, y) in enumerate(batches):
        for k in (("new", "old") if i % 2 else ("old", "new")):
            m, fwd = sides[k]
            m.train()
            t = time.perf_counter()
            loss = _loss(fwd(m, x), y)
            opts[k].zero_grad(set_to_none=True)
            loss.backward()
            opts[k].step()
            dt = time.perf_counter() - t
            if i >= 3:  # warm-up
                times[k].append(dt)
                losses[k].append(float(loss))
    ratios = sorted(o / n for o, n in zip(times["old"], times["new"], strict=True))
    q = statistics.quantiles(ratios, n=4)
    return {
        "data": what, "steps": steps,
        "old_ms_median": 1e3 * statistics.median(times["old"]),
        "new_ms_median": 1e3 * statistics.median(times["new"]),
        "ratio_of_medians": statistics.median(times["old"]) / statistics.median(times["new"]),
        "pair_ratio_median": statistics.median(ratios), "pair_ratio_q1": q[0],
        "pair_ratio_q3": q[2], "pair_ratio_min": ratios[0], "pair_ratio_max": ratios[-1],
        "old_loss_mean": statistics.fmean(losses["old"]),
        "new_loss_mean": statistics.fmean(losses["new"]),
    }


if __name__ == "__main__":
    n_steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    for net in ("bayescnn", "baat"):
        r = measure(net, n_steps)
        print(net, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()})
