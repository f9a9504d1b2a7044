"""The circuits chapter's generated sentences and its validation table, each from the study's
tables (``ptlab.circuits.study``), so no number or conclusion in its prose is typed by hand.
Sentences are returned as (zh, en). Shown in: chapter *circuits*.

Thresholds (decisions):

* Sufficiency holds for a circuit when its held-out loss alone is ≤ its target.
* Necessity holds when ablating only the circuit leaves a held-out loss ≥ ln 2 (chance) and
  above the loss after ablating as many random nodes.
* A control "also finds a circuit" when its pruning reaches the target on the pruning pairs;
  it is "small" when its median edge count is at most twice that of the real circuits of the
  same model.
* Context dilution is seen when a model's bracket accuracy at the longest list is at least
  0.1 below its accuracy at the shortest.
* Sparse circuits are called smaller than dense ones when the whole seed range of the ratio is
  below 1, larger when it is above 1, and not distinguishable otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

PAPER_RATIO = 1 / 16  # Gao et al.: sparse circuits ≈ 16x smaller at matched pretraining loss
CHANCE = math.log(2)

Pair = tuple[str, str]


def _fmt_tasks(tasks: list[str]) -> str:
    return ", ".join(f"`{t}`" for t in tasks) if tasks else "—"


def solved_lines(tasks: pd.DataFrame) -> Pair:
    """Which tasks every model, some models, or no model solves."""
    by_task = tasks.groupby("task")["solved"]
    every = sorted(t for t, s in by_task if s.all())
    some = sorted(t for t, s in by_task if s.any() and not s.all())
    none = sorted(t for t, s in by_task if not s.any())
    return (
        f"所有模型都解决的任务：{_fmt_tasks(every)}；部分模型解决的任务：{_fmt_tasks(some)}；"
        f"没有模型解决的任务：{_fmt_tasks(none)}。",
        f"Tasks every model solves: {_fmt_tasks(every)}; tasks some models solve: "
        f"{_fmt_tasks(some)}; tasks no model solves: {_fmt_tasks(none)}.",
    )


def ratio_lines(summary: pd.DataFrame) -> Pair:
    """One bullet per sparse model: the geometric-mean edge ratio over tasks, its range over
    seeds, the per-task ratios, and the largest pretraining-loss gap to a matched dense model."""
    rows = summary[summary["task"] == "all"]
    if rows.empty:
        return (
            "- 没有可以比较的电路（稀疏与稠密模型没有共同解决的任务）。",
            "- No circuits to compare (no task solved by sparse and dense models alike).",
        )
    zh, en = [], []
    for r in rows.itertuples():
        per = summary[(summary["model"] == r.model) & (summary["task"] != "all")]
        tasks = ", ".join(f"{t.task} {t.ratio:.2g}" for t in per.itertuples())
        zh.append(
            f"- `{r.model}`：几何平均 {r.ratio:.2g}（{r.seeds} 个剪枝种子间 "
            f"{r.ratio_min:.2g}–{r.ratio_max:.2g}）；各任务：{tasks}；与所匹配的稠密模型"
            f"预训练损失之差至多 {r.loss_gap:.3f}。"
        )
        en.append(
            f"- `{r.model}`: geometric mean {r.ratio:.2g} (range over {r.seeds} pruning "
            f"seeds {r.ratio_min:.2g}–{r.ratio_max:.2g}); per task: {tasks}; pretraining "
            f"losses within {r.loss_gap:.3f} of the matched dense models."
        )
    return "\n".join(zh), "\n".join(en)


def ratio_verdict(summary: pd.DataFrame) -> Pair:
    """Smaller, larger or not distinguishable, against the paper's ≈ 1/16."""
    rows = summary[summary["task"] == "all"]
    if rows.empty:
        return (
            "本次运行无法比较稀疏与稠密模型的电路大小。",
            "This run cannot compare sparse and dense circuit sizes.",
        )
    lo, hi, mid = rows["ratio_min"].min(), rows["ratio_max"].max(), float(rows["ratio"].median())
    paper = f"1/{1 / PAPER_RATIO:.0f}"
    if hi < 1:
        zh = (
            f"在匹配的预训练损失下，每个剪枝种子中稀疏模型的电路都比稠密模型小："
            f"边数比在 {lo:.2g} 与 {hi:.2g} 之间，即小 {1 / hi:.1f} 到 {1 / lo:.0f} 倍"
            f"（中位数 {mid:.2g}），倍数随剪枝种子变化很大；论文报告约 {paper}。"
        )
        en = (
            f"At matched pretraining loss the sparse models' circuits are smaller than the dense "
            f"ones in every pruning seed: the edge ratio lies between {lo:.2g} and {hi:.2g}, i.e. "
            f"{1 / hi:.1f}× to {1 / lo:.0f}× smaller (median {mid:.2g}), a factor that depends "
            f"strongly on the seed; the paper reports about {paper}."
        )
    elif lo > 1:
        zh = (
            f"在匹配的预训练损失下，稀疏模型的电路反而比稠密模型大：边数比在 {lo:.2g} 与 "
            f"{hi:.2g} 之间，与论文（约 {paper}）相反。"
        )
        en = (
            f"At matched pretraining loss the sparse models' circuits are larger than the dense "
            f"ones: the edge ratio lies between {lo:.2g} and {hi:.2g}, the opposite of the "
            f"paper's about {paper}."
        )
    else:
        zh = (
            f"在匹配的预训练损失下，边数比在 {lo:.2g} 与 {hi:.2g} 之间跨过 1（中位数 {mid:.2g}），"
            f"本次运行区分不出稀疏与稠密模型的电路大小；论文报告约 {paper}。"
        )
        en = (
            f"At matched pretraining loss the edge ratio spans 1 ({lo:.2g} to {hi:.2g}, median "
            f"{mid:.2g}), so this run cannot tell sparse from dense circuit sizes apart; the "
            f"paper reports about {paper}."
        )
    return zh, en


