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
#     seconds: {smoke: 25, quick: 760}  # measured on the 2-core CPU
#     depends: []
#     profiles:
#       smoke: {}
# ---

# %% [markdown] tags=["lang-zh"]
# # 权重稀疏 Transformer 与任务电路
#
# **本章回答的问题：** 在相同的预训练损失下，权重稀疏训练的模型完成一个简单任务所需的电路，
# 是否比稠密模型小得多（论文报告约 16 倍）？这些电路经得起充分性、必要性与对照实验的检验吗？
# 在字节级、只在 CPU 上训练几分钟的小模型上，这一结论还剩下多少？
#
# 笔记四（见[研究笔记](notes.md)）概述了 Gao 等人（{ref}`2025 <ref-gao-2025-zh>`）的工作：
# 训练时在每一步优化之后把每个权重矩阵投影到其幅值最大的 k 个元素上（稀疏训练，weight-sparse
# training），使每个神经元只与少数通道相连；然后针对手工设计的二分类下一词元任务，学习节点掩码
# 并做剪枝（pruning），得到达到目标任务损失的最小电路（circuit），以电路中的边（edge）数衡量可解释性。
# 论文的结论有三条：在匹配的预训练损失下，稀疏模型的电路约小 16 倍；降低 L0（更稀疏）以能力换取可解释性，
# 两者构成一条前沿；在固定 L0 下加宽模型能把这条前沿整体推向更好的方向。
# 本章在本机上端到端复现这一流程：稀疏训练与稠密基线、Python 代码上的对比任务、均值消融
# （mean ablation）下的节点掩码剪枝与二分搜索、统一口径的边数统计，以及验证与对照实验。

# %% [markdown] tags=["lang-en"]
# # Weight-sparse transformers and task circuits
#
# **The question:** at the same pretraining loss, is the circuit that a weight-sparse model
# needs for a simple task much smaller than a dense model's (the paper reports about 16×)?
# Do these circuits pass the sufficiency, necessity and control checks? And how much of the
# claim survives in small byte-level models trained for minutes on a CPU?
#
# Note 4 (see [the research notes](notes.md)) summarises Gao et al.
# ({ref}`2025 <ref-gao-2025-en>`). After every optimizer step, each weight matrix is projected
# onto its k largest-magnitude entries (weight-sparse training), so each neuron connects to
# only a few channels. For hand-made binary next-token tasks, learned node masks then prune
# the model to the smallest circuit that reaches a target task loss, and the circuit's number
# of edges measures interpretability. The paper makes three claims: at matched pretraining
# loss, sparse models' circuits are about 16× smaller; lowering L0 (sparser weights) trades
# capability for interpretability along a frontier; and widening the model at fixed L0 moves
# that frontier the right way. This chapter runs the whole procedure on this machine: sparse
# training and dense baselines, contrast tasks on Python code, node-mask pruning under mean
# ablation with a bisection on the circuit size, one edge-counting convention for both kinds
# of model, and validation and controls.

# %% tags=["parameters"]
profile = "quick"  # smoke, quick or full (ptlab.profiles, section circuits)
results_dir = "results"  # trained models are cached in RESULTS_DIR/circuits
seed = 0
# 0 or empty keeps the value from the profile (quick: all six tasks, target 0.15 nats)
tasks = ""  # comma-separated task names
target = 0.0  # target task loss of a circuit
prune_steps = 0  # mask-learning steps
k_coef = 0.0  # weight of the node-count penalty
threads = 1  # torch threads (the models are small: one thread is the fastest here)

# %% tags=["remove-cell"]
import time
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from myst_nb import glue

from ptlab.book.glue import glue_text, glue_value, save_table
from ptlab.book.plotting import setup_figures
from ptlab.circuits import CircuitsSpec, run, show, train_family
from ptlab.circuits import verdicts as vd
from ptlab.circuits.edges import constant_nodes
from ptlab.circuits.plots import draw_circuit, frontier
from ptlab.circuits.sparse import ANNEAL_END, DENSE_UNTIL, FLOOR
from ptlab.circuits.study import means_for, nodes_table

setup_figures()
torch.set_num_threads(threads)
t_start = time.time()

