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
#     seconds: {smoke: 28, quick: 1310}  # measured on the 2-core CPU (1059 s + 26 replicates)
#     depends: []
#     profiles:
#       smoke: {design: random, n_configs: 24, noise_seeds: 2}
#       full: {design: fractional, noise_seeds: 5}
# ---

# %% [markdown] tags=["lang-zh"]
# # 开关扫描
#
# **本章回答的问题：** 十个开关把 PT 逐步变为 Llama，不同开关组合的验证损失相差多少？
# 这一差异是否远大于仅更换种子带来的波动？
#
# 课题组原先的研究随机训练了数百种开关组合（笔记未给出总数，见[研究笔记](notes.md)）。{glue:md}`design_zh`
# 此外，四个参照组合各用多个种子训练，用来估计种子噪声的下限。

# %% [markdown] tags=["lang-en"]
# # The switch sweep
#
# **The question:** ten switches turn PT into Llama. How far apart in validation loss are the
# switch configurations, and is that spread well beyond the change that a new seed alone brings?
#
# The lab's original study trained several hundred random switch configurations (Note 1 gives
# no total; see [the research notes](notes.md)). {glue:md}`design_en` Four anchor configs are
# also trained with several seeds each to measure the seed-noise floor.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles)
study = "switches"
results_dir = "results"
design = "fractional"  # fractional | random | full
n_configs = 128  # for the random design
noise_seeds = 5  # seeds for each of the four anchor configs
replicate_fraction = 0.1  # share of the design's configs trained again under new seeds
replicate_seeds = 2  # extra seeds for each of them

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from myst_nb import glue
from scipy import stats

from ptlab.analysis import prepare, seed_noise, verdicts
from ptlab.analysis.confirm import welch
from ptlab.analysis.curves import ranking_over_training
from ptlab.analysis.divergence import divergence_table, orthogonality_loss
from ptlab.analysis.effects import lack_of_fit, resolvable_order
from ptlab.analysis.interactions import alias_counts, alias_structure, defining_relation
from ptlab.analysis.noise import heteroscedasticity, replicate_subset
from ptlab.analysis.pipeline import replicate_frame, study_noise
from ptlab.analysis.verdicts import design_sentence
from ptlab.book.glue import glue_text, glue_value, save_table
from ptlab.book.plotting import setup_figures
from ptlab.models import SWITCHES
from ptlab.sweep import curves_frame, make_design, run_study
from ptlab.sweep.designs import design_summary

setup_figures()

# %%
rows = make_design(design, n=n_configs)
df, records = run_study(study, rows, profile=profile, results_dir=results_dir)
noise_df, _ = run_study(
    f"{study}-noise",
    make_design("anchors"),
    seeds=noise_seeds,
    profile=profile,
    results_dir=results_dir,
)
reps = replicate_subset(rows, replicate_fraction)
rep_df, _ = run_study(
    f"{study}-replicates",
    reps,
    seeds=replicate_seeds,
    first_seed=1,
    profile=profile,
    results_dir=results_dir,
)
ok = df[df["status"] == "ok"]
cols = [*SWITCHES, "eval/loss", "eval/accuracy", "n_params", "wall_s"]
save_table(df[["run_id", "status", *cols]], "sweep", "runs")
ok.sort_values("eval/loss")[cols].head(10).rename(columns=lambda c: c.replace("_", " "))

# %% tags=["remove-cell"]
summary = design_summary(rows)
design_zh, design_en = design_sentence(summary)
glue_text("design_zh", design_zh)
glue_text("design_en", design_en)
glue_value("n_design", summary["n_runs"])
glue_value("n_runs", len(df))
glue_value("n_ok", len(ok))
glue_value("n_bad", len(df) - len(ok))
glue_value("loss_min", ok["eval/loss"].min())
glue_value("loss_max", ok["eval/loss"].max())
glue_value("loss_sd", ok["eval/loss"].std())

# %% [markdown] tags=["lang-zh"]
# 共 {glue:text}`n_runs` 个运行，其中 {glue:text}`n_ok` 个正常结束，{glue:text}`n_bad` 个发散或失败
# （不计入以下分析，见“未正常结束的运行”一节）。上表列出验证损失最低的十个开关组合；全部运行的结果可下载：
# {download}`runs.csv <../generated/data/sweep/runs.csv>`。

