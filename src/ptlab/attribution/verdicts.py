"""The attribution chapter's generated sentences, each returned as (zh, en) from the study's
tables (``ptlab.attribution.study``), so no number or conclusion in its prose is typed by hand;
the ``*_outcome`` functions give the verdict word a claim of Note 5 gets
(``ptlab.verdict.OUTCOMES``). Shown in: chapter *attribution*.

Every statement over seeds says how many seeds it rests on, and its interval counts the seeds
(``study.seed_ci``: a t interval on the seed means, widened by the windows' sampling variance).
Losses are in nats/byte (奈特/字节 in the Chinese sentences); the Chinese states each result
once, across models, as a Chinese paper would.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ptlab.attribution.study import across_seeds, seed_ci
from ptlab.verdict import OUTCOME_WORDS, outcome, t_interval

NOTE_STRATEGIES = ("abs_ig", "signed_ig", "signed_ig_code", "layer_bands")
DIFFUSION = ("llada", "dream")
NAMES = {"ar": "AR", "llada": "LLaDA", "dream": "Dream"}
ADJACENT = 0.5  # an "adjacent-byte head" puts at least half its attention on the two neighbours


def _name(member: str) -> str:
    return NAMES.get(member, member)


def words(result: str) -> tuple[str, str]:
    return OUTCOME_WORDS["zh"][result], OUTCOME_WORDS["en"][result]


def _code(stats: pd.DataFrame) -> pd.DataFrame:
    return stats[stats["set"] == "code"]


def _pct(x: float) -> str:
    return f"{x:.0%}" if np.isfinite(x) else "—"


def sign_lines(stats: pd.DataFrame, sign: pd.DataFrame, boot: pd.DataFrame) -> tuple[str, str]:
    """One bullet per model (means ± sd over seeds): L(1), L(0), the mean IG they imply, the
    fraction of IG > 0 heads with the interval of its seed mean, and the removal test."""
    code = across_seeds(_code(stats), ["model"]).set_index("model")
    sg = across_seeds(sign, ["model"]).set_index("model")
    cis = seed_ci(boot, "frac_positive:code", bounds=(0, 1)).set_index("model")
    zh, en = [], []
    for o in code.index:
        c, s, i = code.loc[o], sg.loc[o], cis.loc[o]
        n = int(c["seeds"])
        zh.append(
            f"- {_name(o)}（{n} 个种子）：L(1) = {c['loss_on']:.3f} ± {c['loss_on_sd']:.3f}，"
            f"L(0) = {c['loss_off']:.3f} ± {c['loss_off_sd']:.3f}，平均 IG 为 "
            f"{c['mean']:+.4f} ± {c['mean_sd']:.4f}；IG > 0 的头占 {c['frac_positive']:.0%} ± "
            f"{c['frac_positive_sd']:.0%}，种子均值的 95% 置信区间为 {_pct(i['ci_low'])} 至 "
            f"{_pct(i['ci_high'])}。平均每个种子有 {s['heads_ig_positive']:.1f} 个 IG > 0 的头，"
            f"其中 {s['of_which_loo_negative']:.1f} 个单独移除后损失下降；同时移除全部 IG > 0 的头，"
            f"留出集损失变化 {s['delta_loss_without_positive']:+.4f} ± "
            f"{s['delta_loss_without_positive_sd']:.4f} 奈特/字节。"
        )
        en.append(
            f"- {_name(o)} ({n} seeds): L(1) = {c['loss_on']:.3f} ± {c['loss_on_sd']:.3f}, "
            f"L(0) = {c['loss_off']:.3f} ± {c['loss_off_sd']:.3f}, mean IG "
            f"{c['mean']:+.4f} ± {c['mean_sd']:.4f}; {c['frac_positive']:.0%} ± "
            f"{c['frac_positive_sd']:.0%} of the heads have IG > 0 (95% CI of the seed mean "
            f"{_pct(i['ci_low'])} to {_pct(i['ci_high'])}). A seed has "
            f"{s['heads_ig_positive']:.1f} heads with IG > 0 on average, "
            f"{s['of_which_loo_negative']:.1f} of which lower the loss when removed alone; "
            "removing all of them at once changes the held-out loss by "
            f"{s['delta_loss_without_positive']:+.4f} ± {s['delta_loss_without_positive_sd']:.4f}"
            " nats/byte."
        )
    return "\n".join(zh), "\n".join(en)


def sign_outcomes(stats: pd.DataFrame, boot: pd.DataFrame) -> dict:
    """Note 5's two sign claims for the masked-diffusion models, each on the interval of its
    seed mean (``seed_ci``): "most heads have IG > 0" (the fraction minus one half) and "the
    mean IG is positive". Per claim: outcome (supported when every diffusion model's interval
    lies on the claimed side, contradicted when any lies on the other, else undetermined),
    the per-model intervals, and the seeds."""
    frac = seed_ci(boot, "frac_positive:code", bounds=(0, 1)).set_index("model")
    mean = seed_ci(boot, "mean:code").set_index("model")
    out = {}
    for claim, table, null in (("most_positive", frac, 0.5), ("mean_positive", mean, 0.0)):
        per = {
            o: outcome(table.loc[o, "ci_low"] - null, table.loc[o, "ci_high"] - null, +1)
            for o in DIFFUSION
            if o in table.index
        }
        vals = list(per.values())
        if vals and all(v == "supported" for v in vals):
            result = "supported"
        elif "contradicted" in vals:
            result = "contradicted"
        else:
            result = "undetermined"
        out[claim] = {"outcome": result, "per_model": per, "table": table}
    out["seeds"] = int(frac["seeds"].min()) if len(frac) else 0
    return out


def sign_verdict(stats: pd.DataFrame, boot: pd.DataFrame) -> tuple[str, str]:
    """Note 5's sign claims (``sign_outcomes``), stated once across the diffusion models."""
    r = sign_outcomes(stats, boot)
    frac, mean = r["most_positive"]["table"], r["mean_positive"]["table"]
    models = [o for o in DIFFUSION if o in frac.index]
    f_zh = "，".join(
        f"{_name(o)} {_pct(frac.loc[o, 'ci_low'])} 至 {_pct(frac.loc[o, 'ci_high'])}"
        for o in models
    )
    f_en = ", ".join(
        f"{_name(o)} {_pct(frac.loc[o, 'ci_low'])} to {_pct(frac.loc[o, 'ci_high'])}"
        for o in models
    )
    m_zh = "，".join(
        f"{_name(o)} {mean.loc[o, 'ci_low']:+.4f} 至 {mean.loc[o, 'ci_high']:+.4f}" for o in models
    )
    m_en = ", ".join(
        f"{_name(o)} {mean.loc[o, 'ci_low']:+.4f} to {mean.loc[o, 'ci_high']:+.4f}" for o in models
    )
    z1, e1 = words(r["most_positive"]["outcome"])
    z2, e2 = words(r["mean_positive"]["outcome"])
    n = r["seeds"]
    return (
        f"以下判定基于每类模型 {n} 个训练种子。两个掩码扩散模型中 IG > 0 的头所占比例，"
        f"其种子均值的 95% 置信区间为：{f_zh}；笔记五“多数注意力头的 IG 为正”的论断：{z1}。"
        f"平均 IG 的 95% 置信区间为：{m_zh}；“平均归因为正”的论断：{z2}。",
        f"These verdicts rest on {n} training seeds per family. In the two masked-diffusion "
        f"models the 95% interval of the seed-mean fraction of heads with IG > 0 is {f_en}: "
        f"Note 5's claim that most heads have IG > 0 is {e1}. The interval of the mean IG is "
        f"{m_en}: the claim that the mean attribution is positive is {e2}.",
    )