# %%
spec = CircuitsSpec.from_profile(
    profile,
    tasks=tuple(t for t in tasks.split(",") if t) or None,
    target=target or None,
    prune_steps=prune_steps or None,
    k_coef=k_coef or None,
)
family = train_family(spec, seed, Path(results_dir) / "circuits")
T = run(spec, family)
t_total = time.time() - t_start
M = T.models
dense, sparse = M[M["kind"] == "dense"], M[M["kind"] == "sparse"]
glue_text("dense_widths", ", ".join(str(d) for d in dense["d_model"]))
glue_text(
    "sparse_models",
    ", ".join(f"d = {r.d_model}, L0 = {r.l0_fraction:g}" for r in sparse.itertuples()),
)
glue_value("n_layers", spec.model.n_layers)
glue_value("seq_len", spec.model.seq_len)
glue_value("steps", spec.train.steps)
glue_value("batch", spec.train.batch_size)
glue_value("mtokens", spec.train.steps * spec.train.batch_size * spec.model.seq_len / 1e6)
glue_value("mix_pct", 100 * spec.mix_fraction / (1 + spec.mix_fraction))
glue_value("afrac", spec.model.afrac)
glue_value("lr", spec.train.lr)
glue_value("base_width", spec.base_width)
glue_value("eps", spec.train.adam_eps)
glue_value("wd", spec.train.weight_decay)
glue_value("floor", FLOOR)
glue_value("anneal_from", 100 * DENSE_UNTIL)
glue_value("anneal_to", 100 * ANNEAL_END)
glue_value("ef", float(sparse["d_model"].max() / spec.base_width) if len(sparse) else 1.0)
glue_value("minutes", t_total / 60)
glue_text("nz_dense", f"{dense['nonzero_params'].min():,}–{dense['nonzero_params'].max():,}")
glue_text("nz_sparse", f"{sparse['nonzero_params'].min():,}–{sparse['nonzero_params'].max():,}")
save_table(M, "circuits", "models")
show(M, ["model"])

# %% [markdown] tags=["lang-zh"]
# ## 设置：训练了什么
#
# 所有模型都是 {glue:text}`n_layers` 层的 GPT-2 式解码器（RMSNorm、每头 16 维、MLP 宽度 4d、
# 注意力汇、稠密的二元组表），上下文 {glue:text}`seq_len` 字节，用论文的优化器设置训练
# {glue:text}`steps` 步、每步 {glue:text}`batch` 个窗口（约 {glue:text}`mtokens:.1f` M 字节）：
# Adam（ε = {glue:text}`eps`）作用于 RMS 归一化后的梯度、权重衰减 {glue:text}`wd`、短暂预热后线性衰减到 0、
# 基础学习率
# {glue:text}`lr`，稀疏模型再乘以 √(L0 目标 / L0(t))。稠密基线的宽度为 {glue:text}`dense_widths`；
# 稀疏模型为 {glue:text}`sparse_models`：每一步之后把每个隐藏矩阵投影到其幅值最大的 L0 比例的元素上，
# 每个神经元至少保留 {glue:text}`floor` 个权重，Adam 状态保持稠密（允许重新长回），
# L0 在训练的 {glue:text}`anneal_from:.0f`%–{glue:text}`anneal_to:.0f`% 之间从稠密线性退火到目标；
# 嵌入矩阵与偏置的 L0 为 min(1, EF·L0)，EF = d / {glue:text}`base_width`。上表列出各模型的非零参数
# （各权重矩阵含嵌入的非零元素数）与预训练损失（标准库验证集，nats/字节）；训练好的权重缓存在
# `results/circuits`，`ptlab circuits --out DIR` 把每个模型的 `state_dict` 写到 `DIR/weights`，
# 可以据此重新数出非零参数。本表可下载：{download}`models.csv <../generated/data/circuits/models.csv>`。
#
# 尺寸的选择：稀疏模型的宽度是基准宽度的 {glue:text}`ef:.0f` 倍（EF），使各 L0 下的非零参数
# （{glue:text}`nz_sparse`）落在稠密模型的范围（{glue:text}`nz_dense`）之内，预训练损失也与稠密模型相互交错，
# 从而可以在匹配的损失下比较；层数、上下文长度和步数是在 2 核 CPU 上让整章在 20 分钟内完成、
# 同时又让模型学会一部分任务的折中（更短的训练下几乎没有任务被解决，标定见 README）。
#
# 与论文相比，这一规模上做了三处改动（每处都写在代码的文档字符串中）：
#
# - **训练数据混入任务模板。** 语料是本机 Python 标准库的训练集，再加上由训练模板生成的短文档，
#   约占字节数的 {glue:text}`mix_pct:.0f`%。论文只用自然代码；但几分钟的训练里，
#   标准库中的 `while True:` 之类模式出现得太少，模型学不会任务。预训练损失只在标准库验证集上测量。
# - **位置嵌入。** 论文不用位置嵌入，模型只能从因果掩码中间接获得位置信息；在几分钟的训练里，
#   两层的字节级小模型有了位置嵌入学得明显更快（标定见 README），因此快速配置档加了可学习的绝对位置嵌入
#   （按嵌入的 L0 比例稀疏化），full 配置档与论文一致不加。
# - **激活稀疏。** AbsTopK 的比例为 {glue:text}`afrac`（1 即关闭，论文的扫描中也有这一设置）：
#   在这么小的宽度下只保留 1/4 的通道，最窄的模型每处只剩寥寥几个通道，而且在 CPU 上使训练时间翻倍；
#   full 配置档用论文的 1/4。

