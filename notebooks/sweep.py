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
#     seconds: {smoke: 92, quick: 540}  # fresh-clone quick book, 2-core CPU (2026-12-05)
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
# 课题组原先的研究随机训练了数百种开关组合（笔记一未给出总数，见[研究笔记](notes.md)）。
# {glue:md}`design_zh:myst` 此外，四个参照组合各用多个种子训练，用来估计种子噪声。
# 代码：`ptlab.sweep`（设计与训练）、`ptlab.analysis`（噪声、失拟与别名结构）。

# %% [markdown] tags=["lang-en"]
# # The switch sweep
#
# **The question:** ten switches turn PT into Llama. How far apart in validation loss are the
# switch configurations, and is that spread well beyond the change that a new seed alone brings?
#
# The lab's original study trained several hundred random switch configurations (Note 1 gives
# no total; see [the research notes](notes.md)). {glue:md}`design_en:myst` Four anchor configs
# are also trained with several seeds each to measure the seed noise. Code: `ptlab.sweep`
# (designs and training), `ptlab.analysis` (noise, lack of fit and the alias structure).

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
import pandas as pd
from scipy import stats

from ptlab.analysis import plots, prepare, seed_noise, verdicts
from ptlab.analysis.confirm import welch
from ptlab.analysis.curves import ranking_over_training
from ptlab.analysis.divergence import divergence_table, orthogonality_loss
from ptlab.analysis.effects import lack_of_fit, resolvable_order
from ptlab.analysis.interactions import alias_counts, alias_structure, defining_relation
from ptlab.analysis.noise import anchor_name, heteroscedasticity, replicate_subset
from ptlab.analysis.pipeline import replicate_frame, study_noise
from ptlab.book.claims import record_claims
from ptlab.book.glue import glue_pair, glue_text, glue_value, save_table
from ptlab.book.plotting import glue_figure, setup_figures
from ptlab.display import for_reader
from ptlab.models import SWITCHES, short_name
from ptlab.sweep import StoreError, curves_frame, load_results, make_design, run_study
from ptlab.sweep.designs import design_summary

setup_figures()
pd.set_option("display.max_colwidth", None)  # the table rule: no truncated strings

# %% [markdown] tags=["lang-zh"]
# 下面训练设计中的全部组合、四个参照组合的多个种子，以及从设计中抽取的重复组合；表中是验证损失最低的十个组合：

# %% [markdown] tags=["lang-en"]
# The cell below trains every config of the design, the four anchors under several seeds and the
# replicated share of the design; the table lists the ten configs with the lowest validation
# loss:

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
save_table(
    df[["run_id", "status", *SWITCHES, "eval/loss", "eval/accuracy", "n_params", "wall_s"]],
    "sweep",
    "runs",
)
best = ok.sort_values("eval/loss").head(10)
best = best.assign(
    off=[", ".join(short_name(s) for s in SWITCHES if not r[s]) or "—" for _, r in best.iterrows()]
)
for_reader(
    best.assign(rank=range(1, len(best) + 1))[
        ["rank", "eval/loss", "eval/accuracy", "off", "n_params"]
    ],
    ["rank"],
    {"rank": "名次 · rank", "off": "关闭的开关 · switches off", "n_params": "参数量 · parameters"},
)

# %% tags=["remove-cell"]
summary = design_summary(rows)
design_zh, design_en = verdicts.design_sentence(summary)
glue_text("design_zh", design_zh)
glue_text("design_en", design_en)
glue_value("n_design", summary["n_runs"])
glue_value("n_runs", len(df))
glue_value("n_ok", len(ok))
glue_value("n_bad", len(df) - len(ok))
glue_value("loss_min", ok["eval/loss"].min())
glue_value("loss_max", ok["eval/loss"].max())
glue_value("loss_sd", ok["eval/loss"].std())
glue_figure("fig_dist", plots.loss_distribution(ok))