def harmful_outcome(sign: pd.DataFrame) -> dict:
    """Note 5's reading of IG > 0 as "harmful": removing every IG > 0 head at once should lower
    the held-out loss. Per model the t interval over seeds of that change (held-out windows are
    fixed; a seed without IG > 0 heads counts 0); supported when every model with such heads
    has an interval below 0, contradicted when any lies above, else undetermined."""
    per = {}
    for o, g in sign.groupby("model", sort=False):
        if (g["heads_ig_positive"] == 0).all():
            continue
        per[o] = t_interval(g["delta_loss_without_positive"].to_numpy())
    results = [iv.outcome(-1) for iv in per.values()]
    if results and all(x == "supported" for x in results):
        result = "supported"
    elif "contradicted" in results:
        result = "contradicted"
    else:
        result = "undetermined"
    return {"outcome": result, "per_model": per}


def best_note_strategy(verification: pd.DataFrame) -> tuple[str, str]:
    """Per model, the note's strategy with the smallest mean loss increase at the verified k,
    and whether it wins: its paired advantage over every other note strategy (ΔL_other −
    ΔL_best, same seed) has a t interval over seeds above 0. Otherwise the strategies it does
    not clearly beat are named."""
    note = verification[verification["strategy"].isin(NOTE_STRATEGIES)]
    zh, en = [], []
    for o, g in note.groupby("model", sort=False):
        wide = g.pivot(index="seed", columns="strategy", values="delta_loss")
        best = wide.mean().idxmin()
        ties = []
        for other in wide.columns.drop(best):
            iv = t_interval((wide[other] - wide[best]).to_numpy())
            if not iv.low > 0:
                ties.append(other)
        dl, sd = wide[best].mean(), wide[best].std(ddof=1) if len(wide) > 1 else np.nan
        n = len(wide)
        if ties:
            zh.append(
                f"{_name(o)} 上平均最好的是 {best}（ΔL = {dl:+.4f} ± {sd:.4f}），但它相对 "
                f"{'、'.join(ties)} 的配对优势在 {n} 个种子上的 95% 置信区间含 0，不算胜出"
            )
            en.append(
                f"on {_name(o)} the best on average is {best} (ΔL = {dl:+.4f} ± {sd:.4f}), but "
                f"the 95% interval of its paired lead over {', '.join(ties)} across {n} seeds "
                "includes 0, so it does not win"
            )
        else:
            zh.append(
                f"{_name(o)} 上 {best} 胜出（ΔL = {dl:+.4f} ± {sd:.4f}，相对其他每种策略的配对优势在 "
                f"{n} 个种子上的 95% 置信区间都大于 0）"
            )
            en.append(
                f"on {_name(o)} {best} wins (ΔL = {dl:+.4f} ± {sd:.4f}; its paired lead over "
                f"every other strategy has a 95% interval above 0 across {n} seeds)"
            )
    return "；".join(zh), "; ".join(en)


