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
#     seconds: {smoke: 27, quick: 267}  # fresh-clone quick book, 2-core CPU (2026-12-05)
#     depends: [sweep]
#     profiles:
#       smoke: {n_boot: 5, n_rows: 50, confirm_top: 1, confirm_seeds: 2, confirm_max_seeds: 2}
#       full: {confirm_max_seeds: 64}
# ---

# %% [markdown] tags=["lang-zh"]
# # XGBoost + SHAP：一元、二元与三元分析
#
# **本章回答的问题：** 十个开关中哪些对验证损失影响最大？哪些开关对、哪些三元组存在交互作用？
# 笔记一（见[研究笔记](notes.md)）中的排序与交互作用结论在本次数据上是否成立？
#
# 本章复现笔记一的全部分析：用 XGBoost 回归器（{ref}`Chen & Guestrin, 2016 <ref-chen-guestrin-2016-zh>`）
# 拟合“十个开关 → 验证损失”，再用 TreeSHAP（{ref}`Lundberg & Lee, 2017 <ref-lundberg-lee-2017-zh>`）
# 解释这个代理模型：一元分析给出每个开关的影响强度，二元分析给出开关两两之间的交互作用，
# 三元分析给出代理模型中的三阶交互强度。与笔记不同，我们先报告代理模型的交叉验证 R²，
# 用自助法给出排序的区间，用析因模型的精确效应（误差取自重复种子）判断笔记的论断，
# 并为筛选出的三元交互做专门的验证实验。开关一律用简称（如 rms_norm）；引用笔记的编号时写作“笔记一的 3 号开关”。
# 代码：`ptlab.analysis`（`surrogate`、`interactions`、`effects`、`confirm`）。

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
# this surrogate: the univariate analysis gives each switch's strength, the bivariate analysis
# the pairwise interactions, and the trivariate analysis the surrogate's three-way
# interactions. Unlike Note 1, we first report the surrogate's out-of-fold R², bootstrap the
# ranking, judge the notes' claims on the exact factorial effects (with the error from
# replicate seeds), and confirm the screened triples with dedicated experiments. Switches go
# by their short names (such as rms_norm); where we quote the notes' numbering we write
# "Note 1's switch 3". Code: `ptlab.analysis` (`surrogate`, `interactions`, `effects`,
# `confirm`).

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles)
study = "switches"  # the sweep chapter's study
results_dir = "results"
table = ""  # an external .xlsx / .csv / .parquet table instead of the study
n_boot = 200  # bootstrap resamples for the rank intervals (5–95 %: 10 resamples each side)
n_rows = 200  # runs sampled for the three-way interaction strength
confirm_top = 3  # strongest screened triples to confirm (the notes' triple and pair always are)
confirm_seeds = 3  # pilot seeds per cell of each confirmation factorial
confirm_target = 0.02  # nats/byte: the effect the power calculation asks each factorial to detect
confirm_max_seeds = 6  # cap on seeds per cell (quick's budget); full lifts it
confirm_reference = "all-on"  # the other switches' setting there: all-on (Llama) | all-off (PT)

# %% tags=["remove-cell"]
import numpy as np
import pandas as pd
from scipy import stats

from ptlab.analysis import analyze, load_switch_table, plots, verdicts
from ptlab.analysis import confirm as confirmation
from ptlab.analysis import interactions as inter
from ptlab.analysis import surrogate as sur
from ptlab.analysis.pipeline import study_noise
from ptlab.book.claims import Claim, record_claims
from ptlab.book.glue import glue_pair, glue_text, glue_value, save_table
from ptlab.book.plotting import glue_figure, setup_figures
from ptlab.display import for_reader, interval
from ptlab.models import SWITCHES, short_name
from ptlab.verdict import outcome

setup_figures()
pd.set_option("display.max_colwidth", None)  # the table rule: no truncated strings


pair_name = verdicts.term  # switches in the book's order, by their short names


# %%
t = load_switch_table(
    None if table else study,
    table or None,
    results_dir,
    "eval/loss",
    min_rows=16,
    profile=None if table else profile,
)
noise = None if table else study_noise(study, results_dir, profile=profile)
a = analyze(t, noise=noise, n_rows=n_rows)  # the same error model as the variance chapter
glue_value("n", t.n)
glue_value("n_excluded", t.n_excluded)
glue_pair(
    "source",
    (f"扫描 `{study}`", f"the sweep `{study}`")
    if not table
    else (f"表 `{table}`", f"the table `{table}`"),
)
glue_value("r2", a.r2_oof)
glue_pair("fit", verdicts.surrogate_fit(a.r2_oof))

