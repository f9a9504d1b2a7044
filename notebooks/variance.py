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
#     seconds: {smoke: 44, quick: 55}  # fresh-clone quick book, 2-core CPU (2026-12-05)
#     depends: [sweep]
#     profiles:
#       smoke: {capacity_seeds: 2, followup_seeds: 2, dealias_top: 1}
#       full: {dealias_top: 9, followup_seeds: 5}
# ---

# %% [markdown] tags=["lang-zh"]
# # 条件分布、方差与精确效应
#
# **本章回答的问题：** rms_norm 只是让损失分布变宽（方差变大），还是也改变了平均损失？
# 撇开 SHAP 代理模型的近似，各开关及其交互作用的精确效应有多大、不确定性有多大？
#
# 笔记二（见[研究笔记](notes.md)）认为：rms_norm（笔记一的 3 号开关）并不普遍升高或降低损失，而是拉宽了损失分布，
# 因此它打开时其他开关开闭对损失的影响急剧增大。本章先复现笔记中的条件分布比较（箱线图、小提琴图、
# 直方图 + KDE、ECDF 与统计量柱状图），再用两种方法检验“方差”这一论断：
# 对均值模型的残差做 Brown–Forsythe 检验（{ref}`Brown & Forsythe, 1974 <ref-brown-forsythe-1974-zh>`；
# 多重比较用 {ref}`Holm <ref-holm-1979-zh>` 校正），以及同时拟合均值与对数方差的位置–尺度模型；
# 随后按笔记的原意检验其他开关的效应是否增大（对筛选设计中互为别名的对比做去别名的跟进实验），
# 并用等价性检验判断平均损失是否不变。最后，由于开关都是二值的，我们对 ±1 编码的开关做普通最小二乘，
# 得到精确的析因效应，误差项取自重复种子（与上一章相同），并与 SHAP 的排序对照。
# 代码：`ptlab.analysis.variance`、`ptlab.analysis.effects`、`ptlab.analysis.confirm`。

# %% [markdown] tags=["lang-en"]
# # Conditioning, variance and exact effects
#
# **The question:** does rms_norm only widen the loss distribution, or does it also move the
# mean loss? And with the SHAP surrogate's approximation set aside, how large are the exact
# effects of the switches and their interactions, and how uncertain are they?
#
# Note 2 (see [the research notes](notes.md)) argues that rms_norm (Note 1's switch 3) does not
# raise or lower the loss across the board but widens the loss distribution, so that with
# rms_norm on the other switches change the loss far more. This chapter first reproduces the
# conditional comparisons of Note 2 (box plots, violin plots, histograms + KDE, ECDFs and bar
# charts of summary statistics). It then tests the variance claim in two ways: a
# Brown–Forsythe test on the residuals of the mean model
# ({ref}`Brown & Forsythe, 1974 <ref-brown-forsythe-1974-en>`;
# {ref}`Holm <ref-holm-1979-en>`-corrected), and a location–scale model that fits the mean and
# the log-variance together. Then it tests the claim as stated (do the other switches' effects
# grow?), with de-aliasing follow-ups for the contrasts the screening design confounds, and
# "the mean is unchanged" with an equivalence test. Finally, because the switches are binary,
# ordinary least squares on the ±1-coded switches gives the exact factorial effects, with the
# error from replicate seeds (as in the previous chapter), set beside the SHAP ranking. Code:
# `ptlab.analysis.variance`, `ptlab.analysis.effects`, `ptlab.analysis.confirm`.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles)
study = "switches"  # the sweep chapter's study; replicate seeds come from STUDY-noise
results_dir = "results"
table = ""  # an external .xlsx / .csv / .parquet table instead of the study
equivalence_margin = 0.02  # nats/byte: a mean change smaller than this counts as "unchanged"
capacity_seeds = 3  # seeds per arm of the parameter-matched control
dealias_top = 3  # aliased contrasts beyond noise to de-alias with a 2 × 2 follow-up (full: 9)
followup_seeds = 3  # seeds per cell of each follow-up

# %% tags=["remove-cell"]
import numpy as np
import pandas as pd
from scipy import stats

from ptlab.analysis import confirm as confirmation
from ptlab.analysis import effects, load_switch_table, plots, variance, verdicts
from ptlab.analysis import surrogate as sur
from ptlab.analysis.pipeline import study_noise
from ptlab.analysis.table import AnalysisInputError
from ptlab.book.claims import Claim, record_claims
from ptlab.book.glue import glue_pair, glue_value, save_table
from ptlab.book.plotting import glue_figure, setup_figures
from ptlab.display import for_reader, interval, mean_sd
from ptlab.models import SWITCHES, short_name
from ptlab.profiles import profile_configs
from ptlab.sweep import load_results, run_study

setup_figures()
pd.set_option("display.max_colwidth", None)  # the table rule: no truncated strings

# %% tags=["remove-cell"]
src = dict(study=None, table=table) if table else dict(study=study, profile=profile)
t = load_switch_table(**src, results_dir=results_dir, min_rows=24)
noise = None if table else study_noise(study, results_dir, profile=profile)
model = sur.fit_surrogate(t.X, t.y)
sv = sur.shap_explanation(model, t.X).values
uni = sur.univariate(t, sv)
s1, s2, s3 = uni["switch"][:3]
n1, n2, n3 = verdicts.SEED_TOP3  # switches 1, 2, 3 of Note 1, by name
glue_value("n", t.n)
for k, v in {"s1": s1, "s2": s2, "s3": s3, "n1": n1, "n2": n2, "n3": n3}.items():
    glue_value(k, short_name(v))