def strategy_outcome(verification: pd.DataFrame, strategy: str = "abs_ig") -> dict:
    """Note 5's recommendation of ``strategy`` (|IG| ascending) among its strategies: per model,
    the paired t interval over seeds of ΔL_other − ΔL_strategy for every other note strategy.
    Supported when every interval lies above 0 in every model, contradicted when one lies
    below 0 (another strategy is better beyond noise), else undetermined; with the counts of
    intervals (``n``) above 0 (``better``) and below 0 (``worse``)."""
    note = verification[verification["strategy"].isin(NOTE_STRATEGIES)]
    results = []
    for _, g in note.groupby("model", sort=False):
        wide = g.pivot(index="seed", columns="strategy", values="delta_loss")
        for other in wide.columns.drop(strategy):
            results.append(t_interval((wide[other] - wide[strategy]).to_numpy()).outcome(+1))
    counts = {
        "n": len(results),
        "better": results.count("supported"),
        "worse": results.count("contradicted"),
    }
    if results and all(x == "supported" for x in results):
        return {"outcome": "supported", **counts}
    if "contradicted" in results:
        return {"outcome": "contradicted", **counts}
    return {"outcome": "undetermined", **counts}


def strategy2_readings(scores: dict) -> tuple[str, str]:
    """Whether the two readings of Note 5's strategy 2 (its prose: signed IG descending; its
    code: the smallest positive IG first, the negatives last) give the same pruning order in
    each model and seed. They coincide exactly when at most one head has IG > 0: both then
    prune the negatives from the smallest |IG| up."""
    from ptlab.attribution.pruning import strategy_orders

    same, total, by_model = 0, 0, {}
    for (o, _seed), s in scores.items():
        ig = s["ig_code"].to_numpy()
        orders = strategy_orders(ig, s["michel_abs"].to_numpy(), s["loo"].to_numpy())
        eq = bool(np.array_equal(orders["signed_ig"], orders["signed_ig_code"]))
        same += eq
        total += 1
        by_model.setdefault(o, []).append(eq)
    if same == total:
        return (
            f"在全部 {total} 个模型与种子中，策略 2 的两种读法给出完全相同的剪枝顺序：每个模型至多有一个 "
            "IG > 0 的头，两种读法都从 |IG| 最小的负值开始剪，因此两条曲线重合。",
            f"In all {total} models and seeds the two readings of strategy 2 give the same "
            "pruning order: each model has at most one head with IG > 0, so both prune the "
            "negative heads from the smallest |IG| up, and their curves coincide.",
        )
    diff = [_name(o) for o, v in by_model.items() if not all(v)]
    return (
        f"{total} 个模型与种子中有 {same} 个的两种读法顺序相同；{'、'.join(diff)} 中至少有一个种子的 "
        "IG > 0 的头不止一个，两种读法在这些头上的顺序相反。",
        f"In {same} of {total} models and seeds the two readings give the same order; in "
        f"{', '.join(diff)} some seed has more than one head with IG > 0, whose order the two "
        "readings reverse.",
    )


