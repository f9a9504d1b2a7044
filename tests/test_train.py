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
    real = train.objective_loss

    def poisoned(model, batch, seed, step, head_gates=None):
        loss, acc = real(model, batch, seed, step, head_gates)
        if model.training and step >= 20:
            loss = loss * float("nan")
        return loss, acc

    monkeypatch.setattr(train, "objective_loss", poisoned)
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
        l1, _ = train.masked_diffusion_loss(model, tokens, noise)
        l2, _ = train.masked_diffusion_loss(model, tokens, noise)
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
        lf, _ = train.masked_diffusion_loss(model, tokens, full)
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
