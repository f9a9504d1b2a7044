"""Integrated Gradients on head gates: completeness, captum == hand quadrature, determinism,
the b → 1 limit, pruning helpers and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptlab import data
from ptlab.attribution import pruning as pr
from ptlab.attribution import scores as sc
from ptlab.attribution.family import MEMBERS, FamilySpec, train_family
from ptlab.attribution.losses import fixed_noise, gated_losses, loss_at
from ptlab.models import build_model

SPEC = FamilySpec.from_profile("smoke", ar_steps=40, llada_steps=40, dream_steps=20)


@pytest.fixture(scope="module")
def family():
    return train_family(SPEC, seed=0, progress=False)


@pytest.fixture(scope="module", params=MEMBERS)
def trained(request, family):
    """A small model of each member trained 40 steps (so the gates matter), with its set."""
    m = family[request.param]
    toks = data.get_batch(
        data.load_corpus().tokens("attribution"),
        seed=1,
        step=0,
        batch_size=8,
        seq_len=m.cfg.seq_len - 1,
    )
    return m, fixed_noise(toks, m.cfg.objective)


def test_gates_of_ones_reproduce_the_ungated_model(trained):
    m, es = trained
    assert loss_at(m, es, torch.ones(4)) == loss_at(m, es)


def test_completeness_at_32_steps(trained):
    m, es = trained
    for b in (0.0, 0.3):
        ig, delta = sc.integrated_gradients(m, es, b, 32, return_convergence_delta=True)
        gap = loss_at(m, es) - loss_at(m, es, torch.full((4,), b))
        assert abs(float(ig.sum()) - gap) / abs(gap) < 1e-3
        assert abs(float(delta)) / abs(gap) < 1e-3


def test_captum_equals_hand_gauss_legendre(trained):
    m, es = trained
    ig = sc.integrated_gradients(m, es, 0.3, 16)
    manual = sc.integrated_gradients_manual(m, es, 0.3, 16)
    np.testing.assert_allclose(ig, manual, atol=1e-6, rtol=1e-5)


def test_per_example_mean_is_ig_of_mean_loss(trained):
    m, es = trained
    per = sc.integrated_gradients(m, es, 0.0, 8, per_example=True)
    glob = sc.integrated_gradients(m, es, 0.0, 8)
    assert per.shape == (8, 4) and glob.shape == (4,)
    np.testing.assert_allclose(per.mean(0), glob, rtol=1e-6)


def test_masked_diffusion_loss_is_bitwise_repeatable(trained):
    m, es = trained
    g = torch.tensor([0.2, 0.7, 1.0, 0.4])
    assert loss_at(m, es, g) == loss_at(m, es, g)
    again = fixed_noise(es.tokens, m.cfg.objective)
    assert loss_at(m, again, g) == loss_at(m, es, g)


def test_ig_over_one_minus_b_approaches_the_gradient(trained):
    m, es = trained
    g = sc.michel(m, es, signed=True)
    np.testing.assert_array_equal(g, sc.gradients_at_ones(m, es).mean(0))
    errs = []
    for b in (0.5, 0.9, 0.99):
        ig = sc.integrated_gradients(m, es, b, 8)
        errs.append(float(np.abs(ig / (1 - b) - g).max()))
    assert errs[2] < errs[1] < errs[0]
    assert errs[2] < 0.05 * float(np.abs(g).max()) + 1e-6


def test_loo_and_shapley_totals(trained):
    m, es = trained
    loo = sc.leave_one_out(m, es)
    for h in range(4):
        gates = torch.ones(4)
        gates[h] = 0
        assert loo[h] == pytest.approx(loss_at(m, es, gates) - loss_at(m, es), abs=1e-5)
    phi = sc.shapley_sampled(m, es, n_permutations=3)
    assert phi.sum() == pytest.approx(loss_at(m, es) - loss_at(m, es, torch.zeros(4)), abs=1e-4)


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(baseline=1.0), "baseline must be a number in \\[0, 1\\)"),
        (dict(baseline=-0.1), "baseline must be"),
        (dict(n_steps=0), "n_steps must be an integer >= 1"),
    ],
)
def test_bad_arguments(trained, kw, message):
    m, es = trained
    with pytest.raises(ValueError, match=message):
        sc.integrated_gradients(m, es, **kw)


def test_bad_gates_and_missing_noise():
    m = build_model(SPEC.model_config("llada"))
    toks = torch.zeros(2, 8, dtype=torch.long)
    with pytest.raises(ValueError, match="head_gates must have shape"):
        m(toks, head_gates=torch.ones(3))
    with pytest.raises(ValueError, match="needs fixed noise"):
        sc.integrated_gradients(m, fixed_noise(toks, "causal"))
    with pytest.raises(ValueError, match="tokens must be a \\[B, T\\] LongTensor"):
        sc.integrated_gradients(m, fixed_noise(toks.float(), "masked_diffusion"))
    with pytest.raises(ValueError, match="pass the windows as an EvalSet"):
        sc.integrated_gradients(m, toks)


def test_strategies_and_bands():
    ig = np.array([0.3, -0.5, 0.01, -0.02, 0.2, -0.9, 0.0, 0.05])
    orders = pr.strategy_orders(ig, np.abs(ig), -ig)
    assert list(orders["signed_ig"][:2]) == [0, 4]  # the note's prose: most positive first
    # the note's code: smallest positive first, negatives last (smallest |IG| among them first)
    assert list(orders["signed_ig_code"]) == [6, 2, 7, 4, 0, 3, 1, 5]
    assert list(orders["abs_ig"][:2]) == [6, 2]
    assert pr.band_counts([4, 8, 4], 0) == [0, 0, 0]
    assert sum(pr.band_counts([4, 8, 4], 5)) == 5
    assert pr.band_counts([4, 8, 4], 16) == [4, 8, 4]
    sets = pr.band_sets(ig, n_layers=4, n_heads=2)
    assert [len(s) for s in sets] == list(range(9))
    assert [list(b) for b in pr.layer_bands(4)] == [[0], [1, 2], [3]]


def test_sequence_losses_shapes(trained):
    m, es = trained
    out = gated_losses(m, torch.ones(8, 4), *es.args)
    assert out.shape == (8,) and torch.isfinite(out).all()


def test_every_score_has_one_shape(trained):
    m, es = trained
    N = m.cfg.n_gates
    for score in (sc.integrated_gradients, sc.michel, sc.leave_one_out, sc.shapley_sampled):
        out = score(m, es)
        assert isinstance(out, np.ndarray) and out.shape == (N,), score.__name__


def test_family_spec_comes_from_the_profile_and_the_chapter_only_overrides():
    from ptlab.profiles import PROFILES, profile_configs

    spec = FamilySpec.from_profile("quick")
    base_m, base_t = profile_configs("quick")
    assert spec.backbone.n_layers == PROFILES["quick"]["attribution"]["model"]["n_layers"]
    assert spec.backbone.d_model == base_m.d_model and spec.train.lr == base_t.lr
    assert spec.steps == PROFILES["quick"]["attribution"]["steps"]
    assert all(spec.backbone.switches.values())
    same = FamilySpec.from_profile("quick", d_model=0, ar_steps=None)
    assert same == spec  # 0 / None: the profile's value
    other = FamilySpec.from_profile("quick", n_heads=2, dream_steps=7)
    assert other.backbone.n_heads == 2 and other.steps[2] == 7 and other.key(0) != spec.key(0)
    assert spec.train_config("llada").steps == spec.steps[1]
    assert [spec.model_config(o).objective for o in MEMBERS] == [
        "causal",
        "masked_diffusion",
        "shifted_masked_diffusion",
    ]


def test_dream_starts_from_the_ar_checkpoint(family):
    from ptlab.train import train

    ar = family["ar"]
    res = train(
        SPEC.model_config("dream"),
        SPEC.train_config("dream").replace(steps=1, lr=1e-12, warmup_steps=0),
        seed=1,
        init_state=ar.state_dict(),
        return_model=True,
    )
    adapted = res["model"].state_dict()
    for name, p in ar.state_dict().items():
        torch.testing.assert_close(p, adapted[name], atol=1e-6, rtol=0, msg=name)


def test_public_api():
    from ptlab.attribution import eval_set, integrated_gradients

    m = build_model(SPEC.model_config("ar"))
    assert integrated_gradients(m, eval_set("code", 2, m), n_steps=2).shape == (m.cfg.n_gates,)
