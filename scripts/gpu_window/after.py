"""Here, after the window: unpack the returned parts, measure the jobs on the test set."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from gpu_window.common import (
    PACKED_MANIFEST,
    PART_NAME,
    DuplicatePartsError,
    MissingPartsError,
    StageError,
    UnsafeArchiveError,
    arrays_sha256,
    read_json,
    sha256_file,
)
from keras_cifar_zoo.errors import IntegrityError


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
            manifests.setdefault(sha256_file(folder / PACKED_MANIFEST), folder / PACKED_MANIFEST)
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
    manifest = read_json(next(iter(manifests.values())))
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

    from keras_cifar_zoo.data import describe_copy, load_cifar10
    from keras_cifar_zoo.profiling import count_flops
    from keras_cifar_zoo.registry import build_model
    from keras_cifar_zoo.training import run_record
    from keras_cifar_zoo.training.plan import load_plan, write_summary
    from keras_cifar_zoo.training.run_record import hardware_description

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
        timing = read_json(folder / "timing.json") if (folder / "timing.json").is_file() else {}
        if not timing and not path.is_file():
            rows.append(row)  # pending: never started
            continue
        if timing.get("epoch_seconds"):
            images = min(job.train_images or len(x_train), len(x_train))
            flops = count_flops(build_model(job.model)).training_step * images
            row["tflops"] = round(flops / float(timing["epoch_seconds"]) / 1e12, 2)
        record = run_record.read(path)
        if record is None:
            keras.backend.clear_session()
            rows.append(row)
            continue
        recorded = record.extra.get("training_data_sha256")
        if recorded and recorded != train_sha:
            raise IntegrityError(
                f"{job.id} was trained on another training set than {data_dir}'s (SHA-256 "
                f"{recorded[:12]}... vs {train_sha[:12]}...): pass the data folder that was "
                f"staged, or the labels would be wrong. Received: data_dir={str(data_dir)!r}"
            )
        if not (folder / run_record.WEIGHTS_FILE).is_file():
            raise IntegrityError(f"{job.id} has metrics.json but no model.weights.h5")
        model = run_record.rebuild(
            job.model, folder / run_record.WEIGHTS_FILE, recipe=job.recipe, dataset=job.dataset
        )
        record = record.replace(
            measurement=run_record.measure(model, test),
            data=test_label,
            training_data=train_label,
            extra=dict(record.extra) | {"measured_with": f"{here} on {hardware_description()}"},
        )
        run_record.write(record, path)
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
