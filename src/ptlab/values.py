"""One vocabulary for values that people type: ``KEY=VALUE`` items and their conversion.

The CLI (``--set``, ``--slurm``, ``-p``), chapter parameters and the analysis table loader all
use it, so "1", "1.0", "yes" and "on" mean true everywhere, and a wrong value gets the same
one-line message wherever it was typed.
"""

from __future__ import annotations

import ast
from typing import Any

import click

TRUE = frozenset({"true", "1", "1.0", "yes", "on"})
FALSE = frozenset({"false", "0", "0.0", "no", "off"})

_EXPECTED = {
    bool: "true or false",
    int: "an integer",
    float: "a number",
    list: "a list like [1, 2]",
    dict: "a dict like {'a': 1}",
}


class ValueInputError(ValueError):
    """A typed value that cannot be used; the message is one line naming what is allowed."""


class InputError(click.ClickException):
    """Bad command-line input: ``ptlab: error: <one line>`` on stderr and exit status 2, raised
    before any work starts (every ``ptlab`` command, the circuits one included, uses it)."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(f"ptlab: error: {self.format_message()}", err=True)


def split_assignment(item: str, flag: str) -> tuple[str, str]:
    """``"key=value"`` → (key, raw value); ValueInputError naming the flag otherwise."""
    key, eq, raw = item.partition("=")
    if not eq or not key.strip():
        raise ValueInputError(f"{flag} expects KEY=VALUE, got {item!r}")
    return key.strip(), raw


def parse_bool(raw: str) -> bool | None:
    """True/False for a word of the vocabulary (case and spaces ignored), else None."""
    low = str(raw).strip().lower()
    return True if low in TRUE else False if low in FALSE else None


def convert(key: str, value: Any, want: type) -> Any:
    """``value`` (a command-line string, or already a Python value) as type ``want``."""
    if not isinstance(value, str):
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, want) and not (want is int and isinstance(value, bool)):
            return value
        raise ValueInputError(f"{key} must be {_EXPECTED.get(want, want.__name__)}, got {value!r}")
    raw = value.strip()
    try:
        if want is bool:
            flag = parse_bool(raw)
            if flag is None:
                raise ValueError
            return flag
        if want in (int, float, str):
            return want(raw)
        parsed = ast.literal_eval(raw)
        if not isinstance(parsed, want):
            raise ValueError
        return parsed
    except (ValueError, SyntaxError):
        expected = _EXPECTED.get(want, want.__name__)
        raise ValueInputError(f"{key} must be {expected}, got {value!r}") from None


def guess(raw: str) -> Any:
    """A value with no declared type (``--slurm`` options): int, float, bool word, else str."""
    for want in (int, float):
        try:
            return want(raw)
        except ValueError:
            pass
    flag = parse_bool(raw)
    return raw if flag is None else flag
