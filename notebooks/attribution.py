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
#     seconds: {smoke: 15, quick: 552}  # measured on the 2-core CPU
#     depends: []
#     profiles:
#       smoke: {n_windows: 8, n_verify: 16, n_random: 5, n_subsets: 20, n_shapley: 3, n_boot: 50}
# ---

# %% [markdown] tags=["lang-zh"]
# # 注意力头归因：积分梯度、符号与剪枝
#
# **本章回答的问题：** 用积分梯度把损失归因到注意力头时，归因的符号说明了什么
# （多数注意力头的归因以及平均归因是否为正）？基于归因的剪枝策略中哪一种最好？
# 自回归模型与掩码扩散模型在这些方面有何不同？
#
# 笔记五（见[研究笔记](notes.md)）用积分梯度（Integrated Gradients, IG；
# {ref}`Sundararajan et al., 2017 <ref-sundararajan-2017-zh>`）把损失归因到每个注意力头的门控上，
# 发现在掩码扩散语言模型（Dream、LLaDA）中多数注意力头的归因为正，平均归因也为正，
# 并据此提出三种剪枝策略。本章在小规模上复现这一流程：在同一个 Llama 骨干与同一份语料上，
# 训练自回归（AR）模型、从零训练的 LLaDA 式掩码扩散模型，以及由 AR 检查点改造而来、
# 使用移位 logits 的 Dream 式掩码扩散模型；在代码窗口与文档字符串/注释窗口上计算 IG，
# 与 Michel 等人（{ref}`2019 <ref-michel-2019-zh>`）的一阶重要性、留一消融（LOO）及采样 Shapley 值
# 对照，并在留出数据上检验各剪枝策略。
#
# 门控 $a_h$ 在输出投影之前与各注意力头的上下文向量相乘，$a=1$ 即原模型。沿路径
# $a(s) = b + s(1-b)$，$\mathrm{IG}_h = (1-b)\int_0^1 \partial L/\partial a_h\,ds$，
# 由完备性得 $\sum_h \mathrm{IG}_h = L(1) - L(b)$。$\mathrm{IG}_h<0$ 表示打开该头使损失下降（“有用”）。

# %% [markdown] tags=["lang-en"]
# # Head attribution: Integrated Gradients, signs and pruning
#
# **The question:** when Integrated Gradients attributes the loss to attention heads, what do the
# signs of the attributions tell us (are most attributions, and their mean, positive)? Which
# pruning strategy built on the attributions works best? How do autoregressive and
# masked-diffusion models differ?
#
# Note 5 (see [the research notes](notes.md)) attributes the loss to each attention head's gate
# with Integrated Gradients
# (IG, {ref}`Sundararajan et al., 2017 <ref-sundararajan-2017-en>`). It finds that in
# masked-diffusion LMs (Dream, LLaDA) most heads have positive attributions, as does the mean
# attribution, and on that basis it proposes three pruning strategies. This chapter reruns the
# procedure at small scale. The same Llama backbone is trained on the same corpus in three
# ways: as an autoregressive (AR) model, as a LLaDA-style masked-diffusion model from scratch,
# and as a Dream-style masked-diffusion model adapted from the AR checkpoint with shifted
# logits. IG is computed on code windows and on docstring/comment windows and compared with
# three references: Michel et al.'s ({ref}`2019 <ref-michel-2019-en>`) first-order importance,
# leave-one-out (LOO) ablation and sampled Shapley values. The pruning strategies are checked
# on held-out data.
#
# The gate $a_h$ multiplies each head's context vector before the output projection; $a=1$ is
# the original model. Along the path $a(s) = b + s(1-b)$,
# $\mathrm{IG}_h = (1-b)\int_0^1 \partial L/\partial a_h\,ds$, and completeness gives
# $\sum_h \mathrm{IG}_h = L(1) - L(b)$. A negative attribution, $\mathrm{IG}_h<0$, means that
# opening the head lowers the loss (the head is "useful").

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles): model sizes and step counts
results_dir = "results"  # trained weights are cached in RESULTS_DIR/attribution
seed = 0
# 0 keeps the profile's value (quick: d_model 64, 4 layers, 4 heads, 64 bytes; 1000/1500/500 steps)
d_model = 0
n_layers = 0
n_heads = 0
seq_len = 0
ar_steps = 0
llada_steps = 0
dream_steps = 0  # adaptation steps on top of the AR checkpoint
n_windows = 64  # attribution windows per set (code, prose)
n_verify = 128  # held-out verification windows
n_steps = 32  # Gauss–Legendre nodes
n_random = 50  # random pruning orders (the band)
n_subsets = 200  # random 30 % subsets for the verification
n_shapley = 30  # Shapley permutations
n_boot = 1000