# %% [markdown] tags=["lang-zh"]
# 共 {glue:text}`n_runs` 个运行，其中 {glue:text}`n_ok` 个正常结束，{glue:text}`n_bad` 个发散或失败
# （不计入以下分析，见“未正常结束的运行”一节）。表中“关闭的开关”一列列出该组合中处于 PT 一侧的开关；
# 全部运行的结果可下载：{download}`runs.csv <../generated/data/sweep/runs.csv>`。
#
# ```{glue:figure} fig_dist
# :alt: 左图是全部正常结束的运行的验证损失直方图；右图按开关分组，对比每个开关打开与关闭时的验证损失箱线图。
# :name: fig-sweep-dist-zh
#
# 左：所有正常结束的运行的验证损失分布。右：各开关打开与关闭时的验证损失分布。
# ```
#
# 验证损失介于 {glue:text}`loss_min:.3f` 与 {glue:text}`loss_max:.3f` 奈特/字节之间，开关组合间的标准差为
# {glue:text}`loss_sd:.3f`。各开关的效应与交互作用留待后续两章（XGBoost + SHAP 与精确的析因效应）讨论。

# %% [markdown] tags=["lang-en"]
# Of {glue:text}`n_runs` runs, {glue:text}`n_ok` finished normally; the {glue:text}`n_bad` that
# diverged or failed are left out below (see the section on runs that did not finish). The
# column "switches off" lists the switches a config keeps on the PT side; the results of every
# run can be downloaded as {download}`runs.csv <../generated/data/sweep/runs.csv>`.
#
# ```{glue:figure} fig_dist
# :alt: Left, a histogram of the validation loss of every run that finished; right, one pair of box plots per switch comparing the validation loss with the switch on and off.
# :name: fig-sweep-dist-en
#
# Left: validation loss of all runs that finished normally. Right: validation loss with each
# switch on and off.
# ```
#
# Validation loss ranges from {glue:text}`loss_min:.3f` to {glue:text}`loss_max:.3f`
# nats/byte, with a standard deviation of {glue:text}`loss_sd:.3f` across configs. The effects
# of the switches and their interactions are left to the next two chapters (XGBoost + SHAP, and
# exact factorial effects).

# %% tags=["hide-input"]
noise = seed_noise(noise_df)
pe = study_noise(study, results_dir, profile=profile)
anchor = noise_df[noise_df["status"] == "ok"].assign(
    config=lambda d: [
        "all-off" if not any(r) else "all-on" if all(r) else "mixed"
        for r in d[list(SWITCHES)].to_numpy()
    ]
)
off_runs = anchor.loc[anchor.config == "all-off", "eval/loss"].to_numpy()
on_runs = anchor.loc[anchor.config == "all-on", "eval/loss"].to_numpy()
gap, gap_lo, gap_hi = welch(off_runs, on_runs)
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
glue_pair("spread", verdicts.spread_vs_noise(ratio, ratio_p))
try:  # the models chapter trains the same two configs with its own first seeds
    models = load_results("models", results_dir)
    models = models[(models["profile"] == profile) & (models["status"] == "ok")]
    m_on = models[list(SWITCHES)].all(axis=1)
    m_gap = models.loc[~m_on, "eval/loss"].mean() - models.loc[m_on, "eval/loss"].mean()
    pair = verdicts.gap_to_models(gap, gap_lo, gap_hi, len(off_runs), m_gap, int(m_on.sum()))
    if m_on.sum() < 2 or (~m_on).sum() < 2:  # the models chapter has not run this profile
        pair = ("", "")
except StoreError:  # no models study in this results dir: nothing to compare with
    pair = ("", "")
glue_pair("models_gap", pair)
for_reader(
    noise.assign(config=noise["config"].map(anchor_name))[["config", "n", "mean", "std"]],
    ["config"],
    {
        "config": "参照组合 · anchor",
        "n": "种子 · seeds",
        "mean": "均值 · mean",
        "std": "标准差 · sd",
    },
)

