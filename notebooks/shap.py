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
#     seconds: {smoke: 96, quick: 940}  # 2-core CPU, shared: 163 s + 48 confirmation runs
#     depends: [sweep]
#     profiles:
#       smoke: {n_boot: 5, n_rows: 50, confirm_seeds: 2}
# ---

# %% [markdown] tags=["lang-zh"]
# # XGBoost + SHAP：一元、二元与三元分析
#
# **本章回答的问题：** 十个开关中哪些对验证损失影响最大？哪些开关对、哪些三元组存在交互作用？
# 笔记一（见[研究笔记](notes.md)）中的排序与交互作用结论在本次数据上是否成立？
#
# 本章复现笔记一的全部分析：用 XGBoost 回归器（{ref}`Chen & Guestrin, 2016 <ref-chen-guestrin-2016-zh>`）
# 拟合“十个开关 → eval/loss”，再用 TreeSHAP（{ref}`Lundberg & Lee, 2017 <ref-lundberg-lee-2017-zh>`）
# 解释这个代理模型。一元分析给出每个开关的影响强度，并按其排序把开关编为 1–10 号（后续各章沿用）；
# 二元分析给出开关两两之间的交互作用；三元分析给出代理模型中的三阶交互强度。
# 与笔记不同，我们先报告代理模型的交叉验证 R²，让读者知道 SHAP 究竟能解释多少差异，
# 并用自助法检验排序的稳定性。

# %% [markdown] tags=["lang-en"]
# # XGBoost + SHAP: univariate, bivariate and trivariate analysis
#
# **The question:** which of the ten switches move validation loss the most, which pairs and
# triples of switches interact, and do the rankings and interactions of Note 1 (see
# [the research notes](notes.md)) hold on the book's own data?
#
# This chapter reproduces every analysis of Note 1. An XGBoost regressor
# ({ref}`Chen & Guestrin, 2016 <ref-chen-guestrin-2016-en>`) predicts validation loss from the
# ten switches, and TreeSHAP ({ref}`Lundberg & Lee, 2017 <ref-lundberg-lee-2017-en>`) explains
# this surrogate. The univariate analysis gives each switch's strength; the strength ranking
# numbers the switches 1–10 for the later chapters. The bivariate analysis gives the pairwise
# interactions, and the trivariate analysis the surrogate's three-way interactions. Unlike
# Note 1, we first report the surrogate's out-of-fold R², so that the reader knows how much of
# the loss SHAP explains at all, and we bootstrap the ranking.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles)
study = "switches"  # the sweep chapter's study
results_dir = "results"
table = ""  # an external .xlsx / .csv / .parquet table instead of the study
n_boot = 50  # bootstrap resamples for the ranking's stability
n_rows = 200  # runs sampled for the three-way interaction strength
confirm_top = 1  # strongest screened triples to confirm (the notes' triple and pair always are)
confirm_seeds = 3  # seeds per cell of each confirmation factorial
confirm_reference = "all-on"  # the other switches' setting there: all-on (Llama) | all-off (PT)

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from myst_nb import glue

from ptlab.analysis import analyze, load_switch_table, verdicts
from ptlab.analysis import confirm as C
from ptlab.analysis import interactions as inter
from ptlab.analysis import plots as P
from ptlab.analysis import surrogate as sur
from ptlab.book.glue import glue_text, glue_value
from ptlab.book.plotting import setup_figures
from ptlab.sweep import run_study

setup_figures()

# %%
t = load_switch_table(
    None if table else study,
    table or None,
    results_dir,
    "eval/loss",
    min_rows=16,
    profile=None if table else profile,
)
a = analyze(t, n_rows=n_rows)
number = sur.numbering(a.univariate)
glue_value("n", t.n)
glue_value("n_excluded", t.n_excluded)
glue_value("source", t.source)
glue_value("r2", a.r2_oof)
zh, en = verdicts.surrogate_fit(a.r2_oof)
glue_text("fit_zh", zh)
glue_text("fit_en", en)

# %% [markdown] tags=["lang-zh"]
# 数据来自 {glue:text}`source`：{glue:text}`n` 个正常结束的运行（另有 {glue:text}`n_excluded`
# 个发散或失败的运行被排除）。{glue:md}`fit_zh`

# %% [markdown] tags=["lang-en"]
# The data are {glue:text}`source`: {glue:text}`n` runs that finished normally
# ({glue:text}`n_excluded` diverged or failed runs are left out). {glue:md}`fit_en`

