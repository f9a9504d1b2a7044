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


def test_ranking_breaks_ties_by_attribution_then_by_the_seed_never_by_index():
    tau = torch.tensor([0.5, 0.9, 0.5, 0.1, 0.5])
    attribution = torch.tensor([0.0, 0.0, 2.0, 0.0, 1.0])
    assert pr.rank(tau, attribution, seed=0).tolist() == [1, 2, 4, 0, 3]
    flat = torch.zeros(60)
    orders = [pr.rank(flat, flat, seed=s).tolist() for s in (0, 1)]
    assert orders[0] != list(range(60)) and orders[1] != list(range(60))
    assert orders[0] != orders[1]  # two pruning seeds do not share an order the model lacks
    assert sorted(orders[0]) == list(range(60))
    assert pr.rank(flat, flat, seed=0).tolist() == orders[0]  # reproducible


def test_calibration_recovers_a_planted_scale_and_shift():
    g = torch.Generator().manual_seed(0)
    n = 400
    # the true binary logit (a answer over b answer) is 3·δ − 1: draw each row's answer from it
    delta = torch.randn(n, generator=g)
    first = torch.rand(n, generator=g) < torch.sigmoid(3.0 * delta - 1.0)  # correct is a
    sign = first.float() * 2 - 1
    margin = sign * delta  # z_correct − z_alt
    two = torch.stack([margin, torch.zeros(n)], 1)
    a, b = pr.fit_calibration(two, first)
    assert a == pytest.approx(3.0, abs=0.6) and b == pytest.approx(-1.0, abs=0.4)
    fitted = pr.calibrated_losses(two, first, (a, b)).mean()
    plain = pr.calibrated_losses(two, first, pr.IDENTITY).mean()
    assert fitted < plain


def test_calibration_never_makes_the_loss_worse_and_a_common_shift_cancels():
    g = torch.Generator().manual_seed(1)
    two = torch.randn(50, 2, generator=g) * 5
    first = torch.arange(50) % 2 == 0
    cal = pr.fit_calibration(two, first)
    assert float(pr.calibrated_losses(two, first, cal).mean()) <= float(
        pr.calibrated_losses(two, first, pr.IDENTITY).mean()
    )
    # a shift of every logit (both candidates) changes nothing
    assert torch.allclose(
        pr.calibrated_losses(two + 7.0, first, cal), pr.calibrated_losses(two, first, cal)
    )


def test_the_grid_runs_from_the_largest_k_coef_and_resumes_smaller():
    cfg = pr.PruneConfig(k_coefs=(1e-4, 1e-3, 3e-4), resumes=2)
    assert cfg.grid() == pytest.approx((1e-3, 3e-4, 1e-4, 2.5e-5, 6.25e-6))


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


# --- a planted circuit ---------------------------------------------------------------------------

A, B, X, Y = ord("a"), ord("b"), ord("x"), ord("y")
CONST = 5  # a residual channel that is 1 in every byte's embedding
PLANTED = {
    (0, "mlp_in", 0),
    (0, "mlp_neuron", 3),
    (0, "mlp_out", 1),
    (1, "mlp_in", 1),
    (1, "mlp_neuron", 7),
    (1, "mlp_out", 2),
}
PLANTED_EDGES = 5  # c_fc 0→3, c_proj 3→1, residual 1 (layer 0 → 1), c_fc 1→7, c_proj 7→2