# %% [markdown] tags=["lang-zh"]
# 数据来自{glue:md}`source_zh`：{glue:text}`n` 个正常结束的运行（另有 {glue:text}`n_excluded`
# 个发散或失败的运行被排除）。{glue:md}`fit_zh:myst`

# %% [markdown] tags=["lang-en"]
# The data are {glue:md}`source_en`: {glue:text}`n` runs that finished normally
# ({glue:text}`n_excluded` diverged or failed runs are left out). {glue:md}`fit_en:myst`

# %% [markdown] tags=["lang-zh"]
# (shap-univariate-zh)=
# ## 一元分析

# %% [markdown] tags=["lang-en"]
# (shap-univariate-en)=
# ## Univariate

# %%
order = list(a.univariate["switch"])
glue_figure("fig_summary", plots.shap_summary(t, a.shap_values, order))
cols = list(t.X.columns)
direction = {s: float(a.shap_values[t.X[s] == 1, cols.index(s)].mean()) for s in cols}
stab = sur.rank_stability(t, n_boot=n_boot)
glue_pair("top", verdicts.top_switches(a.univariate, direction, stab, a.effects))
strongest = verdicts.strongest_outcome(a.effects)
glue_value("n_boot", n_boot)
glue_value("n_stable", int((stab["keep_rank"] >= 0.8).sum()))
glue_value("keep_1", float(stab["keep_rank"].iloc[0]))
glue_value("switch_1", short_name(stab["switch"].iloc[0]))
uni = a.univariate.merge(stab[["switch", "keep_rank", "rank_lo", "rank_hi"]], on="switch")
uni["ranks"] = [f"{int(lo)}–{int(hi)}" for lo, hi in zip(uni.rank_lo, uni.rank_hi, strict=True)]
save_table(uni, "shap", "univariate")
for_reader(
    uni.assign(switch=uni["switch"].map(short_name))[
        ["switch", "mean_abs_shap", "ranks", "keep_rank", "fraction_on_top5", "fraction_on_top20"]
    ],
    ["switch"],
    {
        "switch": "开关 · switch",
        "mean_abs_shap": "平均 |SHAP| · mean |SHAP|",
        "ranks": "名次 90% 区间 · rank (90%)",
        "keep_rank": "保持名次 · keeps rank",
        "fraction_on_top5": "前 5 中开 · on in best 5",
        "fraction_on_top20": "前 20 中开 · on in best 20",
    },
)

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_summary
# :alt: 上图是蜂群图，每个开关一行，每个点是一个运行，横轴是该开关对损失的 SHAP 贡献，红点表示开关打开、蓝点表示关闭；下图是各开关平均 |SHAP| 的横向条形图。
# :name: fig-shap-summary-zh
#
# 上：每个点是一个运行，横轴为该开关对这个运行的损失的 SHAP 贡献；红色表示开关打开，蓝色表示关闭。
# 下：平均 |SHAP|，即各开关的影响强度。
# ```
#
# {glue:md}`top_zh:myst`
#
# 上表按平均 |SHAP| 排列各开关，并给出 {glue:text}`n_boot` 次自助重采样（每次重新拟合 XGBoost）下名次的
# 90% 区间、保持原名次的比例，以及损失最低的 5 个与 20 个运行中该开关打开的比例（对应笔记一的两张表）。
# 排第一的 {glue:text}`switch_1` 在 {glue:text}`keep_1:.0%` 的重采样中保持第一；共有
# {glue:text}`n_stable` 个开关在至少 80% 的重采样中保持原有名次。名次区间较宽的开关，其排序本身就带有噪声。

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_summary
# :alt: Top, a beeswarm plot with one row per switch in which each dot is a run placed by the switch's SHAP contribution to its loss, red when the switch is on and blue when off; bottom, a horizontal bar chart of each switch's mean absolute SHAP value.
# :name: fig-shap-summary-en
#
# Top: each dot is a run; the x axis is the switch's SHAP contribution to that run's loss (red:
# switch on; blue: switch off). Bottom: mean |SHAP|, the strength of each switch.
# ```
#
# {glue:md}`top_en:myst`
#
# The table orders the switches by mean |SHAP| and gives the 90% interval of each switch's rank
# over {glue:text}`n_boot` bootstrap resamples (XGBoost refitted each time), the share of
# resamples in which it keeps its rank, and the fraction of the best 5 and best 20 runs that
# have it on (the two tables of Note 1). The first switch, {glue:text}`switch_1`, keeps first
# place in {glue:text}`keep_1:.0%` of resamples, and {glue:text}`n_stable` switches keep their
# rank in at least 80% of resamples. Where a rank interval is wide, the ranking itself is
# noisy.