# %% [markdown] tags=["lang-en"]
# Of {glue:text}`n_runs` runs, {glue:text}`n_ok` finished normally; the {glue:text}`n_bad` that
# diverged or failed are left out below (see the section on runs that did not finish). The table lists the ten configs with
# the lowest validation loss; the results of every run can be downloaded as
# {download}`runs.csv <../generated/data/sweep/runs.csv>`.

# %%
long = ok.melt(id_vars=["eval/loss"], value_vars=list(SWITCHES), var_name="switch", value_name="on")
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [1, 2.2]})
sns.histplot(ok["eval/loss"], bins=20, ax=axes[0])
axes[0].set(xlabel="eval/loss", title="损失分布 · loss distribution")
sns.boxplot(long, y="switch", x="eval/loss", hue="on", ax=axes[1], fliersize=2)
axes[1].set(title="按开关 · by switch", ylabel="")
fig.tight_layout()
glue("fig_dist", fig, display=False)
plt.close(fig)

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_dist
# :name: fig-sweep-dist-zh
#
# 左：所有正常结束的运行的验证损失分布。右：各开关打开（True）与关闭（False）时的验证损失分布。
# ```
#
# 验证损失介于 {glue:text}`loss_min:.3f` 与 {glue:text}`loss_max:.3f` 之间，开关组合间的标准差为
# {glue:text}`loss_sd:.3f`。各开关的效应与交互作用留待后续分析章节（XGBoost + SHAP 与精确的析因效应）讨论。

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_dist
# :name: fig-sweep-dist-en
#
# Left: validation loss of all runs that finished normally. Right: validation loss with each
# switch on (True) and off (False).
# ```
#
# Validation loss ranges from {glue:text}`loss_min:.3f` to {glue:text}`loss_max:.3f`, with a
# standard deviation of {glue:text}`loss_sd:.3f` across configs. The effects of the switches and
# their interactions are left to the analysis chapters (XGBoost + SHAP, and exact factorial
# effects).

# %%
noise = seed_noise(noise_df).set_index("config")
pe = study_noise(study, results_dir, profile=profile)
anchor = noise_df[noise_df["status"] == "ok"].assign(
    config=lambda d: [
        "all-off" if not any(r) else "all-on" if all(r) else "mixed"
        for r in d[list(SWITCHES)].to_numpy()
    ]
)
gap, gap_lo, gap_hi = welch(
    anchor.loc[anchor.config == "all-off", "eval/loss"].to_numpy(),
    anchor.loc[anchor.config == "all-on", "eval/loss"].to_numpy(),
)
ratio = ok["eval/loss"].var() / pe.sd**2  # H0 (no config differences): F(n − 1, dof)
ratio_p = stats.f.sf(ratio, len(ok) - 1, pe.dof)
glue_value("noise_sd_max", noise["std"].max())
glue_value("noise_sd_min", noise["std"].min())
glue_value("noise_gap", gap)
glue_value("noise_gap_lo", gap_lo)
glue_value("noise_gap_hi", gap_hi)
glue_value("pe_sd", pe.sd)
glue_value("pe_dof", pe.dof)
glue_value("spread_ratio", max(ratio - 1, 0) ** 0.5)  # between-config sd / seed sd (landing)
zh, en = verdicts.spread_vs_noise(ratio, ratio_p)
glue_text("spread_zh", zh)
glue_text("spread_en", en)
noise.round(4)

# %% [markdown] tags=["lang-zh"]
# ## 种子噪声
#
# 四个参照组合（全关、全开、前五个开关打开、后五个开关打开）各用多个种子训练，种子间标准差介于
# {glue:text}`noise_sd_min:.3f` 与 {glue:text}`noise_sd_max:.3f` 之间。全关与全开相差
# {glue:text}`noise_gap:.3f` nats/byte（Welch 95% CI {glue:text}`noise_gap_lo:.3f` 至
# {glue:text}`noise_gap_hi:.3f`；正值表示 Llama 更好）。把这些参照组合与下一节的重复组合合并，
# 纯误差标准差为 {glue:text}`pe_sd:.4f`（{glue:text}`pe_dof` 个自由度）。
# 开关组合间的方差与纯误差方差之比检验的是“组合间的差异是否超出种子噪声”：{glue:md}`spread_zh`

