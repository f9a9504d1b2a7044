"""Table-driven tests of the verdict functions of the attribution, circuits and residual
chapters: planted inputs on each side of every threshold, the outcome they give, and the same
outcome in the Chinese and the English sentence (``ptlab.verdict.OUTCOME_WORDS``)."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_circuits import _circ
from test_residual_study import decided

from ptlab import residual as res
from ptlab.attribution import verdicts as av
from ptlab.circuits import verdicts as cv
from ptlab.residual.compare import Comparison, family_outcome
from ptlab.residual.verdicts import Decision
from ptlab.verdict import OUTCOME_WORDS, OUTCOMES

ZH, EN = OUTCOME_WORDS["zh"], OUTCOME_WORDS["en"]
T3 = float(stats.t.ppf(0.975, 2))  # the 95 % t quantile of three seeds


def _points(lo: float, hi: float, n: int = 3) -> np.ndarray:
    """n seed values whose 95 % t interval of the mean is [lo, hi] (n = 1: the midpoint)."""
    mid = (lo + hi) / 2
    if n == 1:
        return np.array([mid])
    spread = np.linspace(-1.0, 1.0, n)
    t = float(stats.t.ppf(0.975, n - 1))
    se_per_unit = spread.std(ddof=1) / math.sqrt(n)
    return mid + spread * (hi - lo) / 2 / (t * se_per_unit)


def test_points_give_the_planted_interval():
    from ptlab.verdict import t_interval

    iv = t_interval(_points(-0.02, 0.01))
    assert (iv.low, iv.high) == pytest.approx((-0.02, 0.01))
    assert T3 == pytest.approx(4.303, abs=1e-3)


# --- attribution: sign_verdict -----------------------------------------------------------------

FRAC, MEAN = "frac_positive:code", "mean:code"
E_F, E_M = 0.002, 1e-4  # just off the null: 0.5 for the fraction, 0 for the mean IG


def _sign_boot(frac: dict, mean: dict, seeds: int = 3) -> pd.DataFrame:
    """A bootstrap table whose seed intervals (``seed_ci``) are the planted ones: one window
    replicate equal to each seed's point, so the windows add no variance."""
    rows = []
    for q, table in ((FRAC, frac), (MEAN, mean)):
        for model, (lo, hi) in table.items():
            for s, p in enumerate(_points(lo, hi, seeds)):
                rows.append(
                    {
                        "model": model,
                        "seed": s,
                        "quantity": q,
                        "replicate": 0,
                        "value": p,
                        "point": p,
                    }
                )
    return pd.DataFrame(rows)


SUP_F, SUP_M = (0.5 + E_F, 0.9), (E_M, 0.01)
UND_F, UND_M = (0.5 - E_F, 0.9), (-E_M, 0.01)
CON_F, CON_M = (0.1, 0.5 - E_F), (-0.01, -E_M)


