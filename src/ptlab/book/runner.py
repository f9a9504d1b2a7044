"""Execute chapters through papermill, only when needed, and keep what the book renders fresh.

Layout under the repository root::

    notebooks/<ch>.py            chapter source (jupytext percent)
    book/params/<ch>.json        parameters chosen with ``ptlab run`` (profile + overrides)
    book/generated/<ch>.ipynb    the executed notebook (all languages)
    book/generated/<ch>.json     its execution record: inputs digest, params, commit, time
    book/<lang>/<ch>.ipynb       the per-language pages Jupyter Book renders (never re-executed)

A chapter is stale when the digest of its inputs (source, parameters in force, and the digests
of the chapters it depends on) differs from the recorded one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptlab.book.chapters import (
    LANGS,
    Chapter,
    ChapterError,
    chapter_names_from_toc,
    load_params_file,
    read_chapter,
)
from ptlab.book.split import split_chapter
from ptlab.profiles import DEFAULT_PROFILE, PROFILES
from ptlab.progress import ConsoleProgress, fmt_duration

PROFILE_ENV = "PTLAB_PROFILE"


@dataclass
class Book:
    """Paths of one book checkout (``root`` holds _toc.yml, notebooks/ and book/)."""

    root: Path

    @classmethod
    def find(cls, start: Path | None = None) -> Book:
        here = (start or Path.cwd()).resolve()
        for d in (here, *here.parents):
            if (d / "_toc.yml").exists() and (d / "notebooks").is_dir():
                return cls(d)
        raise ChapterError(f"no book found from {here}: need _toc.yml and notebooks/ above it")

    @property
    def book_dir(self) -> Path:
        return self.root / "book"

    @property
    def generated(self) -> Path:
        return self.book_dir / "generated"

    def chapter_names(self) -> list[str]:
        return chapter_names_from_toc(self.root / "_toc.yml")

    def chapter(self, name: str) -> Chapter:
        names = self.chapter_names()
        if name not in names:
            raise ChapterError(f"unknown chapter {name!r}; chapters: {', '.join(names)}")
        return read_chapter(self.root / "notebooks" / f"{name}.py")

    def params_file(self, name: str) -> Path:
        return self.book_dir / "params" / f"{name}.json"

    def record_file(self, name: str) -> Path:
        return self.generated / f"{name}.json"

    def record(self, name: str) -> dict[str, Any] | None:
        p = self.record_file(name)
        return json.loads(p.read_text()) if p.exists() else None

    def ordered(self) -> list[Chapter]:
        """Chapters in TOC order, moved after the chapters they depend on."""
        chapters = {n: self.chapter(n) for n in self.chapter_names()}
        out: list[Chapter] = []
        visiting: set[str] = set()

        def visit(n: str) -> None:
            if any(c.name == n for c in out):
                return
            if n in visiting:
                raise ChapterError(f"chapter dependency cycle through {n}")
            if n not in chapters:
                raise ChapterError(f"a chapter depends on {n!r}, which is not in _toc.yml")
            visiting.add(n)
            for d in chapters[n].depends:
                visit(d)
            visiting.discard(n)
            out.append(chapters[n])

        for n in chapters:
            visit(n)
        return out


def params_in_force(book: Book, ch: Chapter, profile: str | None = None) -> dict[str, Any]:
    """The parameters a build would use: an explicit or PTLAB_PROFILE profile (pure profile
    values), else the recorded choice of ``ptlab run`` (its profile + overrides), else quick."""
    stored = load_params_file(book.params_file(ch.name))
    profile = profile or os.environ.get(PROFILE_ENV) or None
    if profile is None:
        profile = stored.get("profile", DEFAULT_PROFILE)
        overrides = stored.get("overrides", {})
    else:
        overrides = stored.get("overrides", {}) if stored.get("profile") == profile else {}
    if profile not in PROFILES:
        raise ChapterError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
    return ch.params_for(profile, {k: ch.check_param(k, v) for k, v in overrides.items()})


def inputs_digest(
    ch: Chapter, params: dict[str, Any], upstream: dict[str, str], source_sha: str | None = None
) -> str:
    blob = json.dumps(
        {"source": source_sha or ch.source_sha, "params": params, "upstream": upstream},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def chapter_state(book: Book, ch: Chapter, params: dict[str, Any]) -> tuple[str, str]:
    """(``fresh`` | ``stale`` | ``missing``, reason)."""
    rec = book.record(ch.name)
    if rec is None or not (book.generated / f"{ch.name}.ipynb").exists():
        return "missing", "never executed"
    upstream = {}
    for d in ch.depends:
        drec = book.record(d)
        upstream[d] = drec["inputs"] if drec else "missing"
    if rec["inputs"] == inputs_digest(ch, params, upstream):
        return "fresh", ""
    if rec["source_sha"] != ch.source_sha:
        return "stale", "source changed"
    if rec["params"] != params:
        changed = sorted(
            k for k in set(params) | set(rec["params"]) if params.get(k) != rec["params"].get(k)
        )
        return "stale", "parameters changed: " + ", ".join(changed)
    return "stale", "upstream results changed: " + ", ".join(
        d for d in ch.depends if rec["upstream"].get(d) != upstream[d]
    )


def console_log(msg: str) -> None:
    print(msg, flush=True)


def jupyter_book_command(*args: str) -> list[str]:
    """``jupyter-book ARGS`` run by this interpreter: the build works from ``.venv/bin/ptlab``
    with no virtual environment on PATH (a bare ``jupyter-book`` would not be found there)."""
    import importlib.util

    if importlib.util.find_spec("jupyter_book") is None:
        raise ChapterError(
            f"jupyter-book is not installed for {sys.executable}; "
            "install the book extra: pip install -e '.[book]' (or run `make book`)"
        )
    return [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", *args]


def expected_seconds(book: Book, ch: Chapter, profile: str) -> float | None:
    """How long executing ``ch`` should take: its last run in this profile, else the time
    measured on the README's machine (chapter header), else unknown."""
    rec = book.record(ch.name)
    if rec and rec.get("profile") == profile and rec.get("exec_seconds"):
        return float(rec["exec_seconds"])
    return ch.seconds.get(profile)


