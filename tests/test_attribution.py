"""Integrated Gradients on head gates: completeness, captum == hand quadrature, determinism,
the b → 1 limit, stratified noise, exact and sampled Shapley, iterative Michel pruning, the
bootstrap of sign fractions, attention patterns, pruning helpers and bad input."""

from __future__ import annotations

import itertools
import math
import re

import numpy as np
import pandas as pd
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
    assert per.shape == (8, 4) and glob.shape == (4,)  # per window: its draws averaged
    np.testing.assert_allclose(per.mean(0), glob, rtol=1e-6)


def test_masked_diffusion_loss_is_bitwise_repeatable(trained):
    m, es = trained
    g = torch.tensor([0.2, 0.7, 1.0, 0.4])
    assert loss_at(m, es, g) == loss_at(m, es, g)
    again = fixed_noise(es.tokens[:: es.draws], m.cfg.objective)  # the windows, drawn again
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
    out = gated_losses(m, torch.ones(len(es), 4), *es.args)  # one row per window and draw
    assert out.shape == (len(es),) and torch.isfinite(out).all()


def test_every_score_has_one_shape(trained):
    m, es = trained
    N = m.cfg.n_gates
    for score in (sc.integrated_gradients, sc.michel, sc.leave_one_out, sc.shapley_sampled):
        out = score(m, es)
        assert isinstance(out, np.ndarray) and out.shape == (N,), score.__name__


def test_study_settings_come_from_the_profile_frozen_and_validated():
    import dataclasses

    from ptlab.attribution import StudySettings
    from ptlab.models.config import ConfigError
    from ptlab.profiles import PROFILES

    quick = StudySettings.from_profile("quick")
    assert quick.n_windows == PROFILES["quick"]["attribution"]["study"]["n_windows"]
    assert StudySettings.from_profile("quick", n_windows=None, exact_members=None) == quick
    assert StudySettings.from_profile("smoke").n_boot < quick.n_boot
    both = StudySettings.from_profile("quick", exact_members="ar,dream", n_boot=200)
    assert both.exact_members == ("ar", "dream") and both.n_boot == 200
    with pytest.raises(dataclasses.FrozenInstanceError):
        quick.n_boot = 5
    bad = [
        (dict(n_windows=0), "n_windows must be >= 1, got 0"),
        (dict(n_boot=2.5), "n_boot must be an integer >= 0, got 2.5"),
        (dict(prune_fraction=1.5), "prune_fraction must be in (0, 1)"),
        (dict(exact_members="ar,gpt"), "unknown member 'gpt'; allowed: ar, llada, dream"),
        (dict(n_window=3), "unknown attribution setting 'n_window'; allowed:"),
    ]
    for kw, msg in bad:
        with pytest.raises(ConfigError, match=re.escape(msg)):
            StudySettings.from_profile("quick", **kw)


def test_family_spec_comes_from_the_profile_and_the_chapter_only_overrides():
    from ptlab.profiles import PROFILES, profile_configs

    spec = FamilySpec.from_profile("quick")
    base_m, base_t = profile_configs("quick")
    assert spec.backbone.n_layers == PROFILES["quick"]["attribution"]["model"]["n_layers"]
    assert spec.backbone.d_model == base_m.d_model and spec.train.lr == base_t.lr
    assert spec.steps == PROFILES["quick"]["attribution"]["steps"]
    assert all(spec.backbone.switches.values())
    same = FamilySpec.from_profile("quick", d_model=None, ar_steps=None)
    assert same == spec  # None: the profile's value
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


# --- stratified noise --------------------------------------------------------------------


def test_stratum_counts_are_a_stratified_sample_of_the_uniform_count():
    n, K = 12, 4
    for u in (1e-9, 0.3, 0.999):
        counts = sc_counts(n, K, u)
        # one count in each stratum ((k−1)n/K, kn/K]
        assert all((k * n / K) < c <= ((k + 1) * n / K) for k, c in enumerate(counts))
    # over u ~ U(0, 1) the stratified mean of f(l) equals the mean of f over l = 1..n
    f = np.log1p(np.arange(1, n + 1) ** 1.5)
    us = (np.arange(4000) + 0.5) / 4000
    strat = np.mean([f[sc_counts(n, K, u) - 1].mean() for u in us])
    assert strat == pytest.approx(f.mean(), rel=1e-3)


