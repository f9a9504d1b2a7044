"""Byte-level Python contrast-pair tasks (Gao et al. 2025, §2), their splits, the
pretraining mixture that contains their patterns, and the task loss. Shown in: chapter
*circuits*.

A task makes *pairs*: two prompts built from one random fill that differ only in the cause
(the quote that opened a string, whether a list is nested, ...), each ending exactly before
its answer byte. The answer byte is the first byte where the two completions differ, and both
prompts end in the same byte, so the dense bigram table alone cannot tell them apart.

Decisions, each tested in tests/test_circuits.py:

* Tasks: ``quote`` (close a string with its opening quote), ``bracket`` (is a list still
  open after ``]``: ``]`` vs newline), ``set_string`` (a variable bound to ``set()`` is used
  with ``.add``, one bound to ``""`` with `` +=``), ``while_return`` (``while x`` → ``:``,
  ``return x`` → newline), ``bracket_brace`` (close ``[`` with ``]`` and ``{`` with ``}``) and
  ``lambda_def`` (``lambda a, b`` → ``:``, ``def f(a, b`` → ``)``).
* Surface: identifiers of 2–8 lowercase letters (no keywords), numbers, short words; 0–2
  neutral filler lines and distractors of the other class (closed strings of the other quote,
  closed nested lists, a variable of the other type), which stay fixed when the cause flips.
* Splits: every task has train templates and held-out templates, and identifiers are split by
  a hash into a train pool and a held-out pool (``name_split``). The pretraining mixture and the
  pruning pairs use the train split only; sufficiency is measured on the held-out split.
* Pretraining mixture (a deviation from the paper, which trains on natural code only): the
  stdlib train split with ``mix_fraction`` of its bytes added as short documents, each a few
  completed train-split examples; without them a model of this size never sees the patterns
  often enough (the stdlib has ~200 ``while True:`` lines). The pretraining loss is measured
  on the stdlib's validation split alone.
* Task loss: at each prompt's last position, the cross-entropy over the two answer bytes only,
  −log p(correct | {a, b}), averaged over both prompts of every pair (nats; chance = ln 2).
"""

from __future__ import annotations

import keyword
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ptlab import data

SPLITS = ("train", "heldout")
LETTERS = "abcdefghijklmnopqrstuvwxyz"
WORDS = (
    "alpha",
    "beta",
    "data",
    "item",
    "key",
    "name",
    "node",
    "path",
    "text",
    "value",
    "word",
    "list",
    "line",
    "file",
    "user",
    "code",
    "size",
    "left",
    "right",
    "mode",
)
FILLER = (
    "n = 3",
    "print(n)",
    "import os",
    "y = n + 1",
    "total = 0",
    "pass",
    "k = 2",
    "import sys",
    "count += 1",
    "z = None",
)


@dataclass(frozen=True)
class Pair:
    """One contrast pair: prompts (bytes), their completions; completion[0] is the answer."""

    prompt_a: bytes
    prompt_b: bytes
    completion_a: bytes
    completion_b: bytes

    @property
    def answers(self) -> tuple[int, int]:
        return self.completion_a[0], self.completion_b[0]


# --- random surface ----------------------------------------------------------------------------


def name_split(name: str) -> str:
    """``heldout`` for a quarter of all identifiers (by crc32), ``train`` for the rest."""
    return "heldout" if zlib.crc32(name.encode()) % 4 == 0 else "train"


def ident(rng: np.random.Generator, split: str, avoid: tuple[str, ...] = ()) -> str:
    """A random identifier of 2–8 letters from the split's pool, not a keyword nor in avoid."""
    while True:
        n = int(rng.integers(2, 9))
        name = "".join(rng.choice(list(LETTERS), n))
        if not keyword.iskeyword(name) and name not in avoid and name_split(name) == split:
            return name


def words(rng: np.random.Generator) -> str:
    return " ".join(rng.choice(WORDS, int(rng.integers(1, 4))))