# %%
fig = P.shap_summary(t, a.shap_values, number)
glue("fig_summary", fig, display=False)
plt.close(fig)
cols = list(t.X.columns)
direction = {s: float(a.shap_values[t.X[s] == 1, cols.index(s)].mean()) for s in cols}
stab = sur.rank_stability(t, n_boot=n_boot)
zh, en = verdicts.top_switches(a.univariate, direction, stab, a.effects)
glue_text("top_zh", zh)
glue_text("top_en", en)
a.univariate.set_index("rank").round(3)

# %% [markdown] tags=["lang-zh"]
# ## 一元分析
#
# ```{glue:figure} fig_summary
# :name: fig-shap-summary-zh
#
# 左：每个点是一个运行，横轴为该开关对这个运行的损失的 SHAP 贡献；红色表示开关打开，
# 蓝色表示关闭。右：平均 |SHAP|，即各开关的影响强度；纵轴上的编号即后续各章使用的开关编号。
# ```
#
# {glue:md}`top_zh`
#
# 上表还给出损失最低的 5 个运行与 20 个运行中各开关打开的比例（对应笔记中的两张表）。

# %% [markdown] tags=["lang-en"]
# ## Univariate
#
# ```{glue:figure} fig_summary
# :name: fig-shap-summary-en
#
# Left: each dot is a run; the x axis is the switch's SHAP contribution to that run's loss
# (red: switch on; blue: switch off). Right: mean |SHAP|, the strength of each switch; the
# numbers on the y axis are the switch numbers used in the later chapters.
# ```
#
# {glue:md}`top_en`
#
# The table also gives, for each switch, the fraction of the best 5 and of the best 20 runs that
# have it on (the two tables of Note 1).

# %%
glue_value("n_boot", n_boot)
stable = stab[stab["keep_rank"] >= 0.8]["switch"].tolist()
glue_value("n_stable", len(stable))
glue_value("keep_1", float(stab["keep_rank"].iloc[0]))
glue_value("switch_1", stab["switch"].iloc[0])
stab.round(2)

# %% [markdown] tags=["lang-zh"]
# 自助法（{glue:text}`n_boot` 次重采样、每次重新拟合 XGBoost）下，1 号开关
# {glue:text}`switch_1` 保持第一名的比例为 {glue:text}`keep_1:.0%`；共有
# {glue:text}`n_stable` 个开关在至少 80% 的重采样中保持原有名次。名次区间（5%–95%）较宽的开关，
# 其编号本身就带有噪声；后续各章按编号指称开关时应注意这一点。

# %% [markdown] tags=["lang-en"]
# Under the bootstrap ({glue:text}`n_boot` resamples, with XGBoost refitted each time), switch 1,
# {glue:text}`switch_1`, keeps first place in {glue:text}`keep_1:.0%` of resamples, and
# {glue:text}`n_stable` switches keep their rank in at least 80% of resamples. Where a switch's
# 5–95% rank interval is wide, its number itself is noisy; keep this in mind when later chapters
# refer to switches by number.

# %%
from scipy import stats

ta = load_switch_table(
    None if table else study,
    table or None,
    results_dir,
    "eval/accuracy",
    min_rows=16,
    profile=None if table else profile,
)
ua = sur.univariate(
    ta, sur.shap_explanation(sur.fit_surrogate(ta.X, ta.y), ta.X).values, lower_is_better=False
)
rho = stats.spearmanr(
    a.univariate.set_index("switch")["mean_abs_shap"],
    ua.set_index("switch")["mean_abs_shap"].loc[a.univariate["switch"]],
)[0]
glue_value("rho_acc", rho)
glue_value("acc_first", ua["switch"].iloc[0])
ua.set_index("rank").round(4)

# %% [markdown] tags=["lang-zh"]
# 以 eval/accuracy（下一字节预测的 top-1 准确率）为目标重复一元分析，影响最大的开关为
# {glue:text}`acc_first`；两种目标下各开关平均 |SHAP| 的 Spearman 秩相关为 {glue:text}`rho_acc:.2f`。

# %% [markdown] tags=["lang-en"]
# When the univariate analysis is repeated with eval/accuracy (top-1 next-byte accuracy) as the
# target, the strongest switch is {glue:text}`acc_first`. The Spearman rank correlation of the
# switches' mean |SHAP| between the two targets is {glue:text}`rho_acc:.2f`.