# %% [markdown] tags=["lang-en"]
# ## Setup: what was trained
#
# Every model is a {glue:text}`n_layers`-layer GPT-2-style decoder (RMSNorm, heads of 16
# channels, MLP width 4d, an attention sink, a dense bigram table) with a context of
# {glue:text}`seq_len` bytes. Each is trained for {glue:text}`steps` steps of
# {glue:text}`batch` windows (about {glue:text}`mtokens:.1f` M bytes) with the paper's optimiser:
# Adam (ε = {glue:text}`eps`) on RMS-normalised gradients, weight decay {glue:text}`wd`, a short
# warm-up and then linear decay to 0 from a base learning rate of {glue:text}`lr`, times √(L0 target / L0(t)) for the
# sparse models. The dense baselines have widths {glue:text}`dense_widths`; the sparse models
# are {glue:text}`sparse_models`. After every step, each hidden matrix of a sparse model is
# projected onto its largest-magnitude entries (the L0 fraction), every neuron keeps at least
# {glue:text}`floor` weights, and the Adam state stays dense, so zeroed weights can grow back.
# L0 is annealed linearly from dense to the target between {glue:text}`anneal_from:.0f` % and
# {glue:text}`anneal_to:.0f` % of training. The embeddings and biases
# keep the fraction min(1, EF·L0), with EF = d / {glue:text}`base_width`. The table lists
# each model's nonzero parameters (nonzero entries of every weight matrix, embeddings
# included) and its pretraining loss (the stdlib validation split, nats per byte). The trained
# weights are cached in `results/circuits`, and `ptlab circuits --out DIR` writes each model's
# `state_dict` to `DIR/weights`, from which anyone can recount the nonzeros. Download the
# table: {download}`models.csv <../generated/data/circuits/models.csv>`.
#
# Why these sizes: the sparse models are {glue:text}`ef:.0f`× the base width (EF), so that their
# nonzero parameters at each L0 ({glue:text}`nz_sparse`) fall within the dense models' range
# ({glue:text}`nz_dense`) and their pretraining losses interleave with the dense ones, which is
# what a comparison at matched loss needs. The depth, context and step count are the compromise
# that lets the whole chapter finish within 20 minutes on 2 CPU cores while the models still
# learn some of the tasks (with shorter training hardly any task is solved; the calibration is
# in the README).
#
# At this scale the setup departs from the paper in three ways (each is documented where the
# code makes it):
#
# - **Task templates in the training data.** The corpus is the train split of this machine's
#   Python standard library plus short documents generated from the train templates, about
#   {glue:text}`mix_pct:.0f` % of the bytes. The paper trains on natural code only, but in
#   minutes of training the stdlib holds too few `while True:` lines and the like for a model
#   to learn the tasks. The pretraining loss is measured on the stdlib validation split alone.
# - **A position embedding.** The paper uses none, so its models infer positions from the
#   causal mask alone. In minutes of training, small two-layer byte models learned clearly
#   faster with one (the calibration is in the README), so the quick profile adds a learned
#   absolute position embedding (sparsified at the embedding fraction). The full profile
#   follows the paper and has none.
# - **Activation sparsity.** AbsTopK keeps a fraction {glue:text}`afrac` of each location
#   (1 means off, a setting of the paper's own sweep). At these widths keeping 1/4 leaves the
#   narrowest model a handful of channels per location and doubles the training time on the
#   CPU; the full profile uses the paper's 1/4.