# %% [markdown] tags=["lang-en"]
# ## Seed noise
#
# The four anchor configs (all off, all on, the first five switches on, the last five on) are
# trained with several seeds each; their seed-to-seed sd lies between
# {glue:text}`noise_sd_min:.3f` and {glue:text}`noise_sd_max:.3f`. All off and all on differ by
# {glue:text}`noise_gap:.3f` nats/byte (Welch 95% CI {glue:text}`noise_gap_lo:.3f` to
# {glue:text}`noise_gap_hi:.3f`; positive means Llama is better). Pooled with the replicated
# configs of the next section, the pure-error sd is {glue:text}`pe_sd:.4f` on
# {glue:text}`pe_dof` degrees of freedom. Whether the configs differ by more than seed noise is
# a test of the ratio of the variance across configs to the pure-error variance:
# {glue:md}`spread_en`

# %% tags=["hide-input"]
both = replicate_frame(study, results_dir, profile)
t_all = prepare(both[both["status"] == "ok"], source=f"study {study!r} with replicates")
lof = lack_of_fit(t_all, resolvable_order(t_all.X))
het = heteroscedasticity(both)
zh, en = verdicts.replication(lof, het, len(reps), replicate_seeds)
glue_text("rep_zh", zh)
glue_text("rep_en", en)
glue_value("lof_order", resolvable_order(t_all.X))
design_keys = {tuple(r[s] for s in SWITCHES) for r in rows}
glue_value(
    "n_anchor_out",
    sum(tuple(r[s] for s in SWITCHES) not in design_keys for r in make_design("anchors")),
)
pd.DataFrame(
    {
        "检验 · test": ["失拟 F · lack of fit F", "Brown–Forsythe（各重复组 · replicate groups）"],
        "statistic": [lof["F"], het["statistic"]],
        "dof": [
            f"{lof['df_lof']}, {lof['df_pe']}",
            f"{het['n_groups'] - 1}, {len(both[both['status'] == 'ok']) - het['n_groups']}",
        ],
        "p": [lof["p_value"], het["p_value"]],
    }
).set_index("检验 · test").round(4)

# %% [markdown] tags=["lang-zh"]
# ## 设计内的重复运行
#
# 只用四个参照组合估计纯误差有两个问题：其中 {glue:text}`n_anchor_out` 个不在设计之内，且各自的种子标准差相差数倍。
# 因此我们从设计的 {glue:text}`n_design` 个组合中随机抽取约 10%，各用新种子重复训练，从而直接在设计点上估计纯误差，
# 并对含 {glue:text}`lof_order` 阶及以下交互项的均值模型做失拟检验。
# {glue:md}`rep_zh`

# %% [markdown] tags=["lang-en"]
# ## Replicates within the design
#
# Estimating pure error from the four anchors alone has two problems: {glue:text}`n_anchor_out`
# of them are not part of the design, and their seed sds differ several-fold. So a random share of the
# {glue:text}`n_design` design configs is trained again under new seeds; this estimates pure
# error on the design itself and allows a lack-of-fit test of the mean model with interactions
# up to order {glue:text}`lof_order`. {glue:md}`rep_en`

# %% tags=["hide-input"]
div = divergence_table(df)
save_table(div, "sweep", "divergence")
zh, en = verdicts.divergence(
    div,
    len(df),
    orthogonality_loss(ok[list(SWITCHES)].astype(int)),
    orthogonality_loss(pd.DataFrame(rows)[list(SWITCHES)].astype(int)),
)
glue_text("div_zh", zh)
glue_text("div_en", en)
div.set_index("switch").round(3)

# %% [markdown] tags=["lang-zh"]
# ## 未正常结束的运行
#
# 后面的分析只使用正常结束的运行。如果某个开关的一种取值更容易发散，去掉这些运行会使该开关的比较产生偏差
# （笔记对 use_rms_norm 的论断恰恰与训练稳定性有关），因此先逐个开关统计开、关两种取值下未正常结束的运行数，
# 并用 Fisher 精确检验（Holm 校正）比较两者。{glue:md}`div_zh`
# 上表可下载：{download}`divergence.csv <../generated/data/sweep/divergence.csv>`
# （`ptlab analyze` 也会写出同一张表）。

# %% [markdown] tags=["lang-en"]
# ## Runs that did not finish
#
# The analyses below use only the runs that finished normally. If one setting of a switch
# diverges more often, leaving those runs out biases that switch's comparison (the notes' claim
# about use_rms_norm is precisely about training stability). So we first count, for each switch,
# the runs that did not finish with it on and with it off, and compare the two with Fisher's
# exact test (Holm-adjusted). {glue:md}`div_en` The table can be downloaded as
# {download}`divergence.csv <../generated/data/sweep/divergence.csv>` (`ptlab analyze` writes
# the same table).

