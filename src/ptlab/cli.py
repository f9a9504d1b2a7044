"""The ``ptlab`` command: sweeps, results, analysis and the book.

Every input is checked before any work starts; a bad one gets one line on stderr naming what
is wrong and what is allowed, and exit status 2. Nothing in the results store is touched.
"""

from __future__ import annotations

import dataclasses
import sys
import types
import typing
from typing import Any

import click

from ptlab.circuits.cli import circuits as circuits_command
from ptlab.models import ModelConfig
from ptlab.models.config import ConfigError
from ptlab.profiles import DEFAULT_PROFILE, PROFILES, check_profile
from ptlab.residual import MEASURE as RESIDUAL_MEASURE
from ptlab.residual import design as residual_design
from ptlab.sweep.designs import DESIGNS
from ptlab.sweep.runner import EXECUTORS
from ptlab.sweep.store import DEFAULT_RESULTS_DIR, StoreError
from ptlab.train import TrainConfig
from ptlab.values import InputError, ValueInputError, convert, guess, split_assignment

FORMATS = ("table", "csv", "parquet")
SWEEP_DESIGNS = (*DESIGNS, "residual")  # the sweep's designs and the residual study's


def _field_types() -> dict[str, Any]:
    out = {}
    for cls in (ModelConfig, TrainConfig):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            out[f.name] = hints[f.name]
    return out


def parse_value(key: str, raw: str) -> Any:
    """Convert ``raw`` to the type of config field ``key``; InputError on unknown key or type."""
    types_ = _field_types()
    if key not in types_:
        raise InputError(f"unknown parameter {key!r}; allowed: {', '.join(sorted(types_))}")
    t = types_[key]
    if isinstance(t, types.UnionType):
        t = next(a for a in typing.get_args(t) if a is not type(None))
    try:
        return convert(key, raw, t)
    except ValueInputError as e:
        raise InputError(str(e)) from None


def parse_assignments(items: tuple[str, ...], what: str = "--set", value=parse_value) -> dict:
    """``KEY=VALUE`` items → {key: value(key, raw)}; one-line InputError on a bad item."""
    out = {}
    for item in items:
        try:
            k, v = split_assignment(item, what)
        except ValueInputError as e:
            raise InputError(str(e)) from None
        out[k] = value(k, v)
    return out


def _choice(name: str, value: str, allowed) -> None:
    if value not in allowed:
        raise InputError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ptlab")
def cli() -> None:
    """ptlab: PT <-> Transformer switch studies and the book that reports them."""


