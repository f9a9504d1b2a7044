"""The results store: one JSON record per finished run under ``<root>/<study>/runs/``.

Records are created atomically and never replaced: a record is written to a temp file in the
same directory and hard-linked to its final name (``os.link`` fails if the name exists), so a
reader sees either no record or a whole one, and two writers cannot both win. While a run
trains, a claim file ``<run_id>.claim`` (O_EXCL) names its owner; a claim whose process is dead
(same host) is stale and may be taken over, which is how a killed sweep resumes.
No database server is needed; a shared filesystem is enough for Slurm.

No run is trained twice under one results dir: a run id is a hash of the whole run (model and
training configs, seed), so a finished record of the same id in another study is the same run.
``ResultsStore.adopt`` copies it into this study (a record of its own, written the same atomic
way) with ``reused_from`` naming where it came from; ``run_sweep`` adopts before it trains.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from ptlab.models import SWITCHES

DEFAULT_RESULTS_DIR = "results"
STATUSES = ("ok", "diverged", "failed")


class StoreError(RuntimeError):
    """The results directory cannot be used (message says why)."""


def run_id(model_cfg: dict, train_cfg: dict, seed: int) -> str:
    """Hash of the full run config + seed: the key that makes sweeps resumable."""
    canon = json.dumps({"model": model_cfg, "train": train_cfg, "seed": seed}, sort_keys=True)
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ResultsStore:
    """Records of one study: ``exists``, ``claim``/``release``, ``write``, ``records``."""

    def __init__(self, root: str | os.PathLike, study: str, create: bool = True):
        if not study or "/" in study or study.startswith("."):
            raise StoreError(f"invalid study name {study!r}; use letters, digits, - and _")
        self.root = Path(root)
        self.dir = self.root / study / "runs"
        self.study = study
        if create:
            check_writable_dir(self.root)
            try:
                self.dir.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise StoreError(f"results dir {self.root} is not usable: {e.strerror}") from None

    def path(self, rid: str) -> Path:
        return self.dir / f"{rid}.json"

    def exists(self, rid: str) -> bool:
        return self.path(rid).exists()

    # --- claims ---------------------------------------------------------------------------
    def claim(self, rid: str) -> bool:
        """Take the run for this process; False if it is finished or a live process holds it."""
        if self.exists(rid):
            return False
        cpath = self.dir / f"{rid}.claim"
        me = {"host": socket.gethostname(), "pid": os.getpid(), "time": time.time()}
        for _ in range(2):
            try:
                fd = os.open(cpath, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._stale(cpath):
                    return False
                try:  # take over a dead owner's claim, then retry the exclusive create
                    os.unlink(cpath)
                except FileNotFoundError:
                    pass
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            if self.exists(rid):  # finished between our check and our claim
                self.release(rid)
                return False
            return True
        return False

    def _stale(self, cpath: Path) -> bool:
        try:
            owner = json.loads(cpath.read_text() or "{}")
        except (OSError, json.JSONDecodeError):
            # being written right now, or torn by a kill: stale only once it is old
            try:
                return time.time() - cpath.stat().st_mtime > 60
            except FileNotFoundError:
                return True
        if owner.get("host") == socket.gethostname():
            return not _pid_alive(int(owner.get("pid", -1)))
        return False  # another host's claim: we cannot tell, so respect it

    def release(self, rid: str) -> None:
        try:
            os.unlink(self.dir / f"{rid}.claim")
        except FileNotFoundError:
            pass

    # --- records --------------------------------------------------------------------------
    def write(self, record: dict[str, Any]) -> bool:
        """Create the record atomically; False (and nothing changed) if it already exists."""
        rid = record["run_id"]
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{rid}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(record, f, indent=1, sort_keys=True, allow_nan=True)
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, self.path(rid))
            except FileExistsError:
                return False
            return True
        finally:
            os.unlink(tmp)

    def read(self, rid: str) -> dict[str, Any]:
        return json.loads(self.path(rid).read_text())

    # --- reuse across studies -------------------------------------------------------------
    def find_elsewhere(self, rid: str, measure: str | None = None) -> Path | None:
        """A finished record of ``rid`` in another study under the same root that this study
        can reuse: status ``ok`` or ``diverged`` (a ``failed`` run is retried, not copied), and
        measured by the same per-run hook when one is asked for (``RunSpec.measure``)."""
        for path in sorted(self.root.glob(f"*/runs/{rid}.json")):
            if path.parent == self.dir:
                continue
            try:
                rec = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            if rec.get("status") not in ("ok", "diverged"):
                continue
            if measure is not None and rec.get("measure") != measure:
                continue
            return path
        return None

    def adopt(self, rid: str, profile: str | None = None, measure: str | None = None) -> bool:
        """Copy another study's finished record of ``rid`` into this study (see
        ``find_elsewhere``); True if this study has the record afterwards."""
        if self.exists(rid):
            return True
        source = self.find_elsewhere(rid, measure)
        if source is None:
            return False
        rec = json.loads(source.read_text())
        origin = rec.get("reused_from") or {
            "study": rec.get("study", source.parent.parent.name),
            "finished_at": rec.get("finished_at"),
        }
        rec.update(study=self.study, reused_from=origin)
        if profile is not None:
            rec["profile"] = profile
        self.write(rec)
        return self.exists(rid)

    def run_ids(self) -> list[str]:
        return sorted(p.stem for p in self.dir.glob("*.json"))

    def records(self) -> list[dict[str, Any]]:
        out = []
        for p in sorted(self.dir.glob("*.json")):
            try:
                out.append(json.loads(p.read_text()))
            except json.JSONDecodeError as e:  # never expected: records are written atomically
                raise StoreError(f"corrupt record {p}: {e}") from e
        return out


def check_writable_dir(path: Path) -> None:
    """One clear error if ``path`` exists but is not a writable directory (or cannot be made)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise StoreError(f"results dir {p} exists and is not a directory")
    if p.exists() and not os.access(p, os.W_OK | os.X_OK):
        raise StoreError(f"results dir {p} is not writable")
    if not p.exists():
        parent = next((q for q in p.parents if q.exists()), Path("."))
        if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
            raise StoreError(f"results dir {p} cannot be created ({parent} is not writable)")


