"""Generated (zh, en) sentences that state what the numbers say, so prose never hard-codes a
conclusion. Each function takes computed tables and returns a pair of Markdown strings; the
``*_outcome`` functions return the verdict word (``ptlab.verdict.OUTCOMES``) a claim of the
notes gets. Shown in: chapters *sweep*, *shap* and *variance*.

Conventions: switches by their short names (``ptlab.models.short_name``), the notes' numbers
only when quoting a note ("Note 1's switch 3, rms_norm"); every verdict on a claim is one of
supported / contradicted / undetermined, decided on intervals (never on a non-significant p),
and an undetermined verdict gives the smallest effect the run could have detected. Units are
nats/byte in English and 奈特/字节 in Chinese; the Chinese states each result once, as a
Chinese paper would.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ptlab.models import NOTE_NUMBERS, short_name
from ptlab.verdict import OUTCOME_WORDS, detectable_effect, outcome

# The claims of the lab's Note 1 (book/en/notes.md), by switch name.
SEED_TOP3 = ("untie_attn_weights", "use_std_residual", "use_rms_norm")
SEED_PAIRS = (("untie_attn_weights", "use_rms_norm"), ("use_gated_ffn", "use_std_residual"))
ZH_UNIT, EN_UNIT = "奈特/字节", "nats/byte"


def words(result: str) -> tuple[str, str]:
    """The verdict word in both languages."""
    return OUTCOME_WORDS["zh"][result], OUTCOME_WORDS["en"][result]


def note_name(switch: str) -> tuple[str, str]:
    """A switch as a note numbers it: ("笔记一的 3 号开关 rms_norm", "Note 1's switch 3, rms_norm");
    just the short name when the notes give it no number."""
    number = {v: k for k, v in NOTE_NUMBERS.items()}.get(switch)
    s = short_name(switch)
    if number is None:
        return s, s
    return f"笔记一的 {number} 号开关 {s}", f"Note 1's switch {number}, {s}"


def term(*switches: str) -> str:
    """Switches as one term's short name, in the book's switch order (untie_attn × rms_norm)."""
    from ptlab.models import SWITCHES

    return short_name(":".join(s for s in SWITCHES if s in switches))


def _ci(low: float, high: float, digits: int = 3, lang: str = "en") -> str:
    if lang == "zh":
        return f"95% 置信区间 {low:+.{digits}f} 至 {high:+.{digits}f}"
    return f"95% CI {low:+.{digits}f} to {high:+.{digits}f}"


def surrogate_fit(r2: float) -> tuple[str, str]:
    """How far to trust SHAP given the surrogate's out-of-fold R²."""
    if r2 >= 0.7:
        return (
            f"代理模型的交叉验证 R² 为 {r2:.2f}，能解释开关组合间的大部分差异，SHAP 的结论可以参考。",
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
    t = stats.t.ppf(0.975, effects.attrs.get("noise_dof", 10**6))
    return (effects["ci_high"] - effects["ci_low"]) / (2 * t)


def _gap(b1: float, b2: float, se1: float, se2: float, dof: float) -> tuple[float, float, float]:
    """|b1| − |b2| in effect units (2β) with its 95% interval (orthogonal, independent
    estimates)."""
    d = 2 * (abs(b1) - abs(b2))
    half = 2 * float(stats.t.ppf(0.975, dof)) * float(np.hypot(se1, se2))
    return d, d - half, d + half


def strongest_outcome(effects: pd.DataFrame, switch: str = "untie_attn_weights") -> dict:
    """Note 1's "``switch`` is the strongest single switch", on the exact main effects: the gap
    |effect of switch| − |effect of its strongest rival| with a 95% interval. Supported when the
    interval lies above 0, contradicted when below (a rival is larger beyond noise), else
    undetermined. Returns outcome, rival, gap, low, high, detectable."""
    dof = effects.attrs.get("noise_dof", 10**6)
    main = effects[effects["order"] == 1].assign(se=_se(effects)).set_index("term")
    rivals = main.drop(switch)
    rival = rivals["estimate"].abs().idxmax()
    me, other = main.loc[switch], main.loc[rival]
    d, lo, hi = _gap(me.estimate, other.estimate, me.se, other.se, dof)
    se_d = 2 * float(np.hypot(me.se, other.se))
    return {
        "outcome": outcome(lo, hi, +1),
        "rival": rival,
        "gap": d,
        "low": lo,
        "high": hi,
        "detectable": detectable_effect(se_d, dof),
    }


def top_switches(
    uni: pd.DataFrame, direction: dict[str, float], stab: pd.DataFrame, effects: pd.DataFrame
) -> tuple[str, str]:
    """The three strongest switches by mean |SHAP|, which way each moves the loss and how
    stable its rank is under the bootstrap (``stab``: ``surrogate.rank_stability``), and
    Note 1's claim that untie_attn is the strongest switch (``strongest_outcome``)."""
    top = list(uni["switch"][:3])
    st = stab.set_index("switch")
    n_boot = stab.attrs.get("n_boot")

    def rank_zh(s):
        lo, hi = int(st.loc[s, "rank_lo"]), int(st.loc[s, "rank_hi"])
        return f"名次稳定在第 {lo} 位" if lo == hi else f"名次在第 {lo} 至第 {hi} 位之间浮动"

    def rank_en(s):
        lo, hi = int(st.loc[s, "rank_lo"]), int(st.loc[s, "rank_hi"])
        return f"rank {lo} in every resample" if lo == hi else f"rank {lo}–{hi}"

    zh_dir = "、".join(
        f"{short_name(s)}（打开后损失{'降低' if direction[s] < 0 else '升高'}，{rank_zh(s)}）"
        for s in top
    )
    en_dir = ", ".join(
        f"{short_name(s)} (on {'lowers' if direction[s] < 0 else 'raises'} the loss; {rank_en(s)})"
        for s in top
    )
    boot_zh = f"名次为 {n_boot} 次自助重采样的 90% 区间" if n_boot else "名次为自助法 90% 区间"
    boot_en = f"ranks: 90% interval over {n_boot} bootstrap resamples" if n_boot else "90% ranks"
    overlap = len(set(top) & set(SEED_TOP3))
    r = strongest_outcome(effects)
    u = short_name("untie_attn_weights")
    rival = short_name(r["rival"])
    gap_zh = f"{r['gap']:+.3f} {ZH_UNIT}，{_ci(r['low'], r['high'], lang='zh')}"
    gap_en = f"{r['gap']:+.3f} {EN_UNIT}, {_ci(r['low'], r['high'])}"
    zh_v, en_v = words(r["outcome"])
    tail_zh = (
        ""
        if r["outcome"] != "undetermined"
        else f"本次运行能检出的最小差距约为 {r['detectable']:.3f} {ZH_UNIT}。"
    )
    tail_en = (
        ""
        if r["outcome"] != "undetermined"
        else f" The smallest gap this run could detect is about {r['detectable']:.3f} {EN_UNIT}."
    )
    return (
        f"按平均 |SHAP|，影响最大的三个开关依次为{zh_dir}（{boot_zh}）。"
        f"笔记一的前三名中有 {overlap} 个仍在前三。"
        f"精确主效应上，{u} 与最强的其他开关 {rival} 的 |效应| 之差为 {gap_zh}；"
        f"笔记一“{u} 是影响最大的单个开关”的论断：{zh_v}。{tail_zh}",
        f"By mean |SHAP| the three strongest switches are {en_dir} ({boot_en}). "
        f"{overlap} of Note 1's top three {'remains' if overlap == 1 else 'remain'} in the "
        f"top three. On the exact main effects, |effect of {u}| − |effect of its strongest "
        f"rival, {rival}| is {gap_en}; Note 1's claim that {u} is the strongest single switch: "
        f"{en_v}.{tail_en}",
    )


def seed_pairs(
    pairs: pd.DataFrame,
    effects: pd.DataFrame,
    aliased: dict[tuple[str, str], str] | None = None,
    followups: dict[tuple[str, str], pd.Series] | None = None,
) -> tuple[str, str]:
    """Where the notes' two strongest pairs rank here, judged with uncertainty
    (``pairs_outcome``), naming the pairs the fraction aliases with a triple (``aliased``:
    sorted pair → the triple) and their de-aliased follow-up estimates (``followups``: sorted
    pair → a row of ``confirm.compare_screening`` with effect, effect_low, effect_high)."""
    ranked = pairs.sort_values("interaction_strength", ascending=False).reset_index(drop=True)
    keys = [tuple(sorted(p)) for p in zip(ranked.switch1, ranked.switch2, strict=True)]
    ranks = [keys.index(tuple(sorted(p))) + 1 for p in SEED_PAIRS]
    top = term(ranked.switch1[0], ranked.switch2[0])
    names = [term(*p) for p in SEED_PAIRS]
    head_zh = (
        f"SHAP 交互作用最强的一对是 {top}；笔记一的两对 {names[0]} 与 {names[1]} 在 45 对中分别排第 "
        f"{ranks[0]} 和第 {ranks[1]} 位。"
    )
    head_en = (
        f"The strongest pair by SHAP interaction is {top}; Note 1's two pairs, {names[0]} and "
        f"{names[1]}, rank {ranks[0]} and {ranks[1]} of 45 here."
    )
    r = pairs_outcome(effects, aliased or {}, followups or {})
    if r is None:
        return (
            head_zh + "本设计的运行数不足以估计精确的二元交互项，这一论断无法判定。",
            head_en + " The design has too few runs for exact two-way terms, so the claim "
            "is undetermined.",
        )
    zh_v, en_v = words(r["outcome"])
    each_zh, each_en = [], []
    for p, verdict in zip(SEED_PAIRS, r["each"], strict=True):
        key = tuple(sorted(p))
        name = term(*p)
        alias = (aliased or {}).get(key, "")
        fu = (followups or {}).get(key)
        if alias and fu is not None:
            each_zh.append(
                f"{name} 在筛选设计中与三元交互 {short_name(alias)} 互为别名，去别名的跟进实验给出 "
                f"{fu.effect:+.3f}（{_ci(fu.effect_low, fu.effect_high, lang='zh')}）"
            )
            each_en.append(
                f"{name} is aliased with the triple {short_name(alias)} in the screening "
                f"design; its de-aliased follow-up gives {fu.effect:+.3f} "
                f"({_ci(fu.effect_low, fu.effect_high)})"
            )
        elif alias:
            each_zh.append(f"{name} 与三元交互 {short_name(alias)} 互为别名，其估计是两者之和")
            each_en.append(
                f"{name} is aliased with the triple {short_name(alias)}, so its estimate is a "
                "pair + triple sum"
            )
        else:
            each_zh.append(f"{name} 没有别名")
            each_en.append(f"{name} has no alias")
        each_zh[-1] += "，属于最强之列" if verdict else "，不属于最强之列"
        each_en[-1] += ": among the strongest" if verdict else ": not among the strongest"
    best = short_name(r["best"])
    best_alias = (aliased or {}).get(tuple(sorted(r["best"].split(":"))), "")
    best_zh = f"（它与 {short_name(best_alias)} 互为别名）" if best_alias else ""
    best_en = f" (aliased with {short_name(best_alias)})" if best_alias else ""
    return (
        head_zh + f"精确析因模型中最强的二元交互是 {best}{best_zh}，效应为 {r['best_effect']:+.3f} "
        f"{ZH_UNIT}。判定标准：Holm 校正后显著，且与最强一项的 |效应| 之差的 95% 置信区间含 0。"
        f"{'；'.join(each_zh)}。笔记一“这两对的交互作用最显著”的论断：{zh_v}。",
        head_en + f" The strongest exact two-way term is {best}{best_en}, "
        f"{r['best_effect']:+.3f} {EN_UNIT}. A pair counts as among the strongest when it is "
        "Holm-significant and the 95% interval of its |effect| gap to the strongest term "
        f"contains 0. Of Note 1's pairs, {'; '.join(each_en)}. Note 1's claim that these two "
        "pairs "
        f"interact most: {en_v}.",
    )


def pairs_outcome(effects, aliased: dict, followups: dict) -> dict | None:
    """Note 1's "the pairs 1 × 3 and 2 × 6 interact most": each note pair is among the
    strongest when Holm-significant and the interval of the |effect| gap to the strongest
    exact two-way term contains 0. A note pair the fraction aliases with a triple is judged on
    its de-aliased follow-up instead (``followups``), when there is one. Supported when both
    are among the strongest, contradicted when a pair's gap interval lies wholly below 0 or
    its follow-up rules out an effect that matters (outcome absent), else undetermined."""
    two = effects[effects["order"] == 2].copy()
    if two.empty:
        return None
    dof = effects.attrs.get("noise_dof", 10**6)
    two["se"] = _se(effects)
    best = two.loc[two["estimate"].abs().idxmax()]
    by = {tuple(sorted(t.split(":"))): r for t, r in two.set_index("term").iterrows()}
    each, behind, ruled_out = [], [], []
    for p in SEED_PAIRS:
        key = tuple(sorted(p))
        r = by[key]
        _, lo, hi = _gap(r.estimate, best.estimate, r.se, best.se, dof)
        fu = followups.get(key) if aliased.get(key) else None
        sig = r.p_adjusted < 0.05 if fu is None else fu.outcome == "confirmed"
        each.append(bool(sig and hi >= 0))
        behind.append(hi < 0)
        ruled_out.append(fu is not None and fu.outcome == "absent")
    if all(each):
        result = "supported"
    elif any(behind) or any(ruled_out):
        result = "contradicted"
    else:
        result = "undetermined"
    return {
        "outcome": result,
        "each": each,
        "best": best.name if isinstance(best.name, str) else best["term"],
        "best_effect": 2 * float(best.estimate),
    }


def mirror(observed: bool, frac: float) -> tuple[str, str]:
    """Note 1's mirror symmetry: observed for its triple? and how common over all triples."""
    zh_o = "同样呈现" if observed else "没有呈现"
    en_o = "show" if observed else "do not show"
    return (
        f"本次数据中，这三个开关的八个取值组合{zh_o}“最好与最差互为取反”的镜像；全部 120 个三元组中，"
        f"有 {frac:.0%} 的最好与最差组合互为取反。加性模型对任何三元组都给出镜像，"
        "因此镜像说明的是主效应占主导，而非特殊的三元交互作用。",
        f"Here the eight cells of this triple {en_o} the mirror (best and worst cells are "
        f"bitwise complements); over all 120 triples {frac:.0%} have complementary best and "
        "worst cells. An additive model produces the mirror for every triple, so the "
        "mirror shows that main effects dominate, not a special three-way interaction.",
    )


CLASS_WORDS = {
    "changes": ("改变", "changes"),
    "unchanged": ("不变", "unchanged"),
    "undetermined": ("无法判定", "undetermined"),
}


def classify(
    effect_low: float,
    effect_high: float,
    margin: float,
    ratio_low: float,
    ratio_high: float,
    ratio_margin: float = 1.25,
) -> dict[str, tuple[str, str]]:
    """Note 2's question 3, by intervals: does a switch move the mean, the spread, both or
    neither? The mean *changes* when the 95% interval of its effect excludes 0 and is
    *unchanged* when the interval lies inside ±``margin``; the spread changes when the interval
    of the sd ratio (on / off) excludes 1 and is unchanged inside [1/``ratio_margin``,
    ``ratio_margin``]; anything else is undetermined (a non-significant test is no evidence
    of no effect). Returns {"mean": (zh, en), "spread": (zh, en)}."""

    def word(lo, hi, null, inside):
        if lo > null or hi < null:
            return CLASS_WORDS["changes"]
        if inside(lo, hi):
            return CLASS_WORDS["unchanged"]
        return CLASS_WORDS["undetermined"]

    return {
        "mean": word(effect_low, effect_high, 0.0, lambda lo, hi: -margin < lo and hi < margin),
        "spread": word(
            ratio_low,
            ratio_high,
            1.0,
            lambda lo, hi: 1 / ratio_margin < lo and hi < ratio_margin,
        ),
    }


def variance_outcome(tost: dict, ratio_low: float, ratio_high: float, margin: float) -> str:
    """Note 2's "rms_norm leaves the mean loss alone and widens its spread": supported when the
    mean change is inside ±margin (TOST) and the sd-ratio interval lies above 1; contradicted
    when the mean's 90% interval lies wholly outside ±margin or the ratio's interval lies below
    1 (narrower); else undetermined."""
    mean_out = tost["low90"] > margin or tost["high90"] < -margin
    if tost["equivalent"] and ratio_low > 1:
        return "supported"
    if mean_out or ratio_high < 1:
        return "contradicted"
    return "undetermined"


def variance_claim(
    row, effect: float, tost: dict, margin: float, switch: str = "use_rms_norm"
) -> tuple[str, str]:
    """The notes' conclusion (``variance_outcome``). ``row``: the switch's row of
    ``variance_tests`` (sd_ratio, ratio_low, ratio_high, p_adjusted); ``effect`` its main
    effect (on − off); ``tost`` its equivalence test at ``margin``."""
    result = variance_outcome(tost, row.ratio_low, row.ratio_high, margin)
    zh_v, en_v = words(result)
    s = short_name(switch)
    return (
        f"{s} 打开时，均值模型残差的标准差是关闭时的 {row.sd_ratio:.2f} 倍（95% 置信区间 "
        f"{row.ratio_low:.2f} 至 {row.ratio_high:.2f}，Brown–Forsythe 检验经 Holm 校正后 "
        f"p = {row.p_adjusted:.3g}）；主效应为 {effect:+.3f} {ZH_UNIT}（90% 置信区间 "
        f"{tost['low90']:+.3f} 至 {tost['high90']:+.3f}，等价界值 ±{margin:g}）。"
        f"笔记二“{s} 不改变平均损失、只增大方差”的论断：{zh_v}。",
        f"With {s} on, the residual sd of the mean model is {row.sd_ratio:.2f} times that with "
        f"it off (95% CI {row.ratio_low:.2f} to {row.ratio_high:.2f}; Brown–Forsythe, "
        f"Holm-adjusted p = {row.p_adjusted:.3g}); its main effect is {effect:+.3f} {EN_UNIT} "
        f"(90% CI {tost['low90']:+.3f} to {tost['high90']:+.3f}, margin ±{margin:g}). Note 2's "
        f"claim that {s} leaves the mean loss alone and only widens its spread: {en_v}.",
    )


def effects_summary(effects: pd.DataFrame, rho: float) -> tuple[str, str]:
    """How many exact effects are significant, how many are established larger (or smaller)
    than the seed sd of one run by their intervals, and agreement with the SHAP ranking."""
    sig = effects[effects["p_adjusted"] < 0.05]
    beyond = int(sig["beyond_noise"].sum())
    below = int(effects["below_noise"].sum())
    n_int = int((sig["order"] > 1).sum())
    return (
        f"精确析因模型中有 {len(sig)} 个项在 Holm 校正后显著，其中 {n_int} 个是交互项；"
        f"其中 {beyond} 个的 95% 置信区间整体超出单次运行的种子标准差。另有 {below} 个项的 90% "
        f"置信区间落在 ± 种子标准差之内（等价性检验），可以认为小于种子噪声。主效应大小与 SHAP 排序的 "
        f"Spearman 秩相关为 {rho:.2f}。",
        f"{len(sig)} terms of the exact factorial model are significant after Holm correction "
        f"({n_int} of them interactions); for {beyond} of those the 95% interval lies wholly "
        f"beyond the seed sd of one run. {below} terms have a 90% interval inside ± the seed "
        "sd (an equivalence test): smaller than seed noise. The Spearman correlation between "
        f"main-effect sizes and the SHAP ranking is {rho:.2f}.",
    )


def design_sentence(summary: dict) -> tuple[str, str]:
    """What the sweep's design is, from ``ptlab.sweep.designs.design_summary`` of the rows run
    (math in MyST dollar syntax: glue it with ``{glue:md}`name:myst```)."""
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
        f"本章随机抽取 {n} 个开关组合。这不是正规设计，主效应与交互作用之间并不严格正交，"
        "分析章节中的效应估计会相互影响。",
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
            f"全部 {n_runs} 个运行均正常结束，没有发散或失败的运行，因此不存在剔除运行带来的偏差，"
            "设计的正交性也保持不变。",
            f"All {n_runs} runs finished normally, none diverged or failed; so no run is left "
            "out, nothing is biased by leaving runs out, and the design keeps its orthogonality.",
        )
    sig = [short_name(s) for s in div[div["p_adjusted"] < 0.05]["switch"]]
    zh_s = (
        f"{'、'.join(sig)} 打开与关闭时未正常结束的比例显著不同（Fisher 精确检验，Holm 校正）"
        if sig
        else "没有哪个开关打开与关闭时未正常结束的比例有显著差异（Fisher 精确检验，Holm 校正）；"
        "事件少时检验功效有限，这并不能证明不存在偏差"
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
        f"{n_runs} 个运行中有 {lost} 个未正常结束；{zh_s}。剔除这些运行后，主效应列与二元交互列之间的"
        f"最大相关系数为 {max_corr:.2f}，全部计划运行中为 {design_corr:.2f}，各效应的估计因此不再相互独立。",
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
        f"{c['with_triple']} 个与另一个三元交互互为别名，合计 {c['with_any']} 个无法单独估计；"
        f"反过来，有 {c['pairs_with_triple']} 个二元交互与三元交互互为别名，它们的估计其实是二元与三元效应之和。"
        f"此外，计算三元交互强度时向代理模型查询的开关组合中只有 {coverage:.0%} 实际训练过，"
        "其余都依赖代理模型外推。因此这里的三元排序只能用于筛选，需要专门的验证实验确认。",
        f"In this design {c['with_pair']} of the {c['triples']} three-way contrasts are aliased "
        f"with a two-way interaction and {c['with_triple']} with another three-way one, so "
        f"{c['with_any']} cannot be estimated on their own (the alias structure is computed from "
        f"the design matrix; see the sweep chapter). Conversely, {c['pairs_with_triple']} "
        "two-way interactions are aliased with triples, so their estimates are sums of a pair "
        "and a triple effect. Of the configurations the surrogate is queried about for the "
        f"triple strengths, only {coverage:.0%} were trained; the rest are the surrogate's "
        "extrapolation. The triple ranking here is therefore a screen, to be confirmed by a "
        "dedicated follow-up.",
    )