@pytest.mark.parametrize(
    "frac, mean, most, mean_out",
    [
        pytest.param(
            {"llada": SUP_F, "dream": SUP_F},
            {"llada": SUP_M, "dream": SUP_M},
            "supported",
            "supported",
            id="both-just-above-the-null",
        ),
        pytest.param(
            {"llada": UND_F, "dream": SUP_F},
            {"llada": SUP_M, "dream": UND_M},
            "undetermined",
            "undetermined",
            id="one-model-just-reaches-below-the-null",
        ),
        pytest.param(
            {"llada": SUP_F, "dream": CON_F},
            {"llada": CON_M, "dream": SUP_M},
            "contradicted",
            "contradicted",
            id="one-model-just-below-the-null",
        ),
        pytest.param(
            {"llada": CON_F, "dream": CON_F},
            {"llada": UND_M, "dream": CON_M},
            "contradicted",
            "contradicted",
            id="both-below-or-one-below-one-straddling",
        ),
        pytest.param(
            {"llada": (0.4, 0.6), "dream": (0.45, 0.7)},
            {"llada": SUP_M, "dream": SUP_M},
            "undetermined",
            "supported",
            id="fraction-straddles-one-half",
        ),
        pytest.param(
            {"ar": CON_F, "llada": SUP_F, "dream": SUP_F},
            {"ar": CON_M, "llada": SUP_M, "dream": SUP_M},
            "supported",
            "supported",
            id="the-causal-model-does-not-count",
        ),
        pytest.param(
            {"llada": (0.5, 0.5), "dream": SUP_F},
            {"llada": (0.0, 0.0), "dream": SUP_M},
            "undetermined",
            "undetermined",
            id="a-zero-width-interval-exactly-at-the-null",
        ),
        pytest.param(
            {"ar": SUP_F}, {"ar": SUP_M}, "undetermined", "undetermined", id="no-diffusion-model"
        ),
    ],
)
def test_sign_verdict_states_each_claims_outcome_in_both_languages(frac, mean, most, mean_out):
    boot = _sign_boot(frac, mean)
    r = av.sign_outcomes(None, boot)
    assert (r["most_positive"]["outcome"], r["mean_positive"]["outcome"]) == (most, mean_out)
    zh, en = av.sign_verdict(None, boot)
    assert f"“多数注意力头的 IG 为正”的论断：{ZH[most]}。" in zh
    assert f"“平均归因为正”的论断：{ZH[mean_out]}。" in zh
    assert f"Note 5's claim that most heads have IG > 0 is {EN[most]}." in en
    assert f"the claim that the mean attribution is positive is {EN[mean_out]}." in en
    assert "以下判定基于每类模型 3 个训练种子" in zh and "rest on 3 training seeds" in en
    assert "AR " not in en and "nan" not in en


def test_sign_verdict_with_one_seed_has_no_interval_and_decides_nothing():
    boot = _sign_boot({"llada": SUP_F, "dream": SUP_F}, {"llada": SUP_M, "dream": SUP_M}, 1)
    zh, en = av.sign_verdict(None, boot)
    assert "LLaDA — to —" in en and "LLaDA — 至 —" in zh
    assert en.count(" is undetermined.") == 2 and zh.count(f"：{ZH['undetermined']}。") == 2
    assert "rest on 1 training seeds" in en


# --- attribution: sign_lines -------------------------------------------------------------------


def _sign_tables(seeds: int):
    stats_rows, sign_rows = [], []
    for model in ("ar", "llada"):
        for s in range(seeds):
            for set_ in ("code", "prose"):
                stats_rows.append(
                    {
                        "model": model,
                        "seed": s,
                        "set": set_,
                        "loss_on": 1.0 + 0.01 * s,
                        "loss_off": 3.0,
                        "mean": -0.02,
                        "frac_positive": 0.2 + 0.1 * s,
                    }
                )
            sign_rows.append(
                {
                    "model": model,
                    "seed": s,
                    "heads_ig_positive": 2 + s,
                    "of_which_loo_negative": 1,
                    "delta_loss_without_positive": -0.001 * (s + 1),
                }
            )
    boot = _sign_boot({m: (0.2, 0.4) for m in ("ar", "llada")}, {}, seeds)
    return pd.DataFrame(stats_rows), pd.DataFrame(sign_rows), boot


@pytest.mark.parametrize(
    "seeds, zh_ci, en_ci",
    [
        (3, "种子均值的 95% 置信区间为 20% 至 40%", "(95% CI of the seed mean 20% to 40%)"),
        (1, "种子均值的 95% 置信区间为 — 至 —", "(95% CI of the seed mean — to —)"),
    ],
)
def test_sign_lines_show_the_seed_interval_or_a_dash_without_one(seeds, zh_ci, en_ci):
    zh, en = av.sign_lines(*_sign_tables(seeds))
    assert len(zh.splitlines()) == len(en.splitlines()) == 2
    assert zh.count(zh_ci) == en.count(en_ci) == 2
    assert f"- AR ({seeds} seeds)" in en and f"- LLaDA（{seeds} 个种子）" in zh
    if seeds == 3:
        assert "30% ± 10% of the heads have IG > 0" in en and "IG > 0 的头占 30% ± 10%" in zh
        assert "A seed has 3.0 heads with IG > 0" in en


# --- attribution: harmful_outcome --------------------------------------------------------------


