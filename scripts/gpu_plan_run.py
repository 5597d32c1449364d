"""Run a training plan in one lent GPU window: stage here, train there, measure here.

A GPU window is short (15 minutes of device time, the machine's start included) and what
travels is small (64 MiB per call, 8 files of 16 MiB back), so the sequence is prepared and
rehearsed on the CPU (``tests/test_gpu_rehearsal.py``) and run once without exploration.
Everything the device does is a subcommand of this script; only numpy and the standard
library are imported at module level, so ``device-check`` runs there before Keras is installed.

The sequence, in this order (``PLAN`` a plan file, ``DATA`` a folder holding
``cifar-10-batches-py/``, e.g. the lossless copy):

Here, before the window::

    python scripts/gpu_plan_run.py budget --plan PLAN --seconds 450   # epochs that fit
    python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --platform manylinux2014_x86_64 -d .whl keras namex optree    # Keras wheels in .whl/
    python scripts/gpu_plan_run.py stage --data-dir DATA --plan PLAN  # .gpu/, prints the calls
    python scripts/gpu_plan_run.py untrack-hub                        # hub/ (236 MiB) stays here

``stage`` refuses a stage folder that git does not ignore (it would travel in every call):
add ``/.gpu/`` to ``.git/info/exclude`` or pass ``--exclude``. It writes the training set as
N parts (``.gpu/partK/train-K-of-N.npz``; each about 45 MiB for N=2: the pixels are stored
after a lossless 2-D delta + subtract-green filter, which plain ``np.savez_compressed`` of
the raw pixels, 67 MiB a half, would not fit), copies the plan to ``.gpu/meta/`` and prints
each call, also written to ``.gpu/meta/calls.json``.

The agent's calls, back to back (a warm machine is given back 30 s after a call, and the
parts of earlier calls survive only on a warm machine); the exact strings come from
``stage``. With ``--parts 2``:

1. ``status``: ``can_start_another`` must be true.
2. ``run(carry=[".gpu/meta", ".gpu/part1"], timeout_s=60, command="nvidia-smi -L;
   python3 scripts/gpu_plan_run.py device-check --stage .gpu --through 1")``.
3. ``run(carry=[".gpu/meta", ".gpu/part2", ".whl"], timeout_s=<hard limit + 45>,
   command="<pip install .whl> && export ... && python3 scripts/gpu_plan_run.py device-train
   --stage .gpu --out .gpu/runs --time-budget S --hard-limit H --copy-to \\"$OUT\\"")``:
   joins the parts (refusing a missing or damaged one), runs the plan under the budget with
   the first 1,000 *training* images as a stand-in test split (run_plan needs one; the test
   set stays here), packs the outputs into ``.gpu/packed/runs.tar.NNN-of-MMM`` (15 MiB
   each) plus ``packed.json``, and copies batch 1 to ``$OUT``. A hard limit (SIGALRM) stops
   training in time to pack, so a slow epoch never costs the whole window.
4. Only if call 3 printed more batches, for K = 2..B: ``run(carry=[], timeout_s=60,
   command="python3 scripts/gpu_plan_run.py device-copy --packed .gpu/packed
   --out-dir \\"$OUT\\" --batch K")``.
5. ``give_back``.

Here, after the window::

    python scripts/gpu_plan_run.py restore-hub && python scripts/gpu_plan_run.py check-hub
    python scripts/gpu_plan_run.py unpack --parts FILES_AT_3 [FILES_AT_4 ...] --dest runs/gpu
    python scripts/gpu_plan_run.py evaluate --runs runs/gpu --data-dir DATA
    keras-cifar-zoo publish MODEL --checkpoint runs/gpu/ID/model.weights.h5 \\
        --run-info runs/gpu/ID/metrics.json --data-dir DATA --tag TAG

``evaluate`` measures each finished job on the real test set and rewrites its
``metrics.json`` (accuracy, loss, ``data``, ``training_data``); until then the device's
metrics.json lacks ``training_data``, so ``publish`` refuses a stand-in number.

If call 2 or 3 lands on a fresh machine (too slow between calls), ``device-train`` stops
with the list of missing parts: redo calls 2 and 3 back to back.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
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


class GpuRunError(Exception):
    """Base class of this script's errors; ``main`` prints them and exits with 2."""


class StageError(GpuRunError, ValueError):
    """A stage, call or argument that cannot work (too big, not ignored, bad value)."""


class MissingPartsError(GpuRunError, FileNotFoundError):
    """Parts of the training set or of the packed runs that are not there."""

    def __str__(self) -> str:  # FileNotFoundError would print the errno tuple
        return str(self.args[0]) if self.args else ""


class DuplicatePartsError(GpuRunError, ValueError):
    """The same part given twice."""


class IntegrityError(GpuRunError, ValueError):
    """A file or array whose SHA-256 differs from the one recorded for it."""


class UnsafeArchiveError(GpuRunError, ValueError):
    """A tar member that would land outside the destination, or is not a plain file."""


class GitStateError(GpuRunError, OSError):
    """A git command that failed, or a repository not in the expected state."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------------------------------------
# Small helpers


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def arrays_sha256(x: np.ndarray, y: np.ndarray) -> str:
    """SHA-256 of uint8 images and their labels (as little-endian int64), in that order."""
    digest = hashlib.sha256(np.ascontiguousarray(x, dtype=np.uint8).tobytes())
    digest.update(np.asarray(y).astype("<i8").tobytes())
    return digest.hexdigest()


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _mib(n: float) -> str:
    return f"{n / MIB:.1f} MiB"


def _tree_bytes(paths: Iterable[Path]) -> int:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return total


# ---------------------------------------------------------------------------------------------
# Lossless image filter: 2-D delta (PNG "Sub" then "Up") and subtract green, channels planar.
# zlib then packs 25,000 CIFAR-10 images into ~45 MiB instead of ~67 MiB for the raw pixels.


def encode_images(x: np.ndarray) -> np.ndarray:
    """Filters uint8 images (N, H, W, 3) into (N, 3, H, W) residuals; see decode_images."""
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise StageError(
            f"images must be uint8 of shape (N, H, W, 3). Received: shape={x.shape}, "
            f"dtype={x.dtype}"
        )
    sub = x.copy()
    sub[:, :, 1:] -= x[:, :, :-1]  # uint8 arithmetic wraps: exact modulo 256
    res = sub.copy()
    res[:, 1:] -= sub[:, :-1]
    res[..., 0] -= res[..., 1]
    res[..., 2] -= res[..., 1]
    return np.ascontiguousarray(res.transpose(0, 3, 1, 2))


def decode_images(residuals: np.ndarray) -> np.ndarray:
    """Inverts encode_images exactly (every step is linear modulo 256)."""
    d = np.ascontiguousarray(np.asarray(residuals, dtype=np.uint8).transpose(0, 2, 3, 1))
    d[..., 0] += d[..., 1]
    d[..., 2] += d[..., 1]
    d = np.cumsum(d, axis=1, dtype=np.uint8)
    return np.cumsum(d, axis=2, dtype=np.uint8)


# ---------------------------------------------------------------------------------------------
# git: ignore checks, the travel size, hub/ untrack and restore


def _git(repo: Path, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *args], input=input, capture_output=True, check=False
        )
    except FileNotFoundError:
        raise GitStateError("git is not installed; it is needed for this step.") from None
    if check and done.returncode != 0:
        raise GitStateError(
            f"git {' '.join(args[:3])} failed in {repo}: "
            f"{done.stderr.decode(errors='replace').strip()}. Received: repo={str(repo)!r}"
        )
    return done.stdout


def _git_path(repo: Path, name: str) -> Path:
    path = Path(_git(repo, "rev-parse", "--git-path", name).decode().strip())
    return path if path.is_absolute() else repo / path


def _exclude_lines(repo: Path) -> list[str]:
    path = _git_path(repo, "info/exclude")
    return path.read_text(encoding="utf-8").splitlines() if path.is_file() else []


def add_exclude_line(repo: Path, line: str) -> bool:
    """Appends ``line`` to the repository's ``info/exclude``; False if it was there already."""
    path = _git_path(repo, "info/exclude")
    lines = _exclude_lines(repo)
    if line in (s.strip() for s in lines):
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(f"{text}{line}\n", encoding="utf-8")
    return True