OUTCOME_TEXT = {
    "confirmed": ("得到确认，符号与大小都与筛选估计一致", "confirmed, in sign and size"),
    "differs": (
        "与筛选估计不一致，两者之差的置信区间不含 0",
        "at odds with the screening estimate (their difference excludes 0)",
    ),
    "absent": ("可以排除大于等价界值的交互作用", "absent: no effect beyond the margin"),
    "undetermined": ("无法判定", "undetermined"),
}


OUTCOME_SHORT = {
    "confirmed": "确认 · confirmed",
    "differs": "不一致 · at odds",
    "absent": "排除 · absent",
    "undetermined": "无法判定 · undetermined",
}


def confirmation(cmp: pd.DataFrame, switches: list[str], reference: str) -> tuple[str, str]:
    """One sentence per confirmation experiment: its top-order term against the screening
    estimate (``confirm.compare_screening``, Holm-adjusted over all experiments), with the
    smallest effect the experiment could detect when undetermined."""
    k = len(switches)
    r = cmp[cmp["order"] == k].iloc[0]
    name = term(*switches)
    ref_zh = {"all-on": "全部打开（Llama）", "all-off": "全部关闭（PT）"}[reference]
    ref_en = {"all-on": "all on (Llama)", "all-off": "all off (PT)"}[reference]
    order_zh = {2: "二元", 3: "三元"}.get(k, f"{k} 元")
    order_en = {2: "two-way", 3: "three-way"}.get(k, f"{k}-way")
    if np.isfinite(r.screen_effect):
        screen_zh = f"；筛选设计的估计为 {r.screen_effect:+.3f}（{_ci(r.screen_low, r.screen_high, lang='zh')}）"
        screen_en = (
            f"; the screening design gave {r.screen_effect:+.3f} "
            f"({_ci(r.screen_low, r.screen_high)})"
        )
    elif r.alias:
        screen_zh = f"；筛选设计中它与 {short_name(r.alias)} 互为别名，无法单独估计"
        screen_en = f"; the screening design aliases it with {short_name(r.alias)}"
    else:
        screen_zh = screen_en = ""
    zh_o, en_o = OUTCOME_TEXT[r.outcome]
    if r.outcome == "undetermined":
        zh_o += f"，该实验能检出的最小效应约为 {r.detectable:.3f}"
        en_o += f"; the smallest effect this experiment detects is about {r.detectable:.3f}"
    return (
        f"在其余开关{ref_zh}时，{name} 的{order_zh}交互效应为 {r.effect:+.3f} {ZH_UNIT}"
        f"（{_ci(r.effect_low, r.effect_high, lang='zh')}，Holm 校正后 p = {r.p_adjusted:.2g}）"
        f"{screen_zh}：{zh_o}。",
        f"With the other switches held {ref_en}, the {order_en} interaction {name} is "
        f"{r.effect:+.3f} {EN_UNIT} ({_ci(r.effect_low, r.effect_high)}, Holm-adjusted "
        f"p = {r.p_adjusted:.2g}){screen_en}: {en_o}.",
    )


