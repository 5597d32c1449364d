"""Training plans: many ``fit_cifar10`` jobs under one wall-clock budget, resumable by rerunning.

A plan is a JSON list of jobs (``model``, ``recipe``, ``seed``; optional ``epochs``,
``batch_size``, ``precision``, ``train_images`` for smoke runs, ``id``). :func:`run_plan` runs
them in order in ``out/<job id>/``: each job checkpoints every epoch through ``fit_cifar10``,
so a stop at any point loses at most the epoch in progress, and a rerun of the same plan
resumes unfinished jobs and skips finished ones; the plan may gain jobs between runs, but the
jobs a folder records keep their settings. One ``run_plan`` at a time writes to a folder (an
OS lock, released when its process ends, even killed). Before each epoch the engine compares
the time left with the job's measured epoch time; an epoch with no measurement yet is timed
over its first steps and projected. A job whose epoch would not fit stops cleanly, a few steps
in at most, and stays resumable from its last completed epoch. A finished job leaves what
``keras-cifar-zoo publish`` takes: float16 weights, ``metrics.json`` (final-epoch test
accuracy from :func:`evaluate`, epochs, the number of training images used as
``train_images``, wall time of every call, hardware, backend, precision, data) and the
per-epoch ``history.csv``. ``out/summary.json`` lists every job's state: ``done``,
``partial``, ``pending`` or ``failed`` (the job raised, diverging or otherwise: the error is in
``failed.json``; the other jobs still run, and a rerun skips it until that file is deleted).
A full disk or an unwritable folder stops the whole call instead, as every later job would
hit it too.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras

from keras_cifar_zoo.data import DATASETS, SPLITS
from keras_cifar_zoo.errors import (
    CheckpointBusyError,
    CheckpointWriteError,
    PlanError,
    ZooError,
)
from keras_cifar_zoo.training import run_record
from keras_cifar_zoo.training.checkpoints import LOCK_FILE, hold_folder, make_folder, write_error
from keras_cifar_zoo.training.run_record import (
    METRICS_FILE,
    WEIGHTS_FILE,
    RunRecord,
)

logger = logging.getLogger(__name__)

PLAN_FILE = "plan.json"
SUMMARY_FILE = "summary.json"
TIMING_FILE = "timing.json"
FAILED_FILE = "failed.json"
CHECKPOINT_DIR = "checkpoint"
PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
STATES = ("done", "partial", "pending", "failed")
_FIELDS = (
    "id",
    "model",
    "recipe",
    "seed",
    "dataset",
    "epochs",
    "batch_size",
    "precision",
    "train_images",
)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_SEED = 2**32 - 1


@dataclasses.dataclass(frozen=True)
class Job:
    """One training run of a plan.

    Attributes:
        model: A registry model name.
        recipe: A recipe name (``list_recipes()``).
        seed: Random seed of the run.
        dataset: ``"cifar10"`` or ``"cifar100"``: what the job trains and is measured on.
        epochs: Override of the recipe's epochs (the schedule follows).
        batch_size: Override of the recipe's batch size.
        precision: Keras dtype policy: ``"float32"``, ``"mixed_bfloat16"``, ``"mixed_float16"``.
        train_images: Train on the first N training images only (smoke runs).
        id: Folder name of the job; default ``<model>-<recipe>-s<seed>`` plus the dataset
            when not CIFAR-10 and any overrides.
    """

    model: str
    recipe: str
    seed: int = 0
    dataset: str = "cifar10"
    epochs: int | None = None
    batch_size: int | None = None
    precision: str = "float32"
    train_images: int | None = None
    id: str = ""

    def __post_init__(self) -> None:
        if not self.id:
            parts = [self.model, self.recipe, f"s{self.seed}"]
            if self.dataset != "cifar10":
                parts.insert(1, self.dataset)
            for key, short in (("epochs", "e"), ("batch_size", "b"), ("train_images", "n")):
                value = getattr(self, key)
                if value is not None:
                    parts.append(f"{short}{value}")
            if self.precision != "float32":
                parts.append(self.precision)
            object.__setattr__(self, "id", "-".join(parts))

    def to_dict(self) -> dict[str, Any]:
        """The job as written in a plan file (unset options left out)."""
        record = {k: v for k, v in dataclasses.asdict(self).items() if v is not None}
        if record["dataset"] == "cifar10":  # plan files written before datasets stay the same
            del record["dataset"]
        return record


def parse_plan(data: Any) -> tuple[Job, ...]:
    """Validates a decoded plan (a list of job objects) before anything trains.

    Raises:
        PlanError: Listing every problem: unknown keys, models or recipes, values of the
            wrong type or range, duplicate job ids.
    """
    from keras_cifar_zoo.registry import list_models
    from keras_cifar_zoo.training.recipes import list_recipes

    if not isinstance(data, list) or not data:
        raise PlanError(
            "A plan is a non-empty JSON list of jobs, each {model, recipe, seed, ...}. "
            f"Received: {type(data).__name__}"
        )
    problems: list[str] = []
    jobs: list[Job] = []
    models, recipes = set(list_models()), set(list_recipes())
    for i, item in enumerate(data):
        where = f"job {i}"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object, got {type(item).__name__}")
            continue
        unknown = sorted(set(item) - set(_FIELDS))
        missing = [k for k in ("model", "recipe") if k not in item]
        if unknown:
            problems.append(f"{where}: unknown keys {unknown} (allowed: {list(_FIELDS)})")
        if missing:
            problems.append(f"{where}: missing keys {missing}")
            continue
        if item["model"] not in models:
            problems.append(f"{where}: unknown model {item['model']!r} (see list_models())")
        if item["recipe"] not in recipes:
            problems.append(f"{where}: unknown recipe {item['recipe']!r} (see list_recipes())")
        seed = item.get("seed", 0)
        if not _is_int(seed) or not 0 <= seed <= MAX_SEED:
            problems.append(f"{where}: seed must be an int in [0, 2**32 - 1], got {seed!r}")
        for key in ("epochs", "batch_size", "train_images"):
            value = item.get(key)
            if value is not None and (not _is_int(value) or value < 1):
                problems.append(f"{where}: {key} must be a positive int, got {value!r}")
        if item.get("dataset", "cifar10") not in DATASETS:
            problems.append(
                f"{where}: dataset must be one of {list(DATASETS)}, got {item.get('dataset')!r}"
            )
        precision = item.get("precision", "float32")
        if precision not in PRECISIONS:
            problems.append(f"{where}: precision must be one of {PRECISIONS}, got {precision!r}")
        job_id = item.get("id", "")
        if job_id and (not isinstance(job_id, str) or not _ID.match(job_id)):
            problems.append(f"{where}: id must match {_ID.pattern}, got {job_id!r}")
        if not any(p.startswith(f"{where}:") for p in problems):
            jobs.append(Job(**{k: item[k] for k in _FIELDS if k in item}))
    seen: dict[str, int] = {}
    for job in jobs:
        seen[job.id] = seen.get(job.id, 0) + 1
    repeated = sorted(k for k, n in seen.items() if n > 1)
    if repeated:
        problems.append(f"duplicate job ids {repeated}: give the jobs distinct ids or seeds")
    if problems:
        raise PlanError(
            f"The plan is invalid: {'; '.join(problems)}. Fix it before anything trains."
        )
    return tuple(jobs)


def load_plan(path: str | os.PathLike) -> tuple[Job, ...]:
    """Reads and validates a plan file (see :func:`parse_plan`)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanError(
            f"Cannot read the plan {path}: {exc}. Received: plan={str(path)!r}"
        ) from None
    except json.JSONDecodeError as exc:
        raise PlanError(
            f"The plan {path} is not valid JSON ({exc}). Received: plan={str(path)!r}"
        ) from None
    return parse_plan(data)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _OutOfTime(Exception):
    """Raised when the epoch about to run, or running, would not fit the budget."""


