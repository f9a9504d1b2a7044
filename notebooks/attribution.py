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
#     seconds: {smoke: 25, quick: 542}  # fresh-clone quick book, 2-core CPU (2026-12-05)
#     depends: []
#     profiles:
#       smoke: {}
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
# 与 Michel 等人（{ref}`2019 <ref-michel-2019-zh>`）的一阶重要性、留一消融（LOO）、采样 Shapley 值
# 及精确 Shapley 值对照，并在留出数据上检验各剪枝策略。每类模型训练 {glue:text}`n_seeds` 个种子，
# 三类模型的训练字节数相同；跨种子的结论都以种子均值的置信区间表述，区间同时计入种子与窗口两种噪声。
# 代码：`ptlab.attribution`。
#
# 门控 $a_h$ 在输出投影之前与注意力头 $h$ 的上下文向量相乘，$a=1$ 即原模型。沿路径
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
# with Integrated Gradients (IG, {ref}`Sundararajan et al., 2017 <ref-sundararajan-2017-en>`).
# It finds that in masked-diffusion LMs (Dream, LLaDA) most heads have positive attributions, as
# does the mean attribution, and on that basis it proposes three pruning strategies. This
# chapter reruns the procedure at small scale. The same Llama backbone is trained on the same
# corpus in three ways: as an autoregressive (AR) model, as a LLaDA-style masked-diffusion
# model from scratch, and as a Dream-style masked-diffusion model adapted from the AR
# checkpoint with shifted logits. IG is computed on code windows and on docstring/comment
# windows and compared with Michel et al.'s ({ref}`2019 <ref-michel-2019-en>`) first-order
# importance, leave-one-out (LOO) ablation, sampled Shapley values and exact Shapley values;
# the pruning strategies are checked on held-out data. Each family is trained with
# {glue:text}`n_seeds` seeds, every member on the same number of training bytes; statements
# across seeds rest on intervals of the seed mean that count both the seeds and the windows.
# Code: `ptlab.attribution`.
#
# The gate $a_h$ multiplies head $h$'s context vector before the output projection; $a=1$ is
# the original model. Along the path $a(s) = b + s(1-b)$,
# $\mathrm{IG}_h = (1-b)\int_0^1 \partial L/\partial a_h\,ds$, and completeness gives
# $\sum_h \mathrm{IG}_h = L(1) - L(b)$. A negative attribution, $\mathrm{IG}_h<0$, means that
# opening the head lowers the loss (the head is "useful").

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles): model sizes and step counts
results_dir = "results"  # trained weights are cached in RESULTS_DIR/attribution
seed = 0  # the first training seed; seeds seed .. seed + n_seeds − 1
# None keeps the profile's value (ptlab.profiles, section attribution; quick: d_model 64,
# 4 layers, 4 heads, 64 bytes; 600/600/300 steps; the analysis settings in its `study` part)
n_seeds: int | None = None  # training seeds per family
d_model: int | None = None
n_layers: int | None = None
n_heads: int | None = None
seq_len: int | None = None
ar_steps: int | None = None
llada_steps: int | None = None
dream_steps: int | None = None  # Dream's adaptation, from the AR run at ar_steps − dream_steps
n_windows: int | None = None  # attribution windows per set (code, prose)
n_verify: int | None = None  # held-out verification windows
noise_draws: int | None = None  # stratified masking draws per window (masked diffusion)
n_steps: int | None = None  # Gauss–Legendre nodes
n_random: int | None = None  # random pruning orders per model (the band pools the seeds)
n_subsets: int | None = None  # random 30 % subsets for the verification
n_shapley: int | None = None  # Shapley permutations
n_boot: int | None = None  # bootstrap resamples of windows
exact_windows: int | None = None  # windows for exact Shapley (first seed; 0 skips it)
exact_bytes: int | None = None  # the first bytes of each of those windows
exact_members: str | None = None  # comma-separated members that get exact Shapley
torch_threads = 1  # 1: on the shared 2-core machine 2 threads ran 5-25x slower under load

# %% tags=["remove-cell"]
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch

from ptlab.attribution import (
    BASELINES,
    MEMBERS,
    FamilySpec,
    StudySettings,
    across_seeds,
    band_spec,
    band_study,
    eval_set,
    loss_at,
    mean_sd,
    run,
    seed_ci,
    show,
    train_ar,
    train_family,
)
from ptlab.attribution import verdicts as words
from ptlab.attribution.family import training_seconds
from ptlab.attribution.pruning import BAND_RATIOS, layer_bands
from ptlab.attribution.study import LABELS, PAIRS
from ptlab.book.claims import Claim, record_claims
from ptlab.book.glue import glue_pair, glue_value
from ptlab.book.plotting import MAX_WIDTH_IN, glue_figure, setup_figures
from ptlab.display import interval
from ptlab.verdict import t_interval

setup_figures()
pd.set_option("display.max_colwidth", None)  # the table rule: no truncated strings
torch.set_num_threads(torch_threads)
NAMES = {"ar": "AR", "llada": "LLaDA", "dream": "Dream"}

# %% [markdown] tags=["lang-zh"]
# ## 训练与预算
#
# 三类模型的训练字节数相同：AR 与 LLaDA 各训练 {glue:text}`ar_steps` 步，Dream 取同一次 AR 训练在第
# {glue:text}`dream_from` 步时的权重，再做 {glue:text}`dream_steps` 步适配，因此三者都见过
# {glue:text}`tokens_each` 个训练字节（每步 {glue:text}`tokens_per_step` 个）。Dream 的 AR 预训练因此
# 比最终的 AR 模型短、学习率也未退火到底，这是“等预算”的代价。下表给出每类模型的训练步数与字节数，以及
# {glue:text}`n_verify` 个留出窗口上的损失（种子间均值 ± 标准差；AR 为精确负对数似然，扩散模型为其上界，
# 两者不能互相比较）：

# %% [markdown] tags=["lang-en"]
# ## Training and budgets
#
# All members see the same number of training bytes. AR and LLaDA train for
# {glue:text}`ar_steps` steps each; Dream takes the weights of the same AR run at step
# {glue:text}`dream_from` and adapts for {glue:text}`dream_steps` steps, so each of the three
# has seen {glue:text}`tokens_each` training bytes ({glue:text}`tokens_per_step` per step). The
# price is that Dream's AR pre-training is shorter than the final AR model's and stops before
# its learning rate has decayed. The table gives each member's steps and bytes and its loss on
# {glue:text}`n_verify` held-out windows (mean ± sd over seeds; an exact NLL for AR and a bound
# for the diffusion models, so the two are not comparable):

