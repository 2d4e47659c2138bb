"""What the command line prints: every line passes :func:`printable` on its way out."""

from __future__ import annotations

import unicodedata

import click


def printable(text: str) -> str:
    """``text`` safe for a terminal: control and format characters (escape sequences, bell,
    carriage return, bidi overrides) from e-mails, names or catalogue rows shown as
    ``\\x1b``-style escapes; new lines and tabs kept."""
    return "".join(_printable_char(char) for char in text)


_UNPRINTABLE = {"Cc", "Cf", "Co", "Cs", "Zl", "Zp"}


def _printable_char(char: str) -> str:
    if char in "\n\t" or unicodedata.category(char) not in _UNPRINTABLE:
        return char
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def echo(message: object = "", *, err: bool = False, nl: bool = True) -> None:
    """Every line the command line prints: untrusted text never reaches the terminal raw."""
    click.echo(printable(str(message)), err=err, nl=nl)