def _median(x) -> float:
    x = pd.Series(x).dropna()
    return float(x.median()) if len(x) else float("nan")


def validation_table(circ: pd.DataFrame, overlap: pd.DataFrame) -> pd.DataFrame:
    """One row per check: what was measured (medians over circuits) and its verdict."""
    main = circ[(circ["control"] == "none") & (circ["ablation"] == "mean") & circ["reached"]]
    zero = circ[(circ["control"] == "none") & (circ["ablation"] == "zero") & circ["reached"]]
    rows = []
    if len(main):
        suff = (main["heldout_task_loss"] <= main["target_loss"]).mean()
        nec = (
            (main["necessity_loss"] >= CHANCE)
            & (main["necessity_loss"] > main["random_necessity_loss"])
        ).mean()
        rows += [
            ("sufficiency", f"{suff:.0%}", _median(main["heldout_task_loss"]), suff >= 0.5),
            ("necessity", f"{nec:.0%}", _median(main["necessity_loss"]), nec >= 0.5),
            ("random_ablation", "", _median(main["random_necessity_loss"]), None),
        ]
    if len(zero) and len(main):
        z = _median(zero["edges"]) / max(_median(main["edges"]), 1)
        rows.append(("zero_vs_mean_edges", "", z, None))
    for control in ("random_init", "shuffled"):
        c = circ[circ["control"] == control]
        if len(c):
            reached = c["reached"].mean()
            rows.append(
                (control, f"{reached:.0%}", _median(c[c["reached"]]["edges"]), not reached > 0)
            )
    if len(overlap):
        j = _median(overlap["jaccard"])
        rows.append(("seed_overlap", "", j, j >= 0.5))
    return pd.DataFrame(rows, columns=["check", "share", "median", "holds"])


CHECK_LABELS = {
    "sufficiency": ("充分性：电路单独在留出集上 ≤ 目标", "sufficiency: circuit alone ≤ target"),
    "necessity": (
        "必要性：消融电路后 ≥ ln 2 且高于随机消融",
        "necessity: circuit ablated ≥ ln 2 and above random",
    ),
    "random_ablation": ("消融同样多随机节点后的损失", "loss with as many random nodes ablated"),
    "zero_vs_mean_edges": ("零消融 / 均值消融的边数之比", "edges, zero / mean ablation"),
    "random_init": ("对照：随机初始化模型达到目标", "control: random-init model reaches target"),
    "shuffled": ("对照：打乱标签的任务达到目标", "control: shuffled labels reach target"),
    "seed_overlap": ("不同剪枝种子的节点重合（Jaccard）", "node overlap across seeds (Jaccard)"),
}


