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
#     seconds: {smoke: 23, quick: 30}  # measured on the 2-core CPU
#     depends: [sweep]
#     profiles:
#       smoke: {capacity_seeds: 2}
# ---

# %% [markdown] tags=["lang-zh"]
# # 条件分布、方差与精确效应
#
# **本章回答的问题：** use_rms_norm 只是让损失分布变宽（方差变大），还是也改变了平均损失？
# 撇开 SHAP 代理模型的近似，各开关及其交互作用的精确效应有多大、不确定性有多大？
#
# 笔记二（见[研究笔记](notes.md)）认为：use_rms_norm 并不普遍升高或降低损失，而是拉宽了损失分布，
# 因此它打开时其他开关开闭对损失的影响急剧增大。本章先复现笔记中的条件分布比较（箱线图、小提琴图、
# 直方图 + KDE、ECDF 与统计量柱状图），再用两种方法检验“方差”这一论断：
# 对均值模型的残差做 Brown–Forsythe 检验（{ref}`Brown & Forsythe, 1974 <ref-brown-forsythe-1974-zh>`；
# 多重比较用 Holm 校正），以及同时拟合均值与对数方差的位置–尺度模型；随后按笔记的原意检验其他开关的效应是否增大，
# 并用等价性检验判断平均损失是否不变。
# 最后，由于开关都是二值的，我们对 ±1 编码的开关做普通最小二乘，得到精确的析因效应，
# 误差项取自重复种子，并与 SHAP 的排序对照。开关编号沿用上一章的一元排序。

# %% [markdown] tags=["lang-en"]
# # Conditioning, variance and exact effects
#
# **The question:** does use_rms_norm only widen the loss distribution, or does it also move the
# mean loss? And with the SHAP surrogate's approximation set aside, how large are the exact
# effects of the switches and their interactions, and how uncertain are they?
#
# Note 2 (see [the research notes](notes.md)) argues that use_rms_norm does not raise or lower
# the loss across the board but widens the loss distribution, so that with use_rms_norm on the
# other switches change the loss far more. This chapter first reproduces the conditional
# comparisons of Note 2 (box plots, violin plots, histograms + KDE, ECDFs and bar charts of
# summary statistics). It then tests the variance claim in two ways, then the claim as stated
# (do the other switches' effects grow?), and "the mean is unchanged" with an equivalence
# test. The two variance tests are a Brown–Forsythe
# test on the residuals of the mean model
# ({ref}`Brown & Forsythe, 1974 <ref-brown-forsythe-1974-en>`; Holm-corrected), and a
# location–scale model that fits the mean and the log-variance together. Finally, because the
# switches are binary, ordinary least squares on the ±1-coded switches gives the exact factorial
# effects; the error term comes from replicate seeds, and the effects are set beside the SHAP
# ranking. Switch numbers follow the univariate ranking of the previous chapter.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles)
study = "switches"  # the sweep chapter's study; replicate seeds come from STUDY-noise
results_dir = "results"
table = ""  # an external .xlsx / .csv / .parquet table instead of the study
equivalence_margin = 0.02  # nats/byte: a mean change smaller than this counts as "unchanged"
capacity_seeds = 3  # seeds per arm of the parameter-matched control

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import display
from myst_nb import glue
from scipy import stats

from ptlab.analysis import confirm as C
from ptlab.analysis import effects as E
from ptlab.analysis import load_switch_table, verdicts
from ptlab.analysis import plots as P
from ptlab.analysis import surrogate as sur
from ptlab.analysis import variance as V
from ptlab.analysis.pipeline import study_noise
from ptlab.analysis.table import AnalysisInputError
from ptlab.book.glue import glue_text, glue_value
from ptlab.book.plotting import setup_figures
from ptlab.profiles import profile_configs
from ptlab.sweep import load_results, run_study

setup_figures()

# %%
src = dict(study=None, table=table) if table else dict(study=study, profile=profile)
t = load_switch_table(**src, results_dir=results_dir, min_rows=24)
noise = None if table else study_noise(study, results_dir, profile=profile)
model = sur.fit_surrogate(t.X, t.y)
sv = sur.shap_explanation(model, t.X).values
uni = sur.univariate(t, sv)
number = sur.numbering(uni)
s1, s2, s3 = uni["switch"][:3]
glue_value("n", t.n)
glue_value("s1", s1)
glue_value("s2", s2)
glue_value("s3", s3)

