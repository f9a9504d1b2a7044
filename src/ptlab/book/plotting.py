"""Figures for the book: a CJK font registered in-process (Chinese never renders as boxes)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CJK_FONT_FILE = "NotoSansCJKsc-Regular.otf"  # OFL; mplfonts also ships SimHei, which we avoid


@lru_cache(maxsize=1)
def use_cjk_font() -> str:
    """Register mplfonts' Noto Sans CJK SC with matplotlib in this process and make it the
    default sans-serif font; returns the family name. Writes nothing to the user's matplotlib
    install or cache (unlike ``mplfonts init``)."""
    import matplotlib as mpl
    import mplfonts.conf
    from matplotlib import font_manager

    path = str(Path(mplfonts.conf.FONT_DIR) / CJK_FONT_FILE)
    font_manager.fontManager.addfont(path)
    name = font_manager.FontProperties(fname=path).get_name()
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
    mpl.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "figure.figsize": (6.4, 3.8)})