def show_validation(table: pd.DataFrame) -> pd.DataFrame:
    """The validation table for the page: bilingual check names and verdicts."""
    verdict = {True: "成立 · holds", False: "不成立 · fails", None: "—"}
    out = pd.DataFrame(
        {
            "检验 · check": [" · ".join(CHECK_LABELS[c]) for c in table["check"]],
            "比例 · share": table["share"],
            "中位数 · median": table["median"].round(3),
            "结论 · verdict": [verdict[h if h is None else bool(h)] for h in table["holds"]],
        }
    )
    return out.set_index("检验 · check")


def controls_verdict(circ: pd.DataFrame) -> Pair:
    """Whether the controls also yield circuits, and how small, against the real ones."""
    main = circ[(circ["control"] == "none") & (circ["ablation"] == "mean") & circ["reached"]]
    zh, en = [], []
    names = {
        "random_init": ("随机初始化的模型", "the randomly initialised models"),
        "shuffled": ("打乱标签的任务", "the tasks with shuffled labels"),
    }
    for control, (zh_name, en_name) in names.items():
        c = circ[circ["control"] == control]
        if c.empty:
            continue
        hit = c[c["reached"]]
        if hit.empty:
            zh.append(f"{zh_name}在剪枝集上从未达到目标，剪枝没有“造出”电路。")
            en.append(
                f"Pruning {en_name} never reached the target on the pruning pairs: it did "
                "not create circuits."
            )
            continue
        real = main[main["model"].isin(hit["model"]) & main["task"].isin(hit["task"])]
        small = len(real) and _median(hit["edges"]) <= 2 * _median(real["edges"])
        held = _median(hit["heldout_task_loss"])
        zh.append(
            f"{zh_name}有 {len(hit)}/{len(c)} 次在剪枝集上达到目标（中位数 "
            f"{_median(hit['edges']):.0f} 条边，留出集损失中位数 {held:.2f}）"
            + (
                "，电路与真实任务的电路一样小：均值消融剪枝在这里能“造出”电路。"
                if small
                else "，但电路明显更大。"
            )
        )
        en.append(
            f"Pruning {en_name} reached the target on the pruning pairs in {len(hit)} of "
            f"{len(c)} runs (median {_median(hit['edges']):.0f} edges, median held-out "
            f"loss {held:.2f})"
            + (
                "; those circuits are as small as the real ones, so mean-ablation pruning "
                "can create circuits here."
                if small
                else ", with clearly larger circuits."
            )
        )
    return " ".join(zh), " ".join(en)


def dilution_verdict(dil: pd.DataFrame) -> Pair:
    """Does the unpruned models' bracket accuracy fall as the list grows?"""
    if dil.empty:
        return ("没有上下文稀释的数据。", "No context-dilution data.")
    lo, hi = dil["elements"].min(), dil["elements"].max()
    acc = dil.pivot(index="model", columns="elements", values="accuracy")
    drop = acc[lo] - acc[hi]
    falling = sorted(drop[drop >= 0.1].index)
    zh = (
        f"列表元素从 {lo} 个增加到 {hi} 个时，准确率下降至少 0.1 的模型：{_fmt_tasks(falling)}"
        f"（下降幅度中位数 {float(np.median(drop)):.2f}）。"
    )
    en = (
        f"Models whose accuracy falls by at least 0.1 as the list grows from {lo} to {hi} "
        f"elements: {_fmt_tasks(falling)} (median drop {float(np.median(drop)):.2f})."
    )
    return zh, en


PAPER_NODES = {"quote": 12, "bracket": 7}  # the paper's circuits (Note 4; the brief's §3.5)
PAPER_SHAPES = {
    "quote": (
        "论文中的引号电路（12 个节点、9 条边）：第 0 层的两个 MLP 神经元"
        "（引号检测器与引号类型分类器），加上较深一层的一个注意力头，"
        "用一个 q·k 通道和一个 v 通道把引号类型复制到最后一个位置",
        "the paper's quote circuit (12 nodes, 9 edges): two layer-0 MLP neurons (a quote detector "
        "and a quote-type classifier) and an attention head in a later layer whose one q·k and "
        "one v channel copy the type to the last position",
        "MLP 神经元之后一层的注意力头（保留 q、k 与 v 通道）",
        "a head with q, k and v channels in a layer after an MLP neuron",
    ),
    "bracket": (
        "论文中的括号电路（7 个节点、4 条边）：`[` 的检测通道，被一个注意力头平均成“深度”通道，"
        "再由较深一层的一个头借注意力汇（sink）做阈值判断",
        "the paper's bracket circuit (7 nodes, 4 edges): a `[` detector channel that an attention "
        "head averages into a depth channel, thresholded by a head in a later layer through its "
        "attention sink",
        "两个不同层中带 v 通道的注意力头",
        "attention heads with v channels in two different layers",
    ),
}