class _Deadline(keras.callbacks.Callback):
    """Stops a job before, or a few steps into, an epoch that would end after the deadline.

    Before an epoch it compares the time left with the job's last epoch time. Each step then
    projects the epoch's end from the rate of the steps after the first (which includes
    tracing and compiling), plus the validation and saving time of the last epoch, and gives
    the epoch up when that end lies past the deadline: an epoch never measured (a job's first)
    costs a few steps, not the whole epoch. Past the deadline it stops at the next step,
    validation steps included. Raising (rather than setting ``stop_training``) keeps the run
    unfinished in its checkpoint folder, so a rerun resumes it from the last completed epoch.

    Attributes:
        epoch_seconds: The last epoch's time, or the projection of one given up (None before
            any step), for the next call's first check.
    """

    def __init__(self, deadline: float, epoch_seconds: float | None) -> None:
        super().__init__()
        self.deadline = deadline
        self.epoch_seconds = epoch_seconds
        self.tail = 0.0  # seconds of an epoch after its last step: validation, saving
        self.started = 0.0
        self.first: tuple[int, float] | None = None  # (batch, time) at the end of the first step
        self.last_step = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        now = time.monotonic()
        if self.epoch_seconds is not None and now + self.epoch_seconds > self.deadline:
            raise _OutOfTime
        self.started, self.first, self.last_step = now, None, now

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = self.last_step = time.monotonic()
        if now > self.deadline:
            raise _OutOfTime
        if self.first is None:
            self.first = (batch, now)
            return
        steps = self.params.get("steps") if isinstance(self.params, dict) else None
        if not steps or batch <= self.first[0]:
            return
        per_step = (now - self.first[1]) / (batch - self.first[0])
        end = now + per_step * (steps - batch - 1) + self.tail
        if end > self.deadline:
            self.epoch_seconds = self.first[1] - self.started + per_step * (steps - 1) + self.tail
            raise _OutOfTime

    def on_test_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if time.monotonic() > self.deadline:
            raise _OutOfTime

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        now = time.monotonic()
        self.epoch_seconds = now - self.started
        self.tail = now - self.last_step