# %% [markdown] tags=["lang-zh"]
# ## 条件分布比较
#
# 笔记二的条件比较针对的是笔记一编号的具体开关：1 号开关 {glue:text}`n1`、2 号开关 {glue:text}`n2`、
# 3 号开关 {glue:text}`n3`。本次数据（{glue:text}`n` 个运行）按平均 |SHAP| 排出的前三名是 {glue:text}`s1`、
# {glue:text}`s2` 与 {glue:text}`s3`，未必与笔记相同，因此下面的图一律直接写开关名：前两张图复现笔记的比较，
# 第三张图换成本次排序的第一与第三名作为对照，第四张图给出本次排序前五名各自开与关时的损失分布。

# %% [markdown] tags=["lang-en"]
# ## Conditional comparisons
#
# Note 2's conditional comparisons are about particular switches, numbered as in Note 1:
# switch 1 is {glue:text}`n1`, switch 2 {glue:text}`n2` and switch 3 {glue:text}`n3`. In these
# data ({glue:text}`n` runs) the three strongest switches by mean |SHAP| are {glue:text}`s1`,
# {glue:text}`s2` and {glue:text}`s3`, which need not match the notes, so the figures below
# name the switches: the first two reproduce the notes' comparisons, the third uses this run's
# first and third switches for contrast, and the fourth shows the loss with each of this run's
# top five switches on and off.

# %% tags=["hide-input"]
on_off = {1: "开 on", 0: "关 off"}


def label(cond):
    return ", ".join(f"{short_name(s)} {on_off[v]}" for s, v in cond.items())


def condition(*pairs):
    return {label(dict(c)): dict(c) for c in pairs}


cmp13 = variance.compare(t, condition([(n1, 1), (n3, 1)], [(n1, 1), (n3, 0)]))
cmp123 = variance.compare(t, condition([(n1, 1), (n2, 1), (n3, 1)], [(n1, 1), (n2, 1), (n3, 0)]))
run13 = variance.compare(t, condition([(s1, 1), (s3, 1)], [(s1, 1), (s3, 0)]))
for name, long, title in [
    ("fig_cmp13", cmp13, f"{short_name(n1)} 开 on · {short_name(n3)} 开/关 on/off"),
    (
        "fig_cmp123",
        cmp123,
        f"{short_name(n1)}, {short_name(n2)} 开 on · {short_name(n3)} 开/关 on/off",
    ),
    ("fig_run13", run13, f"{short_name(s1)} 开 on · {short_name(s3)} 开/关 on/off"),
]:
    glue_figure(name, plots.comparison_panels(long, title))
glue_figure("fig_cmp5", plots.on_off_grid(t, list(uni["switch"][:5])))
stats_all = pd.concat(
    [variance.stats_table(c) for c in (cmp13, cmp123, run13)]
    + [
        variance.stats_table(variance.compare(t, condition([(s, 1)], [(s, 0)])))
        for s in uni["switch"][:5]
    ]
).reset_index()
save_table(stats_all, "variance", "conditions")
for_reader(
    stats_all.assign(
        mean_sd=[mean_sd(m, sd) for m, sd in zip(stats_all["mean"], stats_all["std"], strict=True)]
    )[["condition", "count", "mean_sd", "median", "min", "max"]],
    ["condition"],
    {
        "condition": "条件 · condition",
        "count": "运行数 · runs",
        "mean_sd": "均值 ± 标准差 · mean ± sd",
        "median": "中位数 · median",
        "min": "最小 · min",
        "max": "最大 · max",
    },
)

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_cmp13
# :alt: 五个小图排成两行，比较 untie_attn 打开时 rms_norm 打开与关闭两组运行的验证损失：箱线图、小提琴图、直方图加核密度曲线、经验分布函数和均值、标准差、中位数的柱状图。
# :name: fig-var-cmp13-zh
#
# untie_attn 打开时，rms_norm 打开与关闭两组的损失分布（五种视图）。
# ```
#
# ```{glue:figure} fig_cmp123
# :alt: 同样的五种视图，比较 untie_attn 与 std_residual 都打开时 rms_norm 打开与关闭两组运行的验证损失。
# :name: fig-var-cmp123-zh
#
# untie_attn 与 std_residual 都打开时，rms_norm 打开与关闭两组的损失分布。
# ```
#
# ```{glue:figure} fig_run13
# :alt: 同样的五种视图，比较本次排序第一名的开关打开时，第三名的开关打开与关闭两组运行的验证损失。
# :name: fig-var-run13-zh
#
# 按本次数据的排序：第一名的开关打开时，第三名的开关打开与关闭两组的损失分布（开关名见图标题）。
# ```
#
# ```{glue:figure} fig_cmp5
# :alt: 五个小提琴图排成两行，每个对应本次排序前五名中的一个开关，比较该开关关闭与打开时的验证损失分布。
# :name: fig-var-cmp5-zh
#
# 本次排序的前五个开关各自关闭与打开时的损失分布。
# ```
#
# 上表给出各条件下的运行数、均值 ± 标准差、中位数与范围；含四分位数的完整表：
# {download}`conditions.csv <../generated/data/variance/conditions.csv>`。

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_cmp13
# :alt: Five panels in two rows comparing the validation loss of the runs with rms_norm on and off among those with untie_attn on: box plots, violins, histograms with density curves, empirical distribution functions, and bars of the mean, sd and median.
# :name: fig-var-cmp13-en
#
# With untie_attn on: the loss with rms_norm on vs off (five views).
# ```
#
# ```{glue:figure} fig_cmp123
# :alt: The same five views comparing the validation loss with rms_norm on and off among the runs with both untie_attn and std_residual on.
# :name: fig-var-cmp123-en
#
# With untie_attn and std_residual on: the loss with rms_norm on vs off.
# ```
#
# ```{glue:figure} fig_run13
# :alt: The same five views comparing the validation loss with this run's third-ranked switch on and off among the runs with its first-ranked switch on.
# :name: fig-var-run13-en
#
# By this run's ranking: with the first switch on, the loss with the third switch on vs off
# (switch names in the title).
# ```
#
# ```{glue:figure} fig_cmp5
# :alt: Five violin plots in two rows, one for each of this run's five strongest switches, comparing the validation loss with the switch off and on.
# :name: fig-var-cmp5-en
#
# The loss with each of this run's top five switches off and on.
# ```
#
# The table gives, for each condition, the number of runs, mean ± sd, median and range; the full
# table with quartiles: {download}`conditions.csv <../generated/data/variance/conditions.csv>`.