def _sign(models: dict) -> pd.DataFrame:
    """model → (interval of the loss change, IG > 0 heads per seed)."""
    rows = []
    for model, ((lo, hi), heads) in models.items():
        for s, (d, h) in enumerate(zip(_points(lo, hi, len(heads)), heads, strict=True)):
            rows.append(
                {
                    "model": model,
                    "seed": s,
                    "heads_ig_positive": h,
                    "delta_loss_without_positive": d,
                }
            )
    return pd.DataFrame(rows)


E_H = 1e-4
BELOW, STRADDLE, ABOVE = (-0.02, -E_H), (-0.02, E_H), (E_H, 0.02)
SOME = (1, 2, 1)


@pytest.mark.parametrize(
    "models, expected, counted",
    [
        pytest.param(
            {"ar": (BELOW, SOME), "llada": ((-0.03, -0.01), SOME)},
            "supported",
            ["ar", "llada"],
            id="every-interval-just-below-0",
        ),
        pytest.param({"ar": (STRADDLE, SOME)}, "undetermined", ["ar"], id="just-reaching-above-0"),
        pytest.param({"ar": (ABOVE, SOME)}, "contradicted", ["ar"], id="just-above-0"),
        pytest.param(
            {"ar": (BELOW, SOME), "llada": (ABOVE, SOME)},
            "contradicted",
            ["ar", "llada"],
            id="one-model-above-0",
        ),
        pytest.param(
            {"ar": (BELOW, SOME), "llada": (STRADDLE, SOME)},
            "undetermined",
            ["ar", "llada"],
            id="one-model-straddles",
        ),
        pytest.param(
            {"ar": (BELOW, SOME), "llada": (ABOVE, (0, 0, 0))},
            "supported",
            ["ar"],
            id="a-model-without-positive-heads-is-skipped",
        ),
        pytest.param(
            {"ar": (BELOW, SOME), "llada": (ABOVE, (0, 1, 0))},
            "contradicted",
            ["ar", "llada"],
            id="one-seed-with-positive-heads-is-enough-to-count",
        ),
        pytest.param({"ar": (BELOW, (0, 0, 0))}, "undetermined", [], id="no-positive-head-at-all"),
        pytest.param({"ar": (BELOW, (3,))}, "undetermined", ["ar"], id="one-seed-no-interval"),
    ],
)
def test_harmful_outcome_needs_every_interval_below_zero(models, expected, counted):
    r = av.harmful_outcome(_sign(models))
    assert r["outcome"] == expected and list(r["per_model"]) == counted


# --- attribution: strategy_outcome -------------------------------------------------------------


def _verification(models: dict, extra: dict | None = None) -> pd.DataFrame:
    """model → {other strategy: interval of ΔL_other − ΔL_abs_ig}; abs_ig's ΔL varies by seed."""
    rows = []
    for model, others in models.items():
        base = 1.0 + 0.05 * np.arange(3)
        for s in range(3):
            rows.append({"model": model, "seed": s, "strategy": "abs_ig", "delta_loss": base[s]})
        for name, (lo, hi) in {**others, **(extra or {})}.items():
            for s, d in enumerate(_points(lo, hi)):
                rows.append(
                    {"model": model, "seed": s, "strategy": name, "delta_loss": base[s] + d}
                )
    return pd.DataFrame(rows)


E_S = 1e-3
WORSE = {"signed_ig": (E_S, 0.1), "signed_ig_code": (0.05, 0.2), "layer_bands": (0.1, 0.3)}


@pytest.mark.parametrize(
    "models, extra, strategy, expected",
    [
        pytest.param({"ar": WORSE}, None, "abs_ig", "supported", id="every-other-just-worse"),
        pytest.param(
            {"ar": {**WORSE, "signed_ig": (-E_S, 0.1)}},
            None,
            "abs_ig",
            "undetermined",
            id="one-other-reaches-just-below-0",
        ),
        pytest.param(
            {"ar": {**WORSE, "signed_ig": (-0.1, -E_S)}},
            None,
            "abs_ig",
            "contradicted",
            id="one-other-just-better",
        ),
        pytest.param(
            {"ar": WORSE, "dream": {**WORSE, "layer_bands": (-0.1, -E_S)}},
            None,
            "abs_ig",
            "contradicted",
            id="better-in-one-model",
        ),
        pytest.param(
            {"ar": WORSE, "dream": {**WORSE, "layer_bands": (-E_S, 0.1)}},
            None,
            "abs_ig",
            "undetermined",
            id="a-tie-in-one-model",
        ),
        pytest.param(
            {"ar": WORSE},
            {"random_mean": (-0.5, -0.4), "greedy": (-0.5, -0.4)},
            "abs_ig",
            "supported",
            id="strategies-outside-the-note-do-not-count",
        ),
        pytest.param({"ar": WORSE}, None, "layer_bands", "contradicted", id="another-strategy"),
    ],
)
def test_strategy_outcome_needs_every_paired_lead_above_zero(models, extra, strategy, expected):
    assert av.strategy_outcome(_verification(models, extra), strategy)["outcome"] == expected


