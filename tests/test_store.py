"""The results store: run ids, atomic create-once records, claims, the loader."""

import json
import os
import subprocess
import sys

import pytest

from ptlab.models import SWITCHES
from ptlab.sweep.store import ResultsStore, StoreError, load_results, records_frame, run_id


def _record(rid, **switches):
    model = {s: switches.get(s, False) for s in SWITCHES}
    return {
        "run_id": rid,
        "seed": 0,
        "model": model,
        "train": {},
        "status": "ok",
        "metrics": {"eval/loss": 2.0, "eval/accuracy": 0.4, "n_params": 10},
    }


def test_run_id_is_stable_and_sensitive():
    a = run_id({"d_model": 8}, {"steps": 3}, 0)
    assert a == run_id({"d_model": 8}, {"steps": 3}, 0)
    assert a != run_id({"d_model": 8}, {"steps": 3}, 1) != run_id({"d_model": 8}, {"steps": 4}, 0)


def test_write_creates_once_and_never_overwrites(tmp_path):
    st = ResultsStore(tmp_path, "s")
    assert st.write(_record("abc"))
    before = st.path("abc").read_bytes()
    other = _record("abc")
    other["metrics"]["eval/loss"] = 9.9
    assert st.write(other) is False
    assert st.path("abc").read_bytes() == before
    assert not [p for p in st.dir.iterdir() if p.suffix == ".tmp"]


def test_claims_are_exclusive_and_dead_owners_are_stale(tmp_path):
    st = ResultsStore(tmp_path, "s")
    assert st.claim("r1") and not st.claim("r1")
    st.release("r1")
    assert st.claim("r1")
    st.release("r1")
    # a claim left by a process that no longer exists can be taken over
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    import socket

    (st.dir / "r2.claim").write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead)}))
    assert st.claim("r2")
    # a claim by a live process (this one) is respected; a finished run is never claimed
    (st.dir / "r3.claim").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    assert not st.claim("r3")
    st.write(_record("r4"))
    assert not st.claim("r4")


def test_loader_has_bool_switch_columns(tmp_path):
    st = ResultsStore(tmp_path, "s")
    st.write(_record("a", use_rms_norm=True))
    st.write(_record("b"))
    df = load_results("s", tmp_path)
    assert len(df) == 2 and all(df[s].dtype == bool for s in SWITCHES)
    assert df["use_rms_norm"].sum() == 1
    assert list(records_frame([]).columns)[:10] == list(SWITCHES)


def test_loader_errors(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        load_results("s", tmp_path / "nope")
    ResultsStore(tmp_path, "known")
    with pytest.raises(StoreError, match="studies there: known"):
        load_results("other", tmp_path)
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(StoreError, match="not a directory"):
        ResultsStore(f, "s")
    with pytest.raises(StoreError, match="invalid study name"):
        ResultsStore(tmp_path, "../x")


def test_a_finished_run_of_another_study_is_adopted_with_its_origin(tmp_path):
    a, b = ResultsStore(tmp_path, "a"), ResultsStore(tmp_path, "b")
    rec = {**_record("r1"), "study": "a", "profile": "quick", "finished_at": "then"}
    a.write(rec)
    assert b.adopt("r1", profile="custom")
    got = b.read("r1")
    assert got["study"] == "b" and got["profile"] == "custom"
    assert got["reused_from"] == {"study": "a", "finished_at": "then"}
    assert got["metrics"] == rec["metrics"] and got["model"] == rec["model"]
    # a copy of a copy still names the study that trained it
    assert ResultsStore(tmp_path, "c").adopt("r1")
    assert ResultsStore(tmp_path, "c").read("r1")["reused_from"]["study"] == "a"
    assert not b.adopt("nowhere")


def test_failed_runs_and_runs_of_another_measure_hook_are_not_adopted(tmp_path):
    a, b = ResultsStore(tmp_path, "a"), ResultsStore(tmp_path, "b")
    a.write({**_record("bad"), "status": "failed"})
    a.write({**_record("plain"), "measure": None})
    a.write({**_record("timed"), "measure": "m:f"})
    assert not b.adopt("bad")
    assert not b.adopt("plain", measure="m:f")  # this study needs the hook's measurements
    assert b.adopt("timed", measure="m:f") and b.adopt("plain")
    assert not b.exists("bad")
