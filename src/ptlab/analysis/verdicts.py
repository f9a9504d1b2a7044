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


def _se(effects: pd.DataFrame) -> pd.Series:
    """Standard error of each exact estimate β, from its 95% interval and the error dof."""
    from scipy import stats

    t = stats.t.ppf(0.975, effects.attrs.get("noise_dof", 10**6))
    return (effects["ci_high"] - effects["ci_low"]) / (2 * t)


def _differs(b1: float, b2: float, se1: float, se2: float) -> tuple[float, bool]:
    """z of |b1| − |b2| for two orthogonal (independent) estimates, and z > 1.96."""
    z = (abs(b1) - abs(b2)) / float(np.hypot(se1, se2))
    return z, z > 1.96


def top_switches(
    uni: pd.DataFrame, direction: dict[str, float], stab: pd.DataFrame, effects: pd.DataFrame
) -> tuple[str, str]:
    """The top three switches, which way each moves the metric, and Note 1's top-3 claim.

    ``stab`` (``surrogate.rank_stability``) gives each switch's bootstrap rank interval. The
    claim "untie_attn_weights is the strongest switch" is judged on the exact effects
    (``effects``): supported when its |main effect| is the largest and exceeds the runner-up's
    by more than 1.96 standard errors of the difference (the ±1 columns are orthogonal, so the
    two estimates are independent).
    """
    top = list(uni["switch"][:3])
    st = stab.set_index("switch")
    span = {s: f"{int(st.loc[s, 'rank_lo'])}–{int(st.loc[s, 'rank_hi'])}" for s in top}
    zh_dir = "、".join(
        f"{s}（打开后损失{'降低' if direction[s] < 0 else '升高'}；名次的自助法 90% 区间为 {span[s]}）"
        for s in top
    )
    en_dir = ", ".join(
        f"{s} (on {'lowers' if direction[s] < 0 else 'raises'} the loss; 90% bootstrap rank "
        f"interval {span[s]})"
        for s in top
    )
    overlap = len(set(top) & set(SEED_TOP3))
    u = "untie_attn_weights"
    main = effects[effects["order"] == 1].assign(se=_se(effects))
    main = main.reindex(main["estimate"].abs().sort_values(ascending=False).index)
    first, second = main.iloc[0], main.iloc[1]
    z, clear = _differs(first.estimate, second.estimate, first.se, second.se)
    if first.term == u and clear:
        zh_v = f"支持“{u} 是影响最大的单个开关”这一结论（精确主效应比第二名 {second.term} 大 {z:.1f} 个标准误）"
        en_v = (
            f"supports the claim that {u} is the strongest single switch (its exact main effect "
            f"exceeds the runner-up {second.term} by {z:.1f} standard errors)"
        )
    elif first.term == u:
        zh_v = f"有迹象支持“{u} 是影响最大的单个开关”，但证据不足（精确主效应只比第二名 {second.term} 大 {z:.1f} 个标准误）"
        en_v = (
            f"suggests but does not establish that {u} is the strongest single switch (its exact "
            f"main effect exceeds the runner-up {second.term} by only {z:.1f} standard errors)"
        )
    else:
        zh_v = f"不支持“{u} 是影响最大的单个开关”这一结论（精确主效应最大的是 {first.term}）"
        en_v = (
            f"does not support the claim that {u} is the strongest single switch (the largest "
            f"exact main effect is {first.term}'s)"
        )
    return (
        f"影响最大的三个开关依次为 {zh_dir}。笔记中的前三名（untie_attn_weights、"
        f"use_std_residual、use_rms_norm）有 {overlap} 个仍在前三；本次运行{zh_v}。",
        f"The three strongest switches are {en_dir}. Of the notes' top three "
        f"(untie_attn_weights, use_std_residual, use_rms_norm) {overlap} "
        f"{'remains' if overlap == 1 else 'remain'} in the top three; this run {en_v}.",
    )