# %% tags=["remove-cell"]
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from myst_nb import glue

from ptlab.attribution import BASELINES, FamilySpec, StudySettings, run, show, train_family
from ptlab.attribution.pruning import BAND_RATIOS
from ptlab.attribution.verdicts import best_note_strategy, sign_lines, sign_verdict
from ptlab.book.glue import glue_text, glue_value
from ptlab.book.plotting import setup_figures

setup_figures()

# %%
spec = FamilySpec.from_profile(profile, d_model=d_model, n_layers=n_layers, n_heads=n_heads,
                               seq_len=seq_len, ar_steps=ar_steps, llada_steps=llada_steps,
                               dream_steps=dream_steps)
models = train_family(spec, seed, Path(results_dir) / "attribution")
settings = StudySettings(n_windows=n_windows, n_verify=n_verify, n_steps=n_steps,
                         n_random=n_random, n_subsets=n_subsets, n_shapley=n_shapley,
                         n_boot=n_boot)
T = run(models, settings)
N, n_layers, n_heads = spec.n_gates, spec.backbone.n_layers, spec.backbone.n_heads
glue_value("N", N)
glue_text("baselines", "{" + ", ".join(f"{b:g}" for b in BASELINES) + "}")
glue_text("bands", "/".join(f"{100 * r:g}" for r in BAND_RATIOS))
glue_value("prune_pct", 100 * settings.prune_fraction)
glue_value("n_windows", n_windows)
glue_value("n_steps", n_steps)
glue_value("max_rel_delta", T.stats["rel_delta"].max())
show(T.stats, ["model", "set"])

# %% [markdown] tags=["lang-zh"]
# ## 统计表
#
# 每个模型 × 归因集一行（{glue:text}`n_windows` 个窗口，{glue:text}`N` 个注意力头，基线 b = 0）：
# IG 的均值（及按窗口自助法的 95% 置信区间）、中位数、负值（“有用”）与正值（“有害”）比例、范围，
# 以及 L(1)、L(0)、ΣIG 与完备性误差 δ。所有模型和归因集上 |δ| / |L(1) − L(0)| 的最大值为
# {glue:text}`max_rel_delta:.1e`，可见 {glue:text}`n_steps` 个 Gauss–Legendre 节点已绰绰有余。

# %% [markdown] tags=["lang-en"]
# ## Statistics
#
# The table has one row per model × attribution set ({glue:text}`n_windows` windows,
# {glue:text}`N` heads, baseline b = 0). Each row gives the mean IG (with a 95% bootstrap CI over
# windows), the median, the fractions of negative ("useful") and positive ("harmful") heads,
# the range, and L(1), L(0), ΣIG and the completeness gap δ. The largest |δ| / |L(1) − L(0)|
# over all models and sets is {glue:text}`max_rel_delta:.1e`, so {glue:text}`n_steps`
# Gauss–Legendre nodes are plenty.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for ax, (o, sc_) in zip(axes, T.scores.items(), strict=True):
    m = sc_["ig_code"].to_numpy().reshape(n_layers, n_heads)
    lim = np.abs(m).max()
    sns.heatmap(m, ax=ax, cmap="RdBu_r", center=0, vmin=-lim, vmax=lim, annot=True, fmt=".3f",
                annot_kws={"size": 7})
    ax.set(title=f"{o}: IG（代码 · code）", xlabel="头 · head", ylabel="层 · layer")
