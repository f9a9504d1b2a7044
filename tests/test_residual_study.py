"""The residual-variant study: the design, the CLI's bad input, the results columns, the paired
statistics on planted differences, and the verdicts on the note's claims."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ptlab import residual as res
from ptlab.models import RESIDUALS, SWITCHES, ConfigError
from ptlab.residual import design as residual_design
from ptlab.sweep import make_design, run_study
from ptlab.sweep.designs import pin


def ptlab(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "ptlab.cli", *args], capture_output=True, text=True, **kw
    )


def test_residual_design_has_every_variant_on_the_llama_backbone_baseline_first():
    rows = residual_design()
    assert [r["residual"] for r in rows] == list(RESIDUALS)
    assert all(all(r[s] for s in SWITCHES) for r in rows)
    some = residual_design(["mudd", "v2_m3", "mudd"])
    assert [r["residual"] for r in some] == ["baseline", "mudd", "v2_m3"]
    assert len(pin(rows, {})) == len(rows)  # rows that differ only in the variant stay


def test_an_unknown_variant_is_a_config_error_and_the_sweep_has_no_residual_design():
    with pytest.raises(ConfigError, match="unknown residual variant 'v2_m9'; allowed: baseline"):
        residual_design(["v2_m9"])
    with pytest.raises(ConfigError, match="unknown design 'residual'"):
        make_design("residual")  # the study owns its design; the sweep knows no study


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--variants", "v2_m3,v4_mlx"],
            "unknown residual variant 'v4_mlx'; allowed: baseline, v1_m1",
        ),
        (["--set", "use_rms_norm=false"], "needs every switch on"),
        (["--design", "fractional", "--variants", "v2_m3"], "--variants goes with --design"),
    ],
)
def test_cli_bad_residual_input_is_one_line_exit_2_and_writes_nothing(tmp_path, args, message):
    design = [] if "--design" in args else ["--design", "residual"]
    out = ptlab("sweep", "r", *design, "--results-dir", str(tmp_path / "res"), *args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and message in out.stderr, out.stderr
    assert not (tmp_path / "res").exists()


def test_a_residual_run_records_its_timing_connections_and_cost_columns(tmp_path):
    runs, recs = run_study(
        "r",
        residual_design(["v2_m3"]),
        seeds=1,
        profile="smoke",
        overrides={"steps": 6, "eval_every": 3},
        results_dir=str(tmp_path),
        workers=1,
        progress=False,
        section="residual",
        measure=res.MEASURE,
    )
    assert list(runs["residual"]) == ["baseline", "v2_m3"]
    assert (runs["status"] == "ok").all()
    v2 = next(r for r in recs if r["model"].get("residual") == "v2_m3")
    assert v2["model"]["n_layers"] == 3  # the smoke profile's residual section
    assert v2["metrics"]["eval_time_ratio"] > 0 and v2["connections"]
    row = runs.set_index("residual").loc["v2_m3"]
    assert row["eval/ppl"] == pytest.approx(math.exp(row["eval/loss"]))
    assert row["flops_per_token"] > runs.set_index("residual").loc["baseline", "flops_per_token"]
    assert row["step_ms"] > 0
    m = res.connection_matrix(recs, "v2_m3")
    assert m.shape[0] == 3 and np.allclose(np.nansum(m, axis=1), 1.0, atol=1e-5)


def planted(deltas: dict[str, float], seeds: int = 4, noise: float = 0.002) -> pd.DataFrame:
    """A runs table with known paired differences: loss = baseline(seed) + Δ + small noise."""
    rng = np.random.default_rng(0)
    base = 2.0 + 0.2 * rng.standard_normal(seeds)
    rows = []
    for name, d in {"baseline": 0.0, **deltas}.items():
        for s in range(seeds):
            jitter = 0.0 if name == "baseline" else noise * rng.standard_normal()
            rows.append(
                {
                    "residual": name,
                    "seed": s,
                    "status": "ok",
                    "eval/loss": base[s] + d + jitter,
                    "n_params": 1000,
                    "flops_per_token": 6000.0,
                    "step_ms": 10.0,
                    "eval_time_ratio": 1.5 if name.startswith("v4_m1") else 1.0,
                    "eval_time_baseline_ms": 10.0,
                    "eval_time_explicit_ms": 11.0,
                }
            )
    return pd.DataFrame(rows)


def test_paired_intervals_find_planted_differences_and_nothing_in_noise():
    table = res.variant_table(planted({"v2_m3": -0.03, "v1_m3": 0.04, "mudd": 0.0}))
    t = table.set_index("variant")
    assert t.loc["v2_m3", "ci_high"] < 0 < t.loc["v1_m3", "ci_low"]
    assert t.loc["mudd", "ci_low"] < 0 < t.loc["mudd", "ci_high"]
    assert t.loc["v2_m3", "delta_loss"] == pytest.approx(-0.03, abs=0.003)
    assert t.loc["v2_m3", "delta_ppl_pct"] == pytest.approx(100 * (math.exp(-0.03) - 1), abs=0.3)
    assert table["variant"].iloc[0] == "baseline"
    # the seed-to-seed spread of the baseline (0.2) is far larger than the planted Δ: only
    # the pairing finds it
    assert t.loc["baseline", "eval_loss_sd"] > 10 * abs(
        t.loc["v2_m3", "ci_high"] - t.loc["v2_m3", "ci_low"]
    )


V2_SUPPORTED = {"v2_m1": 0.01, "v2_m2": 0.005, "v2_m3": -0.02}


@pytest.mark.parametrize(
    "deltas, claim, verdict",
    [
        (V2_SUPPORTED, "v2", "supported"),
        ({"v2_m1": -0.03, "v2_m2": 0.0, "v2_m3": -0.02}, "v2", "partly"),  # better, not best
        ({"v2_m1": 0.01, "v2_m2": 0.02, "v2_m3": 0.0}, "v2", "partly"),  # best, within noise
        ({"v2_m1": -0.01, "v2_m2": 0.0, "v2_m3": 0.02}, "v2", "not supported"),
        ({"v2_m3": -0.02}, "v1", "not run"),
        (
            {f"v1_m{i}": d for i, d in enumerate([0.1, 0.1, 0.02, 0.021, 0.1, 0.1, 0.1], 1)},
            "v1",
            "supported",
        ),
        (
            {f"v1_m{i}": d for i, d in enumerate([0.1, 0.1, 0.02, 0.09, 0.1, 0.1, 0.1], 1)},
            "v1",
            "partly",  # M3 best and both below the baseline, but M4 far from M3
        ),
        (
            {
                "v3_m1": -0.01,
                "v3_m2": 0.01,
                "v3_m3_1": -0.02,
                "v3_m4_1": 0.0,
                "v3_m3_2": -0.02,
                "v3_m4_2": 0.01,
            },
            "v3",
            "supported",
        ),
        ({f"v4_m{i}": 0.01 * i for i in range(1, 8)}, "v4_scaling", "supported"),
        ({f"v4_m{i}": 0.01 * (8 - i) for i in range(1, 8)}, "v4_scaling", "not supported"),
        (
            {"v4_m1a": -0.01, "v4_m1b": -0.01, "v4_m1c": -0.01, "v4_m1d": -0.02, "v4_m1e": -0.02},
            "v4_tokens",
            "supported",
        ),
    ],
)
def test_claim_verdicts_cross_their_thresholds(deltas, claim, verdict):
    claims = res.claims(res.variant_table(planted(deltas))).set_index("claim")
    assert claims.loc[claim, "verdict"] == verdict, claims.loc[claim, "evidence_en"]
    assert claims.loc[claim, "verdict_zh"] and claims.loc[claim, "verdict_en"]


def test_experiment_three_names_the_module_that_gains_and_the_one_that_costs():
    deltas = {"v4_m1": -0.02, "v4_c": 0.0, "v4_d": 0.0, "v4_m1c": -0.02, "v4_m1d": -0.02}
    row = res.claims(res.variant_table(planted(deltas))).set_index("claim").loc["v4_modules"]
    assert row["verdict"] == "supported"
    assert "gain comes mostly from logit accumulation" in row["evidence_en"]
    assert "time goes mostly to logit accumulation" in row["evidence_en"]  # v4_m1* ratio 1.5


def test_published_relatives_sit_beside_this_runs_numbers():
    table = res.variant_table(planted({"denseformer": -0.01, "mudd": -0.02}))
    pub = res.against_published(table)
    assert set(pub["variant"]) == {"denseformer", "mudd", "v4_m1"}
    assert pub.loc[pub["variant"] == "mudd", "delta_loss_here"].iloc[0] == pytest.approx(
        -0.02, abs=0.003
    )
    assert pub.loc[pub["variant"] == "v4_m1", "delta_loss_here"].isna().all()
    shown = res.show(table)
    assert "Δ 损失 · Δ loss" in shown.columns and shown.index.name == "变体 · variant"
