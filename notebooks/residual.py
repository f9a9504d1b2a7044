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
#     seconds: {smoke: 60, quick: 1309}  # fresh-clone quick book, 2-core CPU (2026-12-05)
#     depends: []
#     profiles:
#       smoke: {}
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
#
# 实验分两层。**筛选**把每个变体各训练少数几个种子，按事先写定的规则选出入围变体；**确认实验**只训练
# 基线与入围变体，训练更长，种子数由筛选实验自己的配对标准差做功效计算得到。笔记三的每条结论都用三个词之一
# 判定——**支持**、**否定**或**无法判定**——并给出区间；无法判定时还给出本次规模能检测到的最小效应。
# 代码：`ptlab.models.residual`（模型）、`ptlab.residual`（研究本身：各层实验、逐运行测量、配对比较与判定）。

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
#
# The experiment has two tiers. A **screen** trains every variant with a few seeds and picks
# finalists by a rule written down in advance; a **confirmation** trains only the baseline and
# the finalists, for longer, with as many seeds as a power calculation on the screen's own
# paired sd asks for. Each claim of Note 3 ends in one of three words, **supported**,
# **contradicted** or **undetermined**, with its interval; an undetermined verdict also gives
# the smallest effect this run could have detected. Code: `ptlab.models.residual` (the
# models), `ptlab.residual` (the study: tiers, per-run measurements, paired comparisons,
# verdicts).

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full (ptlab.profiles, section residual)
results_dir = "results"
variants = "all"  # the screen: comma-separated names from ptlab.models.RESIDUALS, or "all"
# None keeps the profile's value (ptlab.profiles.RESIDUAL_STUDY and the residual section)
screen_seeds: int | None = None  # seeds per variant in the screen
confirm_steps: int | None = None  # training steps of the confirmation
confirm_seeds: int | None = None  # the cap on the confirmation's seeds
target: float | None = None  # the smallest detectable effect aimed for (nats/byte)
depth_layers: int | None = None  # the depth check's layers (0 skips it)

# %% tags=["remove-cell"]
import numpy as np
import pandas as pd
from IPython.display import display

from ptlab import residual as res
from ptlab.book.claims import Claim, record_claims
from ptlab.book.glue import glue_pair, glue_text, glue_value, save_table
from ptlab.book.plotting import glue_figure, setup_figures
from ptlab.display import fmt_number, for_reader, interval
from ptlab.models import RESIDUALS, residual_extra_params, residual_trainable_params
from ptlab.profiles import profile_configs
from ptlab.residual import plots, tiers
from ptlab.sweep.store import curves_frame

setup_figures()
settings = res.ResidualSettings.from_profile(
    profile,
    screen_seeds=screen_seeds,
    confirm_steps=confirm_steps,
    confirm_seeds=confirm_seeds,
    target=target,
    depth_layers=depth_layers,
)
where = res.Where(profile, results_dir)
model_cfg, train_cfg = profile_configs(profile, study="residual")
names = list(RESIDUALS) if variants == "all" else [v.strip() for v in variants.split(",")]

# %% [markdown] tags=["lang-zh"]
# ## 变体与两种读法
#
# 笔记的几处说法有两种读法，本章的选择如下（每一处都在 `ptlab.models.residual` 中写明并有测试）：
#
# - **V1 在第 1 层**：$\sum_{i<1}$ 为空、$1/(m-1)$ 无定义。按字面读，词嵌入在第 1 层之后就离开了残差流；
#   另一种读法（名字带 `_embed`）把词嵌入当作第 0 个来源。两种都训练。
# - **V2-M3 的来源**：笔记说第 $m$ 层的权重覆盖“0 至 $m$ 层”，这是从 0 开始编号的层：
#   第 $m$ 层的 softmax 权重分布在第 $1,\dots,m$ 层的 MLP 输出上，词嵌入不是来源；
#   权重以 0 初始化，因此开始时等于 V2-M1 的均值，而不是基线。
# - **V3 的残差**：笔记说把 MLP 处的残差“改为”先前各层重算输出的累加。本章的 V3 保留残差 $y_m$、
#   再加上这个累加；按“替换”读（与 V1 相同，$u_{m+1} = f_m + \sum_{i<m}\hat f_i(u_m)$）作为另一个变体
#   `v3_m1_r` 一并训练。
#
# 每个模型 {glue:text}`n_layers` 层、宽度 {glue:text}`d_model`、上下文 {glue:text}`seq_len` 字节，
# 每步 {glue:text}`batch` 个窗口。

