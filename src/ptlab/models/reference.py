"""The reference the all-on config must equal: ``transformers``' LlamaForCausalLM, same dims."""

from __future__ import annotations

from ptlab.models.config import ModelConfig


def hf_llama(cfg: ModelConfig):
    """An untrained LlamaForCausalLM with ``cfg``'s dims (untied head, no biases, sdpa)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    return LlamaForCausalLM(
        LlamaConfig(
            vocab_size=cfg.vocab_size,
            hidden_size=cfg.d_model,
            intermediate_size=cfg.ffn_hidden,
            num_hidden_layers=cfg.n_layers,
            num_attention_heads=cfg.n_heads,
            num_key_value_heads=cfg.n_heads,
            max_position_embeddings=cfg.seq_len,
            rms_norm_eps=cfg.norm_eps,
            rope_theta=cfg.rope_theta,
            tie_word_embeddings=False,
            attention_bias=False,
            mlp_bias=False,
            attn_implementation="sdpa",
        )
    )