# %% tags=["hide-input"]
spec = FamilySpec.from_profile(
    profile,
    d_model=d_model,
    n_layers=n_layers,
    n_heads=n_heads,
    seq_len=seq_len,
    ar_steps=ar_steps,
    llada_steps=llada_steps,
    dream_steps=dream_steps,
)
settings = StudySettings.from_profile(
    profile,
    n_seeds=n_seeds,
    n_windows=n_windows,
    n_verify=n_verify,
    n_steps=n_steps,
    n_random=n_random,
    n_subsets=n_subsets,
    n_shapley=n_shapley,
    n_boot=n_boot,
    noise_draws=noise_draws,
    exact_windows=exact_windows,
    exact_bytes=exact_bytes,
    exact_members=exact_members,
)
cache = Path(results_dir) / "attribution"
seeds = list(range(seed, seed + settings.n_seeds))
families = {s: train_family(spec, s, cache) for s in seeds}
train_seconds = float(np.nansum([training_seconds(spec, s, cache) for s in seeds]))
held = pd.DataFrame(
    [
        {"model": o, "seed": s, "heldout": loss_at(m, eval_set("heldout", settings.n_verify, m))}
        for s, fam in families.items()
        for o, m in fam.items()
    ]
)
budget = pd.DataFrame(
    [
        {
            "model": o,
            "ar_pretraining": spec.dream_from if o == "dream" else 0,
            "own_steps": spec.steps[MEMBERS.index(o)],
            "tokens": spec.tokens(o),
        }
        for o in MEMBERS
    ]
).merge(mean_sd(held, ["model"], ["heldout"]), on="model")
glue_value("n_seeds", settings.n_seeds)
glue_value("ar_steps", spec.steps[0])
glue_value("dream_steps", spec.steps[2])
glue_value("dream_from", spec.dream_from)
glue_value("tokens_each", f"{spec.tokens('ar'):,}")
glue_value("tokens_per_step", f"{spec.train.batch_size * spec.backbone.seq_len:,}")
glue_value("n_verify", settings.n_verify)
show(
    budget,
    ["model"],
).rename(
    columns={
        "ar_pretraining": "AR 预训练步数 · AR pre-training steps",
        "own_steps": "本模型步数 · own steps",
        "tokens": "训练字节 · training bytes",
        "heldout": "留出集损失 · held-out loss",
    }
)

# %%
T = run(families, settings)
N, n_layers, n_heads = spec.n_gates, spec.backbone.n_layers, spec.backbone.n_heads
glue_value("N", N)
glue_value("baselines", ", ".join(f"{b:g}" for b in BASELINES))
glue_value("bands", "/".join(f"{100 * r:g}" for r in BAND_RATIOS))
glue_value("prune_pct", 100 * settings.prune_fraction)
glue_value("n_windows", settings.n_windows)
glue_value("noise_draws", settings.noise_draws)
glue_value("n_steps", settings.n_steps)
glue_value("n_boot", settings.n_boot)
glue_value("max_rel_delta", T.stats["rel_delta"].max())
show(
    mean_sd(
        T.stats,
        ["model", "set"],
        ["mean", "frac_negative", "frac_positive", "loss_on", "loss_off", "rel_delta"],
    ),
    ["model", "set"],
)

# %% [markdown] tags=["lang-zh"]
# ## 统计表
#
# 每个模型 × 归因集一行（{glue:text}`n_windows` 个窗口，{glue:text}`N` 个注意力头，基线 $b = 0$），
# 每格为 {glue:text}`n_seeds` 个种子的均值 ± 标准差：IG 的均值、负值（“有用”）与正值（“有害”）比例、
# $L(1)$、$L(0)$ 与相对完备性误差 $|\delta| / |L(1) - L(0)|$（中位数与范围等其余统计量见下载的表）。
# 掩码扩散模型的每个窗口评估 $K$ = {glue:text}`noise_draws` 次，每次对应掩码比例的一个分层：
# 窗口可遮住的位置共 $T$ 个，取一个对每个窗口固定的偏移 $u \sim U(0,1)$，第 $k$ 层恰好遮住
# $l_k = \lceil (k-u)\,T/K \rceil$ 个随机位置（$k = 1,\dots,K$），并以 $T/l_k$ 加权（分层估计，同 LLaDA
# 的似然评估）；所有评估共用这一组掩码。所有模型、种子与归因集上相对完备性误差的最大值为
# {glue:text}`max_rel_delta:.1e`，{glue:text}`n_steps` 个 Gauss–Legendre 节点已足够。
#
# 平均 IG 由完备性固定为 $(L(1) - L(0))/N$；笔记关心的是符号。下表给出 IG < 0 与 IG > 0 的注意力头比例：
# 种子均值、种子标准差，以及种子均值的 95% 置信区间。区间以种子间的 $t$ 区间为主（{glue:text}`n_seeds` 个种子），
# 并加上窗口的抽样方差（对窗口做 {glue:text}`n_boot` 次自助重采样、各种子共用同一组重采样）。

# %% [markdown] tags=["lang-en"]
# ## Statistics
#
# One row per model × attribution set ({glue:text}`n_windows` windows, {glue:text}`N` heads,
# baseline $b = 0$); each cell is a mean ± sd over {glue:text}`n_seeds` seeds: the mean IG, the
# fractions of negative ("useful") and positive ("harmful") heads, $L(1)$, $L(0)$ and the
# relative completeness gap $|\delta| / |L(1) - L(0)|$. Each masked-diffusion window is scored
# $K$ = {glue:text}`noise_draws` times, once per stratum of the masking ratio: of the window's
# $T$ maskable positions, with an offset $u \sim U(0,1)$ fixed per window, stratum $k$ masks
# exactly $l_k = \lceil (k-u)\,T/K \rceil$ random positions ($k = 1,\dots,K$), weighted by
# $T/l_k$ (a stratified estimator, as in LLaDA's likelihood evaluation), and every evaluation
# reuses these masks. The largest relative completeness gap over models, seeds and sets is
# {glue:text}`max_rel_delta:.1e`, so {glue:text}`n_steps` Gauss–Legendre nodes suffice.
#
# Completeness fixes the mean IG at $(L(1) - L(0))/N$; the note counts signs. The next table
# gives the fractions of heads with IG < 0 and IG > 0: the seed mean, the seed sd, and the 95%
# interval of the seed mean. The interval is a $t$ interval over the {glue:text}`n_seeds` seeds,
# widened by the windows' sampling variance ({glue:text}`n_boot` bootstrap resamples of the
# windows, the same resamples for every seed).

# %% tags=["remove-input"]
fractions = []
for name in ("frac_negative", "frac_positive"):
    for kind in ("code", "prose"):
        c = seed_ci(T.boot, f"{name}:{kind}", bounds=(0, 1))
        fractions.append(c.assign(set=kind, fraction=LABELS[name]))
