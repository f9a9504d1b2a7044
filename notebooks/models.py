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
#     seconds: {smoke: 15, quick: 49}  # fresh-clone quick book, 2-core CPU (2026-12-05)
#     depends: []
#     profiles:
#       smoke: {}
# ---

# %% [markdown] tags=["lang-zh"]
# # 模型族：从 PT 到 Transformer
#
# **本章回答的问题：** 全书共用的模型族是什么？十个开关各改变了什么，各带来多少参数量的变化？
# 在相同的数据与训练预算下，模型族两端的 PT 与 Llama 相差多少？
#
# 我们使用一个带十个布尔开关的可配置解码器：开关全关时为因果版的概率 Transformer（PT，
# {ref}`Wu & Tu, 2023 <ref-wu-tu-2023-zh>`），全开时即为 Llama 解码器
# （{ref}`Touvron et al., 2023 <ref-touvron-2023-zh>`）。测试中把同一组权重复制到 `transformers` 的
# `LlamaForCausalLM` 中对比，两者输出之差在 $10^{-5}$ 以内。

# %% [markdown] tags=["lang-en"]
# # The model family: from PT to the Transformer
#
# **The question:** what is the one model family the whole book uses, what does each of the
# ten switches change and at what cost in parameters, and how far apart are its two ends, PT
# and Llama, on the same data and training budget?
#
# We use a configurable decoder with ten boolean switches. With every switch off it is the
# causal Probabilistic Transformer (PT, {ref}`Wu & Tu, 2023 <ref-wu-tu-2023-en>`); with every
# switch on it is a Llama decoder ({ref}`Touvron et al., 2023 <ref-touvron-2023-en>`). The tests
# copy the same weights into `transformers`' `LlamaForCausalLM`, and the two outputs agree to
# within $10^{-5}$.

# %% tags=["parameters"]
profile = "quick"  # smoke | quick | full: model size and training length (ptlab.profiles)
# None keeps the profile's value (ptlab.profiles, section models: quick 3, smoke 2, full 5)
seeds: int | None = None  # training seeds per config for the curves figure
results_dir = "results"
study = "models"

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import display

from ptlab.book.claims import record_claims
from ptlab.book.glue import beyond_noise, glue_text, glue_value
from ptlab.book.plotting import glue_figure, setup_figures
from ptlab.display import for_reader, mean_sd
from ptlab.models import SHORT_NAMES, SWITCHES, all_off, param_count_table
from ptlab.profiles import profile_configs, study_section
from ptlab.sweep import curves_frame, run_study

setup_figures()
seeds = seeds or study_section(profile, "models")["seeds"]
record_claims("models", [])  # the chapter defines the family; it tests no claim of the notes

# %% [markdown] tags=["lang-zh"]
# 当前配置档的基础模型尺寸与训练设置。开关扫描一章原样使用它们；其余各章在配置档中有自己的一节，
# 只覆盖其中几项（例如残差连接变体与注意力头归因用 4 层，权重稀疏一章用自己的宽度与优化器）：

# %% [markdown] tags=["lang-en"]
# The base model size and training settings of this profile. The switch sweep uses them as they
# are; the other studies have a section of their own in the profile that overrides a few of them
# (the residual variants and the head attribution use 4 layers, the weight-sparse chapter its
# own widths and optimiser):

# %%
base, train_cfg = profile_configs(profile)
sizes = {k: v for k, v in base.to_dict().items() if k not in SWITCHES}
display(pd.Series(sizes, name="value").rename_axis("model").to_frame())
display(pd.Series(train_cfg.to_dict(), name="value").rename_axis("training").to_frame())

