"""The switch study's checks a reviewer asks for: lost runs, aliasing, confirmation experiments,
pure error on the design, the spread claim as stated, equivalence, capacity, training length."""

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

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


def _confirm_frame(switches, effect3=0.0, effect2=0.0, sd=0.005, seeds=3, seed=0, noisy=None):
    """A replicated 2^k factorial at the all-on reference with a planted top-order effect
    (``effect3``, on − off) and a planted first-pair effect (``effect2``); ``noisy`` (a switch)
    gives the cells with it on an sd of 0.2."""
    rng = np.random.default_rng(seed)
    rows = []
    for row in C.factorial_design(switches, "all-on"):
        pm = [2 * int(row[s]) - 1 for s in switches]
        mu = 2.0 + effect2 / 2 * pm[0] * pm[1] + effect3 / 2 * np.prod(pm)
        cell_sd = 0.2 if noisy and row[noisy] else sd
        for i in range(seeds):
            rows.append(
                {
                    **row,
                    "eval/loss": mu + rng.normal(0, cell_sd),
                    "status": "ok",
                    "run_id": f"{seed}-{len(rows)}-{i}",
                }
            )
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


TRI = ["untie_attn_weights", "use_rms_norm", "no_vo_rope"]
KEY3 = ":".join(s for s in SWITCHES if s in TRI)
PAIR = ":".join(s for s in SWITCHES if s in TRI[:2])


def test_confirm_recovers_a_planted_three_way_effect_and_no_pair():
    out = C.confirm(_confirm_frame(TRI, effect3=0.05, seed=1), TRI).set_index("term")
    r = out.loc[KEY3]
    assert r.effect_low < 0.05 < r.effect_high and r.effect_low > 0
    assert out.loc[PAIR, "effect_low"] < 0 < out.loc[PAIR, "effect_high"]  # nothing planted
    assert out.attrs["n_runs"] == 24 and (out["dof"] > 2).all()


def test_each_factorial_keeps_its_own_error_where_one_pooled_error_would_hide_the_effect():
    quiet = _confirm_frame(TRI, effect3=0.02, sd=0.004, seed=2)
    noisy = _confirm_frame(
        ["use_gated_ffn", "untie_ffn_weights"], sd=0.2, seed=3, noisy="use_gated_ffn"
    )
    own = C.confirm(quiet, TRI).set_index("term").loc[KEY3]
    assert own.effect_low > 0 and own.effect_low < 0.02 < own.effect_high
    # the book's old rule: one pure error pooled over every confirmation cell
    both = pd.concat([quiet, noisy], ignore_index=True)
    pooled = E.pure_error(
        both[list(SWITCHES)].astype(int), both["eval/loss"].reset_index(drop=True)
    )
    half = stats.t.ppf(0.975, pooled.dof) * pooled.sd * np.sqrt(4 / 24)  # 2/8 · √(8/3)
    assert abs(own.effect) < half  # pooled, the planted effect would not be found


def test_per_cell_intervals_keep_their_coverage_in_a_heteroscedastic_factorial():
    """Two of eight cells are 40× noisier: the Satterthwaite interval covers a null effect
    about 95% of the time; the same se with the pooled 16 dof covers clearly less."""
    sat = pooled = 0
    reps = 300
    for r in range(reps):
        df = _confirm_frame(
            ["untie_attn_weights", "use_std_residual", "use_rms_norm"], sd=0.005, seed=100 + r
        )
        hot = df["use_rms_norm"] & df["untie_attn_weights"]
        rng = np.random.default_rng(r)
        df.loc[hot, "eval/loss"] = 2.0 + rng.normal(0, 0.2, hot.sum())
        e = C.confirm(df, ["untie_attn_weights", "use_std_residual", "use_rms_norm"])
        x = e.set_index("term").loc["use_std_residual"]
        sat += x.effect_low <= 0 <= x.effect_high
        pooled += abs(x.effect) <= stats.t.ppf(0.975, 16) * x.se
        assert x.dof < 6  # the two noisy cells carry the error: few effective dof
    assert sat / reps > 0.925 and pooled / reps < 0.915


def test_confirm_needs_every_cell_replicated():
    tri = ["untie_attn_weights", "use_rms_norm"]
    df = _confirm_frame(tri, seeds=1)
    with pytest.raises(AnalysisInputError, match="≥ 2 seeds"):
        C.confirm(df, tri)