# %%
tk_ = T.tasks
glue_text("solved_zh", vd.solved_lines(tk_)[0])
glue_text("solved_en", vd.solved_lines(tk_)[1])
glue_value("solve_threshold", spec.solve_threshold)
glue_value("n_pairs", spec.n_heldout_pairs)
save_table(tk_, "circuits", "tasks")
show(tk_.pivot(index="task", columns="model", values="heldout_task_loss").reset_index(), ["task"])

# %% [markdown] tags=["lang-zh"]
# ## 任务：模型解决了哪些
#
# 每个任务由成对的提示组成：两条提示出自同一次随机填充，只在“原因”处不同，各自停在答案字节之前，
# 且最后一个字节相同（因此仅凭二元组表无法区分）。任务损失是最后一个位置上两个候选答案字节之间的
# 二元交叉熵（nats，随机猜测为 ln 2 ≈ 0.69）。六个任务：`quote`（用开头的引号类型闭合字符串）、
# `bracket`（`]` 之后列表是否仍未闭合：`]` 还是换行）、`set_string`（绑定到 `set()` 的变量接 `.add`，
# 绑定到 `""` 的接 ` +=`）、`while_return`（`while x` 接 `:`，`return x` 接换行）、
# `bracket_brace`（`[` 用 `]` 闭合，`{` 用 `}` 闭合）和 `lambda_def`（`lambda a, b` 接 `:`，
# `def f(a, b` 接 `)`）。标识符随机生成，并加入干扰项（另一种引号的已闭合字符串、已闭合的嵌套列表、
# 另一类型的变量）。留出集使用训练中从未出现的模板与标识符（按哈希划分）。
#
# 上表是完整模型在留出集（每个任务 {glue:text}`n_pairs` 对）上的任务损失；损失低于
# {glue:text}`solve_threshold` 的任务算作“已解决”，只有已解决的任务才做剪枝。
# {glue:md}`solved_zh`

# %% [markdown] tags=["lang-en"]
# ## Tasks: which ones the models solve
#
# A task is made of prompt pairs: both prompts come from one random fill, differ only in the
# cause, end right before their answer byte, and end in the same byte (so the bigram table
# alone cannot tell them apart). The task loss is the two-way cross-entropy between the two
# candidate answer bytes at the last position (nats; chance is ln 2 ≈ 0.69). The six tasks
# are `quote` (close a string with the quote that opened it), `bracket` (is the list still
# open after `]`: `]` or a newline), `set_string` (a variable bound to `set()` continues with
# `.add`, one bound to `""` with ` +=`), `while_return` (`while x` continues with `:`,
# `return x` with a newline), `bracket_brace` (close `[` with `]` and `{` with `}`) and
# `lambda_def` (`lambda a, b` continues with `:`, `def f(a, b` with `)`). Identifiers are
# random, and distractors are added: closed strings of the other quote, closed nested lists,
# a variable of the other type. The held-out split uses templates and identifiers (split by a
# hash) that training never sees.
#
# The table gives each full model's task loss on the held-out split ({glue:text}`n_pairs`
# pairs per task). A task with a loss below {glue:text}`solve_threshold` counts as solved, and
# only solved tasks are pruned. {glue:md}`solved_en`

# %%
circ = T.circuits
save_table(circ, "circuits", "circuits")
glue_value("target_loss", spec.prune.target)
glue_value("prune_steps_used", spec.prune.steps)
glue_value("k_coef_used", spec.prune.k_coef)
glue_value("prune_seeds", spec.prune_seeds)
glue_text("ratio_zh", vd.ratio_lines(T.ratio_summary)[0])
glue_text("ratio_en", vd.ratio_lines(T.ratio_summary)[1])
glue_text("ratio_verdict_zh", vd.ratio_verdict(T.ratio_summary)[0])
glue_text("ratio_verdict_en", vd.ratio_verdict(T.ratio_summary)[1])
glue_text("frontier_zh", vd.frontier_verdict(M, circ)[0])
glue_text("frontier_en", vd.frontier_verdict(M, circ)[1])
pts = circ[(circ["control"] == "none") & (circ["ablation"] == "mean") & circ["reached"]].merge(
    M[["model", "kind", "pretrain_loss"]], on="model"
)
shown = sorted(pts["task"].unique())
fig, axes = plt.subplots(
    1, max(1, len(shown)), figsize=(3.6 * max(1, len(shown)), 3.4), squeeze=False
)
for ax, task in zip(axes[0], shown or ["—"], strict=True):
    frontier(ax, pts[pts["task"] == task], task)