# %% [markdown] tags=["lang-zh"]
# (variance-spread-zh)=
# ## 方差检验

# %% [markdown] tags=["lang-en"]
# (variance-spread-en)=
# ## Variance tests

# %%
order = effects.resolvable_order(t.X, need_residual_df=noise is None)
vt = variance.variance_tests(t)
vt1 = variance.variance_tests(t, order=1)
ls = variance.location_scale(t)
eff = effects.exact_effects(t, noise=noise)
glue_value("mean_order", order)
glue_value("n_var_sig", int((vt["p_adjusted"] < 0.05).sum()))
glue_value("n_var_sig1", int((vt1["p_adjusted"] < 0.05).sum()))
var_table = pd.DataFrame(
    {
        "switch": vt["switch"].map(short_name),
        "bf_full": vt["p_adjusted"],
        "bf_additive": vt1["p_adjusted"],
        "ratio": vt["sd_ratio"],
        "ratio_ci": [interval(lo, hi) for lo, hi in zip(vt.ratio_low, vt.ratio_high, strict=True)],
        "ls_ratio": ls["sd_ratio"],
        "ls_ci": [
            interval(np.exp(lo), np.exp(hi)) for lo, hi in zip(ls.ci_low, ls.ci_high, strict=True)
        ],
    }
)
save_table(var_table, "variance", "variance_tests")
for_reader(
    var_table,
    ["switch"],
    {
        "switch": "开关 · switch",
        "bf_full": "BF Holm p（含交互 · full model）",
        "bf_additive": "BF Holm p（加性 · additive）",
        "ratio": "残差 sd 比 · sd ratio",
        "ratio_ci": "95% CI",
        "ls_ratio": "位置–尺度 sd 比 · LS ratio",
        "ls_ci": "LS 95% CI",
    },
)

# %% [markdown] tags=["lang-zh"]
# 对每个开关，我们把均值模型（含设计能分辨的全部 {glue:text}`mean_order` 阶及以下交互项）的残差
# 按该开关的开与关分组，做 Brown–Forsythe 检验（以中位数为中心的 Levene 检验），再对十个开关做
# Holm 校正：共有 {glue:text}`n_var_sig` 个开关显著改变了残差的离散程度。若均值模型只含主效应，
# 交互作用会留在残差中，此时显著的开关有 {glue:text}`n_var_sig1` 个；两者之差说明所谓“方差”
# 有多少其实是交互作用。表中“残差 sd 比”为开关打开与关闭时残差标准差之比，附 F 分布给出的 95% 置信区间；
# 位置–尺度模型同时拟合均值与对数方差，它的两步估计会把比值向 1 收缩，因此只用来给出方向。

# %% [markdown] tags=["lang-en"]
# For each switch, we split the residuals of the mean model (with all interactions up to order
# {glue:text}`mean_order` that the design resolves) into runs with the switch on and runs with
# it off, and compare the two groups with a Brown–Forsythe test (Levene's test centred on the
# median), Holm-corrected over the ten switches: {glue:text}`n_var_sig` switches significantly
# change the spread of the residuals. With a mean model of main effects only, the interactions
# stay in the residuals, and {glue:text}`n_var_sig1` switches are significant; the difference
# shows how much of the "variance" is really interaction. The "sd ratio" is the ratio of the
# residual sds with the switch on and off, with a 95% interval from the F distribution. The
# location–scale model fits the mean and the log-variance together; its two-step estimate
# shrinks the ratios toward 1, so it only gives the direction.

# %% [markdown] tags=["lang-zh"]
# (variance-grow-zh)=
# ## 按原意检验笔记的论断

# %% [markdown] tags=["lang-en"]
# (variance-grow-en)=
# ## The notes' claim, tested as stated

# %%
rms = "use_rms_norm"
try:
    spread = variance.conditional_spread(t, rms, noise=noise)
