"""Verdicts on the claims of the lab's Note 3 (book/en/notes.md), as (zh, en) text and one row
per claim. Shown in: chapter *residual*.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ptlab.residual.study import VERSIONS


@dataclass(frozen=True)
class Call:
    """A variant against the baseline: ``better``, ``worse`` or ``tie`` (95 % CI covers 0,
    or fewer than 2 seeds)."""

    variant: str
    delta: float
    low: float
    high: float

    @property
    def outcome(self) -> str:
        if self.high < 0:
            return "better"
        if self.low > 0:
            return "worse"
        return "tie"

    def zh(self) -> str:
        word = {"better": "优于基线", "worse": "劣于基线", "tie": "与基线的差异在噪声之内"}
        ci = f"95% CI [{self.low:+.4f}, {self.high:+.4f}]"
        return f"{self.variant}（Δ = {self.delta:+.4f}，{ci}，{word[self.outcome]}）"

    def en(self) -> str:
        word = {"better": "better than", "worse": "worse than", "tie": "within noise of"}
        return (
            f"{self.variant} (Δ = {self.delta:+.4f}, 95% CI [{self.low:+.4f}, {self.high:+.4f}], "
            f"{word[self.outcome]} the baseline)"
        )


def _calls(table: pd.DataFrame) -> dict[str, Call]:
    return {
        r.variant: Call(r.variant, r.delta_loss, r.ci_low, r.ci_high)
        for r in table.itertuples()
        if r.variant != "baseline"
    }


def _best(calls: dict[str, Call], names) -> str | None:
    present = [n for n in names if n in calls]
    return min(present, key=lambda n: calls[n].delta) if present else None


VERDICT = {
    "supported": ("支持", "supported"),
    "partly": ("部分支持", "partly supported"),
    "not supported": ("不支持", "not supported"),
    "not run": ("未运行", "not run"),
}


def _row(claim: str, zh: str, en: str, verdict: str, evidence_zh: str, evidence_en: str) -> dict:
    return {
        "claim": claim,
        "claim_zh": zh,
        "claim_en": en,
        "verdict": verdict,
        "verdict_zh": VERDICT[verdict][0],
        "verdict_en": VERDICT[verdict][1],
        "evidence_zh": evidence_zh,
        "evidence_en": evidence_en,
    }


def claim_v2(calls: dict[str, Call]) -> dict:
    zh, en = (
        "V2-M3 在 V2 中最好，且略优于基线",
        "V2-M3 is the best of V2 and slightly better than the baseline",
    )
    best = _best(calls, VERSIONS["V2"])
    if best is None or "v2_m3" not in calls:
        return _row("v2", zh, en, "not run", "", "")
    c = calls["v2_m3"]
    verdict = (
        "supported"
        if best == "v2_m3" and c.outcome == "better"
        else "partly"
        if best == "v2_m3" or c.outcome == "better"
        else "not supported"
    )
    return _row(
        "v2", zh, en, verdict, f"V2 中最好的是 {best}；{c.zh()}", f"best of V2: {best}; {c.en()}"
    )


def claim_v1(calls: dict[str, Call]) -> dict:
    zh = "V1-M3/M4（MLP 处）在 V1 中最好但不及基线，除以 m−1 影响不大"
    en = (
        "V1-M3/M4 (MLP site) are the best of V1 but below the baseline; "
        "dividing by m−1 hardly matters"
    )
    literal = [n for n in VERSIONS["V1"] if not n.endswith("_embed")]
    best = _best(calls, literal)
    if best is None or not {"v1_m3", "v1_m4"} <= set(calls):
        return _row("v1", zh, en, "not run", "", "")
    below = all(calls[n].outcome == "worse" for n in ("v1_m3", "v1_m4"))
    pairs = [(a, b) for a, b in (("v1_m1", "v1_m2"), ("v1_m3", "v1_m4")) if {a, b} <= set(calls)]
    gaps = [abs(calls[a].delta - calls[b].delta) for a, b in pairs]
    spread = max(abs(calls[n].delta) for n in literal if n in calls)
    small = all(g < 0.25 * spread for g in gaps)
    hits = (best in ("v1_m3", "v1_m4")) + below + small
    verdict = "supported" if hits == 3 else "partly" if hits else "not supported"
    gap_txt = ", ".join(
        f"|Δ({a}) − Δ({b})| = {g:.4f}" for (a, b), g in zip(pairs, gaps, strict=True)
    )
    return _row(
        "v1",
        zh,
        en,
        verdict,
        f"V1 中最好的是 {best}；{calls['v1_m3'].zh()}；{calls['v1_m4'].zh()}；"
        f"{gap_txt}（V1 最大 |Δ| = {spread:.4f}）",
        f"best of V1: {best}; {calls['v1_m3'].en()}; {calls['v1_m4'].en()}; "
        f"{gap_txt} (largest V1 |Δ| = {spread:.4f})",
    )


def claim_v3(calls: dict[str, Call]) -> dict:
    zh = "V3 在 MLP 处修改优于在注意力处修改，V3-M3.x 略优于基线"
    en = (
        "V3 at the MLP site beats the attention site, "
        "and V3-M3.x are slightly better than the baseline"
    )
    pairs = [
        (a, b)
        for a, b in (("v3_m1", "v3_m2"), ("v3_m3_1", "v3_m4_1"), ("v3_m3_2", "v3_m4_2"))
        if {a, b} <= set(calls)
    ]
    m3 = [n for n in ("v3_m3_1", "v3_m3_2") if n in calls]
    if not pairs or not m3:
        return _row("v3", zh, en, "not run", "", "")
    mlp_wins = sum(calls[a].delta < calls[b].delta for a, b in pairs)
    m3_better = sum(calls[n].outcome == "better" for n in m3)
    hits = (mlp_wins == len(pairs)) + (m3_better == len(m3))
    verdict = (
        "supported" if hits == 2 else "partly" if hits or mlp_wins or m3_better else "not supported"
    )
    return _row(
        "v3",
        zh,
        en,
        verdict,
        f"{len(pairs)} 组对照中 MLP 处有 {mlp_wins} 组更好；"
        + "；".join(calls[n].zh() for n in m3),
        f"the MLP site wins {mlp_wins} of {len(pairs)} pairs; "
        + "; ".join(calls[n].en() for n in m3),
    )


def claim_v4_scaling(calls: dict[str, Call]) -> dict:
    zh, en = (
        "V4 实验 1 中 1/√d_k（M1）是最好的缩放",
        "In V4 experiment 1, 1/√d_k (M1) is the best scaling",
    )
    names = [f"v4_m{i}" for i in range(1, 8)]
    best = _best(calls, names)
    if best is None or "v4_m1" not in calls:
        return _row("v4_scaling", zh, en, "not run", "", "")
    others = [calls[n] for n in names if n in calls and n != "v4_m1"]
    verdict = "supported" if best == "v4_m1" else "not supported"
    ev_en = f"best scaling: {best}; " + "; ".join(c.en() for c in [calls["v4_m1"], *others][:3])
    ev_zh = f"最好的缩放是 {best}；" + "；".join(c.zh() for c in [calls["v4_m1"], *others][:3])
    return _row("v4_scaling", zh, en, verdict, ev_zh, ev_en)


def claim_v4_tokens(calls: dict[str, Call], eval_ratio: dict[str, float]) -> dict:
    zh = "V4 实验 2：1A–1E 均略优于基线，D/E 优于 A/B/C，但推理更慢"
    en = (
        "V4 experiment 2: 1A–1E are slightly better than the baseline, D/E beat A/B/C, "
        "but evaluate slower"
    )
    abc = [n for n in ("v4_m1a", "v4_m1b", "v4_m1c") if n in calls]
    de = [n for n in ("v4_m1d", "v4_m1e") if n in calls]
    if not abc or not de:
        return _row("v4_tokens", zh, en, "not run", "", "")
    names = abc + de
    better = sum(calls[n].outcome == "better" for n in names)
    de_wins = np.mean([calls[n].delta for n in de]) < np.mean([calls[n].delta for n in abc])
    slower = sum(eval_ratio.get(n, np.nan) > 1 for n in names)
    hits = (better == len(names)) + bool(de_wins) + (slower == len(names))
    verdict = "supported" if hits == 3 else "partly" if hits else "not supported"
    return _row(
        "v4_tokens",
        zh,
        en,
        verdict,
        f"{len(names)} 个变体中 {better} 个优于基线；"
        f"D/E 平均 Δ {'低于' if de_wins else '不低于'} A/B/C；"
        f"{slower} 个推理时间长于基线",
        f"{better} of {len(names)} are better than the baseline; the mean Δ of D/E is "
        f"{'below' if de_wins else 'not below'} that of A/B/C; "
        f"{slower} evaluate slower than the baseline",
    )


def claim_v4_modules(calls: dict[str, Call], eval_ratio: dict[str, float]) -> dict:
    zh = "V4 实验 3：logit 累加与 token 权重，哪个模块带来收益，哪个模块耗时"
    en = (
        "V4 experiment 3: which module, logit accumulation or token weights, brings the gain "
        "and which costs the time"
    )
    need = {"v4_m1", "v4_c", "v4_d", "v4_m1c", "v4_m1d"}
    if not need <= set(calls):
        return _row("v4_modules", zh, en, "not run", "", "")
    acc, tok = calls["v4_m1"].delta, np.mean([calls["v4_c"].delta, calls["v4_d"].delta])
    both = np.mean([calls["v4_m1c"].delta, calls["v4_m1d"].delta])
    t_acc = eval_ratio.get("v4_m1", np.nan)
    t_tok = np.nanmean([eval_ratio.get("v4_c", np.nan), eval_ratio.get("v4_d", np.nan)])
    cost_zh = "logit 累加" if t_acc > t_tok else "token 权重"
    cost_en = "logit accumulation" if t_acc > t_tok else "the token weights"
    if min(acc, tok) < 0:
        gain_zh = "收益主要来自" + ("logit 累加" if acc < tok else "token 权重")
        gain_en = "the gain comes mostly from " + (
            "logit accumulation" if acc < tok else "the token weights"
        )
    else:
        gain_zh, gain_en = "两个模块单独使用都没有降低损失", "neither module alone lowers the loss"
    gained = any(calls[n].outcome == "better" for n in need)
    return _row(
        "v4_modules",
        zh,
        en,
        "supported" if gained else "not supported",
        f"仅累加 Δ = {acc:+.4f}，仅 token 权重 Δ = {tok:+.4f}，二者兼有 Δ = {both:+.4f}："
        f"{gain_zh}；推理时间比：仅累加 {t_acc:.2f}，仅 token 权重 {t_tok:.2f}，"
        f"耗时主要来自{cost_zh}",
        f"accumulation only Δ = {acc:+.4f}, token weights only Δ = {tok:+.4f}, "
        f"both Δ = {both:+.4f}: {gain_en}; eval-time ratio: accumulation only {t_acc:.2f}, "
        f"token weights only {t_tok:.2f}, so the time goes mostly to {cost_en}",
    )


def claims(table: pd.DataFrame) -> pd.DataFrame:
    """One row per claim of the note: the claim, a verdict, and the numbers behind it. A
    "better" needs its 95 % CI below 0; "hardly matters" (V1's division by m − 1) a gap under a
    quarter of V1's largest |Δ|; "not run" where the variants were not trained."""
    calls = _calls(table)
    ratio = dict(zip(table["variant"], table["eval_time_ratio"], strict=True))
    return pd.DataFrame(
        [
            claim_v2(calls),
            claim_v1(calls),
            claim_v3(calls),
            claim_v4_scaling(calls),
            claim_v4_tokens(calls, ratio),
            claim_v4_modules(calls, ratio),
        ]
    )