@cli.command()
@click.argument("study")
@click.option(
    "--design",
    default="fractional",
    show_default=True,
    help=f"One of: {', '.join(SWEEP_DESIGNS)}.",
)
@click.option("--n", "n", type=int, default=None, help="Number of configs (random design).")
@click.option(
    "--p",
    "p",
    type=int,
    default=3,
    show_default=True,
    help="Fractional design 2^(10-p): p=3 gives 128 runs, resolution V.",
)
@click.option(
    "--design-seed", type=int, default=0, show_default=True, help="Seed of the random design."
)
@click.option(
    "--variants",
    default=None,
    metavar="NAME,...",
    help="Residual design: the variants to train (default all; the baseline is always in).",
)
@click.option(
    "--seeds", type=int, default=1, show_default=True, help="Replicate training seeds per config."
)
@click.option(
    "--first-seed",
    type=int,
    default=0,
    show_default=True,
    help="Seeds run from here (replicates of earlier runs: --first-seed 1 --seeds 2).",
)
@click.option(
    "--profile", default=DEFAULT_PROFILE, show_default=True, help=f"One of: {', '.join(PROFILES)}."
)
@click.option(
    "--executor", default="local", show_default=True, help=f"One of: {', '.join(EXECUTORS)}."
)
@click.option("--results-dir", default=DEFAULT_RESULTS_DIR, show_default=True)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a model/training field; a switch name pins that switch.",
)
@click.option("--workers", type=int, default=None, help="Local worker processes (default: cores).")
@click.option(
    "--threads", type=int, default=1, show_default=True, help="Torch threads per local worker."
)
@click.option(
    "--slurm",
    "slurm_sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="submitit parameter, e.g. slurm_partition=gpu, timeout_min=30.",
)
@click.option(
    "--slurm-cluster",
    default=None,
    help="submitit cluster: auto-detect (default), 'slurm', 'local' or 'debug'.",
)
@click.option(
    "--tensorboard",
    "tensorboard_dir",
    default=None,
    metavar="DIR",
    help="Write per-run training curves for TensorBoard under DIR.",
)
@click.option("--dry-run", is_flag=True, help="Only print what would run.")
def sweep(
    study,
    design,
    n,
    p,
    design_seed,
    variants,
    seeds,
    first_seed,
    profile,
    executor,
    results_dir,
    sets,
    workers,
    threads,
    slurm_sets,
    slurm_cluster,
    tensorboard_dir,
    dry_run,
) -> None:
    """Train every config of a design (x seeds); finished runs are skipped (resumable)."""
    from ptlab.sweep.designs import make_design
    from ptlab.sweep.runner import plan_runs, run_sweep
    from ptlab.sweep.store import ResultsStore, check_writable_dir

    try:
        _choice("design", design, SWEEP_DESIGNS)
        _choice("executor", executor, EXECUTORS)
        check_profile(profile)
        for name, v, lo in (
            ("--seeds", seeds, 1),
            ("--first-seed", first_seed, 0),
            ("--workers", workers, 1),
            ("--threads", threads, 1),
        ):
            if v is not None and v < lo:
                raise InputError(f"{name} must be >= {lo}, got {v}")
        overrides = parse_assignments(sets)
        slurm_params = parse_assignments(slurm_sets, "--slurm", lambda k, v: guess(v))
        names = [v.strip() for v in variants.split(",") if v.strip()] if variants else None
        residual = design == "residual"
        if names and not residual:
            raise InputError("--variants goes with --design residual")
        rows = residual_design(names) if residual else make_design(design, n, design_seed, p)
        specs = plan_runs(
            study,
            rows,
            seeds=seeds,
            profile=profile,
            overrides=overrides,
            results_dir=results_dir,
            tensorboard_dir=tensorboard_dir,
            section="residual" if residual else None,
            measure=RESIDUAL_MEASURE if residual else None,
            first_seed=first_seed,
        )
        check_writable_dir(results_dir)
        store = ResultsStore(results_dir, study, create=not dry_run)
        if dry_run:
            done = sum(store.exists(s.run_id) for s in specs)
            click.echo(
                f"{len(specs)} runs planned ({len({str(s.model) for s in specs})} "
                f"configs x {seeds} seeds), {done} already done, profile {profile}"
            )
            return
    except (ConfigError, StoreError) as e:
        raise InputError(str(e)) from None
    summary = run_sweep(
        specs,
        executor,
        workers=workers,
        threads=threads,
        slurm_cluster=slurm_cluster,
        slurm_params=slurm_params,
    )
    c = summary["counts"]
    click.echo(
        f"{study}: {summary['planned']} planned, {summary['already_done']} already done, "
        + ", ".join(f"{v} {k}" for k, v in sorted(c.items()))
        if c
        else f"{study}: {summary['planned']} planned, all already done"
    )
    if c.get("skipped"):
        click.echo(
            f"{c['skipped']} runs were held by another live process; rerun to pick up "
            "any it did not finish."
        )


