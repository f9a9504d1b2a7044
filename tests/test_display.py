"""The table rule (display) and the figure rule (book.plotting)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from ptlab.book.plotting import FigureRuleError, check_figure, setup_figures  # noqa: E402
from ptlab.display import NBSP, fmt_number, for_reader, mean_sd  # noqa: E402


@pytest.mark.parametrize(
    "x, want",
    [
        (0.090512, "0.0905"),
        (-0.090512, "−0.0905"),
        (2.04512, "2.05"),
        (133824, "133,824"),
        (1234.56, "1,235"),
        (0.5, "0.500"),
        (float("nan"), "—"),
        (0.0, "0"),
        (3e-6, "3.00e-06"),
        ("abc", "abc"),
        (True, "True"),
    ],
)
def test_numbers_get_three_significant_digits(x, want):
    assert fmt_number(x) == want


def test_mean_sd_is_one_line_at_the_noise_resolution():
    assert mean_sd(-0.09051, 0.01093) == f"−0.091{NBSP}±{NBSP}0.011"
    assert mean_sd(2.0451, 0.034) == f"2.045{NBSP}±{NBSP}0.034"
    assert mean_sd(float("nan"), 0.1) == "—"


def test_reader_tables_drop_constant_columns_and_refuse_more_than_seven():
    t = pd.DataFrame({"variant": ["a", "b"], "delta": [0.01234, -0.5], "zero": [0, 0]})
    out = for_reader(t, ["variant"], {"delta": "Δ loss"})
    assert list(out.columns) == ["Δ loss"] and list(out["Δ loss"]) == ["0.0123", "−0.500"]
    assert out.index.name == "variant"
    wide = pd.DataFrame(np.arange(16).reshape(2, 8), columns=list("abcdefgh"))
    with pytest.raises(ValueError, match="at most 7 columns, this one has 8"):
        for_reader(wide)


def test_the_figure_rule_catches_wide_crowded_and_tiny_figures():
    setup_figures()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.set_title("ok")
    check_figure(fig)
    plt.close(fig)
    bad = [
        (dict(ncols=4, figsize=(7, 3)), "4 panels in a row"),
        (dict(figsize=(11, 3)), "11.0 in wide"),
    ]
    for kw, msg in bad:
        fig, _ = plt.subplots(**kw)
        with pytest.raises(FigureRuleError, match=msg):
            check_figure(fig)
        plt.close(fig)
    fig, ax = plt.subplots()
    ax.set_xlabel("tiny", fontsize=7)
    with pytest.raises(FigureRuleError, match="'tiny' is 7 pt"):
        check_figure(fig)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7.0, 3))  # a legend outside widens the cropped PNG
    ax.plot([0, 1], label="a rather long legend entry")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    with pytest.raises(FigureRuleError, match="in wide"):
        check_figure(fig)
    plt.close(fig)
    fig, axes = plt.subplots(2, 3, figsize=(7, 5))  # a grid of 3 a row is fine
    check_figure(fig)
    plt.close(fig)


def test_fit_width_shrinks_a_figure_whose_labels_spill_over_the_page():
    from ptlab.book.plotting import MAX_WIDTH_IN, fit_width

    setup_figures()
    fig, ax = plt.subplots(figsize=(MAX_WIDTH_IN, 3))
    ax.plot([0, 1], label="a rather long legend entry")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))
    assert fig.get_tightbbox().width > MAX_WIDTH_IN + 0.05
    fit_width(fig)
    check_figure(fig)  # fitted: no longer too wide, text still at its size
    assert fig.get_size_inches()[0] < MAX_WIDTH_IN
    plt.close(fig)


def test_the_figure_rule_refuses_a_character_the_font_lacks():
    setup_figures()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.set_title("二元交互强度 (×10⁻³)")  # the CJK font has no superscript minus
    with pytest.raises(FigureRuleError, match="SUPERSCRIPT MINUS"):
        check_figure(fig)
    ax.set_title("二元交互强度 (× 0.001)")
    check_figure(fig)
    plt.close(fig)