def power_sentence(plans: dict, target: float, cap: int, pilot: int) -> tuple[str, str]:
    """What the power calculation asked for and what the profile granted: per experiment
    (``plans``: its switches → ``confirm.power_plan``) the seeds its noisiest cell needs to
    detect ``target`` and gets, and the smallest detectable effect after the pilot and after
    the top-up."""
    from ptlab.models import SWITCHES

    zh, en = [], []
    short = []
    for switches, p in plans.items():
        sw = [s for s in SWITCHES if s in switches]
        name = term(*sw)
        need, got = int(p["needed"].max()), int(p["planned"].max())
        noisy = p.loc[p["needed"].idxmax()]
        cell_zh = "、".join(f"{short_name(s)}{'开' if noisy[s] else '关'}" for s in sw)
        cell_en = ", ".join(f"{short_name(s)} {'on' if noisy[s] else 'off'}" for s in sw)
        now, planned = p.attrs["detectable_now"], p.attrs["detectable_planned"]
        if f"{now:.3f}" == f"{planned:.3f}":  # no seeds added: nothing "falls"
            move_zh, move_en = f"仍为 {now:.3f}", f"stays at {now:.3f}"
        else:
            move_zh, move_en = (
                f"从 {now:.3f} 降到 {planned:.3f}",
                f"goes from {now:.3f} to {planned:.3f}",
            )
        zh.append(
            f"{name} 最嘈杂的组合（{cell_zh}）种子标准差为 {noisy.sd:.3f}，需要 {need} 个种子，"
            f"实际 {got} 个，可检出的最小效应{move_zh}"
        )
        en.append(
            f"{name}: its noisiest cell ({cell_en}) has seed sd {noisy.sd:.3f} and needs {need} "
            f"seeds, gets {got}; its smallest detectable effect {move_en}"
        )
        if p.attrs["detectable_planned"] > target:
            short.append(name)
    tail_zh = (
        f"受本配置档每个组合最多 {cap} 个种子的限制，{'、'.join(short)} 达不到目标；"
        "full 配置档放宽了这一上限。"
        if short
        else "所有实验都达到了目标。"
    )
    tail_en = (
        f"With this profile's cap of {cap} seeds a cell, {', '.join(short)} "
        f"{'falls' if len(short) == 1 else 'fall'} short of the target; the full profile lifts "
        "the cap."
        if short
        else "Every experiment reaches the target."
    )
    return (
        f"每个组合先训练 {pilot} 个种子，再按功效计算为嘈杂的组合补种子（α = 0.05，统计功效 80%，"
        f"目标效应 {target:g} {ZH_UNIT}，种子数与组合的种子标准差成正比）。{'；'.join(zh)}。{tail_zh}",
        f"Every cell first gets {pilot} seeds; a power calculation (α = 0.05, 80% power, target "
        f"effect {target:g} {EN_UNIT}, seeds in proportion to each cell's seed sd) then adds "
        f"seeds to the noisy cells. Per experiment: {'; '.join(en)}. {tail_en}",
    )


