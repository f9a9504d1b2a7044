"""myst-nb glue helpers: plain Python numbers (numpy scalars would render as np.float64(...))
and generated sentences, so no number or conclusion in the prose is typed by hand."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any


def glue_value(name: str, value: Any) -> None:
    """Glue a number or string for ``{glue:text}`name:fmt```; numpy scalars become Python."""
    from myst_nb import glue

    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    glue(name, value, display=False)


def glue_text(name: str, text: str) -> None:
    """Glue a generated sentence for ``{glue:md}`name``` on its own page, and a plain-text copy
    ``<name>_plain`` for other pages (``{glue:text}`zh/ch.ipynb::<name>_plain:s```): myst-nb
    resolves ``{glue:md}`` only within the page that glued it."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, Markdown(text), display=False)
    glue(f"{name}_plain", re.sub(r"[*`]", "", text), display=False)


def beyond_noise(gap: float, sd: float) -> tuple[str, str]:
    """(zh, en) verdict on whether a difference stands out from seed noise (> 3 sd)."""
    ratio = abs(gap) / sd if sd > 0 else float("inf")
    if ratio > 3:
        return ("这一差异远大于种子噪声。", "The difference is well beyond seed noise.")
    if ratio > 1:
        return (
            "这一差异大于种子噪声，但不足 3 倍标准差，需要更多种子确认。",
            "The difference exceeds seed noise but by less than 3 sd; more seeds would tell.",
        )
    return ("这一差异在种子噪声范围之内。", "The difference is within seed noise.")


def save_table(df, chapter: str, name: str) -> Path:
    """Write a results table as ``book/generated/data/<chapter>/<name>.csv`` so its page can
    offer it for download (``{download}`name.csv <../generated/data/<chapter>/<name>.csv>```);
    the site archive carries it. Returns the path."""
    from ptlab.book.runner import Book

    path = Book.find().generated / "data" / chapter / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    df.to_csv(tmp, index=False)
    tmp.replace(path)
    return path