# %% tags=["remove-cell"]
ta = load_switch_table(
    None if table else study,
    table or None,
    results_dir,
    "eval/accuracy",
    min_rows=16,
    profile=None if table else profile,
)
ua = sur.univariate(ta, sur.contributions(sur.fit_surrogate(ta.X, ta.y), ta.X), False)
rho = stats.spearmanr(
    a.univariate.set_index("switch")["mean_abs_shap"],
    ua.set_index("switch")["mean_abs_shap"].loc[a.univariate["switch"]],
)[0]
glue_value("rho_acc", rho)
glue_value("acc_first", short_name(ua["switch"].iloc[0]))

# %% [markdown] tags=["lang-zh"]
# 以 eval/accuracy（下一字节预测的 top-1 准确率）为目标重复一元分析，影响最大的开关为
# {glue:text}`acc_first`；两种目标下各开关平均 |SHAP| 的 Spearman 秩相关为 {glue:text}`rho_acc:.2f`。

# %% [markdown] tags=["lang-en"]
# When the univariate analysis is repeated with eval/accuracy (top-1 next-byte accuracy) as the
# target, the strongest switch is {glue:text}`acc_first`. The Spearman rank correlation of the
# switches' mean |SHAP| between the two targets is {glue:text}`rho_acc:.2f`.

# %% [markdown] tags=["lang-zh"]
# (shap-pairs-zh)=
# ## 二元分析

# %% [markdown] tags=["lang-en"]
# (shap-pairs-en)=
# ## Bivariate

# %%
glue_figure("fig_pairs", plots.pair_heatmap(t, a.interaction_values, order))
save_table(a.pairs, "shap", "pairs")
top_pairs = a.pairs.sort_values("interaction_strength", ascending=False)
pair_view = a.pairs.head(10).assign(
    pair=lambda d: [pair_name(x, y) for x, y in zip(d.switch1, d.switch2, strict=True)],
    cell=lambda d: [
        f"{short_name(x)} {'开 on' if vx else '关 off'}, {short_name(y)} {'开 on' if vy else '关 off'}"
        for x, y, vx, vy in zip(d.switch1, d.switch2, d.switch1_val, d.switch2_val, strict=True)
    ],
)
for_reader(
    pair_view[["pair", "best_loss", "cell", "best_count", "interaction_strength"]],
    ["pair"],
    {
        "pair": "开关对 · pair",
        "best_loss": "最好组合的平均损失 · best mean loss",
        "cell": "最好的组合 · best cell",
        "best_count": "运行数 · runs",
        "interaction_strength": "交互强度 · strength",
    },
)

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_pairs
# :alt: 十乘十的热图，行和列都是开关简称，每格标出这对开关的平均 SHAP 交互强度（乘以一千），颜色越亮交互越强。
# :name: fig-shap-pairs-zh
#
# 每对开关的平均 |SHAP 交互值|（两个方向之和，即整对的交互作用；数值乘以 1000）。
# ```
#
# 上表即笔记一的开关对扫描：对每对开关的四种取值组合分别求平均损失，列出最好组合、其平均损失与运行数，
# 以及交互强度，按最好组合的平均损失升序排列（前 10 行；完整表：{download}`pairs.csv <../generated/data/shap/pairs.csv>`）。
#
# {glue:md}`pairs_zh:myst`

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_pairs
# :alt: A ten-by-ten heat map with switch short names on both axes; each cell gives the pair's mean SHAP interaction strength times one thousand, brighter for stronger interactions.
# :name: fig-shap-pairs-en
#
# Mean |SHAP interaction value| of every pair (both directions summed, the whole pair's
# interaction; values × 1000).
# ```
#
# The table is the pair scan of Note 1: for each pair it gives the mean loss in its best on/off
# cell, that cell and its number of runs, and the interaction strength, sorted by the best
# cell's mean loss (first 10 rows; the whole table:
# {download}`pairs.csv <../generated/data/shap/pairs.csv>`).
#
# {glue:md}`pairs_en:myst`