def seed_pairs(
    pairs: pd.DataFrame, effects: pd.DataFrame, aliased: set[tuple[str, str]] | None = None
) -> tuple[str, str]:
    """Where the notes' two strongest pairs rank here, judged with uncertainty.

    ``pairs`` ranks the 45 pairs by SHAP interaction strength; ``effects`` (``exact_effects``,
    with two-way terms) gives each pair's exact interaction. A note pair counts as "among the
    strongest" when it is significant after Holm correction and the strongest pair's |β| does
    not exceed its own by more than 1.96 standard errors of the difference; the claim is
    supported when both pairs are. ``aliased``: sorted pairs the design aliases with a triple,
    named in the sentence because their estimates are pair + triple sums.
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
            "无法判断排名差异是否超出噪声，因此无法检验“这两对交互最显著”的结论。",
            f"The strongest pair by SHAP interaction is {top}. The notes' two pairs rank "
            f"{ranks[0]} and {ranks[1]} of 45 here, but the design has too few runs for exact "
            "two-way terms, so whether these ranks differ beyond noise, and with it the claim "
            "that they are the strongest interactions, cannot be tested.",
        )
    two["se"] = _se(effects)
    best = two.loc[two["estimate"].abs().idxmax()]
    by = {tuple(sorted(t.split(":"))): r for t, r in two.set_index("term").iterrows()}
    among = []
    for p in SEED_PAIRS:
        r = by[tuple(sorted(p))]
        _, behind = _differs(best.estimate, r.estimate, best.se, r.se)
        among.append(bool(r.p_adjusted < 0.05 and not behind))
    zh_v, en_v = _yes(all(among))
    zh_each = "、".join("是" if a else "否" for a in among)
    best_name = best.term.replace(":", " × ")
    candidates = [tuple(best.term.split(":")), *SEED_PAIRS]
    flagged = list(
        dict.fromkeys(" × ".join(p) for p in candidates if aliased and tuple(sorted(p)) in aliased)
    )
    alias_zh = (
        f"注意 {'、'.join(flagged)} 在本设计中与三元交互互为别名，其估计是二元与三元效应之和。"
        if flagged
        else ""
    )
    alias_en = (
        f" Note that {', '.join(flagged)} {'is' if len(flagged) == 1 else 'are'} aliased with a "
        "triple in this design, so each such estimate is a pair + triple sum."
        if flagged
        else ""
    )
    return (
        f"SHAP 交互作用最强的一对是 {top}。笔记中的两对（untie_attn_weights × use_rms_norm；"
        f"use_std_residual × use_gated_ffn）在 45 对中分别排第 {ranks[0]} 和第 {ranks[1]} 位。"
        f"精确析因模型中最强的二元交互项是 {best_name}（{2 * best.estimate:+.4f}）。"
        "笔记的两对是否属于最强之列（Holm 校正后显著，且与最强一项的 |效应| 之差不超过 1.96 个标准误），"
        f"判断结果依次为：{zh_each}。本次运行{zh_v}“这两对交互最显著”的结论。{alias_zh}",
        f"The strongest pair by SHAP interaction is {top}. The notes' two pairs "
        f"(untie_attn_weights × use_rms_norm and use_std_residual × use_gated_ffn) rank "
        f"{ranks[0]} and {ranks[1]} of 45 here. The strongest exact two-way term is "
        f"{best_name} ({2 * best.estimate:+.4f}); a note pair counts as among the strongest "
        "when it is Holm-significant and the strongest term's |effect| exceeds its own by no "
        f"more than 1.96 standard errors: {', '.join('yes' if a else 'no' for a in among)} "
        f"(in order). So this run {en_v} the claim that they are the strongest "
        f"interactions.{alias_en}",
    )


def mirror(observed: bool, frac: float) -> tuple[str, str]:
    """Note 1's mirror symmetry: observed for its triple? and how common over all triples."""
    zh_o = "也出现了" if observed else "没有出现"
    en_o = "show" if observed else "do not show"
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


