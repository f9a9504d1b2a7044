"""Tables for the book's pages, by one rule: at most 7 columns, the key columns first (as the
index), 3 significant digits, "mean ± sd" on one line, no constant columns and no index noise;
the full table goes to a CSV link (``ptlab.book.glue.save_table``).

The studies keep snake_case column ids and one bilingual label mapping each (``LABELS`` in
``attribution.study``, ``residual``, ``circuits.study``); the labels are applied here, only
where a table is shown.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

MAX_COLUMNS = 7  # beyond this a table scrolls sideways at 1280 px and on a phone
NBSP = "\u00a0"  # "mean ± sd" never wraps


def fmt_number(x, digits: int = 3) -> str:
    """``x`` with ``digits`` significant digits, positional (no exponent for 1e-4 … 1e6);
    integers (and floats ≥ 10^digits) as whole numbers with thousands separators; NaN as "—"."""
    if x is None or isinstance(x, (bool, np.bool_)):
        return "—" if x is None else str(bool(x))
    if not isinstance(x, numbers.Number):
        return str(x)
    if isinstance(x, numbers.Integral):
        return f"{int(x):,}"
    x = float(x)
    if not math.isfinite(x):
        return "—" if math.isnan(x) else ("∞" if x > 0 else "−∞")
    if x == 0:
        return "0"
    if abs(x) >= 10**digits:
        return f"{round(x):,}"
    if abs(x) < 1e-4:
        return f"{x:.{digits - 1}e}"
    return f"{x:#.{digits}g}".rstrip(".").replace("-", "−")  # '#' keeps trailing zeros


def mean_sd(mean: float, sd: float, digits: int = 2) -> str:
    """ "mean ± sd" on one line; both to the decimal place of the sd's ``digits``-th
    significant digit (so the mean shows what the noise allows); "—" when the mean is NaN."""
    if mean is None or not math.isfinite(mean):
        return "—"
    if sd is None or not math.isfinite(sd) or sd == 0:
        return fmt_number(mean)
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(sd))))
    return f"{mean:.{decimals}f}{NBSP}±{NBSP}{sd:.{decimals}f}".replace("-", "−")


def interval(low: float, high: float, digits: int = 3) -> str:
    """ "[low, high]" on one line, 3 significant digits each."""
    return f"[{fmt_number(low, digits)},{NBSP}{fmt_number(high, digits)}]"


def constant_columns(table: pd.DataFrame) -> list[str]:
    """Columns holding one value in every row (they say nothing a sentence cannot)."""
    if len(table) < 2:
        return []
    return [c for c in table.columns if table[c].astype(str).nunique(dropna=False) == 1]


def for_reader(
    table: pd.DataFrame,
    index: list[str] | None = None,
    labels: dict[str, str] | None = None,
    digits: int = 3,
    keep_constant: tuple[str, ...] = (),
) -> pd.DataFrame:
    """``table`` as a reader sees it: indexed by the key columns ``index`` (the row number is
    never shown), constant columns dropped (except ``keep_constant``), every number to
    ``digits`` significant digits, ids under their ``labels``. Raises ValueError naming the
    columns when more than 7 remain: show fewer and link the full table instead."""
    labels = labels or {}
    out = table.copy()
    drop = [c for c in constant_columns(out) if c not in keep_constant and c not in (index or [])]
    out = out.drop(columns=drop)
    if index:
        out = out.set_index(index)
    else:
        out = out.reset_index(drop=True)
    if out.shape[1] > MAX_COLUMNS:
        raise ValueError(
            f"a reader's table has at most {MAX_COLUMNS} columns, this one has "
            f"{out.shape[1]}: {', '.join(map(str, out.columns))}; show fewer and link the CSV"
        )
    out = out.apply(lambda col: col.map(lambda v: fmt_number(v, digits)))
    if isinstance(out.index, pd.MultiIndex):
        out.index = out.index.set_levels(
            [lvl.map(lambda v: fmt_number(v, digits)) for lvl in out.index.levels]
        )
    elif index:
        out.index = out.index.map(lambda v: fmt_number(v, digits))
    out.index.names = [labels.get(n, n) for n in out.index.names]
    if not index:
        out.index = [""] * len(out)  # no row numbers on the page
    return out.rename(columns=lambda c: labels.get(c, c))


def labelled(table: pd.DataFrame, index: list[str], labels: dict[str, str], digits: int = 3):
    """``for_reader`` under its older name (the studies' ``show`` functions call it)."""
    return for_reader(table, index, labels, digits)
