"""myst-nb glue helpers: plain Python numbers (numpy scalars would render as np.float64(...))
and generated sentences, so no number or conclusion in the prose is typed by hand."""

from __future__ import annotations

from typing import Any


def glue_value(name: str, value: Any) -> None:
    """Glue a number or string for ``{glue:text}`name:fmt```; numpy scalars become Python."""
    from myst_nb import glue

    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    glue(name, value, display=False)


def glue_text(name: str, text: str) -> None:
    """Glue a generated sentence for ``{glue:md}`name```."""
    from IPython.display import Markdown
    from myst_nb import glue

    glue(name, Markdown(text), display=False)


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