def planted_model(d: int = 128, density: float = 1 / 32, seed: int = 0) -> CircuitModel:
    """Two layers of width ``d``, every matrix random and sparse (``density``, small weights),
    plus a hand-wired path: the last byte's residual channel 0 (+1 for 'a', −1 for 'b') is read
    by layer 0's mlp_in 0 into neuron 3, which works in GELU's linear range (bias +20, taken
    back by the write's bias) and writes ±0.4 to channel 1; layer 1's neuron 7 does the same from
    channel 1 to channel 2, which the unembedding reads as 'x' (+) against 'y' (−). Every
    stage carries the cause as a sign only, and the embeddings of 'a' and 'b' differ only in
    channel 0, so no norm sees a different scale and a cut path leaves the two prompts
    identical. No random weight writes to the path's channels; neuron 5 of layer 0 reads the
    cause too but writes nothing (a decoy)."""
    g = torch.Generator().manual_seed(seed)
    m = CircuitModel(CircuitConfig(d_model=d, n_layers=2, d_head=16, seq_len=16, afrac=1.0))
    with torch.no_grad():
        for name, p in m.named_parameters():
            if ".ln_" in name or "ln_f" in name:
                p.fill_(1.0)
            elif p.dim() == 2 and name != "bigram":
                keep = torch.rand(p.shape, generator=g) < density
                p.copy_(0.05 * torch.randn(p.shape, generator=g) * keep)
            else:
                p.zero_()
        m.wte.weight[:, :3] = 0.0
        m.wte.weight[:, CONST] = 1.0
        m.wte.weight[B] = m.wte.weight[A]  # 'a' and 'b' differ only in the cause channel
        m.wte.weight[A, 0], m.wte.weight[B, 0] = 1.0, -1.0
        for b in m.blocks:  # nothing random writes to the path's channels
            b.c_proj.weight[:3] = 0.0
            b.attn.c_proj.weight[:3] = 0.0
        b0, b1 = m.blocks
        # layer 0 writes small (±0.4): a large channel 1 would dominate the final norm and turn
        # the first-order effect of the layer-0 nodes negative, which the STE follows
        for b, src, neuron, dst, w in ((b0, 0, 3, 1, 0.05), (b1, 1, 7, 2, 1.0)):
            b.c_fc.weight[neuron] = 0.0
            b.c_fc.weight[neuron, src] = 1.0
            b.c_fc.bias[neuron] = 20.0
            b.c_proj.weight[:, neuron] = 0.0
            b.c_proj.weight[dst, neuron] = w
            b.c_proj.bias[dst] = -20.0 * w
        b0.c_fc.weight[5, 0] = -1.0
        b0.c_proj.weight[:, 5] = 0.0
        m.lm_head.weight[X] = 0.0
        m.lm_head.weight[Y] = 0.0
        m.lm_head.weight[X, 2] = 0.25  # a margin of about 4.5: the loss keeps a gradient
        m.lm_head.weight[Y, 2] = -0.25
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


def planted_means(m):
    g = torch.Generator().manual_seed(1)
    return pr.node_means(m, [torch.randint(0, 256, (8, 16), generator=g)])


def test_planted_model_solves_its_task_only_through_the_path():
    m, ts = planted_model(), planted_task(16, 0)
    means = planted_means(m)
    index = NodeIndex(m.cfg)
    path = torch.zeros(index.n, dtype=torch.bool)
    for layer, loc, ch in PLANTED:
        path[index.slices[(layer, loc)].start + ch] = True
    with torch.no_grad():
        assert float(tk.task_loss(m, ts)) < 0.05
    assert pr.calibrated_loss(m, ts, means, path)[0] < 0.05
    for i in path.nonzero().flatten().tolist():  # every path node is needed
        cut = path.clone()
        cut[i] = False
        assert pr.calibrated_loss(m, ts, means, cut)[0] > 0.6


def test_pruning_a_wide_sparse_model_recovers_exactly_the_planted_nodes_and_edges():
    m = planted_model()
    means = planted_means(m)
    train, held = planted_task(32, 1), planted_task(32, 2)
    cfg = pr.PruneConfig(steps=60, batch_pairs=16, lr=1e-2, k_coefs=(3e-3, 1e-3))
    found = pr.find_circuit(m, train, means, cfg, seed=0)
    index = NodeIndex(m.cfg)
    assert {index.site_of(i) for i in found.keep.nonzero().flatten().tolist()} == PLANTED
    assert ed.count_edges(m, found.keep) == PLANTED_EDGES
    assert found.loss <= cfg.target
    assert pr.loss_keeping(m, held, means, found.keep, found.cal) <= cfg.target
    assert found.saturated == 0.0  # lr·steps/2 per phase keeps τ inside (−1, 1)