def paper_shape(nodes: pd.DataFrame, task: str) -> bool:
    """Does the circuit have the paper's ingredients? quote: a head with q, k and v channels in
    a layer after a kept MLP neuron; bracket: heads with v channels in two layers."""
    v_layers = set(nodes[nodes["location"] == "attn_v"]["layer"])
    if task == "bracket":
        return len(v_layers) >= 2
    neurons = nodes[nodes["location"] == "mlp_neuron"]["layer"]
    if neurons.empty:
        return False
    qk = set(nodes[nodes["location"] == "attn_q"]["layer"]) & set(
        nodes[nodes["location"] == "attn_k"]["layer"]
    )
    return any(layer > neurons.min() for layer in v_layers & qk)


def circuit_words(nodes: pd.DataFrame, task: str, model: str, edges: int, constant: int) -> Pair:
    """What a circuit is made of (per layer: MLP neurons, heads with their q/k/v channels,
    residual channels), its constant nodes, its most contrastive node, and whether it has the
    paper's ingredients (``paper_shape``)."""
    if nodes.empty:
        return (
            f"`{model}` 在 `{task}` 上不保留任何节点就达到了目标（全部节点均值消融）。",
            f"`{model}` meets the target on `{task}` with no node kept (all mean-ablated).",
        )
    parts_zh, parts_en = [], []
    for layer, g in nodes.groupby("layer"):
        n_neur = int((g["location"] == "mlp_neuron").sum())
        heads = sorted(set(g[g["head"] >= 0]["head"]))
        n_qkv = int((g["head"] >= 0).sum())
        resid = int(g["location"].isin(["attn_in", "attn_out", "mlp_in", "mlp_out"]).sum())
        parts_zh.append(
            f"第 {layer} 层 {n_neur} 个 MLP 神经元、{len(heads)} 个注意力头的 "
            f"{n_qkv} 个 q/k/v 通道、{resid} 个残差读写通道"
        )
        parts_en.append(
            f"layer {layer}: {n_neur} MLP neurons, {n_qkv} q/k/v channels of "
            f"{len(heads)} heads, {resid} residual read/write channels"
        )
    top = nodes.loc[nodes["contrast"].abs().idxmax()]
    zh = (
        f"`{model}` 在 `{task}` 上的最小电路有 {len(nodes)} 个节点、{edges} 条边："
        + "；".join(parts_zh)
        + f"。没有任何输入边的节点有 {constant} 个：其输入全被消融，"
        "它们是常数，作用相当于偏置。两条提示之间差异最大的节点是"
        f"第 {top.layer} 层 {top.location} 通道 {top.channel}（对比度 {top.contrast:+.1f}）。"
    )
    en = (
        f"The smallest circuit of `{model}` on `{task}` has {len(nodes)} nodes and {edges} "
        "edges: " + "; ".join(parts_en) + f". Nodes with no incoming edge: {constant}; with all "
        "their inputs ablated they are constants and act like biases. The node that "
        f"differs most between the two prompts is layer {top.layer} {top.location} channel "
        f"{top.channel} (contrast {top.contrast:+.1f})."
    )
    if task in PAPER_SHAPES:
        zh_p, en_p, zh_i, en_i = PAPER_SHAPES[task]
        has, times = paper_shape(nodes, task), len(nodes) / PAPER_NODES[task]
        zh += f"对照{zh_p}：本电路{'有' if has else '没有'}{zh_i}，节点数是它的 {times:.2g} 倍。"
        en += (
            f" Compared with {en_p}, this circuit {'has' if has else 'lacks'} {en_i} and "
            f"has {times:.2g}× as many nodes."
        )
    return zh, en