def elements(rng: np.random.Generator, split: str, n: int) -> list[str]:
    """n list elements: numbers, identifiers or short strings."""
    out = []
    for _ in range(n):
        kind = rng.integers(3)
        out.append(
            str(int(rng.integers(100)))
            if kind == 0
            else ident(rng, split)
            if kind == 1
            else f"'{rng.choice(WORDS)}'"
        )
    return out


def filler(rng: np.random.Generator, indent: str = "", n_max: int = 2) -> str:
    lines = rng.choice(FILLER, int(rng.integers(0, n_max + 1)))
    return "".join(f"{indent}{line}\n" for line in lines)


# --- the tasks: one generator per task, (rng, split) -> Pair ---------------------------------


def pick(rng: np.random.Generator, options: list):
    return options[int(rng.integers(len(options)))]


def quote(rng, split) -> Pair:
    """Close a string with the quote type that opened it; a closed string of a random quote
    type comes first as a distractor."""
    a, b, other = ident(rng, split), ident(rng, split), pick(rng, ["'", '"'])
    head = f"{b} = {other}{words(rng)}{other}\n" + filler(rng)
    forms = {
        "train": [(f"{a} = ", "\n"), ("print(", ")\n"), (f"{a}(n, ", ")\n")],
        "heldout": [(f"{a} == ", "\n"), (f"{a}.append(", ")\n")],
    }[split]
    start, tail = pick(rng, forms)
    body = words(rng)
    return Pair(
        f"{head}{start}'{body}".encode(),
        f'{head}{start}"{body}'.encode(),
        f"'{tail}".encode(),
        f'"{tail}'.encode(),
    )


def bracket(rng, split, n_elems: int | None = None) -> Pair:
    """After ``]``, is the list still open (nested: ``]``) or closed (flat: newline)? A closed
    nested list may come first as a distractor."""
    a = ident(rng, split)
    n = int(rng.integers(1, 5)) if n_elems is None else n_elems
    el = ", ".join(elements(rng, split, n))
    head = filler(rng) + (f"{ident(rng, split)} = [[1], [2]]\n" if rng.random() < 0.5 else "")
    start = pick(
        rng, {"train": [f"{a} = ", f"{a} = {a} + "], "heldout": [f"{a} += ", f"{a}[0] = "]}[split]
    )
    first = elements(rng, split, 1)[0] + ", " if rng.random() < 0.5 else ""
    return Pair(
        f"{head}{start}[{first}[{el}]".encode(),
        f"{head}{start}[{first}{el}]".encode(),
        b"]\n",
        b"\n",
    )


def set_string(rng, split) -> Pair:
    """A name bound to ``set()`` is used with ``.add(``, one bound to ``""`` with `` += ``; a
    variable of the other type is defined before or after it as a distractor."""
    v = ident(rng, split)
    w = ident(rng, split, avoid=(v,))
    other = pick(rng, ["set()", '""'])
    i, pre = pick(
        rng,
        {
            "train": [("", ""), ("    ", "def f():\n")],
            "heldout": [("    ", "if n:\n"), ("    ", "with a:\n")],
        }[split],
    )
    loop = filler(rng, i, n_max=1)
    first = rng.random() < 0.5

    def prompt(kind: str) -> bytes:
        lines = [f"{i}{v} = {kind}\n", f"{i}{w} = {other}\n"]
        return (pre + "".join(lines if first else lines[::-1]) + loop + f"{i}{v}").encode()

    return Pair(prompt("set()"), prompt('""'), b".add(n)\n", b' += "x"\n')


def while_return(rng, split) -> Pair:
    """``while x`` continues with ``:``, ``return x`` with a newline."""
    x = ident(rng, split)
    exprs = {"train": ["True", x, f"{x} > 0", f"not {x}"], "heldout": [f"{x} != 0", f"{x} < n"]}[
        split
    ]
    e = pick(rng, exprs)
    head = f"def {ident(rng, split)}({x}):\n" + filler(rng, "    ")
    return Pair(
        f"{head}    while {e}".encode(),
        f"{head}    return {e}".encode(),
        b":\n        break\n",
        b"\n",
    )


