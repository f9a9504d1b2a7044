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
#     seconds: {smoke: 40, quick: 1135}  # measured on the 2-core CPU
#     depends: []
#     profiles:
#       smoke: {variants: "v1_m3,v2_m3,v3_m3_2,v4_m1,v4_m4,v4_m1d,v4_c,denseformer,mudd", seeds: 2}
# ---

# %% [markdown] tags=["lang-zh"]
# # 残差连接变体：跨层残差与注意力 logit 累加
#
# **本章回答的问题：** 受 PT 中多组 H 节点、Z 节点更新方式的启发，笔记三提出了四类修改 Transformer
# 残差连接的方法（V1–V4）。在同一 Llama 骨干、同样的种子、数据顺序与训练步数下，
# 这些变体相对基线的验证损失差异有多大？是否超出种子噪声？笔记中的结论有几条在本次运行中成立？
# 与已发表的同类方法（DenseFormer、MUDDFormer）相比又如何？
#
# 记第 $m$ 层的输入为 $u_m$，注意力输出为 $a_m$，MLP 输入为 $y_m$，MLP 输出为 $f_m$，$e=u_1$ 为词嵌入。
# 基线为 pre-norm 的 Llama 块：$y_m = u_m + a_m$，$u_{m+1} = y_m + f_m$。
#
# - **V1**（仿 PT 的多组 H 节点）：把某一位置的残差 $u_m$（或 $y_m$）换成此前各层输出之和，
#   如 M1：$y_m = a_m + \sum_{i<m} a_i$；M3：$u_{m+1} = f_m + \sum_{i<m} f_i$；M2/M4 再除以 $m-1$；
#   M5–M7 为两处组合。
# - **V2**（相关工作）：在残差之外加上此前各层 MLP（M1）或注意力（M2）输出的均值；
#   M3 把 $1/m$ 换成可学习的 softmax 权重。
# - **V3**：保留前面各层的注意力权重 $P_i$ 与 $W_V, W_O$，在当前层的输入上重算它们的注意力（M2、M4）或
#   MLP（M1、M3）输出并求和；x.1 取均值，x.2 取可学习权重。
# - **V4**（仿 PT 的多组 Z 节点）：第 $m$ 层的注意力 logit 为本层及此前各层 $QK^\top$ 之和，
#   实验 1 比较七种缩放，实验 2 在 M1 上加入按位置学习（1A–1C）或由输入预测（1D、1E）的 token 权重，
#   实验 3 只保留 token 权重、不做累加（C、D）。
#
# 作为已发表的参照，另训练 DenseFormer（{ref}`Pagliardini et al., 2024 <ref-pagliardini-2024-zh>`）
# 与 MUDDFormer（{ref}`Xiao et al., 2025 <ref-xiao-2025-zh>`），二者在初始化时与基线完全相同。
# 代码：`ptlab.models.residual`（模型）、`ptlab.residual`（研究本身：设计、逐运行测量、配对比较与结论）。