# %% [markdown] tags=["lang-zh"]
# 本次数据（{glue:text}`n` 个运行）中，1、2、3 号开关依次为 {glue:text}`s1`、{glue:text}`s2`、
# {glue:text}`s3`。注意编号来自本次数据的排序，未必与笔记相同（笔记中依次为 untie_attn_weights、
# use_std_residual、use_rms_norm）；检验笔记的论断时，我们直接使用开关名。
#
# ## 条件分布比较

# %% [markdown] tags=["lang-en"]
# In these data ({glue:text}`n` runs), switches 1, 2 and 3 are {glue:text}`s1`, {glue:text}`s2`
# and {glue:text}`s3`. The numbers come from the ranking on these data and need not match those
# of Note 1 (untie_attn_weights, use_std_residual, use_rms_norm); where we test the claims of
# the notes, we refer to the switches by name.
#
# ## Conditional comparisons

# %%
n1, n2, n3 = verdicts.SEED_TOP3  # switches 1, 2, 3 of Note 1, by name
cmp13 = V.compare(t, {"1 on, 3 on": {n1: 1, n3: 1}, "1 on, 3 off": {n1: 1, n3: 0}})
cmp123 = V.compare(
    t, {"1,2 on, 3 on": {n1: 1, n2: 1, n3: 1}, "1,2 on, 3 off": {n1: 1, n2: 1, n3: 0}}
)
run13 = V.compare(t, {"run's 1 on, 3 on": {s1: 1, s3: 1}, "run's 1 on, 3 off": {s1: 1, s3: 0}})
for name, long, title in [
    ("fig_cmp13", cmp13, f"{n1} 开 · {n3} 开/关 ({n1} on, {n3} on/off)"),
    ("fig_cmp123", cmp123, f"{n1}、{n2} 开 · {n3} 开/关 ({n1}, {n2} on, {n3} on/off)"),
    ("fig_run13", run13, f"本次排序 · this run's ranking: {s1} 开 (on) · {s3} 开/关 (on/off)"),
]:
    fig = P.comparison_panels(long, title)
    glue(name, fig, display=False)
    plt.close(fig)
top5 = {}
for s in uni["switch"][:5]:
    top5[f"{number[s]} on"] = {s: 1}
    top5[f"{number[s]} off"] = {s: 0}
cmp5 = V.compare(t, top5)
fig = P.comparison_panels(cmp5, "前五个开关各自开/关 · each of the top five on/off")
glue("fig_cmp5", fig, display=False)
plt.close(fig)
pd.concat(
    [V.stats_table(cmp13), V.stats_table(cmp123), V.stats_table(run13), V.stats_table(cmp5)]
).round(4)

# %% [markdown] tags=["lang-zh"]
# 笔记中的条件比较针对的是具体的开关，因此下面的前两张图按开关名取笔记的 1、2、3 号开关
# （untie_attn_weights、use_std_residual、use_rms_norm）；第三张图换成本次排序的 1 号与 3 号开关，作为对照。
#
# ```{glue:figure} fig_cmp13
# :name: fig-var-cmp13-zh
#
# untie_attn_weights 打开时，use_rms_norm 打开与关闭两组的损失分布（五种视图）。
# ```
#
# ```{glue:figure} fig_cmp123
# :name: fig-var-cmp123-zh
#
# untie_attn_weights 与 use_std_residual 都打开时，use_rms_norm 打开与关闭两组的损失分布。
# ```
#
# ```{glue:figure} fig_run13
# :name: fig-var-run13-zh
#
# 按本次数据的排序：1 号开关打开时，3 号开关打开与关闭两组的损失分布。
# ```
#
# ```{glue:figure} fig_cmp5
# :name: fig-var-cmp5-zh
#
# 本次排序的前五个开关各自打开与关闭时的损失分布。
# ```
#
# 上表给出各条件下的统计量：运行数、均值、标准差、最小值、四分位数与最大值。