fractions = pd.concat(fractions)
fractions["ci"] = [
    interval(lo, hi) for lo, hi in zip(fractions.ci_low, fractions.ci_high, strict=True)
]
show(
    fractions[["model", "set", "fraction", "mean", "sd_seeds", "ci"]], ["model", "set", "fraction"]
).rename(columns={"sd_seeds": LABELS["sd"]})

# %%
fig, axes = plt.subplots(1, 3, figsize=(MAX_WIDTH_IN, 2.9))
lim = max(np.abs(T.scores[(o, seeds[0])]["ig_code"]).max() for o in MEMBERS)
for ax, o in zip(axes, MEMBERS, strict=True):
    m = T.scores[(o, seeds[0])]["ig_code"].to_numpy().reshape(n_layers, n_heads)
    sns.heatmap(m, ax=ax, cmap="RdBu_r", center=0, vmin=-lim, vmax=lim, cbar=o == MEMBERS[-1])
    ax.set(title=NAMES[o], xlabel="头 · head", ylabel="层 · layer" if o == MEMBERS[0] else "")
fig.tight_layout()
glue_figure("fig_heat", fig)
corr = across_seeds(T.correlations[["model", "seed", *PAIRS]], ["model"])
corr_rows = []
for pair in PAIRS:
    c = seed_ci(T.boot, pair, bounds=(-1, 1))
    corr_rows.append(c.assign(pair=LABELS[pair]))
corr_table = pd.concat(corr_rows)
corr_table["ci"] = [
    interval(lo, hi) for lo, hi in zip(corr_table.ci_low, corr_table.ci_high, strict=True)
]
glue_value("rho_cp_min", corr["ig_code_vs_prose"].min())
glue_value("rho_cp_max", corr["ig_code_vs_prose"].max())
glue_value("rho_shap_min", corr["ig_vs_shapley"].min())
glue_value("rho_loo_min", corr["ig_vs_neg_loo"].min())
glue_value("rho_loo_max", corr["ig_vs_neg_loo"].max())
show(
    corr_table[["model", "pair", "mean", "sd_seeds", "ci"]].rename(columns={"mean": "rho"}),
    ["model", "pair"],
    digits=2,
).rename(columns={"sd_seeds": LABELS["sd"]})

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_heat
# :alt: 三张四乘四的热图，分别对应 AR、LLaDA 与 Dream，行是层、列是层内的注意力头，颜色表示该头的 IG，蓝色为负、红色为正。
# :name: fig-attr-heat-zh
#
# 第一个种子的三个模型在代码窗口上的 IG（层 × 头）。蓝色为负（有用），红色为正。不同种子的注意力头
# 并不一一对应，因此不对热图取种子平均。
# ```
#
# 上表为 Spearman 秩相关的种子均值、种子标准差与种子均值的 95% 置信区间（同一组重采样窗口同时用于两个分数，
# 使比较保持配对）。同一模型在代码窗口与文档字符串/注释窗口上的 IG 秩相关的种子均值介于
# {glue:text}`rho_cp_min:.2f` 与 {glue:text}`rho_cp_max:.2f` 之间（Michel 等人报告的对应数字为 0.56–0.68）；
# IG 与 −LOO 的秩相关介于 {glue:text}`rho_loo_min:.2f` 与 {glue:text}`rho_loo_max:.2f` 之间，
# IG 与采样 Shapley 值的秩相关最低为 {glue:text}`rho_shap_min:.2f`。

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_heat
# :alt: Three four-by-four heat maps for AR, LLaDA and Dream with layers as rows and heads as columns, coloured by each head's IG, blue negative and red positive.
# :name: fig-attr-heat-en
#
# IG on code windows for the three models of the first seed (layer × head). Blue: negative
# (useful); red: positive. Heads do not correspond across seeds, so the maps are not averaged.
# ```
#
# The table gives the seed mean, the seed sd and the 95% interval of the seed mean of each
# Spearman rank correlation (the same resampled windows serve both scores, so each comparison
# stays paired). The seed-mean correlation between IG on code windows and on docstring/comment
# windows ranges from {glue:text}`rho_cp_min:.2f` to {glue:text}`rho_cp_max:.2f` (Michel et
# al. report 0.56–0.68 for the analogous comparison); IG against −LOO ranges from
# {glue:text}`rho_loo_min:.2f` to {glue:text}`rho_loo_max:.2f`, and IG against sampled Shapley
# values is at least {glue:text}`rho_shap_min:.2f`.

# %%
glue_pair("noise", words.noise_verdict(T.noise))
show(mean_sd(T.noise, ["model"], ["rho_noise_seeds", "same_sign_fraction"]), ["model"])

# %% [markdown] tags=["lang-zh"]
# ## 掩码噪声：换一个噪声种子，排序还一样吗？
#
# 扩散模型的损失依赖掩码噪声。我们用另一个噪声种子重新抽取全部分层掩码（窗口不变），重新计算 IG，
# 并比较两组 IG 的 Spearman 秩相关与符号一致比例（每个训练种子一个值，表中为种子均值 ± 标准差）：
# {glue:md}`noise_zh:myst`

# %% [markdown] tags=["lang-en"]
# ## Masking noise: does a second noise seed give the same ranking?
#
# The diffusion losses depend on the masking noise. We redraw every stratified mask with a
# second noise seed (same windows), recompute IG, and compare the two by Spearman correlation
# and by the fraction of heads with the same sign (one value per training seed; the table shows
# mean ± sd): {glue:md}`noise_en:myst`

# %%
ex = T.exact
glue_value("exact_windows", settings.exact_windows)
glue_value("exact_bytes", min(settings.exact_bytes, spec.backbone.seq_len))
if len(ex):
    glue_value("exact_seconds", float(ex.groupby("model")["seconds"].first().sum()))
    glue_value("exact_ratio", float((ex["seconds"] / ex["forward_seconds"]).median()))
    glue_value("exact_subsets", f"{int(ex['subsets'].iloc[0]):,}")
    glue_value("exact_gap", float(ex["efficiency_gap"].abs().max()))
    glue_value("exact_models_zh", "、".join(NAMES[o] for o in ex["model"].unique()))
    glue_value("exact_models_en", ", ".join(NAMES[o] for o in ex["model"].unique()))
    glue_pair("exact", words.exact_verdict(ex))
    exact_view = show(
        ex[["model", "estimate", "rho_vs_exact", "rel_error", "max_abs_error"]],
        ["model", "estimate"],
    )
else:
    glue_value("exact_seconds", 0.0)
    glue_value("exact_ratio", 0.0)
    glue_value("exact_gap", 0.0)
    glue_value("exact_subsets", f"{2**N:,}")
    glue_value("exact_models_zh", "—")
    glue_value("exact_models_en", "—")
    glue_pair(
        "exact", ("本次运行未计算精确 Shapley。", "Exact Shapley was not computed in this run.")
    )
    exact_view = None