# %%
fig = P.pair_heatmap(t, a.interaction_values, number)
glue("fig_pairs", fig, display=False)
plt.close(fig)
alias_tab = inter.alias_structure(t.X)
aliased_pairs = {
    tuple(sorted(r.term.split(":")))
    for r in alias_tab.itertuples()
    if r.order == 2 and any(x.count(":") == 2 for x in r.aliases)
}
zh, en = verdicts.seed_pairs(a.pairs, a.effects, aliased_pairs)
glue_text("pairs_zh", zh)
glue_text("pairs_en", en)
a.pairs.head(10).round(4)

# %% [markdown] tags=["lang-zh"]
# ## 二元分析
#
# ```{glue:figure} fig_pairs
# :name: fig-shap-pairs-zh
#
# 每对开关的平均 |SHAP 交互值|（φ_ij + φ_ji，即整对的交互作用），坐标为开关编号。
# ```
#
# {glue:md}`pairs_zh`
#
# 上表即笔记中的开关对扫描：对每对开关的四种取值组合分别求平均损失，best_loss 为最好组合的平均损失，
# best_count 为该组合的运行数，另附交互强度；按 best_loss 升序排列（前 10 行；完整表见
# `ptlab analyze` 输出的 `pairs.csv`）。

# %% [markdown] tags=["lang-en"]
# ## Bivariate
#
# ```{glue:figure} fig_pairs
# :name: fig-shap-pairs-en
#
# Mean |SHAP interaction value| of every pair (φ_ij + φ_ji, the whole pair's interaction);
# both axes show switch numbers.
# ```
#
# {glue:md}`pairs_en`
#
# The table is the pair scan of Note 1. For each pair it gives the mean loss in each of the four
# on/off cells, best_loss (the mean loss of the best cell), best_count (the number of runs in
# that cell) and the interaction strength. Rows are sorted by best_loss; the first 10 are shown,
# and the whole table is `pairs.csv` from `ptlab analyze`.

# %%
fig = P.dependence_gallery(t, a.shap_values, number)
glue("fig_gallery", fig, display=False)
plt.close(fig)
strong = a.pairs.sort_values("interaction_strength", ascending=False).head(3)
fig = P.cell_bars(t, [[r.switch1, r.switch2] for r in strong.itertuples()], number)
glue("fig_pair_cells", fig, display=False)
plt.close(fig)

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_gallery
# :name: fig-shap-gallery-zh
#
# 全部 45 对开关的依赖图。每个小图的横轴是编号较小的开关的取值（加了抖动），纵轴是它的 SHAP 值，
# 颜色表示另一个开关的取值。若两种颜色的点在纵向上分开，说明前一个开关的作用取决于另一个开关，
# 即存在交互作用。
# ```
#
# ```{glue:figure} fig_pair_cells
# :name: fig-shap-pair-cells-zh
#
# 交互作用最强的三对开关：四种取值组合的平均损失（误差线为标准差，n 为运行数）。
# ```

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_gallery
# :name: fig-shap-gallery-en
#
# Dependence plots of all 45 pairs. In each panel, the x axis is the value of the lower-numbered
# switch (jittered), the y axis is that switch's SHAP value, and the colour is the value of its
# partner. Where the two colours separate vertically, the effect of the lower-numbered switch
# depends on its partner: the pair interacts.
# ```
#
# ```{glue:figure} fig_pair_cells
# :name: fig-shap-pair-cells-en
#
# The three pairs with the strongest interaction: mean loss in each of the four cells (error
# bars: sd; n: number of runs).
# ```

# %%
groups = [[r.switch1, r.switch2, r.switch3] for r in a.triples.head(3).itertuples()]
seed_triple = sorted(verdicts.SEED_TOP3)
groups.append(seed_triple)
fig = P.cell_bars(t, groups, number, ncols=2)
glue("fig_triples", fig, display=False)
plt.close(fig)
glue_value("triple_top", " × ".join(groups[0]))
glue_value("n_rows_used", min(n_rows, t.n))
glue_value("triple_top_s", a.triples["model_interaction_strength"].iloc[0])
glue_value("triple_median_s", a.triples["model_interaction_strength"].median())
glue_value("pair_top_s", a.pairs["interaction_strength"].max())
zh, en = verdicts.aliasing(inter.alias_counts(t.X), inter.query_coverage(t.X, n_rows))
glue_text("alias_zh", zh)
glue_text("alias_en", en)
a.triples.head(10).round(4)

