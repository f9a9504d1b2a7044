"""Integrated Gradients on head gates: completeness, captum == hand quadrature, determinism,
the b → 1 limit, pruning helpers and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ptlab import data
from ptlab.attribution import pruning as pr
from ptlab.attribution import scores as sc
from ptlab.attribution.family import FamilySpec, fit
from ptlab.attribution.losses import fixed_noise, loss_at, sequence_losses
from ptlab.models import build_model

SPEC = FamilySpec(d_model=32, n_layers=2, n_heads=2, seq_len=32)


@pytest.fixture(scope="module", params=["ar", "llada", "dream"])
def trained(request):
    """A small model trained 40 steps (so the gates matter), with its attribution set."""
    o = request.param
    torch.manual_seed(0)
    m = build_model(SPEC.model_config(o))
    fit(m, o, 40, SPEC, seed=0)
    toks = data.get_batch(
        data.load_corpus().tokens("attribution"),
        seed=1,
        step=0,
        batch_size=8,
        seq_len=SPEC.seq_len - 1,
    )
    return m, fixed_noise(toks, o)


def _noise(es):
    return None if es.objective == "ar" else (es.t, es.mask)


def test_gates_of_ones_reproduce_the_ungated_model(trained):
    m, es = trained
    assert loss_at(m, es, torch.ones(4)) == loss_at(m, es)


def test_completeness_at_32_steps(trained):
    m, es = trained
    for b in (0.0, 0.3):
        ig, delta = sc.integrated_gradients(
            m, es.tokens, b, 32, objective=es.objective, noise=_noise(es)
        )
        gap = loss_at(m, es) - loss_at(m, es, torch.full((4,), b))
        assert abs(float(ig.sum()) - gap) / abs(gap) < 1e-3
        assert abs(float(delta)) / abs(gap) < 1e-3


def test_captum_equals_hand_gauss_legendre(trained):
    m, es = trained
    ig, _ = sc.integrated_gradients(m, es.tokens, 0.3, 16, objective=es.objective, noise=_noise(es))
    manual = sc.integrated_gradients_manual(m, es, 0.3, 16)
    torch.testing.assert_close(ig, manual, atol=1e-6, rtol=1e-5)


def test_per_example_mean_is_ig_of_mean_loss(trained):
    m, es = trained
    per, _ = sc.integrated_gradients(
        m, es.tokens, 0.0, 8, objective=es.objective, noise=_noise(es), per_example=True
    )
    glob, _ = sc.integrated_gradients(
        m, es.tokens, 0.0, 8, objective=es.objective, noise=_noise(es)
    )
    assert per.shape == (8, 4)
    torch.testing.assert_close(per.mean(0), glob)


def test_masked_diffusion_loss_is_bitwise_repeatable(trained):
    m, es = trained
    g = torch.tensor([0.2, 0.7, 1.0, 0.4])
    assert loss_at(m, es, g) == loss_at(m, es, g)
    again = fixed_noise(es.tokens, es.objective)
    assert loss_at(m, again, g) == loss_at(m, es, g)


def test_ig_over_one_minus_b_approaches_the_gradient(trained):
    m, es = trained
    g = sc.gradients_at_ones(m, es).mean(0)
    errs = []
    for b in (0.5, 0.9, 0.99):
        ig, _ = sc.integrated_gradients(
            m, es.tokens, b, 8, objective=es.objective, noise=_noise(es)
        )
        errs.append(float((ig / (1 - b) - g).abs().max()))
    assert errs[2] < errs[1] < errs[0]
    assert errs[2] < 0.05 * float(g.abs().max()) + 1e-6


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
        sc.integrated_gradients(m, es.tokens, objective=es.objective, noise=_noise(es), **kw)


def test_bad_gates_and_missing_noise():
    m = build_model(SPEC.model_config("llada"))
    toks = torch.zeros(2, 8, dtype=torch.long)
    with pytest.raises(ValueError, match="head_gates must have shape"):
        m(toks, head_gates=torch.ones(3))
    with pytest.raises(ValueError, match="needs fixed noise"):
        sc.integrated_gradients(m, toks, objective="llada")
    with pytest.raises(ValueError, match="tokens must be a \\[B, T\\] LongTensor"):
        sc.integrated_gradients(m, toks.float(), objective="llada")


def test_strategies_and_bands():
    ig = np.array([0.3, -0.5, 0.01, -0.02, 0.2, -0.9, 0.0, 0.05])
    orders = pr.strategy_orders(ig, np.abs(ig), -ig)
    assert list(orders["signed_ig"][:2]) == [0, 4]  # most positive first
    assert list(orders["abs_ig"][:2]) == [6, 2]
    assert pr.band_counts([4, 8, 4], 0) == [0, 0, 0]
    assert sum(pr.band_counts([4, 8, 4], 5)) == 5
    assert pr.band_counts([4, 8, 4], 16) == [4, 8, 4]
    sets = pr.band_sets(ig, n_layers=4, n_heads=2)
    assert [len(s) for s in sets] == list(range(9))
    assert [list(b) for b in pr.layer_bands(4)] == [[0], [1, 2], [3]]


def test_sequence_losses_shapes(trained):
    m, es = trained
    out = sequence_losses(m, es.objective, torch.ones(8, 4), *es.args)
    assert out.shape == (8,) and torch.isfinite(out).all()
