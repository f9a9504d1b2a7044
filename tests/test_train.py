"""Trainer: determinism, paired data, divergence handling, masked-diffusion loss, schedule."""

import math

import pytest
import torch
import torch.nn.functional as F

from ptlab import data, train
from ptlab.models import ConfigError, all_off, all_on, build_model
from ptlab.profiles import profile_configs

SMOKE_M, SMOKE_T = profile_configs("smoke")


def test_same_config_and_seed_is_bitwise_repeatable():
    a = train.train(SMOKE_M, SMOKE_T, seed=1)
    b = train.train(SMOKE_M, SMOKE_T, seed=1)
    c = train.train(SMOKE_M, SMOKE_T, seed=2)
    assert a["status"] == "ok"
    assert a["metrics"]["eval/loss"] == b["metrics"]["eval/loss"]
    assert a["curve"] == b["curve"]
    assert a["metrics"]["eval/loss"] != c["metrics"]["eval/loss"]
    m = a["metrics"]
    assert math.isclose(m["eval/bpb"], m["eval/loss"] / math.log(2))
    assert m["eval/loss"] < math.log(256)  # learned something beyond uniform bytes
    assert m["n_params"] > 0 and m["tokens_per_s"] > 0 and m["wall_s"] > 0


def test_two_configs_see_the_same_batches(monkeypatch):
    seen: dict[str, list] = {"off": [], "on": []}
    current = []
    real = data.get_batch

    def spy(stream, **kw):
        b = real(stream, **kw)
        seen[current[-1]].append(b.clone())
        return b

    monkeypatch.setattr(data, "get_batch", spy)
    sizes = {k: getattr(SMOKE_M, k) for k in ("d_model", "n_layers", "n_heads", "seq_len")}
    for name, cfg in (("off", SMOKE_M), ("on", all_on(**sizes))):
        current.append(name)
        train.train(cfg, SMOKE_T.replace(steps=5, eval_every=5), seed=0)
    assert len(seen["off"]) == len(seen["on"]) == 5 + SMOKE_T.eval_batches
    assert all(torch.equal(x, y) for x, y in zip(seen["off"], seen["on"], strict=True))


def test_divergence_ends_run_with_last_good_metrics(monkeypatch):
    real = train.batch_loss

    def poisoned(model, batch, seed, step, with_accuracy=False):
        out = real(model, batch, seed, step, with_accuracy=with_accuracy)
        if model.training and step >= 20:
            return out * float("nan")
        return out

    monkeypatch.setattr(train, "batch_loss", poisoned)
    res = train.train(SMOKE_M, SMOKE_T.replace(steps=30, eval_every=10), seed=0)
    assert res["status"] == "diverged"
    assert res["metrics"]["steps_done"] == 20
    assert res["metrics"]["eval/step"] == 20
    assert math.isfinite(res["metrics"]["eval/loss"])


def test_masked_diffusion_loss_on_fixed_noise():
    torch.manual_seed(0)
    cfg = all_off(d_model=16, n_layers=1, n_heads=2, seq_len=8, objective="masked_diffusion")
    model = build_model(cfg).eval()
    tokens = torch.randint(0, 256, (3, 8))
    noise = train.draw_noise((3, 8), seed=5, step=0)
    again = train.draw_noise((3, 8), seed=5, step=0)
    assert torch.equal(noise[0], again[0]) and torch.equal(noise[1], again[1])
    with torch.no_grad():
        l1 = train.sequence_losses(model, tokens, noise).mean()
        l2 = train.sequence_losses(model, tokens, noise).mean()
        assert l1.item() == l2.item()
        t, mask = noise
        noisy = torch.where(mask, torch.full_like(tokens, data.MASK), tokens)
        logp = F.log_softmax(model(noisy), -1)
        manual = 0.0
        for b in range(3):
            for i in range(8):
                if mask[b, i]:
                    manual += -logp[b, i, tokens[b, i]].item() / t[b].item()
        assert math.isclose(l1.item(), manual / 24, rel_tol=1e-5)
        # everything masked at t = 1: the plain mean cross-entropy over all tokens
        full = (torch.ones(3), torch.ones(3, 8, dtype=torch.bool))
        lf = train.sequence_losses(model, tokens, full).mean()
        ce = F.cross_entropy(
            model(torch.full_like(tokens, data.MASK)).reshape(-1, 259), tokens.reshape(-1)
        )
        assert math.isclose(lf.item(), ce.item(), rel_tol=1e-5)


def test_masked_diffusion_trains():
    m = SMOKE_M.replace(objective="masked_diffusion")
    res = train.train(m, SMOKE_T, seed=0)
    assert res["status"] == "ok" and math.isfinite(res["metrics"]["eval/loss"])


