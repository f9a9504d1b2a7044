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

    # an empty sentence (a comparison that does not apply) still needs its text/markdown
    glue(name, Markdown(text if text.strip() else "\u00a0"), display=False)
    glue(f"{name}_plain", re.sub(r"[*`]", "", text), display=False)


def glue_pair(name: str, pair: tuple[str, str]) -> None:
    """Glue a generated (zh, en) sentence as ``<name>_zh`` and ``<name>_en`` (``glue_text``)."""
    glue_text(f"{name}_zh", pair[0])
    glue_text(f"{name}_en", pair[1])


def beyond_noise(a, b, level: float = 0.95) -> tuple[str, str]:
    """(zh, en): does mean(a) − mean(b) stand out from seed noise? Decided on the Welch
    interval of the difference (two samples of seeds), never on a multiple of an sd: beyond
    noise when the interval excludes 0; otherwise the sentence gives the smallest difference
    these seeds could detect (80 % power), so "not shown" never reads as "no difference"."""
    import numpy as np
    from scipy import stats

    from ptlab.verdict import detectable_effect

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or len(b) < 2:
        return (
            "每组至少需要两个种子才能与种子噪声比较。",
            "Each side needs at least two seeds to be compared with seed noise.",
        )
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(level)
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    pct = f"{100 * level:g}%"
    span_zh = f"{pct} 置信区间 {ci.low:+.3f} 至 {ci.high:+.3f}"
    span_en = f"{pct} CI {ci.low:+.3f} to {ci.high:+.3f}"
    if ci.low > 0 or ci.high < 0:
        return (
            f"这一差异超出种子噪声（Welch {span_zh}，不含 0）。",
            f"The difference stands out from seed noise (Welch {span_en}, excluding 0).",
        )
    mde = detectable_effect(se, float(res.df))
    return (
        f"这一差异无法与种子噪声区分（Welch {span_zh}，含 0）；"
        f"这些种子能以 80% 的把握检出的最小差异约为 {mde:.3f}。",
        f"The difference cannot be told from seed noise (Welch {span_en}, including 0); the "
        f"smallest difference these seeds detect with 80% power is about {mde:.3f}.",
    )


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