except AnalysisInputError as e:  # too few runs in a half: say so instead of a number
    spread = None
    on_ = t.X[rms].to_numpy() == 1
    need, have = t.X.shape[1] + 2, min(int(on_.sum()), int((~on_).sum()))
    glue_pair(
        "spread",
        (
            f"数据太少，无法按原意检验：rms_norm 开、关两半各需至少 {need} 个运行，本表只有 {have} 个。",
            f"Too few runs to test this as stated ({e}).",
        ),
    )
base_m, _ = profile_configs(profile)
followups = pd.DataFrame()
if spread is not None:
    chosen = variance.dealias_choice(spread, dealias_top)
    if not table:
        fdf = confirmation.run_cells(
            f"{study}-confirm",
            [(c, followup_seeds) for c in variance.followup_design(chosen, rms)],
            profile,
            results_dir,
        )
        followups = variance.spread_followups(spread, fdf, chosen, equivalence_margin, rms)
    glue_pair("spread", verdicts.spread_claim(spread, followups if len(followups) else None))
    glue_pair("resid", verdicts.residual_ratio(spread.attrs))
    fu = followups.set_index("term") if len(followups) else pd.DataFrame()
    view = spread.assign(
        term=[":".join(s for s in SWITCHES if s in (rms, x)) for x in spread["switch"]]
    )
    view = view.assign(
        switch=view["switch"].map(short_name),
        ci=[interval(lo, hi) for lo, hi in zip(view.growth_low, view.growth_high, strict=True)],
        alias=[
            "; ".join(short_name(a) for a in al.split(", ")) if al else "—" for al in view["alias"]
        ],
        followup=[
            f"{fu.loc[k, 'effect']:+.3f} {interval(fu.loc[k, 'effect_low'], fu.loc[k, 'effect_high'])}"
            if k in fu.index
            else "—"
            for k in view["term"]
        ],
    )
    save_table(view, "variance", "spread")
    spread_view = for_reader(
        view[["switch", "growth", "ci", "p_adjusted", "alias", "followup"]],
        ["switch"],
        {
            "switch": "开关 · switch",
            "growth": "效应增量 · growth",
            "ci": "95% CI",
            "p_adjusted": "Holm p",
            "alias": "别名 · aliased with",
            "followup": "去别名跟进 · de-aliased follow-up",
        },
    )
else:
    glue_pair("resid", ("", ""))
    spread_view = None
glue_value("followup_seeds", followup_seeds)
glue_value("n_followups", len(followups))
spread_view

# %% [markdown] tags=["lang-zh"]
# 笔记二的结论原文是：“use_rms_norm 开关打开会造成巨大的方差增加，由此导致了该开关打开条件下，
# 其他开关开闭情况对 loss 造成的影响急剧增大”。这是一个关于交互作用的论断：若 rms_norm 与某开关 $x$
# 的交互作用与 $x$ 的主效应同号，$x$ 的效应在 rms_norm 打开时就更大。上面两种残差检验都看不到这种交互：
# 只含主效应的模型中，交互项 $\gamma\, x_{\mathrm{rms}} x_j$ 在两半数据中给残差加上大小相同的 $\pm\gamma$，
# 残差的离散程度不变；含交互项的模型则直接把它吸收进均值。因此我们直接检验论断：把运行按 rms_norm 分成两半，
# 在每一半中拟合其余九个开关的加性模型，得到每个开关在两半中的效应，并以其自身方向计算效应增量
# （上表，区间由纯误差给出，p 值经 Holm 校正）。
#
# 在部分析因设计中，rms_norm × $x$ 的对比有许多与某个三元交互互为别名（表中“别名”一列），其增量实为二元与三元效应之和。
# 对于检验结论所依赖的对比（Holm 校正后超出噪声且有别名的前 {glue:text}`n_followups` 个，另加笔记二疑点 2 涉及的
# untie_attn），我们在其余开关全开的参照下做 2×2 跟进实验（每个组合 {glue:text}`followup_seeds` 个种子）：
# 跟进实验中别名三元组的开关固定不变，因此其交互对比不含那个三元交互。{glue:md}`spread_zh:myst`
# {glue:md}`resid_zh:myst` 后者衡量的是两半中其余开关之间的交互与噪声，而非论断本身。

# %% [markdown] tags=["lang-en"]
# Note 2 concludes that turning use_rms_norm on "causes a huge increase in variance, so that
# with it on, switching the other switches on or off changes the loss far more". That is a
# claim about interactions: if the interaction of rms_norm with a switch $x$ has the sign of
# $x$'s main effect, $x$'s effect is larger with rms_norm on. Neither residual test above can see
# such interactions: in the main-effects model a term $\gamma\, x_{\mathrm{rms}} x_j$ adds
# $\pm\gamma$ of the same size to the residuals of both halves, leaving their spread unchanged,
# and the model with interactions absorbs it into the mean. So we test the claim directly: split
# the runs by rms_norm, fit the additive model of the other nine switches in each half, and
# compare each switch's effect in the two halves, as growth in its own direction (table above;
# intervals from the pure error, p-values Holm-adjusted).
#
# In the fractional design many rms_norm × $x$ contrasts are aliased with a triple (column
# "aliased with"), so their growth is a pair + triple sum. For the contrasts the verdict rests
# on (the first {glue:text}`n_followups` aliased ones beyond noise after Holm's adjustment, plus
# untie_attn, which Note 2's question 2 is about) we run 2 × 2 follow-ups with the other
# switches all on ({glue:text}`followup_seeds` seeds a cell): the alias triple's switches are
# held fixed there, so the follow-up's interaction contrast is free of it.
# {glue:md}`spread_en:myst` {glue:md}`resid_en:myst` That ratio measures the other switches'
# interactions among themselves plus noise in each half, not the claim itself.

