"""Generated (zh, en) sentences that state what the numbers say, so prose never hard-codes a
conclusion. Each function takes computed tables and returns a pair of Markdown strings."""

from __future__ import annotations

import numpy as np
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


def top_switches(
    uni: pd.DataFrame, direction: dict[str, float], stab: pd.DataFrame, bar: float = 0.95
) -> tuple[str, str]:
    """The top three switches, which way each moves the metric, and Note 1's top-3 claim.

    ``stab`` is ``surrogate.rank_stability`` (bootstrap refits). The claim "untie_attn_weights
    is the strongest switch" is supported only when it is first in the full data and stays
    first in at least ``bar`` of the resamples; first with fewer is "suggested".
    """
    top = list(uni["switch"][:3])
    st = stab.set_index("switch")
    span = {s: f"{int(st.loc[s, 'rank_lo'])}–{int(st.loc[s, 'rank_hi'])}" for s in top}
    zh_dir = "、".join(
        f"{s}（打开{'降低' if direction[s] < 0 else '升高'}损失，自助法排名 {span[s]}）"
        for s in top
    )
    en_dir = ", ".join(
        f"{s} (on {'lowers' if direction[s] < 0 else 'raises'} the loss; bootstrap rank {span[s]})"
        for s in top
    )
    overlap = len(set(top) & set(SEED_TOP3))
    u = "untie_attn_weights"
    first = uni["switch"].iloc[0] == u
    keep = float(st.loc[u, "keep_rank"]) if first else 0.0
    if first and keep >= bar:
        zh_v = f"支持“{u} 是单个影响最大的开关”这一结论（在 {keep:.0%} 的自助重抽样中排第一）"
        en_v = (
            f"supports the claim that {u} is the strongest single switch (first in {keep:.0%} "
            "of the bootstrap resamples)"
        )
    elif first:
        zh_v = (
            f"倾向于但不足以确认“{u} 是单个影响最大的开关”（它只在 {keep:.0%} 的自助重抽样中"
            f"排第一，低于 {bar:.0%}）"
        )
        en_v = (
            f"suggests but does not establish that {u} is the strongest single switch (first "
            f"in only {keep:.0%} of the bootstrap resamples, below {bar:.0%})"
        )
    else:
        zh_v = f"不支持“{u} 是单个影响最大的开关”这一结论"
        en_v = f"does not support the claim that {u} is the strongest single switch"
    return (
        f"影响最大的三个开关依次为 {zh_dir}。笔记中的前三名（untie_attn_weights、"
        f"use_std_residual、use_rms_norm）有 {overlap} 个仍在前三；本次运行{zh_v}。",
        f"The three strongest switches are {en_dir}. Of the notes' top three "
        f"(untie_attn_weights, use_std_residual, use_rms_norm) {overlap} remain in the top "
        f"three; this run {en_v}.",
    )