# %% tags=["remove-cell"]
strong = [(r.switch1, r.switch2) for r in top_pairs.head(6).itertuples()]
glue_figure("fig_gallery", plots.dependence_panels(t, a.shap_values, strong))
save_table(
    pd.concat(
        [
            t.X.rename(columns=short_name),
            pd.DataFrame(a.shap_values, columns=[f"shap_{short_name(c)}" for c in cols]),
        ],
        axis=1,
    ),
    "shap",
    "shap_values",
)
glue_figure("fig_pair_cells", plots.cell_bars(t, [list(p) for p in strong[:3]], ncols=3))

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_gallery
# :alt: 六个散点图排成两行，每个对应交互最强的一对开关；横轴是第一个开关的取值（关或开，加了抖动），纵轴是它的 SHAP 值，点的颜色表示另一个开关的取值。
# :name: fig-shap-gallery-zh
#
# 交互作用最强的六对开关的依赖图。每个小图的横轴是第一个开关的取值（加了抖动），纵轴是它的 SHAP 值，
# 颜色表示另一个开关的取值（红为开）。若两种颜色的点在纵向上分开，说明前一个开关的作用取决于另一个开关。
# 其余 39 对可用每个运行的 SHAP 值自行绘制：{download}`shap_values.csv <../generated/data/shap/shap_values.csv>`。
# ```
#
# ```{glue:figure} fig_pair_cells
# :alt: 三个点图，每个对应交互最强的一对开关，横轴是四种开关取值组合，纵轴是平均验证损失，误差线为标准差。
# :name: fig-shap-pair-cells-zh
#
# 交互作用最强的三对开关：四种取值组合（按标题中开关的顺序，1 为开）的平均损失，误差线为标准差。
# ```

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_gallery
# :alt: Six scatter plots in two rows, one for each of the six most strongly interacting pairs; the x axis is the first switch's setting (off or on, jittered), the y axis its SHAP value, and the colour the partner's setting.
# :name: fig-shap-gallery-en
#
# Dependence plots of the six most strongly interacting pairs. In each panel the x axis is the
# first switch's setting (jittered), the y axis its SHAP value, and the colour the partner's
# setting (red: on). Where the two colours separate vertically, the first switch's effect
# depends on its partner. The other 39 pairs can be drawn from the runs' SHAP values:
# {download}`shap_values.csv <../generated/data/shap/shap_values.csv>`.
# ```
#
# ```{glue:figure} fig_pair_cells
# :alt: Three dot plots, one for each of the three most strongly interacting pairs, with the four on/off cells on the x axis and the mean validation loss on the y axis, error bars one sd.
# :name: fig-shap-pair-cells-en
#
# The three most strongly interacting pairs: mean loss in each of the four cells (switch states
# in the order of the title, 1 = on), error bars one sd.
# ```

# %%
groups = [[r.switch1, r.switch2, r.switch3] for r in a.triples.head(3).itertuples()]
seed_triple = sorted(verdicts.SEED_TOP3)
glue_figure("fig_triples", plots.cell_bars(t, [*groups, seed_triple], ncols=2))
glue_value("triple_top", short_name(":".join(groups[0])))
glue_value("n_rows_used", min(n_rows, t.n))
glue_value("triple_top_s", a.triples["model_interaction_strength"].iloc[0])
glue_value("triple_median_s", a.triples["model_interaction_strength"].median())
glue_value("pair_top_s", a.pairs["interaction_strength"].max())
glue_pair("alias", verdicts.aliasing(inter.alias_counts(t.X), inter.query_coverage(t.X, n_rows)))
save_table(a.triples, "shap", "triples")
tri_view = a.triples.head(10).assign(
    triple=lambda d: [pair_name(*r) for r in d[["switch1", "switch2", "switch3"]].to_numpy()],
    aliased=lambda d: [
        "; ".join(short_name(x) for x in al.split(", ") if x) or "—" for al in d.aliased_with
    ],
    cell=lambda d: [  # states in the triple's (book) order, 1 = on
        "".join(
            str(int(r[f"{k}_val"]))
            for k in sorted(("switch1", "switch2", "switch3"), key=lambda k: SWITCHES.index(r[k]))
        )
        for _, r in d.iterrows()
    ],
)
for_reader(
    tri_view[
        ["triple", "model_interaction_strength", "best_loss", "cell", "best_count", "aliased"]
    ],
    ["triple"],
    {
        "triple": "三元组 · triple",
        "model_interaction_strength": "三阶强度 · 3-way strength",
        "best_loss": "最好组合的平均损失 · best mean loss",
        "cell": "最好的组合 · best cell",
        "best_count": "运行数 · runs",
        "aliased": "别名 · aliased with",
    },
)