def test_holm_runs_over_every_term_of_every_experiment():
    a = C.confirm(_confirm_frame(TRI, effect3=0.02, sd=0.005, seed=4), TRI)
    b = C.confirm(_confirm_frame(TRI, sd=0.005, seed=5), TRI)
    adj = C.adjust_across({"a": a, "b": b})
    flat = np.r_[a["p_value"], b["p_value"]]
    want = __import__("statsmodels.stats.multitest").stats.multitest.multipletests(
        flat, method="holm"
    )[1]
    np.testing.assert_allclose(np.r_[adj["a"]["p_adjusted"], adj["b"]["p_adjusted"]], want)
    assert (adj["a"]["p_adjusted"] >= a["p_value"]).all()


def _compared(effect, low, high, screen, screen_se, p_adj=0.001):
    confirmed = pd.DataFrame(
        [
            {
                "term": KEY3,
                "order": 3,
                "effect": effect,
                "effect_low": low,
                "effect_high": high,
                "se": (high - low) / 3.92,
                "dof": 30.0,
                "p_value": p_adj,
                "p_adjusted": p_adj,
                "detectable": 0.01,
            }
        ]
    )
    screening = pd.DataFrame(
        [
            {
                "term": KEY3,
                "alias": "",
                "screen_effect": screen,
                "screen_low": screen - 1.96 * screen_se,
                "screen_high": screen + 1.96 * screen_se,
                "screen_se": screen_se,
                "screen_dof": 30.0,
            }
        ]
    )
    return C.compare_screening(confirmed, screening, margin=0.02).iloc[0].outcome


@pytest.mark.parametrize(
    "effect, low, high, screen, screen_se, p_adj, want",
    [
        (0.05, 0.04, 0.06, 0.045, 0.005, 0.001, "confirmed"),  # same sign, same size
        (-0.135, -0.145, -0.125, -0.018, 0.005, 0.001, "differs"),  # same sign, 7× the size
        (0.05, 0.04, 0.06, -0.045, 0.005, 0.001, "differs"),  # opposite signs
        (0.05, 0.04, 0.06, 0.045, 0.005, 0.2, "undetermined"),  # not Holm-significant
        (0.001, -0.01, 0.012, 0.0, 0.02, 0.9, "absent"),  # inside ±0.02
        (0.001, -0.03, 0.032, 0.0, 0.02, 0.9, "undetermined"),  # too wide to tell
    ],
)
def test_the_outcome_rule_compares_sign_and_size(effect, low, high, screen, screen_se, p_adj, want):
    assert _compared(effect, low, high, screen, screen_se, p_adj) == want


def test_screening_separates_an_unaliased_triple_and_names_an_aliased_one():
    X = pd.DataFrame(fractional_design(3)).astype(int)
    alias = I.alias_structure(X).set_index("term")["aliases"]
    three = [
        t for t in alias.index if t.count(":") == 2 and not any(a.count(":") < 2 for a in alias[t])
    ]
    free = three[0]
    pm = 2 * X - 1
    rng = np.random.default_rng(0)
    y = (
        2 + 0.025 * pm[free.split(":")].prod(axis=1) + rng.normal(0, 0.005, len(X))
    )  # β: effect 0.05
    t = SwitchTable(X, pd.Series(y).rename("eval/loss"), "eval/loss", "planted", 0)
    noise = E.PureError(0.005, 40)
    aliased = next(t3 for t3 in alias.index if t3.count(":") == 2 and t3 not in three)
    s = C.screening_terms(t, [free, aliased, "use_rms_norm"], noise).set_index("term")
    assert s.loc[free, "screen_low"] < 0.05 < s.loc[free, "screen_high"]
    assert s.loc[aliased, "alias"] and np.isnan(s.loc[aliased, "screen_effect"])
    assert s.loc["use_rms_norm", "screen_low"] < 0 < s.loc["use_rms_norm", "screen_high"]