def noise_verdict(noise: pd.DataFrame) -> tuple[str, str]:
    """How stable the IG ranking is under a second masking-noise seed (masked diffusion)."""
    s = across_seeds(noise, ["model"])
    zh = "，".join(
        f"{_name(r.model)} 的 ρ = {r.rho_noise_seeds:.2f} ± {r.rho_noise_seeds_sd:.2f}、"
        f"符号一致 {r.same_sign_fraction:.0%}"
        for r in s.itertuples()
    )
    en = "; ".join(
        f"{_name(r.model)}: ρ = {r.rho_noise_seeds:.2f} ± {r.rho_noise_seeds_sd:.2f}, "
        f"{r.same_sign_fraction:.0%} same sign"
        for r in s.itertuples()
    )
    lo = float(noise["rho_noise_seeds"].min())
    n = int(s["seeds"].min())
    if lo >= 0.9:
        tail = (
            "每个种子的 ρ 都不低于 0.9，排序在噪声抽样下是稳定的。",
            "every seed's ρ is at least 0.9: the ranking is stable under the noise draw.",
        )
    else:
        shown = f"{math.floor(lo * 100) / 100:.2f}"  # rounded down: 0.897 is not shown as 0.90
        tail = (
            f"最低的 ρ 为 {shown}，排序仍受掩码噪声影响。",
            f"the lowest ρ is {shown}: the ranking still moves with the masking noise.",
        )
    return (
        f"{n} 个训练种子上，{zh}；{tail[0]}",
        f"Over {n} training seeds, {en}; {tail[1]}",
    )