def divergence(
    div: pd.DataFrame, n_runs: int, max_corr: float, design_corr: float
) -> tuple[str, str]:
    """How many runs did not finish (diverged or failed), whether any switch setting loses more
    (Holm-adjusted Fisher), and what the losses do to the design: the largest correlation
    between model columns of the ok runs (``max_corr``) against that of all planned runs
    (``design_corr``), both from ``divergence.orthogonality_loss``."""
    lost = int(div["diverged_on"].iloc[0] + div["diverged_off"].iloc[0])
    if lost == 0:
        return (
            f"全部 {n_runs} 个运行均正常结束，无一发散或失败；因此不存在因剔除运行而产生的偏差，"
            "设计的正交性也保持不变。",
            f"All {n_runs} runs finished normally, none diverged or failed; so no run is left "
            "out, nothing is biased by leaving runs out, and the design keeps its orthogonality.",
        )
    sig = div[div["p_adjusted"] < 0.05]["switch"].tolist()
    zh_s = (
        f"{'、'.join(sig)} 打开与关闭时未正常结束的比例显著不同（Fisher 精确检验，Holm 校正）"
        if sig
        else "没有哪个开关打开与关闭时未正常结束的比例显著不同（Fisher 精确检验，Holm 校正；"
        "事件少时检验功效有限，不显著并不等于没有偏差）"
    )
    en_s = (
        f"the non-completion rate of {', '.join(sig)} differs between on and off (Fisher's "
        "exact test, Holm-adjusted)"
        if sig
        else "no switch's non-completion rate differs between on and off (Fisher's exact test, "
        "Holm-adjusted; with few events the test has little power, so this is no proof of "
        "no bias)"
    )
    return (
        f"{n_runs} 个运行中有 {lost} 个未正常结束；{zh_s}。剔除这些运行后，主效应列与二元交互列两两之间的"
        f"最大相关系数为 {max_corr:.2f}（全部计划运行中为 {design_corr:.2f}），各效应的估计因此不再相互独立。",
        f"{lost} of {n_runs} runs did not finish; {en_s}. Without them the largest correlation "
        f"between main-effect and two-way columns is {max_corr:.2f} ({design_corr:.2f} over all "
        "planned runs), so the effect estimates are no longer independent of each other.",
    )


def aliasing(counts: dict, coverage: float) -> tuple[str, str]:
    """What the screening design can say about three-way interactions (``counts`` from
    ``interactions.alias_counts``)."""
    c = counts
    return (
        f"在这一设计中，{c['triples']} 个三元交互对比里有 {c['with_pair']} 个与某个二元交互互为别名，"
        f"{c['with_triple']} 个与另一个三元交互互为别名，合计 {c['with_any']} 个无法单独估计"
        "（别名结构由设计矩阵算出，见开关扫描一章）；反过来，有 "
        f"{c['pairs_with_triple']} 个二元交互与三元交互互为别名，它们的“精确”估计其实是二元与三元效应之和。"
        f"此外，计算三元交互强度时向代理模型查询的开关组合中只有 {coverage:.0%} 实际训练过，"
        "其余都依赖代理模型外推。因此这里的三元排序只能用于筛选，需要专门的验证实验确认。",
        f"In this design {c['with_pair']} of the {c['triples']} three-way contrasts are aliased "
        f"with a two-way interaction and {c['with_triple']} with another three-way one, so "
        f"{c['with_any']} cannot be estimated on their own (the alias structure is computed from "
        f"the design matrix; see the sweep chapter). Conversely, {c['pairs_with_triple']} "
        'two-way interactions are aliased with triples, so their "exact" estimates are sums '
        "of a pair and a triple effect. Of the configurations the surrogate is queried about "
        f"for the triple strengths, only {coverage:.0%} were trained; the rest are the "
        "surrogate's extrapolation. The triple ranking here is therefore a screen, to be "
        "confirmed by a dedicated follow-up.",
    )