# %% [markdown] tags=["lang-zh"]
# ## 十个开关
#
# 每个开关关闭（False）时取 PT 的做法，打开（True）时取 Llama 的做法。记 $e$ 为词嵌入，
# $s$ 为残差流，$N$ 为归一化，$\rho_i$ 为位置 $i$ 处的 RoPE 旋转，$\tau = 1/\sqrt{r}$（$r$ 为头维度）。
#
# | 开关 | 关闭：PT | 打开：Llama |
# |---|---|---|
# | `untie_attn_weights` | $W_V = W_K,\ W_O = W_Q^\top$（Q/K/V/O 绑定） | 独立的 $W_V, W_O$ |
# | `use_std_residual` | $s' = e + \Delta$（每层重新注入嵌入，即 PT 的一元势） | $s' = s + \Delta$ |
# | `use_rms_norm` | $N(s) = d\cdot\mathrm{softmax}(s)$（在特征维上） | RMSNorm（带增益） |
# | `use_gated_ffn` | $\mathrm{softmax}(xW)\,W_{\text{down}}$（对记忆槽做注意力） | SwiGLU |
# | `untie_ffn_weights` | $W_{\text{down}} = W_{\text{up}}^\top$ | 独立的 $W_{\text{down}}$ |
# | `no_vo_rope` | VO-RoPE：值按源位置旋转，输出按目标位置转回 | 只对 q、k 做 RoPE |
# | `untie_layerwise_weights` | 同一个块迭代 $L$ 次（类似 Universal Transformer） | $L$ 个独立的块 |
# | `no_mask_diagonal` | 严格掩码 $j < i$（词不能以自身为中心词） | $j \le i$ |
# | `use_ffn_after_attn` | 注意力与 FFN 并行作用于同一个 $N(s)$ | 先注意力后 FFN |
# | `use_single_message_attn` | 两条消息：中心词指针 + 依存词指针 | 一条消息 |

# %% [markdown] tags=["lang-en"]
# ## The ten switches
#
# Each switch takes PT's choice when off (False) and Llama's when on (True). Write $e$ for the
# embedding, $s$ for the residual stream, $N$ for the norm, $\rho_i$ for the RoPE rotation at
# position $i$ and $\tau = 1/\sqrt{r}$ ($r$ the head size).
#
# | switch | off: PT | on: Llama |
# |---|---|---|
# | `untie_attn_weights` | $W_V = W_K,\ W_O = W_Q^\top$ (tied Q/K/V/O) | separate $W_V, W_O$ |
# | `use_std_residual` | $s' = e + \Delta$ (embedding re-injected: PT's unary potential) | $s' = s + \Delta$ |
# | `use_rms_norm` | $N(s) = d\cdot\mathrm{softmax}(s)$ over features | RMSNorm with gain |
# | `use_gated_ffn` | $\mathrm{softmax}(xW)\,W_{\text{down}}$ (attention over memory slots) | SwiGLU |
# | `untie_ffn_weights` | $W_{\text{down}} = W_{\text{up}}^\top$ | separate $W_{\text{down}}$ |
# | `no_vo_rope` | VO-RoPE: values rotated at the source, output rotated back | RoPE on q, k only |
# | `untie_layerwise_weights` | one block iterated $L$ times (Universal-Transformer style) | $L$ blocks |
# | `no_mask_diagonal` | strict mask $j < i$ (a word is never its own head) | $j \le i$ |
# | `use_ffn_after_attn` | attention and FFN in parallel on the same $N(s)$ | FFN after attention |
# | `use_single_message_attn` | two messages: head pointer + dependent pointer | one message |

