"""The claims of the lab's Note 3 (book/en/notes.md), each decided in the book's three words.

A claim is a family of paired comparisons (``ptlab.residual.compare``) all claimed in one
direction: ``supported`` when every comparison's interval lies on the claimed side,
``contradicted`` when any lies on the other side (or, for "hardly matters", outside ±margin),
``undetermined`` otherwise, with the smallest effect the run could have detected. A claim is
decided on the most thorough tier that trained all its variants (the confirmation, else the
screen), and says which. Experiment 3, which the note leaves open, is a measured answer, not a
scored claim (``experiment3``). Every sentence comes in (zh, en). Shown in: chapter *residual*.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ptlab.display import fmt_number
from ptlab.residual.compare import Comparison, compare, family_outcome
from ptlab.verdict import OUTCOME_WORDS

BASE = "baseline"
TOKENS = ("v4_m1a", "v4_m1b", "v4_m1c", "v4_m1d", "v4_m1e")
SLOWDOWN = "excess_slowdown"  # log(eval time / explicit baseline's) − log(1 + slower_margin)


@dataclass(frozen=True)
class ClaimSpec:
    """One claim of Note 3: its words, its comparisons (a, b) and the claimed direction."""

    key: str
    claim_zh: str
    claim_en: str
    pairs: tuple
    sign: int  # −1: a below b (lower loss), +1: above, 0: negligible within ±margin
    section: str  # the chapter's label prefix of the section that decides it
    metric: str = "eval/loss"
    uses_margin: bool = False  # sign 0 claims and "slower" use the settings' margins

    @property
    def variants(self) -> set[str]:
        out = set()
        for pair in self.pairs:
            for side in pair:
                if side is None:
                    continue
                out |= {side} if isinstance(side, str) else set(side)
        return out


def _v1(i: int) -> str:
    return f"v1_m{i}"


CLAIMS: tuple[ClaimSpec, ...] = (
    ClaimSpec(
        "v2_best",
        "V2-M3（可学习 softmax 权重）在 V2 中损失最低",
        "V2-M3 (learned softmax weights) has the lowest loss of V2",
        (("v2_m3", "v2_m1"), ("v2_m3", "v2_m2")),
        -1,
        "residual-claims",
    ),
    ClaimSpec(
        "v2_better",
        "V2-M3 的损失略低于基线",
        "V2-M3's loss is slightly below the baseline's",
        (("v2_m3", BASE),),
        -1,
        "residual-claims",
    ),
    ClaimSpec(
        "v1_best",
        "V1 中 M3、M4（修改 MLP 处）损失最低",
        "V1's M3 and M4 (the MLP site) have the lowest loss of V1",
        tuple((_v1(a), _v1(b)) for a in (3, 4) for b in (1, 2, 5, 6, 7)),
        -1,
        "residual-claims",
    ),
    ClaimSpec(
        "v1_below",
        "V1-M3、V1-M4 的损失略高于基线",
        "V1-M3 and V1-M4 have a loss slightly above the baseline's",
        ((_v1(3), BASE), (_v1(4), BASE)),
        +1,
        "residual-claims",
    ),
    ClaimSpec(
        "v1_m3_m4",
        "V1-M3 略好于 V1-M4",
        "V1-M3 is slightly better than V1-M4",
        ((_v1(3), _v1(4)),),
        -1,
        "residual-claims",
    ),
    ClaimSpec(
        "v1_division",
        "是否除以 m−1 对损失影响不大（M1 对 M2，M3 对 M4）",
        "Dividing by m−1 hardly changes the loss (M1 vs M2, M3 vs M4)",
        ((_v1(1), _v1(2)), (_v1(3), _v1(4))),
        0,
        "residual-claims",
        uses_margin=True,
    ),
    ClaimSpec(
        "v3_site",
        "V3 在 MLP 处修改整体优于在注意力处修改",
        "V3 at the MLP site beats V3 at the attention site",
        (("v3_m1", "v3_m2"), ("v3_m3_1", "v3_m4_1"), ("v3_m3_2", "v3_m4_2")),
        -1,
        "residual-claims",
    ),
    ClaimSpec(
        "v3_better",
        "V3-M3.1、V3-M3.2 的损失略低于基线",
        "V3-M3.1 and V3-M3.2 have a loss slightly below the baseline's",
        (("v3_m3_1", BASE), ("v3_m3_2", BASE)),
        -1,
        "residual-claims",
    ),
    ClaimSpec(
        "v4_scaling",
        "V4 实验 1：缩放取 1/√d_k（M1）时损失最低",
        "V4 experiment 1: the scaling 1/√d_k (M1) gives the lowest loss",
        tuple(("v4_m1", f"v4_m{i}") for i in range(2, 8)),
        -1,
        "residual-claims",
    ),
    ClaimSpec(
        "v4_tokens",
        "V4 实验 2：1A–1E 的损失都略低于基线",
        "V4 experiment 2: 1A–1E all have a loss slightly below the baseline's",
        tuple((t, BASE) for t in TOKENS),
        -1,
        "residual-claims",
    ),
    ClaimSpec(
        "v4_de_abc",
        "V4 实验 2：由输入生成权重的 D、E 优于按位置学习的 A、B、C",
        "V4 experiment 2: D and E (weights generated from the input) beat A, B, C (by position)",
        ((("v4_m1d", "v4_m1e"), ("v4_m1a", "v4_m1b", "v4_m1c")),),
        -1,
        "residual-claims",
    ),
    ClaimSpec(
        "v4_slower",
        "V4 实验 2：1A–1E 的推理明显慢于基线",
        "V4 experiment 2: 1A–1E evaluate clearly slower than the baseline",
        tuple((t, None) for t in TOKENS),
        +1,
        "residual-claims",
        metric=SLOWDOWN,
        uses_margin=True,
    ),
)


@dataclass(frozen=True)
class Decision:
    """A claim decided on one tier."""

    spec: ClaimSpec
    tier: str  # "confirmation" | "screen" | "not run"
    outcome: str
    comparisons: list[Comparison]
    margin: float

    @property
    def n(self) -> int:
        return min((c.n for c in self.comparisons), default=0)


def with_slowdown(runs: pd.DataFrame, slower_margin: float) -> pd.DataFrame:
    """``runs`` with the per-run excess slowdown against the explicit-attention baseline timed
    in the same process: log(eval_time / explicit) − log(1 + slower_margin)."""
    if "eval_time_explicit_ms" not in runs:
        return runs.assign(**{SLOWDOWN: np.nan})
    ratio = runs["eval_time_ms"] / runs["eval_time_explicit_ms"]
    return runs.assign(**{SLOWDOWN: np.log(ratio) - math.log1p(slower_margin)})


def decide(
    spec: ClaimSpec, tiers: dict[str, pd.DataFrame], margin: float, slower_margin: float
) -> Decision:
    """The claim on the first tier (in ``tiers`` order) that trained all its variants."""
    for tier, runs in tiers.items():
        if runs is None or runs.empty:
            continue
        present = set(runs.loc[runs["status"] == "ok", "residual"])
        if spec.variants <= present:
            if spec.metric == SLOWDOWN:
                runs = with_slowdown(runs, slower_margin)
            comps = compare(runs, list(spec.pairs), spec.metric)
            if all(c.n >= 2 for c in comps):
                m = margin if spec.sign == 0 else 0.0
                return Decision(spec, tier, family_outcome(comps, spec.sign, m), comps, m)
    return Decision(spec, "not run", "undetermined", [], 0.0)


def decide_all(tiers: dict[str, pd.DataFrame], margin: float, slower_margin: float):
    return [decide(s, tiers, margin, slower_margin) for s in CLAIMS]


# --- words -----------------------------------------------------------------------------------

TIER_WORDS = {
    "zh": {"confirmation": "确认实验", "screen": "筛选实验", "not run": "未运行"},
    "en": {"confirmation": "confirmation", "screen": "screen", "not run": "not run"},
}


def _num(x: float) -> str:
    return fmt_number(x, 2) if abs(x) < 1e-3 else fmt_number(x)


def _interval(c: Comparison) -> str:
    return f"[{_num(c.low)}, {_num(c.high)}]"


def _key_comparison(d: Decision) -> Comparison:
    """The comparison that carries the verdict: for supported, the weakest (largest Holm p);
    for contradicted, the one on the wrong side; otherwise the least precise."""
    from ptlab.verdict import outcome

    comps = d.comparisons
    words = [outcome(c.low, c.high, d.spec.sign, d.margin) for c in comps]
    if d.outcome == "contradicted":
        return comps[words.index("contradicted")]
    if d.outcome == "supported":
        return max(comps, key=lambda c: c.p_holm if math.isfinite(c.p_holm) else 1.0)
    undecided = [c for c, w in zip(comps, words, strict=True) if w == "undetermined"]
    return max(undecided or comps, key=lambda c: c.high - c.low)


def evidence(d: Decision) -> tuple[str, str]:
    """(zh, en): the tier, seeds, the deciding comparison's interval and, when undetermined,
    the smallest effect that tier could detect."""
    if not d.comparisons:
        return ("本次运行没有训练这条结论涉及的变体。", "this run did not train the variants.")
    c, k, tz, te = (
        _key_comparison(d),
        len(d.comparisons),
        TIER_WORDS["zh"][d.tier],
        TIER_WORDS["en"][d.tier],
    )
    what = f"{c.a} − {c.b}" if c.b != "0" else c.a
    unit_zh, unit_en = (
        ("（对数时间比，扣除 10% 门槛）", " (log time ratio beyond the margin)")
        if (d.spec.metric == SLOWDOWN)
        else ("", "")
    )
    level = f"{100 * (1 - 0.05 / k):.1f}".rstrip("0").rstrip(".")
    zh = (
        f"{tz}，{c.n} 个种子：{what} 为 {_num(c.estimate)}{unit_zh}，"
        f"{level}% 置信区间 {_interval(c)}" + (f"（{k} 项比较取 Holm 校正）" if k > 1 else "")
    )
    en = (
        f"{te}, {c.n} seeds: {what} = {_num(c.estimate)}{unit_en}, "
        f"{level}% interval {_interval(c)}" + (f" (Holm over {k} comparisons)" if k > 1 else "")
    )
    if d.outcome == "undetermined" and math.isfinite(c.detectable):
        zh += f"；可检测的最小效应为 {_num(c.detectable)}"
        en += f"; smallest detectable effect {_num(c.detectable)}"
    if d.spec.sign == 0:
        zh += f"；可忽略的界限 ±{_num(d.margin)}"
        en += f"; negligible within ±{_num(d.margin)}"
    return zh + "。", en + "."


def claims_table(decisions: list[Decision]) -> pd.DataFrame:
    """One row per claim: key, tier, seeds, outcome and the (zh, en) claim and evidence."""
    rows = []
    for d in decisions:
        ev_zh, ev_en = evidence(d)
        rows.append(
            {
                "claim": d.spec.key,
                "tier": d.tier,
                "seeds": d.n,
                "outcome": d.outcome,
                "claim_zh": d.spec.claim_zh,
                "claim_en": d.spec.claim_en,
                "evidence_zh": ev_zh,
                "evidence_en": ev_en,
                "section": d.spec.section,
            }
        )
    return pd.DataFrame(rows)


def comparisons_table(decisions: list[Decision]) -> pd.DataFrame:
    """Every comparison behind every claim (for the CSV and the detailed table)."""
    rows = []
    for d in decisions:
        for c in d.comparisons:
            rows.append(
                {
                    "claim": d.spec.key,
                    "tier": d.tier,
                    "comparison": f"{c.a} − {c.b}" if c.b != "0" else c.a,
                    "n": c.n,
                    "estimate": c.estimate,
                    "low": c.low,
                    "high": c.high,
                    "p_holm": c.p_holm,
                    "detectable": c.detectable,
                }
            )
    return pd.DataFrame(rows)


def claim_lines(decisions: list[Decision]) -> tuple[str, str]:
    """(zh, en) Markdown lists: each claim, its verdict word and its evidence."""
    zh, en = [], []
    for d in decisions:
        ev_zh, ev_en = evidence(d)
        zh.append(f"- {d.spec.claim_zh}：**{OUTCOME_WORDS['zh'][d.outcome]}**。{ev_zh}")
        en.append(f"- {d.spec.claim_en}: **{OUTCOME_WORDS['en'][d.outcome]}**. {ev_en}")
    return "\n".join(zh), "\n".join(en)


def headline(decisions: list[Decision]) -> tuple[str, str]:
    """(zh, en) for the landing page: the three outcomes counted."""
    counts = {o: sum(d.outcome == o for d in decisions) for o in OUTCOME_WORDS["en"]}
    n = len(decisions)
    zh = (
        f"笔记三的 {n} 条结论中，{counts['supported']} 条得到支持，"
        f"{counts['contradicted']} 条被否定，{counts['undetermined']} 条在本次规模下无法判定。"
    )
    en = (
        f"Of Note 3's {n} claims, {counts['supported']} are supported, "
        f"{counts['contradicted']} contradicted and {counts['undetermined']} undetermined at "
        "this run's size."
    )
    return zh, en


# --- experiment 3: a measured answer ----------------------------------------------------------

EXPERIMENT3 = {
    "accumulation": ("v4_m1",),
    "token weights": ("v4_c", "v4_d"),
    "both": ("v4_m1c", "v4_m1d"),
}


def experiment3(runs: pd.DataFrame) -> pd.DataFrame:
    """Note 3's open question (which module brings the gain, which costs the time): for each
    module set, Δ loss against the baseline with its interval (level 1 − 0.05/3, as a claim of
    three comparisons) and the eval-time ratio to the explicit-attention baseline (median)."""
    rows = []
    comps = compare(runs, [(names, BASE) for names in EXPERIMENT3.values()])
    for (module, names), c in zip(EXPERIMENT3.items(), comps, strict=True):
        sel = runs[runs["residual"].isin(names) & (runs["status"] == "ok")]
        ratio = (sel["eval_time_ms"] / sel["eval_time_explicit_ms"]).median()
        rows.append(
            {
                "module": module,
                "variants": ", ".join(names),
                "delta_loss": c.estimate,
                "low": c.low,
                "high": c.high,
                "time_ratio": float(ratio),
            }
        )
    return pd.DataFrame(rows)


def experiment3_answer(table: pd.DataFrame) -> tuple[str, str]:
    """(zh, en): which module lowers the loss (an interval below 0) and which costs the time."""
    gains = table[table["high"] < 0]
    slow = table.loc[table["time_ratio"].idxmax()]
    names = {"accumulation": "logit 累加", "token weights": "token 权重", "both": "两者兼有"}
    if gains.empty:
        zh_gain = "三种组合的损失变化都无法与零区分"
        en_gain = "no combination's change in loss can be told from zero"
    else:
        best = gains.loc[gains["delta_loss"].idxmin()]
        zh_gain = f"损失下降可归于{names[best['module']]}（Δ = {_num(best['delta_loss'])}）"
        en_gain = f"the lower loss comes with {best['module']} (Δ = {_num(best['delta_loss'])})"
    zh = f"{zh_gain}；推理时间主要花在{names[slow['module']]}上（{slow['time_ratio']:.2f} 倍）。"
    en = f"{en_gain}; the eval time goes mostly to {slow['module']} ({slow['time_ratio']:.2f}×)."
    return zh, en


def slope_sentence(slope: float, first: int, last: int, margin: float) -> tuple[str, str]:
    """How the baseline's validation loss still moves at the end of the confirmation: per 100
    steps between ``first`` and ``last``; "nearly flattened" when that is within the
    "hardly matters" margin."""
    if math.isnan(slope):
        return (
            "评估点太少，无法估计基线验证损失在训练末段的斜率。",
            "too few evaluations to estimate the slope of the baseline's loss at the end.",
        )
    flat = abs(slope) < margin
    zh = (
        f"基线的验证损失在第 {first}–{last} 步之间每 100 步变化 {slope:+.4f} 奈特/字节（右图），"
        + ("曲线已基本走平。" if flat else f"仍在下降，超过 ±{margin:.2f} 的“影响不大”界限。")
    )
    en = (
        f"between steps {first} and {last} the baseline's validation loss changes by "
        f"{slope:+.4f} nats per byte per 100 steps (right panel): "
        + (
            "the curve has nearly flattened."
            if flat
            else f"it is still falling, by more than the ±{margin:.2f} 'hardly matters' margin."
        )
    )
    return zh, en
