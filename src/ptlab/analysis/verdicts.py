"""Generated (zh, en) sentences that state what the numbers say, so prose never hard-codes a
conclusion. Each function takes computed tables and returns a pair of Markdown strings."""

from __future__ import annotations

import pandas as pd

# The claims of the lab's Note 1 (book/en/notes.md), by switch name.
SEED_TOP3 = ("untie_attn_weights", "use_std_residual", "use_rms_norm")
SEED_PAIRS = (("untie_attn_weights", "use_rms_norm"), ("use_gated_ffn", "use_std_residual"))


def _yes(ok: bool) -> tuple[str, str]:
    return ("支持", "supports") if ok else ("不支持", "does not support")


def surrogate_fit(r2: float) -> tuple[str, str]:
    """How far to trust SHAP given the surrogate's out-of-fold R²."""
    if r2 >= 0.7:
        return (
            f"代理模型的交叉验证 R² 为 {r2:.2f}，能解释开关组合间的大部分差异，"
            "SHAP 的结论可以参考。",
            f"The surrogate's out-of-fold R² is {r2:.2f}: it predicts most of the variation "
            "between configs, so its SHAP values are worth reading.",
        )
    if r2 >= 0.3:
        return (
            f"代理模型的交叉验证 R² 仅为 {r2:.2f}，SHAP 只描述了部分差异，需谨慎解读。",
            f"The surrogate's out-of-fold R² is only {r2:.2f}: SHAP describes part of the "
            "variation; read it with care.",
        )
    return (
        f"代理模型的交叉验证 R² 为 {r2:.2f}，几乎没有预测能力，下面的 SHAP 排序不可信。",
        f"The surrogate's out-of-fold R² is {r2:.2f}: it predicts almost nothing, so the "
        "SHAP ranking below should not be trusted.",
    )


def top_switches(uni: pd.DataFrame, direction: dict[str, float]) -> tuple[str, str]:
    """The top three switches, which way each moves the metric, and Note 1's top-3 claim."""
    top = list(uni["switch"][:3])
    zh_dir = "、".join(f"{s}（打开{'降低' if direction[s] < 0 else '升高'}损失）" for s in top)
    en_dir = ", ".join(
        f"{s} (on {'lowers' if direction[s] < 0 else 'raises'} the loss)" for s in top
    )
    overlap = len(set(top) & set(SEED_TOP3))
    first = uni["switch"].iloc[0] == "untie_attn_weights"
    zh_v, en_v = _yes(first)
    return (
        f"影响最大的三个开关依次为 {zh_dir}。笔记中的前三名（untie_attn_weights、"
        f"use_std_residual、use_rms_norm）有 {overlap} 个仍在前三；本次运行{zh_v}"
        "“untie_attn_weights 是单个影响最大的开关”这一结论。",
        f"The three strongest switches are {en_dir}. Of the notes' top three "
        f"(untie_attn_weights, use_std_residual, use_rms_norm) {overlap} remain in the top "
        f"three; this run {en_v} the claim that untie_attn_weights is the strongest single "
        "switch.",
    )


def seed_pairs(pairs: pd.DataFrame) -> tuple[str, str]:
    """Where the notes' two strongest pairs rank here (by interaction strength, of 45)."""
    ranked = pairs.sort_values("interaction_strength", ascending=False).reset_index(drop=True)
    keys = [tuple(sorted(p)) for p in zip(ranked.switch1, ranked.switch2, strict=True)]
    ranks = [keys.index(tuple(sorted(p))) + 1 for p in SEED_PAIRS]
    top = f"{ranked.switch1[0]} × {ranked.switch2[0]}"
    ok = all(r <= 5 for r in ranks)
    zh_v, en_v = _yes(ok)
    return (
        f"交互作用最强的一对是 {top}。笔记中的两对（1×3：untie_attn_weights × use_rms_norm；"
        f"2×6：use_std_residual × use_gated_ffn）在 45 对中分别排第 {ranks[0]} 和第 "
        f"{ranks[1]} 位，本次运行{zh_v}“这两对交互最显著”的结论（以前五为准）。",
        f"The strongest pair is {top}. The notes' two pairs (untie_attn_weights × "
        f"use_rms_norm and use_std_residual × use_gated_ffn) rank {ranks[0]} and "
        f"{ranks[1]} of 45 here, so this run {en_v} the claim that they are the strongest "
        "interactions (taking top five as the bar).",
    )


def mirror(observed: bool, frac: float) -> tuple[str, str]:
    """Note 1's mirror symmetry: observed for its triple? and how common over all triples."""
    zh_o = "也出现了" if observed else "没有出现"
    en_o = "shows" if observed else "does not show"
    return (
        f"在本次数据中，这三个开关的八个取值组合{zh_o}“最好与最差互为取反”的镜像；在全部 120 个"
        f"三元组中，有 {frac:.0%} 的三元组的最好与最差取值组合互为取反。加性模型对每个三元组都给出"
        "镜像，所以镜像本身说明的是主效应占主导，而非特殊的三元交互作用。",
        f"Here the eight cells of this triple {en_o} the mirror (best and worst cells are "
        f"bitwise complements); over all 120 triples {frac:.0%} have complementary best and "
        "worst cells. An additive model produces the mirror for every triple, so the "
        "mirror shows that main effects dominate, not a special three-way interaction.",
    )