def sc_counts(n, K, u):
    from ptlab.attribution.losses import stratum_counts

    return stratum_counts(n, K, u)


@pytest.mark.parametrize("objective", ["masked_diffusion", "shifted_masked_diffusion"])
def test_stratified_rows_mask_exact_counts_and_score_a_constant_loss_exactly(objective):
    from ptlab.attribution.losses import stratified_noise, stratum_counts

    B, T, K = 3, 16, 4
    shifted = objective == "shifted_masked_diffusion"
    t, mask = stratified_noise((B, T), K, seed=5, shifted=shifted)
    n = T - 1 if shifted else T
    assert mask.shape == (B * K, T) and t.shape == (B * K,)
    counts = mask.sum(1).numpy()
    np.testing.assert_allclose(t.numpy(), counts / n, rtol=1e-6)
    for b in range(B):  # one count per stratum for every window
        c = counts[b * K : (b + 1) * K]
        assert all((k * n / K) < x <= math.ceil((k + 1) * n / K) for k, x in enumerate(c))
    if shifted:
        assert not mask[:, 0].any()
    assert stratum_counts(n, K, 0.5).sum() > 0
    # logits all zero: cross-entropy ln V at every position; weight n/l_k on l_k masked
    # positions divided by n gives exactly ln V per row (Bernoulli masks would not)
    m = build_model(SPEC.model_config("llada").replace(objective=objective))
    torch.nn.init.zeros_(m.lm_head.weight)
    toks = data.get_batch(
        data.load_corpus().tokens("attribution"),
        seed=3,
        step=0,
        batch_size=B,
        seq_len=m.cfg.seq_len - 1,
    )
    es = fixed_noise(toks, objective, draws=K)
    assert len(es) == B * K and es.n_windows == B
    rows = gated_losses(m, None, *es.args)
    np.testing.assert_allclose(rows.detach().numpy(), math.log(data.VOCAB_SIZE), rtol=1e-5)


def test_a_second_noise_seed_changes_the_masks_not_the_windows(trained):
    m, es = trained
    if es.t is None:
        pytest.skip("the causal loss has no noise")
    other = fixed_noise(es.tokens[:: es.draws], m.cfg.objective, seed=99, draws=es.draws)
    assert torch.equal(other.tokens, es.tokens) and not torch.equal(other.mask, es.mask)


# --- Shapley -----------------------------------------------------------------------------


def _brute_force_shapley(m, es):
    N = m.cfg.n_gates
    v = {}
    for bits in itertools.product((0, 1), repeat=N):
        v[bits] = loss_at(m, es, torch.tensor(bits, dtype=torch.float32))
    phi = np.zeros(N)
    for h in range(N):
        for bits, value in v.items():
            if bits[h]:
                continue
            s = sum(bits)
            with_h = tuple(1 if i == h else b for i, b in enumerate(bits))
            w = math.factorial(s) * math.factorial(N - s - 1) / math.factorial(N)
            phi[h] += w * (v[with_h] - value)
    return phi


def test_exact_shapley_equals_the_brute_force_formula_and_is_efficient(trained):
    m, es = trained
    exact = sc.shapley_exact(m, es)
    np.testing.assert_allclose(exact, _brute_force_shapley(m, es), atol=2e-5)
    total = loss_at(m, es) - loss_at(m, es, torch.zeros(m.cfg.n_gates))
    assert exact.sum() == pytest.approx(total, abs=1e-5)


def test_the_layer_by_layer_enumeration_equals_plain_forwards_of_every_subset(trained):
    m, es = trained
    np.testing.assert_allclose(sc.subset_values(m, es), sc.subset_values_flat(m, es), atol=1e-5)