# --- attribution: noise_verdict ----------------------------------------------------------------


def _noise(rhos: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"model": m, "seed": s, "rho_noise_seeds": r, "same_sign_fraction": 0.9}
            for m, rs in rhos.items()
            for s, r in enumerate(rs)
        ]
    )


STABLE = ("每个种子的 ρ 都不低于 0.9", "every seed's ρ is at least 0.9")


@pytest.mark.parametrize(
    "rhos, seeds, zh_tail, en_tail",
    [
        pytest.param({"llada": (0.95, 0.97), "dream": (0.99, 0.92)}, 2, *STABLE, id="all-above"),
        pytest.param({"llada": (0.9, 0.97, 0.95)}, 3, *STABLE, id="lowest-exactly-0.9"),
        pytest.param(
            {"llada": (0.89, 0.97, 0.95)},
            3,
            "最低的 ρ 为 0.89，排序仍受掩码噪声影响",
            "the lowest ρ is 0.89: the ranking still moves",
            id="one-seed-just-below",
        ),
        pytest.param(
            {"llada": (0.95, 0.97, 0.96), "dream": (0.92, 0.5)},
            2,
            "最低的 ρ 为 0.50",
            "the lowest ρ is 0.50",
            id="lowest-over-models-and-seeds-fewest-seeds",
        ),
        pytest.param(
            {"llada": (0.8999, 0.97, 0.95)},
            3,
            "最低的 ρ 为 0.8",
            "the lowest ρ is 0.8",
            id="just-below-0.9-reads-as-0.90",
        ),
    ],
)
def test_noise_verdict_calls_the_ranking_stable_only_when_every_seed_reaches_0_9(
    rhos, seeds, zh_tail, en_tail
):
    zh, en = av.noise_verdict(_noise(rhos))
    assert zh.startswith(f"{seeds} 个训练种子上") and en.startswith(f"Over {seeds} training seeds")
    assert zh_tail in zh and en_tail in en
    stable_zh, stable_en = STABLE[0] in zh, STABLE[1] in en
    assert stable_zh == stable_en  # both languages tell the same


# --- attribution: exact_verdict ----------------------------------------------------------------


def _exact(models: dict) -> pd.DataFrame:
    """model → ([(permutations, rel_error)], (ig rho, ig rel_error))."""
    rows = []
    for m, (shap, (rho, err)) in models.items():
        for n, e in shap:
            rows.append(
                {"model": m, "estimate": f"shapley_{n}", "rho_vs_exact": 0.9, "rel_error": e}
            )
        rows.append({"model": m, "estimate": "ig", "rho_vs_exact": rho, "rel_error": err})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "models, zh_parts, en_parts",
    [
        pytest.param(
            {"llada": ([(8, 0.40), (24, 0.20), (80, 0.10)], (0.85, 0.30))},
            [
                "LLaDA 上，采样 Shapley 的相对误差从 8 个排列时的 40% 降到 80 个排列时的 10%",
                "秩相关为 0.85、相对差距 30%",
            ],
            [
                "On LLaDA the relative error of sampled Shapley falls from 40% with 8 "
                "permutations to 10% with 80",
                "IG has ρ = 0.85",
                "relative difference of 30%.",
            ],
            id="one-model",
        ),
        pytest.param(
            {
                "ar": ([(8, 0.5), (80, 0.05)], (0.7, 0.6)),
                "dream": ([(8, 0.3), (80, 0.1)], (0.95, 0.1)),
            },
            ["AR 上", "；Dream 上", "从 8 个排列时的 30% 降到 80 个排列时的 10%"],
            ["On AR", "; on Dream", "falls from 30% with 8 permutations to 10% with 80"],
            id="two-models",
        ),
    ],
)
def test_exact_verdict_reports_the_first_and_last_permutation_counts(models, zh_parts, en_parts):
    zh, en = av.exact_verdict(_exact(models))
    assert zh.endswith("。") and en.endswith(".") and en[0].isupper()
    for part in zh_parts:
        assert part in zh
    for part in en_parts:
        assert part in en