def exact_verdict(exact: pd.DataFrame) -> tuple[str, str]:
    """Sampled Shapley and IG against the exact Shapley values (first seed), per model."""
    zh, en = [], []
    for o, g in exact.groupby("model", sort=False):
        g = g.set_index("estimate")
        shap = [e for e in g.index if e.startswith("shapley_")]
        first, last = shap[0], shap[-1]
        n0, n1 = first.split("_")[1], last.split("_")[1]
        e0, e1 = g.loc[first, "rel_error"], g.loc[last, "rel_error"]
        way_zh, way_en = ("降到", "falls") if e1 < e0 else ("变为", "goes")
        zh.append(
            f"{_name(o)} 上，采样 Shapley 的相对误差从 {n0} 个排列时的 {g.loc[first, 'rel_error']:.0%} "
            f"{way_zh} {n1} 个排列时的 {g.loc[last, 'rel_error']:.0%}，IG 与精确 Shapley 的秩相关为 "
            f"{g.loc['ig', 'rho_vs_exact']:.2f}、相对差距 {g.loc['ig', 'rel_error']:.0%}"
        )
        en.append(
            f"on {_name(o)} the relative error of sampled Shapley {way_en} from "
            f"{g.loc[first, 'rel_error']:.0%} with {n0} permutations to "
            f"{g.loc[last, 'rel_error']:.0%} with {n1}, and IG has ρ = "
            f"{g.loc['ig', 'rho_vs_exact']:.2f} with the exact values and a relative "
            f"difference of {g.loc['ig', 'rel_error']:.0%}"
        )
    text = "; ".join(en) + "."
    return "；".join(zh) + "。", text[0].upper() + text[1:]


def _kind(r) -> tuple[str, str]:
    """What a head mostly attends to, from its measured pattern (``patterns.pattern_summary``)."""
    adj = r.to_previous + r.to_next
    if adj >= ADJACENT:
        return (
            f"相邻字节头（{r.to_previous:.0%} 落在前一位置、{r.to_next:.0%} 落在后一位置）",
            f"an adjacent-byte head ({r.to_previous:.0%} of its attention on the previous "
            f"position, {r.to_next:.0%} on the next)",
        )
    if r.to_first >= ADJACENT:
        return (
            f"看位置 0 的头（{r.to_first:.0%} 的注意力落在位置 0）",
            f"a position-0 head ({r.to_first:.0%} of its attention on position 0)",
        )
    if r.to_self >= ADJACENT:
        return (
            f"看自身的头（{r.to_self:.0%} 的注意力落在自身）",
            f"a self-attending head ({r.to_self:.0%} of its attention on itself)",
        )
    return (
        f"分散的头（相邻两个位置共 {adj:.0%}，平均距离 {r.mean_distance:.0f} 字节）",
        f"a diffuse head ({adj:.0%} on the two neighbours, mean distance "
        f"{r.mean_distance:.0f} bytes)",
    )


def pattern_lines(patterns: pd.DataFrame) -> tuple[str, str]:
    """One bullet per (model, role): the head, its IG and what it attends to."""
    zh_role = {"harmful": "IG 最大的头", "useful": "IG 最负的头"}
    en_role = {"harmful": "largest IG", "useful": "most negative IG"}
    zh, en = [], []
    for r in patterns.itertuples():
        if r.role == "harmful" and r.ig <= 0:
            zh.append(f"- {_name(r.model)} 没有 IG > 0 的头；下面是 IG 最大（最接近 0）的头。")
            en.append(
                f"- {_name(r.model)} has no head with IG > 0; below is the one with the largest IG."
            )
        kz, ke = _kind(r)
        zh.append(
            f"- {_name(r.model)} {zh_role[r.role]}：第 {r.layer} 层第 {r.head_in_layer} 个头，"
            f"IG = {r.ig:+.4f}，是{kz}；平均距离 {r.mean_distance:.1f} 字节。"
        )
        en.append(
            f"- {_name(r.model)}, {en_role[r.role]}: layer {r.layer}, head {r.head_in_layer} "
            f"(IG = {r.ig:+.4f}), {ke}; mean distance {r.mean_distance:.1f} bytes."
        )
    return "\n".join(zh), "\n".join(en)


