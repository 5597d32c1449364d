"""``stage`` (here, before the window): the training set in parts, the plan, the calls."""

from __future__ import annotations

import dataclasses
import datetime
import os
import shlex
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gpu_window.common import (
    CALL_BYTES,
    CALLS_FILE,
    CARRY_PATHS,
    COMMAND_CHARS,
    COMMAND_SECONDS,
    DEVICE_ENV,
    HUB,
    IMAGE_FILTER,
    META_DIR,
    MIB,
    PACKED_DIR,
    PIP_INSTALL,
    PLAN_COPY,
    ROOT,
    RUNS_DIR,
    SCRIPT,
    STAGE_FILE,
    WHEELS,
    StageError,
    arrays_sha256,
    mib,
    sha256_file,
    tree_bytes,
    write_json,
)
from gpu_window.git_hub import add_exclude_line, is_ignored, travel_bytes
from gpu_window.images import encode_images


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
                "sha256": sha256_file(path),
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
                f"{title} would carry {mib(size)} (working tree {mib(tree_bytes)} + parts and "
                f"files {mib(size - tree_bytes)}), over the {mib(limit_bytes)} a call takes "
                f"less a {mib(margin_bytes)} margin: stage more parts (--parts {n + 1}) or "
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
    write_json(meta / PLAN_COPY, [job.to_dict() for job in jobs])
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
    write_json(meta / STAGE_FILE, record)
    tree, hub = travel_bytes(repo)
    wheels = sorted((repo / WHEELS).glob("*.whl"))
    calls = plan_calls(
        stage_rel,
        records,
        tree_bytes=tree - hub,
        meta_bytes=tree_bytes([meta]) + 4096,  # calls.json is written after
        wheels_bytes=tree_bytes(wheels),
        time_budget=time_budget,
        hard_limit=hard_limit,
        limit_bytes=limit_bytes,
        margin_bytes=margin_bytes,
    )
    warnings = []
    if hub:
        warnings.append(
            f"{HUB}/ ({mib(hub)}) is still tracked: run `python {SCRIPT} untrack-hub` before "
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
    write_json(meta / CALLS_FILE, document)
    return document