def test_all_permutations_give_the_exact_shapley_values(trained):
    m, es = trained
    N = m.cfg.n_gates
    perms = np.array(list(itertools.permutations(range(N))))
    per = sc.shapley_permutations(m, es, perms)
    assert per.shape == (es.n_windows, N)
    np.testing.assert_allclose(per.mean(0), sc.shapley_exact(m, es), atol=2e-5)


def test_shapley_from_values_on_a_known_game():
    # v(S) = Σ_{h∈S} c_h + d·[0,1 ∈ S]: φ = c, plus d/2 for heads 0 and 1
    c, d = np.array([0.5, -1.0, 2.0]), 0.6
    v = np.array([sum(c[h] for h in range(3) if m >> h & 1) + d * (m & 3 == 3) for m in range(8)])
    np.testing.assert_allclose(sc.shapley_from_values(v), c + np.array([d / 2, d / 2, 0]))


# --- pruning -----------------------------------------------------------------------------


def test_iterative_michel_removes_the_least_important_remaining_head_each_step(trained):
    m, es = trained
    N = m.cfg.n_gates
    order = pr.michel_iterative(m, es)
    assert sorted(order) == list(range(N))
    assert order[0] == int(np.argmin(sc.michel(m, es)))
    gates = torch.ones(N)
    for h in order:  # recomputed on the pruned model, independently of michel_iterative
        remaining = np.flatnonzero(gates.numpy())
        grads = np.abs(sc.gradients_at(m, es, gates)).mean(0) * gates.numpy()
        per = grads.reshape(m.cfg.n_layers, -1)
        imp = (per / np.maximum(np.linalg.norm(per, axis=1, keepdims=True), 1e-12)).ravel()
        assert h == remaining[np.argmin(imp[remaining])]
        gates[h] = 0


# --- bootstrap and correlations ----------------------------------------------------------


def test_sign_fraction_bootstrap():
    from ptlab.attribution.study import ci, sign_fractions

    rng = np.random.default_rng(0)
    # 3 clearly negative heads, 1 clearly positive, 2 whose sign depends on the windows
    centre = np.array([-1.0, -1.0, -1.0, 1.0, 0.0, 0.0])
    per = centre + rng.normal(0, 0.5, (40, 6))
    fr = sign_fractions(per, n_boot=500)
    assert fr["frac_negative"].shape == (500,)
    lo, hi = ci(fr["frac_negative"])
    assert 3 / 6 <= lo <= hi <= 5 / 6 and hi > lo  # the two sign-less heads widen it
    np.testing.assert_allclose(fr["frac_negative"] + fr["frac_positive"], 1.0)
    fixed = sign_fractions(np.tile(centre[:4], (10, 1)), n_boot=50)
    assert set(fixed["frac_negative"]) == {0.75}


def test_rowwise_spearman_matches_scipy():
    from scipy import stats

    from ptlab.attribution.study import spearman_rows

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(5, 16)), rng.normal(size=(5, 16))
    b[0] = a[0] ** 3  # monotone: ρ = 1
    got = spearman_rows(a, b)
    want = [stats.spearmanr(x, y)[0] for x, y in zip(a, b, strict=True)]
    np.testing.assert_allclose(got, want, atol=1e-12)
    assert got[0] == pytest.approx(1.0)


def test_seed_summaries():
    import pandas as pd

    from ptlab.attribution.study import across_seeds, seed_ci

    t = pd.DataFrame({"model": ["ar"] * 3, "seed": [0, 1, 2], "x": [1.0, 2.0, 4.0]})
    s = across_seeds(t, ["model"]).iloc[0]
    assert s["x"] == pytest.approx(7 / 3) and s["x_sd"] == pytest.approx(np.std([1, 2, 4], ddof=1))
    assert s["seeds"] == 3
    # two seeds that disagree (0 and 1) with no window noise: the interval must be wide, not a
    # point (resampling windows given the seeds would give [0.5, 0.5])
    boot = pd.DataFrame(
        {
            "model": "ar",
            "seed": np.repeat([0, 1], 100),
            "quantity": "q",
            "replicate": np.tile(np.arange(100), 2),
            "value": np.r_[np.zeros(100), np.ones(100)],
            "point": np.r_[np.zeros(100), np.ones(100)],
        }
    )
    row = seed_ci(boot, "q").iloc[0]
    assert row["seeds"] == 2 and row["ci_low"] < 0 and row["ci_high"] > 1
    assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * 12.706 * 0.5, rel=1e-3)  # t(1)
    assert seed_ci(boot, "q", bounds=(0, 1)).iloc[0][["ci_low", "ci_high"]].tolist() == [0, 1]
    one = seed_ci(boot[boot["seed"] == 0], "q").iloc[0]
    assert np.isnan(one["ci_low"])  # one training run says nothing about another