# %% [markdown] tags=["lang-zh"]
# (variance-mean-zh)=
# ## 平均损失是否不变

# %% [markdown] tags=["lang-en"]
# (variance-mean-en)=
# ## Is the mean unchanged?

# %% tags=["hide-input"]
rms_e = eff.set_index("term").loc[rms]
rms_se = (rms_e.effect_high - rms_e.effect_low) / (2 * stats.t.ppf(0.975, eff.attrs["noise_dof"]))
tst = variance.tost(float(rms_e.effect), float(rms_se), eff.attrs["noise_dof"], equivalence_margin)
glue_pair("tost", verdicts.mean_equivalence(float(rms_e.effect), tst, equivalence_margin))
glue_value("margin", equivalence_margin)
rms_v = vt.set_index("switch").loc[rms]
glue_pair("rms", verdicts.variance_claim(rms_v, float(rms_e.effect), tst, equivalence_margin))
rms_v1 = vt1.set_index("switch").loc[rms]
for_reader(
    pd.DataFrame(
        {
            "quantity": [
                "主效应（开 − 关）· main effect (on − off)",
                "TOST p（界值 · margin ±" + f"{equivalence_margin:g}）",
                "残差 sd 比（开 / 关）· residual sd ratio (on / off)",
                f"BF Holm p（含交互 · order {order}）",
                "BF Holm p（加性 · additive）",
            ],
            "value": [
                f"{rms_e.effect:+.3f} {interval(tst['low90'], tst['high90'])} (90%)",
                f"{tst['p_value']:.3g}",
                f"{rms_v.sd_ratio:.2f} {interval(rms_v.ratio_low, rms_v.ratio_high)} (95%)",
                f"{rms_v.p_adjusted:.3g}",
                f"{rms_v1.p_adjusted:.3g}",
            ],
        }
    ),
    ["quantity"],
    {"quantity": "rms_norm", "value": "值 · value"},
)

# %% [markdown] tags=["lang-zh"]
# “平均损失不变”不能由一个不显著的 p 值得出，需要等价性检验：取 ±{glue:text}`margin` 奈特/字节
# 为等价界值（约为单次运行的种子标准差），进行双单侧 t 检验（TOST）。{glue:md}`tost_zh:myst`
# 上表汇总判断这一论断所需的数字。{glue:md}`rms_zh:myst`

# %% [markdown] tags=["lang-en"]
# "The mean is unchanged" cannot rest on a non-significant p; it needs an equivalence test. We
# take ±{glue:text}`margin` nats/byte as the margin (about one run's seed sd) and run two
# one-sided t tests (TOST). {glue:md}`tost_en:myst` The table gathers the numbers the claim
# rests on. {glue:md}`rms_en:myst`

# %% [markdown] tags=["lang-zh"]
# (variance-questions-zh)=
# ## 笔记二的三个疑点

# %% [markdown] tags=["lang-en"]
# (variance-questions-en)=
# ## The three questions of Note 2

# %%
on = t.X[rms] == 1
cols = list(t.X.columns)
glue_value("rms_shap_on", float(sv[on.to_numpy(), cols.index(rms)].mean()))
glue_value("rms_shap_off", float(sv[~on.to_numpy(), cols.index(rms)].mean()))
glue_value("rms_sd_on", float(t.y[on].std()))
glue_value("rms_sd_off", float(t.y[~on].std()))
i1 = cols.index(n1)
glue_value("u_sd_rms_on", float(pd.Series(sv[on.to_numpy(), i1]).std()))
glue_value("u_sd_rms_off", float(pd.Series(sv[~on.to_numpy(), i1]).std()))
k13 = ":".join(s for s in SWITCHES if s in (n1, rms))
if order >= 2:
    glue_pair("pair13", verdicts.interaction_sentence(eff.set_index("term").loc[k13], n1, rms))
else:
    glue_pair(
        "pair13",
        (
            "本设计的运行数不足以估计两两交互项。",
            "The design has too few runs to estimate two-way terms.",
        ),
    )
q2 = (
    followups.set_index("term").loc[k13]
    if len(followups) and k13 in set(followups["term"])
    else None
)
rows = []
vts = vt.set_index("switch")
effs = eff.set_index("term")
for s in uni["switch"][:5]:
    e, v = effs.loc[s], vts.loc[s]
    c = verdicts.classify(
        e.effect_low, e.effect_high, equivalence_margin, v.ratio_low, v.ratio_high
    )
    rows.append(
        {
            "switch": short_name(s),
            "effect": e.effect,
            "effect_ci": interval(e.effect_low, e.effect_high),
            "mean": " · ".join(c["mean"]),
            "ratio_ci": f"{v.sd_ratio:.2f} {interval(v.ratio_low, v.ratio_high)}",
            "spread": " · ".join(c["spread"]),
        }
    )
for_reader(
    pd.DataFrame(rows),
    ["switch"],
    {
        "switch": "开关 · switch",
        "effect": "主效应 · effect",
        "effect_ci": "95% CI",
        "mean": "均值 · mean",
        "ratio_ci": "sd 比 [95% CI] · sd ratio",
        "spread": "离散 · spread",
    },
)