# %% [markdown] tags=["lang-en"]
# ## The variants and two readings
#
# Some of the note's wording reads two ways; the chapter's choices (each stated and tested in
# `ptlab.models.residual`):
#
# - **V1 at layer 1**: $\sum_{i<1}$ is empty and $1/(m-1)$ is undefined. Read literally, the
#   embedding leaves the residual stream after layer 1; the other reading (names ending in
#   `_embed`) makes the embedding source 0. Both are trained.
# - **V2-M3's sources**: the note gives layer $m$ weights over "layers 0 to $m$", counted from
#   0: layer $m$'s softmax weights spread over the MLP outputs of layers $1,\dots,m$ and the
#   embedding is not a source; the weights start at 0, so the variant starts as V2-M1's mean,
#   not as the baseline.
# - **V3's residual**: the note "changes" the MLP-site residual to the sum of the recomputed
#   earlier outputs. The chapter's V3 keeps the residual $y_m$ and adds that sum; the
#   "replace" reading (as in V1, $u_{m+1} = f_m + \sum_{i<m}\hat f_i(u_m)$) is trained as a
#   variant of its own, `v3_m1_r`.
#
# Every model has {glue:text}`n_layers` layers, width {glue:text}`d_model` and a
# {glue:text}`seq_len`-byte context, with {glue:text}`batch` windows a step.

# %% tags=["remove-cell"]
glue_value("n_layers", model_cfg.n_layers)
glue_value("d_model", model_cfg.d_model)
glue_value("seq_len", model_cfg.seq_len)
glue_value("batch", train_cfg.batch_size)

# %% [markdown] tags=["lang-zh"]
# ## 筛选：全部变体
#
# 筛选实验训练全部 {glue:text}`n_variants` 个变体（含基线），每个 {glue:text}`screen_seeds` 个种子，
# {glue:text}`screen_steps` 步，学习率 {glue:text}`screen_lr`。所有变体与基线使用相同的种子、批次顺序与步数，
# 因此按种子配对：Δ 为变体与基线在同一种子上的验证损失之差（奈特/字节）。图中横线为 95% 区间（t 分布，
# 自由度 = 种子数 − 1）。只有两个种子时区间很宽，筛选只用来挑选入围变体，不用来下结论。
# {glue:text}`n_diverged` 次运行发散。完整表格：{download}`screen.csv <../generated/data/residual/screen.csv>`。
#
# ```{glue:figure} fig_screen
# :name: fig-res-screen-zh
# :alt: 筛选实验中每个变体相对基线的验证损失差及其 95% 区间，按版本着色
#
# 筛选实验：每个变体相对基线的配对差 Δ 验证损失与 95% 区间（颜色为所属版本；超出坐标轴的用箭头标出数值）。
# ```

# %% [markdown] tags=["lang-en"]
# ## The screen: every variant
#
# The screen trains all {glue:text}`n_variants` variants (the baseline included) with
# {glue:text}`screen_seeds` seeds each, for {glue:text}`screen_steps` steps at learning rate
# {glue:text}`screen_lr`. Every variant shares the baseline's seeds, batch order and steps, so
# runs pair by seed: Δ is the difference in validation loss (nats per byte) from the baseline
# on the same seed. The bars are 95 % intervals (t, seeds − 1 degrees of freedom). With two
# seeds they are wide: the screen only picks the finalists and decides nothing by itself.
# {glue:text}`n_diverged` runs diverged. The full table:
# {download}`screen.csv <../generated/data/residual/screen.csv>`.
#
# ```{glue:figure} fig_screen
# :name: fig-res-screen-en
# :alt: Every variant's difference in validation loss from the baseline in the screen, with 95 % intervals, coloured by family
#
# The screen: each variant's paired Δ eval/loss against the baseline with its 95 % interval
# (colour: family; values beyond the axis are written at its edge).
# ```

# %% tags=["remove-cell"]
screen_runs, screen_records = res.screen(where, settings, names)
screen = res.variant_table(screen_runs)
save_table(screen, "residual", "screen")
glue_value("n_variants", len(screen))
glue_value("screen_seeds", settings.screen_seeds)
glue_value("screen_steps", train_cfg.steps)
glue_value("screen_lr", f"{train_cfg.lr:g}")
glue_value("n_diverged", int(screen["diverged"].sum()))
glue_figure("fig_screen", plots.screen_figure(screen))