def _boot_study(rng, mu, seed_sd, window_sd, seeds=3, reps=200):
    """A bootstrap table of one quantity: each seed's value is mu + seed noise, and its window
    replicates scatter around it (the same windows for every seed)."""
    rows = []
    shared = rng.normal(0, window_sd, reps)  # window resample r moves every seed alike
    for s in range(seeds):
        point = mu + rng.normal(0, seed_sd)
        rows.append(
            pd.DataFrame(
                {
                    "model": "ar",
                    "seed": s,
                    "quantity": "q",
                    "replicate": np.arange(reps),
                    "value": point + shared + rng.normal(0, window_sd / 3, reps),
                    "point": point,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_the_seed_interval_covers_a_planted_seed_mean():
    from ptlab.attribution.study import seed_ci

    rng = np.random.default_rng(0)
    hits = hits_windows_only = 0
    n = 300
    for _ in range(n):
        b = _boot_study(rng, mu=0.3, seed_sd=0.05, window_sd=0.01)
        r = seed_ci(b, "q").iloc[0]
        hits += r["ci_low"] <= 0.3 <= r["ci_high"]
        mean = b.groupby("replicate")["value"].mean()  # the old interval: windows only
        lo, hi = np.percentile(mean, [2.5, 97.5])
        hits_windows_only += lo <= 0.3 <= hi
    # the seed variance dominates: the t interval keeps ~95 %; resampling windows alone does not
    assert hits / n > 0.92 and hits_windows_only / n < 0.6


# --- attention patterns and the family ---------------------------------------------------


def test_attention_probabilities_reproduce_the_model_attention(trained):
    from ptlab.attribution.patterns import attention_probabilities, pattern_summary

    m, es = trained
    probs = attention_probabilities(m, es, layer=1)
    R, T = len(es), es.tokens.shape[1] - (m.cfg.objective == "causal")  # the model's input
    assert probs.shape == (R, m.cfg.n_heads, T, T)
    torch.testing.assert_close(probs.sum(-1), torch.ones(R, m.cfg.n_heads, T))
    upper = probs.triu(1).abs().max()
    assert (upper == 0) if m.cfg.objective == "causal" else (upper > 0)
    summary = pattern_summary(probs[:, 0])
    assert 0 <= summary["to_previous"] <= 1 and summary["mean_distance"] >= 0
    # a head attending only to the previous position
    prev = torch.zeros(1, 4, 4)
    prev[0, 0, 0] = 1
    prev[0, torch.arange(1, 4), torch.arange(3)] = 1
    s = pattern_summary(prev)
    assert s["to_previous"] == 1 and s["to_self"] == 0.25 and s["mean_distance"] == 0.75
    assert s["to_next"] == 0


def test_equal_token_budgets():
    for profile in ("smoke", "quick", "full"):
        spec = FamilySpec.from_profile(profile)
        assert len({spec.tokens(o) for o in MEMBERS}) == 1, profile
        assert spec.dream_from + spec.steps[2] == spec.steps[0]
    with pytest.raises(Exception, match="dream_steps"):
        FamilySpec.from_profile("smoke", ar_steps=10, dream_steps=10)


def test_a_strategy_wins_only_beyond_the_seed_spread():
    import pandas as pd

    from ptlab.attribution.verdicts import best_note_strategy

    def table(gaps):  # abs_ig's ΔL is 1.0 in every seed; the others are 1.0 + gap
        rows = []
        for seed, g in enumerate(gaps):
            for name, dl in (("abs_ig", 1.0), ("signed_ig", 1.0 + g), ("layer_bands", 1.5)):
                rows.append({"model": "ar", "seed": seed, "strategy": name, "delta_loss": dl})
        return pd.DataFrame(rows)

    assert "abs_ig wins" in best_note_strategy(table([0.20, 0.21, 0.19]))[1]
    noisy = best_note_strategy(table([0.3, -0.05, 0.2]))[1]  # signed_ig better in one seed
    assert "does not win" in noisy and "signed_ig" in noisy and "layer_bands" not in noisy


def test_the_pattern_sentence_follows_the_measured_patterns():
    import pandas as pd

    from ptlab.attribution.verdicts import pattern_verdict

    def row(model, role, prev, nxt, dist):
        return {
            "model": model,
            "role": role,
            "to_previous": prev,
            "to_next": nxt,
            "to_self": 0.05,
            "to_first": 0.05,
            "mean_distance": dist,
            "ig": -0.1,
        }

    local = pd.DataFrame([row(m, "useful", 0.6, 0.1, 1.5) for m in ("ar", "llada", "dream")])
    zh, en = pattern_verdict(local)
    assert "In all 3 models the most useful head is an adjacent-byte head" in en
    mixed = local.copy()
    mixed.loc[1, ["to_previous", "to_next", "mean_distance"]] = [0.04, 0.04, 20.0]  # LLaDA
    zh, en = pattern_verdict(mixed)
    assert "does not hold for every model" in en and "LLaDA" in en and "20 bytes" in en
    assert "In AR and Dream" in en and "并非对所有模型都成立" in zh


def test_the_two_readings_of_strategy_2_agree_exactly_with_at_most_one_positive_head():
    import pandas as pd

    from ptlab.attribution.verdicts import strategy2_readings

    def scores(ig):
        ig = np.asarray(ig, float)
        return pd.DataFrame({"ig_code": ig, "michel_abs": np.abs(ig), "loo": -ig})

    one = {("ar", 0): scores([-0.3, -0.01, 0.02, -0.1]), ("llada", 0): scores([-0.2, -0.1])}
    assert "In all 2 models and seeds the two readings" in strategy2_readings(one)[1]
    two = {**one, ("dream", 0): scores([0.3, 0.1, -0.2])}
    en = strategy2_readings(two)[1]
    assert "In 2 of 3 models and seeds" in en and "Dream" in en


def test_sign_claims_rest_on_the_seed_interval():
    import pandas as pd

    from ptlab.attribution.verdicts import sign_outcomes

    rng = np.random.default_rng(1)

    def boot(frac, mean, seed_sd):
        parts = []
        for o in ("llada", "dream"):
            for q, mu in (("frac_positive:code", frac), ("mean:code", mean)):
                b = _boot_study(rng, mu, seed_sd, 0.01)
                parts.append(b.assign(model=o, quantity=q))
        return pd.concat(parts, ignore_index=True)

    r = sign_outcomes(None, boot(0.8, 0.01, 0.01))
    assert r["most_positive"]["outcome"] == "supported" and r["seeds"] == 3
    assert sign_outcomes(None, boot(0.2, -0.01, 0.01))["most_positive"]["outcome"] == "contradicted"
    noisy = sign_outcomes(None, boot(0.6, 0.001, 0.3))
    assert noisy["most_positive"]["outcome"] == "undetermined"


def test_the_band_model_is_deeper_where_the_main_model_is_shallow():
    from ptlab.attribution.family import band_spec

    deep = band_spec("quick")
    assert (
        deep.backbone.n_layers == 6
        and deep.backbone.n_heads == FamilySpec.from_profile("quick").backbone.n_heads
    )
    assert [len(b) for b in pr.layer_bands(6)] == [2, 2, 2]
    assert band_spec("full") is None  # the M model: 6 layers x 8 heads already
    assert FamilySpec.from_profile("full").n_gates == 48