# %% [markdown] tags=["lang-zh"]
# ## 三元分析
#
# 对每个三元组，我们在 {glue:text}`n_rows_used` 个抽样运行上把这三个开关依次设为全部八种取值，
# 用代理模型预测损失，以三阶差分 Σ(−1)^{3−|bits|} f 的绝对值除以 8 后的平均作为三阶交互强度。
# 最强的三元组是 {glue:text}`triple_top`，强度为 {glue:text}`triple_top_s:.4f`；
# 120 个三元组强度的中位数为 {glue:text}`triple_median_s:.4f`，而最强的开关对的交互强度为
# {glue:text}`pair_top_s:.4f`。表中 aliased_with 一列列出在本设计中与该三元交互互为别名的低阶项与三元项（为空表示没有）。
#
# {glue:md}`alias_zh`
#
# ```{glue:figure} fig_triples
# :name: fig-shap-triples-zh
#
# 三阶交互作用最强的三个三元组，以及笔记中的 1/2/3 号开关（untie_attn_weights、use_rms_norm、
# use_std_residual，按字母序）：八种取值组合的平均损失。
# ```

# %% [markdown] tags=["lang-en"]
# ## Trivariate
#
# For each triple, we set its three switches to each of the eight on/off combinations in
# {glue:text}`n_rows_used` sampled runs and predict the loss with the surrogate. The three-way
# strength is the mean over these runs of |Σ(−1)^{3−|bits|} f| / 8, the third-order difference.
# The strongest triple is {glue:text}`triple_top` at {glue:text}`triple_top_s:.4f`; the median
# over the 120 triples is {glue:text}`triple_median_s:.4f`, against {glue:text}`pair_top_s:.4f`
# for the interaction strength of the strongest pair. The column aliased_with lists the main effects,
# pairs and triples that each three-way contrast is aliased with in the design (empty: none).
#
# {glue:md}`alias_en`
#
# ```{glue:figure} fig_triples
# :name: fig-shap-triples-en
#
# The three triples with the strongest three-way interaction, and switches 1/2/3 of Note 1
# (untie_attn_weights, use_rms_norm, use_std_residual, in alphabetical order): mean loss in the
# eight cells.
# ```

# %%
cells = inter.mirror_check(t, seed_triple)
observed = inter.is_mirrored(cells["mean"], cells["cell"])
frac = np.mean(
    [
        inter.is_mirrored(c["mean"], c["cell"])
        for c in (
            inter.mirror_check(t, [r.switch1, r.switch2, r.switch3]) for r in a.triples.itertuples()
        )
        if len(c) == 8
    ]
)
zh, en = verdicts.mirror(observed, frac)
glue_text("mirror_zh", zh)
glue_text("mirror_en", en)
cells.round(4)

# %% [markdown] tags=["lang-zh"]
# ### “镜像”现象
#
# 笔记观察到 1/2/3 号开关的八种取值组合完全对称：101 与 010 分别最好和最差，100 与 001 次之。
# 上表把各组合的实测平均损失与只含主效应的加性模型的预测并列。在加性模型下，
# f(bits) + f(取反的 bits) 对所有组合都相等，因此排序必然镜像对称。{glue:md}`mirror_zh`

# %% [markdown] tags=["lang-en"]
# ### The "mirror"
#
# Note 1 found the eight cells of switches 1/2/3 perfectly symmetric: 101 and 010 are the best
# and the worst cell, 100 and 001 the second best and the second worst. The table puts the
# observed cell means beside the predictions of an additive model (main effects only). Under an
# additive model, f(bits) + f(complement) is the same for every cell, so the ranking is
# necessarily mirror-symmetric. {glue:md}`mirror_en`

# %% tags=["hide-input"]
experiments = {
    f"top {i + 1}": [r.switch1, r.switch2, r.switch3]
    for i, r in enumerate(a.triples.head(confirm_top).itertuples())
}
experiments["note 1/2/3"] = list(verdicts.SEED_TOP3)
experiments["note 2×6"] = list(verdicts.SEED_PAIRS[1])
cells = []
for sw in experiments.values():
    cells += [c for c in C.factorial_design(sw, confirm_reference) if c not in cells]