def test_the_power_plan_gives_the_noisy_cells_the_seeds():
    tri = ["untie_attn_weights", "use_std_residual", "use_rms_norm"]
    cells = C.cell_stats(_confirm_frame(tri, sd=0.01, noisy="use_rms_norm", seed=6), tri)
    plan = C.power_plan(cells, 3, target=0.05, min_seeds=3)
    noisy = plan["use_rms_norm"] == 1
    assert plan.loc[noisy, "needed"].min() > 2 * plan.loc[~noisy, "needed"].max()
    assert plan.attrs["detectable_planned"] <= 0.05 < plan.attrs["detectable_now"]
    capped = C.power_plan(cells, 3, target=0.05, min_seeds=3, max_seeds=5)
    assert capped["planned"].max() == 5 and capped.attrs["detectable_planned"] > 0.05
    extra = C.planned_cells({tuple(tri): capped}, "all-on")
    assert len(extra) == 8 and max(n for _, n in extra) == 5


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
    assert "still stands out from seed noise" in en and "仍超出种子噪声" in zh
    assert "adds 20 parameters" in en
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
    # the F test's dof: groups − 1 and runs in the replicated groups − groups (not all runs)
    assert (h["df_between"], h["df_within"]) == (3, 20) and (h["size_min"], h["size_max"]) == (6, 6)
    unreplicated = {s: True for s in SWITCHES}
    more = pd.DataFrame([{**unreplicated, "eval/loss": 2.0, "status": "ok", "run_id": "x"}])
    assert N.heteroscedasticity(pd.concat([pd.DataFrame(rows), more]))["df_within"] == 20


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
    # every switch's growth is beyond noise but 7 of them are aliased and not followed up
    assert en.endswith("rms_norm on: undetermined.") and zh.endswith("的论断：无法判定。")
    flat_en = VD.spread_claim(V.conditional_spread(_spread_table(0.0)))[1]
    assert flat_en.endswith(": undetermined.")
    # every per-switch interval carries Holm's adjustment and its alias (7 of 9 in this fraction)
    assert (grown["p_adjusted"] >= grown["p_value"]).all()
    assert (grown["alias"] != "").sum() == 7


def _growth_followups(switches, outcome):
    return pd.DataFrame(
        {
            "term": [f"use_rms_norm:{x}" for x in switches],
            "outcome": outcome,
            "effect": 0.02,
            "screen_effect": 0.02,
        }
    )


@pytest.mark.parametrize(
    "confirm, want",
    [
        ("all", "supported"),  # every aliased growth beyond noise confirmed by its follow-up
        ("some", "undetermined"),  # one of them rests on a pair + triple sum
        ("none", "undetermined"),
    ],
)
def test_the_spread_verdict_rests_only_on_de_aliased_growths(confirm, want):
    grown = V.conditional_spread(_spread_table(0.02))
    aliased = grown.loc[grown["alias"] != "", "switch"].tolist()
    fu = {"all": aliased, "some": aliased[1:], "none": []}[confirm]
    assert VD.spread_outcome(grown, _growth_followups(fu, "confirmed")) == want
    full = V.conditional_spread(_full_spread_table(0.02))  # no aliases in the full design
    assert VD.spread_outcome(full) == "supported"
    assert VD.spread_outcome(V.conditional_spread(_spread_table(-0.02))) == "contradicted"


