"""The fused CPU kernels equal their eager formulas, training with them equals training without
them (20 steps, float tolerance), and without a compiler training falls back with one line."""

import pytest
import torch

from ptlab import train
from ptlab.models import all_off, all_on, build_model, fused
from ptlab.models.model import Rope

SMALL = dict(d_model=32, n_layers=2, n_heads=4, seq_len=32)


def needs_kernels():
    if fused.kernels() is None:
        pytest.skip(f"fused kernels not available here: {fused._state.get('why')}")


def grads(fn, inputs, weight):
    out = fn()
    return (out, *torch.autograd.grad((out * weight).sum(), inputs))


def assert_same_as_reference(fast, reference, inputs, weight, atol=1e-5):
    got = grads(fast, inputs, weight)
    with fused.reference():
        want = grads(reference, inputs, weight)
    for g, w in zip(got, want, strict=True):
        torch.testing.assert_close(g, w, atol=atol, rtol=1e-5)


def test_fused_ops_equal_their_eager_reference_forward_and_backward():
    needs_kernels()
    torch.manual_seed(0)
    x = torch.randn(3, 7, 24, requires_grad=True)
    w = (torch.rand(24) + 0.5).requires_grad_()
    norm = lambda: fused.rms_norm(x, w, 1e-6)  # noqa: E731
    assert_same_as_reference(norm, norm, (x, w), torch.randn(3, 7, 24))
    # wide range of gates: saturated sigmoids on both sides, and a non-contiguous input
    gu = (torch.randn(5, 40, 7) * 30).transpose(1, 2).requires_grad_()  # [5, 7, 40]
    glu = lambda: fused.swiglu(gu)  # noqa: E731
    assert_same_as_reference(glu, glu, (gu,), torch.randn(5, 7, 20), atol=1e-4)
    rope = Rope(16, 12, 10000.0)
    heads = torch.randn(2, 12, 6, 16, requires_grad=True)  # [B, T, rows, r]: 4 rotated rows
    for sign in (1.0, -1.0):
        rot = lambda s=sign: rope.rotate_heads(heads, 4, sign=s)  # noqa: E731
        assert_same_as_reference(rot, rot, (heads,), torch.randn(2, 12, 6, 16))
    logits = (torch.randn(30, 259) * 20).requires_grad_()  # far-apart logits: tiny softmaxes
    targets = torch.randint(0, 259, (30,))
    ce = lambda: fused.cross_entropy(logits, targets)  # noqa: E731
    assert_same_as_reference(ce, ce, (logits,), torch.rand(30), atol=1e-4)
    bhtr = torch.randn(2, 3, 12, 16, requires_grad=True)  # Rope.forward's [B, H, T, r]
    fwd = lambda: rope(bhtr)  # noqa: E731
    assert_same_as_reference(fwd, fwd, (bhtr,), torch.randn(2, 3, 12, 16))


def test_rope_rows_past_n_rot_pass_through_and_sign_minus_one_inverts():
    torch.manual_seed(0)
    rope = Rope(8, 10, 10000.0)
    x = torch.randn(2, 10, 5, 8)
    y = rope.rotate_heads(x, 3)
    assert torch.equal(y[:, :, 3:], x[:, :, 3:])
    assert not torch.allclose(y[:, 1:, :3], x[:, 1:, :3])
    torch.testing.assert_close(rope.rotate_heads(y, 3, sign=-1.0), x, atol=1e-6, rtol=1e-5)


def test_nan_passes_through_the_fused_swiglu():
    needs_kernels()
    gu = torch.zeros(1, 1, 8)
    gu[0, 0, 0] = float("nan")
    assert torch.isnan(fused.swiglu(gu)[0, 0, 0])


def losses_over_20_steps(cfg, reference: bool):
    evals = [
        torch.randint(0, 256, (4, cfg.seq_len + 1), generator=torch.Generator().manual_seed(1))
    ]
    tc = train.TrainConfig(steps=20, batch_size=8, lr=5e-3, warmup_steps=3, eval_every=1)
    torch.manual_seed(0)
    model = build_model(cfg)
    context = fused.reference() if reference else torch.enable_grad()
    with context:
        run = train.optimise(model, tc, seed=0, evals=evals)
    return torch.tensor([[p["train_loss"], p["eval_loss"]] for p in run.curve])


@pytest.mark.parametrize(
    "cfg",
    [
        all_off(**SMALL),
        all_on(**SMALL),
        # untied two-message attention with VO-RoPE, the strict mask and the parallel FFN
        all_on(**SMALL).replace(
            use_single_message_attn=False,
            no_vo_rope=False,
            no_mask_diagonal=False,
            use_ffn_after_attn=False,
        ),
        all_off(**SMALL).replace(use_gated_ffn=True, use_rms_norm=True),  # tied SwiGLU
        all_on(**SMALL, objective="masked_diffusion"),
        all_on(**SMALL, residual="v4_m1"),  # the residual variants' explicit attention
    ],
    ids=["all-off PT", "all-on Llama", "mixed", "tied SwiGLU", "masked diffusion", "v4_m1"],
)
def test_training_with_fused_kernels_equals_eager_over_20_steps(cfg):
    needs_kernels()
    fast, eager = losses_over_20_steps(cfg, False), losses_over_20_steps(cfg, True)
    assert fast.shape == eager.shape == (20, 2)
    torch.testing.assert_close(fast, eager, atol=2e-4, rtol=1e-4)


def test_without_a_compiler_training_runs_eager_and_says_so_once(monkeypatch, capfd):
    monkeypatch.setattr(fused, "_state", {})
    monkeypatch.setattr(fused, "_compiler", lambda: None)
    assert fused.kernels() is None and fused.kernels() is None
    res = train.train(all_on(**SMALL), train.TrainConfig(steps=3, batch_size=4, eval_every=3))
    assert res["status"] == "ok"
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "no C++ compiler" in lines[0] and "eager" in lines[0], err
    assert "Traceback" not in err


def test_a_failing_compiler_falls_back_without_a_traceback(monkeypatch, capfd, tmp_path):
    monkeypatch.setattr(fused, "_state", {})
    monkeypatch.setenv("PTLAB_CACHE", str(tmp_path))
    monkeypatch.setenv("CXX", "false")  # exists everywhere, fails every build
    assert fused.kernels() is None
    err = capfd.readouterr().err
    assert "could not be built" in err and "eager" in err and "Traceback" not in err
    assert not list((tmp_path / "kernels").glob("*.so"))


def test_ptlab_fused_0_turns_the_kernels_off(monkeypatch, capfd):
    monkeypatch.setattr(fused, "_state", {})
    monkeypatch.setenv("PTLAB_FUSED", "0")
    assert fused.kernels() is None
    assert "PTLAB_FUSED=0" in capfd.readouterr().err