# %% [markdown] tags=["lang-zh"]
# ## 种子噪声
#
# 四个参照组合（全关、全开、前五个开关打开、后五个开关打开）各用多个种子训练，种子间标准差介于
# {glue:text}`noise_sd_min:.3f` 与 {glue:text}`noise_sd_max:.3f` 之间。全关与全开相差
# {glue:text}`noise_gap:.3f` 奈特/字节，Welch 95% 置信区间为 {glue:text}`noise_gap_lo:.3f` 至
# {glue:text}`noise_gap_hi:.3f`，正值表示 Llama 更好。{glue:md}`models_gap_zh:myst`
#
# 把这些参照组合与下一节的重复组合合并，纯误差标准差为 {glue:text}`pe_sd:.4f`（{glue:text}`pe_dof`
# 个自由度）。组合间方差与纯误差方差之比检验的是“组合间的差异是否超出种子噪声”：{glue:md}`spread_zh:myst`
# 也就是说，扣除种子噪声后，开关组合间的标准差是种子标准差的 {glue:text}`spread_ratio:.1f` 倍。

# %% [markdown] tags=["lang-en"]
# ## Seed noise
#
# The four anchor configs (all off, all on, the first five switches on, the last five on) are
# trained with several seeds each; their seed-to-seed sd lies between
# {glue:text}`noise_sd_min:.3f` and {glue:text}`noise_sd_max:.3f`. All off and all on differ by
# {glue:text}`noise_gap:.3f` nats/byte (Welch 95% CI {glue:text}`noise_gap_lo:.3f` to
# {glue:text}`noise_gap_hi:.3f`; positive means Llama is better). {glue:md}`models_gap_en:myst`
#
# Pooled with the replicated configs of the next section, the pure-error sd is
# {glue:text}`pe_sd:.4f` on {glue:text}`pe_dof` degrees of freedom. Whether the configs differ
# by more than seed noise is a test of the ratio of the variance across configs to the
# pure-error variance: {glue:md}`spread_en:myst` Net of the seed noise, the configs' sd is
# {glue:text}`spread_ratio:.1f` times the seed sd.

# %% tags=["hide-input"]
both = replicate_frame(study, results_dir, profile)
t_all = prepare(both[both["status"] == "ok"], source=f"study {study!r} with replicates")
lof = lack_of_fit(t_all, resolvable_order(t_all.X))
het = heteroscedasticity(both)
glue_pair("rep", verdicts.replication(lof, het, len(reps), replicate_seeds))
glue_value("lof_order", resolvable_order(t_all.X))
design_keys = {tuple(r[s] for s in SWITCHES) for r in rows}
glue_value(
    "n_anchor_out",
    sum(tuple(r[s] for s in SWITCHES) not in design_keys for r in make_design("anchors")),
)
for_reader(
    pd.DataFrame(
        {
            "test": ["失拟 F · lack of fit F", "Brown–Forsythe（重复组 · replicate groups）"],
            "statistic": [lof["F"], het["statistic"]],
            "dof": [f"{lof['df_lof']}, {lof['df_pe']}", f"{het['df_between']}, {het['df_within']}"],
            "p": [lof["p_value"], het["p_value"]],
        }
    ),
    ["test"],
    {"test": "检验 · test", "statistic": "统计量 · statistic", "dof": "自由度 · dof"},
)

# %% [markdown] tags=["lang-zh"]
# ## 设计内的重复运行
#
# 只用四个参照组合估计纯误差有两个问题：其中 {glue:text}`n_anchor_out` 个不在设计之内，且各自的种子标准差相差数倍。
# 因此我们从设计的 {glue:text}`n_design` 个组合中随机抽取约 10%，各用新种子重复训练，从而直接在设计点上估计纯误差，
# 并对含 {glue:text}`lof_order` 阶及以下交互项的均值模型做失拟检验（上表）。{glue:md}`rep_zh:myst`

# %% [markdown] tags=["lang-en"]
# ## Replicates within the design
#
# Estimating pure error from the four anchors alone has two problems: {glue:text}`n_anchor_out`
# of them are not part of the design, and their seed sds differ several-fold. So a random share
# of the {glue:text}`n_design` design configs is trained again under new seeds; this estimates
# pure error on the design itself and allows a lack-of-fit test of the mean model with
# interactions up to order {glue:text}`lof_order` (table above). {glue:md}`rep_en:myst`