def test_cleanup_drops_every_removable_node_and_never_ends_above_the_target():
    m = planted_model()
    means = planted_means(m)
    ts = planted_task(32, 3)
    index = NodeIndex(m.cfg)
    g = torch.Generator().manual_seed(4)
    for target in (0.05, 0.15, 0.4):
        keep = torch.rand(index.n, generator=g) < 0.02
        for layer, loc, ch in PLANTED:
            keep[index.slices[(layer, loc)].start + ch] = True
        start = pr.calibrated_loss(m, ts, means, keep)[0]
        assert start <= target
        order = pr.rank(torch.zeros(index.n), torch.zeros(index.n), seed=0)
        cleaned, loss, cal = pr.cleanup(m, ts, means, keep, order, target, calibrate=True)
        assert loss <= target
        assert pr.calibrated_loss(m, ts, means, cleaned)[0] == pytest.approx(loss)
        assert bool((cleaned <= keep).all())  # only removes
        assert {index.site_of(i) for i in cleaned.nonzero().flatten().tolist()} == PLANTED


def test_frozen_norms_keep_the_unpruned_scales():
    from ptlab.circuits.model import frozen_norms

    m, ts = planted_model(), planted_task(8, 5)
    means = planted_means(m)
    index = NodeIndex(m.cfg)
    all_on = torch.ones(index.n, dtype=torch.bool)
    assert pr.loss_keeping(m, ts, means, all_on, frozen=True) == pytest.approx(
        pr.loss_keeping(m, ts, means, all_on), abs=1e-6
    )
    norm = m.blocks[1].ln_2
    seen = []
    with frozen_norms(m, ts.tokens):
        scale = norm.frozen.clone()
        m(ts.tokens, edit=pr.ablation_edit(index, torch.zeros(index.n), means))
        seen.append(norm.frozen)
    assert torch.equal(seen[0], scale) and norm.frozen is None  # restored on exit


def test_swapping_the_cause_channel_flips_every_prediction():
    from ptlab.circuits import study

    m = planted_model()
    ts = planted_task(16, 6)
    index = NodeIndex(m.cfg)
    node = index.slices[(0, "mlp_neuron")].start + 3
    decoy = index.slices[(0, "mlp_neuron")].start + 5
    assert study.flip_rate(m, ts, None) == 0.0
    assert study.flip_rate(m, ts, study.swap_edit(index, node)) == 1.0
    assert study.flip_rate(m, ts, study.swap_edit(index, decoy)) == 0.0


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


def test_answers_in_length_chunks_equal_the_full_forward(tiny):
    m, means, _ = tiny
    ts = tk.task_set(tk.make_pairs("lambda_def", "train", 20, seed=4))  # prompts of many lengths
    gates = (torch.rand(NodeIndex(m.cfg).n) < 0.5).float()
    edit = pr.ablation_edit(NodeIndex(m.cfg), gates, means)
    with torch.no_grad():
        full = tk.answer_logits(m(ts.tokens, edit=edit), ts)
        chunked = tk.answers(m, ts, edit, chunk=8)
        one = tk.answers(m, ts, edit, chunk=None)
    assert torch.allclose(full, chunked, atol=1e-5) and torch.allclose(full, one, atol=1e-5)


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


def _circ(**kw):
    base = {
        "model": "s",
        "train_seed": 0,
        "task": "quote",
        "ablation": "mean",
        "control": "none",
        "method": "learned",
        "prune_seed": 0,
        "target_loss": 0.15,
        "reached": True,
        "nodes": 10,
        "edges": 100,
        "saturated": 0.0,
        "heldout_task_loss": 0.1,
        "frozen_norm_loss": 0.1,
        "full_task_loss": 0.05,
        "necessity_loss": 1.0,
        "random_necessity_loss": 0.2,
    }
    return {**base, **kw}