cdf, _ = run_study(
    f"{study}-confirm", cells, seeds=confirm_seeds, profile=profile, results_dir=results_dir
)
cpe = C.pooled_error(cdf)  # one pure-error term over all confirmation cells
checked = {
    name: C.compare_screening(C.confirm(cdf, sw, confirm_reference, cpe), a.effects)
    for name, sw in experiments.items()
}
glue_value("cpe_sd", cpe.sd)
glue_value("cpe_dof", cpe.dof)
fig = P.confirmation_forest(checked)
glue("fig_confirm", fig, display=False)
plt.close(fig)
aliases3 = inter.triple_aliases(t.X)
lines = [
    verdicts.confirmation(checked[n], sw, confirm_reference, aliases3.get(tuple(sorted(sw)), ""))
    for n, sw in experiments.items()
]
glue_text("confirm_zh", "".join(z for z, _ in lines))
glue_text("confirm_en", " ".join(e for _, e in lines))
glue_value("n_confirm_runs", len(cdf))
glue_value("n_confirm_cells", len(cells))
glue_value("confirm_seeds", confirm_seeds)
pd.concat(checked, names=["experiment"]).reset_index(level=0).set_index(["experiment", "term"])[
    ["effect", "effect_low", "effect_high", "screen_effect", "outcome"]
].round(4)

# %% [markdown] tags=["lang-zh"]
# ## 验证实验
#
# 筛选设计无法确认三元交互作用，因此我们对筛选出的最强三元组、笔记中的 1/2/3 号开关三元组，以及笔记中的
# 2×6 号开关对（use_std_residual × use_gated_ffn）各做一个完全析因的验证实验：其余开关固定在同一参照组合，
# 每个取值组合训练 {glue:text}`confirm_seeds` 个种子（共 {glue:text}`n_confirm_cells` 个组合、
# {glue:text}`n_confirm_runs` 个运行，各实验中重合的组合只训练一次、共同使用）。全部组合的重复种子合并给出纯误差
# （标准差 {glue:text}`cpe_sd:.4f`，{glue:text}`cpe_dof` 个自由度），据此精确估计全部效应。
# 这些效应以参照组合为条件，回答的是“在这一参照下，这些开关是否存在交互作用”；筛选设计的估计则是对整个设计的平均，
# 两者的估计对象并不相同。每一项的结论分三类：确认（区间不含 0 且与筛选设计同号）、不一致（区间不含筛选设计的估计）、
# 无法判断。
#
# ```{glue:figure} fig_confirm
# :name: fig-shap-confirm-zh
#
# 各验证实验中的全部效应（开 − 关）及其 95% 置信区间；红色为确认（区间不含 0 且与筛选设计同号；
# 三元项在筛选模型中没有估计，仅要求区间不含 0），空心灰点为筛选设计对同一项的估计（筛选模型含该项时）。
# ```
#
# {glue:md}`confirm_zh`

# %% [markdown] tags=["lang-en"]
# ## Confirmation experiments
#
# The screening design cannot confirm three-way interactions. So the strongest screened triple,
# the notes' triple of switches 1/2/3 and the notes' pair 2×6 (use_std_residual ×
# use_gated_ffn) each get a full factorial follow-up: the other switches are held at one
# reference config, and every cell is trained with {glue:text}`confirm_seeds` seeds
# ({glue:text}`n_confirm_cells` cells, {glue:text}`n_confirm_runs` runs; the experiments share
# cells where they coincide). The replicate seeds of all cells give one pooled pure-error term
# (sd {glue:text}`cpe_sd:.4f` on {glue:text}`cpe_dof` degrees of freedom), and every effect is
# estimated exactly. These effects are conditional on the reference: they answer "at this
# reference, do these switches interact?", whereas the screening estimate is an average over
# the design, so the two estimate different things. Each term gets one of three outcomes:
# confirmed (the interval excludes 0 with the screening sign), at odds (the interval excludes
# the screening estimate), or inconclusive.
#
# ```{glue:figure} fig_confirm
# :name: fig-shap-confirm-en
#
# Every effect (on − off) of each confirmation experiment with its 95% CI; red: confirmed (the
# interval excludes 0 with the screening sign; the screening model has no three-way terms, so
# for those only 0 must be excluded). Hollow grey: the screening design's estimate of the same
# term, where its model has one.
# ```
#
# {glue:md}`confirm_en`

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# {glue:md}`fit_zh` {glue:md}`top_zh` {glue:md}`pairs_zh` {glue:md}`alias_zh` {glue:md}`confirm_zh`

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# {glue:md}`fit_en` {glue:md}`top_en` {glue:md}`pairs_en` {glue:md}`alias_en`
# {glue:md}`confirm_en`
