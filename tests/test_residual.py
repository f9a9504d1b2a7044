"""Cross-layer residual variants: causality, identity at init, the written formulas, counts."""

import copy
import math

import pytest
import torch

from ptlab.models import (
    PTLM,
    RESIDUALS,
    ConfigError,
    ModelConfig,
    ResidualLM,
    all_on,
    build_model,
    flops_per_token,
    n_params,
    param_count,
)

MICRO = dict(d_model=16, n_layers=4, n_heads=2, seq_len=8)
FIXED = {n for n in RESIDUALS if n.startswith("v1_")} | {
    "baseline",
    "v2_m1",
    "v2_m2",
    "v3_m1",
    "v3_m2",
    "v3_m3_1",
    "v3_m4_1",
    "v3_m1_r",
    "v4_m1",
    "v4_m2",
    "v4_m3",
}
LEARNED = [n for n in RESIDUALS if n not in FIXED]


def variant(name: str, seed: int = 0, **size) -> ResidualLM:
    torch.manual_seed(seed)
    return ResidualLM(all_on(**{**MICRO, **size}, residual=name)).eval()


def ptlm(seed: int = 0, **size) -> PTLM:
    torch.manual_seed(seed)
    return PTLM(all_on(**{**MICRO, **size})).eval()


def tokens(B: int = 2, T: int = 8, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, 256, (B, T), generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def perturb_connections(model: ResidualLM, scale: float = 0.5) -> None:
    """Move every connection parameter off its init, so no test relies on the init's symmetry."""
    gen = torch.Generator().manual_seed(2)
    for p in model.connections.parameters():
        p.add_(scale * torch.randn(p.shape, generator=gen))


@torch.no_grad()
def sharpen_attention(model: ResidualLM) -> None:
    """Scale W_Q, W_K by 20 and W_V, W_O and the MLP by 10: at init (std 0.02) attention is nearly
    uniform whatever the input and the sublayers are small next to the stream, so readings that
    differ only in which input made P would give nearly the same logits."""
    for block in model.blocks:
        for proj in (block.attn.q_proj, block.attn.k_proj):
            proj.weight.mul_(20.0)
        for proj in (block.attn.v_proj, block.attn.o_proj, *block.ffn.children()):
            proj.weight.mul_(10.0)


# --- hand-written references (the formulas of the module header, typed once more) ------------


def ref_scores(model, block, u):
    """R = RoPE(q) RoPE(k)^T from the block's input u, straight from the projections."""
    h = block.norm1(u)
    B, T, _ = h.shape
    H, r = model.cfg.n_heads, model.cfg.head_dim
    q = model.rope(block.attn.q_proj(h).view(B, T, H, r).transpose(1, 2))
    k = model.rope(block.attn.k_proj(h).view(B, T, H, r).transpose(1, 2))
    return q @ k.transpose(-1, -2)


def ref_probs(z):
    T = z.shape[-1]
    allowed = torch.tril(torch.ones(T, T, dtype=torch.bool))
    return z.masked_fill(~allowed, float("-inf")).softmax(-1)


def ref_attend(model, block, p, u):
    """O(P V(N1(u))) for given probabilities P."""
    h = block.norm1(u)
    B, T, d = h.shape
    v = block.attn.v_proj(h).view(B, T, model.cfg.n_heads, -1).transpose(1, 2)
    return block.attn.o_proj((p @ v).transpose(1, 2).reshape(B, T, d))


def ref_mlp(block, y):
    return block.ffn(block.norm2(y))


def ref_head(model, u):
    return model.lm_head(model.norm(u))


def own_attention(model, block, u):
    """(a, P) of the block on its own input."""
    p = ref_probs(ref_scores(model, block, u) / math.sqrt(model.cfg.head_dim))
    return ref_attend(model, block, p, u), p


def v1_reference(model, x, method: int, embed: bool):
    """V1 from the header's formulas: A, F = the earlier attention / MLP outputs (e first if
    _embed); M2 and M4 divide by their number, nothing at m = 1 (literal)."""
    e = model.embed(x)
    A, F = ([e], [e]) if embed else ([], [])
    u = e
    for block in model.blocks:
        a = own_attention(model, block, u)[0]
        sA, sF = sum(A), sum(F)  # sum([]) == 0
        mA, mF = (sA / len(A) if A else 0), (sF / len(F) if F else 0)
        y = {1: a + sA, 2: a + mA, 3: u + a, 4: u + a, 5: a + sA, 6: a + sF, 7: a + sA}[method]
        f = ref_mlp(block, y)
        u = {1: y + f, 2: y + f, 3: f + sF, 4: f + mF, 5: f + sA, 6: f + sF, 7: f + sF}[method]
        A, F = A + [a], F + [f]
    return ref_head(model, u)


# --- causality and identity at init ------------------------------------------------------------


@pytest.mark.parametrize("name", RESIDUALS)
def test_changing_a_later_token_never_moves_earlier_logits(name):
    model = variant(name)
    perturb_connections(model)
    x = tokens(1)
    with torch.no_grad():
        base = model(x)
        assert torch.isfinite(base).all()
        for t in (0, 3, 6):  # change token t+1: logits at positions <= t must not move
            y = x.clone()
            y[0, t + 1] = (y[0, t + 1] + 1) % 256
            out = model(y)
            assert torch.equal(out[0, : t + 1], base[0, : t + 1]), (name, t)
            assert not torch.equal(out[0, t + 1 :], base[0, t + 1 :]), (name, t)


def test_explicit_baseline_equals_ptlm_sdpa_baseline():
    x = tokens(3)
    with torch.no_grad():
        torch.testing.assert_close(variant("baseline")(x), ptlm()(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", RESIDUALS)
def test_backbone_init_equals_ptlm_bit_for_bit_under_the_same_seed(name):
    ref, model = ptlm().state_dict(), variant(name).state_dict()
    for key, value in ref.items():
        assert torch.equal(model[key], value), (name, key)
    extra = [k for k in model if k not in ref]
    assert all(k.startswith("connections.") for k in extra), extra


@pytest.mark.parametrize("name", ["denseformer", "mudd"])
def test_dense_variants_equal_the_baseline_at_init_and_after_loading_its_weights(name):
    x = tokens(3)
    base = ptlm(seed=0)
    with torch.no_grad():
        torch.testing.assert_close(variant(name, seed=0)(x), base(x), atol=1e-6, rtol=0)
        other = variant(name, seed=5)
        missing, unexpected = other.load_state_dict(base.state_dict(), strict=False)
        assert not unexpected and all(k.startswith("connections.") for k in missing)
        torch.testing.assert_close(other(x), base(x), atol=1e-6, rtol=0)


STARTS_AS = {
    **{f"v4_m1{c}": "v4_m1" for c in "abcde"},
    "v4_c": "baseline",
    "v4_d": "baseline",
    "v4_m4": "v4_m3",
    "v4_m5": "v4_m1",
    "v4_m6": "v4_m1",
    "v4_m7": "v4_m1",
    "v2_m3": "v2_m1",
    "v3_m3_2": "v3_m3_1",
    "v3_m4_2": "v3_m4_1",
}


@pytest.mark.parametrize("name", sorted(STARTS_AS))
def test_learned_variants_start_as_their_static_parent(name):
    x = tokens(3)
    with torch.no_grad():
        out, parent = variant(name)(x), variant(STARTS_AS[name])(x)
    torch.testing.assert_close(out, parent, atol=1e-6, rtol=0)


# --- the written formulas ----------------------------------------------------------------------


@pytest.mark.parametrize("method", range(1, 8))
@pytest.mark.parametrize("embed", [False, True])
def test_v1_follows_the_written_formulas(method, embed):
    name = f"v1_m{method}" + ("_embed" if embed else "")
    model, x = variant(name), tokens()
    with torch.no_grad():
        torch.testing.assert_close(model(x), v1_reference(model, x, method, embed))


@pytest.mark.parametrize("method", range(1, 8))
def test_v1_literal_drops_the_embedding_and_the_embed_reading_keeps_it(method):
    """With layer 1's attention and MLP outputs zeroed, the literal stream is 0 after layer 1
    (N(0) = 0, so every later sublayer outputs 0): the logits no longer depend on the tokens.
    The _embed reading keeps e as source 0, so they still do."""
    x = tokens()
    for embed in (False, True):
        model = variant(f"v1_m{method}" + ("_embed" if embed else ""))
        with torch.no_grad():
            model.blocks[0].attn.o_proj.weight.zero_()
            model.blocks[0].ffn.down_proj.weight.zero_()
            out = model(x)
        assert torch.all(out == 0) != embed, (method, embed)


def test_v2_follows_the_written_formulas():
    """M1: u' = y + (1/m) sum_{i<=m} f_i; M2: y = u + (1/m) sum_{i<=m} a_i."""
    x = tokens()
    for name in ("v2_m1", "v2_m2"):
        model = variant(name)
        with torch.no_grad():
            u, outs = model.embed(x), []
            for block in model.blocks:
                a = own_attention(model, block, u)[0]
                if name == "v2_m2":
                    outs.append(a)
                    a = sum(outs) / len(outs)
                y = u + a
                f = ref_mlp(block, y)
                if name == "v2_m1":
                    outs.append(f)
                    f = sum(outs) / len(outs)
                u = y + f
            torch.testing.assert_close(model(x), ref_head(model, u))


def v3_reference(model, x, site: str, keep: bool, replace: bool = False):
    """V3 with plain sums; ``keep=False`` is the wrong reading (P_i recomputed from u_m);
    ``replace`` drops y_m at the MLP site (v3_m1_r)."""
    u, kept = model.embed(x), []
    for m, block in enumerate(model.blocks):
        a, p = own_attention(model, block, u)
        earlier = []
        for i, p_i in enumerate(kept):
            b = model.blocks[i]
            p_i = p_i if keep else own_attention(model, b, u)[1]
            a_hat = ref_attend(model, b, p_i, u)
            earlier.append(a_hat if site == "attn" else ref_mlp(b, u + a_hat))
        if site == "attn":
            y = u + a + sum(earlier)
            u = y + ref_mlp(block, y)
        else:
            y = u + a
            u = (0 if replace else y) + ref_mlp(block, y) + sum(earlier)
        kept.append(p)
        assert len(kept) == m + 1
    return ref_head(model, u)


def test_v3_replace_reading_drops_the_mlp_sites_residual():
    model, x = variant("v3_m1_r"), tokens()
    sharpen_attention(model)
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(out, v3_reference(model, x, "mlp", keep=True, replace=True))
        assert not torch.allclose(out, v3_reference(model, x, "mlp", keep=True), atol=1e-3)


@pytest.mark.parametrize("name", LEARNED)
def test_the_trainable_connection_count_is_what_gets_a_gradient(name):
    """1A trains only its lower triangle, 1C / v4_c never their query-0 weight (a softmax over
    one logit), v4_m4 never b_1; everything else gets a gradient (W2 = 0 blocks W1 at step 0
    only, so the generators take one step first)."""
    from ptlab.models import residual_extra_params, residual_trainable_params

    model = variant(name)
    with torch.no_grad():  # W2 as after a first step, so that the generators' W1 see gradients
        for gen in getattr(model.connections, "gen", ()):
            gen.w2.normal_(std=0.1)
    model.train()
    model(tokens()).logsumexp(-1).mean().backward()
    got = sum(int((p.grad != 0).sum()) for p in model.connections.parameters())
    assert got == residual_trainable_params(model.cfg)
    assert residual_trainable_params(model.cfg) <= residual_extra_params(model.cfg)


@pytest.mark.parametrize("name, site", [("v3_m1", "mlp"), ("v3_m2", "attn")])
def test_v3_reuses_each_earlier_layers_own_attention_probabilities(name, site):
    """The hand reference keeps P_i from layer i's own input; the same reference recomputing P_i
    from the current input gives other logits, so the test fails for that reading."""
    model, x = variant(name), tokens()
    sharpen_attention(model)
    with torch.no_grad():
        out = model(x)
        torch.testing.assert_close(out, v3_reference(model, x, site, keep=True))
        assert not torch.allclose(out, v3_reference(model, x, site, keep=False), atol=1e-3)


def test_v3_layer_three_recomputes_layer_one_with_layer_ones_own_probabilities():
    """3-layer v3_m2: layer 3's recomputed layer-1 term uses P_1 made from e (layer 1's input),
    not P made from u_3; so perturbing layer 1's W_Q moves that term through P_1."""
    model, x = variant("v3_m2", n_layers=3), tokens()
    sharpen_attention(model)
    original = model._recomputed_attention

    def layer_three_term():
        calls = []
        model._recomputed_attention = lambda i, p, u: calls.append((i, p, u)) or original(i, p, u)
        model(x)
        (i, p_1, u_3) = calls[1]  # calls: layer 2 (source 1), layer 3 (sources 1 and 2)
        assert i == 0 and len(calls) == 3
        return p_1, u_3, original(0, p_1, u_3)

    block = model.blocks[0]
    with torch.no_grad():
        p_1, u_3, term = layer_three_term()
        torch.testing.assert_close(p_1, own_attention(model, block, model.embed(x))[1])
        assert not torch.allclose(p_1, own_attention(model, block, u_3)[1], atol=1e-2)
        block.attn.q_proj.weight.add_(0.5 * torch.randn_like(block.attn.q_proj.weight))
        p_new, _, term_new = layer_three_term()
        torch.testing.assert_close(p_new, own_attention(model, block, model.embed(x))[1])
        assert not torch.allclose(term_new, term, atol=1e-3)


def test_v4_accumulates_raw_scores_of_each_layers_own_input():
    """v4_m2 with 2 layers: Z_2 = (R_1 + R_2) / sqrt(2 d_k), R_1 from layer 1's input e."""
    model, x = variant("v4_m2", n_layers=2), tokens()
    d_k = model.cfg.head_dim
    with torch.no_grad():
        u, total = model.embed(x), 0
        for m, block in enumerate(model.blocks, start=1):
            total = total + ref_scores(model, block, u)
            y = u + ref_attend(model, block, ref_probs(total / math.sqrt(d_k * m)), u)
            u = y + ref_mlp(block, y)
        torch.testing.assert_close(model(x), ref_head(model, u))


# --- connection weights, gradients, weight decay -----------------------------------------------


def test_connection_weights_are_reachable_shaped_and_start_at_their_init():
    L, d_k = MICRO["n_layers"], MICRO["d_model"] // MICRO["n_heads"]
    nan = float("nan")
    for name, key in (("v2_m3", "mlp"), ("v3_m3_2", "mlp"), ("v3_m4_2", "attn")):
        w = variant(name).connection_weights()[key]
        assert w.shape == (L, L) and w.device.type == "cpu" and not w.requires_grad
        torch.testing.assert_close(w[2], torch.tensor([1 / 3, 1 / 3, 1 / 3, nan]), equal_nan=True)
    alpha = variant("denseformer").connection_weights()["alpha"]
    assert alpha.shape == (L, L + 1)
    torch.testing.assert_close(alpha[1], torch.tensor([0.0, 0.0, 1.0, nan, nan]), equal_nan=True)
    for name in ("v4_m4", "v4_m5", "v4_m6", "v4_m7"):
        s = variant(name).connection_weights()["logit_scale"]
        assert s.shape == (L, L) and s[0, 1].isnan()
        first = 1 / (3 * math.sqrt(d_k)) if name == "v4_m4" else 1 / math.sqrt(d_k)
        torch.testing.assert_close(s[2, :3], torch.full((3,), first))
    for name in FIXED:
        assert variant(name).connection_weights() == {}


@pytest.mark.parametrize("name", LEARNED)
def test_gradients_reach_every_connection_parameter(name):
    """One backward reaches every connection tensor, except the generators' W1, which MUDD's
    init (W2 = 0) cuts off at step 0; after one SGD step W1 gets its gradient too."""
    x = tokens()
    model = variant(name).train()
    named = dict(model.connections.named_parameters())
    assert named
    model(x).square().mean().backward()
    for key, p in named.items():
        zero_at_init = key.endswith("w1")
        assert (p.grad.abs().sum() > 0) != zero_at_init, key
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    model.zero_grad()
    model(x).square().mean().backward()
    assert all(p.grad.abs().sum() > 0 for p in named.values())


def test_connection_parameters_and_only_they_are_marked_no_weight_decay():
    for name in RESIDUALS:
        model = variant(name)
        copied = copy.deepcopy(model)  # deepcopy drops tensor attributes unless re-marked
        for key, p in [*model.named_parameters(), *copied.named_parameters()]:
            assert getattr(p, "_no_weight_decay", False) == key.startswith("connections."), key


# --- counts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [MICRO, dict(d_model=24, n_layers=3, n_heads=3, seq_len=6)])
def test_param_count_formula_matches_every_variant(size):
    for name in RESIDUALS:
        cfg = all_on(**size, residual=name)
        assert n_params(build_model(cfg)) == param_count(cfg), name


def test_flops_per_token_baseline_is_the_readme_formula_and_v3_costs_what_it_says():
    for size in (MICRO, dict(d_model=64, n_layers=3, n_heads=4, seq_len=32)):
        cfg = all_on(**size)
        V, d, L, T = cfg.vocab_size, cfg.d_model, cfg.n_layers, cfg.seq_len
        readme = 6 * (n_params(build_model(cfg)) - 2 * V * d) + 12 * L * T * d
        assert flops_per_token(cfg) == readme
    # by hand, d=16, L=4, T=8, d_ff=48: N = 4 (4*256 + 3*16*48 + 2*16) + 16 = 13456, baseline
    # 6 N + 12*4*8*16 = 86880; V3-M1 adds 6 pairs * 6 (2*256 + 8*16 + 3*16*48) = 105984
    base, v3 = all_on(**MICRO), all_on(**MICRO, residual="v3_m1")
    assert base.ffn_hidden == 48
    assert flops_per_token(base) == 86880
    assert flops_per_token(v3) > flops_per_token(base)
    assert flops_per_token(v3) / flops_per_token(base) == pytest.approx(192864 / 86880)


def test_flops_per_token_counts_shared_layers_once_per_application():
    cfg = all_on(**MICRO)
    assert flops_per_token(cfg.replace(untie_layerwise_weights=False)) == flops_per_token(cfg)


# --- config and API ----------------------------------------------------------------------------


def test_config_names_and_one_line_validation_messages():
    assert len(RESIDUALS) == len(set(RESIDUALS)) == 41  # the v3_m1_r reading included
    assert RESIDUALS[:2] == ("baseline", "v1_m1") and RESIDUALS[-2:] == ("denseformer", "mudd")
    with pytest.raises(ConfigError, match="residual must be one of baseline, v1_m1,") as err:
        all_on(residual="v5")
    assert "\n" not in str(err.value) and "mudd" in str(err.value)
    with pytest.raises(ConfigError, match=r"needs every switch on .*; off: use_rms_norm$"):
        all_on(residual="v1_m1").replace(use_rms_norm=False)
    with pytest.raises(ConfigError, match="off: untie_attn_weights, use_std_residual"):
        ModelConfig(residual="mudd")
    with pytest.raises(ConfigError, match="residual variant v4_m1 needs objective causal"):
        all_on(residual="v4_m1", objective="masked_diffusion")
    assert all_on(objective="masked_diffusion").residual == "baseline"  # baseline: any config


def test_to_dict_omits_the_baseline_residual_so_run_ids_do_not_change():
    cfg = all_on(**MICRO)
    assert "residual" not in cfg.to_dict()
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg
    assert ModelConfig.from_dict({**cfg.to_dict(), "residual": "baseline"}) == cfg
    v = cfg.replace(residual="v2_m3")
    assert v.to_dict()["residual"] == "v2_m3" and ModelConfig.from_dict(v.to_dict()) == v


def test_build_model_picks_the_class_and_residual_lm_rejects_gates_and_pt_switches():
    assert type(build_model(all_on(**MICRO))) is PTLM
    assert type(build_model(all_on(**MICRO, residual="v1_m3"))) is ResidualLM
    with pytest.raises(ValueError, match="head_gates are not supported"):
        variant("baseline")(tokens(), head_gates=torch.ones(8))
    with pytest.raises(ConfigError, match="ResidualLM needs every switch on"):
        ResidualLM(ModelConfig(**MICRO))
