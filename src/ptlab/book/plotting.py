"""Figures for the book: a CJK font registered in-process (Chinese never renders as boxes), and
one figure rule, checked when a figure is glued (``glue_figure``): at least 150 dpi, at most
7.2 inches wide (the page's ≈ 700 px column shows it at no less than ≈ 65 %, so 9 pt text stays
readable), at most 3 panels a row (a grid beyond), text no smaller than 9 pt, no character the
font lacks (it would show as a box), legends off the data (placed outside the axes or in an empty
corner: ``legend_outside``)."""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"  # OFL; mplfonts also ships SimHei, which we avoid
DPI = 150
MAX_WIDTH_IN = 7.2
MAX_PANELS_PER_ROW = 3
MIN_FONT_PT = 9.0


@lru_cache(maxsize=1)
def use_cjk_font() -> str:
    """Register mplfonts' Noto Sans CJK SC with matplotlib in this process and make it the
    default sans-serif font; returns the family name. Writes nothing to the user's matplotlib
    install or cache (unlike ``mplfonts init``)."""
    import matplotlib as mpl
    import mplfonts.conf
    from matplotlib import font_manager

    path = str(Path(mplfonts.conf.FONT_DIR) / CJK_FONT_FILE)
    manager = font_manager.fontManager
    manager.addfont(path)
    name = font_manager.FontProperties(fname=path).get_name()
    # A system copy of the same family (Debian's fonts-noto-cjk ships "Noto Sans CJK SC" as a
    # .ttc) would otherwise win the lookup; the figures use the shipped file on every machine.
    manager.ttflist = [f for f in manager.ttflist if f.name != name or f.fname == path]
    manager._findfont_cached.cache_clear()
    mpl.rcParams.update(
        {
            "font.family": "sans-serif",
            "font.sans-serif": [name, "DejaVu Sans"],
            "axes.unicode_minus": False,  # CJK fonts lack U+2212
        }
    )
    return name


def setup_figures() -> None:
    """Book-wide figure defaults: CJK font, seaborn theme, crisp PNGs."""
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    use_cjk_font.cache_clear()  # seaborn's theme resets the font family; register again
    use_cjk_font()
    mpl.rcParams.update(
        {
            "figure.dpi": DPI,
            "savefig.dpi": DPI,
            "figure.figsize": (6.4, 3.8),
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "xtick.labelsize": 9,
            "ytick.labelsize": 9,
            "legend.fontsize": 9,
            "legend.title_fontsize": 9,
        }
    )


class FigureRuleError(ValueError):
    """A figure that breaks the book's figure rule (one line: what and what is allowed)."""


def check_figure(fig) -> None:
    """Raise FigureRuleError if ``fig`` breaks the figure rule (see the module docstring)."""
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        lacking = _lacking(t)
        if lacking:
            name = unicodedata.name(lacking, f"U+{ord(lacking):04X}")
            raise FigureRuleError(
                f"{lacking!r} ({name}) in {t.get_text()[:30]!r} is not in the figure's fonts "
                "(it would be drawn as a box); write it another way"
            )
    # the page shows the PNG cropped to the drawn content (bbox_inches="tight"): a legend
    # outside the axes widens it, so the width that counts is the tight box's
    w = max(fig.get_size_inches()[0], fig.get_tightbbox().width)
    if fig.dpi < DPI:
        raise FigureRuleError(f"figure dpi {fig.dpi:g} < {DPI}")
    if w > MAX_WIDTH_IN + 0.05:
        raise FigureRuleError(f"figure is {w:.1f} in wide; at most {MAX_WIDTH_IN} in")
    axes = [a for a in fig.axes if a.get_visible() and a.get_label() != "<colorbar>"]
    rows: dict[float, int] = {}
    for a in axes:
        if a.get_subplotspec() is None:
            continue
        top = round(a.get_position().y1, 2)
        rows[top] = rows.get(top, 0) + 1
    if rows and max(rows.values()) > MAX_PANELS_PER_ROW:
        raise FigureRuleError(
            f"{max(rows.values())} panels in a row; at most {MAX_PANELS_PER_ROW} (use a grid)"
        )
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.get_fontsize() < MIN_FONT_PT - 1e-6:
            raise FigureRuleError(
                f"text {t.get_text()[:30]!r} is {t.get_fontsize():g} pt; at least {MIN_FONT_PT:g}"
            )


def fit_width(fig, tries: int = 5) -> None:
    """Shrink ``fig`` until its tight box (labels and outside legends included) is at most
    MAX_WIDTH_IN wide. Text keeps its size in points, so a figure drawn at the full width whose
    tick labels spill a little over is fitted instead of refused; the data decide those labels."""
    for _ in range(tries):
        excess = fig.get_tightbbox().width - MAX_WIDTH_IN
        if excess <= 0:
            return
        w, h = fig.get_size_inches()
        fig.set_size_inches(w - excess - 0.02, h)


@cache
def _charmap(path: str) -> frozenset[int]:
    from matplotlib.ft2font import FT2Font

    return frozenset(FT2Font(path).get_charmap())


def _lacking(text) -> str | None:
    """The first character of a visible Text that none of its fonts (the fallback list
    included) can draw; mathtext ($…$) is left to matplotlib's math fonts."""
    from matplotlib import font_manager

    s = re.sub(r"\$[^$]*\$", "", text.get_text()) if text.get_visible() else ""
    wide = [c for c in dict.fromkeys(s) if ord(c) > 127]
    if not wide:
        return None
    fonts = font_manager.fontManager._find_fonts_by_props(text.get_fontproperties())
    maps = [_charmap(str(f)) for f in fonts]
    return next((c for c in wide if not any(ord(c) in m for m in maps)), None)


def glue_figure(name: str, fig) -> None:
    """Fit ``fig`` to the page width, check it against the figure rule, glue it as ``name`` for
    ``{glue:figure}`` and close it (so it is not shown a second time under the cell)."""
    import matplotlib.pyplot as plt
    from myst_nb import glue

    fit_width(fig)
    check_figure(fig)
    glue(name, fig, display=False)
    plt.close(fig)


def legend_outside(ax, **kwargs) -> None:
    """A legend to the right of ``ax``, off the data."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, **kwargs)