# %% tags=["hide-input"]
div = divergence_table(df)
save_table(div, "sweep", "divergence")
glue_pair(
    "div",
    verdicts.divergence(
        div,
        len(df),
        orthogonality_loss(ok[list(SWITCHES)].astype(int)),
        orthogonality_loss(pd.DataFrame(rows)[list(SWITCHES)].astype(int)),
    ),
)
lost = int(div["diverged_on"].iloc[0] + div["diverged_off"].iloc[0])
(
    for_reader(
        div.assign(switch=div["switch"].map(short_name)),
        ["switch"],
        {
            "switch": "开关 · switch",
            "n_on": "开 · on",
            "n_off": "关 · off",
            "diverged_on": "开时未完成 · lost on",
            "diverged_off": "关时未完成 · lost off",
            "p_value": "p",
            "p_adjusted": "Holm p",
        },
    )
    if lost
    else None  # every run finished: the sentence says so, a table of zeros adds nothing
)

# %% [markdown] tags=["lang-zh"]
# ## 未正常结束的运行
#
# 后面的分析只使用正常结束的运行。如果某个开关的一种取值更容易发散，去掉这些运行会使该开关的比较产生偏差
# （笔记二对 rms_norm 的论断恰恰与训练稳定性有关），因此先逐个开关统计开、关两种取值下未正常结束的运行数，
# 并用 Fisher 精确检验（Holm 校正）比较两者。{glue:md}`div_zh:myst`
# 逐开关的计数与检验可下载：{download}`divergence.csv <../generated/data/sweep/divergence.csv>`
# （有运行未正常结束时也显示在上方；`ptlab analyze` 会写出同一张表）。

# %% [markdown] tags=["lang-en"]
# ## Runs that did not finish
#
# The analyses below use only the runs that finished normally. If one setting of a switch
# diverges more often, leaving those runs out biases that switch's comparison (Note 2's claim
# about rms_norm is precisely about training stability). So we first count, for each switch,
# the runs that did not finish with it on and with it off, and compare the two with Fisher's
# exact test (Holm-adjusted). {glue:md}`div_en:myst` The per-switch counts and tests can be
# downloaded as {download}`divergence.csv <../generated/data/sweep/divergence.csv>` (shown
# above too when some run did not finish; `ptlab analyze` writes the same table).

# %% tags=["remove-cell"]
X_design = pd.DataFrame(rows)[list(SWITCHES)].astype(int)
aliases = alias_structure(X_design)
three = aliases[aliases["order"] == 3].copy()
three["pair"] = three["aliases"].map(lambda a: ", ".join(t for t in a if t.count(":") < 2))
aliased = three[three["pair"] != ""]
save_table(
    pd.DataFrame(
        {"triple": aliased["term"].map(short_name), "pair": aliased["pair"].map(short_name)}
    ),
    "sweep",
    "aliases",
)
words = defining_relation(X_design)
counts = alias_counts(X_design)
glue_value("n_aliased", counts["with_pair"])
glue_value("n_aliased3", counts["with_triple"])
glue_value("n_aliased_any", counts["with_any"])
glue_value("n_pairs3", counts["pairs_with_triple"])
glue_value("n_triples", counts["triples"])
glue_value("n_words5", sum(len(w) == 5 for w in words))
listed = "\n".join(f"- {' × '.join(short_name(s) for s in w)}（{len(w)}）" for w in words)
listed_en = "\n".join(f"- {' × '.join(short_name(s) for s in w)} ({len(w)})" for w in words)
glue_text("words_zh", listed or "- 无（没有在所有运行中恒定的开关乘积）")
glue_text("words_en", listed_en or "- none (no product of switches is constant over the runs)")

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
# 因此 SHAP 一章的三元交互排序只能用于筛选，该章另设验证实验加以检验；方差一章对它依赖的别名对比做去别名的跟进实验。

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
# Each word of length 5 aliases each of its 10 pairs with the triple of its other three
# switches, and each word of length 6 aliases triples with triples. This design has
# {glue:text}`n_words5` words of length 5: of the {glue:text}`n_triples` three-way contrasts,
# {glue:text}`n_aliased` are aliased with a two-way interaction and {glue:text}`n_aliased3` with
# another three-way one, {glue:text}`n_aliased_any` in all that cannot be estimated on their
# own. Conversely, the estimates of {glue:text}`n_pairs3` two-way interactions are sums of a
# pair and a triple effect (the triples aliased with pairs:
# {download}`aliases.csv <../generated/data/sweep/aliases.csv>`). The three-way ranking in the
# SHAP chapter is therefore a screen only, which that chapter tests with dedicated follow-ups;
# the variance chapter de-aliases the contrasts its verdict rests on.

