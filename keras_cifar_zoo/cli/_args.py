"""argparse ``type=`` checks shared by the commands.

A bad value then fails while the command line is parsed, like any argparse error: one line on
stderr, exit status 2, before Keras is imported or any work is done.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def positive_int(text: str) -> int:
    """An integer of at least 1 (``--top``, ``--epochs``)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a whole number of 1 or more, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def positive_float(text: str) -> float:
    """A number greater than 0 (``--wall-time``, ``--max-shard-size``)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number greater than 0, got {text!r}"
        ) from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number greater than 0, got {text}")
    return value


def _check_parents(path: Path, text: str) -> None:
    """Refuses a path below a file: its folders could never be created."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise argparse.ArgumentTypeError(
                    f"{text!r} cannot be created: {str(parent)!r} is a file, not a folder"
                )
            return


def png_file(text: str) -> Path:
    """A ``.png`` file to write: not another format, not an existing folder, not below a file."""
    path = Path(text)
    _check_parents(path, text)
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder; pass a file name ending in .png")
    if path.suffix.lower() != ".png":
        raise argparse.ArgumentTypeError(
            f"the image is written as PNG, so the file name must end in .png, got {text!r}"
        )
    return path


def folder(text: str) -> Path:
    """A folder to write into: missing (it is created) or a folder, never a file."""
    path = Path(text)
    _check_parents(path, text)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(
            f"{text!r} is a file; pass a folder (it is created if missing)"
        )
    return path