def _full_spread_table(growth, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(full_design()).astype(int)
    pm = 2 * X - 1
    y = 2 + rng.normal(0, 0.01, len(X))
    for i, s in enumerate(s for s in SWITCHES if s != "use_rms_norm"):
        beta = 0.02 * (1 if i % 2 else -1)
        y = y + beta * pm[s] + np.sign(beta) * growth / 4 * pm[s] * pm["use_rms_norm"]
    return SwitchTable(X, pd.Series(y).rename("eval/loss"), "eval/loss", "planted", 0)


def test_a_growth_that_is_a_known_alias_is_undone_by_the_follow_up():
    """Plant only the triple untie_ffn × untie_layers × single_message, which the fraction
    aliases with rms_norm × untie_attn: the screening sees untie_attn's effect grow; the 2 × 2
    follow-up (that triple held fixed at the reference) sees no growth, so the screening growth
    is marked at odds and the claim is not supported."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(fractional_design(3)).astype(int)
    pm = 2 * X - 1

    def truth(pmx):
        triple = pmx["untie_ffn_weights"] * pmx["untie_layerwise_weights"]
        return 2 + 0.02 * pmx["untie_attn_weights"] + 0.02 * triple * pmx["use_single_message_attn"]

    y = truth(pm) + rng.normal(0, 0.005, len(X))
    t = SwitchTable(X, pd.Series(y).rename("eval/loss"), "eval/loss", "planted", 0)
    spread = V.conditional_spread(t, noise=E.PureError(0.005, 40))
    row = spread.set_index("switch").loc["untie_attn_weights"]
    assert "untie_ffn_weights:untie_layerwise_weights:use_single_message_attn" in row.alias
    assert row.p_adjusted < 0.01 and abs(row.growth) > 0.06  # 4 × the triple's β
    cells = V.followup_design(["untie_attn_weights"])
    rows = []
    for c in cells:
        pmc = {k: 2 * int(v) - 1 for k, v in c.items()}
        for _ in range(4):
            rows.append(
                {
                    **c,
                    "eval/loss": truth(pmc) + rng.normal(0, 0.005),
                    "status": "ok",
                    "run_id": f"{len(rows)}",
                }
            )
    fu = V.spread_followups(spread, pd.DataFrame(rows), ["untie_attn_weights"], margin=0.02)
    assert fu.iloc[0].effect_low < 0 < fu.iloc[0].effect_high
    assert fu.iloc[0].outcome == "differs"
    assert VD.spread_outcome(spread, fu) != "supported"


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
        ("untie_attn_weights", 0.02, "supported"),  # leads by 0.04 in effect, se ≈ 0.008
        ("untie_attn_weights", 0.003, "undetermined"),  # leads by 0.006: within noise
        ("use_rms_norm", 0.02, "contradicted"),  # another switch is larger beyond noise
    ],
)
def test_top_switches_tests_the_gap_to_the_runner_up(first, gap, want):
    stab = _stab(first)
    direction = dict.fromkeys(SWITCHES, -1.0)
    zh, en = VD.top_switches(stab, direction, stab, _mains(first, gap))
    assert en.endswith(f"strongest single switch: {want}.") or f"switch: {want}. The" in en
    assert VD.strongest_outcome(_mains(first, gap))["outcome"] == want
    assert "rank 1 in every resample" in en and "名次稳定在第 1 位" in zh
    assert VD.words(want)[0] in zh and "untie_attn_weights" not in en  # short names only
    if want == "undetermined":
        assert "smallest gap this run could detect" in en


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


def _pairs_table(p1, p2):
    pairs = pd.DataFrame(
        {"switch1": [p1[0], p2[0]], "switch2": [p1[1], p2[1]], "interaction_strength": [2.0, 1.0]}
    )
    rest = [
        {"switch1": a, "switch2": b, "interaction_strength": 0.0}
        for a, b in itertools.combinations(sorted(SWITCHES), 2)
        if (a, b) not in (p1, p2)
    ]
    return pd.concat([pairs, pd.DataFrame(rest)])


@pytest.mark.parametrize(
    "e1, e2, followup, want",
    [
        (0.02, 0.017, None, "supported"),  # both strong, within noise of each other
        (0.02, 0.01, None, "contradicted"),  # the second lies behind beyond noise
        (0.02, 0.0, None, "contradicted"),
        (0.02, 0.017, "confirmed", "supported"),  # aliased 1 × 3, confirmed by its follow-up
        (0.02, 0.017, "absent", "contradicted"),  # aliased 1 × 3, its follow-up rules it out
        (0.02, 0.017, "undetermined", "undetermined"),
    ],
)
def test_seed_pairs_tests_the_gap_to_the_strongest(e1, e2, followup, want):
    p1, p2 = (tuple(sorted(p)) for p in VD.SEED_PAIRS)
    eff = _effects({p1: e1, p2: e2})
    aliased = {p1: "untie_ffn_weights:untie_layerwise_weights:use_single_message_attn"}
    fu = {}
    if followup:
        fu = {
            p1: pd.Series(
                {"effect": 0.04, "effect_low": 0.03, "effect_high": 0.05, "outcome": followup}
            )
        }
    zh, en = VD.seed_pairs(
        _pairs_table(p1, p2), eff, aliased if followup else {p1: aliased[p1]}, fu
    )
    assert VD.pairs_outcome(eff, aliased if followup else {}, fu)["outcome"] == want or (
        followup is None and want == VD.pairs_outcome(eff, {}, {})["outcome"]
    )
    assert en.endswith(f"interact most: {want}.") and "rank 1 and 2 of 45" in en
    assert "aliased with the triple untie_ffn × untie_layers × single_message" in en
    assert "互为别名" in zh and VD.words(want)[0] in zh
    if followup:
        assert "de-aliased follow-up gives +0.040" in en


@pytest.mark.parametrize("p, want", [(1e-9, "significantly larger"), (0.3, "not significantly")])
def test_spread_vs_noise_reads_the_f_test(p, want):
    zh, en = VD.spread_vs_noise(3.0, p)
    assert want in en and "3.0 times the pure-error variance" in en and "3.0 倍" in zh


def test_divergence_verdicts_for_none_and_some_lost():
    df = _frame(fractional_design(3))
    assert "none diverged" in VD.divergence(divergence_table(df), 128, 0.0, 0.0)[1]
    df.loc[df["use_rms_norm"], "status"] = np.where(np.arange(64) % 2 == 0, "diverged", "ok")
    zh, en = VD.divergence(divergence_table(df), 128, 0.3, 0.0)
    assert "32 of 128 runs did not finish" in en and "rms_norm" in en and "0.30" in zh
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