# %% tags=["hide-input"]
agree = ranking_over_training(curves_frame(records))
glue_pair("steps", verdicts.training_ranking(agree))
for_reader(
    agree[["step", "config_rho", "config_low", "config_high", "effect_rho"]],
    ["step"],
    {
        "step": "步数 · step",
        "config_rho": "组合 ρ · configs ρ",
        "config_low": "95% 下限 · low",
        "config_high": "95% 上限 · high",
        "effect_rho": "主效应 ρ · main effects ρ",
    },
)

# %% [markdown] tags=["lang-zh"]
# ## 训练长度
#
# 所有组合都只训练了相同的较短步数。如果组合之间、开关之间的排序在最后几次评估之间仍在变化，
# 更长的训练就可能改变结论。保存的训练曲线可以回答这一问题（上表，以最后一步为基准的 Spearman 秩相关）：
# {glue:md}`steps_zh:myst`

# %% [markdown] tags=["lang-en"]
# ## Training length
#
# Every config is trained for the same short budget. If the order of the configs, or of the
# switches, still changes between the last evaluations, longer training could change the
# conclusions. The stored training curves answer this (table above: Spearman correlations with
# the last step): {glue:md}`steps_en:myst`

# %% tags=["hide-input"]
ref = noise_df.loc[noise_df[list(SWITCHES)].all(axis=1) & noise_df["status"].eq("ok"), "wall_s"]
cost = ok.assign(cost=ok["wall_s"] / ref.median())
effect = pd.Series(
    {s: cost.loc[cost[s], "cost"].median() - cost.loc[~cost[s], "cost"].median() for s in SWITCHES}
)
dearest = effect.abs().idxmax()  # the switch that changes the cost most, either way
glue_value("cost_min", cost["cost"].min())
glue_value("cost_max", cost["cost"].max())
glue_value("cost_switch", short_name(dearest))
glue_value("cost_switch_delta", effect[dearest])
glue_figure("fig_cost", plots.cost_by_switch(cost))
for_reader(
    effect.sort_values()
    .rename(index=short_name)
    .rename("delta")
    .rename_axis("switch")
    .reset_index(),
    ["switch"],
    {"switch": "开关 · switch", "delta": "中位成本之差（开 − 关）· median cost on − off"},
)

# %% [markdown] tags=["lang-zh"]
# ## 训练成本
#
# ```{glue:figure} fig_cost
# :alt: 每个开关一对箱线图，比较该开关打开与关闭时运行的墙钟时间；时间以全开组合的中位数为 1，虚线标出 1。
# :name: fig-sweep-cost-zh
#
# 每个运行的训练墙钟时间，以全开（Llama）组合的中位数为 1，按各开关的开 / 关分组。
# ```
#
# 相对成本介于 {glue:text}`cost_min:.2f` 与 {glue:text}`cost_max:.2f` 之间。上表按开关列出打开与关闭时中位成本之差；
# 差值绝对值最大的开关是 {glue:text}`cost_switch`，打开后中位成本变化 {glue:text}`cost_switch_delta:+.2f`
# （负值表示更快）。墙钟时间也受机器上其他负载影响，个别离群值更可能来自负载，而非开关组合本身。