def test_exact_verdict_does_not_call_a_rising_error_a_fall():
    zh, en = av.exact_verdict(_exact({"llada": ([(8, 0.10), (80, 0.20)], (0.85, 0.30))}))
    assert "from 10% with 8 permutations to 20% with 80" in en
    assert "falls" not in en and "降到" not in zh


# --- attribution: pattern_lines ------------------------------------------------------------------


def _pattern(role="useful", ig=-0.1, prev=0.1, nxt=0.1, first=0.1, self_=0.1, dist=7.0):
    return {
        "model": "llada",
        "role": role,
        "layer": 1,
        "head_in_layer": 2,
        "ig": ig,
        "to_previous": prev,
        "to_next": nxt,
        "to_first": first,
        "to_self": self_,
        "mean_distance": dist,
    }


ADJ = ("相邻字节头", "an adjacent-byte head")
POS0 = ("看位置 0 的头", "a position-0 head")
SELF = ("看自身的头", "a self-attending head")
DIFFUSE = ("分散的头", "a diffuse head")
KINDS = (ADJ, POS0, SELF, DIFFUSE)


@pytest.mark.parametrize(
    "row, kind",
    [
        pytest.param(dict(prev=0.25, nxt=0.25, first=0.6, self_=0.6), ADJ, id="neighbours-at-0.5"),
        pytest.param(dict(prev=0.25, nxt=0.2499, first=0.5, self_=0.6), POS0, id="first-at-0.5"),
        pytest.param(dict(prev=0.25, nxt=0.2499, first=0.4999, self_=0.5), SELF, id="self-at-0.5"),
        pytest.param(dict(prev=0.25, nxt=0.2499, first=0.4999, self_=0.4999), DIFFUSE, id="none"),
    ],
)
def test_pattern_lines_name_the_kind_by_the_half_attention_thresholds(row, kind):
    zh, en = av.pattern_lines(pd.DataFrame([_pattern(**row)]))
    assert kind[0] in zh and kind[1] in en
    for other in KINDS:
        if other != kind:
            assert other[0] not in zh and other[1] not in en
    assert "- LLaDA, most negative IG: layer 1, head 2 (IG = -0.1000)" in en


@pytest.mark.parametrize(
    "role, ig, warned",
    [
        ("harmful", 0.0, True),
        ("harmful", -0.2, True),
        ("harmful", 1e-4, False),
        ("useful", -0.2, False),
    ],
)
def test_pattern_lines_warn_when_the_largest_ig_is_not_positive(role, ig, warned):
    zh, en = av.pattern_lines(pd.DataFrame([_pattern(role=role, ig=ig)]))
    assert ("LLaDA has no head with IG > 0" in en) is warned
    assert ("LLaDA 没有 IG > 0 的头" in zh) is warned
    assert len(zh.splitlines()) == len(en.splitlines()) == 1 + warned


# --- circuits: solved_lines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "solved, every, some, none",
    [
        pytest.param(
            {"quote": (True, True), "bracket": (True, False), "count": (False, False)},
            ["quote"],
            ["bracket"],
            ["count"],
            id="one-of-each",
        ),
        pytest.param(
            {"quote": (True, True), "bracket": (True,)},
            ["bracket", "quote"],
            [],
            [],
            id="all-solved",
        ),
        pytest.param(
            {"quote": (False, False), "bracket": (False, True, False)},
            [],
            ["bracket"],
            ["quote"],
            id="one-seed-is-some",
        ),
        pytest.param({"quote": (False,)}, [], [], ["quote"], id="none-solved"),
    ],
)
def test_solved_lines_sort_tasks_into_every_some_and_none(solved, every, some, none):
    tasks = pd.DataFrame(
        [
            {"task": t, "solved": s, "model": f"m{i}"}
            for t, ss in solved.items()
            for i, s in enumerate(ss)
        ]
    )

    def en_list(ts):
        return ", ".join(f"`{t}`" for t in ts) if ts else "—"

    def zh_list(ts):
        return "、".join(f"`{t}`" for t in ts) if ts else "—"

    zh, en = cv.solved_lines(tasks)
    assert en == (
        f"Tasks every model solves in every training seed: {en_list(every)}; tasks some "
        f"models or seeds solve: {en_list(some)}; tasks no model solves: {en_list(none)}."
    )
    assert f"都解决的任务：{zh_list(every)}；" in zh
    assert f"部分种子解决的任务：{zh_list(some)}；" in zh
    assert f"没有模型解决的任务：{zh_list(none)}。" in zh