def interaction_sentence(row, a: str, b: str) -> tuple[str, str]:
    """One exact two-way term (a row of ``effects.exact_effects``) on the effect scale, with its
    interval and Holm-adjusted p."""
    name = term(a, b)
    ci_zh = _ci(row.effect_low, row.effect_high, lang="zh")
    ci_en = _ci(row.effect_low, row.effect_high)
    return (
        f"精确模型中 {name} 交互项的效应为 {row.effect:+.3f} {ZH_UNIT}（{ci_zh}，Holm 校正后 "
        f"p = {row.p_adjusted:.2g}）。",
        f"In the exact model the {name} term is {row.effect:+.3f} {EN_UNIT} ({ci_en}, "
        f"Holm-adjusted p = {row.p_adjusted:.2g}).",
    )


def replication(lof: dict, het: dict, n_configs: int, n_seeds: int) -> tuple[str, str]:
    """Pure error (pooled over the replicated design configs and the anchors) and lack of fit,
    from ``effects.lack_of_fit`` and ``noise.heteroscedasticity`` of the same runs."""
    model_zh = {1: "主效应模型", 2: "含二元交互的模型", 3: "含三元交互的模型"}[lof["order"]]
    model_en = {1: "main-effects", 2: "two-way", 3: "three-way"}[lof["order"]]
    ok = lof["p_value"] >= 0.05
    fit_zh = f"{model_zh}{'未见显著失拟' if ok else '存在显著失拟，即数据中还有它没有包含的效应（如三元交互）'}"
    fit_en = (
        f"the {model_en} model shows no significant lack of fit"
        if ok
        else f"the {model_en} model shows significant lack of fit: the data hold effects it "
        "leaves out (such as three-way interactions)"
    )
    het_zh = "各组方差差异显著" if het["p_value"] < 0.05 else "未检出各组方差的差异"
    het_en = "differ significantly" if het["p_value"] < 0.05 else "show no detectable difference"
    sizes = (
        f"{het['size_min']}–{het['size_max']}"
        if het["size_min"] != het["size_max"]
        else str(het["size_min"])
    )
    return (
        f"从设计中随机抽取 {n_configs} 个开关组合，各用 {n_seeds} 个新种子重复训练；连同四个参照组合，"
        f"合并纯误差标准差为 {lof['sd_pe']:.4f}（{lof['df_pe']} 个自由度）。失拟检验 F = {lof['F']:.2f}，"
        f"p = {lof['p_value']:.2g}：{fit_zh}。{het['n_groups']} 个重复组的种子标准差介于 "
        f"{het['sd_min']:.4f} 与 {het['sd_max']:.4f} 之间，相差 {het['sd_ratio']:.1f} 倍；"
        f"Brown–Forsythe 检验 p = {het['p_value']:.2g}，{het_zh}，但每组只有 {sizes} 个运行，检验功效很低。"
        "因此合并纯误差只是各组合的平均噪声水平。",
        f"{n_configs} randomly chosen configs of the design were trained again with {n_seeds} new "
        f"seeds each; pooled with the four anchors, the pure-error sd is {lof['sd_pe']:.4f} on "
        f"{lof['df_pe']} degrees of freedom. The lack-of-fit test gives F = {lof['F']:.2f}, "
        f"p = {lof['p_value']:.2g}: {fit_en}. Over {het['n_groups']} replicated groups the seed "
        f"sd ranges from {het['sd_min']:.4f} to {het['sd_max']:.4f} ({het['sd_ratio']:.1f}×); by "
        f"Brown–Forsythe (p = {het['p_value']:.2g}) they {het_en}, but with {sizes} runs a group "
        "the test has little power. The pooled pure error is therefore an average noise level.",
    )


