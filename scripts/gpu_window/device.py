"""The device side: check the parts, join them, train the plan, pack and copy the outputs."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import shutil
import signal
import tarfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from gpu_window.common import (
    IMAGE_FILTER,
    JOB_FILES,
    META_DIR,
    MIB,
    PACKED_DIR,
    PACKED_MANIFEST,
    PLAN_COPY,
    RETURN_BYTES,
    RETURN_FILE_BYTES,
    RETURN_FILES,
    STAGE_FILE,
    STANDIN_IMAGES,
    MissingPartsError,
    StageError,
    arrays_sha256,
    mib,
    read_json,
    sha256_file,
    write_json,
)
from gpu_window.images import decode_images
from keras_cifar_zoo.errors import IntegrityError


def _stage_record(stage_dir: Path) -> dict[str, Any]:
    path = stage_dir / META_DIR / STAGE_FILE
    if not path.is_file():
        raise MissingPartsError(
            f"{path} is missing: carry {stage_dir.name}/{META_DIR} in the call (stage writes it). "
            f"Received: stage={str(stage_dir)!r}"
        )
    record = read_json(path)
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
        if sha256_file(stage_dir / r["file"]) != r["sha256"]:
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


def _mark_standin(out: Path, jobs: Sequence[Any], stage: dict[str, Any], standin: int) -> None:
    """Turns the device's measurements into stand-ins (they are on training images), which
    ``publish`` refuses until ``evaluate`` has measured the test set here; keeps a copy of
    them as ``device_check`` and records which training set was staged."""
    from keras_cifar_zoo.training import run_record
    from keras_cifar_zoo.training.run_record import StandInMeasurement

    for job in jobs:
        path = out / job.id / run_record.METRICS_FILE
        record = run_record.read(path)
        if record is None or isinstance(record.measurement, StandInMeasurement):
            continue
        numbers = dataclasses.asdict(record.measurement)
        images = f"the first {standin:,} training images (a stand-in: not a test measurement)"
        extra = dict(record.extra) | {
            "device_check": numbers | {"data": images},
            "training_data_sha256": stage["train_sha256"],
        }
        record = record.replace(
            measurement=StandInMeasurement(**numbers),
            data="STAND-IN (training images): run `gpu_plan_run.py evaluate` here",
            training_data=stage["training_data"],
            extra=extra,
        )
        run_record.write(record, path)


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
    summary = read_json(out / "summary.json") if (out / "summary.json").is_file() else {}
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
        raise StageError(f"{mib(size)} of outputs make more than 999 parts; raise part_bytes")
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
        "tar_sha256": sha256_file(tar_path),
        "files": names,
        "jobs": jobs,
        "parts": parts,
        "batches": _batches(parts, batch_files, batch_bytes),
    }
    tar_path.unlink()
    write_json(packed / PACKED_MANIFEST, manifest)
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
    batches = read_json(path)["batches"]
    if not isinstance(batch, int) or not 1 <= batch <= len(batches):
        raise StageError(f"batch must be 1 to {len(batches)}. Received: batch={batch!r}")
    out_dir.mkdir(parents=True, exist_ok=True)
    names = [*batches[batch - 1], PACKED_MANIFEST]
    for name in names:
        shutil.copyfile(packed / name, out_dir / name)
    return names
