"""The switch study's checks a reviewer asks for: lost runs, aliasing, confirmation experiments,
pure error on the design, the spread claim as stated, equivalence, capacity, training length."""

import itertools

import numpy as np
import pandas as pd
import pytest

from ptlab.analysis import confirm as C
from ptlab.analysis import effects as E
from ptlab.analysis import interactions as I
from ptlab.analysis import noise as N
from ptlab.analysis import variance as V
from ptlab.analysis import verdicts as VD
from ptlab.analysis.curves import ranking_over_training
from ptlab.analysis.divergence import COLUMNS, divergence_table, orthogonality_loss
from ptlab.analysis.table import AnalysisInputError, SwitchTable, prepare
from ptlab.models import SWITCHES
from ptlab.sweep import make_design
from ptlab.sweep.designs import fractional_design, full_design


def _frame(rows, y=None, status=None):
    df = pd.DataFrame(rows)[list(SWITCHES)].astype(bool)
    df["eval/loss"] = np.zeros(len(df)) if y is None else y
    df["status"] = "ok" if status is None else status
    return df


# --- lost runs ------------------------------------------------------------------------------


def test_divergence_rates_flag_the_switch_whose_runs_diverge():
    rows = fractional_design(3)
    df = _frame(rows)
    a = df["use_rms_norm"].to_numpy()
    df.loc[~a, "status"] = np.where(np.arange((~a).sum()) % 3 == 0, "diverged", "ok")
    div = divergence_table(df).set_index("switch")
    assert list(divergence_table(df).columns) == list(COLUMNS)
    r = div.loc["use_rms_norm"]
    assert r.n_on == 64 and r.n_off == 64 and r.diverged_on == 0 and r.diverged_off == 22
    assert r.p_adjusted < 1e-4
    # the others lose runs evenly on and off, so none is flagged
    assert (div.drop("use_rms_norm")["p_adjusted"] > 0.05).all()


def test_divergence_without_losses_is_all_ones_and_prepare_keeps_it():
    df = _frame(fractional_design(3), y=np.linspace(2, 3, 128))
    div = divergence_table(df)
    assert (div[["diverged_on", "diverged_off"]] == 0).all().all() and (div["p_value"] == 1).all()
    df.loc[:4, "status"] = "diverged"
    t = prepare(df)
    assert t.n == 123 and t.n_excluded == 5 and t.divergence["diverged_on"].sum() > 0


def test_lost_runs_break_orthogonality():
    X = pd.DataFrame(fractional_design(3)).astype(int)
    assert orthogonality_loss(X) < 1e-12
    assert orthogonality_loss(X.iloc[5:]) > 0.01


# --- aliasing -------------------------------------------------------------------------------


def test_alias_structure_of_the_resolution_v_fraction():
    X = pd.DataFrame(fractional_design(3)).astype(int)
    a = I.alias_structure(X)
    three = a[a["order"] == 3]
    aliased = three[three["aliases"].map(lambda al: any(t.count(":") < 2 for t in al))]
    assert len(three) == 120 and len(aliased) == 30
    # resolution V: no main effect or pair is aliased with another main effect or pair
    low = a[a["order"] <= 2]
    assert not low["aliases"].map(lambda al: any(t.count(":") < 2 for t in al)).any()
    # an alias is symmetric: the triple's pair lists the triple back
    t, pair = next((r.term, r.aliases[0]) for r in aliased.itertuples())
    assert t in a.set_index("term").loc[pair, "aliases"]


def test_full_design_has_no_aliases_and_full_coverage():
    X = pd.DataFrame(full_design()).astype(int)
    assert all(v == "" for v in I.triple_aliases(X).values())
    assert I.query_coverage(X, n_rows=20) == 1.0
    assert I.query_coverage(pd.DataFrame(fractional_design(3)).astype(int), n_rows=20) < 0.5


# --- confirmation experiments ---------------------------------------------------------------