# %% tags=["hide-input"]
X_design = pd.DataFrame(rows)[list(SWITCHES)].astype(int)
aliases = alias_structure(X_design)
three = aliases[aliases["order"] == 3].copy()
three["pair"] = three["aliases"].map(lambda a: ", ".join(t for t in a if t.count(":") < 2))
aliased = three[three["pair"] != ""]
save_table(aliased[["term", "pair"]].rename(columns={"term": "triple"}), "sweep", "aliases")
words = defining_relation(X_design)
counts = alias_counts(X_design)
glue_value("n_aliased", counts["with_pair"])
glue_value("n_aliased3", counts["with_triple"])
glue_value("n_aliased_any", counts["with_any"])
glue_value("n_pairs3", counts["pairs_with_triple"])
glue_value("n_triples", counts["triples"])
glue_value("n_words5", sum(len(w) == 5 for w in words))
listed = "\n".join(f"- ({len(w)}) {' × '.join(w)}" for w in words)
glue_text("words_zh", listed or "- 无（没有在所有运行中恒定的开关乘积）")
glue_text("words_en", listed or "- none (no product of switches is constant over the runs)")

# %% [markdown] tags=["lang-zh"]
# ## 别名结构
#
# 部分析因设计以混杂为代价节省了运行次数：某些效应在设计矩阵中的对比列完全相同，数据无法将其区分。
# 下面是由设计矩阵直接算出的定义关系，即乘积在所有运行中恒等于 +1 或恒等于 −1 的开关组合（括号内为字长）：
#
# ```{glue:md} words_zh
# :format: myst
# ```
#
# 每个长度为 5 的字使其中每一对开关（共 10 对）的二元交互与其余 3 个开关的三元交互互为别名，
# 长度为 6 的字则使三元交互两两互为别名。本设计有 {glue:text}`n_words5` 个长度为 5 的字：
# {glue:text}`n_triples` 个三元交互对比中，{glue:text}`n_aliased` 个与某个二元交互互为别名，
# {glue:text}`n_aliased3` 个与另一个三元交互互为别名，合计 {glue:text}`n_aliased_any` 个无法单独估计；
# 反过来，{glue:text}`n_pairs3` 个二元交互的估计其实是二元与三元效应之和
# （与二元交互互为别名的三元组列表：{download}`aliases.csv <../generated/data/sweep/aliases.csv>`）。
# SHAP 一章的三元交互排序因而只能用于筛选，该章另设验证实验加以检验。

# %% [markdown] tags=["lang-en"]
# ## Alias structure
#
# A fractional design buys its economy with aliasing: some effects have identical contrast
# columns in the design matrix, and the data cannot tell them apart. Below is the design's
# defining relation, computed from the design matrix: the sets of switches whose product is a
# constant ±1 over all runs (word length in brackets):
#
# ```{glue:md} words_en
# :format: myst
# ```
#
# Each word of length 5 aliases each of its 10 pairs with the triple
# of its other three switches, and each word of length 6 aliases triples with triples. This
# design has {glue:text}`n_words5` words of length 5: of the {glue:text}`n_triples` three-way
# contrasts, {glue:text}`n_aliased` are aliased with a two-way interaction and
# {glue:text}`n_aliased3` with another three-way one, {glue:text}`n_aliased_any` in all that
# cannot be estimated on their own. Conversely, the estimates of {glue:text}`n_pairs3` two-way
# interactions are sums of a pair and a triple effect (the triples aliased with pairs:
# {download}`aliases.csv <../generated/data/sweep/aliases.csv>`). The three-way ranking in the
# SHAP chapter is therefore a screen only; that chapter tests it with a dedicated follow-up.

# %% tags=["hide-input"]
agree = ranking_over_training(curves_frame(records))
zh, en = verdicts.training_ranking(agree)
glue_text("steps_zh", zh)
glue_text("steps_en", en)
agree.set_index("step").round(3)

# %% [markdown] tags=["lang-zh"]
# ## 训练长度
#
# 所有组合都只训练了相同的较短步数。如果组合之间、开关之间的排序在最后几次评估之间仍在变化，
# 更长的训练就可能改变结论。保存的训练曲线可以回答这一问题：{glue:md}`steps_zh`

# %% [markdown] tags=["lang-en"]
# ## Training length
#
# Every config is trained for the same short budget. If the order of the configs, or of the
# switches, still changes between the last evaluations, longer training could change the
# conclusions. The stored training curves answer this: {glue:md}`steps_en`

