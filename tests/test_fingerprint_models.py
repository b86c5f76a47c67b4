"""Paper C's specialised networks (DNN, CNNLoc, BayesCNN, bAaT): shapes, parameter counts, the
Framer/Extractor/Regressor split, bad input, a few training steps, bAaT's anchor-agnosticism."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ipsbook.models.fingerprint import (
    INPUT_SCALINGS,
    MODELS,
    SAE_MODELS,
    BAaT,
    CNNLoc,
    FingerprintNet,
    build,
    layer_table,
    parameter_count,
    part_parameter_counts,
)
from ipsbook.models.mtloc import set_position_scaling
from ipsbook.torchutil import torch_session

ANCHORS = {"UJIIndoorLoc": 520, "Tampere": 992, "UJI-LIB": 620}

# (z_f_dim, z_e_dim) per model and anchor count: the shapes documented in the module.
SHAPES = {
    "dnn": {520: (512, 128), 992: (512, 128), 620: (512, 128)},
    "cnnloc": {520: (64, 33), 992: (64, 33), 620: (64, 33)},
    # 32 * (s // 2) ** 2 with s = ceil(sqrt(n)) = 23, 32, 25
    "bayescnn": {520: (3872, 128), 992: (8192, 128), 620: (4608, 128)},
    # ceil(n / 16) * 128 with 33, 62, 39 words
    "baat": {520: (4224, 128), 992: (7936, 128), 620: (4992, 128)},
}

# Parameters per part (F, E, R) at 520 anchors.
PARAMS_520 = {
    "dnn": (266_752, 164_224, 258),
    "cnnloc": (74_944, 194_040, 68),
    "bayescnn": (9_568, 260_352, 258),
    "baat": (2_176, 265_344, 258),
}


def sparse_rss(n: int, batch: int = 4, seed: int = 0) -> torch.Tensor:
    """Scaled fingerprints: about 30 % of anchors heard with values in (0, 1], the rest 0."""
    g = torch.Generator().manual_seed(seed)
    heard = torch.rand(batch, n, generator=g) < 0.3
    return torch.rand(batch, n, generator=g).clamp_min(1e-3) * heard


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("dataset", list(ANCHORS))
def test_shapes_per_dataset(name: str, dataset: str) -> None:
    n = ANCHORS[dataset]
    model = build(name, n).eval()
    assert (model.z_f_dim, model.z_e_dim) == SHAPES[name][n]
    with torch.no_grad():
        z_f, z_e, y = model.representations(sparse_rss(n, batch=3))
    assert z_f.shape == (3, model.z_f_dim)
    assert z_e.shape == (3, model.z_e_dim)
    assert y.shape == (3, 2)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", MODELS)
def test_z_e_width_does_not_depend_on_anchor_count(name: str) -> None:
    # J_Sim and J_MI compare a target model's Z^E with a source teacher's: same width needed
    assert len({build(name, n).z_e_dim for n in ANCHORS.values()}) == 1


@pytest.mark.parametrize("name", MODELS)
def test_parameter_counts_at_520_anchors(name: str) -> None:
    model = build(name, 520)
    f, e, r = PARAMS_520[name]
    assert part_parameter_counts(model) == {
        "framer": f, "extractor": e, "regressor": r, "total": f + e + r
    }
    assert parameter_count(model) == f + e + r
    table = layer_table(model)
    assert int(table["parameters"].sum()) == f + e + r
    assert set(table["part"]) == {"F", "E", "R"}


def test_cnnloc_layers_match_the_authors_code() -> None:
    # XudongSong/CNNLoc-Access encoder_model.py: Dense 128, Dense 64 (ELU), Dropout 0.7,
    # Conv1D(99, 22), Conv1D(66, 22), Conv1D(33, 22) (ELU, valid), Flatten, Dense 2
    model = CNNLoc(520)
    table = layer_table(model)
    weighted = table[table["parameters"] > 0]
    assert list(weighted["output shape"]) == [(128,), (64,), (99, 43), (66, 22), (33, 1), (2,)]
    assert list(weighted["parameters"]) == [
        520 * 128 + 128, 128 * 64 + 64, 22 * 1 * 99 + 99, 22 * 99 * 66 + 66, 22 * 66 * 33 + 33,
        33 * 2 + 2,
    ]
    assert parameter_count(model) == 269_052
    assert model.dropout == 0.7
    dec = model.sae_decoder()
    assert parameter_count(dec) == 64 * 128 + 128 + 128 * 520 + 520 == 75_400
    with torch.no_grad():
        assert dec(model.framer(sparse_rss(520))).shape == (4, 520)


def test_sae_models_are_those_with_a_decoder() -> None:
    # the experiments SAE-pre-train exactly the networks listed in SAE_MODELS (CNNLoc)
    assert SAE_MODELS == ("cnnloc",)
    assert {m for m in MODELS if callable(getattr(build(m, 16), "sae_decoder", None))} == set(
        SAE_MODELS)
    model = CNNLoc(30)
    dec = model.sae_decoder()
    assert dec is not model.sae_decoder()  # a fresh decoder each time, not a part of the model
    assert parameter_count(model) == part_parameter_counts(model)["total"]
    assert not any(p is q for p in dec.parameters() for q in model.parameters())


def test_anchor_count_only_changes_the_framer() -> None:
    for name in MODELS:
        counts = [part_parameter_counts(build(name, n)) for n in ANCHORS.values()]
        assert len({c["regressor"] for c in counts}) == 1
        if name != "bayescnn":  # its fully connected layer reads the anchor-sized feature map
            assert len({c["extractor"] for c in counts}) == 1
    # bAaT: no parameter depends on the anchor count at all
    assert len({parameter_count(build("baat", n)) for n in ANCHORS.values()}) == 1


@pytest.mark.parametrize("name", MODELS)
def test_framer_extractor_regressor_compose_to_forward(name: str) -> None:
    model = build(name, 620)
    set_position_scaling(model, np.array([[0.0, 10.0], [40.0, 30.0], [20.0, 50.0]]))
    x = sparse_rss(620, batch=5)
    model.eval()
    with torch.no_grad():
        y = model(x)
        z_f = model.framer(x)
        z_e = model.extractor(z_f)
        assert torch.equal(model.regressor(z_e), y)
        ys = model(x, standardised=True)
        assert torch.equal(model.regressor(z_e, standardised=True), ys)
        assert torch.allclose(y, ys * model.pos_scale + model.pos_mean)
        z_f2, z_e2, y2 = model.representations(x)
    assert torch.equal(z_f2, z_f) and torch.equal(z_e2, z_e) and torch.equal(y2, y)


def test_models_declare_their_input_scaling() -> None:
    for name in MODELS:
        model = build(name, 520)
        assert isinstance(model, FingerprintNet)
        assert model.name == name
        assert model.input_scaling in INPUT_SCALINGS
    assert CNNLoc.input_scaling == "cnnloc_powed"
    assert build("CNNLoc", 10).name == "cnnloc"  # names are case-insensitive


@pytest.mark.parametrize("name", ["dnn", "cnnloc", "bayescnn"])
def test_wrong_anchor_count_is_a_clear_error(name: str) -> None:
    model = build(name, 520)
    with pytest.raises(ValueError, match=r"992 anchors.*n_anchors=520"):
        model(sparse_rss(992))
    with pytest.raises(ValueError, match=r"n_anchors=520"):
        model.framer(sparse_rss(620))


@pytest.mark.parametrize("name", MODELS)
def test_bad_input_errors(name: str) -> None:
    model = build(name, 520)
    x = sparse_rss(520)
    with pytest.raises(ValueError, match=r"2-D.*x\[None, :\]"):
        model(x[0])
    with pytest.raises(ValueError, match="floating-point"):
        model(torch.ones(2, 520, dtype=torch.int64))
    with pytest.raises(TypeError, match="torch.Tensor"):
        model(x.numpy())
    with pytest.raises(ValueError, match="z_e has 7 features"):
        model.regressor(torch.zeros(2, 7))
    with pytest.raises(ValueError, match="z_f has 5 features"):
        model.extractor(torch.zeros(2, 5))
    # a whole data set in raw dBm (with the +100 marker) is caught before training
    raw = np.full((3, 520), 100.0)
    raw[:, :5] = -70.0
    expected = rf"expects inputs scaled to \[0, 1\] by '{model.input_scaling}'"
    with pytest.raises(ValueError, match=expected):
        model.check_input(raw)
    nan = x.clone()
    nan[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        model.check_input(nan)
    model.check_input(x)  # a scaled data set passes


def test_unknown_model_and_bad_constructor_arguments() -> None:
    allowed = "unknown model 'resnet'; choose one of dnn, cnnloc, bayescnn, baat"
    with pytest.raises(ValueError, match=allowed):
        build("resnet", 520)
    with pytest.raises(ValueError, match="unknown model"):
        build(None, 520)  # type: ignore[arg-type]
    for bad in (0, -3, True, 2.5, "520"):
        with pytest.raises(ValueError, match="n_anchors="):
            build("dnn", bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="out_dim="):
        build("cnnloc", 520, out_dim=0)
    with pytest.raises(ValueError, match="dropout="):
        build("cnnloc", 520, dropout=1.0)
    with pytest.raises(ValueError, match="hidden="):
        build("dnn", 520, hidden=(64,))
    with pytest.raises(ValueError, match="channels="):
        build("bayescnn", 520, channels=(8, 16, 32))
    with pytest.raises(ValueError, match="d_model=100 must be even and divisible by n_heads=3"):
        build("baat", 520, d_model=100, n_heads=3)
    with pytest.raises(TypeError):
        build("dnn", 520, depth=3)


def test_bayescnn_accepts_tiny_anchor_counts() -> None:
    model = build("bayescnn", 3).eval()  # image side clamped to 4 so both poolings keep >= 1 pixel
    assert model.side == 4
    with torch.no_grad():
        assert model(sparse_rss(3)).shape == (4, 2)


def _train_losses(name: str, seed: int = 7, steps: int = 25) -> tuple[float, float]:
    """Eval-mode MSE on a tiny synthetic regression problem before and after ``steps`` Adam
    steps."""
    n, batch = 48, 96
    with torch_session(seed, torch.device("cpu"), num_threads=1):
        x = sparse_rss(n, batch, seed=seed)
        w = torch.randn(n, 2)
        y = x @ w
        y = (y - y.mean(0)) / y.std(0)
        model = build(name, n)
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)

        def mse() -> float:
            model.eval()
            with torch.no_grad():
                return float(((model(x, standardised=True) - y) ** 2).mean())

        before = mse()
        model.train()
        for _ in range(steps):
            opt.zero_grad()
            loss = ((model(x, standardised=True) - y) ** 2).mean()
            loss.backward()
            opt.step()
        return before, mse()


@pytest.mark.parametrize("name", MODELS)
def test_a_few_gradient_steps_reduce_the_error(name: str) -> None:
    before, after = _train_losses(name)
    assert after < 0.6 * before, (before, after)
    assert _train_losses(name) == (before, after)  # deterministic with a seed


def test_baat_accepts_any_number_of_anchors() -> None:
    model = build("baat", 520).eval()
    assert isinstance(model, BAaT) and model.anchor_agnostic
    with torch.no_grad():
        for n in (992, 620, 7):
            z_f, z_e, y = model.representations(sparse_rss(n, batch=2))
            assert z_f.shape == (2, model.n_tokens(n) * 128)
            assert z_e.shape == (2, model.z_e_dim) and y.shape == (2, 2)
    with pytest.raises(ValueError, match="multiple of d_model=128"):
        model.extractor(torch.zeros(2, 130))


def test_baat_ignores_appended_never_heard_anchors() -> None:
    # e.g. UJI-LIB's columns 449-620, empty in months 1-15: same prediction with or without them
    model = build("baat", 448).eval()
    x = sparse_rss(448, batch=6, seed=3)
    x[0] = 0.0  # a fingerprint with nothing heard still gives a finite prediction
    padded = torch.cat([x, torch.zeros(6, 172)], dim=1)
    with torch.no_grad():
        y, y_pad = model(x), model(padded)
        z_e, z_e_pad = model.extractor(model.framer(x)), model.extractor(model.framer(padded))
    assert torch.isfinite(y).all()
    torch.testing.assert_close(y_pad, y, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(z_e_pad, z_e, rtol=1e-5, atol=1e-5)
    # ... while a heard anchor in the appended columns does change it
    padded[:, 460] = 0.9
    with torch.no_grad():
        assert not torch.allclose(model(padded), y, atol=1e-4)