def bracket_brace(rng, split) -> Pair:
    """Close ``[`` with ``]`` and ``{`` with ``}``; a closed container of either type first."""
    a = ident(rng, split)
    el = ", ".join(elements(rng, split, int(rng.integers(1, 5))))
    head = filler(rng) + f"{ident(rng, split)} = {pick(rng, ['{1, 2}', '[1, 2]'])}\n"
    start = pick(
        rng, {"train": [f"{a} = ", f"{a}.update("], "heldout": [f"{a} += ", f"{a}.add("]}[split]
    )
    tail = ")\n" if start.endswith("(") else "\n"
    return Pair(
        f"{head}{start}[{el}".encode(),
        f"{head}{start}{{{el}".encode(),
        f"]{tail}".encode(),
        f"}}{tail}".encode(),
    )


def lambda_def(rng, split) -> Pair:
    """``f = lambda a, b`` continues with ``:``, ``def f(a, b`` with ``)``."""
    f = ident(rng, split)
    args = ", ".join(ident(rng, split, avoid=(f,)) for _ in range(int(rng.integers(1, 4))))
    head, ind = filler(rng), ""
    if split == "heldout":
        head, ind = head + "class A:\n", "    "
    return Pair(
        f"{head}{ind}{f} = lambda {args}".encode(),
        f"{head}{ind}def {f}({args}".encode(),
        b": 0\n",
        b"):\n" + ind.encode() + b"    pass\n",
    )


TASKS: dict[str, Callable[[np.random.Generator, str], Pair]] = {
    "quote": quote,
    "bracket": bracket,
    "set_string": set_string,
    "while_return": while_return,
    "bracket_brace": bracket_brace,
    "lambda_def": lambda_def,
}
TASKS_VERSION = 2  # bump when a generator changes: it is part of every cached model's key


def nonsense(rng, split) -> Pair:
    """The nonsense control: two unrelated random statements ending in the same byte, answered
    ``0`` and ``1``. No cause links a prompt to its answer, so a model can only memorise the
    pairs; it is not a task of the pretraining mixture (not in ``TASKS``)."""

    def statement() -> str:
        extra = rng.choice(FILLER, int(rng.integers(0, 3)))
        return f"{ident(rng, split)} = {words(rng)!r}" + "".join(f"; {x}" for x in extra)

    a, b = statement(), statement()
    return Pair(f"{a} #".encode(), f"{b} #".encode(), b"0\n", b"1\n")


CONTROL_TASKS: dict[str, Callable[[np.random.Generator, str], Pair]] = {"nonsense": nonsense}


def check_tasks(names) -> tuple[str, ...]:
    """The names as a tuple; ValueError naming the allowed tasks on an unknown one."""
    names = tuple(names)
    unknown = [n for n in names if n not in TASKS]
    if unknown or not names:
        what = repr(unknown[0]) if unknown else "none"
        raise ValueError(f"unknown task {what}; allowed: {', '.join(TASKS)}")
    return names


