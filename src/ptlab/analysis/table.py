"""Input tables for the switch analysis: our sweep store or an external .xlsx/.csv/.parquet file.

Every check runs before any analysis and raises ``AnalysisInputError`` with one line naming the
problem (missing switch columns, non-binary values, NaN metric, duplicated columns, too few rows).
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ptlab.models import SWITCHES
from ptlab.values import parse_bool

TABLE_SUFFIXES = (".xlsx", ".csv", ".parquet")
METRICS = ("eval/loss", "eval/accuracy")


class AnalysisInputError(ValueError):
    """A table that cannot be analysed; the message is one line for the user."""


@dataclass(frozen=True)
class SwitchTable:
    """Validated analysis input: ``X`` (0/1 ints, columns = SWITCHES), metric ``y``, bookkeeping."""

    X: pd.DataFrame
    y: pd.Series
    metric: str
    source: str
    n_excluded: int  # rows with a status other than ok
    divergence: pd.DataFrame | None = None  # divergence.divergence_table of all rows

    @property
    def n(self) -> int:
        return len(self.y)


def _raw_header(path: Path) -> list[str]:
    """Column names as written in the file (pandas would silently rename duplicates)."""
    if path.suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            return [c.strip() for c in next(csv.reader(f), [])]
    if path.suffix == ".xlsx":
        head = pd.read_excel(path, header=None, nrows=1)
        return [str(c).strip() for c in head.iloc[0].tolist()] if len(head) else []
    import pyarrow.parquet as pq

    return list(pq.read_schema(path).names)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read an external results table; AnalysisInputError for a bad path, suffix or header."""
    p = Path(path)
    if p.suffix.lower() not in TABLE_SUFFIXES:
        raise AnalysisInputError(
            f"table {p} has suffix {p.suffix or '(none)'!r}; allowed: {', '.join(TABLE_SUFFIXES)}"
        )
    if not p.is_file():
        raise AnalysisInputError(f"table {p} does not exist or is not a file")
    try:
        header = _raw_header(p)
    except Exception as e:  # unreadable file: report pandas' reason in one line
        raise AnalysisInputError(f"cannot read table {p}: {e}".splitlines()[0]) from e
    dups = sorted({c for c in header if header.count(c) > 1})
    if dups:
        raise AnalysisInputError(f"table {p} has duplicated columns: {', '.join(dups)}")
    if p.suffix == ".csv":
        return pd.read_csv(p)
    if p.suffix == ".xlsx":
        return pd.read_excel(p)
    return pd.read_parquet(p)


def _as_binary(col: pd.Series, name: str) -> pd.Series:
    """Bools, 0/1 or true/false strings → 0/1 ints; anything else is an error naming the value."""
    if col.dtype == bool:
        return col.astype(int)
    if col.isna().any():
        raise AnalysisInputError(
            f"switch column {name!r} has empty values; allowed: 0/1, true/false"
        )
    flags = col.map(parse_bool)
    bad = sorted({str(v).strip().lower() for v in col[flags.isna()]})
    if bad:
        raise AnalysisInputError(
            f"switch column {name!r} has non-binary values {bad[:3]}; allowed: 0/1, true/false"
        )
    return flags.astype(int)


def prepare(
    df: pd.DataFrame, metric: str = "eval/loss", source: str = "table", min_rows: int = 8
) -> SwitchTable:
    """Validate a runs table and keep its ok rows as a ``SwitchTable``."""
    cols = [str(c) for c in df.columns]
    dups = sorted({c for c in cols if cols.count(c) > 1})
    if dups:
        raise AnalysisInputError(f"{source} has duplicated columns: {', '.join(dups)}")
    missing = [s for s in SWITCHES if s not in cols]
    if missing:
        raise AnalysisInputError(f"{source} lacks switch columns: {', '.join(missing)}")
    if metric not in cols:
        have = [m for m in METRICS if m in cols]
        raise AnalysisInputError(
            f"{source} has no column {metric!r}; metrics present: {', '.join(have) or '(none)'}"
        )
    from ptlab.analysis.divergence import divergence_table

    X = pd.DataFrame({s: _as_binary(df[s], s) for s in SWITCHES}, index=df.index)
    status = df["status"].astype(str) if "status" in cols else pd.Series("ok", index=df.index)
    divergence = divergence_table(X.assign(status=status))
    ok = (status == "ok").to_numpy()
    n_excluded = int((~ok).sum())
    df, X = df[ok], X[ok]
    y = pd.to_numeric(df[metric], errors="coerce")
    if y.isna().any():
        rows = list(np.flatnonzero(y.isna().to_numpy())[:3])
        raise AnalysisInputError(
            f"{source} has {int(y.isna().sum())} missing or non-numeric {metric} values "
            f"among its ok rows (first at row positions {rows})"
        )
    if len(y) < min_rows:
        raise AnalysisInputError(
            f"{source} has {len(y)} ok rows; the analysis needs at least {min_rows}"
        )
    X = X.reset_index(drop=True)
    return SwitchTable(
        X,
        y.astype(float).reset_index(drop=True).rename(metric),
        metric,
        source,
        n_excluded,
        divergence,
    )


def load_switch_table(
    study: str | None = None,
    table: str | os.PathLike | None = None,
    results_dir: str | os.PathLike = "results",
    metric: str = "eval/loss",
    min_rows: int = 8,
    profile: str | None = None,
) -> SwitchTable:
    """The analysis input from a study in the results store (runs of one profile) or from an
    external table file."""
    if (study is None) == (table is None or str(table) == ""):
        raise AnalysisInputError("give exactly one of a study name or a table file")
    if table:
        return prepare(read_table(table), metric, source=f"table {table}", min_rows=min_rows)
    from ptlab.sweep import load_results

    df = load_results(study, results_dir)
    profiles = sorted(df["profile"].dropna().unique()) if "profile" in df else []
    if profile is not None:
        if profile not in profiles:
            raise AnalysisInputError(
                f"study {study!r} has no {profile!r} runs; profiles there: {', '.join(profiles)}"
            )
        df = df[df["profile"] == profile]
    elif len(profiles) > 1:
        raise AnalysisInputError(
            f"study {study!r} mixes runs of profiles {', '.join(profiles)}; choose one with "
            "--profile"
        )
    return prepare(df, metric, source=f"study {study!r}", min_rows=min_rows)


def require_rows(n: int, need: int, what: str) -> None:
    """AnalysisInputError when an analysis has fewer rows than it needs."""
    if n < need:
        raise AnalysisInputError(f"{what} needs at least {need} rows, the table has {n}")