# %% [markdown] tags=["lang-zh"]
# ## 入围变体与功效计算
#
# **规则**（写在 `ptlab.residual.tiers` 中）：基线，加上每一族（V1 两种读法合为一族、V2、V3、
# V4 实验 1、V4 实验 2、已发表的参照）中筛选 Δ 最低的一个。本次的入围变体为 {glue:md}`finalists_md`。
#
# 功效计算用筛选实验自己的噪声：入围变体与基线的配对差的标准差，在入围变体间合并后为
# {glue:text}`pooled_sd:.3f`（自由度 {glue:text}`pooled_dof`）。要以 80% 的功效（双侧 5%）检测
# {glue:text}`target:.2f` 奈特/字节的差异，需要 {glue:text}`seeds_needed` 个种子；本配置档的上限为
# {glue:text}`seeds_cap`，因此确认实验用 {glue:text}`seeds_used` 个种子，按同样的噪声可检测的最小效应为
# {glue:text}`detectable_used:.3f`（筛选实验的两个种子只能检测到 {glue:text}`detectable_screen:.2f`）。

# %% [markdown] tags=["lang-en"]
# ## Finalists and the power calculation
#
# **The rule** (written in `ptlab.residual.tiers`): the baseline, and in each family (V1 in
# both readings, V2, V3, V4 experiment 1, V4 experiment 2, the published relatives) the
# variant with the lowest screen Δ. This run's finalists: {glue:md}`finalists_md`.
#
# The power calculation uses the screen's own noise: the sd of the paired differences between
# each finalist and the baseline, pooled over the finalists, is {glue:text}`pooled_sd:.3f`
# ({glue:text}`pooled_dof` degrees of freedom). To detect a difference of
# {glue:text}`target:.2f` nats per byte with 80 % power (two-sided 5 %) takes
# {glue:text}`seeds_needed` seeds; this profile's cap is {glue:text}`seeds_cap`, so the
# confirmation uses {glue:text}`seeds_used`, whose smallest detectable effect at that noise is
# {glue:text}`detectable_used:.3f` (the screen's two seeds detect {glue:text}`detectable_screen:.2f`).

# %% tags=["remove-cell"]
chosen = res.finalists(screen)
pw = res.power(screen_runs, chosen, settings)
glue_text("finalists_md", ", ".join(f"`{v}`" for v in chosen[1:]))
glue_value("pooled_sd", pw["sd"])
glue_value("pooled_dof", pw["dof"])
glue_value("target", pw["target"])
glue_value("seeds_needed", pw["seeds_needed"])
glue_value("seeds_cap", settings.confirm_seeds)
glue_value("seeds_used", pw["seeds_used"])
glue_value("detectable_used", pw["detectable_at_used"])
glue_value("detectable_screen", pw["detectable_at_screen"])

# %% [markdown] tags=["lang-zh"]
# ## 学习率
#
# 带额外参数的变体在较高的学习率下可能不稳定：两个种子之间的差异明显大于基线（筛选的学习率为
# {glue:text}`screen_lr`）。因此把基线与入围变体在 {glue:text}`lr_rates` 下各训练 {glue:text}`lr_seeds` 个种子（长度同筛选）。
# 下表给出平均验证损失与“种子惩罚”（变体两个种子之差减去基线两个种子之差）。确认实验对所有变体只用一个学习率，
# 只按基线选：基线损失最低的学习率是 {glue:text}`lr_chosen`。{glue:md}`penalty_md` 各学习率下的平均验证损失：

# %% [markdown] tags=["lang-en"]
# ## Learning rate
#
# Variants with extra parameters may be unstable at a high rate: their two seeds then differ
# far more than the baseline's (the screen's rate is {glue:text}`screen_lr`). So the baseline and the
# finalists are also trained at {glue:text}`lr_rates`, {glue:text}`lr_seeds` seeds each (the
# screen's length). The table gives the mean validation loss and the "seed penalty" (a
# variant's spread between its seeds minus the baseline's). The confirmation uses one rate for
# every variant, chosen on the baseline alone: the baseline's loss is lowest at
# {glue:text}`lr_chosen`. {glue:md}`penalty_en` The mean validation loss at each rate:

