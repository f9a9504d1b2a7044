"""Tables for the book's pages: the studies keep snake_case column ids and one bilingual label
mapping each (``LABELS`` in ``attribution.study``, ``analysis.residual``, ``circuits.study``);
the labels are applied here, only where a table is shown."""

from __future__ import annotations

import pandas as pd


def labelled(table: pd.DataFrame, index: list[str], labels: dict[str, str], digits: int = 4):
    """``table`` indexed by ``index``, rounded, with index and columns under their labels."""
    out = table.set_index(index).round(digits)
    out.index.names = [labels.get(n, n) for n in out.index.names]
    return out.rename(columns=lambda c: labels.get(c, c))