def confirmation(
    cmp: pd.DataFrame, switches: list[str], reference: str, alias: str = ""
) -> tuple[str, str]:
    """One sentence per confirmation experiment: its top-order interaction (and for a pair or a
    triple, whether it is confirmed), from ``confirm.compare_screening``; ``alias``: what the
    screening design aliased the top-order term with, named in the sentence."""
    k = len(switches)
    r = cmp[cmp["order"] == k].iloc[0]
    name = " × ".join(switches)
    ref_zh = {"all-on": "全部打开（Llama 配置）", "all-off": "全部关闭（PT 配置）"}[reference]
    ref_en = {"all-on": "all on (Llama)", "all-off": "all off (PT)"}[reference]
    ci = f"{r.effect:+.4f}（95% CI {r.effect_low:+.4f} 至 {r.effect_high:+.4f}）"
    ci_en = f"{r.effect:+.4f} (95% CI {r.effect_low:+.4f} to {r.effect_high:+.4f})"
    screen = "" if np.isnan(r.screen_effect) else f"；筛选设计中为 {r.screen_effect:+.4f}"
    screen_en = (
        "" if np.isnan(r.screen_effect) else f"; the screening design gave {r.screen_effect:+.4f}"
    )
    zh_v = {
        "confirmed": "得到确认",
        "differs": "与筛选设计的估计不一致（两者的估计对象不同：这里以参照组合为条件，筛选设计是对整个设计的平均）",
        "inconclusive": "既未得到确认也未被否定（区间太宽，无法判断）",
    }[r.outcome]
    en_v = {
        "confirmed": "confirmed",
        "differs": "at odds with the screening estimate (the two estimate different things: this one "
        "is conditional on the reference, the screening one an average over the design)",
        "inconclusive": "neither confirmed nor contradicted (the interval is too wide to tell)",
    }[r.outcome]
    order_zh = {2: "二元", 3: "三元", 4: "四元"}.get(k, f"{k} 元")
    order_en = {2: "two-way", 3: "three-way"}.get(k, f"{k}-way")
    pairs = cmp[(cmp["order"] == 2) & (cmp["order"] < k) & cmp["confirmed"]]["term"]
    pairs = [t.replace(":", " × ") for t in pairs]
    more_zh = f"其中的二元交互 {'、'.join(pairs)} 得到确认。" if pairs else ""
    more_en = (
        f" Of its two-way terms, {', '.join(pairs)} {'is' if len(pairs) == 1 else 'are'} confirmed."
        if pairs
        else ""
    )
    al = alias.replace(":", " × ")
    al_zh = f"（在筛选设计中它与 {al} 互为别名）" if alias else ""
    al_en = f" (aliased in the screening design with {al})" if alias else ""
    return (
        f"在其余开关{ref_zh}的条件下，{name} 的{order_zh}交互效应{al_zh}为 {ci}{screen}，{zh_v}。{more_zh}",
        f"With the other switches held {ref_en}, the {order_en} interaction {name}{al_en} is "
        f"{ci_en}{screen_en}: {en_v}.{more_en}",
    )


def replication(lof: dict, het: dict, n_configs: int, n_seeds: int) -> tuple[str, str]:
    """Pure error (pooled over the replicated design configs and the anchors) and lack of fit,
    from ``effects.lack_of_fit`` and ``noise.heteroscedasticity`` of the same runs."""
    model_zh = {1: "主效应模型", 2: "含二元交互的模型", 3: "含三元交互的模型"}[lof["order"]]
    model_en = {1: "main-effects", 2: "two-way", 3: "three-way"}[lof["order"]]
    ok = lof["p_value"] >= 0.05
    fit_zh = f"{model_zh}{'未见显著失拟' if ok else '存在显著失拟'}"
    fit_en = f"the {model_en} model shows {'no ' if ok else ''}significant lack of fit"
    het_zh = "各组方差差异显著" if het["p_value"] < 0.05 else "未检出各组方差的差异"
    het_en = "differ significantly" if het["p_value"] < 0.05 else "show no detectable difference"
    return (
        f"从设计中随机抽取 {n_configs} 个开关组合，各以 {n_seeds} 个新种子重复训练；连同四个参照组合，"
        f"合并纯误差标准差为 {lof['sd_pe']:.4f}（{lof['df_pe']} 个自由度）。失拟检验 F = {lof['F']:.2f}，"
        f"p = {lof['p_value']:.3g}：{fit_zh}。{het['n_groups']} 个重复组的种子标准差介于 "
        f"{het['sd_min']:.4f} 与 {het['sd_max']:.4f} 之间（相差 {het['sd_ratio']:.1f} 倍），"
        f"Brown–Forsythe 检验 p = {het['p_value']:.3g}，{het_zh}；但每组只有 3–6 次运行，该检验功效很低。"
        "因此合并纯误差反映的是各组合的平均噪声水平。",
        f"{n_configs} randomly chosen configs of the design were trained again with {n_seeds} new "
        f"seeds each; pooled with the four anchors, the pure-error sd is {lof['sd_pe']:.4f} on "
        f"{lof['df_pe']} degrees of freedom. The lack-of-fit test gives F = {lof['F']:.2f}, "
        f"p = {lof['p_value']:.3g}: {fit_en}. Over {het['n_groups']} replicated groups the seed "
        f"sd ranges from {het['sd_min']:.4f} to {het['sd_max']:.4f} ({het['sd_ratio']:.1f}×); by "
        f"Brown–Forsythe (p = {het['p_value']:.3g}) they {het_en}, but with 3–6 runs a group "
        "the test has little power. The pooled pure error is therefore an average noise level.",
    )