def spread_outcome(spread: pd.DataFrame, followups: pd.DataFrame | None = None) -> str:
    """Note 2's "with use_rms_norm on, the other switches' effects grow", on the mean growth
    (``variance.conditional_spread``) and the de-aliased follow-ups (``followups``: rows of
    ``confirm.compare_screening``, terms ``rms:x``). Contradicted when the mean growth's
    interval lies below 0. Supported when it lies above 0 and every per-switch growth beyond
    noise (Holm) that the design aliases with a triple is confirmed by its follow-up (an
    aliased growth is a pair + triple sum: without a confirming follow-up the verdict cannot
    rest on it). Else undetermined."""
    a = spread.attrs
    result = outcome(a["growth_low"], a["growth_high"], +1)
    if result != "supported":
        return result
    confirmed = set()
    if followups is not None and len(followups):
        for r in followups.itertuples():
            if r.outcome == "confirmed":
                confirmed.update(r.term.split(":"))
    leaning = spread[(spread["p_adjusted"] < 0.05) & (spread["alias"] != "")]
    if any(x not in confirmed for x in leaning["switch"]):
        return "undetermined"
    return result


def spread_claim(
    spread: pd.DataFrame,
    followups: pd.DataFrame | None = None,
    switch: str = "use_rms_norm",
) -> tuple[str, str]:
    """Note 2's claim as stated (``spread_outcome``): the mean growth with its interval, the
    per-switch growths beyond noise after Holm's adjustment, which of them are aliased with a
    triple, and their de-aliased follow-ups."""
    a = spread.attrs
    s = short_name(switch)
    n_alias = int((spread["alias"] != "").sum())
    up = spread[(spread["p_adjusted"] < 0.05) & (spread["growth"] > 0)]
    down = spread[(spread["p_adjusted"] < 0.05) & (spread["growth"] < 0)]

    def names(df):
        return [
            short_name(x) + ("†" if al else "")
            for x, al in zip(df["switch"], df["alias"], strict=True)
        ]

    zh_each = (
        f"经 Holm 校正，{'、'.join(names(up))} 的效应显著增大"
        if len(up)
        else "经 Holm 校正，没有哪个开关的效应显著增大"
    ) + (f"，{'、'.join(names(down))} 的效应显著减小" if len(down) else "")
    en_each = (
        f"after Holm's adjustment the effect of {', '.join(names(up))} grows beyond noise"
        if len(up)
        else "after Holm's adjustment no single switch's effect grows beyond noise"
    ) + (f", that of {', '.join(names(down))} shrinks" if len(down) else "")
    fu_zh = fu_en = ""
    if followups is not None and len(followups):
        parts_zh, parts_en = [], []
        for r in followups.itertuples():
            x = short_name(
                r.term.split(":")[-1] if r.term.split(":")[0] == switch else r.term.split(":")[0]
            )
            zh_o, en_o = OUTCOME_TEXT[r.outcome]
            parts_zh.append(
                f"{x} 为 {r.effect:+.3f}（{_ci(r.effect_low, r.effect_high, lang='zh')}），{zh_o}"
            )
            parts_en.append(f"{x} {r.effect:+.3f} ({_ci(r.effect_low, r.effect_high)}): {en_o}")
        fu_zh = "去别名的 2×2 跟进实验（其余开关全开）给出的效应增量：" + "；".join(parts_zh) + "。"
        fu_en = (
            " The de-aliased 2 × 2 follow-ups (the other switches all on) give these growths: "
            + "; ".join(parts_en)
            + "."
        )
    zh_v, en_v = words(spread_outcome(spread, followups))
    return (
        f"{s} 打开时损失的标准差为 {a['sd_on']:.4f}，关闭时为 {a['sd_off']:.4f}；"
        f"其余开关效应的平均绝对值分别为 {a['mean_abs_on']:.4f} 与 {a['mean_abs_off']:.4f}。"
        f"按各开关自身方向计，效应增量平均为 {a['growth']:+.4f}（{_ci(a['growth_low'], a['growth_high'], 4, 'zh')}）。"
        f"{zh_each}（† 表示该对比在筛选设计中与三元交互互为别名，共 {n_alias} 个，其增量实为二元与三元效应之和）。"
        f"{fu_zh}笔记二“{s} 打开时其他开关的影响急剧增大”的论断：{zh_v}。",
        f"With {s} on the loss sd is {a['sd_on']:.4f}, against {a['sd_off']:.4f} with it "
        f"off; the other switches' mean |effect| is {a['mean_abs_on']:.4f} against "
        f"{a['mean_abs_off']:.4f}. Their effects grow, in each one's own direction, by "
        f"{a['growth']:+.4f} on average ({_ci(a['growth_low'], a['growth_high'], 4)}); "
        f"{en_each} (†: aliased with a triple in the screening design, {n_alias} of the "
        f"contrasts, whose growth is a pair + triple sum).{fu_en} Note 2's claim that the "
        f"other switches' effects grow sharply with {s} on: {en_v}.",
    )