# %%
screen_lr = train_cfg.lr
by_lr = pd.concat(
    [
        screen_runs[screen_runs["residual"].isin(chosen)].assign(lr=screen_lr),
        res.lr_check(where, settings, chosen, screen_lr),
    ],
    ignore_index=True,
)
lr_conf = res.choose_lr(by_lr)
lrt = tiers.lr_table(by_lr)
save_table(lrt, "residual", "learning_rate")
shown = lrt.pivot(index="variant", columns="lr", values="loss").reindex(chosen)
shown.columns = [f"lr {c:g}" for c in shown.columns]
for_reader(shown.reset_index(), ["variant"], res.LABELS)

# %% tags=["remove-cell"]
pen = lrt[lrt["variant"] != "baseline"].groupby("lr")["seed_penalty"].median()
glue_value("lr_rates", ", ".join(f"{r:g}" for r in settings.lr_rates))
glue_value("lr_seeds", settings.lr_seeds)
glue_value("lr_chosen", f"{lr_conf:g}")
# the seed penalty (seed 1 − seed 0, minus the baseline's) against the screen's paired seed sd:
# a median beyond it at some rate is the instability the screen showed; within it, noise
noisy = [r for r in pen.index if abs(pen[r]) > pw["sd"]]
listed_zh = "、".join(f"{r:g}：{fmt_number(pen[r])}" for r in pen.index)
listed_en = ", ".join(f"{r:g}: {fmt_number(pen[r])}" for r in pen.index)
glue_text(
    "penalty_md",
    f"入围变体种子惩罚（种子 1 减种子 0，再减去基线的同一差值）的中位数依学习率为 {listed_zh}；"
    + (
        f"全部在筛选的配对标准差 ±{fmt_number(pw['sd'])} 之内，任何学习率下都看不出超出噪声的种子惩罚。"
        if not noisy
        else f"学习率 {'、'.join(f'{r:g}' for r in noisy)} 下超出筛选的配对标准差 "
        f"±{fmt_number(pw['sd'])}，那里的种子惩罚超出噪声。"
    ),
)
glue_text(
    "penalty_en",
    f"The finalists' median seed penalty (seed 1 − seed 0, less the baseline's) by rate is "
    f"{listed_en}; "
    + (
        f"all lie within the screen's paired seed sd, ±{fmt_number(pw['sd'])}: no rate shows a "
        "penalty beyond noise."
        if not noisy
        else f"at rate {', '.join(f'{r:g}' for r in noisy)} it exceeds the screen's paired seed "
        f"sd, ±{fmt_number(pw['sd'])}: a penalty beyond noise."
    ),
)

# %% [markdown] tags=["lang-zh"]
# ## 确认实验
#
# {glue:md}`confirm_set_zh`各训练 {glue:text}`seeds_used` 个种子、{glue:text}`confirm_steps` 步（筛选的
# {glue:text}`confirm_factor:.0f` 倍），学习率 {glue:text}`lr_chosen`，验证集为
# {glue:text}`val_bytes:,` 字节。{glue:md}`slope_zh`左图为各入围变体的配对 Δ 与 95% 区间，灰带为可检测的最小效应
# ±{glue:text}`detectable_confirm:.3f`（由确认实验自己的配对标准差算出）。
# 完整表格：{download}`confirmation.csv <../generated/data/residual/confirmation.csv>`。
#
# ```{glue:figure} fig_confirm
# :name: fig-res-confirm-zh
# :alt: 左：入围变体相对基线的验证损失差与区间；右：基线各种子的验证损失曲线
#
# 确认实验。左：入围变体的配对 Δ 与 95% 区间（灰带：可检测的最小效应）；右：基线各种子的验证损失曲线。
# ```

# %% [markdown] tags=["lang-en"]
# ## The confirmation
#
# {glue:md}`confirm_set_en` train with {glue:text}`seeds_used` seeds for
# {glue:text}`confirm_steps` steps ({glue:text}`confirm_factor:.0f` times the screen) at rate
# {glue:text}`lr_chosen`, and are evaluated on {glue:text}`val_bytes:,` bytes of validation
# data; {glue:md}`slope_en` The left panel shows each finalist's paired Δ with its 95 % interval; the grey
# band is the smallest detectable effect, ±{glue:text}`detectable_confirm:.3f`, from the
# confirmation's own paired sd. The full table:
# {download}`confirmation.csv <../generated/data/residual/confirmation.csv>`.
#
# ```{glue:figure} fig_confirm
# :name: fig-res-confirm-en
# :alt: Left, the finalists' differences in validation loss from the baseline with intervals; right, the baseline's validation loss curves
#
# The confirmation. Left: the finalists' paired Δ with 95 % intervals (grey: the smallest
# detectable effect). Right: the baseline's validation loss over training, one line per seed.
# ```