fig.tight_layout()
glue("fig_heat", fig, display=False)
plt.close(fig)
glue_value("rho_cp_min", T.correlations["ig_code_vs_prose"].min())
glue_value("rho_cp_max", T.correlations["ig_code_vs_prose"].max())
show(T.correlations, ["model"], digits=3)

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_heat
# :name: fig-attr-heat-zh
#
# 三个模型在代码窗口上的 IG（层 × 头）。蓝色为负（有用），红色为正。
# ```
#
# 上表为 Spearman 秩相关：同一模型在代码窗口与文档字符串/注释窗口上的 IG 秩相关介于
# {glue:text}`rho_cp_min:.2f` 与 {glue:text}`rho_cp_max:.2f` 之间（Michel 等人报告的对应数字为
# 0.56–0.68）；其余各列分别比较 IG 与 −LOO、IG 与带符号的 Michel 梯度、|IG| 与 Michel 重要性，
# 以及 IG 与 Shapley 值。

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_heat
# :name: fig-attr-heat-en
#
# IG on code windows for the three models (layer × head). Blue: negative (useful); red:
# positive.
# ```
#
# The table gives Spearman rank correlations. Within a model, the correlation between IG on code
# windows and IG on docstring/comment windows ranges from {glue:text}`rho_cp_min:.2f` to
# {glue:text}`rho_cp_max:.2f` (Michel et al. report 0.56–0.68 for the analogous comparison). The
# other columns compare IG with −LOO, IG with the signed Michel gradient, |IG| with Michel's
# importance, and IG with Shapley values.

# %%
glue_text("sign_zh", sign_lines(T.stats, T.sign)[0])
glue_text("sign_en", sign_lines(T.stats, T.sign)[1])
glue_text("sign_verdict_zh", sign_verdict(T.stats)[0])
glue_text("sign_verdict_en", sign_verdict(T.stats)[1])
show(T.sign, ["model"])

# %% [markdown] tags=["lang-zh"]
# ## 符号问题：为什么平均归因可能为正？
#
# 以 0 为基线时，完备性给出 ΣIG = L(1) − L(0)，因此平均 IG 就是 (L(1) − L(0)) / N：
# 它为正当且仅当关闭全部注意力头后的损失 L(0) 反而低于原模型的损失。对训练好的模型，这几乎不会发生；
# 因此“平均为正”要么来自非零基线（笔记五提议尝试的 b = 0.3：ΣIG = L(1) − L(0.3)，而 L(0.3) 可能低于
# L(1)），要么来自损失并非门控的确定性函数（每次评估都重新采样掩码噪声）。本次数据中：
#
# {glue:md}`sign_zh`
#
# {glue:md}`sign_verdict_zh` 笔记把 IG > 0 解读为“有害”，上表检验了这一解读：IG 沿整条路径累积，
# 而剪枝关心的是 a = 1 附近的行为，两者未必一致。

# %% [markdown] tags=["lang-en"]
# ## The sign question: why can the mean attribution be positive?
#
# With a zero baseline, completeness gives ΣIG = L(1) − L(0), so the mean IG is
# (L(1) − L(0)) / N. The mean is positive exactly when switching all heads off gives a *lower*
# loss than the full model. For a trained model this hardly happens, so a positive mean comes
# either from a non-zero baseline (the b = 0.3 baseline that Note 5 proposes to try: ΣIG = L(1) − L(0.3), and
# L(0.3) can be below L(1)) or from a loss that is not a fixed function of the gates (masking
# noise redrawn at every evaluation). In these data:
#
# {glue:md}`sign_en`
#
# {glue:md}`sign_verdict_en` Note 5 reads IG > 0 as "harmful", and the table tests that reading.
# IG accumulates along the whole path, whereas pruning concerns the neighbourhood of a = 1, so
# the two need not agree.

