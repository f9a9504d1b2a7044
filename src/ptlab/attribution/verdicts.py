"""The attribution chapter's generated sentences, each returned as (zh, en) from the study's
tables (``ptlab.attribution.study``), so no number or conclusion in its prose is typed by hand.
Shown in: chapter *attribution*."""

from __future__ import annotations

import pandas as pd


def sign_lines(stats: pd.DataFrame, sign: pd.DataFrame) -> tuple[str, str]:
    """One bullet per model: L(1), L(0), the mean IG they imply, and the sign test's counts."""
    code = stats[stats["set"] == "code"].set_index("model")
    sign = sign.set_index("model")
    zh, en = [], []
    for o in code.index:
        L1, L0, N = code.loc[o, "loss_on"], code.loc[o, "loss_off"], code.loc[o, "heads"]
        pos, low = sign.loc[o, "heads_ig_positive"], sign.loc[o, "of_which_loo_negative"]
        dl = sign.loc[o, "delta_loss_without_positive"]
        zh.append(
            f"- {o}：L(1) = {L1:.3f}，L(0) = {L0:.3f}，平均 IG = {(L1 - L0) / N:+.4f}；"
            f"{pos} 个头 IG > 0，其中 {low} 个单独移除后损失下降；同时移除全部 IG > 0 的头，"
            f"留出集损失变化 {dl:+.4f}。"
        )
        en.append(
            f"- {o}: L(1) = {L1:.3f}, L(0) = {L0:.3f}, mean IG = {(L1 - L0) / N:+.4f}; "
            f"{pos} heads have IG > 0, {low} of which lower the loss when removed alone; "
            f"removing all IG > 0 heads at once changes the held-out loss by {dl:+.4f}."
        )
    return "\n".join(zh), "\n".join(en)


def sign_verdict(stats: pd.DataFrame) -> tuple[str, str]:
    """Whether any model's mean IG at b = 0 is positive (the note's observation)."""
    code = stats[stats["set"] == "code"]
    if (code["loss_on"] > code["loss_off"]).any():
        return (
            "本次运行中有模型的平均 IG 为正，即关闭全部注意力头反而使损失更低。",
            "In this run some model has a positive mean IG: switching all heads off lowers "
            "its loss.",
        )
    return (
        "本次运行中所有模型的 L(0) 都高于 L(1)，平均 IG 都为负，"
        "与笔记中 b = 0 时“平均为正”的观察不同。",
        "In this run L(0) exceeds L(1) for every model, so every mean IG is negative, unlike "
        "the note's positive means at b = 0.",
    )


NOTE_STRATEGIES = ("abs_ig", "signed_ig", "signed_ig_code", "layer_bands")


def best_note_strategy(verification: pd.DataFrame) -> tuple[str, str]:
    """Per model, the note's strategy with the smallest loss increase at the verified k."""
    note = verification[verification["strategy"].isin(NOTE_STRATEGIES)]
    best = note.loc[note.groupby("model")["delta_loss"].idxmin()]
    pairs = list(zip(best["model"], best["strategy"], strict=True))
    return (
        "；".join(f"{o} 上最好的是 {s}" for o, s in pairs),
        "; ".join(f"on {o} the best is {s}" for o, s in pairs),
    )