axes[0][0].legend(fontsize=7)
fig.tight_layout()
glue("fig_frontier", fig, display=False)
plt.close(fig)
show(T.ratio_summary, ["model", "task"]) if len(T.ratio_summary) else T.ratio_summary

# %% [markdown] tags=["lang-zh"]
# ## 电路大小：稀疏与稠密
#
# 剪枝在冻结的模型上进行。每个节点（每层 8 个位置上的每个标量通道：注意力输入、q、k、v、注意力输出、
# MLP 输入、MLP 神经元、MLP 输出）有一个参数 τ，前向时掩码为 Heaviside(τ)，反向时用 sigmoid 导数作为
# 替代梯度（直通估计）；被剪掉的节点替换为它在预训练文本上的平均激活（均值消融）。目标函数是任务损失加上
# {glue:text}`k_coef_used` 乘以保留的节点数，训练 {glue:text}`prune_steps_used` 步（论文的搜索中心是约 2000 步、
# 学习率 3e-3、系数 1e-4；这里步数只有十分之一，学习率与系数各放大 10 倍）；之后按 τ 排序，
# 对保留的节点数 k 做二分搜索，找出剪枝集上任务损失 ≤ {glue:text}`target_loss` 的最小 k。
# 二分的上界是学到的掩码本身保留的节点数（它达到目标时）：排在它之后的节点都被惩罚压到了 τ = −1，
# 其先后顺序没有意义，再加入它们未必降低损失。
# 电路大小是保留节点之间的边数：非零权重（q/k/v、输出投影与 MLP 的矩阵）、同一头内成对保留的 q–k 通道，
# 以及同一残差通道上从写入到之后读取的连接。稠密模型按同一口径计数，因此保留节点之间的每个权重都算一条边。
#
# 对每个稀疏模型，在它的预训练损失处对稠密模型的边数做插值（在（损失，log 边数）上线性插值；
# 超出稠密模型的损失范围时取最近的稠密模型，表中“匹配方式”一列注明），再求边数比，
# 每个剪枝种子（共 {glue:text}`prune_seeds` 个）分别计算：
#
# {glue:md}`ratio_zh`
#
# {glue:md}`ratio_verdict_zh`
#
# 论文的另外两条结论（更稀疏的 L0 以能力换可解释性；固定 L0 加宽更好）在本次运行中的情况：
# {glue:md}`frontier_zh`
#
# ```{glue:figure} fig_frontier
# :name: fig-circuits-frontier-zh
#
# 前沿：每个任务的电路边数（对数坐标）与预训练损失。方块为稀疏模型，圆点为稠密模型；
# 浅色点为各剪枝种子，连线为种子间的几何平均。左下方更好：能力更强、电路更小。
# ```

# %% [markdown] tags=["lang-en"]
# ## Circuit size: sparse vs dense
#
# Pruning works on the frozen model. Every node (every scalar channel at the eight locations
# of each layer: attention input, q, k, v, attention output, MLP input, MLP neuron, MLP
# output) has a parameter τ; the forward mask is Heaviside(τ), and the backward pass uses a
# sigmoid derivative as the surrogate gradient (a straight-through estimator). A pruned node
# is replaced by its mean activation on pretraining text (mean ablation). The objective is the
# task loss plus {glue:text}`k_coef_used` times the number of kept nodes, trained for
# {glue:text}`prune_steps_used` steps (the paper's search centre is about 2000 steps at a
# learning rate of 3e-3 and a coefficient of 1e-4; with a tenth of the steps, both are 10×
# larger here). The nodes are then ranked by τ, and a bisection on the number k of kept nodes
# finds the smallest k whose task loss on the pruning pairs is ≤ {glue:text}`target_loss`. The
# bisection's upper end is the size of the learned mask itself when that set meets the target:
# the nodes ranked after it were all pushed to τ = −1 by the penalty, their order means nothing,
# and adding them need not lower the loss. The circuit's size is its number of edges between kept nodes:
# nonzero weights (the q/k/v, output-projection and MLP matrices), q–k channel pairs kept
# together in a head, and links from a write to a later read of the same residual channel.
# Dense models are counted the same way, so every weight between kept nodes is an edge.
#
# For each sparse model, the dense edge count is interpolated at the sparse model's
# pretraining loss (linearly in (loss, log edges); outside the dense models' range the
# nearest dense model is used, as the "match" column says), and the edge ratio is computed for
# each of the {glue:text}`prune_seeds` pruning seeds:
#
# {glue:md}`ratio_en`
#
# {glue:md}`ratio_verdict_en`
#
# The paper's other two claims (a sparser L0 trades capability for interpretability; widening
# at fixed L0 helps), as far as this run tests them: {glue:md}`frontier_en`
#
# ```{glue:figure} fig_frontier
# :name: fig-circuits-frontier-en
#
# The frontier: circuit edges per task (log scale) against pretraining loss. Squares are
# sparse models, circles dense ones; light points are single pruning seeds, lines join the
# geometric means over seeds. Down and to the left is better: more capable, smaller circuits.
# ```

