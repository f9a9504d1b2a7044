"""Sweeps end to end: resume after kill -9, concurrent sweeps, Slurm via submitit, bad input."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ptlab.models import SWITCHES
from ptlab.sweep import load_results, make_design, plan_runs, run_sweep

SMALL = ["--profile", "smoke", "--set", "steps=40", "--set", "eval_every=20"]


def ptlab(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "ptlab.cli", *args], capture_output=True, text=True, **kw
    )


def popen(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "ptlab.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def records(root, study):
    d = Path(root) / study / "runs"
    return {p.name: p.read_bytes() for p in d.glob("*.json")} if d.exists() else {}


def test_sweep_then_results_then_resume_skips(tmp_path):
    r = ptlab(
        "sweep",
        "s",
        "--design",
        "random",
        "--n",
        "3",
        *SMALL,
        "--results-dir",
        str(tmp_path),
        "--workers",
        "2",
    )
    assert r.returncode == 0, r.stderr
    first = records(tmp_path, "s")
    assert len(first) == 3 and all(json.loads(v)["status"] == "ok" for v in first.values())
    rec = json.loads(next(iter(first.values())))
    assert rec["provenance"]["corpus"]["sha256"] and rec["provenance"]["git_commit"]
    again = ptlab(
        "sweep", "s", "--design", "random", "--n", "3", *SMALL, "--results-dir", str(tmp_path)
    )
    assert "all already done" in again.stdout
    assert records(tmp_path, "s") == first
    table = ptlab("results", "s", "--results-dir", str(tmp_path), "--format", "csv")
    assert table.returncode == 0
    header = table.stdout.splitlines()[0].split(",")
    assert header[:3] == ["untie_attn_weights", "use_std_residual", "use_rms_norm"]
    assert header[10:] == [
        "seed",
        "eval/loss",
        "eval/accuracy",
        "n_params",
        "status",
        "wall_s",
        "tokens_per_s",
    ]
    assert len(table.stdout.splitlines()) == 4
    out = tmp_path / "t.parquet"
    assert (
        ptlab(
            "results", "s", "--results-dir", str(tmp_path), "--format", "parquet", "--out", str(out)
        ).returncode
        == 0
    )
    import pandas as pd

    assert len(pd.read_parquet(out)) == 3


@pytest.mark.parametrize("workers", ["1", "2"])
def test_kill_9_then_rerun_resumes(tmp_path, workers):
    args = [
        "sweep",
        "k",
        "--design",
        "random",
        "--n",
        "6",
        "--profile",
        "smoke",
        "--set",
        "steps=150",
        "--results-dir",
        str(tmp_path),
        "--workers",
        workers,
    ]
    proc = popen(*args)
    deadline = time.time() + 120
    while len(records(tmp_path, "k")) < 2 and time.time() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole sweep, workers included: a hard crash
    proc.wait()
    survived = records(tmp_path, "k")
    assert 2 <= len(survived) < 6
    for v in survived.values():
        json.loads(v)  # every finished record is whole
    r = ptlab(*args)
    assert r.returncode == 0, r.stderr
    final = records(tmp_path, "k")
    assert len(final) == 6
    assert all(final[k] == v for k, v in survived.items())  # untouched
    assert not list((tmp_path / "k" / "runs").glob("*.claim"))
    assert not list((tmp_path / "k" / "runs").glob("*.tmp"))


def test_two_sweeps_at_once_share_the_work(tmp_path):
    args = [
        "sweep",
        "c",
        "--design",
        "random",
        "--n",
        "6",
        *SMALL,
        "--results-dir",
        str(tmp_path),
        "--workers",
        "1",
    ]
    a, b = popen(*args), popen(*args)
    outs = [p.communicate(timeout=300) for p in (a, b)]
    assert a.returncode == b.returncode == 0, outs
    recs = records(tmp_path, "c")
    assert len(recs) == 6
    ids = [json.loads(v)["run_id"] for v in recs.values()]
    assert len(set(ids)) == 6
    df = load_results("c", tmp_path)
    assert (df["status"] == "ok").all() and len(df) == 6


def test_slurm_executor_through_submitit_matches_local(tmp_path):
    specs = plan_runs(
        "sl",
        make_design("random", n=2),
        profile="smoke",
        overrides={"steps": 20, "eval_every": 10},
        results_dir=str(tmp_path / "slurm"),
    )
    summary = run_sweep(specs, "slurm", slurm_cluster="local", progress=False)
    assert summary["counts"] == {"ok": 2}
    local = [s.__class__(**{**s.__dict__, "results_dir": str(tmp_path / "local")}) for s in specs]
    run_sweep(local, "local", workers=1, progress=False)
    a = load_results("sl", tmp_path / "slurm").set_index("run_id")["eval/loss"]
    b = load_results("sl", tmp_path / "local").set_index("run_id")["eval/loss"]
    assert a.to_dict() == b.to_dict()


BAD = [
    (["--set", "use_rmsnorm=true"], "unknown parameter 'use_rmsnorm'; allowed:"),
    (["--set", "steps=ten"], "steps must be an integer"),
    (["--set", "use_rms_norm=maybe"], "use_rms_norm must be true or false"),
    (["--set", "steps=-5"], "steps must be a positive integer"),
    (["--set", "d_model=30"], "not divisible by n_heads"),
    (["--design", "latin"], "unknown design 'latin'; allowed: full, random, fractional"),
    (["--executor", "pbs"], "unknown executor 'pbs'; allowed: local, slurm"),
    (["--profile", "huge"], "unknown profile 'huge'; allowed: smoke, quick, full"),
    (["--seeds", "0"], "--seeds must be >= 1"),
    (["--design", "random"], "the random design needs --n"),
    (["--frobnicate"], "No such option"),
]


@pytest.mark.parametrize("extra,message", BAD)
def test_bad_input_one_line_nonzero_no_work(tmp_path, extra, message):
    root = tmp_path / "res"
    r = ptlab("sweep", "b", "--results-dir", str(root), *extra)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert not root.exists()  # nothing created, nothing touched


def test_bad_results_dir(tmp_path):
    f = tmp_path / "afile"
    f.write_text("keep me")
    r = ptlab("sweep", "b", "--results-dir", str(f), "--profile", "smoke")
    assert r.returncode == 2 and "not a directory" in r.stderr and len(r.stderr.splitlines()) == 1
    assert f.read_text() == "keep me"
    r = ptlab("results", "b", "--results-dir", str(tmp_path / "missing"))
    assert r.returncode == 2 and "does not exist" in r.stderr


def test_a_study_measures_each_run_through_the_hook_it_names(tmp_path):
    """The sweep knows no study: RunSpec.measure names the hook; its metrics join the run's
    metrics and its other keys the record; a wrong name is a ConfigError before any run."""
    from ptlab.models.config import ConfigError
    from ptlab.sweep import run_study

    runs, recs = run_study(
        "hooked",
        [dict.fromkeys(SWITCHES, True)],
        profile="smoke",
        overrides={"steps": 4, "eval_every": 2},
        results_dir=str(tmp_path),
        workers=1,
        progress=False,
        measure="hooks:count_parameters",
    )
    assert recs[0]["metrics"]["hook_params"] == recs[0]["metrics"]["n_params"]
    assert recs[0]["hook_note"] == "measured"
    with pytest.raises(ConfigError, match="measure hook 'hooks:nothing' not found"):
        run_study(
            "h2",
            [dict.fromkeys(SWITCHES, True)],
            profile="smoke",
            results_dir=str(tmp_path),
            measure="hooks:nothing",
        )


def test_a_run_trained_by_another_study_is_reused_not_trained_again(tmp_path, monkeypatch):
    import ptlab.sweep.runner as runner

    design = make_design("anchors")[:2]
    over = {"steps": 4, "eval_every": 2}
    first = plan_runs("first", design, profile="smoke", overrides=over, results_dir=str(tmp_path))
    run_sweep(first, "local", workers=1, progress=False)

    def no_training(*a, **k):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(runner, "execute_run", no_training)
    again = plan_runs(
        "second", design, seeds=1, profile="smoke", overrides=over, results_dir=str(tmp_path)
    )
    summary = run_sweep(again, "local", workers=1, progress=False)
    assert summary["reused"] == 2 and summary["counts"] == {}
    df_first, df_again = load_results("first", tmp_path), load_results("second", tmp_path)
    assert list(df_again["eval/loss"]) == list(df_first["eval/loss"])