exact_view

# %% [markdown] tags=["lang-zh"]
# ## 精确 Shapley 值
#
# 对 {glue:text}`N` 个注意力头，精确 Shapley 值需要全部 $2^N$ = {glue:text}`exact_subsets` 个门控子集的损失。
# 第 $l$ 层的输出只取决于前 $l$ 层的门控，因此我们逐层枚举：每一层只对其前面各层的每种门控组合计算一次，
# 最后一层（连同输出层与损失）才对全部子集计算。计算在第一个种子的 {glue:text}`exact_models_zh` 模型上进行，
# 用前 {glue:text}`exact_windows` 个代码窗口、每个窗口的前 {glue:text}`exact_bytes` 个字节（扩散模型每个窗口一次分层掩码）。
# 这是本配置档的取舍：在 2 核 CPU 上，完整的 64 字节窗口每个模型约需 10 分钟，超出本章的时间预算；
# 这里的“真值”因此是这组较短窗口上的损失的 Shapley 值，采样 Shapley 与 IG 也在同一组窗口上重新计算后与之比较
# （`ptlab run attribution -p exact_bytes=64` 计算完整窗口）。枚举共用时 {glue:text}`exact_seconds:.0f` 秒，
# 中位数约为同一组窗口一次普通前向的 {glue:text}`exact_ratio:,.0f` 倍；有效性（efficiency）$\sum_h \varphi_h = L(1) - L(0)$
# 的最大误差为 {glue:text}`exact_gap:.1e`。{glue:md}`exact_zh:myst`

# %% [markdown] tags=["lang-en"]
# ## Exact Shapley values
#
# For {glue:text}`N` heads the exact Shapley values need the loss of all
# $2^N$ = {glue:text}`exact_subsets` gate subsets. Layer $l$'s output depends only on the gates
# of layers up to $l$, so the enumeration walks the layers: each layer runs once per setting of
# the gates before it, and only the last layer (with the LM head and the loss) runs for every
# subset. It covers the first seed's {glue:text}`exact_models_en` models, on the first
# {glue:text}`exact_windows` code windows, each cut to its first {glue:text}`exact_bytes` bytes
# (one stratified mask per window for the diffusion models). This is the profile's trade: on 2
# CPU cores full 64-byte windows cost about 10 minutes per model, beyond this chapter's budget;
# the "truth" is therefore the Shapley value of the loss on these shorter windows, and sampled
# Shapley and IG are recomputed on the same windows to be compared with it
# (`ptlab run attribution -p exact_bytes=64` scores the full windows). The enumerations took
# {glue:text}`exact_seconds:.0f` s in all, a median of {glue:text}`exact_ratio:,.0f` times one
# plain forward of the same windows; efficiency, $\sum_h \varphi_h = L(1) - L(0)$, holds to
# {glue:text}`exact_gap:.1e`. {glue:md}`exact_en:myst`

# %% [markdown] tags=["lang-zh"]
# (attribution-sign-zh)=
# ## 符号问题：为什么平均归因可能为正？

# %% [markdown] tags=["lang-en"]
# (attribution-sign-en)=
# ## The sign question: why can the mean attribution be positive?

# %%
glue_pair("sign", words.sign_lines(T.stats, T.sign, T.boot))
glue_pair("sign_verdict", words.sign_verdict(T.stats, T.boot))
sign_result = words.sign_outcomes(T.stats, T.boot)
harm = words.harmful_outcome(T.sign)
show(
    mean_sd(
        T.sign,
        ["model"],
        [
            "heads_ig_positive",
            "of_which_loo_negative",
            "delta_loss_without_positive",
            "heldout_loss",
        ],
    ),
    ["model"],
)

# %% [markdown] tags=["lang-zh"]
# 以 0 为基线时，完备性给出 $\sum_h \mathrm{IG}_h = L(1) - L(0)$，因此平均 IG 就是 $(L(1) - L(0))/N$：
# 它为正当且仅当关闭全部注意力头后的损失 $L(0)$ 反而低于原模型的损失。对训练好的模型，这几乎不会发生；
# 因此“平均为正”要么来自非零基线（笔记五提议尝试的 $b = 0.3$：$\sum_h \mathrm{IG}_h = L(1) - L(0.3)$，
# 而 $L(0.3)$ 可能低于 $L(1)$），要么来自损失并非门控的确定性函数（每次评估都重新采样掩码噪声）。
# 本次数据中（种子均值 ± 标准差）：
#
# ```{glue:md} sign_zh
# :format: myst
# ```
#
# {glue:md}`sign_verdict_zh:myst` 笔记把 IG > 0 解读为“有害”，上表检验了这一解读：IG 沿整条路径累积，
# 而剪枝关心的是 $a = 1$ 附近的行为，两者未必一致。

# %% [markdown] tags=["lang-en"]
# With a zero baseline, completeness gives $\sum_h \mathrm{IG}_h = L(1) - L(0)$, so the mean IG
# is $(L(1) - L(0))/N$. The mean is positive exactly when switching all heads off gives a
# *lower* loss than the full model. For a trained model this hardly happens, so a positive mean
# comes either from a non-zero baseline (the $b = 0.3$ baseline that Note 5 proposes to try:
# $\sum_h \mathrm{IG}_h = L(1) - L(0.3)$, and $L(0.3)$ can be below $L(1)$) or from a loss that
# is not a fixed function of the gates (masking noise redrawn at every evaluation). In these
# data (mean ± sd over seeds):
#
# ```{glue:md} sign_en
# :format: myst
# ```
#
# {glue:md}`sign_verdict_en:myst` Note 5 reads IG > 0 as "harmful", and the table tests that
# reading. IG accumulates along the whole path, whereas pruning concerns the neighbourhood of
# $a = 1$, so the two need not agree.

# %%
bl = T.baselines
glue_value("max_bl_gap", bl[bl["baseline"] == 0.9]["max_abs_diff_vs_gradient"].max())
show(
    mean_sd(
        bl,
        ["model", "baseline"],
        ["loss_gap", "frac_negative", "rho_vs_ig0", "rho_vs_neg_loo", "max_abs_diff_vs_gradient"],
    ),
    ["model", "baseline"],
)

# %% [markdown] tags=["lang-zh"]
# ## 基线的选择
#
# 我们比较基线 $b$ 的三个取值 {glue:text}`baselines`：$\sum_h \mathrm{IG}_h$ 始终等于 $L(1) - L(b)$。
# $b$ 越接近 1，路径越接近剪枝所处的区域，$\mathrm{IG}_h(b)/(1-b)$ 也趋向 $a = 1$ 处的带符号梯度 $g_h$：
# $b = 0.9$ 时，$|\mathrm{IG}_h(b)/(1-b) - g_h|$ 在所有注意力头、模型与种子上的最大值为
# {glue:text}`max_bl_gap:.4f`。与 −LOO 的秩相关也随 $b$ 变化（“ρ vs −LOO”一列）。