# %%
bl = T.baselines
glue_value("max_bl_gap", bl[bl["baseline"] == 0.9]["max_abs_diff_vs_gradient"].max())
show(bl, ["model", "baseline"])

# %% [markdown] tags=["lang-zh"]
# ## 基线的选择
#
# 基线 b ∈ {glue:text}`baselines`：ΣIG 始终等于 L(1) − L(b)。b 越接近 1，路径越接近剪枝所处的区域，
# IG(b)/(1−b) 也趋向 a = 1 处的带符号梯度（b = 0.9 时两者的最大差距为 {glue:text}`max_bl_gap:.4f`），
# 与 −LOO 的秩相关也随之变化（见“rho vs −LOO”一列）。

# %% [markdown] tags=["lang-en"]
# ## The choice of baseline
#
# We compare the baselines b ∈ {glue:text}`baselines`; for each, ΣIG equals L(1) − L(b). As
# b → 1, the path moves into the pruning regime, and IG(b)/(1−b) approaches the signed gradient
# at a = 1 (at b = 0.9 the largest gap is {glue:text}`max_bl_gap:.4f`). The rank correlation with
# −LOO changes with b as well (column "rho vs −LOO").

# %%
cv = T.curves
fig, axes = plt.subplots(1, 3, figsize=(15, 4), sharey=False)
styles = {"abs_ig": "-", "signed_ig": "-", "signed_ig_code": "-", "layer_bands": "-",
          "michel": "--", "loo": "--", "greedy": ":"}
for ax, o in zip(axes, models, strict=True):
    c = cv[cv["model"] == o]
    band = c[c["strategy"].isin(["random p5", "random p95"])].pivot(
        index="fraction", columns="strategy", values="rel")
    ax.fill_between(band.index, band["random p5"], band["random p95"], color="grey", alpha=0.3,
                    label="随机 · random 5–95%")
    for name, ls_ in styles.items():
        d = c[c["strategy"] == name]
        ax.plot(d["fraction"], d["rel"], ls_, label=name)
    ax.set(title=o, xlabel="剪枝比例 · fraction of heads pruned",
           ylabel="ΔL / L(1)（留出集 · held-out）")
axes[0].legend(fontsize=7)
fig.tight_layout()
glue("fig_prune", fig, display=False)
plt.close(fig)
ver = T.verification
glue_value("k30", int(ver["k"].iloc[0]))
glue_text("best_zh", best_note_strategy(ver)[0])
glue_text("best_en", best_note_strategy(ver)[1])
show(ver, ["model", "strategy"])

# %% [markdown] tags=["lang-zh"]
# ## 剪枝策略
#
# ```{glue:figure} fig_prune
# :name: fig-attr-prune-zh
#
# 留出集上的相对损失变化随剪枝比例的变化。实线为笔记的三种策略：按 |IG| 升序（abs_ig）；
# 策略 2 的两种读法，即笔记正文的“先剪 IG 大的正值”（signed_ig，带符号 IG 降序）与笔记代码的
# “先剪 IG 小的正值、负值最后”（signed_ig_code）；分层 {glue:text}`bands`%（layer_bands）。虚线为 Michel 重要性与留一消融（LOO）的顺序，点线为贪心剪枝
# （直接在检验用的留出集上选择，属于样本内结果），灰带为随机顺序的 5–95% 区间。
# ```
#
# 检验（笔记中的步骤）：每种策略剪掉 {glue:text}`k30` 个头（{glue:text}`prune_pct:.0f`%），
# 在留出集上重新评估，并给出其在随机 {glue:text}`prune_pct:.0f`% 子集中的百分位（越低越好）
# 以及与贪心剪枝的差距。笔记的策略（策略 2 计两种读法）中，{glue:md}`best_zh`。