# %% [markdown] tags=["lang-zh"]
# ## 三元分析
#
# 对每个三元组，我们在 {glue:text}`n_rows_used` 个抽样运行 $x$ 上把这三个开关依次设为全部八种取值
# $b \in \{0,1\}^3$，用代理模型 $\hat f$ 预测损失，以三阶差分的绝对值的平均作为三阶交互强度：
# $S = \frac{1}{8}\,\mathrm{mean}_x \left|\sum_{b} (-1)^{3-|b|} \hat f(x_{b})\right|$，
# 其中 $|b|$ 为 $b$ 中打开的开关数，$x_b$ 为把 $x$ 中这三个开关设为 $b$ 后的组合。
# 最强的三元组是 {glue:text}`triple_top`，强度为 {glue:text}`triple_top_s:.4f`；
# 120 个三元组强度的中位数为 {glue:text}`triple_median_s:.4f`，而最强的开关对的交互强度为
# {glue:text}`pair_top_s:.4f`。表中“最好的组合”按三元组中开关的顺序写出（1 为开），“别名”一列列出本设计中
# 与该三元对比互为别名的项（完整表：{download}`triples.csv <../generated/data/shap/triples.csv>`）。
#
# {glue:md}`alias_zh:myst`
#
# ```{glue:figure} fig_triples
# :alt: 四个点图排成两行，分别对应三阶交互最强的三个三元组和笔记一的前三个开关，横轴是八种取值组合，纵轴是平均验证损失，误差线为标准差。
# :name: fig-shap-triples-zh
#
# 三阶交互作用最强的三个三元组，以及笔记一的 1、2、3 号开关（untie_attn、std_residual、rms_norm）：
# 八种取值组合的平均损失（按标题中开关的顺序，1 为开），误差线为标准差。
# ```

# %% [markdown] tags=["lang-en"]
# ## Trivariate
#
# For each triple, we set its three switches to each of the eight on/off combinations
# $b \in \{0,1\}^3$ in {glue:text}`n_rows_used` sampled runs $x$ and predict the loss with the
# surrogate $\hat f$. The three-way strength is the mean absolute third-order difference,
# $S = \frac{1}{8}\,\mathrm{mean}_x \left|\sum_{b} (-1)^{3-|b|} \hat f(x_{b})\right|$, where
# $|b|$ counts the switches on in $b$ and $x_b$ is $x$ with the triple set to $b$. The strongest
# triple is {glue:text}`triple_top` at {glue:text}`triple_top_s:.4f`; the median over the 120
# triples is {glue:text}`triple_median_s:.4f`, against {glue:text}`pair_top_s:.4f` for the
# interaction strength of the strongest pair. The best cell lists the switches' states in the
# triple's order (1 = on); the column "aliased with" lists the terms the design cannot tell the
# triple's contrast from (the whole table:
# {download}`triples.csv <../generated/data/shap/triples.csv>`).
#
# {glue:md}`alias_en:myst`
#
# ```{glue:figure} fig_triples
# :alt: Four dot plots in two rows, for the three triples with the strongest three-way interaction and for Note 1's top three switches, with the eight on/off cells on the x axis and the mean validation loss on the y axis, error bars one sd.
# :name: fig-shap-triples-en
#
# The three triples with the strongest three-way interaction, and Note 1's switches 1, 2 and 3
# (untie_attn, std_residual, rms_norm): mean loss in the eight cells (switch states in the
# order of the title, 1 = on), error bars one sd.
# ```

# %% tags=["hide-input"]
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
glue_pair("mirror", verdicts.mirror(observed, frac))
for_reader(
    cells[["cell", "mean", "additive", "count"]],
    ["cell"],
    {
        "cell": "组合 · cell",
        "mean": "实测均值 · observed",
        "additive": "加性模型 · additive",
        "count": "运行数 · runs",
    },
)

# %% [markdown] tags=["lang-zh"]
# ### “镜像”现象
#
# 笔记一观察到 1、2、3 号开关的八种取值组合完全对称：101 与 010 分别最好和最差，100 与 001 次之
# （组合按 rms_norm、std_residual、untie_attn 的字母序写出，1 为开）。上表把各组合的实测平均损失与
# 只含主效应的加性模型的预测并列。在加性模型下，$f(b) + f(\bar b)$ 对所有组合 $b$ 都相等（$\bar b$ 为 $b$
# 取反），因此排序必然镜像对称。{glue:md}`mirror_zh:myst`

# %% [markdown] tags=["lang-en"]
# ### The "mirror"
#
# Note 1 found the eight cells of switches 1, 2 and 3 perfectly symmetric: 101 and 010 are the
# best and the worst cell, 100 and 001 the second best and the second worst (cells in the
# alphabetical order rms_norm, std_residual, untie_attn; 1 = on). The table puts the observed
# cell means beside the predictions of an additive model (main effects only). Under an additive
# model $f(b) + f(\bar b)$ is the same for every cell $b$ ($\bar b$: $b$ with every switch
# flipped), so the ranking is necessarily mirror-symmetric. {glue:md}`mirror_en:myst`

# %% [markdown] tags=["lang-zh"]
# (shap-confirm-zh)=
# ## 验证实验

# %% [markdown] tags=["lang-en"]
# (shap-confirm-en)=
# ## Confirmation experiments