def make_pairs(
    task: str, split: str, n: int, seed: int, max_len: int = 63, **kw: Any
) -> list[Pair]:
    """n pairs of one task and split (a pure function of the arguments; ``kw`` go to the
    generator, e.g. ``n_elems`` of ``bracket``); pairs whose longer prompt exceeds ``max_len``
    bytes are redrawn."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {', '.join(SPLITS)}")
    rng = np.random.default_rng([seed, zlib.crc32(task.encode()), SPLITS.index(split)])
    make = TASKS[task] if task in TASKS else CONTROL_TASKS[task]
    out: list[Pair] = []
    for _ in range(100 * n + 100):
        p = make(rng, split, **kw)
        if max(len(p.prompt_a), len(p.prompt_b)) <= max_len:
            out.append(p)
            if len(out) == n:
                return out
    raise RuntimeError(f"task {task} ({split}) rarely fits in {max_len} bytes; shorten it")


@dataclass
class TaskSet:
    """Prompts of one task as tensors: 2 rows per pair (a then b), BOS + bytes, PAD on the right.

    ``last`` is each row's last prompt position, ``correct``/``alt`` its answer byte and the
    other member's, ``pair`` the pair index, ``first`` whether the row's correct answer is its
    pair's *a* answer (rows 2i; after ``shuffled_labels`` any row): the sign of the calibration's
    shift (``prune.fit_calibration``)."""

    tokens: torch.Tensor  # [N, L]
    last: torch.Tensor  # [N]
    correct: torch.Tensor  # [N]
    alt: torch.Tensor  # [N]
    pair: torch.Tensor  # [N]
    first: torch.Tensor  # [N] bool

    def __len__(self) -> int:
        return len(self.last)

    def to(self, device) -> TaskSet:
        return TaskSet(*(t.to(device) for t in self._fields()))

    def _fields(self) -> tuple[torch.Tensor, ...]:
        return (self.tokens, self.last, self.correct, self.alt, self.pair, self.first)

    def subset(self, rows) -> TaskSet:
        """The given rows, trimmed to their longest prompt."""
        rows = torch.as_tensor(rows, device=self.last.device)
        width = int(self.last[rows].max()) + 1
        return TaskSet(self.tokens[rows, :width], *(t[rows] for t in self._fields()[1:]))


def task_set(pairs: list[Pair]) -> TaskSet:
    """Pairs → tensors (see TaskSet)."""
    prompts, correct, alt = [], [], []
    for p in pairs:
        a, b = p.answers
        prompts += [p.prompt_a, p.prompt_b]
        correct += [a, b]
        alt += [b, a]
    L = 1 + max(len(x) for x in prompts)
    tokens = torch.full((len(prompts), L), data.PAD, dtype=torch.long)
    for i, x in enumerate(prompts):
        tokens[i, 0] = data.BOS
        tokens[i, 1 : 1 + len(x)] = torch.tensor(list(x))
    last = torch.tensor([len(x) for x in prompts])
    pair = torch.arange(len(pairs)).repeat_interleave(2)
    first = torch.arange(len(prompts)) % 2 == 0
    return TaskSet(tokens, last, torch.tensor(correct), torch.tensor(alt), pair, first)


def shuffled_labels(ts: TaskSet, seed: int) -> TaskSet:
    """The shuffled-label control: which of the pair's two answer bytes counts as correct is
    permuted across all prompts (still half a, half b), so no mechanism can explain it."""
    even = torch.arange(len(ts), device=ts.correct.device) % 2 == 0  # rows 2i: a, 2i + 1: b
    a_byte = torch.where(even, ts.correct, ts.alt)
    b_byte = torch.where(even, ts.alt, ts.correct)
    g = torch.Generator().manual_seed(seed)
    label_a = even[torch.randperm(len(ts), generator=g).to(even.device)]
    correct = torch.where(label_a, a_byte, b_byte)
    alt = torch.where(label_a, b_byte, a_byte)
    return TaskSet(ts.tokens, ts.last, correct, alt, ts.pair, label_a)


def answer_logits(logits: torch.Tensor, ts: TaskSet) -> torch.Tensor:
    """[N, 2]: the logits of (correct, alt) at each row's last prompt position."""
    last = logits[torch.arange(len(ts), device=logits.device), ts.last]  # [N, V]
    return torch.stack(
        [last.gather(1, ts.correct[:, None])[:, 0], last.gather(1, ts.alt[:, None])[:, 0]], dim=1
    )


def task_losses(logits: torch.Tensor, ts: TaskSet) -> torch.Tensor:
    """Per prompt −log p(correct | {correct, alt}) [N] (the two-way cross-entropy)."""
    two = answer_logits(logits, ts)
    zeros = torch.zeros(len(ts), dtype=torch.long, device=two.device)
    return F.cross_entropy(two, zeros, reduction="none")