# %% tags=["remove-cell"]
confirm_set = res.confirmation_variants(chosen, settings)
confirm_runs, confirm_records = res.confirm(where, settings, confirm_set, lr_conf, pw["seeds_used"])
if settings.confirm_claims:
    glue_pair(
        "confirm_set",
        (
            f"基线、入围变体以及笔记三各条结论点名的全部变体（共 {len(confirm_set)} 个）",
            f"The baseline, the finalists and every variant a claim of Note 3 names "
            f"({len(confirm_set)} in all)",
        ),
    )
    glue_pair(
        "tier_rule",
        (
            "本配置档的确认实验训练了每条结论点名的全部变体。",
            "In this profile the confirmation trains every variant a claim names.",
        ),
    )
else:
    glue_pair("confirm_set", ("基线与入围变体", "The baseline and the finalists"))
    glue_pair(
        "tier_rule",
        (
            "本配置档的确认实验只训练入围变体（时间预算所限）；点名其他变体的结论只能由两个种子的筛选判定，"
            "因此多为无法判定。full 配置档在确认实验中训练所有被点名的变体。",
            "In this profile the confirmation trains only the finalists (the time budget); a "
            "claim that names other variants is decided on the two-seed screen and so is mostly "
            "undetermined. The full profile trains every named variant in the confirmation.",
        ),
    )
confirmed = res.variant_table(confirm_runs)
save_table(confirmed, "residual", "confirmation")
curves = curves_frame(confirm_records)
confirm_pw = res.pooled_paired_sd(confirm_runs, chosen[1:])
detect_c = float(
    np.nanmedian(
        [c.detectable for c in res.compare(confirm_runs, [(v, "baseline") for v in chosen[1:]])]
    )
)
glue_value("confirm_steps", settings.confirm_steps)
glue_value("confirm_factor", settings.confirm_steps / train_cfg.steps)
glue_value(
    "val_bytes", settings.confirm_eval_batches * train_cfg.eval_batch_size * model_cfg.seq_len
)
slope, slope_from = tiers.final_slope(curves)
zh_, en_ = res.slope_sentence(slope, slope_from, settings.confirm_steps, settings.margin)
glue_text("slope_zh", zh_)
glue_text("slope_en", en_)
glue_value("detectable_confirm", detect_c)
glue_figure("fig_confirm", plots.confirmation_figure(confirmed, curves, detect_c))

# %% [markdown] tags=["lang-zh"]
# 下表为确认实验的数字（区间为 95% t 区间）：

# %% [markdown] tags=["lang-en"]
# The confirmation's numbers (95 % t intervals):

# %%
res.show(confirmed)

# %% [markdown] tags=["lang-zh"]
# ## 学到的跨层权重
#
# 学习率之和太小时，连接权重几乎不动，“可学习权重”与固定的 $1/m$ 也就无从区分。下图为确认实验中带可学习
# 连接的入围变体的权重（种子平均；行为目标层，列为来源），{glue:md}`moved_zh`
#
# ```{glue:figure} fig_weights
# :name: fig-res-weights-zh
# :alt: 确认实验中学到的跨层连接权重热图
#
# 确认实验中学到的跨层权重（种子平均；行为目标层，列为来源）。
# ```

# %% [markdown] tags=["lang-en"]
# ## The learned cross-layer weights
#
# With too little summed learning rate the connection weights barely move, and "learned
# weights" cannot be told from a fixed $1/m$. The figure shows the weights of the finalists
# with learned connections in the confirmation (mean over seeds; rows are target layers,
# columns sources); {glue:md}`moved_en`
#
# ```{glue:figure} fig_weights
# :name: fig-res-weights-en
# :alt: Heat maps of the cross-layer weights learned in the confirmation
#
# Cross-layer weights learned in the confirmation (mean over seeds; rows: target layer,
# columns: source).
# ```

