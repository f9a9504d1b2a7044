"""Weight-sparse circuits: the top-k projection and its schedule, AbsTopK, the STE, ablation,
bisection, the edge counter, the task generators, a planted circuit, and the CLI's bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from ptlab import data
from ptlab.circuits import edges as ed
from ptlab.circuits import prune as pr
from ptlab.circuits import sparse as sp
from ptlab.circuits import tasks as tk
from ptlab.circuits.model import LOCATIONS, CircuitConfig, CircuitModel, NodeIndex

# --- sparse training ---------------------------------------------------------------------------


@pytest.mark.parametrize("axis", [0, 1])
def test_topk_projection_keeps_exactly_k_and_every_units_floor(axis):
    torch.manual_seed(0)
    w = torch.randn(48, 32)
    w[:, 5] *= 1e-3  # a column (and, for axis 1, entries of every row) that global top-k skips
    w[7, :] *= 1e-3  # a row of tiny weights: only the floor keeps it alive
    before = w.clone()
    k = sp.k_for(tuple(w.shape), 1 / 16, sp.FLOOR, axis)
    sp.project_topk(w, k, sp.FLOOR, axis)
    assert int((w != 0).sum()) == k
    per_unit = (w != 0).sum(dim=axis)
    assert int(per_unit.min()) >= sp.FLOOR
    kept = w != 0
    assert torch.equal(w[kept], before[kept])  # kept entries are untouched


def test_topk_projection_without_floor_keeps_the_largest_magnitudes():
    w = torch.tensor([[0.1, -3.0, 0.2], [2.0, -0.05, 1.0]])
    sp.project_topk(w, 3)
    assert torch.equal(w != 0, torch.tensor([[False, True, False], [True, False, True]]))


def test_k_is_raised_to_the_protected_count_when_the_fraction_asks_for_fewer():
    assert sp.k_for((16, 16), 1 / 64, 4, 1) == 16 * 4
    assert sp.k_for((16, 16), 1 / 2, 4, 1) == 128
    assert sp.k_for((16, 16), 1.0, 4, 1) == 256


def test_l0_schedule_is_dense_then_linear_then_the_target():
    f = lambda s: sp.l0_fraction(s, 1000, 0.1)  # noqa: E731
    assert f(0) == f(9) == 1.0
    assert f(10) == pytest.approx(1.0)
    assert f(255) == pytest.approx(1.0 + (0.1 - 1.0) * 245 / 490)
    assert f(500) == f(999) == 0.1
    assert all(f(s) >= f(s + 1) for s in range(999))


def test_sharkfin_factor_grows_to_one_as_the_model_sparsifies():
    s = sp.Sparsifier(steps=100, l0=0.25, embed_l0=0.5, targets={})
    assert s.lr_factor(0) == pytest.approx(0.5)
    assert s.lr_factor(60) == pytest.approx(1.0)
    assert s.lr_factor(20) < s.lr_factor(40)


def test_abs_topk_keeps_k_largest_magnitudes_per_location():
    torch.manual_seed(1)
    x = torch.randn(3, 5, 64)
    y = sp.abs_topk(x, 0.25)
    assert torch.equal((y != 0).sum(-1), torch.full((3, 5), 16))
    kept_min = torch.where(y != 0, x.abs(), torch.inf).amin(-1)
    dropped_max = torch.where(y == 0, x.abs(), 0.0).amax(-1)
    assert bool((kept_min > dropped_max).all())
    assert torch.equal(y[y != 0], x[y != 0])
    assert sp.abs_topk(x, 1.0) is x


def test_sparsifier_hook_projects_every_target_of_the_model():
    torch.manual_seed(0)
    m = CircuitModel(CircuitConfig(d_model=32, n_layers=1, seq_len=16))
    with torch.no_grad():
        for p in m.parameters():
            p.normal_()  # biases start at 0; give every entry a magnitude to rank
    hook = sp.Sparsifier(steps=10, l0=1 / 8, embed_l0=1 / 2, targets=m.sparse_targets())
    hook(m, 9)
    params = dict(m.named_parameters())
    for name, (group, axis) in m.sparse_targets().items():
        p = params[name]
        frac = 1 / 8 if group == "hidden" else 1 / 2
        floor = sp.FLOOR if axis is not None else 0
        assert int((p != 0).sum()) == sp.k_for(tuple(p.shape), frac, floor, axis), name
    assert bool((params["bigram"] != 0).all())  # never sparsified


# --- pruning -----------------------------------------------------------------------------------


def test_ste_is_heaviside_forward_and_sigmoid_derivative_backward():
    tau = torch.tensor([-0.5, -1e-3, 0.0, 0.3], requires_grad=True)
    for T in (1.0, 0.5):
        m = pr.heaviside_ste(tau, T)
        assert torch.equal(m, torch.tensor([0.0, 0.0, 1.0, 1.0]))
        (g,) = torch.autograd.grad((m * torch.tensor([1.0, 2.0, 3.0, 4.0])).sum(), tau)
        s = torch.sigmoid(tau.detach() / T)
        assert torch.allclose(g, torch.tensor([1.0, 2.0, 3.0, 4.0]) * s * (1 - s) / T)


@pytest.fixture(scope="module")
def tiny():
    """A random small model (AbsTopK on), its node means, and a few quote pairs."""
    torch.manual_seed(0)
    m = CircuitModel(CircuitConfig(d_model=32, n_layers=2, seq_len=64)).eval()
    batches = [torch.randint(0, 256, (4, 64)) for _ in range(2)]
    ts = tk.task_set(tk.make_pairs("quote", "train", 8, seed=0))
    return m, pr.node_means(m, batches), ts


def test_mean_ablation_with_a_mask_of_ones_is_the_unpruned_model(tiny):
    m, means, ts = tiny
    index = NodeIndex(m.cfg)
    with torch.no_grad():
        plain = m(ts.tokens)
        masked = m(ts.tokens, edit=pr.ablation_edit(index, torch.ones(index.n), means))
    assert torch.equal(plain, masked)


def test_ablating_every_node_makes_the_output_independent_of_the_prompt(tiny):
    m, means, ts = tiny
    index = NodeIndex(m.cfg)
    edit = pr.ablation_edit(index, torch.zeros(index.n), means)
    with torch.no_grad():
        logits = m(ts.tokens, edit=edit)
    last = logits[torch.arange(len(ts)), ts.last]
    # what remains is the direct path embedding → unembedding and the bigram table of the
    # last byte, which is the same within a pair (both prompts end in the same byte)
    assert torch.allclose(last[0::2], last[1::2], atol=1e-5)


def test_node_means_are_the_average_over_all_positions(tiny):
    m, _, _ = tiny
    b = torch.randint(0, 256, (3, 10))
    means = pr.node_means(m, [b])
    seen = {}

    def grab(layer, loc, x):
        seen[(layer, loc)] = x
        return x

    with torch.no_grad():
        m(b, edit=grab)
    for key, x in seen.items():
        assert torch.allclose(means[key], x.mean(dim=(0, 1)), atol=1e-6)
    assert set(means) == {(layer, loc) for layer in range(2) for loc in LOCATIONS}


def test_bisection_finds_the_smallest_passing_k_on_a_monotone_toy():
    for threshold in (0, 1, 17, 99, 100):
        calls = []

        def passes(k, t=threshold, calls=calls):
            calls.append(k)
            return k >= t

        assert pr.smallest_passing(passes, 100) == threshold
        assert len(calls) <= 2 + math.ceil(math.log2(101))
    assert pr.smallest_passing(lambda k: False, 100) is None


def test_top_k_breaks_ties_by_index():
    keep = pr.top_k(torch.tensor([0.5, 0.9, 0.5, 0.1, 0.5]), 3)
    assert keep.tolist() == [True, True, True, False, False]


# --- edges -------------------------------------------------------------------------------------


def _blank(d=16, n_layers=2) -> CircuitModel:
    m = CircuitModel(CircuitConfig(d_model=d, n_layers=n_layers, d_head=16, seq_len=16, afrac=1.0))
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
    return m


def test_edge_counter_on_a_hand_built_two_layer_model():
    m = _blank()
    index = NodeIndex(m.cfg)
    keep = torch.zeros(index.n, dtype=torch.bool)

    def on(layer, loc, *channels):
        for c in channels:
            keep[index.slices[(layer, loc)].start + c] = True

    b0, b1 = m.blocks
    with torch.no_grad():
        b0.c_fc.weight[3, 0] = 1.0  # mlp_in 0 → neuron 3
        b0.c_fc.weight[3, 1] = 1.0  # mlp_in 1 → neuron 3 (mlp_in 1 pruned: no edge)
        b0.c_fc.weight[4, 0] = 1.0  # → neuron 4 (pruned: no edge)
        b0.c_proj.weight[2, 3] = -2.0  # neuron 3 → mlp_out 2
        b1.attn.c_attn.weight[16 + 5, 2] = 1.0  # layer-1 attn_in 2 → k 5
        b1.attn.c_attn.weight[5, 2] = 1.0  # attn_in 2 → q 5
        b1.attn.c_attn.weight[32 + 7, 2] = 1.0  # attn_in 2 → v 7
        b1.attn.c_proj.weight[9, 7] = 1.0  # v 7 → attn_out 9
    on(0, "mlp_in", 0)
    on(0, "mlp_neuron", 3)
    on(0, "mlp_out", 2)
    on(1, "attn_in", 2, 3)  # channel 3 has no nonzero weight: no edge in the sparse model
    on(1, "attn_q", 5)
    on(1, "attn_k", 5)
    on(1, "attn_v", 7)
    on(1, "attn_out", 9)
    on(1, "mlp_in", 9, 2)
    # weights: c_fc 1, c_proj 1, c_attn 3, attn c_proj 1 = 6; q5↔k5 = 1;
    # residual: mlp_out(0) 2 → attn_in(1) 2 and → mlp_in(1) 2; attn_out(1) 9 → mlp_in(1) 9 = 3
    assert ed.count_edges(m, keep) == 10
    # a dense model counts every weight between kept nodes
    with torch.no_grad():
        for p in m.parameters():
            p.fill_(1.0)
    dense = 1 * 1 + 1 * 1 + 2 * 3 + 1 * 1 + 1 + 3  # attn_in {2, 3} × {q 5, k 5, v 7}
    assert ed.count_edges(m, keep) == dense


def test_residual_pairs_run_from_each_write_to_every_later_read():
    pairs = list(ed.residual_pairs(2))
    assert ((0, "attn_out"), (0, "mlp_in")) in pairs
    assert ((0, "mlp_out"), (1, "attn_in")) in pairs
    assert ((1, "attn_out"), (0, "mlp_in")) not in pairs
    assert len(pairs) == 3 + 2 + 1 + 0


# --- a planted circuit -------------------------------------------------------------------------

A, B, X, Y = ord("a"), ord("b"), ord("x"), ord("y")
PLANTED = {(0, "mlp_in", 0), (0, "mlp_neuron", 3), (0, "mlp_out", 1)}


def planted_model() -> CircuitModel:
    """One layer, every weight 0 but a hand-wired path: the last byte's residual channel 0
    (+1 for 'a', −1 for 'b') is read by mlp_in 0, turned on by neuron 3 (GELU) and written to
    mlp_out 1, which the unembedding reads as 'x' against 'y' (whose logit reads channel 2, a
    constant 1 in every byte's embedding). Neuron 5 responds to the cause too but writes nothing
    (a decoy)."""
    m = _blank(d=16, n_layers=1)
    b = m.blocks[0]
    with torch.no_grad():
        for norm in (b.ln_1, b.ln_2, m.ln_f):
            norm.weight.fill_(1.0)
        m.wte.weight[:, 2] = 1.0
        m.wte.weight[A, 0], m.wte.weight[B, 0] = 1.0, -1.0
        b.c_fc.weight[3, 0] = 1.0
        b.c_fc.weight[5, 0] = -1.0
        b.c_proj.weight[1, 3] = 1.0
        m.lm_head.weight[X, 1] = 3.0
        m.lm_head.weight[Y, 2] = 3.0 * 1.4
    return m.eval()


def planted_task(n: int, seed: int) -> tk.TaskSet:
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for _ in range(n):
        prefix = bytes(
            torch.randint(
                ord("c"), ord("h"), (int(torch.randint(1, 8, (1,), generator=g)),), generator=g
            ).tolist()
        )
        pairs.append(tk.Pair(prefix + b"a", prefix + b"b", b"x", b"y"))
    return tk.task_set(pairs)


def test_planted_model_solves_its_task_through_the_path():
    m, ts = planted_model(), planted_task(16, 0)
    with torch.no_grad():
        assert float(tk.task_loss(m, ts)) < 0.01


def test_pruning_recovers_exactly_the_planted_nodes():
    m = planted_model()
    means = pr.node_means(
        m, [torch.randint(0, 256, (8, 16), generator=torch.Generator().manual_seed(1))]
    )
    train, held = planted_task(32, 1), planted_task(32, 2)
    cfg = pr.PruneConfig(steps=100, batch_pairs=16, lr=1e-2)
    scores = pr.learn_scores(m, train, means, cfg, seed=0)
    keep = pr.circuit(m, train, means, scores, cfg.target)
    index = NodeIndex(m.cfg)
    assert {index.site_of(i) for i in keep.nonzero().flatten().tolist()} == PLANTED
    assert pr.loss_keeping(m, held, means, keep) <= cfg.target
    assert ed.count_edges(m, keep) == 2  # c_fc 0 → 3 and c_proj 3 → 1


# --- tasks ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("task", list(tk.TASKS))
def test_pairs_are_balanced_and_the_answer_is_the_first_differing_byte(task):
    for split in tk.SPLITS:
        pairs = tk.make_pairs(task, split, 40, seed=3)
        for p in pairs:
            pairs_of_bytes = zip(p.completion_a, p.completion_b, strict=False)
            first = next(i for i, (x, y) in enumerate(pairs_of_bytes) if x != y)
            assert first == 0
            assert p.prompt_a != p.prompt_b
            assert p.prompt_a[-1] == p.prompt_b[-1]  # the bigram table alone cannot tell
            assert max(len(p.prompt_a), len(p.prompt_b)) <= 63
        ts = tk.task_set(pairs)
        a_first = ts.correct[0::2]
        assert torch.equal(ts.correct[1::2], ts.alt[0::2])  # one a and one b per pair
        assert len(set(a_first.tolist())) == 1  # the answer bytes of a task are fixed
        assert int((ts.correct == a_first[0]).sum()) == len(pairs)  # half a, half b


def test_task_set_rows_end_at_the_last_prompt_byte():
    pairs = tk.make_pairs("quote", "train", 5, seed=0)
    ts = tk.task_set(pairs)
    for i, p in enumerate(pairs):
        row = ts.tokens[2 * i]
        assert row[0] == data.BOS
        assert bytes(row[1 : ts.last[2 * i] + 1].tolist()) == p.prompt_a
        assert bool((row[ts.last[2 * i] + 1 :] == data.PAD).all())


def _identifiers(text: bytes) -> set[str]:
    import re

    vocab = set(tk.WORDS) | {w for line in tk.FILLER for w in re.findall("[a-z]+", line)}
    vocab |= {
        "print",
        "set",
        "lambda",
        "def",
        "return",
        "while",
        "for",
        "in",
        "pass",
        "class",
        "self",
        "if",
        "with",
        "not",
        "add",
        "update",
        "append",
        "break",
        "f",
        "x",
        "n",
        "a",
        "True",
        "None",
        "is",
        "and",
    }
    return {w for w in re.findall(r"\b[a-z]+\b", text.decode()) if w not in vocab}


@pytest.mark.parametrize("task", list(tk.TASKS))
def test_heldout_pairs_share_no_identifier_and_no_prompt_with_pretraining(task):
    held = tk.make_pairs(task, "heldout", 40, seed=3)
    docs = b"\n".join(tk.documents(400, seed=0))
    for p in held:
        for prompt in (p.prompt_a, p.prompt_b):
            assert all(tk.name_split(w) == "heldout" for w in _identifiers(prompt))
            assert prompt not in docs
    assert all(tk.name_split(w) == "train" for w in _identifiers(docs))


def test_shuffled_labels_keep_the_balance_and_break_the_pairing():
    ts = tk.task_set(tk.make_pairs("quote", "train", 50, seed=0))
    sh = tk.shuffled_labels(ts, seed=1)
    assert torch.equal(
        torch.sort(torch.stack([sh.correct, sh.alt], 1), 1).values,
        torch.sort(torch.stack([ts.correct, ts.alt], 1), 1).values,
    )
    assert int((sh.correct == ord("'")).sum()) == 50
    assert 0.3 < float((sh.correct == ts.correct).float().mean()) < 0.7


def test_task_loss_is_the_two_way_cross_entropy():
    ts = tk.task_set(tk.make_pairs("quote", "train", 3, seed=0))
    logits = torch.zeros(len(ts), ts.tokens.shape[1], data.VOCAB_SIZE)
    assert torch.allclose(tk.task_losses(logits, ts), torch.full((len(ts),), math.log(2)))
    logits[torch.arange(len(ts)), ts.last, ts.correct] = 2.0
    expected = -torch.log_softmax(torch.tensor([2.0, 0.0]), 0)[0]
    assert torch.allclose(tk.task_losses(logits, ts), expected.expand(len(ts)))


def test_pretraining_stream_mixes_documents_into_the_stdlib():
    stream = tk.pretraining_stream(0.02, seed=0)
    n_train = len(data.load_corpus().tokens("train"))
    assert n_train * 1.01 < len(stream) < n_train * 1.04
    assert stream.dtype == data.load_corpus().tokens("train").dtype


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models on a shared 2-core machine: one thread is faster and steadier."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- the study's comparison --------------------------------------------------------------------


def _circ_rows(model, task, seed, edges, kind_loss):
    return {
        "model": model,
        "task": task,
        "ablation": "mean",
        "control": "none",
        "prune_seed": seed,
        "reached": True,
        "edges": edges,
    }


def test_matched_dense_edges_recover_a_planted_ratio():
    from ptlab.circuits import study

    models = pd.DataFrame(
        {
            "model": ["d1", "d2", "d3", "s1", "s2"],
            "kind": ["dense"] * 3 + ["sparse"] * 2,
            "pretrain_loss": [2.0, 2.2, 2.4, 2.1, 2.6],
        }
    )
    rows = []
    for seed, factor in ((0, 0.1), (1, 0.2)):
        for m, e in (("d1", 1000), ("d2", 100), ("d3", 10)):
            rows.append(_circ_rows(m, "quote", seed, e, None))
        rows.append(_circ_rows("s1", "quote", seed, factor * 10**2.5, None))  # dense at 2.1: 10^2.5
        rows.append(_circ_rows("s2", "quote", seed, 5.0, None))  # beyond the dense range
    ratios = study.ratio_table(models, pd.DataFrame(rows))
    s1 = ratios[ratios["model"] == "s1"].sort_values("prune_seed")
    assert np.allclose(s1["ratio"], [0.1, 0.2])
    assert set(s1["match"]) == {"interpolated"}
    s2 = ratios[ratios["model"] == "s2"]
    assert np.allclose(s2["dense_edges"], 10) and set(s2["match"]) == {"nearest"}
    assert np.allclose(s2["loss_gap"], 0.2) and np.allclose(s1["loss_gap"], 0.0)
    summary = study.ratio_summary(ratios).set_index(["model", "task"])
    assert summary.loc[("s1", "quote"), "ratio"] == pytest.approx(math.sqrt(0.1 * 0.2))
    assert summary.loc[("s1", "quote"), "ratio_min"] == pytest.approx(0.1)
    assert summary.loc[("s1", "all"), "ratio"] == pytest.approx(math.sqrt(0.1 * 0.2))


def test_overlap_of_identical_and_disjoint_node_sets():
    from ptlab.circuits.study import Circuit, overlap_table

    a = torch.tensor([True, True, False, False])
    res = {
        ("m", "t", "mean", "none", 0): Circuit({}, a),
        ("m", "t", "mean", "none", 1): Circuit({}, a),
        ("n", "t", "mean", "none", 0): Circuit({}, a),
        ("n", "t", "mean", "none", 1): Circuit({}, ~a),
    }
    table = overlap_table(res).set_index("model")
    assert table.loc["m", "jaccard"] == 1.0 and table.loc["n", "jaccard"] == 0.0


# --- the command -------------------------------------------------------------------------------


def _ptlab(*args, **kw):
    import subprocess
    import sys

    return subprocess.run(
        [sys.executable, "-m", "ptlab.cli", *args], capture_output=True, text=True, **kw
    )


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--tasks", "quote,nope"], "unknown task 'nope'"),
        (["--profile", "huge"], "unknown profile 'huge'"),
        (["--threads", "0"], "--threads must be >= 1"),
    ],
)
def test_circuits_command_rejects_bad_input_in_one_line_before_any_work(tmp_path, extra, message):
    out, res = tmp_path / "out", tmp_path / "res"
    r = _ptlab("circuits", "--out", str(out), "--results-dir", str(res), *extra)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and lines[0].startswith("ptlab: error:"), (
        r.stderr
    )
    assert not out.exists() and not res.exists()


def test_circuits_command_writes_the_tables_and_one_state_dict_per_model(tmp_path):
    out = tmp_path / "out"
    r = _ptlab(
        "circuits",
        "--profile",
        "smoke",
        "--tasks",
        "quote",
        "--out",
        str(out),
        "--results-dir",
        str(tmp_path / "res"),
    )
    assert r.returncode == 0, r.stderr
    models = pd.read_csv(out / "models.csv")
    circ = pd.read_csv(out / "circuits.csv")
    assert list(models.columns[:8]) == [
        "model",
        "kind",
        "d_model",
        "n_layers",
        "l0_fraction",
        "nonzero_params",
        "total_params",
        "pretrain_loss",
    ]
    assert {
        "model",
        "task",
        "ablation",
        "target_loss",
        "nodes",
        "edges",
        "heldout_task_loss",
        "full_task_loss",
        "necessity_loss",
        "random_necessity_loss",
        "control",
    } <= set(circ)
    assert set(circ["control"]) == {"none", "random_init", "shuffled"}
    for row in models.itertuples():
        state = torch.load(out / "weights" / f"{row.model}.pt", weights_only=True)
        nz = sum(int((v != 0).sum()) for k, v in state.items() if v.dim() == 2 and k != "bigram")
        assert nz == row.nonzero_params
    assert not list(out.rglob("*.tmp"))


# --- verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lo,hi,word",
    [
        (0.05, 0.5, "smaller"),
        (0.5, 1.5, "cannot tell"),
        (1.2, 3.0, "larger"),
        (0.9, 0.99, "smaller"),
    ],
)
def test_ratio_verdict_crosses_one(lo, hi, word):
    from ptlab.circuits import verdicts as vd

    summary = pd.DataFrame(
        [
            {
                "model": "s",
                "task": "all",
                "ratio": (lo + hi) / 2,
                "ratio_min": lo,
                "ratio_max": hi,
                "seeds": 2,
                "match": "",
            }
        ]
    )
    assert word in vd.ratio_verdict(summary)[1]


def _circ(**kw):
    base = {
        "model": "s",
        "task": "quote",
        "ablation": "mean",
        "control": "none",
        "prune_seed": 0,
        "target_loss": 0.15,
        "reached": True,
        "nodes": 10,
        "edges": 100,
        "heldout_task_loss": 0.1,
        "full_task_loss": 0.05,
        "necessity_loss": 1.0,
        "random_necessity_loss": 0.2,
    }
    return {**base, **kw}


@pytest.mark.parametrize(
    "held,nec,rand,suff_holds,nec_holds",
    [
        (0.1, 1.0, 0.2, True, True),
        (0.2, 1.0, 0.2, False, True),
        (0.1, 0.6, 0.2, True, False),
        (0.1, 1.0, 1.2, True, False),
    ],
)
def test_validation_table_thresholds(held, nec, rand, suff_holds, nec_holds):
    from ptlab.circuits import verdicts as vd

    circ = pd.DataFrame(
        [_circ(heldout_task_loss=held, necessity_loss=nec, random_necessity_loss=rand)]
    )
    overlap = pd.DataFrame(
        {"model": ["s"], "task": ["quote"], "seeds": ["0–1"], "shared_nodes": [5], "jaccard": [0.4]}
    )
    t = vd.validation_table(circ, overlap).set_index("check")
    assert bool(t.loc["sufficiency", "holds"]) == suff_holds
    assert bool(t.loc["necessity", "holds"]) == nec_holds
    assert not bool(t.loc["seed_overlap", "holds"])  # Jaccard 0.4 < 0.5


@pytest.mark.parametrize("edges,small", [(150, True), (250, False)])
def test_controls_verdict_says_when_a_control_finds_a_small_circuit(edges, small):
    from ptlab.circuits import verdicts as vd

    circ = pd.DataFrame(
        [
            _circ(),
            _circ(control="shuffled", edges=edges),
            _circ(control="random_init", reached=False, edges=np.nan),
        ]
    )
    zh, en = vd.controls_verdict(circ)
    assert ("can create circuits" in en) == small
    assert "never reached the target" in en  # the random-init control
    assert zh and "造出" in zh


@pytest.mark.parametrize("acc_long,falls", [(0.85, True), (0.95, False)])
def test_dilution_verdict_needs_a_drop_of_a_tenth(acc_long, falls):
    from ptlab.circuits import verdicts as vd

    dil = pd.DataFrame(
        {
            "model": ["m", "m"],
            "elements": [1, 8],
            "accuracy": [0.96, acc_long],
            "task_loss": [0.1, 0.3],
        }
    )
    assert ("`m`" in vd.dilution_verdict(dil)[1]) == falls


def test_a_kept_node_without_incoming_edges_is_counted_as_a_constant():
    m = _blank()
    index = NodeIndex(m.cfg)
    keep = torch.zeros(index.n, dtype=torch.bool)
    with torch.no_grad():
        m.blocks[0].c_fc.weight[3, 0] = 1.0
    for site, ch in (((0, "mlp_in"), 0), ((0, "mlp_neuron"), 3), ((0, "mlp_neuron"), 7)):
        keep[index.slices[site].start + ch] = True
    assert ed.constant_nodes(m, keep) == 1  # neuron 7: no kept input reaches it
    nodes, links = ed.site_counts(m, keep)
    assert nodes[(0, "mlp_neuron")] == 2 and links[((0, "mlp_in"), (0, "mlp_neuron"))] == 1


@pytest.mark.parametrize(
    "rows,task,has",
    [
        ([(0, "mlp_neuron"), (1, "attn_q"), (1, "attn_k"), (1, "attn_v")], "quote", True),
        ([(0, "mlp_neuron"), (0, "attn_q"), (0, "attn_k"), (0, "attn_v")], "quote", False),
        ([(0, "mlp_neuron"), (1, "attn_v")], "quote", False),
        ([(0, "attn_v"), (1, "attn_v")], "bracket", True),
        ([(0, "attn_v"), (0, "mlp_neuron")], "bracket", False),
    ],
)
def test_paper_shape_needs_the_papers_ingredients_in_order(rows, task, has):
    from ptlab.circuits import verdicts as vd

    nodes = pd.DataFrame(
        [
            {
                "layer": la,
                "location": lo,
                "channel": 0,
                "head": 0,
                "mean_a": 0.0,
                "mean_b": 0.0,
                "contrast": 1.0,
            }
            for la, lo in rows
        ]
    )
    assert vd.paper_shape(nodes, task) == has


def test_frontier_verdict_compares_l0_at_one_width_and_says_width_is_untested():
    from ptlab.circuits import verdicts as vd

    models = pd.DataFrame(
        {
            "model": ["a", "b"],
            "kind": ["sparse", "sparse"],
            "d_model": [96, 96],
            "l0_fraction": [0.125, 0.25],
            "pretrain_loss": [2.1, 2.0],
        }
    )
    circ = pd.DataFrame([_circ(model="a", edges=100), _circ(model="b", edges=400)])
    zh, en = vd.frontier_verdict(models, circ)
    assert "0.100 higher" in en and "100 vs 400" in en and "not tested" in en
    assert "高 0.100" in zh


def test_circuit_words_report_the_parts_and_the_comparison_with_the_paper():
    from ptlab.circuits import verdicts as vd

    rows = [
        (0, "attn_in", 1, -1, 0.1),
        (0, "mlp_neuron", 7, -1, 3.0),
        (1, "attn_q", 2, 0, 0.0),
        (1, "attn_k", 2, 0, 0.0),
        (1, "attn_v", 5, 0, -0.5),
    ]
    nodes = pd.DataFrame(
        [
            {
                "layer": la,
                "location": lo,
                "channel": c,
                "head": h,
                "mean_a": 0.0,
                "mean_b": 0.0,
                "contrast": x,
            }
            for la, lo, c, h, x in rows
        ]
    )
    zh, en = vd.circuit_words(nodes, "quote", "m", edges=4, constant=1)
    assert "5 nodes and 4 edges" in en and "layer 0 mlp_neuron channel 7" in en
    assert "this circuit has a head" in en and "0.42× as many" in en
    assert "5 个节点、4 条边" in zh and "本电路有" in zh
    zh, en = vd.circuit_words(nodes[nodes["layer"] == 0], "quote", "m", edges=1, constant=0)
    assert "lacks" in en and "本电路没有" in zh