def seed_pairs(pairs: pd.DataFrame, effects: pd.DataFrame) -> tuple[str, str]:
    """Where the notes' two strongest pairs rank here, judged with uncertainty.

    ``pairs`` ranks the 45 pairs by SHAP interaction strength; ``effects`` (``exact_effects``,
    with two-way terms) gives each pair's exact interaction with its 95% CI. A note pair counts
    as "among the strongest" when it is significant after Holm correction and its |effect|
    interval reaches the lower end of the strongest pair's interval (the two cannot be told
    apart); the claim is supported when both pairs are.
    """
    ranked = pairs.sort_values("interaction_strength", ascending=False).reset_index(drop=True)
    keys = [tuple(sorted(p)) for p in zip(ranked.switch1, ranked.switch2, strict=True)]
    ranks = [keys.index(tuple(sorted(p))) + 1 for p in SEED_PAIRS]
    top = f"{ranked.switch1[0]} × {ranked.switch2[0]}"
    two = effects[effects["order"] == 2].copy()
    if two.empty:
        return (
            f"SHAP 交互作用最强的一对是 {top}。笔记中的两对在 45 对中分别排第 {ranks[0]} 和第 "
            f"{ranks[1]} 位；但本设计的运行数不足以估计精确的二元交互项，"
            "无法判断排名差异是否超出噪声，"
            "因此无法检验“这两对交互最显著”的结论。",
            f"The strongest pair by SHAP interaction is {top}. The notes' two pairs rank "
            f"{ranks[0]} and {ranks[1]} of 45 here, but the design has too few runs for exact "
            "two-way terms, so whether these ranks differ beyond noise, and with it the claim "
            "that they are the strongest interactions, cannot be tested.",
        )
    two["abs_low"] = np.where(
        np.sign(two.ci_low) == np.sign(two.ci_high),
        two[["ci_low", "ci_high"]].abs().min(axis=1),
        0.0,
    )
    two["abs_high"] = two[["ci_low", "ci_high"]].abs().max(axis=1)
    best = two.loc[two["estimate"].abs().idxmax()]
    by = {tuple(sorted(t.split(":"))): r for t, r in two.set_index("term").iterrows()}
    among = []
    for p in SEED_PAIRS:
        r = by[tuple(sorted(p))]
        among.append(bool(r.p_adjusted < 0.05 and r.abs_high >= best.abs_low))
    zh_v, en_v = _yes(all(among))
    zh_each = "、".join("是" if a else "否" for a in among)
    return (
        f"SHAP 交互作用最强的一对是 {top}。笔记中的两对（untie_attn_weights × use_rms_norm；"
        f"use_std_residual × use_gated_ffn）在 45 对中分别排第 {ranks[0]} 和第 "
        f"{ranks[1]} 位。"
        f"精确模型中交互项最强的是 {best.term.replace(':', ' × ')}"
        f"（{2 * best.estimate:+.4f}）。考虑置信区间后，笔记的两对是否属于最强之列"
        f"（Holm 校正后显著，且 |效应| 的 95% 区间与最强一项的区间重叠）："
        f"依次为{zh_each}。本次运行{zh_v}“这两对交互最显著”的结论。",
        f"The strongest pair by SHAP interaction is {top}. The notes' two pairs "
        f"(untie_attn_weights × use_rms_norm and use_std_residual × use_gated_ffn) rank "
        f"{ranks[0]} and {ranks[1]} of 45 here. The strongest exact two-way term is "
        f"{best.term.replace(':', ' × ')} ({2 * best.estimate:+.4f}); a note pair counts as "
        "among the strongest when it is Holm-significant and its 95% interval reaches that "
        f"term's: {', '.join('yes' if a else 'no' for a in among)} (in order). So this run "
        f"{en_v} the claim that they are the strongest interactions.",
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


def divergence(div: pd.DataFrame, n_runs: int, max_corr: float) -> tuple[str, str]:
    """How many runs were lost, whether any switch setting loses more (Holm-adjusted Fisher), and
    what the losses do to the design (``divergence.orthogonality_loss`` of the ok runs)."""
    lost = int(div["diverged_on"].iloc[0] + div["diverged_off"].iloc[0])
    if lost == 0:
        return (
            f"全部 {n_runs} 个运行都正常结束，"
            f"没有运行发散，因此去掉发散运行不会使任何开关的比较产生偏差，"
            "设计的正交性也完好无损。",
            f"All {n_runs} runs finished normally; none diverged, so leaving out diverged runs "
            "biases no switch comparison and the design keeps its orthogonality.",
        )
    sig = div[div["p_adjusted"] < 0.05]["switch"].tolist()
    zh_s = (
        f"{'、'.join(sig)} 的发散率在开与关之间显著不同（Fisher 精确检验，Holm 校正）"
        if sig
        else "没有哪个开关的发散率在开与关之间显著不同（Fisher 精确检验，Holm 校正）"
    )
    en_s = (
        f"the divergence rate of {', '.join(sig)} differs between on and off (Fisher's exact "
        "test, Holm-adjusted)"
        if sig
        else "no switch's divergence rate differs between on and off (Fisher's exact test, "
        "Holm-adjusted)"
    )
    return (
        f"{n_runs} 个运行中有 {lost} 个未正常结束；{zh_s}。去掉这些运行后，主效应与二元交互列之间的"
        f"最大相关系数为 {max_corr:.2f}（完整设计中为 0），效应估计因此相互牵连。",
        f"{lost} of {n_runs} runs did not finish; {en_s}. Without them the largest correlation "
        f"between main-effect and two-way columns is {max_corr:.2f} (0 in the full design), so "
        "the effect estimates lean on each other.",
    )


def aliasing(n_aliased: int, n_triples: int, coverage: float) -> tuple[str, str]:
    """What the screening design can say about three-way interactions."""
    return (
        f"在这一设计中，{n_triples} 个三元交互对比里有 {n_aliased} 个与某个二元交互完全混杂"
        "（别名结构由设计矩阵算出，见开关扫描一章），无法与之区分；"
        "而代理模型计算三元交互强度时查询的开关组合中，"
        f"只有 {coverage:.0%} 真正训练过，其余都是代理模型的外推。因此这里的三元排序只是筛选，"
        "需要专门的验证实验确认。",
        f"In this design {n_aliased} of the {n_triples} three-way contrasts are fully aliased "
        "with a two-way interaction (the alias structure is computed from the design matrix; "
        "see the sweep chapter) and cannot be told apart from it. Of the configurations the "
        f"surrogate is queried about for the triple strengths, only {coverage:.0%} were "
        "trained; the rest are the surrogate's extrapolation. The triple ranking here is "
        "therefore a screen, to be confirmed by a dedicated follow-up.",
    )


def confirmation(cmp: pd.DataFrame, switches: list[str], reference: str) -> tuple[str, str]:
    """One sentence per confirmation experiment: its top-order interaction (and for a pair or a
    triple, whether it is confirmed), from ``confirm.compare_screening``."""
    k = len(switches)
    r = cmp[cmp["order"] == k].iloc[0]
    name = " × ".join(switches)
    ref_zh = {"all-on": "全开（Llama）", "all-off": "全关（PT）"}[reference]
    ref_en = {"all-on": "all on (Llama)", "all-off": "all off (PT)"}[reference]
    ci = f"{r.effect:+.4f}（95% CI {r.effect_low:+.4f} 至 {r.effect_high:+.4f}）"
    ci_en = f"{r.effect:+.4f} (95% CI {r.effect_low:+.4f} to {r.effect_high:+.4f})"
    screen = "" if np.isnan(r.screen_effect) else f"；筛选设计中为 {r.screen_effect:+.4f}"
    screen_en = (
        "" if np.isnan(r.screen_effect) else f"; the screening design gave {r.screen_effect:+.4f}"
    )
    zh_v = "得到确认" if r.confirmed else "没有得到确认"
    en_v = "confirmed" if r.confirmed else "not confirmed"
    order_zh = {2: "二元", 3: "三元"}.get(k, f"{k} 元")
    order_en = {2: "two-way", 3: "three-way"}.get(k, f"{k}-way")
    pairs = cmp[(cmp["order"] == 2) & (cmp["order"] < k) & cmp["confirmed"]]["term"]
    pairs = [t.replace(":", " × ") for t in pairs]
    more_zh = f"其中的二元交互 {'、'.join(pairs)} 得到确认。" if pairs else ""
    more_en = (
        f" Of its two-way terms, {', '.join(pairs)} {'is' if len(pairs) == 1 else 'are'} confirmed."
        if pairs
        else ""
    )
    return (
        f"其余开关固定为{ref_zh}时，{name} 的{order_zh}交互作用为 {ci}{screen}：{zh_v}。{more_zh}",
        f"With the other switches held {ref_en}, the {order_en} interaction {name} is "
        f"{ci_en}{screen_en}: {en_v}.{more_en}",
    )


def replication(lof: dict, het: dict, n_configs: int, n_seeds: int) -> tuple[str, str]:
    """Pure error and lack of fit estimated on the design's own replicated configs."""
    model_zh = {1: "主效应模型", 2: "二元交互模型", 3: "三元交互模型"}[lof["order"]]
    model_en = {1: "main-effects", 2: "two-way", 3: "three-way"}[lof["order"]]
    ok = lof["p_value"] >= 0.05
    fit_zh = f"{model_zh}{'没有' if ok else '存在'}显著的失拟"
    fit_en = f"the {model_en} model shows {'no ' if ok else ''}significant lack of fit"
    het_zh = "各组方差差异显著" if het["p_value"] < 0.05 else "各组方差没有显著差异"
    het_en = "differ significantly" if het["p_value"] < 0.05 else "do not differ significantly"
    return (
        f"设计中随机抽取的 {n_configs} 个开关组合各加训 {n_seeds} 个种子后，纯误差标准差为 "
        f"{lof['sd_pe']:.4f}（{lof['df_pe']} 个自由度），失拟检验 F = {lof['F']:.2f}，"
        f"p = {lof['p_value']:.3g}：{fit_zh}。包括四个参照组合在内，{het['n_groups']} 个重复组的"
        f"种子标准差介于 {het['sd_min']:.4f} 与 {het['sd_max']:.4f} 之间"
        f"（相差 {het['sd_ratio']:.1f} 倍），"
        f"Brown–Forsythe 检验 p = {het['p_value']:.3g}，{het_zh}；"
        f"合并的纯误差因此是平均意义上的噪声。",
        f"With {n_seeds} more seeds for each of {n_configs} randomly chosen configs of the design, "
        f"the pure-error sd is {lof['sd_pe']:.4f} on {lof['df_pe']} degrees of freedom, and the "
        f"lack-of-fit test gives F = {lof['F']:.2f}, p = {lof['p_value']:.3g}: {fit_en}. Over "
        f"{het['n_groups']} replicated groups (the four anchors included) the seed sd ranges "
        f"from {het['sd_min']:.4f} to {het['sd_max']:.4f} ({het['sd_ratio']:.1f}×); by "
        f"Brown–Forsythe (p = {het['p_value']:.3g}) they {het_en}, so the pooled pure error is "
        "an average noise level.",
    )


def spread_claim(spread: pd.DataFrame, switch: str = "use_rms_norm") -> tuple[str, str]:
    """Note 2's claim as stated, from ``variance.conditional_spread``."""
    a = spread.attrs
    noisier = a["ratio_low"] > 1
    zh_v, en_v = _yes(noisier)
    return (
        f"{switch} 打开时，其余九个开关的加性模型的残差标准差是关闭时的 {a['sd_ratio']:.2f} 倍"
        f"（95% CI {a['ratio_low']:.2f} 至 {a['ratio_high']:.2f}，F 检验 p = {a['p_value']:.3g}）；"
        f"本次运行{zh_v}“{switch} 打开时其他开关的作用更嘈杂”。",
        f"With {switch} on, the residual sd of the other nine switches' additive model is "
        f"{a['sd_ratio']:.2f} times that with it off (95% CI {a['ratio_low']:.2f} to "
        f"{a['ratio_high']:.2f}, F test p = {a['p_value']:.3g}); this run {en_v} the claim that "
        f"the other switches' effects are noisier with {switch} on.",
    )


def mean_equivalence(effect: float, tost: dict, margin: float) -> tuple[str, str]:
    """ "The mean is unchanged" as an equivalence test (TOST) with a stated margin."""
    ci = f"{tost['low90']:+.4f} 至 {tost['high90']:+.4f}"
    ci_en = f"{tost['low90']:+.4f} to {tost['high90']:+.4f}"
    if tost["equivalent"]:
        zh = f"在 ±{margin:g} nats/byte 的等价界内，平均损失可视为不变"
        en = f"within a margin of ±{margin:g} nats/byte the mean loss is unchanged"
    else:
        zh = f"不能说平均损失不变（等价界 ±{margin:g} nats/byte）"
        en = f"the mean loss cannot be called unchanged (margin ±{margin:g} nats/byte)"
    return (
        f"其主效应为 {effect:+.4f}，90% CI {ci}；等价性检验（TOST）"
        f"p = {tost['p_value']:.3g}，{zh}。",
        f"Its main effect is {effect:+.4f} (90% CI {ci_en}); the equivalence test (TOST) "
        f"gives p = {tost['p_value']:.3g}, so {en}.",
    )


def capacity(cap: pd.DataFrame, switch: str) -> tuple[str, str]:
    """How much of a switch's effect survives when the off arm gets the same parameter count."""
    c = cap.set_index("arm")
    plain, matched = c.loc["off"], c.loc["off, matched"]
    share = matched.effect / plain.effect if plain.effect else float("nan")
    survives = matched.effect_high < 0 or matched.effect_low > 0
    zh_v = "仍然显著" if survives else "不再显著"
    en_v = "remains significant" if survives else "is no longer significant"
    return (
        f"{switch} 打开增加了 {int(c.loc['on', 'n_params'] - plain.n_params)} 个参数。与参数量相同"
        f"（加宽 FFN）的对照相比，它的效应为 {matched.effect:+.4f}（Welch 95% CI "
        f"{matched.effect_low:+.4f} 至 {matched.effect_high:+.4f}），"
        f"是未匹配时 {plain.effect:+.4f} 的 "
        f"{share:.0%}，{zh_v}。",
        f"Turning {switch} on adds {int(c.loc['on', 'n_params'] - plain.n_params)} parameters. "
        f"Against a control with the same parameter count (a wider FFN) its effect is "
        f"{matched.effect:+.4f} (Welch 95% CI {matched.effect_low:+.4f} to "
        f"{matched.effect_high:+.4f}), {share:.0%} of the unmatched {plain.effect:+.4f}; it "
        f"{en_v}.",
    )


def spread_vs_noise(ratio: float, low: float, high: float) -> tuple[str, str]:
    """The spread across configs against the seed noise: variance ratio with its F interval."""
    if low > 1:
        zh = "开关组合间的差异显著大于种子噪声"
        en = "The spread across configs is significantly larger than seed noise"
    else:
        zh = "开关组合间的差异没有显著超过种子噪声"
        en = "The spread across configs is not significantly larger than seed noise"
    return (
        f"{zh}：方差比为 {ratio:.1f}（95% CI {low:.1f} 至 {high:.1f}，F 分布）。",
        f"{en}: the variance ratio is {ratio:.1f} (95% CI {low:.1f} to {high:.1f}, F "
        "distribution).",
    )


def training_ranking(agree: pd.DataFrame) -> tuple[str, str]:
    """Whether the ranking at the last evaluation is already the ranking earlier in training."""
    last = int(agree["step"].max())
    early = agree[agree["step"] < last]
    zh = "；".join(
        f"第 {int(r.step)} 步：开关组合 ρ = {r.config_rho:.2f}，开关主效应 ρ = {r.effect_rho:.2f}"
        for r in early.itertuples()
    )
    en = "; ".join(
        f"step {int(r.step)}: configs ρ = {r.config_rho:.2f}, main effects ρ = {r.effect_rho:.2f}"
        for r in early.itertuples()
    )
    prev = early.iloc[-1]
    stable = bool(prev.effect_rho >= 0.95)
    zh_v = (
        f"最后两次评估（第 {int(prev.step)} 步与第 {last} 步）之间开关的排序几乎不变，"
        "排序在训练后期已经稳定"
        if stable
        else f"第 {int(prev.step)} 步到第 {last} 步之间开关的排序仍在变化，更长的训练可能改变结论"
    )
    en_v = (
        f"between the last two evaluations (steps {int(prev.step)} and {last}) the switch "
        "ranking barely changes: it is settled late in training"
        if stable
        else f"the switch ranking still moves between steps {int(prev.step)} and {last}: "
        "longer training could change it"
    )
    return (
        f"与第 {last} 步的排序相比（Spearman 秩相关）——{zh}。{zh_v}。",
        f"Against the ranking at step {last} (Spearman rank correlation) — {en}. So {en_v}.",
    )