# %% [markdown] tags=["lang-en"]
# The conditional comparisons of the notes are about particular switches, so the first two
# figures take switches 1, 2 and 3 of the notes by name (untie_attn_weights, use_std_residual,
# use_rms_norm); the third uses switches 1 and 3 of this run's ranking instead, for contrast.
#
# ```{glue:figure} fig_cmp13
# :name: fig-var-cmp13-en
#
# With untie_attn_weights on: the loss with use_rms_norm on vs off (five views).
# ```
#
# ```{glue:figure} fig_cmp123
# :name: fig-var-cmp123-en
#
# With untie_attn_weights and use_std_residual on: the loss with use_rms_norm on vs off.
# ```
#
# ```{glue:figure} fig_run13
# :name: fig-var-run13-en
#
# By this run's ranking: with switch 1 on, the loss with switch 3 on vs off.
# ```
#
# ```{glue:figure} fig_cmp5
# :name: fig-var-cmp5-en
#
# The loss with each of this run's top five switches on and off.
# ```
#
# The table gives, for each condition, the number of runs, mean, sd, min, quartiles and max.

# %%
order = E.resolvable_order(t.X, need_residual_df=noise is None)
vt = V.variance_tests(t)
vt1 = V.variance_tests(t, order=1)
ls = V.location_scale(t)
eff = E.exact_effects(t, noise=noise)
glue_value("mean_order", order)
glue_value("n_var_sig", int((vt["p_adjusted"] < 0.05).sum()))
glue_value("n_var_sig1", int((vt1["p_adjusted"] < 0.05).sum()))
var_table = pd.DataFrame(
    {
        "#": [number[s] for s in vt["switch"]],
        "switch": vt["switch"],
        "BF p_adj (full mean model)": vt["p_adjusted"],
        "BF p_adj (additive model)": vt1["p_adjusted"],
        "BF sd ratio": vt["sd_on"] / vt["sd_off"],
        "sd ratio on/off": ls["sd_ratio"],
        "ratio CI low": np.exp(ls["ci_low"]),
        "ratio CI high": np.exp(ls["ci_high"]),
        "LS p_adj": ls["p_adjusted"],
    }
).sort_values("#")
var_table.round(4)

# %% [markdown] tags=["lang-zh"]
# ## 方差检验
#
# 对每个开关，我们把均值模型（含设计能分辨的全部 {glue:text}`mean_order` 阶及以下交互项）的残差
# 按该开关的开/关分组，做 Brown–Forsythe 检验（以中位数为中心的 Levene 检验），再对十个开关做
# Holm 校正：共有 {glue:text}`n_var_sig` 个开关显著改变了残差的离散程度。若均值模型只含主效应，
# 交互作用会留在残差中，此时显著的开关有 {glue:text}`n_var_sig1` 个；两者之差说明所谓“方差”
# 有多少其实是交互作用。位置–尺度模型同时拟合均值与对数方差，表中 sd ratio 为开关打开与关闭时
# 残差标准差之比，并附 95% 置信区间（两步估计会把该比值向 1 收缩，因此显著性以 Brown–Forsythe
# 检验为准，位置–尺度模型只用来给出方向）。

# %% [markdown] tags=["lang-en"]
# ## Variance tests
#
# For each switch, we split the residuals of the mean model (with all interactions up to order
# {glue:text}`mean_order` that the design resolves) into runs with the switch on and runs with
# it off, and compare the two groups with a Brown–Forsythe test (Levene's test centred on the
# median), Holm-corrected over the ten switches: {glue:text}`n_var_sig` switches significantly
# change the spread of the residuals. With a mean model of main effects only, the interactions
# stay in the residuals, and {glue:text}`n_var_sig1` switches are significant; the difference
# shows how much of the "variance" is really interaction. The location–scale model fits the mean
# and the log-variance together. In the table, its sd ratio is the ratio of the residual sds
# with the switch on and off, with a 95% CI. The two-step estimate shrinks these ratios toward 1,
# so the Brown–Forsythe test decides significance and the location–scale model only gives the
# direction.