@cli.command()
@click.argument("study")
@click.option("--results-dir", default=DEFAULT_RESULTS_DIR, show_default=True)
@click.option(
    "--format", "fmt", default="table", show_default=True, help=f"One of: {', '.join(FORMATS)}."
)
@click.option("--out", default=None, help="Write to FILE instead of stdout (needed for parquet).")
@click.option(
    "--summary",
    is_flag=True,
    help="One row per config (per variant for a residual study): seeds, mean, std, 95% CI.",
)
def results(study, results_dir, fmt, out, summary) -> None:
    """One row per run: the ten switches, seed, eval/loss, eval/accuracy, n_params, status, ..."""
    from ptlab.sweep.store import TABLE_COLUMNS, load_results

    try:
        _choice("format", fmt, FORMATS)
        if fmt == "parquet" and not out:
            raise InputError("--format parquet needs --out FILE")
        df = load_results(study, results_dir)
    except StoreError as e:
        raise InputError(str(e)) from None
    from ptlab.residual.study import is_residual_study, runs_table, summary_table

    if is_residual_study(df):  # the variant and its cost columns instead of ten "on" switches
        table = summary_table(df) if summary else runs_table(df)
    elif summary:
        from ptlab.analysis import seed_noise

        table = seed_noise(df).sort_values("mean")
    else:
        table = df[TABLE_COLUMNS]
    if fmt == "parquet":
        table.to_parquet(out, index=False)
    elif fmt == "csv":
        table.to_csv(out if out else sys.stdout, index=False)
    else:
        short = table.rename(columns=lambda c: _abbrev(c))
        text = short.to_string(index=False, float_format=lambda x: f"{x:.4f}")
        if out:
            with open(out, "w") as f:
                f.write(text + "\n")
        else:
            click.echo(text)
    if out:
        click.echo(f"wrote {len(table)} runs to {out}", err=True)


@cli.command()
@click.argument("study", required=False)
@click.option(
    "--table",
    "table",
    default=None,
    help="Analyse an external .xlsx/.csv/.parquet table instead of a study.",
)
@click.option("--results-dir", default=DEFAULT_RESULTS_DIR, show_default=True)
@click.option("--metric", default="eval/loss", show_default=True, help="Column to explain.")
@click.option("--profile", default=None, help="Use the study's runs of this profile only.")
@click.option(
    "--noise-study",
    default=None,
    help="Study with replicate seeds for the error term (default: STUDY-noise if any).",
)
@click.option("--out", required=True, help="Directory for the CSV files (univariate … divergence).")
def analyze(study, table, results_dir, metric, profile, noise_study, out) -> None:
    """Univariate, pair, triple, variance and exact-effect tables of a switch study."""
    from pathlib import Path

    from ptlab.analysis.pipeline import OUTPUTS, study_noise, write_tables
    from ptlab.analysis.pipeline import analyze as run_analysis
    from ptlab.analysis.table import AnalysisInputError, load_switch_table

    if (study is None) == (table is None):
        raise InputError("give exactly one of STUDY or --table FILE")
    out_path = Path(out)
    if out_path.exists() and not out_path.is_dir():
        raise InputError(f"--out {out} exists and is not a directory")
    try:
        t = load_switch_table(study, table, results_dir, metric, min_rows=16, profile=profile)
        noise = None
        if study is not None:
            noise = study_noise(study, results_dir, metric, profile, noise_study)
        a = run_analysis(t, noise)
    except (AnalysisInputError, StoreError) as e:
        raise InputError(str(e)) from None
    paths = write_tables(a, out_path)
    click.echo(
        f"analysed {t.n} runs of {t.source} ({t.n_excluded} not ok, excluded); "
        f"out-of-fold R² {a.r2_oof:.3f}; wrote {', '.join(f'{n}.csv' for n in OUTPUTS)} "
        f"to {paths[0].parent}",
        err=True,
    )