def answers(model, ts: TaskSet, edit=None, chunk: int | None = 32) -> torch.Tensor:
    """[N, 2]: (correct, alt) logits at each row's last prompt position, computing the norm and
    unembedding there only. Rows run in chunks of ``chunk`` sorted by length, each trimmed to
    its longest prompt (``None``: one pass in row order, e.g. when an edit pairs rows)."""
    rows = torch.arange(len(ts), device=ts.last.device)
    if chunk is None or len(ts) <= chunk:
        order = [rows]
    else:
        order = list(torch.argsort(ts.last).split(chunk))
    out = []
    for idx in order:
        sub = ts if len(order) == 1 else ts.subset(idx)
        last = model(sub.tokens[:, : int(sub.last.max()) + 1], edit=edit, positions=sub.last)
        out.append(
            torch.stack(
                [
                    last.gather(1, sub.correct[:, None])[:, 0],
                    last.gather(1, sub.alt[:, None])[:, 0],
                ],
                dim=1,
            )
        )
    if len(order) == 1:
        return out[0]
    two = torch.empty(len(ts), 2, dtype=out[0].dtype, device=out[0].device)
    two[torch.cat(order)] = torch.cat(out)
    return two


def two_way_losses(two: torch.Tensor) -> torch.Tensor:
    """Per row −log p(correct | {correct, alt}) from [N, 2] (correct, alt) logits."""
    zeros = torch.zeros(len(two), dtype=torch.long, device=two.device)
    return F.cross_entropy(two, zeros, reduction="none")


def task_loss(model, ts: TaskSet, edit=None) -> torch.Tensor:
    """The task loss of ``model`` (with ``edit`` at its node locations): mean two-way CE."""
    return two_way_losses(answers(model, ts, edit)).mean()


# --- the pretraining mixture ---------------------------------------------------------------


def documents(n: int, seed: int, tasks=tuple(TASKS)) -> list[bytes]:
    """n short documents of 1–3 completed train-split examples of random tasks and members."""
    rng = np.random.default_rng([seed, 0x7A5C])
    docs = []
    for _ in range(n):
        parts = []
        for _ in range(int(rng.integers(1, 4))):
            p = TASKS[pick(rng, list(tasks))](rng, "train")
            member = rng.random() < 0.5
            parts.append(p.prompt_a + p.completion_a if member else p.prompt_b + p.completion_b)
        docs.append(b"".join(parts))
    return docs


POOL_BYTES = 2_000_000  # generated documents beyond this are repeats of the pool


@lru_cache(maxsize=2)
def pretraining_stream(mix_fraction: float, seed: int = 0, tasks=tuple(TASKS)) -> np.ndarray:
    """The stdlib train split with generated documents of ``tasks`` worth ``mix_fraction`` of
    its bytes, files and documents shuffled together (BOS before each), as one int16 token
    stream. The
    documents are a pool of at most ``POOL_BYTES`` repeated as often as the fraction needs
    (a short run reads each window about once, so repeats cost nothing but generation time)."""
    corpus = data.load_corpus()
    files = [corpus.raw[f] for f in corpus.files["train"]]
    target = mix_fraction * sum(len(f) for f in files)
    pool: list[bytes] = []
    while sum(len(d) for d in pool) < min(target, POOL_BYTES):
        pool += documents(2000, seed + len(pool), tuple(tasks))
    reps = max(1, round(target / max(sum(len(d) for d in pool), 1))) if target > 0 else 0
    chunks = files + pool * reps
    order = np.random.default_rng([seed, 0xB17E]).permutation(len(chunks))
    lengths = np.array([len(chunks[i]) + 1 for i in order])
    out = np.empty(int(lengths.sum()), dtype=np.int16)
    pos = 0
    for i, n in zip(order, lengths, strict=True):
        out[pos] = data.BOS
        out[pos + 1 : pos + n] = np.frombuffer(chunks[i], dtype=np.uint8)
        pos += n
    return out