def residual_ratio(attrs: dict) -> tuple[str, str]:
    """The two halves' residual sd ratio (``variance.conditional_spread`` attrs)."""
    a = attrs
    return (
        f"两半各自加性模型的残差标准差之比为 {a['resid_ratio']:.2f}（95% 置信区间 "
        f"{a['resid_low']:.2f} 至 {a['resid_high']:.2f}）。",
        f"The ratio of the two halves' residual sds is {a['resid_ratio']:.2f} (95% CI "
        f"{a['resid_low']:.2f} to {a['resid_high']:.2f}).",
    )


def mean_equivalence(
    effect: float, tost: dict, margin: float, switch: str = "use_rms_norm"
) -> tuple[str, str]:
    """ "The mean is unchanged" as an equivalence test (TOST) with a stated margin."""
    s = short_name(switch)
    p = "> 0.999" if tost["p_value"] > 0.999 else f"= {tost['p_value']:.3g}"
    if tost["equivalent"]:
        zh = f"在 ±{margin:g} {ZH_UNIT} 的等价界值内，可以认为平均损失不变"
        en = f"within a margin of ±{margin:g} {EN_UNIT} the mean loss is unchanged"
    elif tost["low90"] > margin or tost["high90"] < -margin:
        zh = f"平均损失的变化超出 ±{margin:g} {ZH_UNIT} 的等价界值"
        en = f"the mean loss changes by more than the margin of ±{margin:g} {EN_UNIT}"
    else:
        zh = f"不能认为平均损失不变（等价界值 ±{margin:g} {ZH_UNIT}），也不能认为它超出界值"
        en = (
            f"the mean loss can be called neither unchanged nor changed beyond the margin "
            f"(±{margin:g} {EN_UNIT})"
        )
    return (
        f"{s} 的主效应为 {effect:+.3f} {ZH_UNIT}，90% 置信区间 {tost['low90']:+.3f} 至 "
        f"{tost['high90']:+.3f}；等价性检验（TOST）p {p}，{zh}。",
        f"The main effect of {s} is {effect:+.3f} {EN_UNIT} (90% CI {tost['low90']:+.3f} to "
        f"{tost['high90']:+.3f}); the equivalence test (TOST) gives p {p}, so {en}.",
    )