def test_matched_dense_sizes_recover_a_planted_ratio_per_training_seed():
    from ptlab.circuits import study

    models = pd.DataFrame(
        {
            "model": ["d1", "d2", "d3", "s1", "s2"] * 2,
            "train_seed": [0] * 5 + [1] * 5,
            "kind": (["dense"] * 3 + ["sparse"] * 2) * 2,
            "pretrain_loss": [2.0, 2.2, 2.4, 2.1, 2.6] + [2.0, 2.2, 2.4, 2.3, 2.6],
        }
    )
    rows = []
    for tseed, dense_at in ((0, 10**2.5), (1, 10**1.5)):  # dense edges at s1's loss
        for pseed, factor in ((0, 0.1), (1, 0.2)):
            for m, e in (("d1", 1000), ("d2", 100), ("d3", 10)):
                rows.append(_circ(model=m, train_seed=tseed, prune_seed=pseed, edges=e, nodes=e))
            rows.append(
                _circ(model="s1", train_seed=tseed, prune_seed=pseed, edges=factor * dense_at)
            )
            rows.append(_circ(model="s2", train_seed=tseed, prune_seed=pseed, edges=5.0))
    ratios = study.ratio_table(models, pd.DataFrame(rows))
    s1 = ratios[ratios["model"] == "s1"].sort_values(["train_seed", "prune_seed"])
    assert np.allclose(s1["edges_ratio"], [0.1, 0.2, 0.1, 0.2])
    assert set(s1["match"]) == {"interpolated"}
    s2 = ratios[ratios["model"] == "s2"]
    assert np.allclose(s2["dense_edges"], 10) and set(s2["match"]) == {"nearest"}
    assert np.allclose(s2["loss_gap"], 0.2) and np.allclose(s1["loss_gap"], 0.0)
    summary = study.ratio_summary(ratios).set_index(["model", "size"])
    assert summary.loc[("s1", "edges"), "ratio"] == pytest.approx(math.sqrt(0.1 * 0.2))
    lo, hi = summary.loc[("s1", "edges"), ["low", "high"]]
    assert 0.1 - 1e-9 <= lo <= math.sqrt(0.02) <= hi <= 0.2 + 1e-9
    assert summary.loc[("s1", "edges"), "cells"] == 4


def test_a_task_only_a_sparse_model_solves_is_counted_not_turned_into_a_missing_ratio():
    from ptlab.circuits import study

    models = pd.DataFrame(
        {
            "model": ["d1", "d2", "s"],
            "train_seed": [0, 0, 0],
            "kind": ["dense", "dense", "sparse"],
            "pretrain_loss": [2.0, 2.4, 2.2],
        }
    )
    rows = [_circ(model=m, task="quote", edges=e) for m, e in (("d1", 400), ("d2", 100))]
    rows += [_circ(model="s", task="quote", edges=20), _circ(model="s", task="bracket", edges=5)]
    summary = study.ratio_summary(study.ratio_table(models, pd.DataFrame(rows)))
    edges = summary.set_index("size").loc["edges"]
    assert edges["ratio"] == pytest.approx(0.1) and edges["unmatched"] == 1
    assert edges["cells"] == 1
    from ptlab.circuits import verdicts as vd

    assert "1 more cells have no dense circuit" in vd.ratio_lines(summary)[1]