class _KnownParameters(logging.Filter):
    """Papermill's "Passed unknown parameter" warning misreads annotated parameters
    (``n_boot: int | None = None``); ``Chapter.check_param`` has already checked every name."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Passed unknown parameter")


logging.getLogger("papermill").addFilter(_KnownParameters())


def run_chapter(
    book: Book, ch: Chapter, params: dict[str, Any], progress: bool = True, log=None
) -> dict[str, Any]:
    """Execute the chapter under papermill, then commit its outputs: the executed notebook
    (atomic replace), its record, and the language pages. On failure the previous outputs stay
    as they were, the failed notebook is kept as ``<ch>.failed.ipynb``, and ChapterError says
    which cell broke."""
    import jupytext
    import nbformat
    import papermill as pm

    log = log or console_log
    from ptlab.provenance import git_commit

    book.generated.mkdir(parents=True, exist_ok=True)
    source_sha = ch.source_sha  # hash what is executed, not what the file holds afterwards
    nb = jupytext.read(ch.source)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata.setdefault("language_info", {"name": "python"})
    nb.metadata.get("jupytext", {}).pop("formats", None)
    upstream = {d: (book.record(d) or {}).get("inputs", "missing") for d in ch.depends}
    tmp = book.generated / f".{ch.name}.running.ipynb"
    t0 = time.time()
    console = ConsoleProgress(
        book.generated / f".{ch.name}.progress",
        ch.name,
        expected_seconds(book, ch, params["profile"]),
        log=log if progress else (lambda msg: None),
    )
    try:
        with console:  # the chapter's progress bars go to the console, not into its pages
            pm.execute_notebook(
                nb,
                str(tmp),
                parameters=params,
                kernel_name="python3",
                language="python",
                cwd=str(book.root),
                progress_bar=False,
                # the kernel's own start-up banner ("running over TCP without encryption": a
                # local kernel on loopback) is noise on the console; its errors still show
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
            )
    except pm.PapermillExecutionError as e:
        failed = book.generated / f"{ch.name}.failed.ipynb"
        os.replace(tmp, failed)
        raise ChapterError(
            f"chapter {ch.name} failed in cell {e.exec_count}: {e.ename}: "
            f"{e.evalue} (see {failed.relative_to(book.root)})"
        ) from None
    record = {
        "chapter": ch.name,
        "profile": params["profile"],
        "params": params,
        "source_sha": source_sha,
        "upstream": upstream,
        "inputs": inputs_digest(ch, params, upstream, source_sha),
        "git_commit": git_commit(),
        "executed_at": time.strftime("%Y-%m-%d %H:%M %Z"),
        "exec_seconds": round(time.time() - t0, 1),
    }
    out = nbformat.read(tmp, as_version=4)
    out.metadata["ptlab"] = record
    nbformat.write(out, tmp)
    os.replace(tmp, book.generated / f"{ch.name}.ipynb")
    _write_json(book.record_file(ch.name), record)
    split_chapter(out, ch.name, record, book.book_dir)
    return record


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


def save_params(book: Book, ch: Chapter, profile: str, overrides: dict[str, Any]) -> None:
    """Record ``ptlab run``'s choice so the next build keeps it."""
    _write_json(book.params_file(ch.name), {"profile": profile, "overrides": overrides})