# %%
main = circ[(circ["control"] == "none") & (circ["ablation"] == "mean") & circ["reached"]]
drawn, words_zh, words_en = [], [], []
for task in ("quote", "bracket"):
    cand = main[(main["task"] == task) & main["model"].isin(sparse["model"])]
    if cand.empty:
        words_zh.append(f"- `{task}`：没有稀疏模型在这个任务上找到电路，无法绘制。")
        words_en.append(f"- `{task}`: no sparse model has a circuit for this task to draw.")
        continue
    best = cand.loc[cand["edges"].idxmin()]
    key = (best["model"], task, "mean", "none", int(best["prune_seed"]))
    model = family[best["model"]].model
    keep = T.results[key].keep
    nodes = nodes_table(model, keep, T.sets[task], means_for(spec, model, seed))
    const = constant_nodes(model, keep)
    zh_, en_ = vd.circuit_words(nodes, task, best["model"], int(best["edges"]), const)
    words_zh.append(f"- {zh_}")
    words_en.append(f"- {en_}")
    drawn.append((task, best["model"], model, keep))
fig, axes = plt.subplots(len(drawn) or 1, 1, figsize=(11, 3.2 * max(1, len(drawn))), squeeze=False)
for ax, (task, name, model, keep) in zip(axes[:, 0], drawn, strict=False):
    draw_circuit(ax, model, keep, f"{task}: {name}")
fig.tight_layout()
glue("fig_circuits", fig, display=False)
plt.close(fig)
glue_text("words_zh", "\n".join(words_zh))
glue_text("words_en", "\n".join(words_en))

# %% [markdown] tags=["lang-zh"]
# ## 最小电路长什么样
#
# ```{glue:figure} fig_circuits
# :name: fig-circuits-drawing-zh
#
# 稀疏模型在 `quote` 与 `bracket` 上边数最少的电路，按节点位置汇总。每列是一层中的一个节点位置
# （a_in/a_out：注意力的残差读/写，q/k/v，m_in/m_out：MLP 的残差读/写，neuron：MLP 神经元），
# 圆盘中的数字是该位置保留的节点数；连线上的数字是两个位置之间的边数（实线：非零权重，点线：q–k 配对，
# 虚线弧：残差通道上的写入→读取）。
# ```
#
# {glue:md}`words_zh`
#
# “对比度”是节点在最后一个位置上的激活在一对提示的两条之间的差（以标准差为单位）：
# 绝对值大的节点携带了“原因”。“没有输入边”的节点在其输入全被均值消融后是常数，
# 只起偏置的作用（论文用对 logits 的标定吸收这类效应，本章没有做这一步）。
# 上面的文字只报告电路由什么组成、与论文的电路有何异同，并不声称读懂了它。