# %% [markdown] tags=["lang-en"]
# ## The choice of baseline
#
# We compare three baselines $b$, {glue:text}`baselines`; for each,
# $\sum_h \mathrm{IG}_h = L(1) - L(b)$. As $b \to 1$, the path moves into the pruning regime,
# and $\mathrm{IG}_h(b)/(1-b)$ approaches the signed gradient $g_h$ at $a = 1$: at $b = 0.9$ the
# largest $|\mathrm{IG}_h(b)/(1-b) - g_h|$ over heads, models and seeds is
# {glue:text}`max_bl_gap:.4f`. The rank correlation with −LOO changes with $b$ as well (column
# "ρ vs −LOO").

# %% [markdown] tags=["lang-zh"]
# (attribution-prune-zh)=
# ## 剪枝策略

# %% [markdown] tags=["lang-en"]
# (attribution-prune-en)=
# ## Pruning strategies

# %%
cv = T.curves
mean_curves = (
    cv[cv["strategy"] != "random"]
    .groupby(["model", "strategy", "fraction"], sort=False)["rel"]
    .agg(["mean", "std"])
    .reset_index()
)
styles = {
    "abs_ig": ("-", "#1f77b4"),
    "signed_ig": ("-", "#d62728"),
    "signed_ig_code": ((0, (1, 1)), "#ff9896"),
    "layer_bands": ("-", "#2ca02c"),
    "michel": ("--", "#9467bd"),
    "michel_iterative": ("--", "#8c564b"),
    "loo": ("--", "#e377c2"),
    "greedy": (":", "#000000"),
}
fig, axes = plt.subplots(1, 3, figsize=(MAX_WIDTH_IN, 3.6), sharey=True)
for ax, o in zip(axes, MEMBERS, strict=True):
    r = cv[(cv["model"] == o) & (cv["strategy"] == "random")]
    band = r.groupby("fraction")["rel"].quantile([0.05, 0.95]).unstack()
    ax.fill_between(
        band.index, band[0.05], band[0.95], color="grey", alpha=0.3, label="random 5–95%"
    )
    for name, (ls_, color) in styles.items():
        d = mean_curves[(mean_curves["model"] == o) & (mean_curves["strategy"] == name)]
        ax.plot(d["fraction"], d["mean"], ls=ls_, color=color, label=name, lw=1.3)
    ax.set(title=NAMES[o], xlabel="剪枝比例 · pruned")
axes[0].set_ylabel("ΔL / L(1)（留出 · held-out）")
axes[-1].legend(loc="upper left", bbox_to_anchor=(-2.2, -0.25), ncol=3, fontsize=9)
fig.tight_layout()
glue_figure("fig_prune", fig)
ver = T.verification
glue_value("k30", int(ver["k"].iloc[0]))
glue_pair("best", words.best_note_strategy(ver))
glue_pair("readings", words.strategy2_readings(T.scores))
glue_value(
    "band_layers",
    " / ".join("{" + ", ".join(str(x) for x in b) + "}" for b in layer_bands(n_layers)),
)
strategy = words.strategy_outcome(ver)
within = {
    o: t_interval(g.loc[g["strategy"] == "abs_ig", "max_fraction_within_1pct"].to_numpy())
    for o, g in ver.groupby("model", sort=False)
}
show(
    mean_sd(
        ver[ver["strategy"] != "random_mean"],
        ["model", "strategy"],
        [
            "delta_loss",
            "percentile_among_random",
            "gap_to_greedy",
            "max_fraction_within_1pct",
            "auc_0_50",
        ],
    ),
    ["model", "strategy"],
)

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_prune
# :alt: 三个折线图分别对应 AR、LLaDA 与 Dream，横轴是剪掉的注意力头比例，纵轴是留出集损失的相对变化；每种剪枝顺序一条线，灰色带为随机顺序的 5% 至 95% 区间。
# :name: fig-attr-prune-zh
#
# 留出集上的相对损失变化随剪枝比例的变化（{glue:text}`n_seeds` 个种子的均值）。实线为笔记的策略：
# 按 |IG| 升序（abs_ig）；策略 2 的两种读法，即笔记正文的“先剪 IG 大的正值”（signed_ig，带符号 IG 降序）
# 与笔记代码的“先剪 IG 小的正值、负值最后”（signed_ig_code，点线）；分层 {glue:text}`bands`%（layer_bands）。
# 虚线为 Michel 重要性（静态 michel 与每剪一个头重算一次的 michel_iterative）与留一消融（loo）的顺序，
# 黑色点线为贪心剪枝。所有顺序都在归因窗口上确定、在留出窗口上评估（贪心也是，因此不是样本内结果）。
# 灰带为各种子随机顺序合并后的 5–95% 区间。
# ```
#
# 检验（笔记提出的后续步骤）：每种策略剪掉 {glue:text}`k30` 个头（{glue:text}`prune_pct:.0f`%），在
# {glue:text}`n_verify` 个留出窗口上重新评估，并给出其在随机 {glue:text}`prune_pct:.0f`% 子集中的百分位
# （越低越好）、与贪心剪枝的差距、损失增幅不超过 1% 时能剪掉的最大比例，以及剪枝比例 0–50% 上的平均相对变化，
# 均为种子均值 ± 标准差。判定规则：平均最好的策略相对其他每种策略的配对优势（同一种子的 ΔL 之差）
# 在各种子上的 95% $t$ 置信区间都大于 0，才算“胜出”。笔记的策略（策略 2 计两种读法）中，{glue:md}`best_zh:myst`。
# {glue:md}`readings_zh:myst`
#
# 4 层模型的深度三等分为 {glue:text}`band_layers`，浅层与深层各只有一层，分层比例在 {glue:text}`N` 个头上取整后
# 几乎退化为按 |IG| 剪枝；下一节用一个更深的小模型检验分层策略。

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_prune
# :alt: Three line charts for AR, LLaDA and Dream with the fraction of heads pruned on the x axis and the relative change of the held-out loss on the y axis, one line per pruning order and a grey band for the 5 to 95 percent range of random orders.
# :name: fig-attr-prune-en
#
# Relative change of the held-out loss against the fraction of heads pruned (mean of
# {glue:text}`n_seeds` seeds). Solid: the strategies of Note 5: |IG| ascending (abs_ig); the two
# readings of strategy 2, the note's prose "large positive IG first" (signed_ig, signed IG
# descending) and the note's code "smallest positive IG first, negatives last"
# (signed_ig_code, dotted); layer bands {glue:text}`bands` % (layer_bands). Dashed: the orders
# by Michel's importance (static, michel, and recomputed after every removal,
# michel_iterative) and by LOO; black dotted: greedy pruning. Every order is fitted on the
# attribution windows and evaluated on the held-out windows (greedy too, so it is not
# in-sample). Grey: the 5–95% band of random orders, pooled over seeds.
# ```
#
# Verification (the follow-up step that Note 5 proposes): each strategy prunes
# {glue:text}`k30` heads ({glue:text}`prune_pct:.0f` %), and the pruned model is re-evaluated
# on {glue:text}`n_verify` held-out windows. The table places each result among random
# {glue:text}`prune_pct:.0f` % subsets (as a percentile; lower is better), compares it with
# greedy pruning, and gives the largest fraction pruned within a 1% loss increase and the mean
# relative change over 0–50% pruned, as mean ± sd over seeds. The rule: the best strategy on
# average "wins" only if its paired lead (the ΔL difference within a seed) over every other
# strategy has a 95% $t$ interval across seeds above 0. Of the strategies of Note 5 (strategy 2
# in both readings), {glue:md}`best_en:myst`. {glue:md}`readings_en:myst`
#
# The depth thirds of the 4-layer model are {glue:text}`band_layers`: the shallow and deep
# bands hold one layer each, and after rounding on {glue:text}`N` heads the band ratios leave
# little beyond |IG| ordering; the next section tests the band strategy on a deeper small model.