# %% [markdown] tags=["lang-en"]
# # Residual variants: cross-layer residuals and accumulated attention logits
#
# **The question:** inspired by how PT updates its several groups of H and Z nodes, Note 3
# proposes four families of changes to the transformer's residual connections (V1–V4). With
# the same Llama backbone, seeds, data order and number of steps, how far does each variant's
# validation loss move from the baseline's, and is that beyond seed noise? Which of the note's
# conclusions hold in this run, and how do the variants compare with their published relatives,
# DenseFormer and MUDDFormer?
#
# Write $u_m$ for the input of layer $m$, $a_m$ for its attention output, $y_m$ for its MLP
# input, $f_m$ for its MLP output, and $e = u_1$ for the embedding. The baseline is the
# pre-norm Llama block: $y_m = u_m + a_m$, $u_{m+1} = y_m + f_m$.
#
# - **V1** (after PT's groups of H nodes) replaces the residual at a site by the sum of the
#   earlier layers' outputs, e.g. M1: $y_m = a_m + \sum_{i<m} a_i$; M3:
#   $u_{m+1} = f_m + \sum_{i<m} f_i$; M2/M4 divide by $m-1$; M5–M7 combine the two sites.
# - **V2** (related work) adds the mean of the MLP (M1) or attention (M2) outputs so far to
#   the residual; M3 replaces $1/m$ by learned softmax weights.
# - **V3** keeps the earlier layers' attention weights $P_i$ and $W_V, W_O$, recomputes their
#   attention (M2, M4) or MLP (M1, M3) outputs on the current layer's input and sums them; x.1
#   averages, x.2 learns the weights.
# - **V4** (after PT's groups of Z nodes) makes layer $m$'s attention logits the sum of this
#   and all earlier layers' $QK^\top$: experiment 1 compares seven scalings, experiment 2 adds
#   token weights to M1, learned per position (1A–1C) or predicted from the input (1D, 1E), and
#   experiment 3 keeps the token weights without the accumulation (C, D).
#
# As published references we also train DenseFormer
# ({ref}`Pagliardini et al., 2024 <ref-pagliardini-2024-en>`) and MUDDFormer
# ({ref}`Xiao et al., 2025 <ref-xiao-2025-en>`); both equal the baseline at initialisation.
# Code: `ptlab.models.residual` (the models), `ptlab.residual` (the study: design, per-run measurements, paired comparisons
# and verdicts).

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles: sizes, depth and steps of the study)
study = "residual"
results_dir = "results"
variants = "all"  # comma-separated names from ptlab.models.RESIDUALS, or "all"
seeds = 2  # training seeds per variant; every comparison is paired by seed

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
import numpy as np
from myst_nb import glue

from ptlab import residual as res
from ptlab.book.glue import glue_text, glue_value, save_table
from ptlab.book.plotting import setup_figures
from ptlab.models import RESIDUALS
from ptlab.profiles import profile_configs
from ptlab.residual import plots
from ptlab.sweep import run_study
from ptlab.sweep.store import curves_frame

setup_figures()

# %% [markdown] tags=["lang-zh"]
# ## 训练
#
# 每个变体与基线使用相同的 {glue:text}`n_seeds` 个种子、相同的批次顺序与相同的步数，
# 因此可以按种子配对比较。本次运行训练了 {glue:text}`n_variants` 个变体（含基线），每个模型
# {glue:text}`n_layers` 层、宽度 {glue:text}`d_model`、上下文 {glue:text}`seq_len` 字节，
# 训练 {glue:text}`steps` 步，每步 {glue:text}`batch` 个窗口。跨层连接需要一定深度，但研究简报第一档
# 建议的 6 层放不进 quick 配置档的时间预算（所有变体各训练两个种子，2 核 CPU），因此 quick 取 4 层。

# %% [markdown] tags=["lang-en"]
# ## Training
#
# Every variant is trained with the same {glue:text}`n_seeds` seeds as the baseline, the same
# batch order and the same number of steps, so comparisons are paired by seed. This run trains
# {glue:text}`n_variants` variants (the baseline included), each with {glue:text}`n_layers`
# layers, width {glue:text}`d_model` and a {glue:text}`seq_len`-byte context, for
# {glue:text}`steps` steps of {glue:text}`batch` windows. Cross-layer connections need some
# depth, but the six layers of the research brief's first tier do not fit the quick profile's
# time budget (every variant, two seeds, a 2-core CPU), so quick uses four.