# %%
experiments = {
    f"筛选第 {i + 1} · top {i + 1}": [r.switch1, r.switch2, r.switch3]
    for i, r in enumerate(a.triples.head(confirm_top).itertuples())
}
NOTE_TRIPLE, NOTE_PAIR = "笔记 1/2/3 · note 1/2/3", "笔记 2×6 · note 2×6"
experiments[NOTE_TRIPLE] = list(verdicts.SEED_TOP3)
experiments[NOTE_PAIR] = list(verdicts.SEED_PAIRS[1])
designs = {n: confirmation.factorial_design(sw, confirm_reference) for n, sw in experiments.items()}
pilot = list({tuple(c[s] for s in SWITCHES): c for d in designs.values() for c in d}.values())
cdf = confirmation.run_cells(
    f"{study}-confirm", [(c, confirm_seeds) for c in pilot], profile, results_dir
)
plans = {
    tuple(sw): confirmation.power_plan(
        confirmation.cell_stats(cdf, sw, confirm_reference),
        len(sw),
        confirm_target,
        min_seeds=confirm_seeds,
        max_seeds=confirm_max_seeds,
    )
    for sw in experiments.values()
}
cdf = confirmation.run_cells(
    f"{study}-confirm", confirmation.planned_cells(plans, confirm_reference), profile, results_dir
)
raw = {n: confirmation.confirm(cdf, sw, confirm_reference) for n, sw in experiments.items()}
adjusted = confirmation.adjust_across(raw)
terms = sorted({term for e in raw.values() for term in e["term"]})
screen = confirmation.screening_terms(t, terms, noise)
checked = {
    n: confirmation.compare_screening(e, screen, confirm_target) for n, e in adjusted.items()
}
glue_figure("fig_confirm", plots.confirmation_forest(checked))
lines = [verdicts.confirmation(checked[n], sw, confirm_reference) for n, sw in experiments.items()]
glue_text("confirm_zh", "\n".join(f"- {z}" for z, _ in lines))
glue_text("confirm_en", "\n".join(f"- {e}" for _, e in lines))
glue_pair(
    "power",
    verdicts.power_sentence(
        plans,
        confirm_target,
        confirm_max_seeds,
        confirm_seeds,
    ),
)
glue_value("n_confirm_runs", len(cdf))
glue_value("n_confirm_cells", len(pilot))
glue_value("confirm_seeds", confirm_seeds)
glue_value("confirm_target", confirm_target)
glue_value("confirm_max_seeds", confirm_max_seeds)
every = pd.concat(checked, names=["experiment"]).reset_index(level=0)
save_table(every, "shap", "confirmation")
top_terms = every[[r.order == len(experiments[r.experiment]) for r in every.itertuples()]]
for_reader(
    top_terms.assign(
        term=top_terms["term"].map(short_name),
        ci=[
            interval(lo, hi)
            for lo, hi in zip(top_terms.effect_low, top_terms.effect_high, strict=True)
        ],
        screen=["—" if not np.isfinite(v) else f"{v:+.3f}" for v in top_terms["screen_effect"]],
        outcome=top_terms["outcome"].map(verdicts.OUTCOME_SHORT),
    )[["experiment", "term", "effect", "ci", "p_adjusted", "screen", "outcome"]],
    ["experiment", "term"],
    {
        "experiment": "实验 · experiment",
        "term": "交互项 · term",
        "effect": "效应 · effect",
        "ci": "95% CI",
        "p_adjusted": "Holm p",
        "screen": "筛选估计 · screening",
        "outcome": "结论 · outcome",
    },
)

# %% [markdown] tags=["lang-zh"]
# 筛选设计无法确认三元交互作用，因此我们对筛选出的最强的三元组、笔记一的 1/2/3 号开关三元组，以及笔记一的
# 2×6 号开关对（std_residual × gated_ffn）各做一个完全析因的验证实验：其余开关固定在同一参照组合，
# 共 {glue:text}`n_confirm_cells` 个取值组合（各实验中重合的组合只训练一次、共同使用）、{glue:text}`n_confirm_runs` 个运行。
# 这些效应以参照组合为条件，回答的是“在这一参照下，这些开关是否存在交互作用”；筛选设计的估计则是对整个设计的平均，
# 两者的估计对象并不相同。
#
# 误差：不同组合的种子标准差相差一个数量级以上（rms_norm 打开的组合最嘈杂），合并成一个误差项会让安静的实验显得不确定、
# 让嘈杂的实验显得确定。因此每个效应都用它所在各组合自己的方差，自由度按 Welch–Satterthwaite 公式计算；
# 全部实验的全部效应一起做 Holm 校正。{glue:md}`power_zh:myst`
#
# 判定规则：Holm 校正后显著、与筛选估计同号，且两者之差的 95% 置信区间含 0（大小也一致），为“确认”；
# 两者之差的区间不含 0，为“不一致”；效应的 95% 置信区间落在 ±{glue:text}`confirm_target` 之内，为“排除”
# （不存在值得关注的交互作用）；其余为“无法判定”，并给出该实验能检出的最小效应。上表列出每个实验的最高阶项，
# 全部效应见下图与 {download}`confirmation.csv <../generated/data/shap/confirmation.csv>`。
#
# ```{glue:figure} fig_confirm
# :alt: 森林图，每行是一个验证实验中的一个效应及其 95% 置信区间，红色为得到确认的效应；其下的空心灰点为筛选设计对同一项的估计。
# :name: fig-shap-confirm-zh
#
# 各验证实验中的全部效应（开 − 关，奈特/字节）及其 95% 置信区间；红色为确认，蓝色为其他结论。
# 空心灰点为筛选设计对同一项的估计（筛选模型含该项时）。
# ```
#
# ```{glue:md} confirm_zh
# :format: myst
# ```