# %% [markdown] tags=["lang-zh"]
# ## PT 未规定之处的实现选择
#
# 已发表的 PT 是编码器：不是因果语言模型，迭代中没有 FFN，也不用 RoPE。凡是原文未作规定之处，
# 本书只作一次统一选择（说明见 `src/ptlab/models/model.py` 文件开头，每一条都有单元测试）：
#
# - **第二条消息的因果形式**。编码器中的第二条消息来自“以 $i$ 为中心词的那些词”，
#   而在因果模型中这些词全部位于未来，照搬会泄露未来信息。我们改用“依存词指针”：
#   $B_{ij} = \mathrm{softmax}_{j \in M(i)}(\tau\, \tilde k_i \cdot \tilde q_j)$，值为 $q$，
#   输出矩阵为 $W_K^\top$。势函数不变，只换了归一化所沿的轴，因此不会泄露未来信息。
#   我们对全部 1024 种开关组合都测试了因果性。
# - **位置 0**。严格掩码下位置 0 没有可见的键；没有可见键的行只关注自身，
#   这与标准掩码在该行上的结果相同。
# - **softmax 归一化下的分数尺度**。$N(s) = d\cdot\mathrm{softmax}(s)$ 使各特征的均值为 1，
#   且开关两侧都取 $\tau = 1/\sqrt{r}$，因此 `use_rms_norm` 只改变归一化方式，不连带改变温度
#   （PT 原文则把分数乘以 $d$）。
# - **PT 风格的 FFN**。平均场推断给出对 $m$ 个记忆槽的 softmax 注意力；$m$ 在所有开关组合下
#   都按 Llama 的 $8d/3$ 规则取值（不按参数量对齐）。门控 FFN 绑定权重时，门控矩阵不参与绑定。
# - **解绑时第二条消息的权重**。第二条消息使用各自独立的 $W_{V2}, W_{O2}$。
# - 所有开关组合中词嵌入与输出层都不绑定；模型中不使用任何偏置。

# %% [markdown] tags=["lang-en"]
# ## Choices where PT is silent
#
# The published PT is an encoder: it is not a causal LM, has no FFN inside its iterations and
# uses no RoPE. Where the paper leaves a choice open, the book makes that choice once; each choice
# is documented at the top of `src/ptlab/models/model.py` and covered by a unit test:
#
# - **The causal second message.** In the encoder, message 2 comes from the words that chose $i$
#   as their head. In a causal model these words all lie in the future, so copying the message
#   unchanged would leak future tokens. We use a "dependent pointer" instead:
#   $B_{ij} = \mathrm{softmax}_{j \in M(i)}(\tau\, \tilde k_i \cdot
#   \tilde q_j)$ with values $q$ and output matrix $W_K^\top$. The potential is unchanged; only
#   the axis of normalisation differs, so nothing leaks. Causality is tested for all 1024 configs.
# - **Position 0.** Under the strict mask, position 0 has no visible key. A row without visible
#   keys attends only to itself, which gives the same result as the standard mask on that row.
# - **Score scale under the softmax norm.** $N(s) = d\cdot\mathrm{softmax}(s)$ has mean entry 1,
#   and $\tau = 1/\sqrt{r}$ is used with the switch on and off alike, so `use_rms_norm` changes
#   only the normalisation, not the temperature (PT itself multiplies the scores by $d$).
# - **The PT-style FFN.** Mean-field inference gives softmax attention over $m$ memory slots; $m$
#   follows Llama's $8d/3$ rule in every config (it is not matched for parameter count). When
#   the gated FFN ties its weights, the gate matrix stays untied.
# - **Message-2 weights when untied.** Message 2 gets its own $W_{V2}, W_{O2}$.
# - The embedding and the LM head are untied in every config, and the model has no biases.

# %% [markdown] tags=["lang-zh"]
# ## 参数量
#
# 不同开关组合的参数量差别很大（跨层共享权重时，参数量不随深度增长），因此每个运行都记录参数量。
# 下表给出本配置档尺寸下，从全关（PT）出发、每次只打开一个开关时的参数量。

# %% [markdown] tags=["lang-en"]
# ## Parameter counts
#
# The parameter count varies a lot across configs (with shared layers, the count does not grow
# with depth), so every run records it. The table gives the count at this profile's size for
# PT (all off), for PT with one switch turned on at a time, and for Llama (all on).