def capacity(cap: pd.DataFrame, switch: str) -> tuple[str, str]:
    """How much of a switch's effect survives when the off arm gets the same parameter count,
    and the effect of the extra parameters alone (``confirm.capacity_table``)."""
    c = cap.set_index("arm")
    plain, matched = c.loc["off"], c.loc["off, matched"]
    share = matched.effect / plain.effect if plain.effect else float("nan")
    survives = matched.effect_high < 0 or matched.effect_low > 0
    zh_v = "仍超出种子噪声" if survives else "不再能与种子噪声区分"
    en_v = (
        "still stands out from seed noise" if survives else "can no longer be told from seed noise"
    )
    a = cap.attrs
    n = int(c["n"].min())
    s = short_name(switch)
    extra = int(c.loc["on", "n_params"] - plain.n_params)
    return (
        f"{s} 打开后多出 {extra} 个参数。以参数量不少于打开时的模型（加宽 FFN）为对照，它的效应为 "
        f"{matched.effect:+.3f} {ZH_UNIT}（Welch {_ci(matched.effect_low, matched.effect_high, lang='zh')}），"
        f"是未匹配时效应 {plain.effect:+.3f} 的 {share:.0%}，{zh_v}；多出的参数本身使损失变化 "
        f"{a['capacity']:+.3f}（{_ci(a['capacity_low'], a['capacity_high'], lang='zh')}）。每组只有 {n} 个种子，检验功效有限。",
        f"Turning {s} on adds {extra} parameters. Against a control with at least as many "
        f"parameters (a wider FFN) its effect is {matched.effect:+.3f} {EN_UNIT} (Welch "
        f"{_ci(matched.effect_low, matched.effect_high)}), {share:.0%} of the unmatched "
        f"{plain.effect:+.3f}; it {en_v}. The extra parameters alone change the loss by "
        f"{a['capacity']:+.3f} ({_ci(a['capacity_low'], a['capacity_high'])}). With {n} seeds "
        "an arm the tests have little power.",
    )


