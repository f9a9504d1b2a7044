"""Circuit size as edges between kept nodes: one convention for sparse and dense models (Gao et al.
2025, §3.5). Shown in: chapter *circuits*.

An edge is a nonzero weight, or a residual or q·k link, between two kept nodes of one model:

* ``attn_in → attn_q / attn_k / attn_v``: the nonzero entries of ``c_attn`` between them;
* ``attn_v → attn_out``: nonzero entries of the attention ``c_proj`` (the value channel j of a
  head is mixed over positions, then written through column j);
* ``attn_q ↔ attn_k``: channel j of q and channel j of k are both kept (their product is one
  term of the attention score);
* ``mlp_in → mlp_neuron`` (``c_fc``) and ``mlp_neuron → mlp_out`` (MLP ``c_proj``);
* ``write → later read`` along one residual channel c: from ``attn_out`` or ``mlp_out`` of a
  layer to every later ``attn_in`` / ``mlp_in`` on channel c (the RMSNorm in between only
  rescales the channel).

The embedding, the unembedding and the bigram table hold no nodes and give no edges. A dense
model counts every weight between kept nodes, so its count is about the product of the kept
node counts; a sparse model counts only its nonzero ones. ``edge_blocks`` is the one place the
convention lives: ``count_edges`` sums it and the circuit drawing reads its entries.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

from ptlab.circuits.model import CircuitModel, NodeIndex

Site = tuple[int, str]
Block = tuple[Site, Site, torch.Tensor]  # (source site, target site, bool [target, source])


def _weights(model: CircuitModel, layer: int) -> dict[tuple[str, str], torch.Tensor]:
    """Each weight block [target channels, source channels] of one layer, by (source, target)."""
    b, d = model.blocks[layer], model.cfg.d_model
    w = b.attn.c_attn.weight.detach().cpu()
    return {
        ("attn_in", "attn_q"): w[:d],
        ("attn_in", "attn_k"): w[d : 2 * d],
        ("attn_in", "attn_v"): w[2 * d :],
        ("attn_v", "attn_out"): b.attn.c_proj.weight.detach().cpu(),
        ("mlp_in", "mlp_neuron"): b.c_fc.weight.detach().cpu(),
        ("mlp_neuron", "mlp_out"): b.c_proj.weight.detach().cpu(),
    }


def residual_pairs(n_layers: int) -> Iterator[tuple[Site, Site]]:
    """(write site, later read site) pairs along the residual stream."""
    order = [
        (layer, loc)
        for layer in range(n_layers)
        for loc in ("attn_in", "attn_out", "mlp_in", "mlp_out")
    ]
    for i, w in enumerate(order):
        if w[1].endswith("_out"):
            for r in order[i + 1 :]:
                if r[1].endswith("_in"):
                    yield w, r


def edge_blocks(model: CircuitModel, keep: torch.Tensor) -> Iterator[Block]:
    """Every edge block of the kept subgraph: bool [target channels, source channels] over all
    channels of the two sites, True where an edge joins two kept nodes."""
    k = NodeIndex(model.cfg).split(keep.bool().cpu())
    for layer in range(model.cfg.n_layers):
        for (src, dst), w in _weights(model, layer).items():
            s, t = (layer, src), (layer, dst)
            yield s, t, (w != 0) & k[t][:, None] & k[s][None, :]
        q, kk = (layer, "attn_q"), (layer, "attn_k")
        yield q, kk, torch.diag(k[q] & k[kk])
    for w, r in residual_pairs(model.cfg.n_layers):
        yield w, r, torch.diag(k[w] & k[r])


def count_edges(model: CircuitModel, keep: torch.Tensor) -> int:
    """Number of edges between the kept nodes (bool [n]) of ``model``."""
    return int(sum(int(b.sum()) for _, _, b in edge_blocks(model, keep)))


def site_counts(model: CircuitModel, keep: torch.Tensor):
    """The circuit summarised per site: ({(layer, loc): kept nodes}, {(src, dst): edges})."""
    nodes = {key: int(k.sum()) for key, k in NodeIndex(model.cfg).split(keep.bool()).items()}
    links: dict[tuple[Site, Site], int] = {}
    for s, t, b in edge_blocks(model, keep):
        links[(s, t)] = links.get((s, t), 0) + int(b.sum())
    return nodes, links


def constant_nodes(model: CircuitModel, keep: torch.Tensor) -> int:
    """Kept nodes that no edge reaches and that do not read the residual stream: with every
    input ablated they are constants, so they act on the output like biases."""
    index = NodeIndex(model.cfg)
    fed = torch.zeros(index.n, dtype=torch.bool)
    for _, t, b in edge_blocks(model, keep):
        fed[index.slices[t]] |= b.any(dim=1)
    reads = torch.zeros(index.n, dtype=torch.bool)
    for (_, loc), sl in index.slices.items():
        reads[sl] = loc in ("attn_in", "mlp_in")
    return int((keep.bool() & ~fed & ~reads).sum())