# %% [markdown] tags=["lang-zh"]
# **疑点 1：为何 rms_norm 关闭时 SHAP 值较小？** SHAP 衡量的是开关相对于平均预测的边际贡献，
# 而不是损失本身。本次数据中 rms_norm 打开时的平均 SHAP 为 {glue:text}`rms_shap_on:+.4f`，
# 关闭时为 {glue:text}`rms_shap_off:+.4f`；打开与关闭两组损失的标准差分别为
# {glue:text}`rms_sd_on:.4f` 与 {glue:text}`rms_sd_off:.4f`。两组 SHAP 的符号只说明哪一侧的平均损失
# 更低；其大小取决于两组均值之差与两组运行各占的比例，与方差无关。
#
# **疑点 2：依赖图中 untie_attn（笔记一的 1 号开关）的 SHAP 为何随 rms_norm 分簇？** 若 untie_attn 的作用
# 与 rms_norm 无关，两种颜色的点应当重合。rms_norm 打开与关闭时，untie_attn 的 SHAP
# 值标准差分别为 {glue:text}`u_sd_rms_on:.4f` 与 {glue:text}`u_sd_rms_off:.4f`。{glue:md}`pair13_zh:myst`
# 这一对比在筛选设计中有别名；去别名的跟进实验见上一节的表（untie_attn 一行）。
#
# **疑点 3：前五个开关是通过均值还是通过方差起作用？** 上表对每个开关给出主效应及其 95% 置信区间，
# 以及残差标准差比及其置信区间，并按区间归类：区间不含 0（或 1）为“改变”；均值效应的区间落在
# ±{glue:text}`margin` 之内、或标准差比的区间落在 0.8 至 1.25 之内为“不变”；其余为“无法判定”。
# 不显著的检验并不能说明“没有作用”。

# %% [markdown] tags=["lang-en"]
# **Question 1: why is the SHAP value of rms_norm small when the switch is off?** SHAP
# measures a switch's marginal contribution relative to the average prediction, not the loss
# itself. In these data, the mean SHAP value of rms_norm is {glue:text}`rms_shap_on:+.4f`
# with the switch on and {glue:text}`rms_shap_off:+.4f` with it off; the loss sd is
# {glue:text}`rms_sd_on:.4f` (on) and {glue:text}`rms_sd_off:.4f` (off). The sign of each
# group's mean SHAP value only says which group has the lower mean loss. Its size follows from
# the difference between the group means and the share of runs in each group, not from the
# variance.
#
# **Question 2: why does the SHAP value of untie_attn (Note 1's switch 1) split by rms_norm
# in the dependence plot?** If the effect of untie_attn did not depend on rms_norm, the two
# colours would overlap. The sd of the untie_attn SHAP values is {glue:text}`u_sd_rms_on:.4f`
# with rms_norm on and {glue:text}`u_sd_rms_off:.4f` with it off. {glue:md}`pair13_en:myst` The
# screening design aliases this contrast; its de-aliased follow-up is in the previous section's
# table (row untie_attn).
#
# **Question 3: do the top five switches act through the mean or through the spread?** For
# each switch, the table gives the main effect with its 95% interval and the residual sd ratio
# with its interval, and classifies each by its interval: "changes" when the interval excludes
# 0 (or 1); "unchanged" when the effect's interval lies inside ±{glue:text}`margin` or the
# ratio's inside 0.8 to 1.25; "undetermined" otherwise. A non-significant test is no evidence of
# no effect.

# %%
rho, _ = effects.compare_rankings(uni, eff)
glue_value("noise_sd", eff.attrs["noise_sd"])
glue_value("noise_dof", eff.attrs["noise_dof"])
glue_value(
    "noise_source_zh",
    {"replicate seeds": "重复种子", "residuals": "模型残差"}[eff.attrs["noise_source"]],
)
glue_value("noise_source_en", eff.attrs["noise_source"])
glue_value("r2_exact", eff.attrs["r2"])
glue_pair("eff", verdicts.effects_summary(eff, rho))
glue_figure("fig_forest", plots.forest(eff, eff.attrs["noise_sd"]))
save_table(eff.drop(columns=["estimate", "ci_low", "ci_high"]), "variance", "effects")
sig = effects.significant(eff).head(20)
for_reader(
    sig.assign(
        term=sig["term"].map(short_name),
        ci=[interval(lo, hi) for lo, hi in zip(sig.effect_low, sig.effect_high, strict=True)],
        noise=np.select(
            [sig.beyond_noise, sig.below_noise],
            ["超出 · beyond", "低于 · below"],
            "无法判定 · undetermined",
        ),
    )[["term", "effect", "ci", "p_adjusted", "noise"]],
    ["term"],
    {
        "term": "项 · term",
        "effect": "效应 · effect",
        "ci": "95% CI",
        "p_adjusted": "Holm p",
        "noise": "与种子噪声相比 · vs seed sd",
    },
)