# %% tags=["remove-cell"]
learned = {v: res.connection_matrix(confirm_records, v) for v in chosen}
learned = {v: m for v, m in learned.items() if m.size}
moved = {v: tiers.weights_movement(confirm_records, v, profile) for v in learned}
if moved:
    glue_figure("fig_weights", plots.connection_heatmaps(learned))
    parts_zh = "，".join(f"`{v}` 离初值最远 {fmt_number(m)}" for v, m in moved.items())
    parts_en = ", ".join(
        f"`{v}` moved at most {fmt_number(m)} from its start" for v, m in moved.items()
    )
    glue_text("moved_zh", f"其中{parts_zh}。")
    glue_text("moved_en", f"of these, {parts_en}.")
else:
    glue_figure("fig_weights", plots.connection_heatmaps({}))
    glue_text("moved_zh", "本次的入围变体都没有可学习的跨层连接。")
    glue_text("moved_en", "none of this run's finalists has learned cross-layer connections.")

# %% [markdown] tags=["lang-zh"]
# ## 公平性：同等计算量的基线
#
# V3 重算前面各层，每个 token 的训练计算量更大；MUDDFormer 的参数量几乎不变，但训练更慢。同样的步数对它们更有利。
# 因此再按确认实验的设置训练基线，步数乘以 V3 入围变体的 FLOPs 比（闭式计算）或 MUDD 在筛选中的训练时间比，
# 与相应变体配对比较（区间为 95% t 区间）：

# %% [markdown] tags=["lang-en"]
# ## Fairness: baselines with the same compute
#
# V3 recomputes the earlier layers and spends more training FLOPs per token; MUDDFormer adds
# almost no parameters but trains more slowly. The same number of steps favours them. So the
# baseline is trained again with the confirmation's settings for the steps times the V3
# finalist's FLOPs ratio (closed form) or MUDD's training-time ratio in the screen, and
# compared with that variant, paired by seed (95 % t intervals):

# %%
fair_steps = res.fairness_steps(where, settings, chosen, screen)
fair_runs = res.fairness(where, settings, fair_steps, lr_conf, pw["seeds_used"])
fair = tiers.fairness_table(confirm_runs, fair_runs) if len(fair_runs) else pd.DataFrame()
if len(fair):
    save_table(fair, "residual", "fairness")
    display(
        for_reader(
            res.with_interval(fair.assign(matched=fair["matched"].map(res.matched_label))).rename(
                columns={
                    "delta_same_steps": "Δ（同等步数）· Δ same steps",
                    "steps": "基线步数 · baseline steps",
                }
            ),
            ["variant", "matched"],
            res.LABELS,
        )
    )

# %% [markdown] tags=["lang-zh"]
# ## 深度：筛选的层数与更深
#
# 已发表的收益多出现在 16 层以上；RealFormer 在 4 层时几乎没有收益。下表在 {glue:text}`depth_layers` 层上
# 重训基线与确认实验中 Δ 最低的两个入围变体（长度、学习率与种子数同筛选），与筛选中的 {glue:text}`n_layers` 层结果并列：

# %% [markdown] tags=["lang-en"]
# ## Depth: the screen's layers and deeper
#
# The published gains mostly appear at 16 layers or more, and RealFormer gains almost nothing
# at 4. The table retrains the baseline and the two finalists with the lowest confirmation Δ at
# {glue:text}`depth_layers` layers (the screen's length, rate and seeds) beside their
# {glue:text}`n_layers`-layer screen results:

# %%
best = confirmed[confirmed["variant"] != "baseline"].nsmallest(2, "delta_loss")["variant"].tolist()
depth_runs = res.depth(where, settings, best)
glue_value("depth_layers", settings.depth_layers)
if len(depth_runs):
    deep = res.variant_table(depth_runs).set_index("variant")
    shallow = screen.set_index("variant")
    rows = []
    for v in best:
        rows.append(
            {
                "variant": v,
                f"Δ, {model_cfg.n_layers} layers": shallow.loc[v, "delta_loss"],
                f"interval, {model_cfg.n_layers}": interval(
                    shallow.loc[v, "ci_low"], shallow.loc[v, "ci_high"]
                ),
                f"Δ, {settings.depth_layers} layers": deep.loc[v, "delta_loss"],
                f"interval, {settings.depth_layers}": interval(
                    deep.loc[v, "ci_low"], deep.loc[v, "ci_high"]
                ),
            }
        )
    depth_table = pd.DataFrame(rows)
    save_table(depth_table, "residual", "depth")
    display(for_reader(depth_table, ["variant"], res.LABELS))