def test_lr_schedule():
    cfg = train.TrainConfig(steps=100, warmup_steps=10, lr=1.0, min_lr_ratio=0.1)
    assert train.lr_at(0, cfg) == pytest.approx(0.1)
    assert train.lr_at(9, cfg) == pytest.approx(1.0)
    assert train.lr_at(100, cfg) == pytest.approx(0.1)
    lrs = [train.lr_at(s, cfg) for s in range(10, 100)]
    assert all(a >= b for a, b in zip(lrs, lrs[1:], strict=False))


def test_train_config_validation():
    with pytest.raises(ConfigError, match="steps must be a positive integer"):
        train.TrainConfig(steps=-1)
    with pytest.raises(ConfigError, match="lr must be a positive number"):
        train.TrainConfig(lr=0)
    with pytest.raises(ConfigError, match="unknown training parameter"):
        train.TrainConfig.from_dict({"epochs": 3})


def test_tensorboard_curves(tmp_path):
    train.train(
        SMOKE_M, SMOKE_T.replace(steps=4, eval_every=2), seed=0, tensorboard_dir=str(tmp_path)
    )
    assert list(tmp_path.glob("events.out.tfevents.*"))


def test_shifted_masked_diffusion_predicts_the_next_byte_and_never_masks_position_zero():
    torch.manual_seed(0)
    cfg = all_on(d_model=16, n_layers=1, n_heads=2, seq_len=8, objective="shifted_masked_diffusion")
    model = build_model(cfg).eval()
    tokens = torch.randint(0, 256, (2, 8))
    t, mask = train.draw_noise((2, 8), seed=3, step=0)
    mask[:, 0] = True  # the loss must unmask position 0 itself
    with torch.no_grad():
        got = train.sequence_losses(model, tokens, (t, mask))
        kept = mask.clone()
        kept[:, 0] = False
        logp = F.log_softmax(model(tokens.masked_fill(kept, data.MASK)), -1)
        for b in range(2):
            manual = sum(
                -logp[b, i - 1, tokens[b, i]].item() / t[b].item()
                for i in range(1, 8)
                if kept[b, i]
            )
            assert math.isclose(got[b].item(), manual / 7, rel_tol=1e-5)


def test_training_loss_is_the_mean_of_the_per_window_losses():
    torch.manual_seed(0)
    for objective in ("causal", "masked_diffusion", "shifted_masked_diffusion"):
        model = build_model(SMOKE_M.replace(objective=objective)).eval()
        batch = torch.randint(0, 256, (4, SMOKE_M.seq_len + 1))
        with torch.no_grad():
            loss = train.batch_loss(model, batch, seed=0, step=3)
            tokens = batch if objective == "causal" else batch[:, :-1]
            noise = None if objective == "causal" else train.draw_noise((4, 32), 0, 3)
            per = train.sequence_losses(model, tokens, noise)
        assert per.shape == (4,) and loss.item() == per.mean().item()


def test_after_step_hook_runs_once_per_step_after_the_update():
    calls = []

    def hook(model, step):
        calls.append((step, model.training))
        with torch.no_grad():
            model.lm_head.weight.zero_()

    res = train.train(
        SMOKE_M, SMOKE_T.replace(steps=3, eval_every=3), seed=0, after_step=hook, return_model=True
    )
    assert calls == [(0, True), (1, True), (2, True)]
    assert not res["model"].lm_head.weight.any()  # the hook's change is what the model keeps


def test_later_training_fields_keep_old_run_ids_at_their_defaults():
    d = train.TrainConfig().to_dict()
    assert not set(train.LATER_FIELDS) & set(d)
    assert train.TrainConfig.from_dict(d) == train.TrainConfig()
    sharp = train.TrainConfig(adam_eps=0.1, grad_norm="rms", schedule="linear")
    assert sharp.to_dict()["adam_eps"] == 0.1
    assert train.TrainConfig.from_dict(sharp.to_dict()) == sharp
    with pytest.raises(ConfigError, match="grad_norm"):
        train.TrainConfig(grad_norm="max")


def test_rms_normalisation_makes_the_gradient_rms_one():
    p = [torch.nn.Parameter(torch.zeros(3, 4)), torch.nn.Parameter(torch.zeros(5))]
    p[0].grad, p[1].grad = torch.randn(3, 4) * 7, torch.randn(5) * 0.1
    train.normalise_gradients(p, train.TrainConfig(grad_norm="rms"))
    flat = torch.cat([q.grad.flatten() for q in p])
    assert float(flat.pow(2).mean().sqrt()) == pytest.approx(1.0, rel=1e-4)


def test_linear_schedule_decays_to_the_floor():
    cfg = train.TrainConfig(steps=101, warmup_steps=1, lr=1.0, min_lr_ratio=0.0, schedule="linear")
    assert train.lr_at(0, cfg) == 1.0
    assert train.lr_at(51, cfg) == pytest.approx(0.5)
    assert train.lr_at(101, cfg) == 0.0