def pattern_verdict(patterns: pd.DataFrame) -> tuple[str, str]:
    """What the most useful head of each model is, from its measured pattern: the sentence
    names the models whose most useful head is an adjacent-byte head (≥ ``ADJACENT`` of its
    attention on the two neighbours) and describes the others, so it never generalises past
    the data."""
    useful = patterns[patterns["role"] == "useful"]
    adj = [r for r in useful.itertuples() if r.to_previous + r.to_next >= ADJACENT]
    other = [r for r in useful.itertuples() if r.to_previous + r.to_next < ADJACENT]
    n = len(useful)
    if not other:
        return (
            f"全部 {n} 个模型中，最“有用”的头都是相邻字节头（至少一半的注意力落在前后两个位置）。",
            f"In all {n} models the most useful head is an adjacent-byte head (at least half of "
            "its attention on the two neighbouring positions).",
        )
    if not adj:
        zh_a, en_a = "没有哪个模型", "In no model is"
    else:
        zh_a = "、".join(_name(r.model) for r in adj) + " 中"
        en_a = "In " + " and ".join(_name(r.model) for r in adj) + ","
    zh_o = "；".join(f"{_name(r.model)} 的则是{_kind(r)[0]}" for r in other)
    en_o = "; ".join(f"in {_name(r.model)} it is {_kind(r)[1]}" for r in other)
    if adj:
        return (
            f"{zh_a}最“有用”的头是相邻字节头（至少一半的注意力落在前后两个位置）；{zh_o}。"
            "因此“最有用的头是相邻字节头”并非对所有模型都成立。",
            f"{en_a} the most useful head is an adjacent-byte head (at least half of its "
            f"attention on the two neighbouring positions); {en_o}. So “the most useful heads "
            "are adjacent-byte heads” does not hold for every model.",
        )
    return (
        f"{zh_a}的最“有用”的头是相邻字节头：{zh_o}。",
        f"{en_a} the most useful head an adjacent-byte head: {en_o}.",
    )


STAGES_ZH = {
    "train": "训练",
    "windows": "取窗口与噪声",
    "ig": "IG（代码、文档）",
    "scores": "Michel、LOO、采样 Shapley",
    "bootstrap": "自助法",
    "ig_second_noise": "第二个噪声种子的 IG",
    "ig_baselines": "其他基线的 IG",
    "pruning_orders": "剪枝顺序（迭代 Michel、贪心）",
    "pruning_curves": "剪枝曲线",
    "random_pruning": "随机剪枝",
    "exact_shapley": "精确 Shapley",
    "attention_patterns": "注意力图",
    "band_model_training": "训练更深的分层模型",
    "band_model": "评估更深的分层模型",
}


STAGES_EN = {
    "train": "training",
    "windows": "windows and noise",
    "ig": "IG (code, prose)",
    "scores": "Michel, LOO, sampled Shapley",
    "bootstrap": "bootstrap",
    "ig_second_noise": "IG under the second noise seed",
    "ig_baselines": "IG at other baselines",
    "pruning_orders": "pruning orders (iterative Michel, greedy)",
    "pruning_curves": "pruning curves",
    "random_pruning": "random pruning",
    "exact_shapley": "exact Shapley",
    "attention_patterns": "attention maps",
    "band_model_training": "training the deeper band models",
    "band_model": "evaluating the deeper band models",
}


def time_lines(timing: pd.DataFrame, train_seconds: float) -> tuple[str, str]:
    """Where the chapter's time goes: training, then the analysis stages by total seconds."""
    per = timing.groupby("stage")["seconds"].sum().sort_values(ascending=False)
    total = per.sum() + train_seconds
    parts = [("train", train_seconds), *per.items()]
    parts = sorted(parts, key=lambda p: -p[1])[:5]
    zh = "、".join(f"{STAGES_ZH.get(k, k)} {v:.0f} 秒（{v / total:.0%}）" for k, v in parts)
    en = ", ".join(f"{STAGES_EN.get(k, k)} {v:.0f} s ({v / total:.0%})" for k, v in parts)
    return zh, en