def validation_lines(table: pd.DataFrame) -> Pair:
    """Sufficiency, necessity and seed overlap in one sentence, from ``validation_table``."""
    t = table.set_index("check")
    if "sufficiency" not in t.index:
        return (
            "没有达到目标的电路可供验证。",
            "No circuit reached its target, so none is validated.",
        )
    suff, nec = t.loc["sufficiency"], t.loc["necessity"]
    rand = t.loc["random_ablation", "median"]
    zh = (
        f"{suff['share']} 的电路在留出集上单独达到目标（留出集损失中位数 {suff['median']:.3f}）；"
        f"{nec['share']} 的电路通过必要性检验（消融电路后损失中位数 {nec['median']:.2f}，"
        f"消融同样多随机节点后为 {rand:.2f}）"
    )
    en = (
        f"{suff['share']} of the circuits reach the target alone on the held-out split (median "
        f"held-out loss {suff['median']:.3f}); {nec['share']} pass the necessity check (median "
        f"loss {nec['median']:.2f} with the circuit ablated, {rand:.2f} with as many random "
        "nodes ablated)"
    )
    if "seed_overlap" in t.index:
        j = t.loc["seed_overlap", "median"]
        zh += f"；两个剪枝种子所得节点集合的 Jaccard 重合度中位数为 {j:.2f}"
        en += f"; the node sets of two pruning seeds overlap with a median Jaccard of {j:.2f}"
    return zh + "。", en + "."


def _geo_edges(circ: pd.DataFrame, model: str, tasks: list[str]) -> float:
    c = circ[
        (circ["model"] == model)
        & circ["task"].isin(tasks)
        & circ["reached"]
        & (circ["control"] == "none")
        & (circ["ablation"] == "mean")
    ]
    e = c.groupby("task")["edges"].apply(lambda x: np.exp(np.log(x.clip(lower=1)).mean()))
    return float(np.exp(np.log(e).mean())) if len(e) == len(tasks) and len(e) else float("nan")


def frontier_verdict(models: pd.DataFrame, circ: pd.DataFrame) -> Pair:
    """The paper's two frontier claims, where this run can test them: lower L0 at one width
    gives worse loss and smaller circuits; a wider model at one L0 is better on both."""
    sp = models[models["kind"] == "sparse"]
    main = circ[(circ["control"] == "none") & (circ["ablation"] == "mean") & circ["reached"]]
    zh, en = [], []
    tested_width = False
    for what, key, other in (("l0", "d_model", "l0_fraction"), ("width", "l0_fraction", "d_model")):
        for _, g in sp.groupby(key):
            if len(g) < 2:
                continue
            g = g.sort_values(other)
            lo, hi = g.iloc[0], g.iloc[-1]  # lower L0 / narrower first
            common = sorted(
                set(main[main["model"] == lo["model"]]["task"])
                & set(main[main["model"] == hi["model"]]["task"])
            )
            e_lo, e_hi = (
                _geo_edges(circ, lo["model"], common),
                _geo_edges(circ, hi["model"], common),
            )
            dl = lo["pretrain_loss"] - hi["pretrain_loss"]
            edges = f"{e_lo:.0f} vs {e_hi:.0f}" if common else "—"
            if what == "l0":
                zh.append(
                    f"宽度 {lo['d_model']} 下，L0 {lo['l0_fraction']:g} 比 {hi['l0_fraction']:g} 的"
                    f"预训练损失{'高' if dl > 0 else '低'} {abs(dl):.3f}，共同任务"
                    f"（{len(common)} 个）上电路边数的几何平均为 {edges}。"
                )
                en.append(
                    f"At width {lo['d_model']}, L0 {lo['l0_fraction']:g} has a pretraining "
                    f"loss {abs(dl):.3f} {'higher' if dl > 0 else 'lower'} than L0 "
                    f"{hi['l0_fraction']:g}, and geometric-mean circuit edges on their "
                    f"{len(common)} common tasks of {edges}."
                )
            else:
                zh.append(
                    f"L0 {lo['l0_fraction']:g} 下，宽度 {lo['d_model']} 比 {hi['d_model']} 的"
                    f"预训练损失{'高' if dl > 0 else '低'} {abs(dl):.3f}，电路边数 {edges}。"
                )
                en.append(
                    f"At L0 {lo['l0_fraction']:g}, width {lo['d_model']} has a pretraining "
                    f"loss {abs(dl):.3f} {'higher' if dl > 0 else 'lower'} than width "
                    f"{hi['d_model']}, and circuit edges of {edges}."
                )
    if not tested_width:
        zh.append("本次运行只有一种稀疏宽度，“固定 L0 加宽更好”这一条没有检验。")
        en.append(
            "This run has a single sparse width, so the claim that widening at fixed L0 "
            "helps is not tested."
        )
    return " ".join(zh), " ".join(en)
