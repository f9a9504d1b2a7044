# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   ptlab:
#     seconds: {smoke: 5, quick: 3}  # fresh-clone quick book, 2-core CPU (2026-12-05)
#     depends: [models, sweep, shap, variance, attribution, residual, circuits]
#     profiles:
#       smoke: {}
# ---

# %% [markdown] tags=["lang-zh"]
# # 结论总账
#
# 本页逐条列出[研究笔记](notes.md)中由本书检验的每一条结论、本次构建给出的判定、判定所依据的区间，
# 以及作出判定的章节。判定只用三个词：**支持**（区间落在笔记所说的一侧）、**否定**（区间落在另一侧，
# 或整个落在声明的可忽略范围之内，排除了笔记所说的那种量级的效应）和**无法判定**（区间跨过零；
# 此时依据一栏给出本次实验能以 80% 功效检测到的最小效应）。“无法判定”不是“不支持”：
# 它只说明这次实验的规模还不足以下结论。表中每一格都由各章本次运行的计算结果生成，没有手写的数字。

# %% [markdown] tags=["lang-en"]
# # The claims ledger
#
# This page lists every claim of [the research notes](notes.md) that the book tests, this
# build's verdict on it, the interval behind the verdict, and the section that decides it. A
# verdict is one of three words: **supported** (the interval lies on the side the note claims),
# **contradicted** (it lies on the other side, or wholly inside the stated negligible range, so
# an effect of the kind and size the note claims is ruled out) and **undetermined** (the
# interval straddles zero; the evidence column then gives the smallest effect this run could
# have detected with 80 % power). "Undetermined" is not "not supported": it says the run was too
# small to tell. Every cell is generated from what the chapters computed in this build; no
# number is typed by hand.

# %% tags=["parameters"]
profile = "quick"  # the chapters' profile (this page only gathers their records)

# %% tags=["remove-cell"]
from ptlab.book.claims import OUTCOMES, ledger_markdown, load_claims
from ptlab.book.glue import glue_text, glue_value
from ptlab.book.runner import Book

chapters = [c for c in Book.find().chapter_names() if c != "claims"]
table = load_claims(chapters)
glue_value("n_claims", len(table))
for outcome in OUTCOMES:
    glue_value(f"n_{outcome}", int((table["outcome"] == outcome).sum()))
glue_value("n_notes", int(table["note"].nunique()))
glue_text("ledger_zh", ledger_markdown(table, "zh"))
glue_text("ledger_en", ledger_markdown(table, "en"))

# %% [markdown] tags=["lang-zh"]
# 本次构建共检验了 {glue:text}`n_notes` 篇笔记中的 {glue:text}`n_claims` 条结论：支持
# {glue:text}`n_supported` 条，否定 {glue:text}`n_contradicted` 条，无法判定
# {glue:text}`n_undetermined` 条。
#
# ```{glue:md} ledger_zh
# :format: myst
# ```

# %% [markdown] tags=["lang-en"]
# This build tests {glue:text}`n_claims` claims from {glue:text}`n_notes` notes:
# {glue:text}`n_supported` supported, {glue:text}`n_contradicted` contradicted and
# {glue:text}`n_undetermined` undetermined.
#
# ```{glue:md} ledger_en
# :format: myst
# ```