@cli.command()
@click.argument("chapter")
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A chapter parameter (names and types from its parameters cell).",
)
@click.option("--profile", default=None, help=f"One of: {', '.join(PROFILES)}.")
def run(chapter, params, profile) -> None:
    """Re-execute one book chapter with new parameters and record them for later builds."""
    from ptlab.book.chapters import ChapterError
    from ptlab.book.runner import Book, params_in_force, run_chapter, save_params

    try:
        book = Book.find()
        ch = book.chapter(chapter)
        if profile is not None:
            check_profile(profile)
        overrides = parse_assignments(params, "-p", ch.check_param)
        stored = book.params_file(ch.name)
        prof = profile or params_in_force(book, ch)["profile"]
        values = ch.params_for(prof, overrides)
        record = run_chapter(book, ch, values)
    except (ChapterError, ConfigError) as e:
        raise InputError(str(e)) from None
    save_params(book, ch, prof, overrides)
    click.echo(
        f"{chapter}: executed in {record['exec_seconds']:.0f} s ({prof}); parameters "
        f"recorded in {stored.relative_to(book.root)}"
    )


@cli.command()
@click.option("--profile", default=None, help="Show staleness for a whole-book profile.")
def status(profile) -> None:
    """List chapters: fresh, stale or missing, with the parameters in force."""
    from ptlab.book.chapters import ChapterError
    from ptlab.book.runner import Book, chapter_state, params_in_force

    try:
        if profile is not None:
            check_profile(profile)
        book = Book.find()
        for ch in book.ordered():
            params = params_in_force(book, ch, profile)
            state, reason = chapter_state(book, ch, params)
            shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "profile")
            click.echo(
                f"{ch.name:12} {state:8} {params['profile']:6} {shown}"
                + (f"  [{reason}]" if reason else "")
            )
    except (ChapterError, ConfigError) as e:
        raise InputError(str(e)) from None


@cli.command()
@click.option("--profile", default=None, help="Build every chapter in this profile.")
@click.option("--all", "rebuild_all", is_flag=True, help="Pass --all to jupyter-book.")
@click.option(
    "-W", "strict", is_flag=True, help="Warnings are errors (jupyter-book -W --keep-going)."
)
def book(profile, rebuild_all, strict) -> None:
    """Execute stale chapters, then `jupyter-book build book` (HTML in _build/html)."""
    import os
    import subprocess

    from ptlab.book.chapters import ChapterError
    from ptlab.book.runner import PROFILE_ENV, Book, ensure_book, jupyter_book_command

    try:
        if profile is not None:
            check_profile(profile)
        b = Book.find()
        # resolved first: a missing jupyter-book fails here, before any chapter runs
        flags = (["--all"] if rebuild_all else []) + (["-W", "--keep-going"] if strict else [])
        cmd = jupyter_book_command("build", "book", *flags)
        ensure_book(b, profile)
    except (ChapterError, ConfigError) as e:
        raise InputError(str(e)) from None
    env = dict(os.environ)
    if profile:
        env[PROFILE_ENV] = profile
    code = subprocess.call(cmd, cwd=b.root, env=env)
    if code == 0:
        code = _report_page_check(b.root / "_build" / "html", strict)
    sys.exit(code)


def _report_page_check(html_dir, strict: bool) -> int:
    """Print what a reader should never see on the built pages; non-zero with -W if any."""
    from ptlab.book.pagecheck import check_site

    problems = check_site(html_dir)
    for page, found in problems.items():
        for p in found:
            click.echo(f"ptlab: page check: {page}: {p}", err=True)
    if not problems:
        click.echo("ptlab: page check: no placeholder, raw markup, nan or wide table on any page")
    return 1 if problems and strict else 0


cli.add_command(circuits_command)


def _abbrev(col: str) -> str:
    """Short column heads for the terminal table: the book's short switch names."""
    from ptlab.models import SHORT_NAMES

    return SHORT_NAMES.get(col, col)


def main() -> None:
    """Entry point: usage errors become one line on stderr and exit status 2."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.UsageError as e:
        hint = f" (see 'ptlab {e.ctx.info_name} --help')" if e.ctx else ""
        click.echo(f"ptlab: error: {e.format_message()}{hint}", err=True)
        sys.exit(2)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