# %%
deep = band_spec(
    profile,
    d_model=d_model,
    n_heads=n_heads,
    seq_len=seq_len,
    ar_steps=ar_steps,
    llada_steps=llada_steps,
    dream_steps=dream_steps,
)
if deep is not None:
    deep_models = {s: train_ar(deep, s, cache) for s in seeds}
    t0 = time.perf_counter()
    band_curves, band_ver = band_study(deep_models, settings)
    band_seconds = time.perf_counter() - t0
    band_train_seconds = float(np.nansum([training_seconds(deep, s, cache, "ar") for s in seeds]))
    glue_value("deep_layers", deep.backbone.n_layers)
    glue_value("deep_N", deep.n_gates)
    glue_value("deep_k", int(band_ver["k"].iloc[0]))
    glue_value(
        "deep_bands",
        " / ".join(
            "{" + ", ".join(str(x) for x in b) + "}" for b in layer_bands(deep.backbone.n_layers)
        ),
    )
    glue_pair("deep_best", words.best_note_strategy(band_ver))
    band_view = show(
        mean_sd(
            band_ver[band_ver["strategy"] != "random_mean"],
            ["model", "strategy"],
            ["delta_loss", "percentile_among_random", "gap_to_greedy", "auc_0_50"],
        ),
        ["model", "strategy"],
    )
else:
    band_seconds = band_train_seconds = 0.0
    glue_value("deep_layers", n_layers)
    glue_value("deep_N", N)
    glue_value("deep_k", int(ver["k"].iloc[0]))
    glue_value(
        "deep_bands",
        " / ".join("{" + ", ".join(str(x) for x in b) + "}" for b in layer_bands(n_layers)),
    )
    glue_pair("deep_best", words.best_note_strategy(ver))
    band_view = None
glue_value("band_seconds", band_seconds)
glue_value("band_train_seconds", band_train_seconds)
band_view

# %% [markdown] tags=["lang-zh"]
# ### 更深的模型上的分层剪枝
#
# 为让分层策略有意义，我们另训练一个只用于这一比较的更深的 AR 模型（{glue:text}`deep_layers` 层 × 相同头数，
# N = {glue:text}`deep_N`，训练设置与上面的 AR 相同，{glue:text}`n_seeds` 个种子），其深度三等分为
# {glue:text}`deep_bands`。在留出集上剪掉 {glue:text}`deep_k` 个头（{glue:text}`prune_pct:.0f`%），
# 比较分层、按 |IG|、按带符号 IG 与贪心剪枝（上表，种子均值 ± 标准差），按同样的判定规则：
# {glue:md}`deep_best_zh:myst`。训练这些模型用时 {glue:text}`band_train_seconds:.0f` 秒（首次运行时），评估用时
# {glue:text}`band_seconds:.0f` 秒。`full` 配置档的模型为 6 层 × 8 头，三等分各含两层，不再需要这个额外的模型。

# %% [markdown] tags=["lang-en"]
# ### Layer bands on a deeper model
#
# To give the band strategy something to work with, we train a deeper AR model used only for
# this comparison ({glue:text}`deep_layers` layers with the same number of heads,
# N = {glue:text}`deep_N`, the AR training settings above, {glue:text}`n_seeds` seeds); its
# depth thirds are {glue:text}`deep_bands`. Pruning {glue:text}`deep_k` heads
# ({glue:text}`prune_pct:.0f` %) on held-out data, the table compares layer bands, |IG|, signed
# IG and greedy pruning (mean ± sd over seeds), and by the same rule:
# {glue:md}`deep_best_en:myst`. Training these models took {glue:text}`band_train_seconds:.0f` s
# (on the first run) and evaluating them {glue:text}`band_seconds:.0f` s. The `full` profile's
# model has 6 layers × 8 heads, whose thirds hold two layers each, so it needs no extra model.

# %%
patterns = T.patterns
glue_pair("patterns", words.pattern_lines(patterns))
glue_pair("pattern_verdict", words.pattern_verdict(patterns))
roles = ("harmful", "useful")
fig, axes = plt.subplots(2, 3, figsize=(MAX_WIDTH_IN, 5.2))
for j, o in enumerate(MEMBERS):
    for i, role in enumerate(roles):
        h, amap = T.maps[(o, role)]
        ax = axes[i, j]
        sns.heatmap(amap[:32, :32], ax=ax, cmap="viridis", vmin=0, square=True, cbar=False)
        ax.set_title(
            f"{NAMES[o]} L{h // n_heads}H{h % n_heads} · {'IG max' if role == 'harmful' else 'IG min'}",
            fontsize=9,
        )
        ax.set(xlabel="键 · key" if i else "", ylabel="查询 · query" if j == 0 else "")
        ax.set_xticks([])
        ax.set_yticks([])
fig.tight_layout()
glue_figure("fig_patterns", fig)
show(
    patterns.assign(
        head=[f"L{r.layer}H{r.head_in_layer}" for r in patterns.itertuples()],
        to_adjacent=patterns["to_previous"] + patterns["to_next"],  # what the pattern rule reads
    )[
        [
            "model",
            "role",
            "head",
            "ig",
            "to_adjacent",
            "to_self",
            "to_first",
            "mean_distance",
        ]
    ],
    ["model", "role"],
)

