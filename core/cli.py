"""Argument types the project's command-line tools share, so each rejects a bad count the same way:
one line from argparse that names the option and the value."""
from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """argparse ``type`` for counts (batch sizes, repeats, threads, limits): a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value