# --- loading ---------------------------------------------------------------------------------

TABLE_COLUMNS = [
    *SWITCHES,
    "seed",
    "eval/loss",
    "eval/accuracy",
    "n_params",
    "status",
    "wall_s",
    "tokens_per_s",
]


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run: switches as bool columns, seed, metrics, status, provenance columns;
    then the residual variant and the cost columns: ``eval/ppl`` = exp(eval/loss), the eval
    forward time (where the run timed it), training step time, and FLOPs per token from the
    closed form (``ptlab.models.flops_per_token``)."""
    from ptlab.models import ModelConfig, flops_per_token

    rows = []
    for r in records:
        m = r.get("metrics", {})
        row = {s: bool(r["model"][s]) for s in SWITCHES}
        row.update(
            seed=r["seed"],
            **{k: m.get(k, float("nan")) for k in ("eval/loss", "eval/accuracy", "eval/bpb")},
            n_params=m.get("n_params"),
            status=r["status"],
            wall_s=m.get("wall_s", float("nan")),
            tokens_per_s=m.get("tokens_per_s", float("nan")),
            error=r.get("error"),
            run_id=r["run_id"],
            profile=r.get("profile"),
            device=r.get("provenance", {}).get("device"),
            residual=r["model"].get("residual", "baseline"),
            **{"eval/ppl": math.exp(m["eval/loss"]) if "eval/loss" in m else float("nan")},
            **{k: m.get(k, float("nan")) for k in TIMING_COLUMNS},
            step_ms=_step_ms(r, m),
            flops_per_token=flops_per_token(ModelConfig.from_dict(r["model"])),
            n_layers=r["model"].get("n_layers"),
            steps=r.get("train", {}).get("steps"),
            lr=r.get("train", {}).get("lr"),
        )
        rows.append(row)
    cols = [
        *TABLE_COLUMNS,
        "eval/bpb",
        "error",
        "run_id",
        "profile",
        "device",
        "residual",
        "eval/ppl",
        *TIMING_COLUMNS,
        "step_ms",
        "flops_per_token",
        "n_layers",
        "steps",
        "lr",
    ]
    df = pd.DataFrame(rows, columns=cols)
    for s in SWITCHES:
        df[s] = df[s].astype(bool)
    if len(df):
        df = df.sort_values([*SWITCHES, "residual", "seed"]).reset_index(drop=True)
    return df


TIMING_COLUMNS = (
    "eval_time_ms",
    "eval_time_baseline_ms",
    "eval_time_explicit_ms",
    "eval_time_ratio",
)


def _step_ms(record: dict[str, Any], metrics: dict[str, Any]) -> float:
    """Training step time (ms) from the run's tokens per second (evaluation excluded)."""
    tps = metrics.get("tokens_per_s") or 0.0
    batch = record.get("train", {}).get("batch_size")
    seq_len = record.get("model", {}).get("seq_len")
    if not (tps > 0 and batch and seq_len):
        return float("nan")
    return 1000 * batch * seq_len / tps


def load_results(study: str, results_dir: str | os.PathLike = DEFAULT_RESULTS_DIR) -> pd.DataFrame:
    """The study's runs as a DataFrame (see ``records_frame``); StoreError if there are none."""
    root = Path(results_dir)
    if not root.is_dir():
        raise StoreError(f"results dir {root} does not exist or is not a directory")
    if not os.access(root, os.R_OK | os.X_OK):
        raise StoreError(f"results dir {root} is not readable")
    store = ResultsStore(root, study, create=False)
    if not store.dir.is_dir():
        known = sorted(p.name for p in root.iterdir() if (p / "runs").is_dir())
        raise StoreError(
            f"no study {study!r} in {root}; studies there: {', '.join(known) or '(none)'}"
        )
    return records_frame(store.records())


def curves_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Training curves in long form: one row per (run, evaluation step)."""
    rows = []
    for r in records:
        for point in r.get("curve", []):
            rows.append(
                {
                    **{s: bool(r["model"][s]) for s in SWITCHES},
                    "residual": r["model"].get("residual", "baseline"),
                    "run_id": r["run_id"],
                    "seed": r["seed"],
                    **point,
                }
            )
    cols = [
        *SWITCHES,
        "residual",
        "run_id",
        "seed",
        "step",
        "train_loss",
        "eval_loss",
        "eval_accuracy",
    ]
    return pd.DataFrame(rows, columns=cols)