# %% tags=["hide-input"]
try:
    spread = V.conditional_spread(t, "use_rms_norm", noise=noise)
    zh, en = verdicts.spread_claim(spread)
    ra = spread.attrs
    resid_zh = (
        f"两半各自加性模型的残差标准差之比为 {ra['resid_ratio']:.2f}（95% CI "
        f"{ra['resid_low']:.2f} 至 {ra['resid_high']:.2f}）。"
    )
    resid_en = (
        f"The ratio of the two halves' residual sds is {ra['resid_ratio']:.2f} (95% CI "
        f"{ra['resid_low']:.2f} to {ra['resid_high']:.2f})."
    )
except AnalysisInputError as e:  # too few runs in a half: say so instead of a number
    spread = pd.DataFrame(columns=["switch", "effect_on", "effect_off", "growth"])
    zh, en = (f"数据太少，无法按原意检验（{e}）。", f"Too few runs to test this as stated ({e}).")
    resid_zh = resid_en = ""
glue_text("spread_zh", zh)
glue_text("spread_en", en)
glue_text("resid_zh", resid_zh)
glue_text("resid_en", resid_en)
rms_e = eff.set_index("term").loc["use_rms_norm"]
se = (rms_e.ci_high - rms_e.ci_low) / (2 * stats.t.ppf(0.975, eff.attrs["noise_dof"]))
tst = V.tost(float(rms_e.effect), float(2 * se), eff.attrs["noise_dof"], equivalence_margin)
zh, en = verdicts.mean_equivalence(float(rms_e.effect), tst, equivalence_margin)
glue_text("tost_zh", zh)
glue_text("tost_en", en)
glue_value("margin", equivalence_margin)
side = pd.DataFrame(
    {
        "残差来源 · residuals of": [
            "加性模型 · additive (order 1)",
            f"含交互的模型 · with interactions (order {order})",
        ],
        "sd on": [
            vt1.set_index("switch").loc["use_rms_norm", "sd_on"],
            vt.set_index("switch").loc["use_rms_norm", "sd_on"],
        ],
        "sd off": [
            vt1.set_index("switch").loc["use_rms_norm", "sd_off"],
            vt.set_index("switch").loc["use_rms_norm", "sd_off"],
        ],
        "BF p_adj": [
            vt1.set_index("switch").loc["use_rms_norm", "p_adjusted"],
            vt.set_index("switch").loc["use_rms_norm", "p_adjusted"],
        ],
    }
).set_index("残差来源 · residuals of")
display(side.round(4))
spread.set_index("switch").round(4) if len(spread) else spread

# %% [markdown] tags=["lang-zh"]
# ## 按原意检验笔记的论断
#
# 笔记的结论原文是：“use_rms_norm 开关打开会造成巨大的方差增加，由此导致了该开关打开条件下，
# 其他开关开闭情况对 loss 造成的影响急剧增大”。这是一个关于交互作用的论断：若 use_rms_norm 与某开关 x
# 的交互作用与 x 的主效应同号，x 的效应在 use_rms_norm 打开时就更大。上面两种残差检验都看不到这种交互：
# 只含主效应的模型中，交互项 γ·x_rms·x_j 在两半数据中给残差加上大小相同的 ±γ，残差的离散程度不变；
# 含交互项的模型则直接把它吸收进均值（第一张表）。因此我们直接检验论断：把运行按 use_rms_norm 分成两半，
# 在每一半中拟合其余九个开关的加性模型，得到每个开关在两半中的效应，并以其自身方向计算效应增量
# （第二张表，区间由纯误差给出）。{glue:md}`spread_zh` {glue:md}`resid_zh`
# 后者衡量的是两半中其余开关之间的交互（非加性）与噪声，而非论断本身。
#
# “平均损失不变”也不能由一个不显著的 p 值得出，需要等价性检验：取 ±{glue:text}`margin` nats/byte
# 为等价界值（约为单次运行的种子标准差），进行双单侧 t 检验（TOST）。{glue:md}`tost_zh`