# %% [markdown] tags=["lang-en"]
# ## What the smallest circuits look like
#
# ```{glue:figure} fig_circuits
# :name: fig-circuits-drawing-en
#
# The sparse models' circuits with the fewest edges on `quote` and `bracket`, summarised per
# node location. Each column is one location of a layer (a_in/a_out: attention's residual
# read/write, q/k/v, m_in/m_out: the MLP's residual read/write, neuron: MLP neurons); the
# number in a disc is the nodes kept there, the number on a line the edges between two
# locations (solid: nonzero weights, dotted: q–k pairs, dashed arcs: residual write → read).
# ```
#
# {glue:md}`words_en`
#
# The contrast of a node is the difference of its last-position activation between the two
# prompts of a pair, in units of its standard deviation; nodes with a large |contrast| carry
# the cause. A node with no incoming edge is a constant once its inputs are mean-ablated and
# acts only as a bias (the paper absorbs such effects with a logit calibration, which this
# chapter does not do). The text above reports what a circuit is made of and how it compares
# with the paper's; it does not claim to have understood it.

# %%
val = vd.validation_table(circ, T.overlap)
glue_text("validation_zh", vd.validation_lines(val)[0])
glue_text("validation_en", vd.validation_lines(val)[1])
glue_text("controls_zh", vd.controls_verdict(circ)[0])
glue_text("controls_en", vd.controls_verdict(circ)[1])
vd.show_validation(val)

# %% [markdown] tags=["lang-zh"]
# ## 验证与对照
#
# 上表汇总了所有达到目标的电路（均值消融、无对照）：**充分性**是只保留电路、其余节点均值消融时
# 留出集（新模板、新标识符）上的任务损失 ≤ 目标的比例；**必要性**是只消融电路节点、模型其余部分不变时
# 损失不低于随机猜测（ln 2）且高于消融同样多随机节点时的比例。**对照**：对 L0 最低的稀疏模型，
# 在其随机初始化的孪生模型（同样的稀疏度、未经训练）上，以及在标签被打乱的任务上，做完全相同的剪枝；
# 若这些对照也能以很小的电路达到目标，说明均值消融剪枝可能在“造出”电路而不是找到电路。
# 零消融与均值消融的边数之比，以及不同剪枝种子所得节点集合的重合度（Jaccard）也列在表中。
# {glue:md}`validation_zh` {glue:md}`controls_zh`
#
# 每一次剪枝的结果可下载：{download}`circuits.csv <../generated/data/circuits/circuits.csv>`。

# %% [markdown] tags=["lang-en"]
# ## Validation and controls
#
# The table summarises every circuit that reached its target (mean ablation, no control).
# **Sufficiency** is the share of circuits whose task loss on the held-out split (new
# templates, new identifiers) is ≤ the target with only the circuit kept and every other node
# mean-ablated. **Necessity** is the share whose loss, with only the circuit's nodes ablated
# and the rest of the model intact, is at least chance (ln 2) and above the loss after
# ablating as many random nodes. **Controls:** for the sparse model with the lowest L0, the same
# pruning runs on its randomly initialised twin (the same sparsity, never trained) and on the tasks with
# shuffled labels; if those also reach the target with small circuits, mean-ablation pruning
# may be creating circuits rather than finding them. The table also gives the ratio of edges
# under zero and mean ablation and the overlap (Jaccard) of the node sets from different
# pruning seeds. {glue:md}`validation_en` {glue:md}`controls_en`
#
# Every pruning result can be downloaded:
# {download}`circuits.csv <../generated/data/circuits/circuits.csv>`.

# %%
dil = T.dilution
glue_text("dilution_zh", vd.dilution_verdict(dil)[0])
glue_text("dilution_en", vd.dilution_verdict(dil)[1])
fig, ax = plt.subplots(figsize=(5.5, 3.4))
for name, g in dil.groupby("model"):
    ax.plot(
        g["elements"], g["accuracy"], marker="s" if name.startswith("sparse") else "o", label=name
    )
ax.axhline(0.5, color="grey", ls=":", lw=1)
ax.set(
    xlabel="内层列表元素数 · elements in the inner list",
    ylabel="准确率 · accuracy",
    title="bracket",
)
ax.legend(fontsize=7)
fig.tight_layout()
glue("fig_dilution", fig, display=False)
plt.close(fig)

# %% [markdown] tags=["lang-zh"]
# ## 上下文稀释
#
# 论文的括号电路用一个注意力头对 `[` 检测通道取平均，因此列表越长，“深度”信号越弱，完整模型也会被这种
# 上下文稀释攻击骗过。这里在未剪枝的模型上检验：内层列表的元素越来越多时，`bracket` 任务的准确率如何变化。
# {glue:md}`dilution_zh` 需要注意，训练模板中的内层列表只有 1–4 个元素，更长的列表同时也是分布外的输入，
# 因此准确率下降与“平均”机制相符，但不能单独证明这一机制。
#
# ```{glue:figure} fig_dilution
# :name: fig-circuits-dilution-zh
#
# 完整模型在 `bracket` 任务（训练模板）上的准确率随内层列表元素数的变化；点线为随机猜测。
# ```