# %% [markdown] tags=["lang-zh"]
# ## 最“有害”与最“有用”的注意力头在看什么
#
# ```{glue:figure} fig_patterns
# :alt: 两行三列共六张注意力热图，上行是 AR、LLaDA、Dream 中 IG 最大的头，下行是 IG 最负的头；每张图的行是查询位置、列是键位置，颜色越亮注意力越大。
# :name: fig-attr-patterns-zh
#
# 第一个种子中 IG 最大（上排）与 IG 最负（下排）的注意力头在代码窗口上的平均注意力图（前 32 个位置；
# 行为查询、列为键）。扩散模型的输入是评估时实际使用的带掩码窗口。
# ```
#
# ```{glue:md} patterns_zh
# :format: myst
# ```
#
# {glue:md}`pattern_verdict_zh:myst` 这只是第一个种子中的两个头，属于描述而非检验。

# %% [markdown] tags=["lang-en"]
# ## What the most "harmful" and most "useful" heads attend to
#
# ```{glue:figure} fig_patterns
# :alt: Six attention heat maps in two rows and three columns; the top row shows the head with the largest IG in AR, LLaDA and Dream, the bottom row the head with the most negative IG; rows of each map are query positions, columns key positions, brighter for more attention.
# :name: fig-attr-patterns-en
#
# Mean attention maps, over the code windows, of the head with the largest IG (top row) and
# the most negative IG (bottom row) in the first seed (first 32 positions; rows are queries,
# columns keys). The diffusion models see the masked windows the loss is evaluated on.
# ```
#
# ```{glue:md} patterns_en
# :format: myst
# ```
#
# {glue:md}`pattern_verdict_en:myst` These are two heads of the first seed: a description, not a
# test.

# %% tags=["remove-cell"]
rel = across_seeds(ver[["model", "strategy", "seed", "rel_delta_loss"]], ["model", "strategy"])
rel = rel[rel["strategy"] == "random_mean"].set_index("model")
for o in MEMBERS:
    glue_value(f"{o}_rand", float(rel.loc[o, "rel_delta_loss"]))
    glue_value(f"{o}_rand_sd", float(rel.loc[o, "rel_delta_loss_sd"]))

# %% [markdown] tags=["lang-zh"]
# ## 自回归与掩码扩散的比较
#
# 两类模型的损失不能直接比较（AR 为精确的负对数似然，扩散模型为其变分上界），因此只比较相对变化。
# 随机剪掉 {glue:text}`prune_pct:.0f`% 的注意力头后，留出集损失的平均相对变化（种子均值 ± 标准差）为：
# AR {glue:text}`ar_rand:+.2%` ± {glue:text}`ar_rand_sd:.2%`，LLaDA {glue:text}`llada_rand:+.2%` ±
# {glue:text}`llada_rand_sd:.2%`，Dream {glue:text}`dream_rand:+.2%` ± {glue:text}`dream_rand_sd:.2%`。

# %% [markdown] tags=["lang-en"]
# ## Autoregressive vs masked diffusion
#
# The losses of the two model families are not comparable (an exact NLL for AR, a variational
# bound for the diffusion models), so we compare only relative changes. Pruning a random
# {glue:text}`prune_pct:.0f` % of the heads changes the held-out loss by, on average (mean ± sd
# over seeds), {glue:text}`ar_rand:+.2%` ± {glue:text}`ar_rand_sd:.2%` for AR,
# {glue:text}`llada_rand:+.2%` ± {glue:text}`llada_rand_sd:.2%` for LLaDA and
# {glue:text}`dream_rand:+.2%` ± {glue:text}`dream_rand_sd:.2%` for Dream.

# %%
extra = [("band_model_training", band_train_seconds), ("band_model", band_seconds)]
timing_all = pd.concat([T.timing, pd.DataFrame([{"stage": k, "seconds": v} for k, v in extra])])
glue_pair("time", words.time_lines(timing_all, train_seconds))
glue_value("train_seconds", train_seconds)
glue_value("analysis_seconds", float(timing_all["seconds"].sum() - band_train_seconds))
timing = timing_all.groupby("stage", sort=False)["seconds"].sum().reset_index()
timing["stage"] = timing["stage"].map(
    lambda k: f"{words.STAGES_ZH.get(k, k)} · {words.STAGES_EN.get(k, k)}"
)
show(timing, ["stage"], digits=2)

# %% [markdown] tags=["lang-zh"]
# ## 时间花在哪里
#
# 训练三类模型（首次运行时；之后从缓存读取）用时 {glue:text}`train_seconds:.0f` 秒，更深的分层模型另用
# {glue:text}`band_train_seconds:.0f` 秒；分析（含更深模型的评估）用时 {glue:text}`analysis_seconds:.0f` 秒。
# 耗时最多的几项：{glue:md}`time_zh:myst`。各项成本都与损失行数成正比（扩散模型每个窗口
# {glue:text}`noise_draws` 行），这决定了本章的窗口数与种子数。

# %% [markdown] tags=["lang-en"]
# ## Where the time goes
#
# Training the three families (on the first run; later runs read the cache) took
# {glue:text}`train_seconds:.0f` s, the deeper band models another
# {glue:text}`band_train_seconds:.0f` s, and the analysis (the deeper models' evaluation
# included) {glue:text}`analysis_seconds:.0f` s. The largest items: {glue:md}`time_en:myst`.
# Every cost is proportional to the number of loss rows ({glue:text}`noise_draws` per window for
# the diffusion models), which is what sets this chapter's window and seed counts.

# %% tags=["remove-cell"]
n = settings.n_seeds
frac_t, mean_t = sign_result["most_positive"]["table"], sign_result["mean_positive"]["table"]


def span(table, fmt):
    return "; ".join(
        f"{NAMES[o]} {format(table.loc[o, 'ci_low'], fmt)} – {format(table.loc[o, 'ci_high'], fmt)}"
        for o in ("llada", "dream")
        if o in table.index
    )