# --- circuits: paper_sizes -----------------------------------------------------------------------


def _sizes(sparse=(10, 20, 30), dense=(100, 300), **noise) -> pd.DataFrame:
    rows = [_circ(model="s", edges=e, prune_seed=i) for i, e in enumerate(sparse)]
    rows += [_circ(model="dense-d64", edges=e, prune_seed=i) for i, e in enumerate(dense)]
    rows += [_circ(model="s", edges=1, **{k: v}) for k, v in noise.items()]
    return pd.DataFrame(rows)


DROPPED = dict(reached=False, control="shuffled", ablation="zero", method="attribution")


@pytest.mark.parametrize(
    "circ, headline, en_part, zh_part",
    [
        pytest.param(
            _sizes(),
            "s",
            "median of 20 edges (10–30); the dense models' median is 200",
            "中位数为 20（10–30），稠密模型的中位数为 200",
            id="sparse-and-dense",
        ),
        pytest.param(
            _sizes(**DROPPED),
            "s",
            "median of 20 edges (10–30)",
            "中位数为 20（10–30）",
            id="unreached-controls-zero-ablation-attribution-are-left-out",
        ),
        pytest.param(
            _sizes(sparse=(5,)),
            "s",
            "median of 5 edges (5–5)",
            "中位数为 5（5–5）",
            id="one-circuit",
        ),
        pytest.param(
            _sizes(),
            "other",
            "No circuits to compare.",
            "没有可比较的电路。",
            id="headline-without-circuits",
        ),
        pytest.param(
            _sizes(), None, "No circuits to compare.", "没有可比较的电路。", id="no-headline"
        ),
        pytest.param(
            _sizes(dense=()),
            "s",
            "median of 20 edges (10–30)",
            "中位数为 20（10–30）",
            id="no-dense-circuit",
        ),
    ],
)
def test_paper_sizes_compare_the_reached_main_circuits(circ, headline, en_part, zh_part):
    zh, en = cv.paper_sizes(circ, headline)
    assert en_part in en and zh_part in zh
    assert "nan" not in en and "nan" not in zh


# --- circuits: intervention_lines ----------------------------------------------------------------


def _inter(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "model": f"s{i}",
                "train_seed": i,
                "layer": 1,
                "location": "attn_v",
                "channel": 7,
                "circuit_flip": 0.95,
                "circuit_error": 0.02,
                "full_flip": 0.4,
                "full_error": 0.01,
            }
            for i in range(n)
        ],
        columns=[
            "model",
            "train_seed",
            "layer",
            "location",
            "channel",
            "circuit_flip",
            "circuit_error",
            "full_flip",
            "full_error",
        ],
    )


@pytest.mark.parametrize("n", [0, 1, 2])
def test_intervention_lines_one_bullet_per_swap_or_a_sentence_without(n):
    zh, en = cv.intervention_lines(_inter(n))
    if n == 0:
        assert en.startswith("No sparse model has a `quote` circuit") and "没有稀疏模型" in zh
        return
    assert len(zh.splitlines()) == len(en.splitlines()) == n
    assert en.count("flips 95% of the circuit's held-out predictions (2% wrong") == n
    assert en.count("and 40% of the full model's (1% wrong without it)") == n
    assert zh.count("电路的预测翻转 95%（不交换时错误 2%）") == n
    assert zh.count("完整模型翻转 40%（不交换时错误 1%）") == n
    assert "- `s0` (seed 0): layer 1 attn_v channel 7" in en