# %%
names = list(RESIDUALS) if variants == "all" else [v.strip() for v in variants.split(",")]
model_cfg, train_cfg = profile_configs(profile, study="residual")
runs, records = run_study(
    study,
    res.design(names),
    seeds=seeds,
    profile=profile,
    results_dir=results_dir,
    section="residual",
    measure=res.MEASURE,
)
table = res.variant_table(runs)
curves = curves_frame(records)
save_table(table, "residual", "variants")
base = table.set_index("variant").loc["baseline"]
glue_value("n_seeds", seeds)
glue_value("n_variants", len(table))
glue_value("n_layers", model_cfg.n_layers)
glue_value("d_model", model_cfg.d_model)
glue_value("seq_len", model_cfg.seq_len)
glue_value("steps", train_cfg.steps)
glue_value("batch", train_cfg.batch_size)
glue_value("n_bytes", train_cfg.steps * train_cfg.batch_size * model_cfg.seq_len)
glue_value("base_loss", base["eval_loss"])
glue_value("base_sd", base["eval_loss_sd"])
glue_value("n_better", int((table["ci_high"] < 0).sum()))
glue_value("n_worse", int((table["ci_low"] > 0).sum()))
glue_text(
    "worse_list", ", ".join(f"`{v}`" for v in table.loc[table["ci_low"] > 0, "variant"]) or "—"
)
glue_text(
    "better_list", ", ".join(f"`{v}`" for v in table.loc[table["ci_high"] < 0, "variant"]) or "—"
)
glue_value("n_diverged", int(table["diverged"].sum()))
glue_value("explicit_ratio", table["explicit_time_ratio"].median())
res.show(table)

# %% [markdown] tags=["lang-zh"]
# ## 全部变体
#
# 上表列出每个变体的平均验证损失（nats/字节）、相对基线的配对差 Δ 及其 95% 置信区间（t 分布，
# 自由度 = 种子数 − 1）、困惑度变化、参数量、每 token 训练 FLOPs，以及训练步时与推理前向时间相对基线的比值
# （推理时间在同一进程中与基线交替测量）。基线使用 PyTorch 的融合注意力；所有变体都用显式 softmax 注意力，
# 仅此一项就使推理时间变为基线的 {glue:text}`explicit_ratio:.2f` 倍（中位数），比值中超出这一部分的才是变体本身的开销。
# 基线的验证损失为 {glue:text}`base_loss:.4f`
# （种子间标准差 {glue:text}`base_sd:.4f`）。{glue:text}`n_better` 个变体的区间整体低于 0（优于基线），
# {glue:text}`n_worse` 个整体高于 0（劣于基线），其余与基线的差异在噪声之内；
# {glue:text}`n_diverged` 次运行发散。劣于基线的变体：{glue:md}`worse_list`；优于基线的变体：{glue:md}`better_list`。
# 训练步时比是在扫描进程中、在机器当时的负载下测得的，只能作粗略参考；受控的计时见 `bench/residual_cost.py`（README 的“性能”一节）。
# 完整表格可下载：{download}`variants.csv <../generated/data/residual/variants.csv>`。

# %% [markdown] tags=["lang-en"]
# ## Every variant
#
# The table above gives each variant's mean validation loss (nats per byte), the paired difference Δ
# from the baseline with its 95 % confidence interval (t distribution, seeds − 1 degrees of
# freedom), the change in perplexity, parameters, training FLOPs per token, and the training
# step time and eval forward time relative to the baseline (the eval time is measured in the
# same process, alternating with a baseline). The baseline uses PyTorch's fused attention; every
# variant uses explicit softmax attention, which by itself makes the eval forward pass
# {glue:text}`explicit_ratio:.2f` times the baseline's (median), so only the part of a ratio
# beyond that is the variant's own cost. The baseline's validation loss is
# {glue:text}`base_loss:.4f` (seed sd {glue:text}`base_sd:.4f`). For {glue:text}`n_better`
# variants the whole interval lies below 0 (better than the baseline), for
# {glue:text}`n_worse` it lies above 0 (worse), and the rest are within noise of the baseline;
# {glue:text}`n_diverged` runs diverged. Worse than the baseline: {glue:md}`worse_list`; better:
# {glue:md}`better_list`. The training step-time ratios are measured inside the sweep, under
# whatever load the machine had, and are only a rough guide; controlled timings are in
# `bench/residual_cost.py` (README, "Performance"). The full table can be downloaded:
# {download}`variants.csv <../generated/data/residual/variants.csv>`.