@dataclasses.dataclass
class JobStatus:
    """Where one job stands (a row of ``summary.json``)."""

    id: str
    model: str
    recipe: str
    seed: int
    state: str
    epochs_done: int
    epochs: int
    accuracy: float | None = None
    wall_time_s: float = 0.0


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def _read_dict(path: Path) -> dict[str, Any]:
    """A JSON object the engine keeps for itself (timing, checkpoint state): {} when missing
    or unreadable, as the numbers it holds are then measured again."""
    data = _read_json(path)
    return data if isinstance(data, dict) else {}


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _write_json(path: Path, data: Any, out: Path | None = None) -> None:
    """Writes ``path`` atomically; ``out`` is the plan's folder when it is not the file's.

    Raises:
        CheckpointWriteError: If it cannot be written (disk full, read-only folder).
    """
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, exc, "out", out) from exc


def _read_metrics(folder: Path) -> RunRecord | None:
    """A job's record, or None before the job is done.

    Raises:
        CorruptCheckpointError: If it cannot be read or lacks its epochs and accuracy.
    """
    return run_record.read(
        folder / METRICS_FILE,
        fix=f"Delete it to measure the job again from its checkpoint, or delete the job folder "
        f"{folder} to train the job again. Received: out={str(folder.parent)!r}",
    )


def _status(job: Job, folder: Path) -> JobStatus:
    from keras_cifar_zoo.training.recipes import get_recipe

    epochs = job.epochs or get_recipe(job.recipe).epochs
    metrics = _read_metrics(folder)
    timing = _read_dict(folder / TIMING_FILE)
    state = _read_dict(folder / CHECKPOINT_DIR / "state.json")
    done = state.get("completed_epochs", 0)
    done = done if _is_int(done) else 0
    status = JobStatus(job.id, job.model, job.recipe, job.seed, "pending", done, epochs)
    status.wall_time_s = _number(timing.get("wall_time_s")) or 0.0
    if metrics is not None:
        status.state, status.epochs_done = "done", metrics.epochs
        status.accuracy = float(metrics.accuracy)
        status.wall_time_s = _number(metrics.wall_time_s) or status.wall_time_s
    elif (folder / FAILED_FILE).is_file():
        status.state = "failed"
    elif done:
        status.state = "partial"
    return status