# %% [markdown] tags=["lang-zh"]
# ## 精确的析因效应
#
# 对 ±1 编码的开关做最小二乘回归，包含设计能分辨的全部 {glue:text}`mean_order` 阶及以下交互项
# （R² = {glue:text}`r2_exact:.3f`）。误差项来自{glue:text}`noise_source_zh`：标准差
# {glue:text}`noise_sd:.4f`，自由度 {glue:text}`noise_dof`。效应一律写作开 − 关的差（即 ±1 编码系数的两倍），
# 置信区间也在同一尺度上。
#
# ```{glue:figure} fig_forest
# :alt: 森林图，列出绝对值最大的 20 个效应及其 95% 置信区间，红色为 Holm 校正后显著的项，灰色竖带标出正负一个种子标准差的范围。
# :name: fig-var-forest-zh
#
# 绝对值最大的 20 个效应（开 − 关，奈特/字节）及其 95% 置信区间；红色为 Holm 校正后显著，灰色带为 ± 单次运行的
# 种子标准差。
# ```
#
# {glue:md}`eff_zh:myst` 上表列出显著的项（最多 20 个）及其与种子噪声的比较（“超出”：95% 置信区间整体在
# ± 种子标准差之外；“低于”：90% 置信区间在其之内）。全部效应：{download}`effects.csv <../generated/data/variance/effects.csv>`。

# %% [markdown] tags=["lang-en"]
# ## Exact factorial effects
#
# We fit least squares on the ±1-coded switches, with every interaction up to order
# {glue:text}`mean_order` that the design resolves (R² = {glue:text}`r2_exact:.3f`). The error
# term comes from {glue:text}`noise_source_en`: sd {glue:text}`noise_sd:.4f` on
# {glue:text}`noise_dof` degrees of freedom. Every effect is the on − off difference (twice the
# ±1-coded coefficient), and so is its interval.
#
# ```{glue:figure} fig_forest
# :alt: A forest plot of the 20 largest effects with their 95% intervals, red where Holm-significant, with a grey band marking plus or minus one seed sd.
# :name: fig-var-forest-en
#
# The 20 largest effects (on − off, nats/byte) with 95% CIs; red: significant after Holm
# correction. The grey band is ± the seed sd of a single run.
# ```
#
# {glue:md}`eff_en:myst` The table lists the significant terms (up to 20) and how each compares
# with the seed sd ("beyond": the 95% interval lies wholly outside ± the seed sd; "below": the
# 90% interval lies inside it). Every effect:
# {download}`effects.csv <../generated/data/variance/effects.csv>`.

# %% tags=["hide-input"]
reference = base_m.replace(**confirmation.reference_row("all-on"))
untied = [s for s in effects.significant(eff[eff["order"] == 1])["term"] if s.startswith("untie_")]
top = next(s for s in [*untied, "untie_attn_weights"] if confirmation.adds_parameters(reference, s))
width = confirmation.matching_ffn(reference, top)
cap_df, _ = run_study(
    f"{study}-confirm",
    confirmation.capacity_design(top, "all-on", width),
    seeds=capacity_seeds,
    profile=profile,
    results_dir=results_dir,
)
cap = confirmation.capacity_table(cap_df, top)
glue_pair("cap", verdicts.capacity(cap, top))
glue_value("cap_switch", short_name(top))
glue_value("cap_width", width)
glue_value("cap_width0", base_m.ffn_hidden)
glue_value("cap_seeds", capacity_seeds)
runs = load_results(study, results_dir)
glue_value("n_param_values", int(runs.loc[runs["profile"] == profile, "n_params"].nunique()))
arms = {"on": "开 · on", "off": "关 · off", "off, matched": "关，参数量匹配 · off, matched"}
for_reader(
    cap.assign(
        arm=cap["arm"].map(arms),
        loss=[mean_sd(m, sd) for m, sd in zip(cap["mean"], cap["sd"], strict=True)],
        ci=[
            interval(lo, hi) if np.isfinite(lo) else "—"
            for lo, hi in zip(cap["effect_low"], cap["effect_high"], strict=True)
        ],
    )[["arm", "n_params", "n", "loss", "effect", "ci"]],
    ["arm"],
    {
        "arm": "组 · arm",
        "n_params": "参数量 · parameters",
        "n": "种子 · seeds",
        "loss": "损失 · loss",
        "effect": "开 − 该组 · on − arm",
        "ci": "Welch 95% CI",
    },
)

# %% [markdown] tags=["lang-zh"]
# ## 容量混杂
#
# 解绑注意力权重或层间权重会增加参数。参数量完全由开关决定（本设计中有 {glue:text}`n_param_values`
# 种取值），是若干开关及其乘积的函数，因此把参数量放进效应模型并不能把“容量”与开关分开（两者共线）。
# 我们改用参数量匹配的对照：在全开（Llama）参照下，对主效应最强的解绑开关 {glue:text}`cap_switch`
# 训练三组模型（各 {glue:text}`cap_seeds` 个种子）：打开；关闭；关闭但把 FFN 宽度从
# {glue:text}`cap_width0` 加宽到 {glue:text}`cap_width`，使参数量不少于打开时。{glue:md}`cap_zh:myst`

# %% [markdown] tags=["lang-en"]
# ## The capacity confound
#
# Untying the attention or the layer weights adds parameters. The parameter count is set by the
# switches alone (it takes {glue:text}`n_param_values` values in this design), as a function
# of a few switches and their products, so putting the parameter count into the effects model
# cannot separate "capacity" from the switches (the two are collinear). We use a
# parameter-matched control instead: at the all-on (Llama) reference, the untying switch with
# the strongest main effect, {glue:text}`cap_switch`, is trained in three arms
# ({glue:text}`cap_seeds` seeds each): on; off; and off with the FFN widened from
# {glue:text}`cap_width0` to {glue:text}`cap_width` so that it has at least as many parameters
# as the on arm. {glue:md}`cap_en:myst`

