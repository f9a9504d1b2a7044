"""Fused CPU kernels for the decoder's elementwise pieces: RMSNorm, SwiGLU, RoPE, and the loss.

Why: at the book's sizes (d 64, T 64, batch 16, one thread per run) a training step is mostly
not matmuls: each RMSNorm is a dozen eager kernels and autograd nodes, SwiGLU and RoPE a handful
each, every one a pass over memory. ``fused_kernels.cpp`` does each in one pass forward and one
backward, with a C++ autograd node (measured in ``bench/train_throughput.py``).

Contract:

* ``rms_norm``, ``swiglu`` and ``rope`` compute the same functions as the eager reference
  formulas below them, to float32 rounding (tests/test_fused.py); they use the C++ kernels for
  float32 CPU tensors when the kernels are available and fall back to the eager formulas
  otherwise (CUDA, other dtypes, inside ``torch.compile``, no compiler).
* The kernels are built once per machine with the system C++ compiler (``$CXX``, else ``c++``
  or ``g++``; no ninja, no pybind) into ``$PTLAB_CACHE`` (default ``~/.cache/ptlab``), under a
  name that hashes the source, torch's version, the compiler and the CPU's flags. Concurrent
  processes (the sweep's workers) take a file lock, so one builds and the others load. The build
  takes about a minute on the 2-core machine; every later process only loads the library.
* No compiler, a failed build or ``PTLAB_FUSED=0``: one line on stderr (once per process) and
  the eager formulas; training never fails for it. Run ids never depend on it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import torch
import torch.nn.functional as F

SOURCE = Path(__file__).with_name("fused_kernels.cpp")
_state: dict[str, object] = {}  # "ops": the loaded op namespace or None; "why": the reason


def _say(msg: str) -> None:
    print(f"ptlab: {msg}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    return Path(os.environ.get("PTLAB_CACHE") or Path.home() / ".cache" / "ptlab") / "kernels"


def _compiler() -> str | None:
    cxx = os.environ.get("CXX")
    if cxx and shutil.which(cxx.split()[0]):
        return cxx
    return shutil.which("c++") or shutil.which("g++") or shutil.which("clang++")


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return torch.backends.cpu.get_cpu_capability()


def _library_path(cxx: str, source: str) -> Path:
    version = subprocess.run(
        [*cxx.split(), "--version"], capture_output=True, text=True, timeout=60
    ).stdout
    key = "\n".join([source, torch.__version__, version, _cpu_flags(), sys.version])
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_dir() / f"ptlab_fused_{digest}.so"


def _build(cxx: str, lib: Path) -> None:
    """Compile SOURCE into ``lib`` (under a file lock; atomic rename, so a reader never sees a
    half-written library)."""
    import fcntl

    lib.parent.mkdir(parents=True, exist_ok=True)
    with open(lib.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
        if lib.exists():
            return
        _say(f"building the fused CPU kernels once for this machine ({lib.name}, ~1 min)")
        torch_dir = Path(torch.__file__).parent
        abi = int(torch._C._GLIBCXX_USE_CXX11_ABI)
        tmp = lib.with_suffix(f".{os.getpid()}.tmp")
        cmd = [
            *cxx.split(),
            *("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd"),
            "-std=c++17",
            *("-shared", "-fPIC", "-w", f"-D_GLIBCXX_USE_CXX11_ABI={abi}"),
            f"-I{torch_dir / 'include'}",
            f"-I{torch_dir / 'include' / 'torch' / 'csrc' / 'api' / 'include'}",
            f"-I{sysconfig.get_paths()['include']}",
            str(SOURCE),
            "-o",
            str(tmp),
            f"-L{torch_dir / 'lib'}",
            *("-lc10", "-ltorch_cpu", f"-Wl,-rpath,{torch_dir / 'lib'}"),
        ]
        t0 = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            tmp.unlink(missing_ok=True)
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the compiler failed: {last[:200]}")
        info = {"build_s": round(time.perf_counter() - t0, 1), "compiler": cxx}
        info["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        lib.with_suffix(".json").write_text(json.dumps(info))
        os.replace(tmp, lib)


def kernels():
    """The loaded ``torch.ops.ptlab_fused`` namespace, or None (with the reason said once)."""
    if "ops" in _state:
        return _state["ops"]
    ops, why = None, None
    if os.environ.get("PTLAB_FUSED", "1").strip().lower() in ("0", "false", "no", "off"):
        why = "PTLAB_FUSED=0"
    elif not SOURCE.exists():
        why = f"kernel source {SOURCE.name} is not installed"
    elif (cxx := _compiler()) is None:
        why = "no C++ compiler found (set CXX)"
    else:
        try:
            lib = _library_path(cxx, SOURCE.read_text())
            if not lib.exists():
                _build(cxx, lib)
            t0 = time.perf_counter()
            torch.ops.load_library(str(lib))
            ops = torch.ops.ptlab_fused
            _state["library"], _state["load_s"] = lib, time.perf_counter() - t0
        except Exception as e:  # any build or load failure: eager, never a traceback
            why = f"the fused kernels could not be built ({type(e).__name__}: {e})"
    if why is not None:
        _say(f"{why}; training uses PyTorch's eager ops (same results, slower)")
    _state["ops"], _state["why"] = ops, why
    return ops


def build_info() -> dict:
    """What the kernels cost: ``build_s`` (once per machine), ``built_at``, ``load_s`` (per
    process); empty where the kernels are not in use."""
    if kernels() is None:
        return {}
    lib = _state["library"]
    try:
        info = json.loads(lib.with_suffix(".json").read_text())
    except (OSError, ValueError):
        info = {}
    return {**info, "library": str(lib), "load_s": _state["load_s"]}


@contextlib.contextmanager
def reference():
    """Inside, every op runs its eager reference formula (tests and benchmarks compare both)."""
    saved = _state.get("reference", False)
    _state["reference"] = True
    try:
        yield
    finally:
        _state["reference"] = saved


def _fast(*tensors: torch.Tensor):
    """The kernels, if they apply to these tensors (float32 on the CPU, eager mode)."""
    if _state.get("reference") or torch.compiler.is_compiling():
        return None
    if any(t.device.type != "cpu" or t.dtype != torch.float32 for t in tensors):
        return None
    return kernels()


# --- the ops, each with its eager reference ----------------------------------------------------


def rms_norm(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    """x * rsqrt(mean(x^2, -1) + eps) * weight."""
    ops = _fast(x, weight)
    if ops is not None:
        return ops.rms_norm(x, weight, eps)
    return rms_norm_reference(x, weight, eps)


def rms_norm_reference(x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def swiglu(gate_up: torch.Tensor) -> torch.Tensor:
    """silu(gate) * up for gate_up = [gate | up] on the last dim ([..., 2m] -> [..., m])."""
    ops = _fast(gate_up)
    if ops is not None:
        return ops.swiglu(gate_up)
    return swiglu_reference(gate_up)


def swiglu_reference(gate_up: torch.Tensor) -> torch.Tensor:
    gate, up = gate_up.chunk(2, dim=-1)
    return F.silu(gate) * up


def swiglu_mlp(x: torch.Tensor, w_gate: torch.Tensor, w_up: torch.Tensor) -> torch.Tensor:
    """silu(x W_gate^T) * x W_up^T: one matmul and the fused kernel, or the eager reference
    (two matmuls: a fused [gate | up] projection only pays with the kernel)."""
    if _fast(x, w_gate, w_up) is not None:
        return swiglu(F.linear(x, torch.cat([w_gate, w_up])))
    return F.silu(F.linear(x, w_gate)) * F.linear(x, w_up)


def rope(
    x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, back: torch.Tensor, n_rot: int
) -> torch.Tensor:
    """x [outer, T, inner, r]: rows i < n_rot of the inner dim rotated by position t,
    x * cos[t] + roll(x, r/2) * sin[t] (``sin`` carries the rotate-half signs: [-sin | sin],
    ``back`` = -sin is the inverse rotation); the other rows are returned as they are."""
    ops = _fast(x, cos, sin)
    if ops is not None:
        return ops.rope(x, cos, sin, back, n_rot)
    return rope_reference(x, cos, sin, n_rot)


def rope_reference(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, n_rot: int):
    cos, sin = cos[:, None], sin[:, None]  # [T, 1, r]: the same angle for every head row
    rot = x[:, :, :n_rot]
    rot = rot * cos + rot.roll(rot.shape[-1] // 2, -1) * sin
    return rot if n_rot >= x.shape[2] else torch.cat([rot, x[:, :, n_rot:]], dim=2)


def cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-row cross-entropy of logits [N, V] against class indices [N] (nats): [N]."""
    ops = _fast(logits)
    if ops is not None:
        return ops.cross_entropy(logits, targets)
    return cross_entropy_reference(logits, targets)


def cross_entropy_reference(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(logits, targets, reduction="none")