def remove_exclude_line(repo: Path, line: str) -> bool:
    """Removes every ``line`` from ``info/exclude``; False if there was none."""
    path = _git_path(repo, "info/exclude")
    lines = _exclude_lines(repo)
    kept = [s for s in lines if s.strip() != line]
    if len(kept) == len(lines):
        return False
    path.write_text("".join(f"{s}\n" for s in kept), encoding="utf-8")
    return True


def is_ignored(repo: Path, relative: str) -> bool:
    """Whether git ignores ``relative`` (a folder of the repository, e.g. ``.gpu``)."""
    probe = f"{relative.rstrip('/')}/{STAGE_FILE}"  # a file inside: catches folder patterns
    code = subprocess.run(
        ["git", "-C", str(repo), "check-ignore", "-q", "--no-index", "--", probe],
        capture_output=True,
        check=False,
    ).returncode
    if code > 1:
        raise GitStateError(f"{repo} is not a git repository. Received: repo={str(repo)!r}")
    return code == 0


def travel_bytes(repo: Path) -> tuple[int, int]:
    """Bytes of what travels with every call (tracked and untracked-not-ignored files), and
    the part of it under a still tracked ``hub/``."""
    listing = _git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    total = hub = 0
    for name in {n for n in listing.decode().split("\0") if n}:
        path = repo / name
        if path.is_file() and not path.is_symlink():
            size = path.stat().st_size
            total += size
            if name.startswith(f"{HUB}/"):
                hub += size
    return total, hub


def hub_entries(repo: Path) -> bytes:
    """``git ls-files -s -z -- hub`` (empty when hub/ is not tracked)."""
    return _git(repo, "ls-files", "-s", "-z", "--", HUB)


def untrack_hub(repo: Path) -> str:
    """Untracks ``hub/`` (``git rm -r --cached``) and ignores it (``/hub/`` in info/exclude).

    The index entries are saved first, so :func:`restore_hub` puts back exactly what was
    staged (unstaged edits under hub/ stay unstaged).

    Raises:
        GitStateError: If hub/ is neither tracked nor already untracked by this command.
    """
    snapshot = _git_path(repo, HUB_SNAPSHOT)
    entries = hub_entries(repo)
    if not entries:
        if snapshot.is_file() and f"/{HUB}/" in (s.strip() for s in _exclude_lines(repo)):
            return f"{HUB}/ is already untracked and ignored; restore it with restore-hub."
        raise GitStateError(
            f"{HUB}/ is not tracked in {repo}, so there is nothing to untrack. "
            f"Received: repo={str(repo)!r}"
        )
    snapshot.write_bytes(entries)
    _git(repo, "rm", "-r", "-q", "--cached", "--", HUB)
    add_exclude_line(repo, f"/{HUB}/")
    count = entries.count(b"\0")
    return (
        f"untracked {count} files under {HUB}/ and added /{HUB}/ to info/exclude; "
        f"run restore-hub after the last device call and before any commit."
    )


def restore_hub(repo: Path) -> str:
    """Undoes :func:`untrack_hub`: removes ``/hub/`` from info/exclude and puts the saved
    index entries back (``git add hub`` when no saved entries exist)."""
    snapshot = _git_path(repo, HUB_SNAPSHOT)
    removed = remove_exclude_line(repo, f"/{HUB}/")
    if snapshot.is_file():
        _git(repo, "update-index", "-z", "--add", "--index-info", input=snapshot.read_bytes())
        snapshot.unlink()
        how = "restored the saved index entries"
    elif hub_entries(repo) and not removed:
        return f"{HUB}/ is tracked already; nothing to restore."
    else:
        _git(repo, "add", "--", HUB)
        how = f"git add {HUB}"
    untracked = _git(repo, "ls-files", "-z", "--others", "--exclude-standard", "--", HUB)
    new = [n for n in untracked.decode().split("\0") if n]
    extra = f"; {len(new)} new files under {HUB}/ are untracked (git add them)" if new else ""
    return f"{HUB}/ is tracked again ({how}; /{HUB}/ removed from info/exclude){extra}."


def check_hub(repo: Path) -> tuple[bool, str]:
    """Whether hub/ is tracked and not excluded (what must hold before any commit)."""
    tracked = bool(hub_entries(repo))
    excluded = f"/{HUB}/" in (s.strip() for s in _exclude_lines(repo))
    if tracked and not excluded:
        return True, f"{HUB}/ is tracked."
    problems = ([] if tracked else [f"{HUB}/ is not tracked"]) + (
        [f"/{HUB}/ is in info/exclude"] if excluded else []
    )
    return False, f"{' and '.join(problems)}: run `python {SCRIPT} restore-hub` before committing."


# ---------------------------------------------------------------------------------------------
# stage (here)


@dataclasses.dataclass(frozen=True)
class DeviceCall:
    """One call of the device tool: what to pass to ``run``."""

    title: str
    command: str
    carry: tuple[str, ...]
    timeout_s: int
    travel_bytes: int
    script_argv: tuple[tuple[str, ...], ...]  # this script's invocations, for the rehearsal

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "command": self.command,
            "carry": list(self.carry),
            "timeout_s": self.timeout_s,
            "travel_mib": round(self.travel_bytes / MIB, 1),
            "script_argv": [list(a) for a in self.script_argv],
        }


