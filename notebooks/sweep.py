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
#     depends: []
#     profiles:
#       smoke: {design: random, n_configs: 24, noise_seeds: 2}
#       full: {design: fractional, noise_seeds: 5}
# ---

# %% [markdown] tags=["lang-zh"]
# # 开关扫描
#
# 课题组原先的研究随机训练了至少 390 种开关组合。本章改用 $2^{10-3}$ 的正规部分析因设计：
# 128 个运行、分辨度 V，所有主效应与 45 个二阶交互作用彼此正交、互不混杂。
# 另外对四个参照配置各训练多个种子，用来估计种子噪声的下限。

# %% [markdown] tags=["lang-en"]
# # The switch sweep
#
# The lab's original study trained at least 390 random switch configurations. This chapter uses
# a regular $2^{10-3}$ fractional factorial instead: 128 runs of resolution V, in which all main
# effects and all 45 two-way interactions are mutually orthogonal (none aliased with another).
# Four reference configs are also trained with several seeds to measure the seed-noise floor.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles)
study = "switches"
results_dir = "results"
design = "fractional"  # fractional | random | full
n_configs = 128  # for the random design
noise_seeds = 5  # seeds for each of the four anchor configs

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from myst_nb import glue

from ptlab.analysis import seed_noise
from ptlab.book.glue import beyond_noise, glue_text, glue_value
from ptlab.book.plotting import setup_figures
from ptlab.models import SWITCHES
from ptlab.sweep import make_design, run_study

setup_figures()
df, _ = run_study(study, make_design(design, n=n_configs), profile=profile,
                  results_dir=results_dir)
noise_df, _ = run_study(f"{study}-noise", make_design("anchors"), seeds=noise_seeds,
                        profile=profile, results_dir=results_dir)
ok = df[df["status"] == "ok"]
glue_value("n_runs", len(df))
glue_value("n_ok", len(ok))
glue_value("n_bad", len(df) - len(ok))
glue_value("loss_min", ok["eval/loss"].min())
glue_value("loss_max", ok["eval/loss"].max())
glue_value("loss_sd", ok["eval/loss"].std())
cols = [*SWITCHES, "eval/loss", "eval/accuracy", "n_params", "wall_s"]
ok.sort_values("eval/loss")[cols].head(10).rename(columns=lambda c: c.replace("_", " "))

# %% [markdown] tags=["lang-zh"]
# 共 {glue:text}`n_runs` 个运行，其中 {glue:text}`n_ok` 个正常结束，{glue:text}`n_bad` 个发散或失败
# （不计入以下分析）。上表列出验证损失最低的十个配置。

# %% [markdown] tags=["lang-en"]
# Of {glue:text}`n_runs` runs, {glue:text}`n_ok` finished normally and {glue:text}`n_bad`
# diverged or failed (left out below). The table lists the ten configs with the lowest
# validation loss.

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
# 左：所有正常运行的验证损失分布。右：每个开关打开（True）与关闭（False）时的损失分布。
# ```
#
# 验证损失介于 {glue:text}`loss_min:.3f` 与 {glue:text}`loss_max:.3f` 之间，配置间标准差为
# {glue:text}`loss_sd:.3f`。各开关的效应与交互作用留给后续的分析章节（XGBoost + SHAP 与精确的析因效应）。

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_dist
# :name: fig-sweep-dist-en
#
# Left: validation loss of all runs that finished. Right: the loss with each switch on (True)
# and off (False).
# ```
#
# Validation loss ranges from {glue:text}`loss_min:.3f` to {glue:text}`loss_max:.3f` with a
# standard deviation of {glue:text}`loss_sd:.3f` across configs. The effects of the switches and
# their interactions are left to the analysis chapters (XGBoost + SHAP and exact factorial
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
glue_text("spread_zh", "配置间的差异" + zh.replace("这一差异", ""))
glue_text("spread_en", en.replace("The difference", "The spread across configs"))
noise.round(4)

# %% [markdown] tags=["lang-zh"]
# ## 种子噪声
#
# 四个参照配置（全关、全开、前五个开关打开、后五个开关打开）的种子间标准差介于
# {glue:text}`noise_sd_min:.3f` 与 {glue:text}`noise_sd_max:.3f` 之间。全关与全开相差
# {glue:text}`noise_gap:.3f` nats/byte（正值表示 Llama 更好），是最大种子标准差的
# {glue:text}`noise_ratio:.1f` 倍；扫描中配置间的标准差是它的 {glue:text}`spread_ratio:.1f` 倍。
# {glue:md}`spread_zh`

# %% [markdown] tags=["lang-en"]
# ## Seed noise
#
# The seed-to-seed standard deviation of the four anchor configs (all off, all on, the first
# five switches on, the last five on) lies between {glue:text}`noise_sd_min:.3f` and
# {glue:text}`noise_sd_max:.3f`. All off and all on differ by {glue:text}`noise_gap:.3f`
# nats/byte (positive: Llama is better), {glue:text}`noise_ratio:.1f` times the largest seed
# sd; the spread across the sweep's configs is {glue:text}`spread_ratio:.1f` times it.
# {glue:md}`spread_en`

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
# 每个运行的训练墙钟时间，以全开（Llama）配置的中位数为 1。按每个开关的开 / 关分组。
# ```
#
# 各配置的相对成本介于 {glue:text}`cost_min:.2f` 与 {glue:text}`cost_max:.2f` 之间。
# 对成本影响最大的开关是 {glue:text}`cost_switch`：打开后中位成本变化 {glue:text}`cost_switch_delta:+.2f`
# （负值表示更快）。墙钟时间受机器上其他负载影响（两个进程共用两个核心），个别离群值更可能来自负载而非配置本身。

# %% [markdown] tags=["lang-en"]
# ## Training cost
#
# ```{glue:figure} fig_cost
# :name: fig-sweep-cost-en
#
# Wall time of each run relative to the median of the all-on (Llama) config, grouped by each
# switch on / off.
# ```
#
# Relative cost ranges from {glue:text}`cost_min:.2f` to {glue:text}`cost_max:.2f`. The switch
# that moves cost the most is {glue:text}`cost_switch`: turning it on changes the median cost
# by {glue:text}`cost_switch_delta:+.2f` (negative: faster). Wall times also reflect other load on the
# machine (two workers share two cores); single outliers more likely come from load than from the config.