# %% [markdown] tags=["lang-en"]
# ## The notes' claim, tested as stated
#
# Note 2 concludes that turning use_rms_norm on "causes a huge increase in variance, so that
# with it on, switching the other switches on or off changes the loss far more". That is a
# claim about interactions: if the interaction of use_rms_norm with a switch x has the sign of
# x's main effect, x's effect is larger with use_rms_norm on. Neither residual test above can
# see such interactions: in the main-effects model a term γ·x_rms·x_j adds ±γ of the same size
# to the residuals of both halves, leaving their spread unchanged, and the model with
# interactions absorbs it into the mean (first table). So we test the claim directly: split the
# runs by use_rms_norm, fit the additive model of the other nine switches in each half, and
# compare each switch's effect in the two halves, as growth in its own direction (second table;
# intervals from the pure error). {glue:md}`spread_en` {glue:md}`resid_en` That ratio measures
# the other switches' interactions among themselves (non-additivity) plus noise in each half,
# not the claim itself.
#
# "The mean is unchanged" cannot rest on a non-significant p either; it needs an equivalence
# test. We take ±{glue:text}`margin` nats/byte as the margin (about one run's seed sd) and run
# two one-sided t tests (TOST). {glue:md}`tost_en`

# %%
rms = vt.set_index("switch").loc["use_rms_norm"]
rms_eff = eff.set_index("term").loc["use_rms_norm"]
zh, en = verdicts.variance_claim(rms, float(rms_eff.effect), bool(rms_eff.p_adjusted < 0.05))
glue_text("rms_zh", zh)
glue_text("rms_en", en)
sv_rms = pd.Series(sv[:, list(t.X.columns).index("use_rms_norm")])
on = t.X["use_rms_norm"] == 1
glue_value("rms_shap_on", float(sv_rms[on].mean()))
glue_value("rms_shap_off", float(sv_rms[~on].mean()))
glue_value("rms_sd_on", float(t.y[on].std()))
glue_value("rms_sd_off", float(t.y[~on].std()))
pair = eff.set_index("term").loc["untie_attn_weights:use_rms_norm"] if order >= 2 else None
i1 = list(t.X.columns).index("untie_attn_weights")
glue_value("u_sd_rms_on", float(pd.Series(sv[on.to_numpy(), i1]).std()))
glue_value("u_sd_rms_off", float(pd.Series(sv[~on.to_numpy(), i1]).std()))
if pair is not None:
    glue_text(
        "pair13_zh",
        f"精确模型中 untie_attn_weights × use_rms_norm 交互项为 "
        f"{2 * pair.estimate:+.4f}（95% CI {2 * pair.ci_low:+.4f} 至 {2 * pair.ci_high:+.4f}，"
        f"Holm p = {pair.p_adjusted:.3g}）。",
    )
    glue_text(
        "pair13_en",
        f"In the exact model the untie_attn_weights × use_rms_norm term is "
        f"{2 * pair.estimate:+.4f} (95% CI {2 * pair.ci_low:+.4f} to "
        f"{2 * pair.ci_high:+.4f}, Holm p = {pair.p_adjusted:.3g}).",
    )
else:
    glue_text("pair13_zh", "本设计的运行数不足以估计两两交互项。")
    glue_text("pair13_en", "The design has too few runs to estimate two-way terms.")
rows = []
for s in uni["switch"][:5]:
    e = eff.set_index("term").loc[s]
    v = vt.set_index("switch").loc[s]
    zh_c, en_c = verdicts.classify(bool(e.p_adjusted < 0.05), bool(v.p_adjusted < 0.05))
    rows.append(
        {
            "#": number[s],
            "switch": s,
            "effect on − off": e.effect,
            "effect p_adj": e.p_adjusted,
            "sd ratio": v.sd_on / v.sd_off,
            "BF p_adj": v.p_adjusted,
            "作用方式": zh_c,
            "acts on": en_c,
        }
    )
q3 = pd.DataFrame(rows)
q3.round(4)