# %%
counts = param_count_table(base)
off = all_off(**{k: getattr(base, k) for k in ("d_model", "n_layers", "n_heads", "seq_len")})
on = off.replace(**dict.fromkeys(SWITCHES, True))
n_off = int(counts.loc[~counts[list(SWITCHES)].any(axis=1), "n_params"].iloc[0])
n_on = int(counts.loc[counts[list(SWITCHES)].all(axis=1), "n_params"].iloc[0])
single = pd.DataFrame(
    [{"config": "all off (PT)", "n_params": n_off}]
    + [
        {
            "config": f"+ {SHORT_NAMES[s]}",
            "n_params": int(
                counts.loc[counts[list(SWITCHES)].sum(axis=1).eq(1) & counts[s], "n_params"].iloc[0]
            ),
        }
        for s in SWITCHES
    ]
    + [{"config": "all on (Llama)", "n_params": n_on}]
).set_index("config")
single["× PT"] = single["n_params"] / n_off
glue_value("n_params_off", n_off)
glue_value("n_params_on", n_on)
glue_value("n_params_ratio", n_on / n_off)
glue_value("n_params_min", int(counts["n_params"].min()))
glue_value("n_params_max", int(counts["n_params"].max()))
for_reader(single.rename_axis("config").reset_index(), ["config"])

# %% [markdown] tags=["lang-zh"]
# 全关的 PT 有 {glue:text}`n_params_off:,` 个参数，全开的 Llama 有 {glue:text}`n_params_on:,` 个，
# 是前者的 {glue:text}`n_params_ratio:.2f` 倍；1024 种开关组合的参数量介于
# {glue:text}`n_params_min:,` 与 {glue:text}`n_params_max:,` 之间。绑定注意力权重、绑定 FFN 权重
# 与跨层共享权重各自削减了一部分块参数。

# %% [markdown] tags=["lang-en"]
# PT with every switch off has {glue:text}`n_params_off:,` parameters and Llama with every
# switch on has {glue:text}`n_params_on:,`, {glue:text}`n_params_ratio:.2f` times as many. Across
# the 1024 configs, the count ranges from {glue:text}`n_params_min:,` to
# {glue:text}`n_params_max:,`. Tied attention weights, tied FFN weights and shared layers each
# remove part of the block parameters.

# %% [markdown] tags=["lang-zh"]
# ## 训练曲线：全关与全开
#
# 两种开关组合按相同的数据顺序训练（同一种子在两种组合下读到的批次完全相同），每种组合各训练多个种子。

# %% [markdown] tags=["lang-en"]
# ## Training curves: all off vs all on
#
# Each of the two configs is trained with several seeds on the same data order: a given seed
# sees exactly the same batches in both configs.

# %%
df, records = run_study(
    study, [off.switches, on.switches], seeds=seeds, profile=profile, results_dir=results_dir
)
curves = curves_frame(records)
curves["config"] = curves["untie_attn_weights"].map({False: "all-off (PT)", True: "all-on (Llama)"})
fig, ax = plt.subplots(figsize=(6.4, 3.6))
sns.lineplot(curves, x="step", y="eval_loss", hue="config", marker="o", errorbar=("sd", 1), ax=ax)
ax.set(xlabel="训练步数 · step", ylabel="验证损失 · eval/loss (nats/byte)")
ax.legend(title=None)
glue_figure("fig_curves", fig)