def test_bootstrap_recovers_a_planted_mean_and_tukey_drops_the_outlier():
    from ptlab.circuits import study

    rng = np.random.default_rng(0)
    cells = pd.DataFrame(
        [
            {"task": t, "train_seed": s, "prune_seed": p, "v": -2.0 + 0.05 * rng.standard_normal()}
            for t in "abcd"
            for s in (0, 1)
            for p in (0, 1)
        ]
    )
    b = study.bootstrap(cells, "v")
    assert b.estimate == pytest.approx(-2.0, abs=0.05) and b.low < b.estimate < b.high
    assert b.high - b.low < 0.2 and b.cells == 16
    cells.loc[0, "v"] = 3.0
    inl = study.tukey_inliers(cells["v"].to_numpy())
    assert not inl[0] and inl[1:].all()


@pytest.mark.parametrize(
    "values,text",
    [
        ([1410.0, 1850.0], "1630 ± 310"),
        ([84.2], "84.2"),
        ([0.04213, 0.0398], "0.0410 ± 0.0016"),
        ([], "—"),
    ],
)
def test_mean_sd_is_one_line_of_three_significant_digits_without_exponents(values, text):
    from ptlab.circuits.study import mean_sd

    assert mean_sd(values) == text


def test_overlap_of_identical_and_disjoint_node_sets():
    from ptlab.circuits.study import Circuit, overlap_table

    a = torch.tensor([True, True, False, False])
    res = {
        ("m", 0, "t", "mean", "none", "learned", 0): Circuit({}, a),
        ("m", 0, "t", "mean", "none", "learned", 1): Circuit({}, a),
        ("n", 0, "t", "mean", "none", "learned", 0): Circuit({}, a),
        ("n", 0, "t", "mean", "none", "learned", 1): Circuit({}, ~a),
    }
    table = overlap_table(res).set_index("model")
    assert table.loc["m", "jaccard"] == 1.0 and table.loc["n", "jaccard"] == 0.0