# %% [markdown] tags=["lang-en"]
# The screening design cannot confirm three-way interactions. So the strongest screened
# triples, the notes' triple of switches 1/2/3 and the notes' pair 2×6 (std_residual ×
# gated_ffn) each get a full factorial follow-up: the other switches are held at one reference
# config, in {glue:text}`n_confirm_cells` cells (the experiments share cells where they
# coincide) and {glue:text}`n_confirm_runs` runs. These effects are conditional on the
# reference: they answer "at this reference, do these switches interact?", whereas the
# screening estimate is an average over the design, so the two estimate different things.
#
# The error: the cells' seed sds differ by more than an order of magnitude (the cells with
# rms_norm on are the noisy ones), and one pooled error term would make the quiet experiments
# look uncertain and the noisy ones certain. So each effect uses the variances of its own
# cells, with Welch–Satterthwaite degrees of freedom, and every effect of every experiment
# enters one Holm adjustment. {glue:md}`power_en:myst`
#
# The outcome rule: *confirmed* when Holm-significant, of the screening sign, and the 95%
# interval of the difference from the screening estimate contains 0 (the sizes agree too);
# *at odds* when that difference excludes 0; *absent* when the effect's 95% interval lies
# inside ±{glue:text}`confirm_target` (no interaction worth the name); *undetermined*
# otherwise, with the smallest effect the experiment could detect. The table lists each
# experiment's highest-order term; every effect is in the figure and in
# {download}`confirmation.csv <../generated/data/shap/confirmation.csv>`.
#
# ```{glue:figure} fig_confirm
# :alt: A forest plot with one row per effect of each confirmation experiment and its 95% interval, red where confirmed; hollow grey markers below give the screening design's estimate of the same term.
# :name: fig-shap-confirm-en
#
# Every effect (on − off, nats/byte) of each confirmation experiment with its 95% CI; red:
# confirmed, blue: any other outcome. Hollow grey: the screening design's estimate of the same
# term, where its model has one.
# ```
#
# ```{glue:md} confirm_en
# :format: myst
# ```

# %% tags=["remove-cell"]
aliases = inter.alias_structure(t.X).set_index("term")["aliases"]
aliased = {}
for p in [*verdicts.SEED_PAIRS, *[(r.switch1, r.switch2) for r in top_pairs.itertuples()]]:
    key = ":".join(s for s in SWITCHES if s in p)
    triples = [x for x in aliases.get(key, []) if x.count(":") == 2]
    if triples:
        aliased[tuple(sorted(p))] = triples[0]
followups = {}
for name, sw in ((NOTE_TRIPLE, verdicts.SEED_PAIRS[0]), (NOTE_PAIR, verdicts.SEED_PAIRS[1])):
    key = ":".join(s for s in SWITCHES if s in sw)
    rows = checked[name].set_index("term")
    if key in rows.index:
        followups[tuple(sorted(sw))] = rows.loc[key]