def write_summary(jobs: Sequence[Job], out: Path) -> list[JobStatus]:
    """Writes ``out/summary.json`` from what the job folders hold; returns the rows."""
    rows = [_status(job, out / job.id) for job in jobs]
    _write_json(
        out / SUMMARY_FILE,
        {
            "jobs": [dataclasses.asdict(r) for r in rows],
            "counts": {s: sum(r.state == s for r in rows) for s in STATES},
            "updated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        },
    )
    return rows


def _claim_folder(jobs: Sequence[Job], out: Path, *, record: bool = True) -> None:
    """Records the plan in ``out``; refuses a folder that holds another plan.

    A plan may grow: a rerun may add jobs (anywhere in the list) as long as every job the
    folder already records is still there with the same settings, so its outputs stay valid.
    The caller holds ``out`` (:func:`hold_folder`); ``record=False`` only checks, so that a
    folder that is refused is refused before a lock file is created in it.
    """
    if not record and not out.is_dir():
        return  # a new folder: nothing to refuse yet
    make_folder(out, "out")
    document = [job.to_dict() for job in jobs]
    existing = out / PLAN_FILE
    if existing.is_file():
        recorded = _read_json(existing)
        if recorded == document:
            return
        if not isinstance(recorded, list) or any(job not in document for job in recorded):
            raise PlanError(_another_plan(out))
        if record:
            added = len(document) - len(recorded)
            logger.info(
                "%s: %s", out, f"{added} job(s) added to the plan" if added else "reordered"
            )
            _write_json(existing, document)
        return
    if any(p.name not in (SUMMARY_FILE, LOCK_FILE) for p in out.iterdir()):
        raise PlanError(
            f"{out} is not empty and holds no {PLAN_FILE}; pass an empty or new folder. "
            f"Received: out={str(out)!r}"
        )
    if record:
        _write_json(existing, document)


def _another_plan(out: Path) -> str:
    return (
        f"{out} holds another plan ({out / PLAN_FILE}); rerun that plan there, add jobs to it "
        "without changing or removing the ones it has, or pass another folder as out=. "
        f"Received: out={str(out)!r}"
    )


def run_plan(
    plan: Sequence[Job] | str | os.PathLike,
    out: str | os.PathLike,
    *,
    time_budget: float | None = None,
    data: tuple[tuple[Any, Any], tuple[Any, Any]] | None = None,
    data_dir: str | os.PathLike | None = None,
    verbose: int | str = 2,
) -> list[JobStatus]:
    """Runs a plan's jobs in order under one wall-clock budget.

    Args:
        plan: Jobs, or a plan file.
        out: Folder of the plan's outputs (``out/<job id>/``, ``out/summary.json``).
        time_budget: Seconds this call may train; None: no limit. A job stops cleanly before
            an epoch that would not fit (its measured epoch time), or a few steps into one
            never measured, and resumes on the next call from its last completed epoch.
        data: ``((x_train, y_train), (x_test, y_test))`` for every job; default: each job's
            dataset (:func:`load_cifar10`, :func:`load_cifar100`) from ``data_dir`` (the
            lossless copies are the ones every published number uses).
        data_dir: Where the datasets are looked for first.
        verbose: Keras ``fit`` verbosity.

    Returns:
        Every job's status after this call (also written to ``out/summary.json``).

    Raises:
        PlanError: For an invalid plan or time budget, or an ``out`` folder holding another
            plan (before anything trains).
        CheckpointBusyError: If another ``run_plan`` is writing to ``out``.
        CheckpointWriteError: If ``out`` cannot be created or written (a file in the way, a
            read-only folder, a full disk).
        CorruptCheckpointError: If a job's ``metrics.json`` is damaged (before anything
            trains).
    """
    jobs = tuple(plan) if not isinstance(plan, (str, os.PathLike)) else load_plan(plan)
    if not all(isinstance(j, Job) for j in jobs):
        jobs = parse_plan([j.to_dict() if isinstance(j, Job) else j for j in jobs])
    budget = _number(time_budget)
    if time_budget is not None and (budget is None or budget <= 0):
        raise PlanError(
            "time_budget must be a finite number of seconds greater than 0, or None for no "
            f"limit. Received: time_budget={time_budget!r}"
        )
    _check_train_images(jobs, data)
    out = Path(out)
    _claim_folder(jobs, out, record=False)
    with hold_folder(out, "out", "plan run"):
        for job in jobs:  # a damaged job folder is refused before the plan is recorded
            _status(job, out / job.id)
        _claim_folder(jobs, out)
        write_summary(jobs, out)
        deadline = math.inf if budget is None else time.monotonic() + budget
        _run_jobs(jobs, out, deadline, data, data_dir, verbose)
        return write_summary(jobs, out)


def _check_train_images(jobs: Sequence[Job], data: Any) -> None:
    """Refuses jobs asking for more training images than the data holds: they would train
    on fewer than their id and record say."""
    available = len(data[0][0]) if data is not None else SPLITS["train"][1]
    too_many = [
        f"{job.id} asks for {job.train_images:,}"
        for job in jobs
        if job.train_images is not None and job.train_images > available
    ]
    if too_many:
        raise PlanError(
            f"The plan is invalid: train_images must be at most the {available:,} images of "
            f"the training set ({'; '.join(too_many)}). Lower train_images, or leave it out "
            "to train on them all. Fix it before anything trains."
        )


def _run_jobs(
    jobs: Sequence[Job],
    out: Path,
    deadline: float,
    data: Any,
    data_dir: str | os.PathLike | None,
    verbose: int | str,
) -> None:
    """Runs every job not done or failed, in order, until the deadline.

    A job that raises is marked failed and the next one runs; a full disk or an unwritable
    folder stops the call (every later job would fail the same way, and nothing is marked).
    """
    loaded: dict[str, tuple[Any, Any, tuple[str, str]]] = {}
    for job in jobs:
        folder = out / job.id
        if _status(job, folder).state in ("done", "failed"):
            continue
        if time.monotonic() >= deadline:
            break
        if job.dataset not in loaded:
            loaded[job.dataset] = _data(job.dataset, data, data_dir)
        train, test, labels = loaded[job.dataset]
        estimate = _epoch_estimate(job, jobs, out)
        try:
            _run_job(job, folder, deadline, estimate, train, test, labels, verbose)
        except CheckpointBusyError as exc:  # someone else's run in its folder: left alone
            logger.warning("%s: skipped: %s", job.id, exc)
        except CheckpointWriteError:
            raise
        except Exception as exc:  # diverged, damaged checkpoint, out of memory, a bug
            logger.error(
                "%s failed (%s is kept until deleted): %s",
                job.id,
                folder / FAILED_FILE,
                exc,
                exc_info=not isinstance(exc, ZooError),
            )
            make_folder(folder, "out")
            failed = {"error": str(exc), "type": type(exc).__name__}
            _write_json(folder / FAILED_FILE, failed, out)
        write_summary(jobs, out)


def _data(
    dataset: str, data: Any, data_dir: str | os.PathLike | None
) -> tuple[Any, Any, tuple[str, str]]:
    """(train, test, (training data label, test data label)) of a dataset, or of ``data``."""
    from keras_cifar_zoo.data import describe_copy, load_dataset

    if data is not None:
        train, test = data
        return train, test, ("the training arrays given to run_plan", "the test arrays given")
    train, test = load_dataset(dataset, data_dir)
    folder = data_dir or os.environ.get("KERAS_CIFAR_ZOO_DATA")
    title = DATASETS[dataset][0]
    labels = (
        (
            describe_copy(folder, "train", dataset=dataset),
            describe_copy(folder, dataset=dataset),
        )
        if folder
        else (f"{title} training set", f"{title} test set")
    )
    return train, test, labels


def _epoch_estimate(job: Job, jobs: Sequence[Job], out: Path) -> float | None:
    """Seconds one epoch of ``job`` takes: its own measurement, else that of a job of the plan
    with the same model, batch size, precision and image count (seeds and recipes with the
    same batch size cost the same per epoch)."""

    def key(j: Job) -> tuple:
        from keras_cifar_zoo.training.recipes import get_recipe

        return (
            j.model,
            j.dataset,
            j.batch_size or get_recipe(j.recipe).batch_size,
            j.precision,
            j.train_images,
        )

    for other in (job, *(j for j in jobs if j is not job and key(j) == key(job))):
        seconds = _number(_read_dict(out / other.id / TIMING_FILE).get("epoch_seconds"))
        if seconds is not None:
            return seconds
    return None


def _run_job(
    job: Job,
    folder: Path,
    deadline: float,
    estimate: float | None,
    train: tuple[Any, Any],
    test: tuple[Any, Any],
    labels: tuple[str, str],
    verbose: int | str,
) -> None:
    from keras_cifar_zoo.training.fit import fit

    make_folder(folder, "out")
    timing = _read_dict(folder / TIMING_FILE)
    x, y = train
    if job.train_images is not None:
        x, y = x[: job.train_images], y[: job.train_images]
    previous_policy = keras.config.dtype_policy()
    keras.backend.clear_session()
    keras.config.set_dtype_policy(job.precision)
    guard = _Deadline(deadline, estimate)
    start = time.monotonic()
    out_of_time = False
    try:
        history = fit(
            job.model,
            dataset=job.dataset,
            recipe=job.recipe,
            epochs=job.epochs,
            batch_size=job.batch_size,
            data=(x, y),
            checkpoint_dir=folder / CHECKPOINT_DIR,
            seed=job.seed,
            callbacks=[guard],
            verbose=verbose,
        )
    except _OutOfTime:
        out_of_time = True
    finally:
        keras.config.set_dtype_policy(previous_policy)
        timing["wall_time_s"] = (_number(timing.get("wall_time_s")) or 0.0) + (
            time.monotonic() - start
        )
        timing["calls"] = (timing.get("calls") if _is_int(timing.get("calls")) else 0) + 1
        if guard.epoch_seconds is not None:
            timing["epoch_seconds"] = guard.epoch_seconds
        _write_json(folder / TIMING_FILE, timing, folder.parent)
    if out_of_time:
        logger.info("%s: stopped, as the next epoch would not fit the budget", job.id)
        return
    # The checkpoint state adds up every completed epoch, also those of a killed call, which
    # timing.json (written when a call ends) misses; timing.json covers folders whose state
    # predates that record.
    state = _read_dict(folder / CHECKPOINT_DIR / "state.json")
    wall_time_s = max(timing["wall_time_s"], _number(state.get("wall_time_s")) or 0.0)
    _finish(job, folder, history, test, labels, wall_time_s)


def _finish(
    job: Job,
    folder: Path,
    history: Any,
    test: tuple[Any, Any],
    labels: tuple[str, str],
    wall_time_s: float,
) -> None:
    """Stores float16 weights and measures them with ``evaluate``, as ``publish`` would;
    records how the job was trained in ``metrics.json`` (written last: its presence means
    done)."""
    from keras_cifar_zoo.training.recipes import get_recipe

    run_record.store_float16(history.model, folder / WEIGHTS_FILE, folder.parent)
    record = RunRecord(
        model=job.model,
        recipe=job.recipe,
        seed=job.seed,
        dataset=job.dataset,
        epochs=len(history.history.get("loss", [])),
        batch_size=job.batch_size or get_recipe(job.recipe).batch_size,
        train_images=int(history.params["train_images"]),
        precision=job.precision,
        wall_time_s=round(wall_time_s, 1),
        data=labels[1],
        training_data=labels[0],
        **run_record.environment(),
    )
    record = record.replace(
        measurement=run_record.measure(run_record.rebuild_run(record, folder), test)
    )
    run_record.write(record, folder / METRICS_FILE, folder.parent)
    logger.info("%s: done, test accuracy %.4f", job.id, record.accuracy)
