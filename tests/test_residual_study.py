"""The residual-variant study: the design, the CLI's bad input, the results columns, the paired
statistics on planted differences, and the verdicts on the note's claims."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ptlab import residual as res
from ptlab.models import RESIDUALS, SWITCHES, ConfigError
from ptlab.residual import design as residual_design
from ptlab.sweep import make_design, run_study
from ptlab.sweep.designs import pin


def ptlab(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "ptlab.cli", *args], capture_output=True, text=True, **kw
    )


def test_residual_design_has_every_variant_on_the_llama_backbone_baseline_first():
    rows = residual_design()
    assert [r["residual"] for r in rows] == list(RESIDUALS)
    assert all(all(r[s] for s in SWITCHES) for r in rows)
    some = residual_design(["mudd", "v2_m3", "mudd"])
    assert [r["residual"] for r in some] == ["baseline", "mudd", "v2_m3"]
    assert len(pin(rows, {})) == len(rows)  # rows that differ only in the variant stay


def test_an_unknown_variant_is_a_config_error_and_the_sweep_has_no_residual_design():
    with pytest.raises(ConfigError, match="unknown residual variant 'v2_m9'; allowed: baseline"):
        residual_design(["v2_m9"])
    with pytest.raises(ConfigError, match="unknown design 'residual'"):
        make_design("residual")  # the study owns its design; the sweep knows no study


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--variants", "v2_m3,v4_mlx"],
            "unknown residual variant 'v4_mlx'; allowed: baseline, v1_m1",
        ),
        (["--set", "use_rms_norm=false"], "needs every switch on"),
        (["--design", "fractional", "--variants", "v2_m3"], "--variants goes with --design"),
    ],
)
def test_cli_bad_residual_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    design = [] if "--design" in args else ["--design", "residual"]
    out = ptlab("sweep", "r", *design, "--results-dir", str(tmp_path / "res"), *args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert not (tmp_path / "res").exists()


def test_a_residual_run_records_its_timing_connections_and_cost_columns(tmp_path):
    runs, recs = run_study(
        "r",
        residual_design(["v2_m3"]),
        seeds=1,
        profile="smoke",
        overrides={"steps": 6, "eval_every": 3},
        results_dir=str(tmp_path),
        workers=1,
        progress=False,
        section="residual",
        measure=res.MEASURE,
    )
    assert list(runs["residual"]) == ["baseline", "v2_m3"]
    assert (runs["status"] == "ok").all()
    v2 = next(r for r in recs if r["model"].get("residual") == "v2_m3")
    assert v2["model"]["n_layers"] == 3  # the smoke profile's residual section
    assert v2["metrics"]["eval_time_ratio"] > 0 and v2["connections"]
    row = runs.set_index("residual").loc["v2_m3"]
    assert row["eval/ppl"] == pytest.approx(math.exp(row["eval/loss"]))
    assert row["flops_per_token"] > runs.set_index("residual").loc["baseline", "flops_per_token"]
    assert row["step_ms"] > 0
    m = res.connection_matrix(recs, "v2_m3")
    assert m.shape[0] == 3 and np.allclose(np.nansum(m, axis=1), 1.0, atol=1e-5)
    # what a user types: the variant and its cost columns, and a summary by variant
    out = ptlab("results", "r", "--results-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    head = out.stdout.splitlines()[0].split()
    assert head[:4] == ["residual", "seed", "eval/loss", "eval/ppl"] and "eval_time_ratio" in head
    assert "untie_attn" not in head  # not ten columns of True
    summary = ptlab("results", "r", "--results-dir", str(tmp_path), "--summary").stdout
    assert [ln.split()[0] for ln in summary.splitlines()[1:]] == ["baseline", "v2_m3"]


def planted(
    deltas: dict[str, float], seeds: int = 4, noise: float = 0.002, slow: float = 1.5
) -> pd.DataFrame:
    """A runs table with known paired differences: loss = baseline(seed) + Δ + noise (the
    noise is the sd of a variant's per-seed jitter); 1A–1E evaluate ``slow`` x the explicit
    baseline, everything else at its speed."""
    rng = np.random.default_rng(0)
    base = 2.0 + 0.2 * rng.standard_normal(seeds)
    rows = []
    for name, d in {"baseline": 0.0, **deltas}.items():
        for s in range(seeds):
            jitter = 0.0 if name == "baseline" else noise * rng.standard_normal()
            ratio = slow if name.startswith("v4_m1") and len(name) == 6 else 1.0
            rows.append(
                {
                    "residual": name,
                    "seed": s,
                    "status": "ok",
                    "eval/loss": base[s] + d + jitter,
                    "n_params": 1000,
                    "flops_per_token": 6000.0,
                    "step_ms": 10.0,
                    "eval_time_ratio": 1.1 * ratio,
                    "eval_time_ms": 11.0 * ratio * (1 + 0.01 * rng.standard_normal()),
                    "eval_time_baseline_ms": 10.0,
                    "eval_time_explicit_ms": 11.0,
                }
            )
    return pd.DataFrame(rows)


def test_paired_intervals_find_planted_differences_and_nothing_in_noise():
    table = res.variant_table(planted({"v2_m3": -0.03, "v1_m3": 0.04, "mudd": 0.0}))
    t = table.set_index("variant")
    assert t.loc["v2_m3", "ci_high"] < 0 < t.loc["v1_m3", "ci_low"]
    assert t.loc["mudd", "ci_low"] < 0 < t.loc["mudd", "ci_high"]
    assert t.loc["v2_m3", "delta_loss"] == pytest.approx(-0.03, abs=0.003)
    assert t.loc["v2_m3", "delta_ppl_pct"] == pytest.approx(100 * (math.exp(-0.03) - 1), abs=0.3)
    assert table["variant"].iloc[0] == "baseline"
    # the seed-to-seed spread of the baseline (0.2) is far larger than the planted Δ: only
    # the pairing finds it
    assert t.loc["baseline", "eval_loss_sd"] > 10 * abs(
        t.loc["v2_m3", "ci_high"] - t.loc["v2_m3", "ci_low"]
    )


def test_holm_within_a_claim_matches_statsmodels_and_intervals_are_bonferroni():
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    runs = planted({"v2_m1": 0.01, "v2_m2": 0.004, "v2_m3": -0.003}, noise=0.004, seeds=5)
    pairs = [("v2_m3", "v2_m1"), ("v2_m3", "v2_m2")]
    comps = res.compare(runs, pairs)
    raw = []
    for a, b in pairs:
        d = (
            runs[runs.residual == a].set_index("seed")["eval/loss"]
            - runs[runs.residual == b].set_index("seed")["eval/loss"]
        )
        raw.append(stats.ttest_1samp(d, 0).pvalue)
        half = stats.t.ppf(1 - 0.05 / 4, 4) * d.std(ddof=1) / math.sqrt(5)
        c = comps[len(raw) - 1]
        assert (c.low, c.high) == pytest.approx((d.mean() - half, d.mean() + half))
    holm = multipletests(raw, method="holm")[1]
    assert [c.p_holm for c in comps] == pytest.approx(list(holm))
    assert all(c.k == 2 for c in comps)


def test_a_contrast_averages_its_variants_per_seed():
    runs = planted({"v4_m1d": -0.02, "v4_m1e": -0.04, "v4_m1a": 0.0, "v4_m1b": 0.0})
    runs = pd.concat([runs, planted({"v4_m1c": 0.03}).query("residual == 'v4_m1c'")])
    (c,) = res.compare(runs, [(("v4_m1d", "v4_m1e"), ("v4_m1a", "v4_m1b", "v4_m1c"))])
    assert c.estimate == pytest.approx(-0.03 - 0.01, abs=0.004) and c.a == "v4_m1d+v4_m1e"


ALL_V = {v: 0.0 for v in RESIDUALS if v != "baseline"}


def decided(deltas: dict[str, float], noise: float = 0.002, seeds: int = 4, slow: float = 1.5):
    runs = planted({**ALL_V, **deltas}, seeds=seeds, noise=noise, slow=slow)
    return {d.spec.key: d for d in res.decide_all({"screen": runs}, 0.01, 0.10)}


@pytest.mark.parametrize(
    "deltas, claim, outcome",
    [
        ({"v2_m1": 0.03, "v2_m2": 0.02, "v2_m3": -0.02}, "v2_best", "supported"),
        ({"v2_m1": -0.03, "v2_m3": -0.02}, "v2_best", "contradicted"),
        ({"v2_m1": 0.0005, "v2_m2": 0.02}, "v2_best", "undetermined"),
        ({"v2_m3": -0.02}, "v2_better", "supported"),
        ({"v2_m3": 0.02}, "v2_better", "contradicted"),
        ({"v2_m3": -0.0005}, "v2_better", "undetermined"),
        (
            {"v1_m1": 0.2, "v1_m2": 0.2, "v1_m5": 0.2, "v1_m6": 0.2, "v1_m7": 0.2},
            "v1_best",
            "supported",
        ),
        ({"v1_m1": -0.05}, "v1_best", "contradicted"),
        ({"v1_m3": 0.02, "v1_m4": 0.03}, "v1_below", "supported"),
        ({"v1_m3": -0.02}, "v1_below", "contradicted"),
        ({"v1_m3": -0.01, "v1_m4": 0.0}, "v1_m3_m4", "supported"),
        ({"v1_m3": 0.01, "v1_m4": 0.0}, "v1_m3_m4", "contradicted"),
        ({"v1_m1": 0.001, "v1_m2": 0.0, "v1_m3": 0.0, "v1_m4": 0.001}, "v1_division", "supported"),
        ({"v1_m1": 0.3, "v1_m2": 0.0}, "v1_division", "contradicted"),
        ({"v1_m1": 0.009, "v1_m2": 0.0}, "v1_division", "undetermined"),
        ({"v3_m1": -0.01, "v3_m3_1": -0.01, "v3_m3_2": -0.01}, "v3_site", "supported"),
        ({"v3_m2": -0.01}, "v3_site", "contradicted"),
        ({"v3_m3_1": -0.01, "v3_m3_2": -0.02}, "v3_better", "supported"),
        ({"v3_m3_1": 0.01}, "v3_better", "contradicted"),
        # six and five comparisons: the Bonferroni-level intervals are wider, so larger effects
        ({f"v4_m{i}": 0.03 for i in range(2, 8)}, "v4_scaling", "supported"),
        ({"v4_m5": -0.03}, "v4_scaling", "contradicted"),
        (
            {t: -0.03 for t in ("v4_m1a", "v4_m1b", "v4_m1c", "v4_m1d", "v4_m1e")},
            "v4_tokens",
            "supported",
        ),
        ({"v4_m1b": 0.03}, "v4_tokens", "contradicted"),
        ({"v4_m1d": -0.02, "v4_m1e": -0.02}, "v4_de_abc", "supported"),
        ({"v4_m1a": -0.02}, "v4_de_abc", "contradicted"),
        ({}, "v4_slower", "supported"),
    ],
)
def test_every_claim_crosses_its_thresholds(deltas, claim, outcome):
    d = decided(deltas)[claim]
    assert d.outcome == outcome, [(c.a, c.b, c.low, c.high) for c in d.comparisons]
    assert d.tier == "screen" and d.n == 4


def test_slower_means_beyond_the_stated_margin_over_the_explicit_baseline():
    assert decided({}, slow=1.02)["v4_slower"].outcome == "contradicted"  # 2 % < 10 %
    assert decided({}, slow=1.10, seeds=3)["v4_slower"].outcome == "undetermined"


def test_an_undetermined_verdict_states_the_smallest_detectable_effect():
    d = decided({"v2_m3": -0.001}, noise=0.01)["v2_better"]
    zh, en = res.verdicts.evidence(d)
    assert d.outcome == "undetermined" and "smallest detectable effect" in en
    assert "可检测的最小效应" in zh and "screen, 4 seeds" in en


def test_a_claim_uses_the_confirmation_when_it_trained_the_variants():
    screen = planted({**ALL_V, "v2_m3": -0.0005}, noise=0.01)
    confirm = planted({"v2_m3": -0.02}, seeds=6)
    d = {
        x.spec.key: x
        for x in res.decide_all({"confirmation": confirm, "screen": screen}, 0.01, 0.1)
    }
    assert d["v2_better"].tier == "confirmation" and d["v2_better"].outcome == "supported"
    assert d["v2_best"].tier == "screen"  # v2_m1, v2_m2 were not confirmed
    assert res.decide_all({"screen": planted({"v2_m3": 0.0})}, 0.01, 0.1)[0].tier == "not run"


def test_finalists_are_the_baseline_and_each_familys_best_screen_delta():
    from ptlab.residual.tiers import FAMILIES

    deltas = {**ALL_V, "v2_m2": -0.01, "v4_m1c": -0.02, "v3_m1_r": -0.03, "mudd": -0.001}
    table = res.variant_table(planted(deltas))
    chosen = res.finalists(table)
    assert chosen[0] == "baseline" and len(chosen) == 1 + len(FAMILIES)
    assert {"v2_m2", "v4_m1c", "v3_m1_r", "mudd"} <= set(chosen)


def test_the_power_calculation_uses_the_screens_paired_sd():
    from ptlab.residual import ResidualSettings, power
    from ptlab.verdict import detectable_effect

    runs = planted({"v2_m3": 0.0, "mudd": 0.0}, noise=0.02, seeds=2)
    s = ResidualSettings.from_profile("quick")
    p = power(runs, ["baseline", "v2_m3", "mudd"], s)
    assert p["dof"] == 2 and p["variants"] == 2
    assert detectable_effect(p["sd"] / math.sqrt(p["seeds_needed"]), p["seeds_needed"] - 1) <= 0.02
    assert p["seeds_used"] == min(p["seeds_needed"], s.confirm_seeds)


def test_experiment_three_names_the_module_that_gains_and_the_one_that_costs():
    deltas = {"v4_m1": -0.02, "v4_c": 0.0, "v4_d": 0.0, "v4_m1c": -0.02, "v4_m1d": -0.02}
    table = res.experiment3(planted(deltas, slow=1.5))
    zh, en = res.experiment3_answer(table)
    assert "the lower loss comes with accumulation" in en and "time goes mostly to both" in en
    zh, en = res.experiment3_answer(
        res.experiment3(
            planted(
                {"v4_m1": 0.0, "v4_c": 0.0, "v4_d": 0.0, "v4_m1c": 0.0, "v4_m1d": 0.0}, noise=0.01
            )
        )
    )
    assert "no combination" in en and "无法与零区分" in zh


def test_published_relatives_sit_beside_this_runs_numbers_in_their_own_units():
    table = res.variant_table(planted({"denseformer": -0.01, "mudd": -0.02, "v4_m1": 0.0}))
    pub = res.against_published(table)
    assert set(pub["variant"]) == {"denseformer", "mudd", "v4_m1"}
    mudd = pub[pub["variant"] == "mudd"]
    assert mudd["delta_loss"].iloc[0] == pytest.approx(-0.02, abs=0.003)
    assert -0.076 in set(mudd["published"])  # MUDDFormer without re-allocation
    assert pub.loc[pub["variant"] == "v4_m1", "unit"].iloc[0] == "MLM accuracy, points"
    shown = res.show(table)
    assert shown.shape[1] <= 7 and shown.index.name == "变体 · variant"


def test_the_confirmation_rate_is_chosen_on_the_baseline_and_seed_penalties_are_measured():
    from ptlab.residual import tiers

    rows = []
    for lr, base_loss, spread in ((2e-3, 2.10, 0.01), (3e-3, 2.00, 0.02), (5e-3, 2.05, 0.12)):
        for seed in (0, 1):
            rows.append(
                dict(
                    residual="baseline",
                    seed=seed,
                    lr=lr,
                    status="ok",
                    **{"eval/loss": base_loss + 0.005 * seed},
                )
            )
            rows.append(
                dict(
                    residual="v4_m1a",
                    seed=seed,
                    lr=lr,
                    status="ok",
                    **{"eval/loss": base_loss - 0.01 + spread * seed},
                )
            )
    by_lr = pd.DataFrame(rows)
    assert res.choose_lr(by_lr) == 3e-3  # the baseline's best, whatever the variant does
    t = tiers.lr_table(by_lr).set_index(["variant", "lr"])
    assert t.loc[("v4_m1a", 5e-3), "seed_penalty"] == pytest.approx(0.12 - 0.005)
    assert t.loc[("baseline", 2e-3), "seed_penalty"] == pytest.approx(0.0)


def test_the_final_slope_is_the_loss_change_per_100_steps_at_the_end():
    from ptlab.residual import tiers, verdicts

    steps = np.arange(100, 1001, 100)
    curves = pd.DataFrame(
        {"residual": "baseline", "seed": 0, "step": steps, "eval_loss": 3.0 - 0.0005 * steps}
    )
    assert tiers.final_slope(curves) == (pytest.approx(-0.05), 800)
    # evaluated every 150 of 600 steps: the last 20 % hold one point, so the last two are used
    short = pd.DataFrame({"residual": "baseline", "seed": 0, "step": [150, 300, 450, 600]}).assign(
        eval_loss=[3.0, 2.8, 2.7, 2.65]
    )
    assert tiers.final_slope(short) == (pytest.approx(-0.05 / 1.5), 450)
    assert np.isnan(tiers.final_slope(short.iloc[:1])[0])
    zh, en = verdicts.slope_sentence(-0.033, 450, 600, margin=0.01)
    assert "仍在下降" in zh and "still falling" in en
    zh, en = verdicts.slope_sentence(-0.004, 450, 600, margin=0.01)
    assert "基本走平" in zh and "nearly flattened" in en
    zh, en = verdicts.slope_sentence(float("nan"), 600, 600, margin=0.01)
    assert "nan" not in zh + en and "无法估计" in zh


def test_fairness_compares_each_finalist_with_the_baseline_trained_for_its_compute():
    from ptlab.residual import tiers

    confirm = planted({"v3_m3_2": -0.02}, seeds=4)
    longer = planted({}, seeds=4)
    longer = longer[longer["residual"] == "baseline"].assign(
        **{"eval/loss": lambda d: d["eval/loss"] - 0.03}, matched="FLOPs of v3_m3_2", steps=1300
    )
    t = tiers.fairness_table(confirm, longer).set_index("variant")
    assert t.loc["v3_m3_2", "delta_same_steps"] == pytest.approx(-0.02, abs=0.003)
    assert t.loc["v3_m3_2", "delta_loss"] == pytest.approx(0.01, abs=0.003)  # worse than matched
    assert t.loc["v3_m3_2", "steps"] == 1300


def test_residual_settings_come_from_the_profile_and_bad_values_are_one_line():
    from ptlab.models.config import ConfigError
    from ptlab.residual import ResidualSettings

    quick = ResidualSettings.from_profile("quick", confirm_seeds=None)
    assert quick == ResidualSettings.from_profile("quick")
    assert ResidualSettings.from_profile("full").confirm_seeds > quick.confirm_seeds
    with pytest.raises(ConfigError, match="confirm_seeds must be >= 2"):
        ResidualSettings.from_profile("quick", confirm_seeds=1)
    with pytest.raises(ConfigError, match="unknown residual setting 'confirm_seed'"):
        ResidualSettings.from_profile("quick", confirm_seed=3)


def test_the_confirmation_trains_every_named_variant_only_when_asked():
    from ptlab.models import RESIDUALS
    from ptlab.models.config import ConfigError
    from ptlab.residual import CLAIMS, ResidualSettings, confirmation_variants

    chosen = ["baseline", "v2_m2", "mudd"]
    quick = ResidualSettings.from_profile("quick")
    assert not quick.confirm_claims and confirmation_variants(chosen, quick) == chosen
    full = ResidualSettings.from_profile("full")
    got = confirmation_variants(chosen, full)
    named = set().union(*(c.variants for c in CLAIMS))
    assert got[:3] == chosen and set(got) == named | set(chosen)
    assert got[3:] == sorted(got[3:], key=RESIDUALS.index) and len(got) == len(set(got))
    with pytest.raises(ConfigError, match="confirm_claims must be true or false"):
        ResidualSettings.from_profile("quick", confirm_claims="yes")