within_ok = [iv.low >= 0.4 for iv in within.values()]
within_no = [iv.high < 0.4 for iv in within.values()]
record_claims(
    "attribution",
    [
        Claim(
            note=5,
            key="note5.most_positive",
            claim_zh="在掩码扩散模型（Dream、LLaDA）中，多数注意力头的 IG 为正。",
            claim_en="In the masked-diffusion models (Dream, LLaDA) most heads have IG > 0.",
            outcome=sign_result["most_positive"]["outcome"],
            evidence_zh=f"IG > 0 的头所占比例，{n} 个种子的均值 95% 置信区间：{span(frac_t, '.0%')}",
            evidence_en=f"fraction of heads with IG > 0, 95% CI of the mean of {n} seeds: "
            f"{span(frac_t, '.0%')}",
            section="attribution-sign",
        ),
        Claim(
            note=5,
            key="note5.mean_positive",
            claim_zh="在掩码扩散模型中，平均归因为正，且这“完全合理”。",
            claim_en="In the masked-diffusion models the mean attribution is positive, and this is "
            "“completely reasonable”.",
            outcome=sign_result["mean_positive"]["outcome"],
            evidence_zh=f"平均 IG 的 95% 置信区间（{n} 个种子）：{span(mean_t, '+.4f')}",
            evidence_en=f"95% CI of the mean IG ({n} seeds): {span(mean_t, '+.4f')}",
            section="attribution-sign",
        ),
        Claim(
            note=5,
            key="note5.positive_is_harmful",
            claim_zh="IG > 0 的注意力头是有害或冗余的：移除它们会降低损失。",
            claim_en="Heads with IG > 0 are harmful or redundant: removing them lowers the loss.",
            outcome=harm["outcome"],
            evidence_zh="; ".join(
                f"{NAMES[o]} 移除全部 IG > 0 的头后 ΔL 的 95% 置信区间 {iv.low:+.4f} 至 {iv.high:+.4f}"
                for o, iv in harm["per_model"].items()
            )
            or "没有模型有 IG > 0 的头",
            evidence_en="; ".join(
                f"{NAMES[o]}: ΔL removing every IG > 0 head, 95% CI {iv.low:+.4f} to {iv.high:+.4f}"
                for o, iv in harm["per_model"].items()
            )
            or "no model has heads with IG > 0",
            section="attribution-sign",
        ),
        Claim(
            note=5,
            key="note5.abs_ig_recommended",
            claim_zh="按 |IG| 升序剪枝（策略 1）是推荐的策略。",
            claim_en="Pruning by |IG| ascending (strategy 1) is the recommended strategy.",
            outcome=strategy["outcome"],
            evidence_zh=f"剪掉 {int(ver['k'].iloc[0])} 个头时，在 {strategy['n']} 组（模型 × 笔记中的其他策略）"
            f"配对比较中，abs_ig 的损失明显更低 {strategy['better']} 组、明显更高 {strategy['worse']} 组"
            f"（{n} 个种子的 t 区间）",
            evidence_en=f"pruning {int(ver['k'].iloc[0])} heads, abs_ig has a lower loss beyond noise "
            f"in {strategy['better']} and a higher one in {strategy['worse']} of "
            f"{strategy['n']} paired comparisons (model × the note's other strategies; t "
            f"intervals over {n} seeds)",
            section="attribution-prune",
        ),
        Claim(
            note=5,
            key="note5.prune_40_60",
            claim_zh="40–60% 的注意力头可以剪掉而损失几乎不变。",
            claim_en="40–60% of the heads can be removed with almost no loss.",
            outcome="supported"
            if all(within_ok)
            else "contradicted"
            if any(within_no)
            else "undetermined",
            evidence_zh="按 |IG| 剪枝、损失增幅不超过 1% 时能剪掉的最大比例，95% 置信区间："
            + "；".join(
                f"{NAMES[o]} {max(iv.low, 0):.0%} 至 {min(iv.high, 1):.0%}"
                for o, iv in within.items()
            ),
            evidence_en="largest fraction pruned by |IG| within a 1% loss increase, 95% CI: "
            + "; ".join(
                f"{NAMES[o]} {max(iv.low, 0):.0%} to {min(iv.high, 1):.0%}"
                for o, iv in within.items()
            ),
            section="attribution-prune",
        ),
    ],
)

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - **符号问题。** {glue:md}`sign_verdict_zh:myst`
# - **与其他分数的一致性。** IG 与 −LOO 的秩相关（种子均值）介于 {glue:text}`rho_loo_min:.2f` 与
#   {glue:text}`rho_loo_max:.2f` 之间；精确 Shapley 的比较：{glue:md}`exact_zh:myst`
# - **掩码噪声。** {glue:md}`noise_zh:myst`
# - **剪枝策略。** 剪掉 {glue:text}`prune_pct:.0f`% 的注意力头时，{glue:md}`best_zh:myst`。{glue:md}`readings_zh:myst`
# - **注意力模式。** {glue:md}`pattern_verdict_zh:myst`
# - **自回归与掩码扩散。** 随机剪掉 {glue:text}`prune_pct:.0f`% 的注意力头后，留出集损失的平均相对变化为
#   AR {glue:text}`ar_rand:+.2%`、LLaDA {glue:text}`llada_rand:+.2%`、Dream {glue:text}`dream_rand:+.2%`。
# - 以上均基于每类 {glue:text}`n_seeds` 个训练种子、{glue:text}`n_windows` 个归因窗口的小模型；
#   种子少使跨种子的区间较宽，许多结论因此只能判为“无法判定”。

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - **The sign question.** {glue:md}`sign_verdict_en:myst`
# - **Agreement with the other scores.** The seed-mean rank correlation of IG with −LOO ranges
#   from {glue:text}`rho_loo_min:.2f` to {glue:text}`rho_loo_max:.2f`; against exact Shapley:
#   {glue:md}`exact_en:myst`
# - **Masking noise.** {glue:md}`noise_en:myst`
# - **Pruning strategies.** When {glue:text}`prune_pct:.0f` % of the heads are pruned,
#   {glue:md}`best_en:myst`. {glue:md}`readings_en:myst`
# - **Attention patterns.** {glue:md}`pattern_verdict_en:myst`
# - **Autoregressive vs masked diffusion.** Pruning a random {glue:text}`prune_pct:.0f` % of
#   the heads changes the held-out loss by, on average, {glue:text}`ar_rand:+.2%` for AR,
#   {glue:text}`llada_rand:+.2%` for LLaDA and {glue:text}`dream_rand:+.2%` for Dream.
# - All of this rests on small models with {glue:text}`n_seeds` training seeds per family and
#   {glue:text}`n_windows` attribution windows; with few seeds the intervals across seeds are
#   wide, and many verdicts can only be "undetermined".

# %% [markdown] tags=["lang-zh"]
# ## 试一试
#
# ```bash
# ptlab run attribution -p n_seeds=5                      # 更多种子，跨种子的区间更窄
# ptlab run attribution -p noise_draws=8 -p n_windows=32  # 更多噪声分层与窗口
# ptlab run attribution -p exact_bytes=64                 # 精确 Shapley 用完整窗口（每个模型约 10 分钟）
# ptlab run attribution --profile full                    # 6 层 × 8 头的模型（GPU）
# ```

# %% [markdown] tags=["lang-en"]
# ## Try
#
# ```bash
# ptlab run attribution -p n_seeds=5                      # more seeds, narrower seed intervals
# ptlab run attribution -p noise_draws=8 -p n_windows=32  # more noise strata and windows
# ptlab run attribution -p exact_bytes=64                 # exact Shapley on full windows (~10 min a model)
# ptlab run attribution --profile full                    # the 6-layer x 8-head model (GPU)
# ```