# --- circuits: pruning_lines ---------------------------------------------------------------------

GRID, N_GRID = (1.0, 0.5, 0.125), 2


def _pruned(phases=(1, 2, 2), sat=(0.01, 0.02, 0.03), k=(1.0, 0.5, 0.5), extra=()):
    rows = [
        _circ(
            prune_seed=i,
            phases=p,
            saturated=s,
            k_coef=kc,
            nodes=5,
            mask_nodes=10,
            scale=1.5,
            shift=-0.25,
        )
        for i, (p, s, kc) in enumerate(zip(phases, sat, k, strict=True))
    ]
    rows += [
        _circ(
            prune_seed=9,
            phases=2,
            saturated=0.9,
            k_coef=1.0,
            nodes=1,
            mask_nodes=1,
            scale=1.0,
            shift=0.0,
            **kw,
        )
        for kw in extra
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    "circ, en_parts, zh_parts, en_absent",
    [
        pytest.param(
            _pruned(),
            [
                "at most 3.0% of the mask parameters sit at ±1;",
                "the 3 circuits",
                "(1: 1, 0.5: 2, 0.125: 0)",
                "0 needed a resume",
                "0 prunings missed",
                "median 50% of the learned mask's nodes",
                "median scale is 1.50",
                "median shift -0.25",
            ],
            [
                "最大为 3.0%；",
                "（1：1、0.5：2、0.125：0）",
                "0 个需要以更小的 k_coef 续训",
                "0 次剪枝没有达到目标",
            ],
            ["after resumes"],
            id="phases-at-the-grid-length-are-not-resumes",
        ),
        pytest.param(
            _pruned(phases=(1, 2, 3), sat=(0.01, 0.02, 0.30), k=(1.0, 0.5, 0.125)),
            [
                "at most 2.0% of the mask parameters sit at ±1 (30.0% at most after resumes)",
                "(1: 1, 0.5: 1, 0.125: 1)",
                "1 needed a resume",
            ],
            ["最大为 2.0%（续训后最多 30.0%）", "1 个需要以更小的 k_coef 续训"],
            [],
            id="one-phase-past-the-grid-is-a-resume",
        ),
        pytest.param(
            _pruned(
                extra=[
                    dict(reached=False),
                    dict(reached=False, control="shuffled"),
                    dict(reached=False, ablation="zero"),
                ]
            ),
            ["the 3 circuits", "1 prunings missed the target", "at most 3.0%"],
            ["1 次剪枝没有达到目标"],
            [],
            id="only-main-prunings-count-as-missed",
        ),
        pytest.param(
            _pruned().assign(reached=False),
            ["No circuit reached its target."],
            ["没有达到目标的电路。"],
            [],
            id="nothing-reached",
        ),
    ],
)
def test_pruning_lines_split_the_grid_from_the_resumes(circ, en_parts, zh_parts, en_absent):
    zh, en = cv.pruning_lines(circ, GRID, N_GRID)
    for part in en_parts:
        assert part in en
    for part in zh_parts:
        assert part in zh
    for part in en_absent:
        assert part not in en
    assert ("after resumes" in en) == ("续训后最多" in zh)


# --- residual: headline and claim_lines ----------------------------------------------------------

SPECS = {s.key: s for s in res.CLAIMS}


def _comparison(low: float, high: float) -> Comparison:
    mid = (low + high) / 2
    return Comparison("a", "b", 4, mid, 0.01, low, high, 0.04, 0.04, 0.02, 1)


def _decision(key: str, low: float | None, high: float | None = None, margin: float = 0.01):
    spec = SPECS[key]
    if low is None:
        return Decision(spec, "not run", "undetermined", [], 0.0)
    comps = [_comparison(low, high)]
    m = margin if spec.sign == 0 else 0.0
    return Decision(spec, "screen", family_outcome(comps, spec.sign, m), comps, m)


