"""The offline corpus: the running interpreter's standard-library sources, as byte tokens.

Nothing is downloaded. Files are assigned to splits by a hash of their relative path, so the
split of a file never changes when other files appear or vanish. Batches are a pure function of
(split, seed, step, batch size, window length): two model configs trained with the same seed
see exactly the same bytes in the same order (paired comparisons).
"""

from __future__ import annotations

import ast
import hashlib
import io
import platform
import sysconfig
import tokenize
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

# --- tokens -------------------------------------------------------------------------------
N_BYTES = 256
PAD, BOS, MASK = 256, 257, 258
VOCAB_SIZE = 259

SKIP_DIRS = frozenset({"test", "tests", "idlelib", "site-packages", "__pycache__"})

# Split shares in percent of files, assigned by sha256(relative path) mod 100.
SPLITS: dict[str, tuple[int, int]] = {
    "train": (0, 80),
    "val": (80, 85),
    "test": (85, 90),
    "attribution": (90, 95),
    "heldout": (95, 100),
}


def stdlib_root() -> Path:
    """The directory that holds the running interpreter's standard library sources."""
    return Path(sysconfig.get_paths()["stdlib"])


def corpus_files(root: Path | None = None) -> list[str]:
    """Sorted relative paths of the stdlib ``.py`` files, skipping tests, idlelib, site-packages."""
    root = root or stdlib_root()
    out = []
    for p in root.rglob("*.py"):
        rel = p.relative_to(root)
        if SKIP_DIRS.isdisjoint(rel.parts[:-1]):
            out.append(rel.as_posix())
    if not out:
        raise RuntimeError(f"no Python sources found under {root}; the corpus needs the stdlib")
    return sorted(out)


def split_of(relpath: str) -> str:
    """The split a file belongs to: a stable function of its relative path alone."""
    bucket = int(hashlib.sha256(relpath.encode()).hexdigest(), 16) % 100
    for name, (lo, hi) in SPLITS.items():
        if lo <= bucket < hi:
            return name
    raise AssertionError(bucket)


@dataclass(frozen=True)
class Fingerprint:
    """Identifies the corpus a result was computed on."""

    python: str
    files: int
    bytes: int
    sha256: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Corpus:
    """All files' bytes, grouped by split; ``tokens(split)`` is one stream with BOS separators."""

    root: Path
    files: dict[str, list[str]]  # split -> relative paths
    raw: dict[str, bytes]  # relative path -> content
    fingerprint: Fingerprint

    def tokens(self, split: str) -> np.ndarray:
        return _split_tokens(self, split)

    def prose(self, split: str) -> np.ndarray:
        """Docstrings and comments of the split's files, as one BOS-separated byte stream."""
        return _split_prose(self, split)


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")


@lru_cache(maxsize=4)
def load_corpus(root: str | None = None) -> Corpus:
    """Read the corpus once per process (about 11 MB for CPython 3.11) and fingerprint it."""
    rootp = Path(root) if root else stdlib_root()
    rels = corpus_files(rootp)
    h = hashlib.sha256()
    raw: dict[str, bytes] = {}
    files: dict[str, list[str]] = {s: [] for s in SPLITS}
    for rel in rels:
        data = (rootp / rel).read_bytes()
        raw[rel] = data
        files[split_of(rel)].append(rel)
        h.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    fp = Fingerprint(
        python=platform.python_version(),
        files=len(rels),
        bytes=sum(len(v) for v in raw.values()),
        sha256=h.hexdigest(),
    )
    return Corpus(rootp, files, raw, fp)


def _join(chunks: list[bytes]) -> np.ndarray:
    """Concatenate byte chunks into one int16 token stream, each chunk preceded by BOS."""
    total = sum(len(c) + 1 for c in chunks)
    out = np.empty(total, dtype=np.int16)
    i = 0
    for c in chunks:
        out[i] = BOS
        out[i + 1 : i + 1 + len(c)] = np.frombuffer(c, dtype=np.uint8)
        i += len(c) + 1
    return out


_TOKEN_CACHE: dict[tuple[int, str, str], np.ndarray] = {}


def _split_tokens(c: Corpus, split: str) -> np.ndarray:
    _check_split(split)
    key = (id(c), "code", split)
    if key not in _TOKEN_CACHE:
        _TOKEN_CACHE[key] = _join([c.raw[f] for f in c.files[split]])
    return _TOKEN_CACHE[key]


def extract_prose(source: bytes) -> list[bytes]:
    """Docstrings (module, class, function) and ``#`` comments of one Python file."""
    out: list[bytes] = []
    text = source.decode("utf-8", errors="replace")
    try:
        tree = ast.parse(text)
    except SyntaxError:
        tree = None
    if tree is not None:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=True)
                if doc:
                    out.append(doc.encode())
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                body = tok.string.lstrip("#").strip()
                if len(body) > 1 and not body.startswith("!"):
                    out.append(body.encode())
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass
    return out


def _split_prose(c: Corpus, split: str) -> np.ndarray:
    _check_split(split)
    key = (id(c), "prose", split)
    if key not in _TOKEN_CACHE:
        chunks: list[bytes] = []
        for f in c.files[split]:
            chunks.extend(extract_prose(c.raw[f]))
        _TOKEN_CACHE[key] = _join(chunks)
    return _TOKEN_CACHE[key]


# --- batches --------------------------------------------------------------------------------


def window_starts(
    n_tokens: int, *, seed: int, step: int, batch_size: int, length: int
) -> np.ndarray:
    """Start offsets of one batch: depends only on (seed, step, batch_size, length, stream size)."""
    if n_tokens <= length:
        raise ValueError(f"stream of {n_tokens} tokens is too short for windows of {length}")
    rng = np.random.Generator(np.random.PCG64([seed, step]))
    return rng.integers(0, n_tokens - length, size=batch_size)


def get_batch(
    stream: np.ndarray, *, seed: int, step: int, batch_size: int, seq_len: int
) -> torch.Tensor:
    """A ``[batch_size, seq_len + 1]`` LongTensor of windows (inputs ``[:, :-1]``, targets
    ``[:, 1:]``)."""
    starts = window_starts(
        len(stream), seed=seed, step=step, batch_size=batch_size, length=seq_len + 1
    )
    idx = starts[:, None] + np.arange(seq_len + 1)[None, :]
    return torch.from_numpy(stream[idx].astype(np.int64))


EVAL_SEED = 1_000_003  # validation windows never share a generator with training batches


def eval_batches(
    stream: np.ndarray, *, n_batches: int, batch_size: int, seq_len: int
) -> list[torch.Tensor]:
    """The fixed validation batches: the same for every run, config and seed."""
    return [
        get_batch(stream, seed=EVAL_SEED, step=i, batch_size=batch_size, seq_len=seq_len)
        for i in range(n_batches)
    ]


def decode(tokens: torch.Tensor | np.ndarray) -> str:
    """Bytes back to text (specials shown as ⟨PAD⟩, ⟨BOS⟩, ⟨MASK⟩); for inspecting batches."""
    names = {PAD: "⟨PAD⟩", BOS: "⟨BOS⟩", MASK: "⟨MASK⟩"}
    out, buf = [], bytearray()
    for t in np.asarray(tokens).reshape(-1).tolist():
        if t < N_BYTES:
            buf.append(t)
        else:
            out.append(buf.decode("utf-8", errors="replace"))
            buf = bytearray()
            out.append(names[t])
    out.append(buf.decode("utf-8", errors="replace"))
    return "".join(out)