# %% tags=["remove-cell"]
titles = {
    "V1": "V1：跨层求和 · cross-layer sums",
    "V2": "V2：均值与可学习权重 · means, learned weights",
    "V3": "V3：重算前层 · recomputed earlier layers",
    "V4": "V4：logit 累加 · accumulated logits",
    "relatives": "已发表的参照 · published relatives",
}
for version, members in res.VERSIONS.items():
    if set(members) & set(table["variant"]):
        fig = plots.residual_version(table, curves, members, titles[version])
        glue(f"fig_{version}", fig, display=False)
        plt.close(fig)
    else:
        glue(f"fig_{version}", plt.figure(figsize=(1, 1)), display=False)
        plt.close("all")

# %% [markdown] tags=["lang-zh"]
# ## 各版本
#
# 每张图左侧为验证损失曲线（种子均值，阴影为种子间的最小–最大范围），右侧为相对基线的配对差 Δ 及 95% 置信区间。
#
# ```{glue:figure} fig_V1
# :name: fig-res-v1-zh
#
# V1：用此前各层输出之和替换注意力处（M1、M2）、MLP 处（M3、M4）或两处（M5–M7）的残差；
# `_embed` 为把词嵌入当作第 0 个来源的另一种读法。
# ```
#
# ```{glue:figure} fig_V2
# :name: fig-res-v2-zh
#
# V2：在残差之外加上此前 MLP 输出（M1）或注意力输出（M2）的均值，M3 为可学习的 softmax 权重。
# ```
#
# ```{glue:figure} fig_V3
# :name: fig-res-v3-zh
#
# V3：用前面各层保留的注意力权重在当前输入上重算 MLP 输出（M1、M3.x）或注意力输出（M2、M4.x）。
# ```
#
# ```{glue:figure} fig_V4
# :name: fig-res-v4-zh
#
# V4：注意力 logit 跨层累加。M1–M7 为七种缩放，1A–1E 为 M1 上的 token 权重，C、D 为不累加、只加 token 权重。
# ```
#
# ```{glue:figure} fig_relatives
# :name: fig-res-rel-zh
#
# 已发表的参照：DenseFormer（静态深度加权平均）与 MUDDFormer（动态、多路稠密连接）。
# ```

# %% [markdown] tags=["lang-en"]
# ## Version by version
#
# In each figure the left panel shows the validation-loss curves (mean over seeds; the band is
# the range over seeds) and the right panel the paired Δ from the baseline with its 95 % CI.
#
# ```{glue:figure} fig_V1
# :name: fig-res-v1-en
#
# V1: the residual at the attention site (M1, M2), the MLP site (M3, M4) or both (M5–M7) is
# replaced by the sum of the earlier layers' outputs; `_embed` is the other reading, with the
# embedding as source 0.
# ```
#
# ```{glue:figure} fig_V2
# :name: fig-res-v2-en
#
# V2: the mean of the MLP outputs (M1) or attention outputs (M2) so far is added to the
# residual; M3 learns softmax weights instead.
# ```
#
# ```{glue:figure} fig_V3
# :name: fig-res-v3-en
#
# V3: the earlier layers' kept attention weights recompute their MLP outputs (M1, M3.x) or
# attention outputs (M2, M4.x) on the current input.
# ```
#
# ```{glue:figure} fig_V4
# :name: fig-res-v4-en
#
# V4: attention logits accumulated across layers. M1–M7 are the seven scalings, 1A–1E add token
# weights to M1, and C, D keep the token weights without the accumulation.
# ```
#
# ```{glue:figure} fig_relatives
# :name: fig-res-rel-en
#
# Published relatives: DenseFormer (static depth-weighted averages) and MUDDFormer (dynamic,
# multiway dense connections).
# ```

# %% tags=["remove-cell"]
learned = {
    name: res.connection_matrix(records, name)
    for name in ("v2_m3", "v3_m3_2", "v3_m4_2", "denseformer")
}
fig = plots.connection_heatmaps(learned)
glue("fig_weights", fig, display=False)
plt.close(fig)
scalings = {
    name: res.connection_matrix(records, name) for name in ("v4_m4", "v4_m5", "v4_m6", "v4_m7")
}
fig = plots.connection_heatmaps(scalings)
glue("fig_scalings", fig, display=False)
plt.close(fig)
w = learned["denseformer"]
glue_value("dense_diag", float(np.nanmean(np.diag(w[:, 1:]))) if w.size else float("nan"))
glue_value("dense_embed", float(np.nanmean(w[:, 0])) if w.size else float("nan"))