# %% [markdown] tags=["lang-zh"]
# ## 代价：推理时间与参数
#
# 所有变体都用显式 softmax 注意力（V3、V4 需要注意力概率与 logit），仅此一项就使推理前向为融合注意力基线的
# {glue:text}`explicit_ratio:.2f` 倍；因此“更慢”与同一进程中交替计时的显式注意力基线相比，并以慢 10% 以上为界。
# 1A 为每对层注册 $T\times T$ 的矩阵，共 {glue:text}`a1_params:,` 个参数，但因果掩码只让下三角
# （且不含位置 (0, 0)）得到梯度，真正可训练的为 {glue:text}`a1_trainable:,` 个
# （基线共 {glue:text}`base_params:,` 个参数）。

# %% [markdown] tags=["lang-en"]
# ## Cost: eval time and parameters
#
# Every variant uses explicit softmax attention (V3 and V4 need the attention probabilities
# and logits), which by itself makes the eval forward pass {glue:text}`explicit_ratio:.2f`
# times the fused-attention baseline's; so "slower" is measured against the explicit-attention
# baseline timed in the same process, with a margin of 10 %. 1A registers a $T\times T$
# matrix for every pair of layers, {glue:text}`a1_params:,` parameters, but the causal mask
# lets only the lower triangle (without position (0, 0)) receive a gradient, so
# {glue:text}`a1_trainable:,` of them can train (the baseline has {glue:text}`base_params:,`
# parameters in all).

# %% tags=["remove-cell"]
a1 = model_cfg.replace(**{s: True for s in model_cfg.switches}, residual="v4_m1a")
glue_value("explicit_ratio", float(screen["explicit_time_ratio"].median()))
glue_value("a1_params", residual_extra_params(a1))
glue_value("a1_trainable", residual_trainable_params(a1))
glue_value("base_params", int(screen.set_index("variant").loc["baseline", "n_params"]))

# %% [markdown] tags=["lang-zh"]
# (residual-claims-zh)=
# ## 笔记三的结论
#
# 每条结论是一组配对比较，方向都由笔记给定；组内用 Holm 法控制多重比较，区间取 Bonferroni 水平
# （$1-0.05/k$，$k$ 为组内比较数）。区间整体落在笔记所说的一侧为**支持**，落在另一侧为**否定**，
# 跨过零为**无法判定**，并给出可检测的最小效应；“影响不大”以 ±{glue:text}`margin:.2f` 奈特/字节为界，
# “更慢”以比显式注意力基线慢 10% 为界。每条结论用训练了其全部变体的最深一层实验判定（确认实验优先）。
# {glue:md}`tier_rule_zh`
# 完整比较表：{download}`comparisons.csv <../generated/data/residual/comparisons.csv>`。
#
# ```{glue:md} claim_lines_zh
# :format: myst
# ```
#
# **实验 3**（笔记未下结论，这里报告测量结果，不计入判定）：{glue:md}`exp3_zh`

# %% [markdown] tags=["lang-en"]
# (residual-claims-en)=
# ## Note 3's claims
#
# Each claim is a family of paired comparisons whose direction the note gives; within a family
# Holm's method controls the multiple comparisons and the intervals are at the Bonferroni level
# ($1-0.05/k$ for $k$ comparisons). An interval wholly on the note's side is **supported**, on
# the other side **contradicted**, and one that straddles zero **undetermined**, with the
# smallest effect that could have been detected; "hardly matters" means within
# ±{glue:text}`margin:.2f` nats per byte and "slower" more than 10 % slower than the
# explicit-attention baseline. Each claim is decided on the most thorough tier that trained all
# its variants (the confirmation first). {glue:md}`tier_rule_en` Every comparison:
# {download}`comparisons.csv <../generated/data/residual/comparisons.csv>`.
#
# ```{glue:md} claim_lines_en
# :format: myst
# ```
#
# **Experiment 3** (the note leaves it open; reported as measured, not scored): {glue:md}`exp3_en`