final = df.assign(config=df["untie_attn_weights"].map({False: "all-off", True: "all-on"}))
summary = final.groupby("config")["eval/loss"].agg(["count", "mean", "std"])
gap = summary.loc["all-off", "mean"] - summary.loc["all-on", "mean"]
glue_value("loss_off", summary.loc["all-off", "mean"])
glue_value("loss_on", summary.loc["all-on", "mean"])
glue_value("sd_off", summary.loc["all-off", "std"])
glue_value("sd_on", summary.loc["all-on", "std"])
glue_value("gap", gap)
glue_value("n_seeds", int(summary["count"].min()))
ok_runs = final[final["status"] == "ok"]
zh, en = beyond_noise(
    *(ok_runs.loc[ok_runs.config == c, "eval/loss"] for c in ("all-off", "all-on"))
)
better = (
    "全开的 Llama 更好。" if gap > 0 else "全关的 PT 更好。",
    "Llama (all on) is better." if gap > 0 else "PT (all off) is better.",
)
glue_text("verdict_zh", better[0] + zh)
glue_text("verdict_en", better[1] + " " + en)
shown = summary.reset_index()
shown["eval/loss (mean ± sd)"] = [mean_sd(r.mean, r.std) for r in shown.itertuples()]
for_reader(shown[["config", "count", "eval/loss (mean ± sd)"]], ["config"], {"count": "seeds"})

# %% [markdown] tags=["lang-zh"]
# ```{glue:figure} fig_curves
# :name: fig-models-curves-zh
# :alt: 全关的 PT 与全开的 Llama 的验证损失随训练步数下降的曲线，阴影为种子间的标准差
#
# 验证损失（奈特/字节）随训练步数的变化；阴影带为种子间的 ±1 个标准差。
# ```
#
# 在 {glue:text}`n_seeds` 个种子上，全关的 PT 最终验证损失为 {glue:text}`loss_off:.3f`
# （标准差 {glue:text}`sd_off:.3f`），全开的 Llama 为 {glue:text}`loss_on:.3f`
# （标准差 {glue:text}`sd_on:.3f`），两者相差 {glue:text}`gap:.3f` 奈特/字节（正值表示 Llama 更好）。
# {glue:md}`verdict_zh` 开关扫描一章用其参照组合的全部种子（含这里的运行）重算了这一差值（见该章）；
# 两章所用的种子数不同时，数字会略有差别。

# %% [markdown] tags=["lang-en"]
# ```{glue:figure} fig_curves
# :name: fig-models-curves-en
# :alt: Validation loss of PT (all off) and Llama (all on) falling over training, with a band of one seed sd
#
# Validation loss (nats per byte) against training step; the band is ±1 standard deviation
# across seeds.
# ```
#
# Over {glue:text}`n_seeds` seeds, PT (all off) ends at a validation loss of
# {glue:text}`loss_off:.3f` (sd {glue:text}`sd_off:.3f`) and Llama (all on) at
# {glue:text}`loss_on:.3f` (sd {glue:text}`sd_on:.3f`), a gap of {glue:text}`gap:.3f` nats/byte
# (positive: Llama is better). {glue:md}`verdict_en` The switch-sweep chapter recomputes this gap
# from all seeds of its anchor runs (these runs among them; see there), so where the two
# chapters use different numbers of seeds their numbers differ slightly.

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - 模型族的两端：全关的 PT 有 {glue:text}`n_params_off:,` 个参数，全开的 Llama 有
#   {glue:text}`n_params_on:,` 个（{glue:text}`n_params_ratio:.2f` 倍）。
# - 在 {glue:text}`n_seeds` 个种子上，PT 的最终验证损失为 {glue:text}`loss_off:.3f`，Llama 为
#   {glue:text}`loss_on:.3f`，相差 {glue:text}`gap:.3f` 奈特/字节。{glue:md}`verdict_zh`
# - 两端之间的 1024 种开关组合由“开关扫描”一章抽样训练。

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - The two ends of the family: PT with every switch off has {glue:text}`n_params_off:,`
#   parameters and Llama with every switch on has {glue:text}`n_params_on:,`
#   ({glue:text}`n_params_ratio:.2f` times as many).
# - Over {glue:text}`n_seeds` seeds, PT ends at a validation loss of {glue:text}`loss_off:.3f` and
#   Llama at {glue:text}`loss_on:.3f`, a gap of {glue:text}`gap:.3f` nats/byte.
#   {glue:md}`verdict_en`
# - The switch-sweep chapter samples and trains the 1024 configs between the two ends.
