"""One KEY=VALUE parser and one boolean vocabulary for the CLI, chapters and tables."""

import pandas as pd
import pytest

from ptlab.values import FALSE, TRUE, ValueInputError, convert, guess, split_assignment


@pytest.mark.parametrize("word", sorted(TRUE | FALSE))
def test_every_entry_point_reads_a_boolean_word_the_same_way(word):
    from ptlab.analysis.table import _as_binary
    from ptlab.book.chapters import coerce
    from ptlab.cli import parse_value

    want = word in TRUE
    assert convert("x", word.upper(), bool) is want
    assert parse_value("use_rms_norm", word) is want  # ptlab sweep --set
    assert coerce("flag", word, False) is want  # ptlab run -p
    assert _as_binary(pd.Series([word, word]), "s").tolist() == [int(want)] * 2  # tables


def test_bad_values_get_one_line_naming_what_is_allowed():
    with pytest.raises(ValueInputError, match="^x must be true or false, got 'maybe'$"):
        convert("x", "maybe", bool)
    with pytest.raises(ValueInputError, match="^n must be an integer, got '1.5'$"):
        convert("n", "1.5", int)
    with pytest.raises(ValueInputError, match="^-p expects KEY=VALUE, got 'seeds'$"):
        split_assignment("seeds", "-p")
    with pytest.raises(ValueInputError, match="expects KEY=VALUE"):
        split_assignment("=3", "--set")


def test_conversions():
    assert split_assignment(" steps = 20", "--set") == ("steps", " 20")
    assert convert("n", " 20", int) == 20 and convert("lr", 3, float) == 3.0
    assert convert("l", "[1, 2]", list) == [1, 2]
    with pytest.raises(ValueInputError):
        convert("n", True, int)  # a bool is not an int here
    assert [guess(v) for v in ("4", "0.5", "true", "gpu")] == [4, 0.5, True, "gpu"]