def ensure_book(
    book: Book, profile: str | None = None, progress: bool = True, log=None
) -> list[str]:
    """Execute the missing or stale chapters in dependency order and (re)write language pages
    that are missing; returns the names of the chapters executed."""
    log = log or console_log
    plan = build_plan(book, profile)
    if plan:
        log(describe_plan(book, plan))
    for ch, params in plan:
        reason = chapter_state(book, ch, params)[1] or "an upstream chapter was re-executed"
        log(f"ptlab: executing chapter {ch.name} ({params['profile']}; {reason})")
        rec = run_chapter(book, ch, params, progress, log)
        log(f"ptlab: chapter {ch.name} done in {fmt_duration(rec['exec_seconds'])}")
    ran = [ch.name for ch, _ in plan]
    for ch in book.ordered():  # fresh chapters whose language pages are missing
        if ch.name not in ran and any(
            not (book.book_dir / lang / f"{ch.name}.ipynb").exists() for lang in LANGS
        ):
            import nbformat

            nb = nbformat.read(book.generated / f"{ch.name}.ipynb", as_version=4)
            split_chapter(nb, ch.name, book.record(ch.name), book.book_dir)
    return ran


def build_plan(book: Book, profile: str | None = None) -> list[tuple[Chapter, dict[str, Any]]]:
    """The chapters a build will execute, in order: the missing or stale ones and every chapter
    downstream of them."""
    plan: list[tuple[Chapter, dict[str, Any]]] = []
    planned: set[str] = set()
    for ch in book.ordered():
        params = params_in_force(book, ch, profile)
        if planned & set(ch.depends) or chapter_state(book, ch, params)[0] != "fresh":
            plan.append((ch, params))
            planned.add(ch.name)
    return plan


# The whole book's budget per profile (README, "Performance"): the quick book fits an hour on
# the 2-core machine, confirmation tiers included; each chapter's own budget is the time in its
# header (``seconds:``), and a chapter whose last run here took longer is flagged in the plan.
BOOK_BUDGET_S = {"smoke": 600.0, "quick": 3600.0}
OVER_BUDGET = 1.1  # more than 10 % over the header's time counts as over budget


def describe_plan(book: Book, plan: list[tuple[Chapter, dict[str, Any]]]) -> str:
    """One line for the console before a build starts: each chapter to execute with its expected
    time (its last run here in that profile, else the time its header gives for the README's
    2-core machine), chapters expected to overrun their header's budget flagged, and the total
    against the book's budget for the profile."""
    parts, total, unknown, profiles = [], 0.0, False, set()
    for ch, params in plan:
        profile = params["profile"]
        profiles.add(profile)
        t, budget = expected_seconds(book, ch, profile), ch.seconds.get(profile)
        if t is None:
            parts.append(f"{ch.name} ({profile}, untimed)")
            unknown = True
            continue
        over = budget is not None and t > OVER_BUDGET * budget
        flag = f", OVER its {fmt_duration(budget)} budget" if over else ""
        parts.append(f"{ch.name} ({profile}, ~{fmt_duration(t)}{flag})")
        total += t
    if total == 0:
        estimate = "no time estimate yet"
    else:
        estimate = f"about {fmt_duration(total)} in all"
        estimate += " plus untimed chapters" if unknown else ""
        budget = BOOK_BUDGET_S.get(next(iter(profiles))) if len(profiles) == 1 else None
        if budget is not None:
            verdict = "within" if total <= budget else "OVER"
            estimate += f", {verdict} the book's {fmt_duration(budget)} budget"
    return (
        f"ptlab: {len(plan)} chapter(s) to execute: {', '.join(parts)}; {estimate} "
        "(times from the last run here, or measured on a 2-core CPU)"
    )
