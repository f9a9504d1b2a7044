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
#     seconds: {smoke: 25, quick: 1059}  # measured on the 2-core CPU
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

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from myst_nb import glue

from ptlab.analysis import seed_noise
from ptlab.analysis.verdicts import design_sentence
from ptlab.book.glue import beyond_noise, glue_text, glue_value, save_table
from ptlab.book.plotting import setup_figures
from ptlab.models import SWITCHES
from ptlab.sweep import make_design, run_study
from ptlab.sweep.designs import design_summary

setup_figures()

# %%
rows = make_design(design, n=n_configs)
df, _ = run_study(study, rows, profile=profile, results_dir=results_dir)
noise_df, _ = run_study(f"{study}-noise", make_design("anchors"), seeds=noise_seeds,
                        profile=profile, results_dir=results_dir)
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
# （不计入以下分析）。上表列出验证损失最低的十个开关组合；全部运行的结果可下载：
# {download}`runs.csv <../generated/data/sweep/runs.csv>`。

# %% [markdown] tags=["lang-en"]
# Of {glue:text}`n_runs` runs, {glue:text}`n_ok` finished normally; the {glue:text}`n_bad` that
# diverged or failed are left out below. The table lists the ten configs with
# the lowest validation loss; the results of every run can be downloaded as
# {download}`runs.csv <../generated/data/sweep/runs.csv>`.

# %%
long = ok.melt(id_vars=["eval/loss"], value_vars=list(SWITCHES), var_name="switch",
               value_name="on")
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
gap = noise.loc["all-off", "mean"] - noise.loc["all-on", "mean"]
glue_value("noise_sd_max", noise["std"].max())
glue_value("noise_sd_min", noise["std"].min())
glue_value("noise_gap", gap)
glue_value("noise_ratio", gap / noise["std"].max())
glue_value("spread_ratio", ok["eval/loss"].std() / noise["std"].max())
zh, en = beyond_noise(ok["eval/loss"].std(), noise["std"].max())
glue_text("spread_zh", "开关组合间的差异" + zh.replace("这一差异", ""))
glue_text("spread_en", en.replace("The difference", "The spread across configs"))
noise.round(4)

# %% [markdown] tags=["lang-zh"]
# ## 种子噪声
#
# 四个参照组合（全关、全开、前五个开关打开、后五个开关打开）的种子间标准差介于
# {glue:text}`noise_sd_min:.3f` 与 {glue:text}`noise_sd_max:.3f` 之间。全关与全开相差
# {glue:text}`noise_gap:.3f` nats/byte（正值表示 Llama 更好），是最大种子标准差的
# {glue:text}`noise_ratio:.1f` 倍；扫描中开关组合间的标准差是它的 {glue:text}`spread_ratio:.1f` 倍。
# {glue:md}`spread_zh`

# %% [markdown] tags=["lang-en"]
# ## Seed noise
#
# The seed-to-seed standard deviation of the four anchor configs (all off, all on, the first
# five switches on, the last five on) lies between {glue:text}`noise_sd_min:.3f` and
# {glue:text}`noise_sd_max:.3f`. All off and all on differ by {glue:text}`noise_gap:.3f`
# nats/byte (a positive gap means Llama is better), {glue:text}`noise_ratio:.1f` times the
# largest seed sd. The standard deviation across the sweep's configs is
# {glue:text}`spread_ratio:.1f` times the largest seed sd. {glue:md}`spread_en`

# %%
ref = noise_df.loc[noise_df[list(SWITCHES)].all(axis=1) & noise_df["status"].eq("ok"), "wall_s"]
cost = ok.assign(cost=ok["wall_s"] / ref.median())
effect = {s: cost.loc[cost[s], "cost"].median() - cost.loc[~cost[s], "cost"].median()
          for s in SWITCHES}
dearest = max(effect, key=effect.get)
glue_value("cost_min", cost["cost"].min())
glue_value("cost_max", cost["cost"].max())
glue_value("cost_switch", dearest)
glue_value("cost_switch_delta", effect[dearest])
long_cost = cost.melt(id_vars=["cost"], value_vars=list(SWITCHES), var_name="switch",
                      value_name="on")
fig, ax = plt.subplots(figsize=(8, 4.2))
sns.boxplot(long_cost, y="switch", x="cost", hue="on", ax=ax, fliersize=2)
ax.axvline(1.0, color="grey", lw=1, ls="--")
ax.set(xlabel="wall time / all-on (Llama)", ylabel="", title="训练成本 · training cost")
fig.tight_layout()
glue("fig_cost", fig, display=False)
plt.close(fig)
pd.Series(effect, name="median cost on − off").sort_values().round(3)

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
# - 种子噪声：最大种子标准差为 {glue:text}`noise_sd_max:.3f`，开关组合间的标准差是它的
#   {glue:text}`spread_ratio:.1f` 倍。{glue:md}`spread_zh`
# - 全关（PT）与全开（Llama）相差 {glue:text}`noise_gap:.3f` nats/byte。
# - 开关的效应与交互作用见后面的 SHAP 与方差两章。

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - The sweep has {glue:text}`n_runs` runs ({glue:text}`n_ok` finished normally); validation
#   loss ranges from {glue:text}`loss_min:.3f` to {glue:text}`loss_max:.3f`, with a standard
#   deviation of {glue:text}`loss_sd:.3f` across configs.
# - Seed noise: the largest seed sd is {glue:text}`noise_sd_max:.3f`; the standard deviation
#   across configs is {glue:text}`spread_ratio:.1f` times as large. {glue:md}`spread_en`
# - All off (PT) and all on (Llama) differ by {glue:text}`noise_gap:.3f` nats/byte.
# - The switches' effects and interactions are the subject of the SHAP and variance chapters.