# %% tags=["remove-cell"]
decisions = res.decide_all(
    {"confirmation": confirm_runs, "screen": screen_runs}, settings.margin, settings.slower_margin
)
table_claims = res.claims_table(decisions)
save_table(res.comparisons_table(decisions), "residual", "comparisons")
zh, en = res.claim_lines(decisions)
glue_text("claim_lines_zh", zh)
glue_text("claim_lines_en", en)
glue_value("margin", settings.margin)
zh, en = res.experiment3_answer(res.experiment3(screen_runs))
glue_text("exp3_zh", zh)
glue_text("exp3_en", en)
zh, en = res.headline(decisions)
glue_text("headline_zh", zh)
glue_text("headline_en", en)
record_claims(
    "residual",
    [
        Claim(
            3,
            f"note3.{r.claim}",
            r.claim_zh,
            r.claim_en,
            r.outcome,
            r.evidence_zh,
            r.evidence_en,
            r.section,
        )
        for r in table_claims.itertuples()
    ],
)
counts = table_claims["outcome"].value_counts()
glue_value("n_claims", len(table_claims))
for o in ("supported", "contradicted", "undetermined"):
    glue_value(f"n_{o}", int(counts.get(o, 0)))

# %% [markdown] tags=["lang-zh"]
# ## 与已发表结果的比较
#
# 论文的收益出现在数亿参数、16 层以上、数十亿 token 的规模（DenseFormer 在网页文本语料 OpenWebText2 与书籍语料 PG-19 上；
# 注意力残差（AttnRes）的 16 层消融中 DenseFormer 没有收益，见 {ref}`Kimi Team, 2026 <ref-kimi-2026-zh>`）。
# 论文的数字各用其原单位：相对损失 Δloss = ln(ppl 变体 / ppl 基线)（每 token）与本章的 Δ（每字节）方向与量级可比；
# RealFormer 报告的是掩码语言模型的准确率（百分点），只并列、不比较。两者并列如下：

# %% [markdown] tags=["lang-en"]
# ## Against the published results
#
# The published gains appear at hundreds of millions of parameters, 16 or more layers and
# billions of tokens (DenseFormer on OpenWebText2, a web-text corpus, and PG-19, a corpus of
# books; in the 16-layer ablation of Attention Residuals (AttnRes)
# DenseFormer gains nothing, see {ref}`Kimi Team, 2026 <ref-kimi-2026-en>`). Each paper's number
# is in its own unit: a relative loss Δloss = ln(ppl variant / ppl baseline) (per token) is
# comparable in sign and size with this chapter's Δ (per byte); RealFormer reports masked-LM
# accuracy (points), set beside ours but not compared. Side by side:

# %%
res.show_published(res.against_published(screen))

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - 笔记三的 {glue:text}`n_claims` 条结论中：支持 {glue:text}`n_supported` 条，否定
#   {glue:text}`n_contradicted` 条，无法判定 {glue:text}`n_undetermined` 条（逐条见上）。
# - 确认实验用 {glue:text}`seeds_used` 个种子、{glue:text}`confirm_steps` 步，可检测的最小效应约为
#   {glue:text}`detectable_confirm:.3f` 奈特/字节；功效计算要求 {glue:text}`seeds_needed` 个种子才能达到
#   {glue:text}`target:.2f`。已发表的收益为 0.02–0.08 奈特，本章的模型只有 {glue:text}`n_layers` 层。
#
# ## 试一试
#
# ```bash
# ptlab run residual -p confirm_seeds=12                      # 功效计算要求的种子数
# ptlab run residual --profile full                            # 8 层，GPU 上
# ptlab sweep residual --design residual --variants v3_m3_2,mudd --seeds 3
# ptlab results residual-confirm --summary                     # 按变体汇总
# ```

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - Of Note 3's {glue:text}`n_claims` claims, {glue:text}`n_supported` are supported,
#   {glue:text}`n_contradicted` contradicted and {glue:text}`n_undetermined` undetermined (one
#   by one above).
# - The confirmation used {glue:text}`seeds_used` seeds and {glue:text}`confirm_steps` steps;
#   its smallest detectable effect is about {glue:text}`detectable_confirm:.3f` nats per byte,
#   and the power calculation asks for {glue:text}`seeds_needed` seeds to reach
#   {glue:text}`target:.2f`. Published gains are 0.02–0.08 nats; these models have
#   {glue:text}`n_layers` layers.
#
# ## Try
#
# ```bash
# ptlab run residual -p confirm_seeds=12                      # the seeds the power calculation asks for
# ptlab run residual --profile full                            # 8 layers, on a GPU
# ptlab sweep residual --design residual --variants v3_m3_2,mudd --seeds 3
# ptlab results residual-confirm --summary                     # grouped by variant
# ```