# %% [markdown] tags=["lang-zh"]
# ## 笔记中的三个疑点
#
# **结论核对。** {glue:md}`rms_zh` 按原意的检验见上一节：{glue:md}`spread_zh` {glue:md}`tost_zh`
#
# **疑点 1：为何 use_rms_norm 关闭时 SHAP 值较小？** SHAP 衡量的是开关相对于平均预测的边际贡献，
# 而不是损失本身。本次数据中 use_rms_norm 打开时的平均 SHAP 为 {glue:text}`rms_shap_on:+.4f`，
# 关闭时为 {glue:text}`rms_shap_off:+.4f`；打开与关闭两组损失的标准差分别为
# {glue:text}`rms_sd_on:.4f` 与 {glue:text}`rms_sd_off:.4f`。两组 SHAP 的符号只说明哪一侧的平均损失
# 更低；其大小取决于两组均值之差与两组运行各占的比例，与方差无关。
#
# **疑点 2：依赖图中 1 号开关的 SHAP 为何随 use_rms_norm 分簇？** 若 untie_attn_weights 的作用
# 与 use_rms_norm 无关，两种颜色的点应当重合。use_rms_norm 打开与关闭时，untie_attn_weights 的 SHAP
# 值标准差分别为 {glue:text}`u_sd_rms_on:.4f` 与 {glue:text}`u_sd_rms_off:.4f`。{glue:md}`pair13_zh`
# 也就是说，分簇反映的是交互作用，而它是否超出噪声，要看上面给出的置信区间。
#
# **疑点 3：前五个开关是通过均值还是通过方差起作用？** 上表对每个开关给出主效应（开 − 关）及其
# Holm 校正 p 值，以及残差标准差比与 Brown–Forsythe 检验的 Holm 校正 p 值，并据此归类。

# %% [markdown] tags=["lang-en"]
# ## The three questions of Note 2
#
# **The claim.** {glue:md}`rms_en` Tested as stated (previous section): {glue:md}`spread_en`
# {glue:md}`tost_en`
#
# **Question 1: why is the SHAP value of use_rms_norm small when the switch is off?** SHAP
# measures a switch's marginal contribution relative to the average prediction, not the loss
# itself. In these data, the mean SHAP value of use_rms_norm is {glue:text}`rms_shap_on:+.4f`
# with the switch on and {glue:text}`rms_shap_off:+.4f` with it off; the loss sd is
# {glue:text}`rms_sd_on:.4f` (on) and {glue:text}`rms_sd_off:.4f` (off). The sign of each
# group's mean SHAP value only says which group has the lower mean loss. Its size follows from
# the difference between the group means and the share of runs in each group, not from the
# variance.
#
# **Question 2: why does the SHAP value of untie_attn_weights (switch 1 of Note 1) split by
# use_rms_norm in the dependence plot?** If the effect of untie_attn_weights did not depend on
# use_rms_norm, the two colours would overlap. The sd of the untie_attn_weights SHAP values is
# {glue:text}`u_sd_rms_on:.4f` with use_rms_norm on and {glue:text}`u_sd_rms_off:.4f` with it
# off. {glue:md}`pair13_en` The split thus reflects an interaction; whether the interaction stands
# out from the noise depends on the confidence interval above.
#
# **Question 3: do the top five switches act through the mean or through the spread?** For each
# switch, the table gives the main effect (on − off) with its Holm-adjusted p-value and the
# residual sd ratio with its Holm-adjusted Brown–Forsythe p-value, and classifies the switch
# accordingly.

# %%
rho, rho_p = E.compare_rankings(uni, eff)
glue_value("noise_sd", eff.attrs["noise_sd"])
glue_value("noise_dof", eff.attrs["noise_dof"])
glue_value(
    "noise_source_zh",
    {"replicate seeds": "重复种子", "residuals": "模型残差"}[eff.attrs["noise_source"]],
)
glue_value("noise_source_en", eff.attrs["noise_source"])
glue_value("r2_exact", eff.attrs["r2"])
zh, en = verdicts.effects_summary(eff, rho)
glue_text("eff_zh", zh)
glue_text("eff_en", en)
fig = P.forest(eff, eff.attrs["noise_sd"])
glue("fig_forest", fig, display=False)
plt.close(fig)
E.significant(eff).head(20).round(4)

# %% [markdown] tags=["lang-zh"]
# ## 精确的析因效应
#
# 对 ±1 编码的开关做最小二乘回归，包含设计能分辨的全部 {glue:text}`mean_order` 阶及以下交互项
# （R² = {glue:text}`r2_exact:.3f`）。误差项来自{glue:text}`noise_source_zh`：标准差
# {glue:text}`noise_sd:.4f`，自由度 {glue:text}`noise_dof`。
#
# ```{glue:figure} fig_forest
# :name: fig-var-forest-zh
#
# 最大的 20 个效应（开 − 关 = 2β）及其 95% 置信区间；红色为 Holm 校正后显著，灰色带为 ± 单次运行的
# 种子标准差，落在带内的效应小于种子噪声。
# ```
#
# {glue:md}`eff_zh` 上表列出显著的项（最多 20 个），below_noise 标记效应小于种子标准差的项。