def test_frontier_pairs_compare_l0_at_one_width_and_width_at_one_l0():
    from ptlab.circuits import study

    models = pd.DataFrame(
        {
            "model": ["a", "b", "c", "d"],
            "kind": ["sparse", "sparse", "sparse", "dense"],
            "d_model": [64, 64, 128, 32],
            "l0_fraction": [1 / 32, 1 / 16, 1 / 32, 1.0],
        }
    )
    pairs = study.frontier_pairs(models)
    assert ("l0", "a", "b") in pairs  # a is the sparser at width 64
    assert ("width", "c", "a") in pairs  # c is the wider at L0 1/32
    assert len(pairs) == 2


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
        (["--workers", "-1"], "--workers must be >= 0"),
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
    assert list(models.columns[:9]) == [
        "model",
        "train_seed",
        "kind",
        "d_model",
        "n_layers",
        "l0_fraction",
        "embed_l0_fraction",
        "nonzero_params",
        "total_params",
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
    assert set(circ["control"]) == {"none", "random_init", "shuffled", "nonsense"}
    assert set(models["train_seed"]) == {0, 1}
    for row in models.itertuples():
        path = out / "weights" / f"{row.model.replace('/', '_')}-s{row.train_seed}.pt"
        state = torch.load(path, weights_only=True)
        nz = sum(int((v != 0).sum()) for k, v in state.items() if v.dim() == 2 and k != "bigram")
        assert nz == row.nonzero_params
    assert not list(out.rglob("*.tmp"))


# --- verdicts ----------------------------------------------------------------------------------


def _summary(lo, hi, est=None, cells=8, se=0.3):
    est = math.sqrt(lo * hi) if est is None else est
    return pd.DataFrame(
        [
            {
                "model": "s",
                "size": "edges",
                "ratio": est,
                "low": lo,
                "high": hi,
                "log_se": se,
                "cells": cells,
                "ratio_trimmed": est,
                "low_trimmed": lo,
                "high_trimmed": hi,
                "outliers": 0,
                "tasks": 2,
                "unmatched": 0,
                "matched": "interpolated",
                "loss_gap": 0.0,
            }
        ]
    )


@pytest.mark.parametrize(
    "lo,hi,outcome,words",
    [
        (0.04, 0.1, "supported", "smaller"),
        (1 / 32 + 1e-6, 1 / 8 - 1e-6, "supported", "smaller"),
        (0.2, 0.5, "contradicted", "smaller"),
        (0.01, 0.02, "contradicted", "smaller"),
        (0.05, 0.3, "undetermined", "smallest difference"),
        (0.5, 1.5, "contradicted", "cannot be told apart"),  # wholly above 1/8
        (1.2, 3.0, "contradicted", "larger"),
    ],
)
def test_the_16x_claim_needs_the_interval_inside_a_factor_of_two(lo, hi, outcome, words):
    from ptlab.circuits import verdicts as vd

    o, (zh, en) = vd.ratio_claim(_summary(lo, hi), "s")
    assert o == outcome and words in en and zh
    assert "nan" not in en
    assert "depends strongly" not in en  # the old blanket seed sentence is gone


def test_the_16x_claim_is_undetermined_without_a_comparison():
    from ptlab.circuits import verdicts as vd

    o, (_, en) = vd.ratio_claim(_summary(0.1, 0.2).iloc[0:0], "s")
    assert o == "undetermined" and "cannot compare" in en


def _frontier(claim, loss, edges, cells=8):
    (ll, lh), (el, eh) = loss, edges
    return {
        "claim": claim,
        "model_a": "a",
        "model_b": "b",
        "loss_diff": (ll + lh) / 2,
        "loss_low": ll,
        "loss_high": lh,
        "loss_detectable": 0.05,
        "edge_ratio": math.sqrt(el * eh),
        "edge_low": el,
        "edge_high": eh,
        "edge_log_se": 0.2,
        "cells": cells,
    }


@pytest.mark.parametrize(
    "loss,edges,l0_outcome",
    [
        ((0.05, 0.1), (0.3, 0.8), "supported"),
        ((-0.1, -0.05), (0.3, 0.8), "contradicted"),
        ((0.05, 0.1), (1.2, 2.0), "contradicted"),
        ((-0.01, 0.1), (0.3, 0.8), "undetermined"),
        ((0.05, 0.1), (0.5, 1.5), "undetermined"),
    ],
)
def test_frontier_claims_cross_their_thresholds_and_test_width_when_there_are_two_widths(
    loss, edges, l0_outcome
):
    from ptlab.circuits import verdicts as vd

    width_loss = (-loss[1], -loss[0])  # the width claim wants a lower loss
    table = pd.DataFrame([_frontier("l0", loss, edges), _frontier("width", width_loss, edges)])
    claims = vd.frontier_claims(table)
    assert claims["l0"][0] == l0_outcome
    assert claims["width"][0] == l0_outcome  # the width pair is tested (the old bug: never)
    assert "does not test" not in claims["width"][1][1]
    if l0_outcome == "undetermined":
        assert "smallest detectable" in claims["l0"][1][1]


def test_frontier_claims_say_when_a_pair_is_missing():
    from ptlab.circuits import verdicts as vd

    claims = vd.frontier_claims(pd.DataFrame([_frontier("l0", (0.05, 0.1), (0.3, 0.8))]))
    assert claims["width"][0] == "undetermined" and "does not test" in claims["width"][1][1]


def _faithful_circ(held, nec, rand, n=8):
    tasks = ["quote", "bracket"]
    return pd.DataFrame(
        [
            _circ(
                task=tasks[i % 2],
                train_seed=(i // 2) % 2,
                prune_seed=i // 4,
                heldout_task_loss=held + 0.001 * i,
                frozen_norm_loss=held + 0.001 * i,
                necessity_loss=nec,
                random_necessity_loss=rand,
            )
            for i in range(n)
        ]
    )


@pytest.mark.parametrize(
    "held,nec,rand,outcome",
    [
        (0.08, 1.0, 0.2, "supported"),  # 0.03 above the full model, margin 0.1
        (0.30, 1.0, 0.2, "contradicted"),  # 0.25 above
        (0.08, 0.2, 1.0, "contradicted"),  # ablating the circuit hurts less than random
        (0.08, 0.5, 0.5, "undetermined"),
    ],
)
def test_faithfulness_claim_crosses_the_margin_and_the_random_ablation(held, nec, rand, outcome):
    from ptlab.circuits import verdicts as vd

    f = vd.faithfulness(_faithful_circ(held, nec, rand), margin=0.1)
    o, (zh, en) = vd.faithfulness_claim(f)
    assert o == outcome and "nan" not in en and zh
    table = vd.validation_table(_faithful_circ(held, nec, rand), pd.DataFrame(), f)
    assert list(table["check"][:3]) == ["sufficiency", "frozen", "necessity"]


@pytest.mark.parametrize("edges,small", [(150, True), (250, False)])
def test_controls_verdict_says_when_a_control_finds_a_small_circuit(edges, small):
    from ptlab.circuits import verdicts as vd

    circ = pd.DataFrame(
        [
            _circ(),
            _circ(control="shuffled", edges=edges),
            _circ(control="random_init", reached=False, edges=np.nan),
            _circ(control="nonsense", task="nonsense", reached=False, edges=np.nan),
        ]
    )
    zh, en = vd.controls_verdict(circ)
    assert ("can create circuits" in en) == small
    assert "never reached the target" in en and "nonsense" in en
    assert ("造出" in zh) == small and "。 " not in zh


@pytest.mark.parametrize(
    "acc_long,outcome", [(0.85, "supported"), (0.95, "contradicted"), (None, "undetermined")]
)
def test_dilution_verdict_needs_a_drop_of_a_tenth(acc_long, outcome):
    from ptlab.circuits import verdicts as vd

    rows = [("m", 1, 0.96), ("m", 8, 0.85 if acc_long is None else acc_long)]
    rows += [("n", 1, 0.96), ("n", 8, 0.95 if acc_long is None else acc_long)]
    dil = pd.DataFrame(
        [
            {"model": m, "train_seed": 0, "elements": e, "accuracy": a, "task_loss": 0.1}
            for m, e, a in rows
        ]
    )
    o, (_, en) = vd.dilution_verdict(dil)
    assert o == outcome
    assert ("`m`" in en) == (outcome != "contradicted")


@pytest.mark.parametrize("ratio,outcome", [(0.5, "supported"), (2.0, "contradicted")])
def test_methods_claim_compares_learned_and_attribution_edges(ratio, outcome):
    from ptlab.circuits import verdicts as vd

    methods = pd.DataFrame(
        [
            {
                "model": "s",
                "train_seed": s,
                "task": t,
                "prune_seed": 0,
                "learned_edges": 100 * ratio * (1 + 0.01 * s),
                "attribution_edges": 100.0,
                "learned_nodes": 10,
                "attribution_nodes": 10,
            }
            for t in ("quote", "bracket")
            for s in (0, 1)
        ]
    )
    assert vd.methods_claim(methods)[0] == outcome
    assert vd.methods_claim(methods.iloc[0:0])[0] == "undetermined"


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


def test_spec_overrides_follow_one_rule():
    from ptlab.circuits.family import CircuitsSpec
    from ptlab.models.config import ConfigError

    base = CircuitsSpec.from_profile("smoke")
    same = CircuitsSpec.from_profile("smoke", target=None, prune_steps=None, tasks=None)
    assert same == base  # None keeps the profile's value
    s = CircuitsSpec.from_profile("smoke", prune_steps=7, train_steps=11, d_mlp_mult=None)
    assert s.prune.steps == 7 and s.train.steps == 11
    with pytest.raises(ConfigError, match="field of train and prune; write train_steps or"):
        CircuitsSpec.from_profile("smoke", steps=5)
    with pytest.raises(ConfigError, match="unknown circuits parameter 'bogus'"):
        CircuitsSpec.from_profile("smoke", bogus=1)