def spread_claim(spread: pd.DataFrame, switch: str = "use_rms_norm") -> tuple[str, str]:
    """Note 2's claim as stated (the other switches' effects grow with ``switch`` on), from
    ``variance.conditional_spread``: the mean growth with its interval, and which switches'
    effects grow or shrink beyond noise."""
    a = spread.attrs
    grows = a["growth_low"] > 0
    up = spread[spread["growth_low"] > 0]["switch"].tolist()
    down = spread[spread["growth_high"] < 0]["switch"].tolist()
    zh_v, en_v = _yes(grows)
    zh_each = (
        f"单看各开关，{'、'.join(up)} 的效应显著增大" if up else "没有哪个开关的效应显著增大"
    ) + (f"，{'、'.join(down)} 的效应显著减小" if down else "")
    en_each = (
        f"switch by switch, the effect of {', '.join(up)} grows beyond noise"
        if up
        else "no single switch's effect grows beyond noise"
    ) + (f", that of {', '.join(down)} shrinks" if down else "")
    return (
        f"{switch} 打开时损失的标准差为 {a['sd_on']:.4f}，关闭时为 {a['sd_off']:.4f}；"
        f"其余开关效应的平均绝对值分别为 {a['mean_abs_on']:.4f} 与 {a['mean_abs_off']:.4f}。"
        f"按各开关自身方向计的效应增量平均为 {a['growth']:+.4f}（95% CI {a['growth_low']:+.4f} 至 "
        f"{a['growth_high']:+.4f}，p = {a['p_value']:.3g}）；{zh_each}。本次运行{zh_v}"
        f"“{switch} 打开时其他开关的影响急剧增大”这一论断。",
        f"With {switch} on the loss sd is {a['sd_on']:.4f}, against {a['sd_off']:.4f} with it "
        f"off; the other switches' mean |effect| is {a['mean_abs_on']:.4f} against "
        f"{a['mean_abs_off']:.4f}. Their effects grow, in each one's own direction, by "
        f"{a['growth']:+.4f} on average (95% CI {a['growth_low']:+.4f} to "
        f"{a['growth_high']:+.4f}, p = {a['p_value']:.3g}); {en_each}. So this run {en_v} the "
        f"claim that the other switches' effects grow sharply with {switch} on.",
    )


def mean_equivalence(
    effect: float, tost: dict, margin: float, switch: str = "use_rms_norm"
) -> tuple[str, str]:
    """ "The mean is unchanged" as an equivalence test (TOST) with a stated margin."""
    ci = f"{tost['low90']:+.4f} 至 {tost['high90']:+.4f}"
    ci_en = f"{tost['low90']:+.4f} to {tost['high90']:+.4f}"
    if tost["equivalent"]:
        zh = f"在 ±{margin:g} nats/byte 的等价界值内，可以认为平均损失不变"
        en = f"within a margin of ±{margin:g} nats/byte the mean loss is unchanged"
    else:
        zh = f"因此不能认为平均损失不变（等价界值 ±{margin:g} nats/byte）"
        en = f"the mean loss cannot be called unchanged (margin ±{margin:g} nats/byte)"
    p = "> 0.999" if tost["p_value"] > 0.999 else f"= {tost['p_value']:.3g}"
    return (
        f"{switch} 的主效应为 {effect:+.4f}（90% CI {ci}）；等价性检验（TOST）p {p}，{zh}。",
        f"The main effect of {switch} is {effect:+.4f} (90% CI {ci_en}); the equivalence test "
        f"(TOST) gives p {p}, so {en}.",
    )