glue_pair("pairs", verdicts.seed_pairs(a.pairs, a.effects, aliased, followups))
pairs_result = verdicts.pairs_outcome(a.effects, aliased, followups)
note_triple = checked[NOTE_TRIPLE].iloc[-1]  # the three-way term
# "a strong three-way interaction", decided on the confirmation's own interval: beyond
# ±confirm_target (supported), inside it (contradicted: the outcome "absent"), else undetermined
# (a confirmation that merely disagrees with the screening decides nothing about strength)
# (the mirror image of the "negligible within ±margin" verdict of ptlab.verdict.outcome)
negligible = outcome(note_triple.effect_low, note_triple.effect_high, 0, confirm_target)
triple_outcome = {"supported": "contradicted", "contradicted": "supported"}.get(
    negligible, "undetermined"
)
claims = [
    Claim(
        note=1,
        key="note1.strongest_switch",
        claim_zh="untie_attn（笔记一的 1 号开关）是对验证损失影响最大的单个开关。",
        claim_en="untie_attn (Note 1's switch 1) is the single switch that moves the validation "
        "loss most.",
        outcome=strongest["outcome"],
        evidence_zh=f"其 |效应| 减去最强的其他开关 {short_name(strongest['rival'])} 的 |效应| 为 "
        f"{strongest['gap']:+.3f}，95% 置信区间 {strongest['low']:+.3f} 至 {strongest['high']:+.3f}",
        evidence_en=f"its |effect| minus that of the strongest rival, "
        f"{short_name(strongest['rival'])}, is {strongest['gap']:+.3f} (95% CI "
        f"{strongest['low']:+.3f} to {strongest['high']:+.3f})",
        section="shap-univariate",
    ),
    Claim(
        note=1,
        key="note1.strongest_pairs",
        claim_zh="交互作用最显著的两对是 untie_attn × rms_norm（1 × 3）与 std_residual × gated_ffn（2 × 6）。",
        claim_en="The two most strongly interacting pairs are untie_attn × rms_norm (1 × 3) and "
        "std_residual × gated_ffn (2 × 6).",
        outcome=pairs_result["outcome"] if pairs_result else "undetermined",
        evidence_zh=(
            "两对是否与最强的二元交互无法区分："
            + "、".join("是" if x else "否" for x in pairs_result["each"])
            + f"（最强的是 {short_name(pairs_result['best'])}）"
            if pairs_result
            else "本设计无法估计精确的二元交互项"
        ),
        evidence_en=(
            "each pair indistinguishable from the strongest two-way term: "
            + ", ".join("yes" if x else "no" for x in pairs_result["each"])
            + f" (the strongest is {short_name(pairs_result['best'])})"
            if pairs_result
            else "this design cannot estimate exact two-way terms"
        ),
        section="shap-pairs",
    ),
    Claim(
        note=1,
        key="note1.triple_123",
        claim_zh="1、2、3 号开关（untie_attn、std_residual、rms_norm）之间存在很强的三元交互作用。",
        claim_en="Switches 1, 2 and 3 (untie_attn, std_residual, rms_norm) have a strong "
        "three-way interaction.",
        outcome=triple_outcome,
        evidence_zh=f"验证实验中三元交互为 {note_triple.effect:+.3f}，95% 置信区间 "
        f"{note_triple.effect_low:+.3f} 至 {note_triple.effect_high:+.3f}（“很强”以超出 "
        f"±{confirm_target} 为界；可检出的最小效应 {note_triple.detectable:.3f}）",
        evidence_en=f"the confirmation's three-way term is {note_triple.effect:+.3f} (95% CI "
        f"{note_triple.effect_low:+.3f} to {note_triple.effect_high:+.3f}; 'strong' means beyond "
        f"±{confirm_target}; smallest detectable effect {note_triple.detectable:.3f})",
        section="shap-confirm",
    ),
]
record_claims("shap", claims)

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - {glue:md}`fit_zh:myst`
# - {glue:md}`top_zh:myst`
# - {glue:md}`pairs_zh:myst`
# - {glue:md}`alias_zh:myst`
# - {glue:md}`power_zh:myst`
#
# ```{glue:md} confirm_zh
# :format: myst
# ```

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - {glue:md}`fit_en:myst`
# - {glue:md}`top_en:myst`
# - {glue:md}`pairs_en:myst`
# - {glue:md}`alias_en:myst`
# - {glue:md}`power_en:myst`
#
# ```{glue:md} confirm_en
# :format: myst
# ```

# %% [markdown] tags=["lang-zh"]
# ## 试一试
#
# ```bash
# ptlab run shap -p confirm_top=5                        # 验证更多三元组
# ptlab run shap -p confirm_max_seeds=20                 # 放宽每个组合的种子上限
# ptlab run shap -p confirm_reference=all-off            # 以 PT 为参照做验证实验
# ptlab run shap -p table=my_sweep.xlsx                  # 分析自己的扫描结果表
# ```

# %% [markdown] tags=["lang-en"]
# ## Try
#
# ```bash
# ptlab run shap -p confirm_top=5                        # confirm more triples
# ptlab run shap -p confirm_max_seeds=20                 # a higher cap on seeds per cell
# ptlab run shap -p confirm_reference=all-off            # confirm at the PT reference
# ptlab run shap -p table=my_sweep.xlsx                  # analyse your own sweep table
# ```