# %%
ref = noise_df.loc[noise_df[list(SWITCHES)].all(axis=1) & noise_df["status"].eq("ok"), "wall_s"]
cost = ok.assign(cost=ok["wall_s"] / ref.median())
effect = {
    s: cost.loc[cost[s], "cost"].median() - cost.loc[~cost[s], "cost"].median() for s in SWITCHES
}
dearest = max(effect, key=effect.get)
glue_value("cost_min", cost["cost"].min())
glue_value("cost_max", cost["cost"].max())
glue_value("cost_switch", dearest)
glue_value("cost_switch_delta", effect[dearest])
long_cost = cost.melt(
    id_vars=["cost"], value_vars=list(SWITCHES), var_name="switch", value_name="on"
)
fig, ax = plt.subplots(figsize=(8, 4.2))
sns.boxplot(long_cost, y="switch", x="cost", hue="on", ax=ax, fliersize=2)
ax.axvline(1.0, color="grey", lw=1, ls="--")
ax.set(xlabel="wall time / all-on (Llama)", ylabel="", title="训练成本 · training cost")
fig.tight_layout()
glue("fig_cost", fig, display=False)
plt.close(fig)
pd.Series(effect, name="median cost on − off").sort_values().round(3).to_frame()

# %% [markdown] tags=["lang-zh"]
# ## 训练成本
#
# ```{glue:figure} fig_cost
# :name: fig-sweep-cost-zh
#
# 每个运行的训练墙钟时间，以全开（Llama）组合的中位数为 1，按各开关的开 / 关分组。
# ```
#
# 相对成本介于 {glue:text}`cost_min:.2f` 与 {glue:text}`cost_max:.2f` 之间。
# 对成本影响最大的开关是 {glue:text}`cost_switch`：打开后中位成本变化 {glue:text}`cost_switch_delta:+.2f`
# （负值表示更快）。墙钟时间也受机器上其他负载影响，个别离群值更可能来自负载，而非开关组合本身。

# %% [markdown] tags=["lang-en"]
# ## Training cost
#
# ```{glue:figure} fig_cost
# :name: fig-sweep-cost-en
#
# Wall time of each run relative to the median wall time of the all-on (Llama) config, grouped
# by each switch on / off.
# ```
#
# Relative cost ranges from {glue:text}`cost_min:.2f` to {glue:text}`cost_max:.2f`. The switch
# that changes the cost most is {glue:text}`cost_switch`: turning it on changes the median cost
# by {glue:text}`cost_switch_delta:+.2f` (negative: faster). Wall times also reflect other
# load on the machine, so single outliers more likely come from that load than from the config.

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - 本次扫描共 {glue:text}`n_runs` 个运行（{glue:text}`n_ok` 个正常结束），验证损失介于
#   {glue:text}`loss_min:.3f` 与 {glue:text}`loss_max:.3f` 之间，开关组合间的标准差为
#   {glue:text}`loss_sd:.3f`。
# - 种子噪声：纯误差标准差为 {glue:text}`pe_sd:.4f`。{glue:md}`spread_zh`
# - 全关（PT）与全开（Llama）相差 {glue:text}`noise_gap:.3f` nats/byte
#   （95% CI {glue:text}`noise_gap_lo:.3f` 至 {glue:text}`noise_gap_hi:.3f`）。
# - {glue:md}`div_zh`
# - 设计中 {glue:text}`n_triples` 个三元交互对比里有 {glue:text}`n_aliased` 个与二元交互混杂。
# - {glue:md}`rep_zh`
# - {glue:md}`steps_zh`
# - 开关的效应与交互作用见后面的 SHAP 与方差两章。

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - The sweep has {glue:text}`n_runs` runs ({glue:text}`n_ok` finished normally); validation
#   loss ranges from {glue:text}`loss_min:.3f` to {glue:text}`loss_max:.3f`, with a standard
#   deviation of {glue:text}`loss_sd:.3f` across configs.
# - Seed noise: the pure-error sd is {glue:text}`pe_sd:.4f`. {glue:md}`spread_en`
# - All off (PT) and all on (Llama) differ by {glue:text}`noise_gap:.3f` nats/byte (95% CI
#   {glue:text}`noise_gap_lo:.3f` to {glue:text}`noise_gap_hi:.3f`).
# - {glue:md}`div_en`
# - {glue:text}`n_aliased` of the design's {glue:text}`n_triples` three-way contrasts are
#   aliased with two-way interactions.
# - {glue:md}`rep_en`
# - {glue:md}`steps_en`
# - The switches' effects and interactions are the subject of the SHAP and variance chapters.