def capacity(cap: pd.DataFrame, switch: str) -> tuple[str, str]:
    """How much of a switch's effect survives when the off arm gets the same parameter count,
    and the effect of the extra parameters alone (``confirm.capacity_table``)."""
    c = cap.set_index("arm")
    plain, matched = c.loc["off"], c.loc["off, matched"]
    share = matched.effect / plain.effect if plain.effect else float("nan")
    survives = matched.effect_high < 0 or matched.effect_low > 0
    zh_v = "仍然显著" if survives else "不再显著"
    en_v = "remains significant" if survives else "is no longer significant"
    a = cap.attrs
    n = int(c["n"].min())
    return (
        f"{switch} 打开增加了 {int(c.loc['on', 'n_params'] - plain.n_params)} 个参数。"
        f"以参数量相当（加宽 FFN，不少于打开时）的模型为对照，它的效应为 {matched.effect:+.4f}（Welch 95% CI "
        f"{matched.effect_low:+.4f} 至 {matched.effect_high:+.4f}），相当于未匹配时效应（{plain.effect:+.4f}）的 "
        f"{share:.0%}，{zh_v}；多出的参数本身使损失变化 {a['capacity']:+.4f}（95% CI "
        f"{a['capacity_low']:+.4f} 至 {a['capacity_high']:+.4f}）。每组只有 {n} 个种子，检验功效有限。",
        f"Turning {switch} on adds {int(c.loc['on', 'n_params'] - plain.n_params)} parameters. "
        f"Against a control with at least as many parameters (a wider FFN) its effect is "
        f"{matched.effect:+.4f} (Welch 95% CI {matched.effect_low:+.4f} to "
        f"{matched.effect_high:+.4f}), {share:.0%} of the unmatched {plain.effect:+.4f}; it "
        f"{en_v}. The extra parameters alone change the loss by {a['capacity']:+.4f} (95% CI "
        f"{a['capacity_low']:+.4f} to {a['capacity_high']:+.4f}). With {n} seeds an arm the "
        "tests have little power.",
    )


def spread_vs_noise(ratio: float, p_value: float) -> tuple[str, str]:
    """The spread across configs against the seed noise: the F test of "no config differences"
    (variance across configs over the pure-error variance) and the between-config variance in
    units of the seed variance (ratio − 1, since the configs' variance includes the noise)."""
    excess = max(ratio - 1, 0.0)
    sig = p_value < 0.05
    p = "< 0.001" if p_value < 0.001 else f"= {p_value:.3g}"
    return (
        f"开关组合间的差异{'显著' if sig else '没有显著'}大于种子噪声：组合间方差是纯误差方差的 "
        f"{ratio:.1f} 倍（F 检验 p {p}），扣除噪声后组合间方差约为种子方差的 {excess:.1f} 倍。",
        f"The spread across configs is {'significantly' if sig else 'not significantly'} larger "
        f"than seed noise: the variance across configs is {ratio:.1f} times the pure-error "
        f"variance (F test p {p}); net of the noise, the between-config variance is about "
        f"{excess:.1f} times the seed variance.",
    )


def training_ranking(agree: pd.DataFrame) -> tuple[str, str]:
    """Whether the ranking at the last evaluation is already the ranking earlier in training."""
    last = int(agree["step"].max())
    early = agree[agree["step"] < last]
    zh = "；".join(
        f"第 {int(r.step)} 步，组合损失排序 ρ = {r.config_rho:.2f}、开关 |主效应| 排序 ρ = {r.effect_rho:.2f}"
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
        "说明在所训练的步数内排序已趋于稳定"
        if stable
        else f"第 {int(prev.step)} 步到第 {last} 步之间开关的排序仍在变化，更长的训练可能改变结论"
    )
    en_v = (
        f"between the last two evaluations (steps {int(prev.step)} and {last}) the switch "
        "ranking barely changes: within the trained budget it has settled"
        if stable
        else f"the switch ranking still moves between steps {int(prev.step)} and {last}: "
        "longer training could change it"
    )
    return (
        f"以第 {last} 步的排序为基准，各评估步的 Spearman 秩相关为：{zh}。{zh_v}。",
        f"Against the ranking at step {last} (Spearman rank correlation) — {en}. So {en_v}.",
    )
