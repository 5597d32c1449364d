"""Limits of a lent GPU window, the stage layout, and the errors of the GPU scripts."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from keras_cifar_zoo.errors import UnknownModelError, ZooError

ROOT = Path(__file__).resolve().parents[2]
MIB = 1 << 20
SCRIPT = "scripts/gpu_plan_run.py"

# Limits of a lent GPU window: what one call carries and returns, and how long it may run.
CALL_BYTES = 64 * MIB  # what travels in one call: working tree + carried paths
COMMAND_CHARS = 2000
CARRY_PATHS = 8
COMMAND_SECONDS = 600
RETURN_FILES = 8  # files back from $OUT per call
RETURN_FILE_BYTES = 16 * MIB
RETURN_BYTES = 64 * MIB

META_DIR = "meta"
STAGE_FILE = "stage.json"
PLAN_COPY = "plan.json"
CALLS_FILE = "calls.json"
RUNS_DIR = "runs"
PACKED_DIR = "packed"
PACKED_MANIFEST = "packed.json"
PART_NAME = re.compile(r"^runs\.tar\.(\d{3})-of-(\d{3})$")
IMAGE_FILTER = "planar-delta2d-subtract-green/v1"
WHEELS = ".whl"
HUB = "hub"
HUB_SNAPSHOT = "keras-cifar-zoo-hub-index"  # in the git folder, beside ORIG_HEAD
STANDIN_IMAGES = 1000
PIP_INSTALL = (
    "python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade "
    "--target /tmp/site .whl/*.whl"
)
DEVICE_ENV = "export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax PYTHONUNBUFFERED=1"
# Files of a job folder that come back (pending jobs have none).
JOB_FILES = (
    "metrics.json",
    "model.weights.h5",
    "timing.json",
    "checkpoint/history.csv",
    "checkpoint/state.json",
)


class StageError(ZooError, ValueError):
    """A stage, call or argument that cannot work (too big, not ignored, bad value)."""


class MissingPartsError(ZooError, FileNotFoundError):
    """Parts of the training set or of the packed runs that are not there."""

    __str__ = UnknownModelError.__str__  # FileNotFoundError would print the errno tuple


class DuplicatePartsError(ZooError, ValueError):
    """The same part given twice."""


class UnsafeArchiveError(ZooError, ValueError):
    """A tar member that would land outside the destination, or is not a plain file."""


class GitStateError(ZooError, OSError):
    """A git command that failed, or a repository not in the expected state."""

    __str__ = UnknownModelError.__str__


# ---------------------------------------------------------------------------------------------
# Small helpers


def sha256_file(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def arrays_sha256(x: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of uint8 images and their labels (as little-endian int64), in that order."""
    digest = hashlib.sha256(np.ascontiguousarray(x, dtype=np.uint8).tobytes())
    digest.update(np.asarray(y).astype("<i8").tobytes())
    return digest.hexdigest()


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    """Writes a JSON file of the stage or the runs atomically (the package's atomic write)."""
    from keras_cifar_zoo.training.checkpoints import atomic_write

    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), "out")


def mib(n: float) -> str:
    return f"{n / MIB:.1f} MiB"


def tree_bytes(paths: Iterable[Path]) -> int:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return total