# %% tags=["remove-cell"]
spread_result = (
    verdicts.spread_outcome(spread, followups if len(followups) else None)
    if spread is not None
    else "undetermined"
)
mean_result = (
    "supported"
    if tst["equivalent"]
    else "contradicted"
    if tst["low90"] > equivalence_margin or tst["high90"] < -equivalence_margin
    else "undetermined"
)
q2_result = "undetermined" if q2 is None else verdicts.outcome(q2.effect_low, q2.effect_high, -1)
record_claims(
    "variance",
    [
        Claim(
            note=2,
            key="note2.variance",
            claim_zh="rms_norm 打开会大幅增加损失的方差，但不普遍升高或降低损失。",
            claim_en="Turning rms_norm on greatly increases the variance of the loss but does not "
            "raise or lower it across the board.",
            outcome=verdicts.variance_outcome(
                tst, rms_v.ratio_low, rms_v.ratio_high, equivalence_margin
            ),
            evidence_zh=f"残差标准差比 {rms_v.sd_ratio:.2f}（95% 置信区间 {rms_v.ratio_low:.2f} 至 "
            f"{rms_v.ratio_high:.2f}）；主效应 90% 置信区间 {tst['low90']:+.3f} 至 {tst['high90']:+.3f}",
            evidence_en=f"residual sd ratio {rms_v.sd_ratio:.2f} (95% CI {rms_v.ratio_low:.2f} to "
            f"{rms_v.ratio_high:.2f}); main effect 90% CI {tst['low90']:+.3f} to {tst['high90']:+.3f}",
            section="variance-spread",
        ),
        Claim(
            note=2,
            key="note2.mean_unchanged",
            claim_zh="rms_norm 不改变平均损失。",
            claim_en="rms_norm leaves the mean loss unchanged.",
            outcome=mean_result,
            evidence_zh=f"主效应 {rms_e.effect:+.3f}，90% 置信区间 {tst['low90']:+.3f} 至 "
            f"{tst['high90']:+.3f}，等价界值 ±{equivalence_margin:g}",
            evidence_en=f"main effect {rms_e.effect:+.3f}, 90% CI {tst['low90']:+.3f} to "
            f"{tst['high90']:+.3f}, margin ±{equivalence_margin:g}",
            section="variance-mean",
        ),
        Claim(
            note=2,
            key="note2.effects_grow",
            claim_zh="rms_norm 打开时，其他开关开闭对损失的影响急剧增大。",
            claim_en="With rms_norm on, switching the other switches changes the loss far more.",
            outcome=spread_result,
            evidence_zh="本次运行的数据太少，无法做这一检验"
            if spread is None
            else f"平均效应增量 {spread.attrs['growth']:+.4f}，95% 置信区间 "
            f"{spread.attrs['growth_low']:+.4f} 至 {spread.attrs['growth_high']:+.4f}；"
            f"{len(followups)} 个对比做了去别名跟进",
            evidence_en="too few runs in this build for this test"
            if spread is None
            else f"mean growth {spread.attrs['growth']:+.4f}, 95% CI "
            f"{spread.attrs['growth_low']:+.4f} to {spread.attrs['growth_high']:+.4f}; "
            f"{len(followups)} contrasts de-aliased by follow-ups",
            section="variance-grow",
        ),
        Claim(
            note=2,
            key="note2.q2_untie_attn",
            claim_zh="rms_norm 打开时，untie_attn（1 号开关）降低损失的作用被噪声淹没、变弱。",
            claim_en="With rms_norm on, the loss-lowering effect of untie_attn (switch 1) is "
            "buried in noise and weaker.",
            outcome=q2_result,
            evidence_zh="去别名跟进实验未运行"
            if q2 is None
            else f"去别名跟进中 untie_attn 的效应增量 {q2.effect:+.3f}，"
            f"95% 置信区间 {q2.effect_low:+.3f} 至 {q2.effect_high:+.3f}",
            evidence_en="no de-aliasing follow-up"
            if q2 is None
            else f"de-aliased growth of "
            f"untie_attn's effect {q2.effect:+.3f}, 95% CI {q2.effect_low:+.3f} to {q2.effect_high:+.3f}",
            section="variance-questions",
        ),
    ],
)

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - {glue:md}`rms_zh:myst`
# - {glue:md}`spread_zh:myst`
# - {glue:md}`tost_zh:myst`
# - {glue:md}`eff_zh:myst`
# - {glue:md}`cap_zh:myst`

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - {glue:md}`rms_en:myst`
# - {glue:md}`spread_en:myst`
# - {glue:md}`tost_en:myst`
# - {glue:md}`eff_en:myst`
# - {glue:md}`cap_en:myst`

# %% [markdown] tags=["lang-zh"]
# ## 试一试
#
# ```bash
# ptlab run variance -p equivalence_margin=0.01     # 更严格的等价界值
# ptlab run variance -p dealias_top=9               # 对所有有别名且超出噪声的对比做跟进
# ptlab run variance -p table=my_sweep.xlsx         # 分析自己的扫描结果表
# ```

# %% [markdown] tags=["lang-en"]
# ## Try
#
# ```bash
# ptlab run variance -p equivalence_margin=0.01     # a stricter equivalence margin
# ptlab run variance -p dealias_top=9               # follow up every aliased contrast beyond noise
# ptlab run variance -p table=my_sweep.xlsx         # analyse your own sweep table
# ```