@pytest.mark.parametrize(
    "outcomes",
    [
        pytest.param((), id="none"),
        pytest.param(("supported",) * 3, id="all-supported"),
        pytest.param(("contradicted", "undetermined", "undetermined"), id="no-support"),
        pytest.param(("supported", "contradicted", "undetermined", "supported"), id="mixed"),
    ],
)
def test_headline_counts_the_three_outcomes(outcomes):
    spec = SPECS["v2_better"]
    decisions = [Decision(spec, "screen", o, [], 0.0) for o in outcomes]
    n = {o: outcomes.count(o) for o in OUTCOMES}
    zh, en = res.headline(decisions)
    assert zh == (
        f"笔记三的 {len(outcomes)} 条结论中，{n['supported']} 条得到支持，"
        f"{n['contradicted']} 条被否定，{n['undetermined']} 条在本次规模下无法判定。"
    )
    assert en == (
        f"Of Note 3's {len(outcomes)} claims, {n['supported']} are supported, "
        f"{n['contradicted']} contradicted and {n['undetermined']} undetermined at this run's size."
    )


def test_headline_of_decided_claims_adds_up_to_every_claim():
    decisions = list(decided({"v2_m3": -0.02, "v1_m3": -0.02}).values())
    counts = [sum(d.outcome == o for d in decisions) for o in OUTCOMES]
    zh, en = res.headline(decisions)
    nums = [int(x) for x in re.findall(r"\d+", en.replace("Note 3", ""))]
    assert nums == [len(decisions), *counts] and sum(counts) == len(decisions) == len(res.CLAIMS)
    assert [int(x) for x in re.findall(r"\d+", zh.replace("笔记三", ""))] == nums


@pytest.mark.parametrize(
    "key, low, high, expected, zh_extra, en_extra",
    [
        pytest.param("v2_better", -0.03, -0.001, "supported", "", "", id="below-0"),
        pytest.param("v2_better", 0.001, 0.03, "contradicted", "", "", id="above-0"),
        pytest.param(
            "v2_better",
            -0.03,
            0.001,
            "undetermined",
            "可检测的最小效应",
            "smallest detectable effect",
            id="straddling-0",
        ),
        pytest.param(
            "v1_division",
            -0.009,
            0.009,
            "supported",
            "可忽略的界限 ±0.01",
            "negligible within ±0.01",
            id="inside-the-margin",
        ),
        pytest.param(
            "v1_division",
            0.01,
            0.03,
            "contradicted",
            "可忽略的界限",
            "negligible within",
            id="at-or-beyond-the-margin",
        ),
        pytest.param(
            "v1_division",
            0.005,
            0.011,
            "undetermined",
            "可检测的最小效应",
            "smallest detectable effect",
            id="across-the-margin",
        ),
        pytest.param(
            "v4_slower",
            0.001,
            0.2,
            "supported",
            "扣除 10% 门槛",
            "log time ratio beyond the margin",
            id="slower-beyond-the-margin",
        ),
        pytest.param(
            "v2_best",
            None,
            None,
            "undetermined",
            "本次运行没有训练",
            "this run did not train the variants",
            id="not-run",
        ),
    ],
)
def test_claim_lines_give_the_same_word_in_both_languages(
    key, low, high, expected, zh_extra, en_extra
):
    d = _decision(key, low, high)
    assert d.outcome == expected
    zh, en = res.claim_lines([d])
    assert zh.startswith(f"- {SPECS[key].claim_zh}：**{ZH[expected]}**。")
    assert en.startswith(f"- {SPECS[key].claim_en}: **{EN[expected]}**. ")
    assert f"**{ZH[expected]}**" in zh and f"**{EN[expected]}**" in en
    for other in OUTCOMES:
        if other != expected:
            assert f"**{ZH[other]}**" not in zh and f"**{EN[other]}**" not in en
    assert zh_extra in zh and en_extra in en
    assert ("可检测的最小效应" in zh) == ("smallest detectable effect" in en)


def test_claim_lines_keep_one_line_per_claim_in_order():
    ds = [
        _decision("v2_better", -0.03, -0.01),
        _decision("v1_division", 0.02, 0.03),
        _decision("v2_best", None),
    ]
    zh, en = res.claim_lines(ds)
    words = [re.search(r"\*\*(.+?)\*\*", line).group(1) for line in en.splitlines()]
    words_zh = [re.search(r"\*\*(.+?)\*\*", line).group(1) for line in zh.splitlines()]
    assert words == ["supported", "contradicted", "undetermined"]
    assert words_zh == [ZH[w] for w in words]