# %% [markdown] tags=["lang-zh"]
# ## 学到的跨层权重
#
# ```{glue:figure} fig_weights
# :name: fig-res-weights-zh
#
# 学到的跨层权重（种子平均；行为目标层，列为来源）：V2-M3 与 V3-M3.2/M4.2 的 softmax 权重，
# DenseFormer 的深度加权系数（第 0 列为词嵌入）。
# ```
#
# DenseFormer 的权重以单位矩阵初始化；训练后对角线（本层输出）的平均权重为
# {glue:text}`dense_diag:.2f`，词嵌入的平均权重为 {glue:text}`dense_embed:.2f`。
#
# ```{glue:figure} fig_scalings
# :name: fig-res-scalings-zh
#
# V4 实验 1 中学到的有效缩放 $s_{m,i}$（行为层 $m$，列为来源层 $i$）。
# ```

# %% [markdown] tags=["lang-en"]
# ## The learned cross-layer weights
#
# ```{glue:figure} fig_weights
# :name: fig-res-weights-en
#
# Learned cross-layer weights (mean over seeds; rows are target layers, columns sources): the
# softmax weights of V2-M3 and V3-M3.2/M4.2, and DenseFormer's depth weights (column 0 is the
# embedding).
# ```
#
# DenseFormer's weights start as the identity; after training the mean weight on the diagonal
# (the layer's own output) is {glue:text}`dense_diag:.2f` and the mean weight on the embedding
# is {glue:text}`dense_embed:.2f`.
#
# ```{glue:figure} fig_scalings
# :name: fig-res-scalings-en
#
# The effective scalings $s_{m,i}$ learned in V4 experiment 1 (rows: layer $m$, columns:
# source layer $i$).
# ```

# %% tags=["remove-cell"]
claims = res.claims(table)
for row in claims.itertuples():
    glue_text(f"claim_{row.claim}_zh", f"**{row.claim_zh}**：{row.verdict_zh}。{row.evidence_zh}。")
    glue_text(f"claim_{row.claim}_en", f"**{row.claim_en}**: {row.verdict_en}. {row.evidence_en}.")
n_supported = int((claims["verdict"] == "supported").sum())
n_claims_run = int((claims["verdict"] != "not run").sum())
glue_value("n_supported", n_supported)
glue_value("n_claims_run", n_claims_run)
n_better, n_var = int((table["ci_high"] < 0).sum()), len(table) - 1
glue_text(
    "headline_zh",
    f"{n_var} 个变体中有 {n_better} 个的验证损失在 95% 置信水平上低于基线；"
    f"笔记中可检验的 {n_claims_run} 条结论有 {n_supported} 条得到支持。",
)
glue_text(
    "headline_en",
    f"{n_better} of {n_var} variants have a validation loss below the "
    f"baseline's at 95 % confidence; {n_supported} of the note's {n_claims_run} checkable "
    "conclusions are supported.",
)

# %% [markdown] tags=["lang-zh"]
# ## 笔记中的结论
#
# 每条结论的判断都由本次数据计算得出：“优于 / 劣于基线”要求 95% 置信区间不含 0；
# “除以 m−1 影响不大”指 M1 与 M2、M3 与 M4 的 Δ 之差都小于 V1 中最大 |Δ| 的四分之一。
# 在实际运行的 {glue:text}`n_claims_run` 条结论中，{glue:text}`n_supported` 条得到支持。
#
# - {glue:md}`claim_v2_zh`
# - {glue:md}`claim_v1_zh`
# - {glue:md}`claim_v3_zh`
# - {glue:md}`claim_v4_scaling_zh`
# - {glue:md}`claim_v4_tokens_zh`
# - {glue:md}`claim_v4_modules_zh`