# %% [markdown] tags=["lang-en"]
# ## Pruning strategies
#
# ```{glue:figure} fig_prune
# :name: fig-attr-prune-en
#
# Relative change of the held-out loss against the fraction of heads pruned. Solid: the
# strategies of Note 5: |IG| ascending (abs_ig); the two readings of strategy 2, the note's
# prose "large positive IG first" (signed_ig, signed IG descending) and the note's code
# "smallest positive IG first, negatives last" (signed_ig_code); layer bands
# {glue:text}`bands` % (layer_bands). Dashed: the orders by Michel's importance and by LOO; dotted: greedy
# pruning (chosen on the same held-out windows as the curves, so in-sample); grey: the 5–95%
# band of random orders.
# ```
#
# Verification (the follow-up step that Note 5 proposes): each strategy prunes
# {glue:text}`k30` heads ({glue:text}`prune_pct:.0f` %), and the pruned model is re-evaluated
# on held-out data. The table places each result among random {glue:text}`prune_pct:.0f` %
# subsets (as a percentile; lower is better) and compares it with greedy pruning. Of the
# strategies of Note 5 (strategy 2 in both readings), {glue:md}`best_en`.

# %%
rel = ver[ver["strategy"].isin(["abs_ig", "signed_ig", "signed_ig_code", "greedy",
                               "random (mean)"])].pivot(
    index="strategy", columns="model", values="rel_delta_loss")
glue_value("ar_rand", float(rel.loc["random (mean)", "ar"]))
glue_value("llada_rand", float(rel.loc["random (mean)", "llada"]))
glue_value("dream_rand", float(rel.loc["random (mean)", "dream"]))
rel.rename_axis(index="策略 · strategy", columns="模型 · model").round(4)

# %% [markdown] tags=["lang-zh"]
# ## 自回归与掩码扩散的比较
#
# 两类模型的损失不能直接比较（AR 为精确的负对数似然，扩散模型为其变分上界），因此只比较相对变化。
# 随机剪掉 {glue:text}`prune_pct:.0f`% 的注意力头后，留出集损失的平均相对变化为：
# AR {glue:text}`ar_rand:+.2%`，LLaDA {glue:text}`llada_rand:+.2%`，Dream {glue:text}`dream_rand:+.2%`。

# %% [markdown] tags=["lang-en"]
# ## Autoregressive vs masked diffusion
#
# The losses of the two model families are not comparable (an exact NLL for AR, a variational
# bound for the diffusion models), so we compare only relative changes. Pruning a random
# {glue:text}`prune_pct:.0f` % of the heads changes the held-out loss by, on average,
# {glue:text}`ar_rand:+.2%` for AR, {glue:text}`llada_rand:+.2%` for LLaDA and
# {glue:text}`dream_rand:+.2%` for Dream.

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - **符号问题。** {glue:md}`sign_verdict_zh`
# - **剪枝策略。** 剪掉 {glue:text}`prune_pct:.0f`% 的注意力头时，笔记的三种策略中{glue:md}`best_zh`
#   （与随机子集及贪心剪枝的比较见上表）。
# - **自回归与掩码扩散。** 随机剪掉 {glue:text}`prune_pct:.0f`% 的注意力头后，留出集损失的平均相对变化为
#   AR {glue:text}`ar_rand:+.2%`、LLaDA {glue:text}`llada_rand:+.2%`、Dream {glue:text}`dream_rand:+.2%`。
# - 本章每个模型只用一个种子训练，上述结论在种子间的波动尚未估计。

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - **The sign question.** {glue:md}`sign_verdict_en`
# - **Pruning strategies.** When {glue:text}`prune_pct:.0f` % of the heads are pruned, among
#   the three strategies of Note 5, {glue:md}`best_en` (the comparison with random subsets and
#   greedy pruning is in the verification table above).
# - **Autoregressive vs masked diffusion.** Pruning a random {glue:text}`prune_pct:.0f` % of
#   the heads changes the held-out loss by, on average, {glue:text}`ar_rand:+.2%` for AR,
#   {glue:text}`llada_rand:+.2%` for LLaDA and {glue:text}`dream_rand:+.2%` for Dream.
# - Each model is trained with one seed here, so the seed-to-seed spread of these conclusions
#   is not yet estimated.