def classify(mean_sig: bool, var_sig: bool) -> tuple[str, str]:
    """Whether a switch moves the mean, the spread, both or neither (seed question 3)."""
    return {
        (True, True): ("均值与方差", "mean and spread"),
        (True, False): ("仅均值", "mean only"),
        (False, True): ("仅方差", "spread only"),
        (False, False): ("均不显著", "neither"),
    }[(mean_sig, var_sig)]


def variance_claim(row, mean_effect: float, mean_sig: bool) -> tuple[str, str]:
    """The notes' conclusion: use_rms_norm leaves the mean alone but widens the distribution.
    ``row``: use_rms_norm's row of ``variance_tests`` (sd_on, sd_off, p_adjusted)."""
    ratio = row.sd_on / row.sd_off
    widens = row.p_adjusted < 0.05 and ratio > 1
    ok = widens and not mean_sig
    zh_v, en_v = _yes(ok)
    return (
        f"use_rms_norm 打开时残差标准差是关闭时的 {ratio:.2f} 倍"
        f"（Brown–Forsythe，Holm 校正后 p = "
        f"{row.p_adjusted:.3g}），其主效应（开 − 关）为 {mean_effect:+.4f}"
        f"{'，显著' if mean_sig else '，不显著'}。本次运行{zh_v}笔记的结论"
        "“use_rms_norm 不改变平均损失、只增大方差”。",
        f"With use_rms_norm on, the residual sd is {ratio:.2f} times that with it off "
        f"(Brown–Forsythe, Holm-adjusted p = {row.p_adjusted:.3g}); its main effect "
        "(on − off) is "
        f"{mean_effect:+.4f}, {'significant' if mean_sig else 'not significant'}. This run "
        f"{en_v} the notes' conclusion that use_rms_norm leaves the mean loss alone and only "
        "widens its spread.",
    )


def effects_summary(effects: pd.DataFrame, rho: float) -> tuple[str, str]:
    """How many exact effects are significant, how many beyond the seed noise, and agreement
    with the SHAP ranking."""
    sig = effects[effects["p_adjusted"] < 0.05]
    beyond = sig[~sig["below_noise"]]
    n_int = int((sig["order"] > 1).sum())
    return (
        f"精确析因模型中有 {len(sig)} 个项在 Holm 校正后显著（其中 {n_int} 个交互项），"
        f"其中 {len(beyond)} 个的效应大于单次运行的种子标准差。主效应大小与 SHAP 排序的 "
        f"Spearman 秩相关为 {rho:.2f}。",
        f"{len(sig)} terms of the exact factorial model are significant after Holm "
        f"correction ({n_int} of them interactions); {len(beyond)} of those are larger than "
        f"the seed sd of a single run. The Spearman correlation between main-effect sizes "
        f"and the SHAP ranking is {rho:.2f}.",
    )


def design_sentence(summary: dict) -> tuple[str, str]:
    """What the sweep's design is, from ``ptlab.sweep.designs.design_summary`` of the rows run."""
    n = summary["n_runs"]
    if summary["regular"] and summary["p"]:
        res = summary["resolution"]
        roman = {3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII"}.get(res, str(res))
        p = summary["p"]
        clean = summary["orthogonal_2fi"]
        return (
            f"本章采用 $2^{{10-{p}}}$ 的正规部分析因设计：{n} 个运行，分辨度 {roman}；"
            + (
                "所有主效应与 45 个二元交互作用彼此正交、互不混杂。"
                if clean
                else "二元交互作用之间存在混杂，只有主效应可以干净地估计。"
            ),
            f"This chapter runs a regular $2^{{10-{p}}}$ fractional factorial: {n} runs of "
            f"resolution {roman}, "
            + (
                "in which all main effects and all 45 two-way interactions are mutually "
                "orthogonal (none aliased with another)."
                if clean
                else "in which some two-way interactions are aliased with each other; only "
                "the main effects are estimated cleanly."
            ),
        )
    if summary["regular"]:
        return (
            f"本章训练全部 {n} 个开关组合（完全析因设计），所有效应都可以干净地估计。",
            f"This chapter trains all {n} switch configurations (the full factorial), so every "
            "effect is estimated cleanly.",
        )
    return (
        f"本章随机抽取 {n} 个开关组合（非正规设计：主效应与交互作用之间并不严格正交，"
        "分析章节中的效应估计会相互影响）。",
        f"This chapter trains {n} randomly drawn switch configurations (not a regular design: "
        "main effects and interactions are not exactly orthogonal, so the analysis chapters' "
        "estimates lean on each other).",
    )