def write_parts(x: np.ndarray, y: np.ndarray, stage_dir: Path, parts: int) -> list[dict]:
    """Writes the training set as ``stage_dir/partK/train-K-of-N.npz``; returns their records."""
    if not isinstance(parts, int) or isinstance(parts, bool) or not 1 <= parts <= CARRY_PATHS:
        raise StageError(f"parts must be an int from 1 to {CARRY_PATHS}. Received: parts={parts!r}")
    if len(x) != len(y) or len(x) < parts:
        raise StageError(
            f"need at least one image per part and one label per image. "
            f"Received: {len(x)} images, {len(y)} labels, parts={parts}"
        )
    for old in stage_dir.glob("part*"):
        if old.is_dir():
            shutil.rmtree(old)
    records = []
    for index, chunk in enumerate(np.array_split(np.arange(len(x)), parts), start=1):
        start, stop = int(chunk[0]), int(chunk[-1]) + 1
        folder = stage_dir / f"part{index}"
        folder.mkdir(parents=True)
        path = folder / f"train-{index}-of-{parts}.npz"
        tmp = folder / f".tmp-{path.name}"
        with tmp.open("wb") as f:
            np.savez_compressed(
                f,
                images=encode_images(x[start:stop]),
                labels=np.asarray(y[start:stop]).astype(np.uint8),
                start=np.int64(start),
            )
        os.replace(tmp, path)
        records.append(
            {
                "part": index,
                "folder": f"part{index}",
                "file": f"part{index}/{path.name}",
                "start": start,
                "images": stop - start,
                "bytes": path.stat().st_size,
                "sha256": _sha256_file(path),
            }
        )
    return records


def plan_calls(
    stage_rel: str,
    records: Sequence[dict],
    *,
    tree_bytes: int,
    meta_bytes: int,
    wheels_bytes: int,
    time_budget: float,
    hard_limit: float,
    limit_bytes: int = CALL_BYTES,
    margin_bytes: int = 2 * MIB,
) -> list[DeviceCall]:
    """The device calls that carry the parts one by one and train in the last.

    Raises:
        StageError: If a call would carry more than ``limit_bytes - margin_bytes``, a
            command is too long, or the last call would run past the 600 s command limit.
    """
    timeout = int(hard_limit + 45)
    if timeout > COMMAND_SECONDS:
        raise StageError(
            f"the training call needs hard_limit + 45 s <= {COMMAND_SECONDS} s (one command's "
            f"limit); lower --time-budget/--hard-limit. Received: hard_limit={hard_limit}"
        )
    meta = f"{stage_rel}/{META_DIR}"
    calls = []
    n = len(records)
    for record in records:
        index = record["part"]
        carry = [meta, f"{stage_rel}/{record['folder']}"]
        size = tree_bytes + meta_bytes + record["bytes"]
        if index < n:
            argv = (
                "python3",
                SCRIPT,
                "device-check",
                "--stage",
                stage_rel,
                "--through",
                str(index),
            )
            command = f"nvidia-smi -L; {shlex.join(argv)}"
            title = f"call {index} of {n}: part {index} (check only)"
            argvs, seconds = (argv,), 60
        else:
            carry.append(WHEELS)
            size += wheels_bytes
            options = {
                "--stage": stage_rel,
                "--out": f"{stage_rel}/{RUNS_DIR}",
                "--time-budget": f"{time_budget:g}",
                "--hard-limit": f"{hard_limit:g}",
                "--copy-to": "$OUT",
            }
            argv = ("python3", SCRIPT, "device-train", *(x for kv in options.items() for x in kv))
            command = f'{PIP_INSTALL} && {DEVICE_ENV} && {shlex.join(argv[:-1])} "$OUT"'
            title = f"call {index} of {n}: part {index}, train, pack, copy batch 1"
            argvs, seconds = (argv,), timeout
        if size > limit_bytes - margin_bytes:
            raise StageError(
                f"{title} would carry {_mib(size)} (working tree {_mib(tree_bytes)} + parts and "
                f"files {_mib(size - tree_bytes)}), over the {_mib(limit_bytes)} a call takes "
                f"less a {_mib(margin_bytes)} margin: stage more parts (--parts {n + 1}) or "
                f"shrink the working tree. Received: parts={n}"
            )
        if len(command) > COMMAND_CHARS:
            raise StageError(
                f"{title}: the command is {len(command)} characters, over {COMMAND_CHARS}; "
                f"use a shorter --stage path. Received: stage={stage_rel!r}"
            )
        calls.append(DeviceCall(title, command, tuple(carry), seconds, size, argvs))
    return calls


def copy_call(packed_rel: str, batch: int) -> DeviceCall:
    """The follow-up call that copies batch ``batch`` of the packed runs to $OUT."""
    argv = ("python3", SCRIPT, "device-copy", "--packed", packed_rel)
    argv += ("--out-dir", "$OUT", "--batch", str(batch))
    command = f'{shlex.join(argv[:5])} --out-dir "$OUT" --batch {batch}'
    return DeviceCall(f"copy batch {batch}", command, (), 60, 0, (argv,))


