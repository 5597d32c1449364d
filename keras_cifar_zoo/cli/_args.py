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


DATASETS = ("cifar10", "cifar100")
"""The ``--dataset`` choices (``keras_cifar_zoo.data.DATASETS``, which ``--help`` must not
import)."""

HUB_FLAGS = {
    "hub_dir": "--hub-dir PATH",
    "cache_dir": "--cache-dir PATH",
    "local_files_only": "--offline",
    "endpoint": "--endpoint URL",
    "revision": "--revision REV",
}
"""How the hub options are spelled on the command line, for error messages."""

LIBRARY_SETTINGS = {
    "hub_dir": "hub_dir=PATH",
    "cache_dir": "cache_dir=PATH",
    "imagenet_weights": "imagenet_weights=PATH",
    "local_files_only": "local_files_only=True",
}
"""How library messages say to set an option (``hub_dir=PATH or KERAS_CIFAR_ZOO_HUB=PATH``);
a command names its flag instead, or only the environment variable where it has no flag."""


def add_dataset(parser: argparse.ArgumentParser, what: str) -> None:
    """``--dataset cifar10|cifar100`` (default cifar10); ``what`` says what it selects."""
    parser.add_argument(
        "--dataset", choices=DATASETS, default="cifar10", help=f"{what} (default: cifar10)"
    )


def add_hub_options(parser: argparse.ArgumentParser, offline: str) -> None:
    """Where published weights come from: ``--hub-dir``, ``--cache-dir``, ``--endpoint``,
    ``--revision`` and ``--offline`` (whose help is ``offline``)."""
    parser.add_argument(
        "--hub-dir",
        help="local hub mirror holding <repo_id>/ folders (default: $KERAS_CIFAR_ZOO_HUB, else "
        "the checkout's hub/ when run from a source checkout; '' for none)",
    )
    parser.add_argument("--cache-dir", help="cache folder (default: huggingface_hub's / Keras's)")
    parser.add_argument("--endpoint", help="Hub URL (default: $HF_ENDPOINT or huggingface.co)")
    parser.add_argument("--revision", help="Hub revision (default: the manifest's)")
    parser.add_argument("--offline", action="store_true", help=offline)