# %% [markdown] tags=["lang-en"]
# ## Training cost
#
# ```{glue:figure} fig_cost
# :alt: One pair of box plots per switch comparing the wall time of runs with the switch on and off, relative to the median of the all-on config, with a dashed line at 1.
# :name: fig-sweep-cost-en
#
# Wall time of each run relative to the median wall time of the all-on (Llama) config, grouped
# by each switch on / off.
# ```
#
# Relative cost ranges from {glue:text}`cost_min:.2f` to {glue:text}`cost_max:.2f`. The table
# gives, for each switch, the median cost with it on minus that with it off; the largest change
# either way is {glue:text}`cost_switch`'s: turning it on changes the median cost by
# {glue:text}`cost_switch_delta:+.2f` (negative: faster). Wall times also reflect other load on
# the machine, so single outliers more likely come from that load than from the config.

# %% [markdown] tags=["lang-zh"]
# ## 小结
#
# - 本次扫描共 {glue:text}`n_runs` 个运行（{glue:text}`n_ok` 个正常结束），验证损失介于
#   {glue:text}`loss_min:.3f` 与 {glue:text}`loss_max:.3f` 奈特/字节之间，开关组合间的标准差为
#   {glue:text}`loss_sd:.3f`。
# - 种子噪声：纯误差标准差为 {glue:text}`pe_sd:.4f`；扣除噪声后，组合间的标准差是种子标准差的
#   {glue:text}`spread_ratio:.1f` 倍。
# - 全关（PT）与全开（Llama）相差 {glue:text}`noise_gap:.3f` 奈特/字节
#   （95% 置信区间 {glue:text}`noise_gap_lo:.3f` 至 {glue:text}`noise_gap_hi:.3f`）。
# - {glue:md}`div_zh:myst`
# - 设计中 {glue:text}`n_triples` 个三元交互对比里有 {glue:text}`n_aliased` 个与二元交互混杂。
# - {glue:md}`rep_zh:myst`
# - {glue:md}`steps_zh:myst`
# - 开关的效应与交互作用见后面的 SHAP 与方差两章。

# %% [markdown] tags=["lang-en"]
# ## Summary
#
# - The sweep has {glue:text}`n_runs` runs ({glue:text}`n_ok` finished normally); validation
#   loss ranges from {glue:text}`loss_min:.3f` to {glue:text}`loss_max:.3f` nats/byte, with a
#   standard deviation of {glue:text}`loss_sd:.3f` across configs.
# - Seed noise: the pure-error sd is {glue:text}`pe_sd:.4f`; net of it, the configs' sd is
#   {glue:text}`spread_ratio:.1f` times the seed sd.
# - All off (PT) and all on (Llama) differ by {glue:text}`noise_gap:.3f` nats/byte (95% CI
#   {glue:text}`noise_gap_lo:.3f` to {glue:text}`noise_gap_hi:.3f`).
# - {glue:md}`div_en:myst`
# - {glue:text}`n_aliased` of the design's {glue:text}`n_triples` three-way contrasts are
#   aliased with two-way interactions.
# - {glue:md}`rep_en:myst`
# - {glue:md}`steps_en:myst`
# - The switches' effects and interactions are the subject of the SHAP and variance chapters.

# %% tags=["remove-cell"]
# the sweep supplies the data; Note 1's claims are decided in the SHAP chapter
record_claims("sweep", [])

# %% [markdown] tags=["lang-zh"]
# ## 试一试
#
# ```bash
# ptlab run sweep -p design=random -p n_configs=64   # 随机设计（没有规则的别名结构）
# ptlab run sweep -p noise_seeds=8                   # 参照组合用更多种子
# ptlab run sweep --profile full                     # 更大的模型与更长的训练（GPU）
# ```

# %% [markdown] tags=["lang-en"]
# ## Try
#
# ```bash
# ptlab run sweep -p design=random -p n_configs=64   # a random design (no regular aliasing)
# ptlab run sweep -p noise_seeds=8                   # more seeds for the anchors
# ptlab run sweep --profile full                     # larger models, longer training (GPU)
# ```