# %% [markdown] tags=["lang-en"]
# ## Context dilution
#
# The paper's bracket circuit averages a `[` detector with one attention head, so longer lists
# weaken the depth signal, and this context-dilution attack fools the full model too. Here the
# unpruned models are tested: how does their `bracket` accuracy change as the inner list gets
# more elements? {glue:md}`dilution_en` The inner lists of the training templates have 1–4
# elements, so longer lists are also out-of-distribution inputs: a falling accuracy is
# consistent with an averaging mechanism but does not prove it on its own.
#
# ```{glue:figure} fig_dilution
# :name: fig-circuits-dilution-en
#
# The full models' accuracy on the `bracket` task (train templates) against the number of
# elements in the inner list; the dotted line is chance.
# ```

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - **电路大小。** {glue:md}`ratio_verdict_zh`
# - **前沿。** {glue:md}`frontier_zh`
# - **任务。** {glue:md}`solved_zh`
# - **验证。** {glue:md}`validation_zh`
# - **对照。** {glue:md}`controls_zh`
# - **上下文稀释。** {glue:md}`dilution_zh`
# - **规模。** 本次运行共用时 {glue:text}`minutes:.1f` 分钟（含训练）。模型只有 {glue:text}`n_layers` 层，
#   宽度 {glue:text}`dense_widths`（稠密）与 {glue:text}`sparse_models`（稀疏），每个只训练约
#   {glue:text}`mtokens:.1f` M 字节；论文的模型有 8 层、上亿参数，训练数百亿词元。
#   这里的结论只说明方法在极小规模上的表现，不能用来否定或证实论文在其规模上的结论；
#   训练只用了一个种子（表中的范围只反映剪枝种子），剪枝的超参数也没有像论文那样逐个模型、逐个任务调优。

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - **Circuit size.** {glue:md}`ratio_verdict_en`
# - **The frontier.** {glue:md}`frontier_en`
# - **Tasks.** {glue:md}`solved_en`
# - **Validation.** {glue:md}`validation_en`
# - **Controls.** {glue:md}`controls_en`
# - **Context dilution.** {glue:md}`dilution_en`
# - **Scale.** This run took {glue:text}`minutes:.1f` minutes, training included. The models
#   have {glue:text}`n_layers` layers and widths {glue:text}`dense_widths` (dense) and
#   {glue:text}`sparse_models` (sparse), each trained on about {glue:text}`mtokens:.1f` M bytes;
#   the paper's have 8 layers and over a hundred million parameters trained on tens of billions
#   of tokens. These findings describe the method at a very small scale; they neither refute
#   nor confirm the paper at its scale. Training used one seed (the ranges reflect pruning
#   seeds only), and the pruning hyperparameters were not tuned per model and task as the
#   paper's were.

# %% [markdown] tags=["lang-zh"]
# ## 试一试
#
# ```bash
# ptlab run circuits -p target=0.3                 # 放宽目标损失，更多任务可以比较
# ptlab run circuits -p prune_steps=400 -p k_coef=3e-3   # 剪枝更久、惩罚更重（模型从缓存读取，不重新训练）
# ptlab run circuits -p tasks=quote,bracket        # 只看两个任务
# ptlab run circuits --profile full                # 论文式设置：4 层、AbsTopK 1/4、无位置嵌入（需要 GPU）
# ptlab circuits --profile quick --out circuits-out  # 命令行：写出 models.csv、circuits.csv 与权重
# ```

# %% [markdown] tags=["lang-en"]
# ## Try
#
# ```bash
# ptlab run circuits -p target=0.3                 # a looser target: more tasks to compare
# ptlab run circuits -p prune_steps=400 -p k_coef=3e-3   # longer pruning, heavier penalty (no retraining)
# ptlab run circuits -p tasks=quote,bracket        # two tasks only
# ptlab run circuits --profile full                # the paper-like setup: 4 layers, AbsTopK 1/4, no position embedding (a GPU)
# ptlab circuits --profile quick --out circuits-out  # the CLI: models.csv, circuits.csv and the weights
# ```