def spread_vs_noise(ratio: float, p_value: float) -> tuple[str, str]:
    """The spread across configs against the seed noise: the F test of "no config differences"
    (variance across configs over the pure-error variance). The chapter states the
    between-config sd in seed sds, √(ratio − 1), from its own glue (the landing page quotes
    it)."""
    sig = p_value < 0.05
    p = "< 0.001" if p_value < 0.001 else f"= {p_value:.3g}"
    return (
        f"开关组合间的差异{'显著' if sig else '没有显著'}大于种子噪声：组合间方差是纯误差方差的 "
        f"{ratio:.1f} 倍（F 检验 p {p}）。",
        f"The spread across configs is {'significantly' if sig else 'not significantly'} larger "
        f"than seed noise: the variance across configs is {ratio:.1f} times the pure-error "
        f"variance (F test p {p}).",
    )


def training_ranking(agree: pd.DataFrame) -> tuple[str, str]:
    """Whether the ranking at the last evaluation is already the ranking earlier in training."""
    last = int(agree["step"].max())
    early = agree[agree["step"] < last]
    zh = "；".join(
        f"第 {int(r.step)} 步，组合损失排序 ρ = {r.config_rho:.2f}，开关 |主效应| 排序 ρ = {r.effect_rho:.2f}"
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
        f"Against the ranking at step {last} (Spearman rank correlation): {en}. So {en_v}.",
    )


def gap_to_models(
    gap: float, low: float, high: float, n_seeds: int, models_gap: float, models_seeds: int
) -> tuple[str, str]:
    """Why the sweep's all-off vs all-on gap differs from the models chapter's: the two
    chapters train the same configs with the same seeds (identical runs), and the sweep's
    anchors add seeds, so the two are means over different numbers of seeds."""
    inside = low <= models_gap <= high
    return (
        f"模型族一章用前 {models_seeds} 个种子训练同样的两个组合（运行完全相同），得到的差距为 "
        f"{models_gap:.3f} {ZH_UNIT}；本章的参照组合共有 {n_seeds} 个种子，差距为 {gap:.3f}。"
        f"两者只差在多出的种子上；前者{'在' if inside else '不在'}本章的置信区间之内。",
        f"The models chapter trains the same two configs with the first {models_seeds} seeds "
        f"(identical runs) and finds a gap of {models_gap:.3f} {EN_UNIT}; the anchors here have "
        f"{n_seeds} seeds and a gap of {gap:.3f}. The two differ only by the added seeds, and "
        f"the former lies {'inside' if inside else 'outside'} this chapter's interval.",
    )