def _confirm_frame(switches, effect3=0.0, effect2=0.0, sd=0.005, seeds=3, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for row in C.factorial_design(switches, "all-on"):
        pm = [2 * int(row[s]) - 1 for s in switches]
        mu = 2.0 + effect2 / 2 * pm[0] * pm[1] + effect3 / 2 * np.prod(pm)
        for _ in range(seeds):
            rows.append({**row, "eval/loss": mu + rng.normal(0, sd), "status": "ok"})
    return pd.DataFrame(rows)


def test_factorial_design_holds_the_others_at_the_reference():
    tri = ["use_rms_norm", "untie_attn_weights", "no_vo_rope"]
    rows = C.factorial_design(tri, "all-off")
    assert len({tuple(sorted(r.items())) for r in rows}) == 8
    assert all(not r[s] for r in rows for s in SWITCHES if s not in tri)
    with pytest.raises(AnalysisInputError, match="distinct switch names"):
        C.factorial_design(["use_rms_norm", "nope"])
    with pytest.raises(AnalysisInputError, match="unknown reference"):
        C.factorial_design(tri, "half")


def test_confirm_recovers_a_planted_three_way_effect_and_rejects_a_null_pair():
    tri = ["untie_attn_weights", "use_rms_norm", "no_vo_rope"]
    df = _confirm_frame(tri, effect3=0.05, seed=1)
    out = C.confirm(df, tri).set_index("term")
    key = ":".join(s for s in SWITCHES if s in tri)
    r = out.loc[key]
    assert r.effect_low < 0.05 < r.effect_high and r.effect_low > 0
    screening = pd.DataFrame(
        {"term": [key], "estimate": [0.02], "ci_low": [0.0], "ci_high": [0.04]}
    )
    cmp = C.compare_screening(C.confirm(df, tri), screening).set_index("term")
    assert cmp.loc[key, "confirmed"]
    pair = ":".join(s for s in SWITCHES if s in tri[:2])
    assert not cmp.loc[pair, "confirmed"]  # no planted pair effect: its CI covers 0
    # the screening sign must agree
    flipped = screening.assign(estimate=-0.02, ci_low=-0.04, ci_high=0.0)
    assert (
        not C.compare_screening(C.confirm(df, tri), flipped).set_index("term").loc[key, "confirmed"]
    )


def test_confirm_needs_every_cell_replicated():
    tri = ["untie_attn_weights", "use_rms_norm"]
    df = _confirm_frame(tri, seeds=1)
    with pytest.raises(AnalysisInputError, match="≥ 2 seeds"):
        C.confirm(df, tri)


def test_matching_ffn_gives_the_off_arm_at_least_the_on_arms_parameters():
    from ptlab.models import param_count
    from ptlab.profiles import profile_configs

    m, _ = profile_configs("quick")
    ref = m.replace(**C.reference_row("all-on"))
    w = C.matching_ffn(ref, "untie_attn_weights")
    on = param_count(ref)
    off = ref.replace(untie_attn_weights=False)
    assert param_count(off.replace(ffn_hidden=w)) >= on > param_count(off.replace(ffn_hidden=w - 2))
    with pytest.raises(AnalysisInputError, match="adds no parameters"):
        C.matching_ffn(m, "no_mask_diagonal")


def test_capacity_table_separates_the_matched_arm():
    rng = np.random.default_rng(0)
    rows = []
    for n_params, mu, flag in [
        (120, 2.0, True),
        (100, 2.1, False),
        (121, 2.05, False),
    ]:
        for _ in range(4):
            rows.append(
                {
                    "untie_attn_weights": flag,
                    "n_params": n_params,
                    "status": "ok",
                    "eval/loss": mu + rng.normal(0, 0.005),
                }
            )
    cap = C.capacity_table(pd.DataFrame(rows), "untie_attn_weights")
    arms = cap.set_index("arm")
    assert arms.loc["off", "effect"] == pytest.approx(-0.1, abs=0.01)
    assert arms.loc["off, matched", "effect"] == pytest.approx(-0.05, abs=0.01)
    zh, en = VD.capacity(cap, "untie_attn_weights")
    assert "remains significant" in en and "仍然显著" in zh and "adds 20 parameters" in en
    assert cap.attrs["capacity"] == pytest.approx(-0.05, abs=0.01)
    assert cap.attrs["capacity_high"] < 0  # the wider FFN itself helps here


# --- pure error on the design ---------------------------------------------------------------


def test_replicate_subset_is_a_tenth_deterministic_and_distinct():
    rows = make_design("fractional")
    a, b = N.replicate_subset(rows, 0.1, seed=0), N.replicate_subset(rows, 0.1, seed=0)
    assert len(a) == 13 and a == b and len({tuple(sorted(r.items())) for r in a}) == 13
    with pytest.raises(ValueError, match="fraction"):
        N.replicate_subset(rows, 0)


def _replicated_table(three_way=0.0, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(fractional_design(3)).astype(int)
    pm = 2 * X - 1
    mu = 2 + 0.05 * pm.iloc[:, 0] + three_way * pm.iloc[:, 0] * pm.iloc[:, 1] * pm.iloc[:, 2]
    reps = X.index[:20].repeat(2)
    Xr = pd.concat([X, X.loc[reps]], ignore_index=True)
    y = pd.concat([mu, mu.loc[reps]], ignore_index=True) + rng.normal(0, 0.01, len(Xr))
    return SwitchTable(Xr, y.rename("eval/loss"), "eval/loss", "planted", 0)


def test_lack_of_fit_detects_a_missing_three_way_term():
    ok = E.lack_of_fit(_replicated_table(), order=2)
    assert ok["df_pe"] == 40 and ok["df_lof"] == 128 - 56 and ok["p_value"] > 0.01
    assert ok["sd_pe"] == pytest.approx(0.01, rel=0.3)
    # this triple is not aliased with any pair in the fraction, so the order-2 model misses it
    bad = E.lack_of_fit(_replicated_table(three_way=0.03), order=2)
    assert bad["p_value"] < 1e-6


def test_heteroscedasticity_finds_unequal_seed_variances():
    rng = np.random.default_rng(1)
    rows = []
    for i, sd in enumerate([0.001, 0.001, 0.02, 0.02]):
        cfg = {s: bool((i >> k) & 1) for k, s in enumerate(SWITCHES)}
        for seed in range(6):
            rows.append(
                {**cfg, "eval/loss": 2 + rng.normal(0, sd), "status": "ok", "run_id": f"{i}-{seed}"}
            )
    h = N.heteroscedasticity(pd.DataFrame(rows))
    assert h["p_value"] < 0.05 and h["sd_ratio"] > 5 and h["n_groups"] == 4


# --- the spread claim and equivalence -------------------------------------------------------


def _spread_table(growth, seed=0):
    """use_rms_norm × every other switch interacting with the sign of that switch's effect, so
    each effect is larger by ``growth`` (on − off) with use_rms_norm on."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(fractional_design(3)).astype(int)
    pm = 2 * X - 1
    others = [s for s in SWITCHES if s != "use_rms_norm"]
    y = 2 + rng.normal(0, 0.01, 128)
    for i, s in enumerate(others):
        beta = 0.02 * (1 if i % 2 else -1)
        y = y + beta * pm[s] + np.sign(beta) * growth / 4 * pm[s] * pm["use_rms_norm"]
    return SwitchTable(X, pd.Series(y).rename("eval/loss"), "eval/loss", "planted", 0)


def test_conditional_spread_measures_the_growth_of_the_other_effects():
    grown = V.conditional_spread(_spread_table(0.02))
    a = grown.attrs
    assert a["growth_low"] < 0.02 < a["growth_high"] and a["growth_low"] > 0
    assert a["mean_abs_on"] > a["mean_abs_off"]
    assert (grown["growth"] > 0).all() and len(grown) == 9
    flat = V.conditional_spread(_spread_table(0.0)).attrs
    assert flat["growth_low"] < 0 < flat["growth_high"]
    # interactions with use_rms_norm leave each half's residual sd alone
    assert flat["resid_low"] < 1 < flat["resid_high"]
    assert grown.attrs["resid_low"] < 1 < grown.attrs["resid_high"]
    zh, en = VD.spread_claim(grown)
    assert "So this run supports" in en and "本次运行支持" in zh
    assert "does not support" in VD.spread_claim(V.conditional_spread(_spread_table(0.0)))[1]


@pytest.mark.parametrize(
    "estimate, se, equivalent",
    [
        (0.0, 0.002, True),
        (0.015, 0.002, True),
        (0.019, 0.002, False),
        (0.0, 0.05, False),
        (0.1, 0.002, False),
    ],
)
def test_tost_equivalence_within_the_margin(estimate, se, equivalent):
    r = V.tost(estimate, se, 40, margin=0.02)
    assert r["equivalent"] is equivalent
    assert r["low90"] < estimate < r["high90"]
    zh, en = VD.mean_equivalence(estimate, r, 0.02)
    assert ("is unchanged" in en) is equivalent and ("可以认为平均损失不变" in zh) is equivalent


# --- training length ------------------------------------------------------------------------


def test_ranking_over_training_is_one_when_the_order_never_changes():
    rows = []
    cfgs = fractional_design(3)[:16]
    for i, cfg in enumerate(cfgs):
        for step in (100, 200, 300):
            loss = 3 - step / 1000 + 0.01 * i + (0.05 * (i % 4 == 0) if step == 100 else 0)
            rows.append({**cfg, "run_id": str(i), "step": step, "eval_loss": loss})
    agree = ranking_over_training(pd.DataFrame(rows)).set_index("step")
    assert agree.loc[300, "config_rho"] == pytest.approx(1)
    assert agree.loc[200, "config_rho"] == pytest.approx(1)
    assert (
        agree.loc[100, "config_rho"] < 1
        and agree.loc[100, "config_low"] < agree.loc[100, "config_rho"]
    )
    zh, en = VD.training_ranking(agree.reset_index())
    assert "step 100" in en and "第 200 步" in zh


# --- verdicts that carry uncertainty --------------------------------------------------------


def _stab(first):
    order = [first, *[s for s in SWITCHES if s != first]]
    return pd.DataFrame(
        {
            "switch": order,
            "rank": range(1, 11),
            "keep_rank": 0.9,
            "rank_lo": range(1, 11),
            "rank_hi": range(1, 11),
        }
    )


def _mains(first, gap, se=0.003):
    """Exact main effects: ``first`` leads the runner-up by ``gap`` (β units)."""
    rest = [s for s in SWITCHES if s != first]
    est = {first: 0.05 + gap, **{s: 0.05 - 0.004 * i for i, s in enumerate(rest)}}
    t = 1.959963984540054
    e = pd.DataFrame({"term": list(est), "order": 1, "estimate": list(est.values())})
    e["ci_low"], e["ci_high"] = e["estimate"] - t * se, e["estimate"] + t * se
    return e


@pytest.mark.parametrize(
    "first, gap, want",
    [
        ("untie_attn_weights", 0.02, "supports the claim"),
        ("untie_attn_weights", 0.003, "suggests but does not establish"),
        ("use_rms_norm", 0.02, "does not support"),
    ],
)
def test_top_switches_tests_the_gap_to_the_runner_up(first, gap, want):
    stab = _stab(first)
    direction = dict.fromkeys(SWITCHES, -1.0)
    zh, en = VD.top_switches(stab, direction, stab, _mains(first, gap))
    assert want in en and "90% bootstrap rank interval 1–1" in en and "自助法 90% 区间" in zh


def _effects(pairs, se=0.002):
    t = 1.959963984540054
    rows = []
    for a, b in itertools.combinations(SWITCHES, 2):
        est = pairs.get(tuple(sorted((a, b))), 0.0)
        rows.append(
            {
                "term": f"{a}:{b}",
                "order": 2,
                "estimate": est,
                "ci_low": est - t * se,
                "ci_high": est + t * se,
                "p_adjusted": 0.001 if abs(est) > 0.005 else 0.9,
            }
        )
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "e1, e2, supports", [(0.02, 0.017, True), (0.02, 0.01, False), (0.02, 0.0, False)]
)
def test_seed_pairs_tests_the_gap_to_the_strongest(e1, e2, supports):
    p1, p2 = (tuple(sorted(p)) for p in VD.SEED_PAIRS)
    eff = _effects({p1: e1, p2: e2})
    pairs = pd.DataFrame(
        {"switch1": [p1[0], p2[0]], "switch2": [p1[1], p2[1]], "interaction_strength": [2.0, 1.0]}
    )
    pairs = pd.concat(
        [
            pairs,
            pd.DataFrame(
                [
                    {"switch1": a, "switch2": b, "interaction_strength": 0.0}
                    for a, b in itertools.combinations(sorted(SWITCHES), 2)
                    if (a, b) not in (p1, p2)
                ]
            ),
        ]
    )
    zh, en = VD.seed_pairs(pairs, eff, aliased={p1})
    assert ("this run supports" in en) is supports and "rank 1 and 2 of 45" in en
    assert "aliased with a triple" in en and "互为别名" in zh


@pytest.mark.parametrize("p, want", [(1e-9, "significantly larger"), (0.3, "not significantly")])
def test_spread_vs_noise_reads_the_f_test(p, want):
    zh, en = VD.spread_vs_noise(3.0, p)
    assert want in en and "2.0 times the seed variance" in en and "2.0 倍" in zh


def test_divergence_verdicts_for_none_and_some_lost():
    df = _frame(fractional_design(3))
    assert "none diverged" in VD.divergence(divergence_table(df), 128, 0.0, 0.0)[1]
    df.loc[df["use_rms_norm"], "status"] = np.where(np.arange(64) % 2 == 0, "diverged", "ok")
    zh, en = VD.divergence(divergence_table(df), 128, 0.3, 0.0)
    assert "32 of 128 runs did not finish" in en and "use_rms_norm" in en and "0.30" in zh
    assert "0.00 over all planned runs" in en


def test_plan_runs_first_seed_replicates_without_repeating_seed_zero():
    from ptlab.sweep import plan_runs

    rows = make_design("anchors")
    base = plan_runs("s", rows, seeds=1, profile="smoke")
    reps = plan_runs("s", rows, seeds=2, first_seed=1, profile="smoke")
    assert sorted({s.seed for s in reps}) == [1, 2] and len(reps) == 8
    assert not {s.run_id for s in base} & {s.run_id for s in reps}
    from ptlab.models import ConfigError

    with pytest.raises(ConfigError, match="first seed"):
        plan_runs("s", rows, first_seed=-1, profile="smoke")