# %% [markdown] tags=["lang-en"]
# ## Exact factorial effects
#
# We fit least squares on the ±1-coded switches, with every interaction up to order
# {glue:text}`mean_order` that the design resolves (R² = {glue:text}`r2_exact:.3f`). The error
# term comes from {glue:text}`noise_source_en`: sd {glue:text}`noise_sd:.4f` on
# {glue:text}`noise_dof` degrees of freedom.
#
# ```{glue:figure} fig_forest
# :name: fig-var-forest-en
#
# The 20 largest effects (on − off = 2β) with 95% CIs; red: significant after Holm correction.
# The grey band is ± the seed sd of a single run; effects inside it are smaller than seed noise.
# ```
#
# {glue:md}`eff_en` The table lists the significant terms (up to 20); below_noise marks effects
# smaller than the seed sd.

# %% tags=["hide-input"]
base_m, _ = profile_configs(profile)
reference = base_m.replace(**C.reference_row("all-on"))
untied = [s for s in E.significant(eff[eff["order"] == 1])["term"] if s.startswith("untie_")]
top = next(s for s in [*untied, "untie_attn_weights"] if C.adds_parameters(reference, s))
width = C.matching_ffn(reference, top)
cap_df, _ = run_study(
    f"{study}-confirm",
    C.capacity_design(top, "all-on", width),
    seeds=capacity_seeds,
    profile=profile,
    results_dir=results_dir,
)
cap = C.capacity_table(cap_df, top)
zh, en = verdicts.capacity(cap, top)
glue_text("cap_zh", zh)
glue_text("cap_en", en)
glue_value("cap_switch", top)
glue_value("cap_width", width)
glue_value("cap_width0", base_m.ffn_hidden)
glue_value("cap_seeds", capacity_seeds)
runs = load_results(study, results_dir)
glue_value("n_param_values", int(runs.loc[runs["profile"] == profile, "n_params"].nunique()))
cap.set_index("arm").round(4)

# %% [markdown] tags=["lang-zh"]
# ## 容量混杂
#
# 解绑注意力权重或层间权重会增加参数。参数量完全由开关决定（本设计中有 {glue:text}`n_param_values`
# 种取值），是若干开关及其乘积的函数，因此把 n_params 放进效应模型并不能把“容量”与开关分开（两者共线）。
# 我们改用参数量匹配的对照：在全开（Llama）参照下，对主效应最强的解绑开关 {glue:text}`cap_switch`
# 训练三组模型（各 {glue:text}`cap_seeds` 个种子）：打开；关闭；关闭但把 FFN 宽度从
# {glue:text}`cap_width0` 加宽到 {glue:text}`cap_width`，使参数量不少于打开时。{glue:md}`cap_zh`

# %% [markdown] tags=["lang-en"]
# ## The capacity confound
#
# Untying the attention or the layer weights adds parameters. The parameter count is set by the
# switches alone (it takes {glue:text}`n_param_values` values in this design), as a function
# of a few switches and their products, so putting n_params into the effects model cannot
# separate "capacity" from the switches (the two are collinear). We use a parameter-matched
# control instead: at the all-on (Llama) reference, the untying switch with the strongest main
# effect, {glue:text}`cap_switch`, is trained in three arms ({glue:text}`cap_seeds` seeds
# each): on; off; and off with the FFN widened from {glue:text}`cap_width0` to
# {glue:text}`cap_width` so that it has at least as many parameters as the on arm.
# {glue:md}`cap_en`

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - {glue:md}`rms_zh`
# - {glue:md}`spread_zh`
# - {glue:md}`tost_zh`
# - {glue:md}`eff_zh`
# - {glue:md}`cap_zh`

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - {glue:md}`rms_en`
# - {glue:md}`spread_en`
# - {glue:md}`tost_en`
# - {glue:md}`eff_en`
# - {glue:md}`cap_en`