def stage(
    train: tuple[np.ndarray, np.ndarray],
    *,
    plan: Path,
    stage_dir: Path,
    repo: Path = ROOT,
    parts: int = 2,
    training_data: str = "",
    time_budget: float = 450.0,
    hard_limit: float | None = None,
    exclude: bool = False,
    limit_bytes: int = CALL_BYTES,
    margin_bytes: int = 2 * MIB,
) -> dict[str, Any]:
    """Writes the stage folder and returns what ``calls.json`` holds.

    Args:
        train: ``(x_train uint8 (N, 32, 32, 3), y_train)``.
        plan: The plan file (validated with ``load_plan``).
        stage_dir: A git-ignored folder inside ``repo`` (it travels as carried paths).
        repo: The repository whose working tree travels.
        parts: How many calls carry the training set.
        training_data: How the training set is named (``describe_copy(DIR, "train")``).
        time_budget: Seconds of training on the device (``run_plan``'s budget).
        hard_limit: Seconds after which device-train stops training to pack; default
            ``time_budget + 60``.
        exclude: Add ``/<stage>/`` to the repository's ``info/exclude`` when not ignored.
        limit_bytes: What one call may carry; margin_bytes: left free below it.

    Raises:
        StageError: If the stage folder is outside the repository or not ignored, or a call
            would not fit.
        PlanError: For an invalid plan.
    """
    from keras_cifar_zoo.training.plan import load_plan

    jobs = load_plan(plan)
    repo, stage_dir = Path(repo).resolve(), Path(stage_dir).resolve()
    try:
        stage_rel = stage_dir.relative_to(repo).as_posix()
    except ValueError:
        raise StageError(
            f"the stage folder must be inside the repository ({repo}): it travels to the device "
            f"as carried paths. Received: stage={str(stage_dir)!r}"
        ) from None
    if stage_rel in (".", "") or stage_rel.startswith(f"{HUB}/"):
        raise StageError(f"pick a stage folder such as {repo / '.gpu'}. Received: {stage_rel!r}")
    if not is_ignored(repo, stage_rel):
        if not exclude:
            raise StageError(
                f"{stage_rel}/ is not ignored by git, so its ~{len(train[0]) * 3072 // MIB} MiB "
                f"would travel with every call: add it (echo '/{stage_rel}/' >> .git/info/exclude) "
                f"or pass --exclude. Received: stage={stage_rel!r}"
            )
        add_exclude_line(repo, f"/{stage_rel}/")
    hard_limit = float(time_budget) + 60.0 if hard_limit is None else float(hard_limit)
    if not 0 < time_budget < hard_limit or hard_limit + 45 > COMMAND_SECONDS:
        raise StageError(
            f"need 0 < time_budget < hard_limit <= {COMMAND_SECONDS - 45} s (the training call "
            f"runs pip, the join and the packing besides, under one command's "
            f"{COMMAND_SECONDS} s). Received: time_budget={time_budget}, hard_limit={hard_limit}"
        )
    x, y = train
    records = write_parts(np.asarray(x), np.asarray(y), stage_dir, parts)
    meta = stage_dir / META_DIR
    meta.mkdir(parents=True, exist_ok=True)
    _write_json(meta / PLAN_COPY, [job.to_dict() for job in jobs])
    record = {
        "format": 1,
        "filter": IMAGE_FILTER,
        "images": len(x),
        "train_sha256": arrays_sha256(x, y),
        "training_data": training_data or "CIFAR-10 training set given to stage",
        "parts": records,
        "time_budget": time_budget,
        "hard_limit": hard_limit,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    _write_json(meta / STAGE_FILE, record)
    tree, hub = travel_bytes(repo)
    wheels = sorted((repo / WHEELS).glob("*.whl"))
    calls = plan_calls(
        stage_rel,
        records,
        tree_bytes=tree - hub,
        meta_bytes=_tree_bytes([meta]) + 4096,  # calls.json is written after
        wheels_bytes=_tree_bytes(wheels),
        time_budget=time_budget,
        hard_limit=hard_limit,
        limit_bytes=limit_bytes,
        margin_bytes=margin_bytes,
    )
    warnings = []
    if hub:
        warnings.append(
            f"{HUB}/ ({_mib(hub)}) is still tracked: run `python {SCRIPT} untrack-hub` before "
            "the first call (the sizes above leave it out)"
        )
    if not wheels:
        warnings.append(
            f"no wheels in {WHEELS}/: download the Keras wheels for Python 3.12 "
            "(keras, namex, optree) with `pip download` (see this script's docstring)"
        )
    document = {
        "stage": stage_rel,
        "jobs": [job.id for job in jobs],
        "working_tree_mib": round((tree - hub) / MIB, 1),
        "parts": [{k: r[k] for k in ("file", "images", "bytes")} for r in records],
        "calls": [c.to_dict() for c in calls],
        "follow_up": copy_call(f"{stage_rel}/{PACKED_DIR}", 2).to_dict(),
        "warnings": warnings,
    }
    _write_json(meta / CALLS_FILE, document)
    return document


# ---------------------------------------------------------------------------------------------
# device side: check, join, train, pack, copy


def _stage_record(stage_dir: Path) -> dict[str, Any]:
    path = stage_dir / META_DIR / STAGE_FILE
    if not path.is_file():
        raise MissingPartsError(
            f"{path} is missing: carry {stage_dir.name}/{META_DIR} in the call (stage writes it). "
            f"Received: stage={str(stage_dir)!r}"
        )
    record = _read_json(path)
    if record.get("filter") != IMAGE_FILTER:
        raise StageError(
            f"{path} was written by another version of this script (filter "
            f"{record.get('filter')!r}, expected {IMAGE_FILTER!r}); stage again."
        )
    return record


def check_parts(stage_dir: Path, through: int | None = None) -> dict[str, Any]:
    """Checks that parts 1..``through`` (default: all) are present and intact.

    Raises:
        MissingPartsError: Listing every missing part and the carry path that brings it.
        IntegrityError: If a part's SHA-256 differs from the stage's record.
    """
    stage_dir = Path(stage_dir)
    record = _stage_record(stage_dir)
    wanted = [r for r in record["parts"] if through is None or r["part"] <= through]
    missing = [r for r in wanted if not (stage_dir / r["file"]).is_file()]
    if missing:
        names = ", ".join(f"part {r['part']} ({stage_dir.name}/{r['file']})" for r in missing)
        raise MissingPartsError(
            f"missing {len(missing)} of {len(record['parts'])} training-set parts: {names}. "
            "Each part arrives in its own call and stays only while the machine is warm: make "
            "the calls back to back, from call 1 (see calls.json). "
            f"Received: stage={str(stage_dir)!r}"
        )
    for r in wanted:
        if _sha256_file(stage_dir / r["file"]) != r["sha256"]:
            raise IntegrityError(
                f"{r['file']} differs from the staged file (SHA-256); it was damaged on the way "
                "or comes from another stage: stage again and redo the calls."
            )
    return record


def load_training_set(stage_dir: Path) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Joins every part into ``(x_train, y_train)`` and checks the result's SHA-256."""
    stage_dir = Path(stage_dir)
    record = check_parts(stage_dir)
    xs, ys = [], []
    for r in record["parts"]:
        with np.load(stage_dir / r["file"]) as part:
            if int(part["start"]) != sum(len(a) for a in xs):
                raise IntegrityError(f"{r['file']} starts at image {int(part['start'])}, not next")
            xs.append(decode_images(part["images"]))
            ys.append(part["labels"].astype(np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    if arrays_sha256(x, y) != record["train_sha256"]:
        raise IntegrityError(
            "the joined training set differs from the staged one (SHA-256): stage again."
        )
    return x, y, record


class _HardStop(BaseException):
    """Raised by SIGALRM to stop training in time to pack (a BaseException, so no
    ``except Exception`` on the way swallows it)."""


@contextlib.contextmanager
def _hard_limit(seconds: float | None) -> Iterator[None]:
    usable = (
        seconds is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def stop(signum: int, frame: Any) -> None:
        raise _HardStop

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, max(float(seconds), 0.001))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _mark_standin(out: Path, jobs: Sequence[Any], record: dict[str, Any], standin: int) -> None:
    """Labels the device's metrics as a stand-in measurement; drops training_data so that
    ``publish`` refuses them until ``evaluate`` has measured the test set here."""
    for job in jobs:
        path = out / job.id / "metrics.json"
        if not path.is_file():
            continue
        metrics = _read_json(path)
        if "device_check" in metrics:
            continue
        metrics["device_check"] = {
            "accuracy": metrics["accuracy"],
            "loss": metrics.get("loss"),
            "num_images": metrics.get("num_images"),
            "data": f"the first {standin:,} training images (a stand-in: not a test measurement)",
        }
        metrics["data"] = "STAND-IN (training images): run `gpu_plan_run.py evaluate` here"
        metrics["test_accuracy_pending"] = True
        metrics["staged_training_data"] = record["training_data"]
        metrics["training_data_sha256"] = record["train_sha256"]
        metrics.pop("training_data", None)
        _write_json(path, metrics)


def device_train(
    stage_dir: Path,
    out: Path,
    *,
    time_budget: float,
    hard_limit: float | None = None,
    copy_to: Path | None = None,
    standin_images: int = STANDIN_IMAGES,
    part_bytes: int = 15 * MIB,
    batch_files: int = RETURN_FILES - 1,
    batch_bytes: int = 60 * MIB,
    verbose: int | str = 2,
) -> dict[str, Any]:
    """Joins the parts, runs the staged plan under the budget, packs the outputs.

    Args:
        stage_dir: The stage folder as carried (``meta/`` and every ``partK/``).
        out: ``run_plan``'s output folder.
        time_budget: ``run_plan``'s budget in seconds.
        hard_limit: Seconds from the start of this function after which training is
            interrupted (SIGALRM) and the outputs are packed; default ``time_budget + 60``.
        copy_to: Copy batch 1 of the packed runs there (``$OUT``).
        standin_images: Training images used as run_plan's test split on the device.
        part_bytes, batch_files, batch_bytes: See :func:`pack_runs`.
        verbose: Keras ``fit`` verbosity.

    Returns:
        ``{"summary": rows, "packed": manifest, "hard_stop": bool, "copied": [...]}``.

    Raises:
        MissingPartsError, IntegrityError: Before training, for missing or damaged parts.
    """
    started = time.perf_counter()
    stage_dir, out = Path(stage_dir), Path(out)
    x, y, record = load_training_set(stage_dir)

    from keras_cifar_zoo.training.plan import load_plan, run_plan, write_summary

    jobs = load_plan(stage_dir / META_DIR / PLAN_COPY)
    standin = (x[:standin_images], y[:standin_images])
    hard_limit = float(time_budget) + 60.0 if hard_limit is None else float(hard_limit)
    hard_stop = False
    try:
        with _hard_limit(hard_limit - (time.perf_counter() - started)):
            run_plan(jobs, out, time_budget=time_budget, data=((x, y), standin), verbose=verbose)
    except _HardStop:
        hard_stop = True
    finally:  # whatever happened, what finished comes back
        out.mkdir(parents=True, exist_ok=True)
        if (out / "plan.json").is_file():
            _mark_standin(out, jobs, record, len(standin[0]))
            rows = [dataclasses.asdict(r) for r in write_summary(jobs, out)]
        else:
            rows = []
        manifest = pack_runs(
            out,
            stage_dir / PACKED_DIR,
            part_bytes=part_bytes,
            batch_files=batch_files,
            batch_bytes=batch_bytes,
        )
        copied = copy_batch(stage_dir / PACKED_DIR, copy_to, 1) if copy_to else []
    return {"summary": rows, "packed": manifest, "hard_stop": hard_stop, "copied": copied}


def pack_runs(
    out: Path,
    packed: Path,
    *,
    part_bytes: int = 15 * MIB,
    batch_files: int = RETURN_FILES - 1,
    batch_bytes: int = 60 * MIB,
) -> dict[str, Any]:
    """Packs every job's outputs into ``packed/runs.tar.NNN-of-MMM`` plus ``packed.json``.

    Packed: ``summary.json``, ``plan.json`` and, per job, ``metrics.json``,
    ``model.weights.h5``, ``timing.json``, ``checkpoint/history.csv`` and
    ``checkpoint/state.json`` where present. Batches (what one call copies to $OUT with the
    manifest) hold at most ``batch_files`` parts and ``batch_bytes`` bytes.
    """
    if not 0 < part_bytes <= RETURN_FILE_BYTES:
        raise StageError(f"part_bytes must be in (0, 16 MiB]. Received: {part_bytes}")
    if (
        not 1 <= batch_files <= RETURN_FILES - 1
        or not part_bytes <= batch_bytes <= RETURN_BYTES - MIB
    ):
        raise StageError(
            f"a batch holds 1 to {RETURN_FILES - 1} parts (plus {PACKED_MANIFEST}) and at least "
            f"one part, at most 63 MiB. Received: batch_files={batch_files}, "
            f"batch_bytes={batch_bytes}, part_bytes={part_bytes}"
        )
    out, packed = Path(out), Path(packed)
    if packed.exists():
        shutil.rmtree(packed)
    packed.mkdir(parents=True)
    names = [n for n in ("summary.json", "plan.json") if (out / n).is_file()]
    jobs: dict[str, str] = {}
    summary = _read_json(out / "summary.json") if (out / "summary.json").is_file() else {}
    for row in summary.get("jobs", []):
        jobs[row["id"]] = row["state"]
        names += [f"{row['id']}/{f}" for f in JOB_FILES if (out / row["id"] / f).is_file()]
    tar_path = packed / "runs.tar"
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            tar.add(out / name, arcname=name, recursive=False)
    size = tar_path.stat().st_size
    count = max(1, -(-size // part_bytes))
    if count > 999:
        raise StageError(f"{_mib(size)} of outputs make more than 999 parts; raise part_bytes")
    parts = []
    with tar_path.open("rb") as src:
        for i in range(1, count + 1):
            name = f"runs.tar.{i:03d}-of-{count:03d}"
            data = src.read(part_bytes)
            (packed / name).write_bytes(data)
            parts.append(
                {"name": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            )
    manifest = {
        "format": 1,
        "tar_bytes": size,
        "tar_sha256": _sha256_file(tar_path),
        "files": names,
        "jobs": jobs,
        "parts": parts,
        "batches": _batches(parts, batch_files, batch_bytes),
    }
    tar_path.unlink()
    _write_json(packed / PACKED_MANIFEST, manifest)
    return manifest


def _batches(parts: Sequence[dict], max_files: int, max_bytes: int) -> list[list[str]]:
    batches: list[list[str]] = [[]]
    used = 0
    for part in parts:
        if batches[-1] and (len(batches[-1]) == max_files or used + part["bytes"] > max_bytes):
            batches.append([])
            used = 0
        batches[-1].append(part["name"])
        used += part["bytes"]
    return batches


def copy_batch(packed: Path, out_dir: Path, batch: int) -> list[str]:
    """Copies batch ``batch`` (1-based) of the packed parts and ``packed.json`` to ``out_dir``."""
    packed, out_dir = Path(packed), Path(out_dir)
    path = packed / PACKED_MANIFEST
    if not path.is_file():
        raise MissingPartsError(
            f"{path} is missing: device-train packs the runs first, on this same warm machine. "
            f"Received: packed={str(packed)!r}"
        )
    batches = _read_json(path)["batches"]
    if not isinstance(batch, int) or not 1 <= batch <= len(batches):
        raise StageError(f"batch must be 1 to {len(batches)}. Received: batch={batch!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [*batches[batch - 1], PACKED_MANIFEST]
    for name in names:
        shutil.copyfile(packed / name, out_dir / name)
    return names


# ---------------------------------------------------------------------------------------------
# here, after the window: unpack, evaluate


def _check_member(member: tarfile.TarInfo) -> PurePosixPath:
    name = member.name
    path = PurePosixPath(name)
    if (
        not name
        or name.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:", name)
        or "\\" in name
        or ".." in path.parts
    ):
        raise UnsafeArchiveError(
            f"refusing the archive: member {name!r} is an absolute path or climbs out of the "
            "destination with '..'; nothing was extracted. Received: member={name!r}"
        )
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(
            f"refusing the archive: member {name!r} is not a plain file or folder (links and "
            f"devices are never extracted); nothing was extracted. Received: type={member.type!r}"
        )
    return path


def unpack(part_dirs: Sequence[Path], dest: Path, *, overwrite: bool = False) -> list[str]:
    """Joins the parts returned by the device calls and extracts the runs into ``dest``.

    Args:
        part_dirs: The folders the calls' files landed in (each holds ``packed.json``).
        dest: Folder to extract into (new or empty unless ``overwrite``).
        overwrite: Extract into a folder that holds files already.

    Returns:
        The extracted file names.

    Raises:
        MissingPartsError: For parts (or packed.json) not found in ``part_dirs``.
        DuplicatePartsError: For a part found twice.
        IntegrityError: For a damaged part or manifests of different device runs.
        UnsafeArchiveError: For an absolute path, '..', a link or a device in the archive.
    """
    manifests: dict[str, Path] = {}
    found: dict[str, list[Path]] = {}
    for folder in map(Path, part_dirs):
        if not folder.is_dir():
            raise MissingPartsError(f"{folder} is not a folder. Received: parts={str(folder)!r}")
        if (folder / PACKED_MANIFEST).is_file():
            manifests.setdefault(_sha256_file(folder / PACKED_MANIFEST), folder / PACKED_MANIFEST)
        for path in sorted(folder.iterdir()):
            if PART_NAME.match(path.name):
                found.setdefault(path.name, []).append(path)
    if not manifests:
        raise MissingPartsError(
            f"no {PACKED_MANIFEST} in {', '.join(map(str, part_dirs))}: every batch copied by "
            "device-train or device-copy comes with it."
        )
    if len(manifests) > 1:
        raise IntegrityError(
            f"the folders hold {PACKED_MANIFEST} files of different device runs: "
            f"{', '.join(map(str, manifests.values()))}; pass the folders of one run."
        )
    manifest = _read_json(next(iter(manifests.values())))
    expected = {p["name"]: p for p in manifest["parts"]}
    doubles = {n: ps for n, ps in found.items() if len(ps) > 1}
    if doubles:
        listed = "; ".join(
            f"{n} in {', '.join(str(p.parent) for p in ps)}" for n, ps in doubles.items()
        )
        raise DuplicatePartsError(
            f"parts given twice: {listed}. Pass each call's folder once. "
            f"Received: parts={[str(p) for p in part_dirs]}"
        )
    strangers = sorted(set(found) - set(expected))
    if strangers:
        raise IntegrityError(
            f"parts that {PACKED_MANIFEST} does not list (from another run?): {strangers}"
        )
    missing = [n for n in expected if n not in found]
    if missing:
        batches = sorted(
            {i for i, b in enumerate(manifest["batches"], 1) for n in b if n in missing}
        )
        raise MissingPartsError(
            f"missing {len(missing)} of {len(expected)} parts: {', '.join(missing)} (batches "
            f"{batches}: device-copy --batch K on the same warm machine). "
            f"Received: parts={[str(p) for p in part_dirs]}"
        )
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()) and not overwrite:
        raise StageError(
            f"{dest} holds files already; pass a new or empty folder, or --overwrite. "
            f"Received: dest={str(dest)!r}"
        )
    with tempfile.TemporaryFile() as joined:
        digest = hashlib.sha256()
        for name in expected:
            data = found[name][0].read_bytes()
            if hashlib.sha256(data).hexdigest() != expected[name]["sha256"]:
                raise IntegrityError(
                    f"{found[name][0]} is damaged (SHA-256 differs); copy it again"
                )
            digest.update(data)
            joined.write(data)
        if digest.hexdigest() != manifest["tar_sha256"]:
            raise IntegrityError("the joined parts differ from the packed archive (SHA-256)")
        joined.seek(0)
        with tarfile.open(fileobj=joined, mode="r:") as tar:
            members = tar.getmembers()
            paths = [_check_member(m) for m in members]  # all checked before anything is written
            written = []
            for member, path in zip(members, paths, strict=True):
                target = dest.joinpath(*path.parts)
                if member.isdir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                handle = tar.extractfile(member)
                assert handle is not None  # a regular file (checked above)
                tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
                with tmp.open("wb") as f:
                    shutil.copyfileobj(handle, f)
                os.replace(tmp, target)
                written.append(path.as_posix())
    return written


def evaluate_runs(runs: Path, data_dir: Path) -> list[dict[str, Any]]:
    """Measures every finished job of ``runs`` on the real test set and rewrites its metrics.

    Writes ``accuracy``, ``loss``, ``num_images``, ``data`` (``describe_copy(data_dir)``)
    and ``training_data`` (``describe_copy(data_dir, "train")``) into each job's
    ``metrics.json``, which ``keras-cifar-zoo publish --run-info`` then takes, and rewrites
    ``summary.json``.

    Returns:
        One row per job: id, model, state, epochs, accuracy, loss and the effective training
        TFLOP/s on the device (from ``timing.json``'s last epoch and the FLOP count).

    Raises:
        IntegrityError: If the runs were trained on another training set than ``data_dir``'s,
            or a finished job lacks its weights.
    """
    import keras

    from keras_cifar_zoo import evaluate
    from keras_cifar_zoo.data import describe_copy, load_cifar10
    from keras_cifar_zoo.profiling import count_flops
    from keras_cifar_zoo.registry import build_model
    from keras_cifar_zoo.training.plan import hardware_description, load_plan, write_summary
    from keras_cifar_zoo.training.recipes import get_recipe
    from keras_cifar_zoo.weights import resolve_weights
    from keras_cifar_zoo.weights.loading import load_checkpoint

    runs = Path(runs)
    jobs = load_plan(runs / "plan.json")
    (x_train, y_train), test = load_cifar10(data_dir, download=False)
    train_sha = arrays_sha256(x_train, y_train)
    test_label, train_label = describe_copy(data_dir), describe_copy(data_dir, "train")
    here = f"keras_cifar_zoo.evaluate, Keras {keras.__version__} ({keras.backend.backend()})"
    rows = []
    for job in jobs:
        folder = runs / job.id
        path = folder / "metrics.json"
        row: dict[str, Any] = {"id": job.id, "model": job.model, "tflops": None}
        timing = _read_json(folder / "timing.json") if (folder / "timing.json").is_file() else {}
        if not timing and not path.is_file():
            rows.append(row)  # pending: never started
            continue
        recipe = get_recipe(job.recipe)
        source = resolve_weights(job.model, recipe.initial_weights)
        model = build_model(job.model, preprocessing=source and source.preprocessing)
        if timing.get("epoch_seconds"):
            images = min(job.train_images or len(x_train), len(x_train))
            flops = count_flops(model).training_step * images
            row["tflops"] = round(flops / float(timing["epoch_seconds"]) / 1e12, 2)
        if not path.is_file():
            keras.backend.clear_session()
            rows.append(row)
            continue
        metrics = _read_json(path)
        recorded = metrics.get("training_data_sha256")
        if recorded and recorded != train_sha:
            raise IntegrityError(
                f"{job.id} was trained on another training set than {data_dir}'s (SHA-256 "
                f"{recorded[:12]}... vs {train_sha[:12]}...): pass the data folder that was "
                f"staged, or the labels would be wrong. Received: data_dir={str(data_dir)!r}"
            )
        if not (folder / "model.weights.h5").is_file():
            raise IntegrityError(f"{job.id} has metrics.json but no model.weights.h5")
        load_checkpoint(model, folder / "model.weights.h5")
        result = evaluate(model, data=test)
        metrics.update(
            accuracy=float(result["accuracy"]),
            loss=float(result["loss"]),
            num_images=int(result["num_images"]),
            data=test_label,
            training_data=train_label,
            measured_with=f"{here} on {hardware_description()}",
        )
        metrics.pop("test_accuracy_pending", None)
        _write_json(path, metrics)
        keras.backend.clear_session()
        rows.append(row)
    states = {r.id: r for r in write_summary(jobs, runs)}
    for row in rows:
        status = states[row["id"]]
        row.update(
            state=status.state,
            epochs=f"{status.epochs_done}/{status.epochs}",
            accuracy=status.accuracy,
        )
    return rows


# ---------------------------------------------------------------------------------------------
# budget (here, before staging)


def estimate_budget(
    jobs: Sequence[Any],
    *,
    tflops: float,
    seconds: float,
    step_ms: float = 0.0,
    train_images: int = 50_000,
) -> list[dict[str, Any]]:
    """Estimated training seconds of each job from its FLOP count.

    An epoch takes ``training-step FLOPs/image (3 x forward) x images / (tflops x 1e12)``
    plus ``step_ms`` per step (the launch and host overhead that bounds small models); the
    rows say which jobs fit ``seconds`` in plan order. Small CIFAR models reach far less than
    a large GPU's peak: calibrate ``tflops`` with the ``TFLOP/s`` column that ``evaluate``
    prints after a first window.
    """
    import keras

    from keras_cifar_zoo.profiling import count_flops
    from keras_cifar_zoo.registry import build_model
    from keras_cifar_zoo.training.recipes import get_recipe

    if not tflops > 0 or not seconds > 0 or not step_ms >= 0:
        raise StageError(
            f"tflops and seconds must be > 0, step_ms >= 0. "
            f"Received: tflops={tflops}, seconds={seconds}, step_ms={step_ms}"
        )
    rows, total = [], 0.0
    for job in jobs:
        recipe = get_recipe(job.recipe)
        epochs = job.epochs or recipe.epochs
        images = min(job.train_images or train_images, train_images)
        steps = -(-images // (job.batch_size or recipe.batch_size))
        per_image = count_flops(build_model(job.model)).training_step
        keras.backend.clear_session()
        epoch_s = per_image * images / (tflops * 1e12) + steps * step_ms / 1e3
        total += epoch_s * epochs
        rows.append(
            {
                "id": job.id,
                "epochs": epochs,
                "gflops_per_image": round(per_image / 1e9, 3),
                "epoch_s": round(epoch_s, 2),
                "seconds": round(epoch_s * epochs, 1),
                "cumulative_s": round(total, 1),
                "fits": total <= seconds,
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------
# command line


def _print_calls(document: dict[str, Any]) -> None:
    for call in document["calls"]:
        print(f"\n{call['title']} ({call['travel_mib']} MiB travels, of 64):")
        print(f"  carry:     {json.dumps(call['carry'])}")
        print(f"  timeout_s: {call['timeout_s']}")
        print(f"  command:   {call['command']}")
    follow = document["follow_up"]
    print(
        "\nonly if the training call prints more batches, for K = 2..B, back to back:\n"
        f"  carry: [], timeout_s: {follow['timeout_s']}, command: "
        f"{follow['command'].replace('--batch 2', '--batch K')}"
    )


def _cmd_stage(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.data import describe_copy, load_cifar10

    train, _ = load_cifar10(args.data_dir, download=False)
    try:
        label = describe_copy(args.data_dir, "train")
    except Exception:  # an archive rather than a folder: describe what was given
        label = f"CIFAR-10 training set from {args.data_dir}"
    document = stage(
        train,
        plan=args.plan,
        stage_dir=args.stage,
        repo=args.repo,
        parts=args.parts,
        training_data=label,
        time_budget=args.time_budget,
        hard_limit=args.hard_limit,
        exclude=args.exclude,
    )
    print(f"staged {len(train[0]):,} training images of {label}")
    for part in document["parts"]:
        print(f"  {part['file']}: {part['images']:,} images, {_mib(part['bytes'])}")
    print(f"working tree that travels with every call: {document['working_tree_mib']} MiB")
    seconds = sum(c["timeout_s"] for c in document["calls"])
    print(
        f"device time at worst: the machine's start (1-2 min) + {seconds} s of calls + 60 s per "
        "extra batch + the gaps between calls (each under 30 s), of the 15 minutes"
    )
    print(f"jobs: {', '.join(document['jobs'])}")
    _print_calls(document)
    for warning in document["warnings"]:
        print(f"\nWARNING: {warning}")
    print(f"\nthe calls are also in {Path(args.stage) / META_DIR / CALLS_FILE}")
    return 0


def _cmd_device_check(args: argparse.Namespace) -> int:
    record = check_parts(args.stage, args.through)
    done = [r for r in record["parts"] if args.through is None or r["part"] <= args.through]
    for r in done:
        print(f"part {r['part']} of {len(record['parts'])}: {r['images']:,} images, intact")
    return 0


def _cmd_device_train(args: argparse.Namespace) -> int:
    result = device_train(
        args.stage,
        args.out,
        time_budget=args.time_budget,
        hard_limit=args.hard_limit,
        copy_to=args.copy_to,
        part_bytes=int(args.part_mib * MIB),
        verbose=args.verbose,
    )
    if result["hard_stop"]:
        print("hard limit reached: training was interrupted to pack what was saved")
    print("\njob states (accuracy: STAND-IN on the first 1,000 training images; the test")
    print("accuracy is measured on this project's machine by `evaluate` afterwards):")
    width = max([len(row["id"]) for row in result["summary"]] + [3])
    for row in result["summary"]:
        accuracy = "" if row["accuracy"] is None else f"  stand-in {row['accuracy']:.4f}"
        epochs = f"{row['epochs_done']}/{row['epochs']}"
        print(f"  {row['id']:<{width}} {row['state']:<8} {epochs:>7}{accuracy}")
    packed = result["packed"]
    batches = packed["batches"]
    size, parts = _mib(packed["tar_bytes"]), len(packed["parts"])
    print(f"packed {len(packed['files'])} files, {size}, in {parts} parts, {len(batches)} batches")
    if result["copied"]:
        print(f"batch 1 copied to {args.copy_to}: {', '.join(result['copied'])}")
    packed_rel = Path(args.stage) / PACKED_DIR
    for k in range(2 if result["copied"] else 1, len(batches) + 1):
        call = copy_call(packed_rel.as_posix(), k)
        print(f"NEXT CALL, back to back: carry=[], timeout_s={call.timeout_s}, {call.command}")
    return 0


def _cmd_device_copy(args: argparse.Namespace) -> int:
    names = copy_batch(args.packed, args.out_dir, args.batch)
    print(f"copied batch {args.batch} to {args.out_dir}: {', '.join(names)}")
    return 0


def _cmd_unpack(args: argparse.Namespace) -> int:
    names = unpack(args.parts, args.dest, overwrite=args.overwrite)
    print(f"unpacked {len(names)} files into {args.dest}")
    print(f"next: python {SCRIPT} evaluate --runs {args.dest} --data-dir DATA")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    rows = evaluate_runs(args.runs, args.data_dir)
    width = max([len(row["id"]) for row in rows] + [3])
    print(f"{'job':<{width}} {'state':<8} {'epochs':>7} {'test acc':>8} {'TFLOP/s':>8}")
    for row in rows:
        accuracy = "" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
        tflops = "" if row["tflops"] is None else f"{row['tflops']:.1f}"
        print(
            f"{row['id']:<{width}} {row['state']:<8} {row['epochs']:>7} {accuracy:>8} {tflops:>8}"
        )
    for row in rows:
        if row["state"] == "done":
            folder = Path(args.runs) / row["id"]
            print(
                f"keras-cifar-zoo publish {row['model']} --checkpoint {folder}/model.weights.h5 "
                f"--run-info {folder}/metrics.json --data-dir {args.data_dir} --tag TAG"
            )
    return 0


def _cmd_budget(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.training.plan import load_plan

    jobs = load_plan(args.plan)
    rows = estimate_budget(jobs, tflops=args.tflops, seconds=args.seconds, step_ms=args.step_ms)
    columns = {"gflops_per_image": "GFLOP/img", "epochs": "epochs", "epoch_s": "s/epoch"}
    columns |= {"seconds": "seconds", "cumulative_s": "total"}
    width = max([len(r["id"]) for r in rows] + [3])
    print(
        f"at {args.tflops:g} TFLOP/s effective + {args.step_ms:g} ms a step, in {args.seconds:g} s:"
    )
    print(f"{'job':<{width}} " + " ".join(f"{h:>9}" for h in columns.values()))
    for r in rows:
        mark = "" if r["fits"] else "  does not fit"
        print(f"{r['id']:<{width}} " + " ".join(f"{r[k]:>9}" for k in columns) + mark)
    total = rows[-1]["cumulative_s"] if rows else 0.0
    if total > args.seconds:
        print(f"the plan needs {total:g} s: scale its epochs by {args.seconds / total:.2f} or less")
    return 0


def _cmd_hub(args: argparse.Namespace) -> int:
    if args.command == "check-hub":
        ok, message = check_hub(args.repo)
        print(message, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    action = untrack_hub if args.command == "untrack-hub" else restore_hub
    print(action(args.repo))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring for the order of the subcommands)."""
    parser = argparse.ArgumentParser(prog="gpu_plan_run.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("budget", help="estimated H200 seconds of each job from its FLOPs")
    p.add_argument("--plan", type=Path, required=True)
    p.add_argument("--seconds", type=float, default=450.0, help="training seconds available")
    p.add_argument("--tflops", type=float, default=100.0, help="effective TFLOP/s assumed")
    p.add_argument("--step-ms", type=float, default=0.0, help="overhead per step, ms")
    p.set_defaults(handler=_cmd_budget)

    p = sub.add_parser("stage", help="write the training-set parts and print the device calls")
    p.add_argument("--data-dir", type=Path, required=True, help="folder holding the batches")
    p.add_argument("--plan", type=Path, required=True)
    p.add_argument("--stage", type=Path, default=ROOT / ".gpu", help="git-ignored folder")
    p.add_argument("--parts", type=int, default=2, help="calls that carry the training set")
    p.add_argument("--repo", type=Path, default=ROOT, help="repository that travels")
    p.add_argument("--time-budget", type=float, default=450.0, help="training seconds there")
    p.add_argument("--hard-limit", type=float, help="stop training to pack (default budget+60)")
    p.add_argument("--exclude", action="store_true", help="add /STAGE/ to .git/info/exclude")
    p.set_defaults(handler=_cmd_stage)

    for name, helptext in (
        ("untrack-hub", "untrack hub/ and add /hub/ to .git/info/exclude"),
        ("restore-hub", "track hub/ again and remove /hub/ from .git/info/exclude"),
        ("check-hub", "exit 1 unless hub/ is tracked and not excluded"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--repo", type=Path, default=ROOT)
        p.set_defaults(handler=_cmd_hub)

    p = sub.add_parser("device-check", help="(device) check that parts 1..K arrived intact")
    p.add_argument("--stage", type=Path, required=True)
    p.add_argument("--through", type=int, help="check parts 1..K (default: all)")
    p.set_defaults(handler=_cmd_device_check)

    p = sub.add_parser("device-train", help="(device) join, train the plan, pack the outputs")
    p.add_argument("--stage", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="run_plan's output folder")
    p.add_argument("--time-budget", type=float, required=True, help="training seconds")
    p.add_argument("--hard-limit", type=float, help="interrupt training (default budget+60)")
    p.add_argument("--copy-to", type=Path, help="copy batch 1 there ($OUT)")
    p.add_argument("--part-mib", type=float, default=15.0, help="size of a packed part")
    p.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity")
    p.set_defaults(handler=_cmd_device_train)

    p = sub.add_parser("device-copy", help="(device) copy batch K of the packed parts")
    p.add_argument("--packed", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.set_defaults(handler=_cmd_device_copy)

    p = sub.add_parser("unpack", help="join the returned parts and extract the runs")
    p.add_argument("--parts", type=Path, nargs="+", required=True, help="the calls' folders")
    p.add_argument("--dest", type=Path, required=True)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(handler=_cmd_unpack)

    p = sub.add_parser("evaluate", help="measure finished jobs on the test set here")
    p.add_argument("--runs", type=Path, required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.set_defaults(handler=_cmd_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one subcommand; returns the exit status (2 for a refused input)."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except GpuRunError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        # The package's own errors (PlanError, DatasetNotFoundError, ...) are refused inputs
        # too; matched by name, so device-check never imports the package (nor Keras).
        if any(c.__name__ == "ZooError" for c in type(exc).__mro__):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    if str(ROOT) not in sys.path:  # run as a file: the package is beside the scripts folder
        sys.path.insert(0, str(ROOT))
    sys.exit(main())