# %% [markdown] tags=["lang-en"]
# ## The note's conclusions
#
# Each verdict is computed from this run's numbers: "better / worse than the baseline" needs a
# 95 % confidence interval that excludes 0; "dividing by m−1 hardly matters" means that the Δ of
# M1 and M2, and of M3 and M4, differ by less than a quarter of the largest |Δ| in V1. Of the {glue:text}`n_claims_run` conclusions that
# this run can check, {glue:text}`n_supported` are supported.
#
# - {glue:md}`claim_v2_en`
# - {glue:md}`claim_v1_en`
# - {glue:md}`claim_v3_en`
# - {glue:md}`claim_v4_scaling_en`
# - {glue:md}`claim_v4_tokens_en`
# - {glue:md}`claim_v4_modules_en`

# %% [markdown] tags=["lang-zh"]
# ## 与已发表结果的比较
#
# 下表把本次运行中 DenseFormer、MUDDFormer 与 V4-M1（即 RealFormer 的累加）相对基线的 Δ
# 与论文报告的相对变化（Δloss = ln(ppl 变体 / ppl 基线)）放在一起。论文的收益出现在数亿参数、
# 16 层以上、数十亿 token 的规模；RealFormer 在 4 层时几乎没有收益，AttnRes 的 16 层消融中 DenseFormer
# 也没有收益。本章的模型只有 {glue:text}`n_layers` 层、训练 {glue:text}`n_bytes:,` 字节，因此预期的差异与种子噪声同一量级。
# 两者对照如下：

# %% [markdown] tags=["lang-en"]
# ## Against the published results
#
# The table puts this run's Δ for DenseFormer, MUDDFormer and V4-M1 (RealFormer's running sum)
# beside the relative changes the papers report (Δloss = ln(ppl variant / ppl baseline)). The
# published gains appear at hundreds of millions of parameters, 16 or more layers and billions
# of tokens; RealFormer gains almost nothing at 4 layers, and DenseFormer gains nothing in the
# 16-layer AttnRes ablation. The models here have {glue:text}`n_layers` layers and see
# {glue:text}`n_bytes:,` bytes, so the expected differences are of the order of the seed noise.
# The two side by side:

# %%
res.show_published(res.against_published(table))

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - 在 {glue:text}`n_layers` 层、{glue:text}`steps` 步、每个变体 {glue:text}`n_seeds` 个种子的规模上，
#   {glue:text}`n_better` 个变体显著优于基线，{glue:text}`n_worse` 个显著劣于基线，其余在种子噪声之内。
# - 笔记中可检验的 {glue:text}`n_claims_run` 条结论中有 {glue:text}`n_supported` 条得到支持（逐条见上）。
# - 种子只有两个时 t 区间很宽：要分辨 0.01 nats 量级的差异，需要更多种子与更深的模型（`full` 配置档）。
#
# ## 试一试
#
# ```bash
# ptlab run residual -p variants=v2_m3,v4_m1,denseformer -p seeds=5   # 少数变体、更多种子
# ptlab run residual --profile full                                    # 8 层，GPU 上
# ptlab sweep residual --design residual --variants v3_m3_2,mudd --seeds 3
# ```

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - At {glue:text}`n_layers` layers, {glue:text}`steps` steps and {glue:text}`n_seeds` seeds
#   per variant, {glue:text}`n_better` variants are better than the baseline beyond noise,
#   {glue:text}`n_worse` are worse, and the rest are within seed noise.
# - Of the {glue:text}`n_claims_run` conclusions of the note that this run can check,
#   {glue:text}`n_supported` are supported (one by one above).
# - With two seeds the t intervals are wide: differences of the order of 0.01 nats need more
#   seeds and deeper models (the `full` profile).
#
# ## Try
#
# ```bash
# ptlab run residual -p variants=v2_m3,v4_m1,denseformer -p seeds=5   # a few variants, more seeds
# ptlab run residual --profile full                                    # 8 layers, on a GPU
# ptlab sweep residual --design residual --variants v3_m3_2,mudd --seeds 3
# ```
