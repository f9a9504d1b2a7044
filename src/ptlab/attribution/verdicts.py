"""The attribution chapter's generated sentences, each returned as (zh, en) from the study's
tables (``ptlab.attribution.study``), so no number or conclusion in its prose is typed by hand.
Every statement over seeds gives the seed mean with its spread. Shown in: chapter *attribution*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ptlab.attribution.study import across_seeds, seed_ci

NOTE_STRATEGIES = ("abs_ig", "signed_ig", "signed_ig_code", "layer_bands")


def _code(stats: pd.DataFrame) -> pd.DataFrame:
    return stats[stats["set"] == "code"]


def sign_lines(stats: pd.DataFrame, sign: pd.DataFrame, boot: pd.DataFrame) -> tuple[str, str]:
    """One bullet per model (means ± sd over seeds): L(1), L(0), the mean IG they imply, the
    fraction of IG > 0 heads with the 95 % interval of its seed mean, and the sign test."""
    code = across_seeds(_code(stats), ["model"]).set_index("model")
    sg = across_seeds(sign, ["model"]).set_index("model")
    cis = seed_ci(boot, "frac_positive:code").set_index("model")
    zh, en = [], []
    for o in code.index:
        c, s, i = code.loc[o], sg.loc[o], cis.loc[o]
        n = int(c["seeds"])
        zh.append(
            f"- {o}（{n} 个种子）：L(1) = {c['loss_on']:.3f} ± {c['loss_on_sd']:.3f}，"
            f"L(0) = {c['loss_off']:.3f} ± {c['loss_off_sd']:.3f}，"
            f"平均 IG = {c['mean']:+.4f} ± {c['mean_sd']:.4f}；IG > 0 的头占 "
            f"{c['frac_positive']:.0%} ± {c['frac_positive_sd']:.0%}（95% CI "
            f"{i['ci_low']:.0%}–{i['ci_high']:.0%}），平均 {s['heads_ig_positive']:.1f} 个，其中"
            f" {s['of_which_loo_negative']:.1f} 个单独移除后损失下降；同时移除全部 IG > 0 的头，"
            f"留出集损失变化 {s['delta_loss_without_positive']:+.4f} ± "
            f"{s['delta_loss_without_positive_sd']:.4f}。"
        )
        en.append(
            f"- {o} ({n} seeds): L(1) = {c['loss_on']:.3f} ± {c['loss_on_sd']:.3f}, "
            f"L(0) = {c['loss_off']:.3f} ± {c['loss_off_sd']:.3f}, mean IG = "
            f"{c['mean']:+.4f} ± {c['mean_sd']:.4f}; {c['frac_positive']:.0%} ± "
            f"{c['frac_positive_sd']:.0%} of the heads have IG > 0 (95% CI "
            f"{i['ci_low']:.0%}–{i['ci_high']:.0%}), {s['heads_ig_positive']:.1f} heads on "
            f"average, {s['of_which_loo_negative']:.1f} of which lower the loss when removed "
            f"alone; removing all IG > 0 heads at once changes the held-out loss by "
            f"{s['delta_loss_without_positive']:+.4f} ± {s['delta_loss_without_positive_sd']:.4f}."
        )
    return "\n".join(zh), "\n".join(en)


def sign_verdict(stats: pd.DataFrame, boot: pd.DataFrame) -> tuple[str, str]:
    """Does this run support Note 5's sign claims (most heads IG > 0, a positive mean) in the
    masked-diffusion models? "Most" is supported when the 95 % interval of the seed-mean
    fraction of IG > 0 heads lies above one half, contradicted when it lies below."""
    code = _code(stats)
    zh, en = [], []
    for o, g in code.groupby("model", sort=False):
        i = seed_ci(boot, "frac_positive:code").set_index("model").loc[o]
        positive_mean = int((g["loss_on"] > g["loss_off"]).sum())
        n = g["seed"].nunique()
        if i["ci_low"] > 0.5:
            most = ("支持“多数注意力头 IG 为正”", "supports “most heads have IG > 0”")
        elif i["ci_high"] < 0.5:
            most = ("与“多数注意力头 IG 为正”相反", "contradicts “most heads have IG > 0”")
        else:
            most = ("无法判定多数注意力头的符号", "cannot tell whether most heads have IG > 0")
        zh.append(
            f"{o}：{most[0]}（IG > 0 比例的 95% CI {i['ci_low']:.0%}–{i['ci_high']:.0%}），"
            f"平均 IG 为正的种子 {positive_mean}/{n} 个"
        )
        en.append(
            f"{o}: {most[1]} (95% CI of the fraction {i['ci_low']:.0%}–{i['ci_high']:.0%}); "
            f"the mean IG is positive in {positive_mean} of {n} seeds"
        )
    return "；".join(zh) + "。", "; ".join(en) + "."


def best_note_strategy(verification: pd.DataFrame) -> tuple[str, str]:
    """Per model, the note's strategy with the smallest mean loss increase at the verified k,
    and whether it wins beyond the seed spread: its paired advantage over every other note
    strategy (ΔL_other − ΔL_best, same seed) is positive in every seed and its mean exceeds
    its seed sd. Otherwise the strategies it does not clearly beat are named."""
    note = verification[verification["strategy"].isin(NOTE_STRATEGIES)]
    zh, en = [], []
    for o, g in note.groupby("model", sort=False):
        wide = g.pivot(index="seed", columns="strategy", values="delta_loss")
        best = wide.mean().idxmin()
        ties = []
        for other in wide.columns.drop(best):
            adv = (wide[other] - wide[best]).to_numpy()
            sd = adv.std(ddof=1) if len(adv) > 1 else np.inf
            if not ((adv > 0).all() and adv.mean() > sd):
                ties.append(other)
        dl, sd = wide[best].mean(), wide[best].std(ddof=1) if len(wide) > 1 else np.nan
        if ties:
            zh.append(
                f"{o} 上平均最好的是 {best}（ΔL = {dl:+.4f} ± {sd:.4f}），但与 {'、'.join(ties)} "
                "的差距不超出种子波动，不算胜出"
            )
            en.append(
                f"on {o} the best on average is {best} (ΔL = {dl:+.4f} ± {sd:.4f}), but its lead "
                f"over {', '.join(ties)} is within the seed spread, so it does not win"
            )
        else:
            zh.append(f"{o} 上 {best} 胜出（ΔL = {dl:+.4f} ± {sd:.4f}，超出种子波动）")
            en.append(f"on {o} {best} wins (ΔL = {dl:+.4f} ± {sd:.4f}, beyond the seed spread)")
    return "；".join(zh), "; ".join(en)


def noise_verdict(noise: pd.DataFrame) -> tuple[str, str]:
    """How stable the IG ranking is under a second masking-noise seed (masked diffusion)."""
    s = across_seeds(noise, ["model"])
    zh = "；".join(
        f"{r.model}：ρ = {r.rho_noise_seeds:.2f} ± {r.rho_noise_seeds_sd:.2f}，"
        f"符号一致 {r.same_sign_fraction:.0%}"
        for r in s.itertuples()
    )
    en = "; ".join(
        f"{r.model}: ρ = {r.rho_noise_seeds:.2f} ± {r.rho_noise_seeds_sd:.2f}, "
        f"{r.same_sign_fraction:.0%} same sign"
        for r in s.itertuples()
    )
    lo = float(noise["rho_noise_seeds"].min())
    if lo >= 0.9:
        tail = (
            "每个种子的 ρ 都不低于 0.9，排序在噪声抽样下是稳定的。",
            "every seed's ρ is at least 0.9: the ranking is stable under the noise draw.",
        )
    else:
        tail = (
            f"最低的 ρ 为 {lo:.2f}，排序仍受掩码噪声影响。",
            f"the lowest ρ is {lo:.2f}: the ranking still moves with the masking noise.",
        )
    return f"{zh}；{tail[0]}", f"{en}; {tail[1]}"


def exact_verdict(exact: pd.DataFrame) -> tuple[str, str]:
    """Sampled Shapley and IG against the exact Shapley values (first seed)."""
    zh, en = [], []
    for o, g in exact.groupby("model", sort=False):
        g = g.set_index("estimate")
        shap = [e for e in g.index if e.startswith("shapley_")]
        first, last = shap[0], shap[-1]
        n0, n1 = first.split("_")[1], last.split("_")[1]
        zh.append(
            f"{o}：采样 Shapley 的相对误差从 {n0} 个排列时的 {g.loc[first, 'rel_error']:.0%} "
            f"降到 {n1} 个排列时的 {g.loc[last, 'rel_error']:.0%}（与精确值的 ρ 为 "
            f"{g.loc[first, 'rho_vs_exact']:.2f} 与 {g.loc[last, 'rho_vs_exact']:.2f}）；"
            f"IG 与精确 Shapley 的 ρ 为 {g.loc['ig', 'rho_vs_exact']:.2f}，相对差距 "
            f"{g.loc['ig', 'rel_error']:.0%}"
        )
        en.append(
            f"{o}: the relative error of sampled Shapley falls from "
            f"{g.loc[first, 'rel_error']:.0%} with {n0} permutations to "
            f"{g.loc[last, 'rel_error']:.0%} with {n1} (ρ with the exact values "
            f"{g.loc[first, 'rho_vs_exact']:.2f} and {g.loc[last, 'rho_vs_exact']:.2f}); IG has "
            f"ρ = {g.loc['ig', 'rho_vs_exact']:.2f} with the exact values and a relative "
            f"difference of {g.loc['ig', 'rel_error']:.0%}"
        )
    return "；".join(zh) + "。", "; ".join(en) + "."


def pattern_lines(patterns: pd.DataFrame) -> tuple[str, str]:
    """One bullet per (model, role): the head, its IG and what it attends to."""
    zh_role = {"harmful": "最“有害”（IG 最大）", "useful": "最“有用”（IG 最负）"}
    en_role = {
        "harmful": "most “harmful” (largest IG)",
        "useful": "most “useful” (most negative IG)",
    }
    zh, en = [], []
    for r in patterns.itertuples():
        if r.role == "harmful" and r.ig <= 0:
            zh.append(f"- {r.model} 没有 IG > 0 的头；下面是 IG 最大（最接近 0）的头。")
            en.append(f"- {r.model} has no head with IG > 0; below is the one with the largest IG.")
        zh.append(
            f"- {r.model} {zh_role[r.role]}：第 {r.layer} 层第 {r.head_in_layer} 个头"
            f"（IG = {r.ig:+.4f}）；注意力平均 {r.to_previous:.0%} 落在前一位置、"
            f"{r.to_next:.0%} 落在后一位置、"
            f"{r.to_self:.0%} 落在自身、{r.to_first:.0%} 落在位置 0，平均距离 "
            f"{r.mean_distance:.1f} 字节。"
        )
        en.append(
            f"- {r.model}, {en_role[r.role]}: layer {r.layer}, head {r.head_in_layer} "
            f"(IG = {r.ig:+.4f}); on average {r.to_previous:.0%} of its attention goes to the "
            f"previous position, {r.to_next:.0%} to the next, {r.to_self:.0%} to itself and "
            f"{r.to_first:.0%} to position 0; "
            f"mean distance {r.mean_distance:.1f} bytes."
        )
    return "\n".join(zh), "\n".join(en)


STAGES_ZH = {
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
    zh = "、".join(
        f"{'训练' if k == 'train' else STAGES_ZH.get(k, k)} {v:.0f} 秒（{v / total:.0%}）"
        for k, v in parts
    )
    en = ", ".join(f"{STAGES_EN.get(k, k)} {v:.0f} s ({v / total:.0%})" for k, v in parts)
    return zh, en


def pattern_verdict(patterns: pd.DataFrame) -> tuple[str, str]:
    """In how many models the most useful head is more local (more attention on the adjacent
    positions, previous + next) than the most harmful one."""
    wide = patterns.assign(adjacent=patterns["to_previous"] + patterns["to_next"]).pivot(
        index="model", columns="role", values="adjacent"
    )
    local = int((wide["useful"] > wide["harmful"]).sum())
    n = len(wide)
    return (
        f"{n} 个模型中有 {local} 个，其最“有用”的头比最“有害”的头更集中于相邻位置"
        "（前一位置与后一位置的注意力之和更大）：最有用的头多为这种“相邻字节”头。"
        if local == n
        else f"{n} 个模型中有 {local} 个，其最“有用”的头比最“有害”的头更集中于相邻位置。",
        f"In {local} of {n} models the most useful head is more local than the most harmful "
        "one (more attention on the previous plus the next position)"
        + (": the most useful heads are such adjacent-byte heads." if local == n else "."),
    )
