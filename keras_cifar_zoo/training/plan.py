"""Training plans: many ``fit_cifar10`` jobs under one wall-clock budget, resumable by rerunning.

A plan is a JSON list of jobs (``model``, ``recipe``, ``seed``; optional ``epochs``,
``batch_size``, ``precision``, ``train_images`` for smoke runs, ``id``). :func:`run_plan` runs
them in order in ``out/<job id>/``: each job checkpoints every epoch through ``fit_cifar10``,
so a stop at any point loses at most the epoch in progress, and a rerun of the same plan
resumes unfinished jobs and skips finished ones; the plan may gain jobs between runs, but the
jobs a folder records keep their settings. Before each epoch the engine compares the
time left with the job's measured epoch time and stops cleanly when the epoch would not fit,
leaving the job resumable. A finished job leaves what ``keras-cifar-zoo publish`` takes:
float16 weights, ``metrics.json`` (final-epoch test accuracy from :func:`evaluate`, epochs,
wall time, hardware, backend, precision, data) and the per-epoch ``history.csv``.
``out/summary.json`` lists every job's state: ``done``, ``partial``, ``pending`` or ``failed``
(training diverged: the error is in ``failed.json``; the other jobs still run, and a rerun skips
it until that file is deleted).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
import os
import platform
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras

from keras_cifar_zoo.data import DATASETS
from keras_cifar_zoo.errors import PlanError, TrainingDivergedError

logger = logging.getLogger(__name__)

PLAN_FILE = "plan.json"
SUMMARY_FILE = "summary.json"
METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.weights.h5"
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
        if not _is_int(seed) or seed < 0:
            problems.append(f"{where}: seed must be an int >= 0, got {seed!r}")
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
    """Raised between epochs when the next one would not fit the budget."""


class _Deadline(keras.callbacks.Callback):
    """Stops a job before an epoch that would end after the deadline.

    Raising from ``on_epoch_begin`` (rather than setting ``stop_training``) keeps the run
    unfinished in its checkpoint folder, so a rerun resumes it; the previous epoch was already
    checkpointed.
    """

    def __init__(self, deadline: float, epoch_seconds: float | None) -> None:
        super().__init__()
        self.deadline = deadline
        self.epoch_seconds = epoch_seconds
        self.started: float | None = None

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        now = time.monotonic()
        if self.epoch_seconds is not None and now + self.epoch_seconds > self.deadline:
            raise _OutOfTime
        self.started = now

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.started is not None:
            self.epoch_seconds = time.monotonic() - self.started


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


def hardware_description() -> str:
    """The device a job trains on, for the manifest (GPU kind, else CPU model and cores)."""
    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        if device.platform != "cpu":
            return f"{len(jax.devices())} x {device.device_kind}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} vCPUs (no GPU)"


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _status(job: Job, folder: Path) -> JobStatus:
    from keras_cifar_zoo.training.recipes import get_recipe

    epochs = job.epochs or get_recipe(job.recipe).epochs
    metrics = _read_json(folder / METRICS_FILE)
    timing = _read_json(folder / TIMING_FILE) or {}
    state = _read_json(folder / CHECKPOINT_DIR / "state.json") or {}
    done = int(state.get("completed_epochs", 0))
    status = JobStatus(job.id, job.model, job.recipe, job.seed, "pending", done, epochs)
    status.wall_time_s = float(timing.get("wall_time_s", 0.0))
    if metrics is not None:
        status.state, status.epochs_done = "done", int(metrics["epochs"])
        status.accuracy = float(metrics["accuracy"])
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


def _claim_folder(jobs: Sequence[Job], out: Path) -> None:
    """Records the plan in ``out``; refuses a folder that holds another plan.

    A plan may grow: a rerun may add jobs (anywhere in the list) as long as every job the
    folder already records is still there with the same settings, so its outputs stay valid.
    """
    out.mkdir(parents=True, exist_ok=True)
    document = [job.to_dict() for job in jobs]
    existing = out / PLAN_FILE
    if existing.is_file():
        recorded = _read_json(existing)
        if recorded == document:
            return
        if not isinstance(recorded, list) or any(job not in document for job in recorded):
            raise PlanError(
                f"{out} holds another plan ({existing}); rerun that plan there, add jobs to it "
                f"without changing or removing the ones it has, or pass another --out folder. "
                f"Received: out={str(out)!r}"
            )
        added = len(document) - len(recorded)
        logger.info("%s: %s", out, f"{added} job(s) added to the plan" if added else "reordered")
        _write_json(existing, document)
        return
    if any(p.name != SUMMARY_FILE for p in out.iterdir()):
        raise PlanError(
            f"{out} is not empty and holds no {PLAN_FILE}; pass an empty or new folder. "
            f"Received: out={str(out)!r}"
        )
    _write_json(existing, document)


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
            an epoch that would not fit (its measured epoch time) and resumes on the next call.
        data: ``((x_train, y_train), (x_test, y_test))`` for every job; default: each job's
            dataset (:func:`load_cifar10`, :func:`load_cifar100`) from ``data_dir`` (the
            lossless copies are the ones every published number uses).
        data_dir: Where the datasets are looked for first.
        verbose: Keras ``fit`` verbosity.

    Returns:
        Every job's status after this call (also written to ``out/summary.json``).

    Raises:
        PlanError: For an invalid plan or an ``out`` folder holding another plan (before
            anything trains).
    """
    jobs = tuple(plan) if not isinstance(plan, (str, os.PathLike)) else load_plan(plan)
    if not all(isinstance(j, Job) for j in jobs):
        jobs = parse_plan([j.to_dict() if isinstance(j, Job) else j for j in jobs])
    out = Path(out)
    _claim_folder(jobs, out)
    if time_budget is not None and (not isinstance(time_budget, (int, float)) or time_budget <= 0):
        raise PlanError(
            f"time_budget must be a positive number of seconds. Received: {time_budget!r}"
        )
    deadline = math.inf if time_budget is None else time.monotonic() + float(time_budget)

    loaded: dict[str, tuple[Any, Any, tuple[str, str]]] = {}
    for job in jobs:
        status = _status(job, out / job.id)
        if status.state in ("done", "failed"):
            continue
        if time.monotonic() >= deadline:
            break
        if job.dataset not in loaded:
            loaded[job.dataset] = _data(job.dataset, data, data_dir)
        train, test, labels = loaded[job.dataset]
        estimate = _epoch_estimate(job, jobs, out)
        try:
            _run_job(job, out / job.id, deadline, estimate, train, test, labels, verbose)
        except TrainingDivergedError as exc:  # the other jobs still run
            logger.error("%s: %s", job.id, exc)
            (out / job.id).mkdir(exist_ok=True)
            _write_json(out / job.id / FAILED_FILE, {"error": str(exc)})
        write_summary(jobs, out)
    return write_summary(jobs, out)


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
        seconds = (_read_json(out / other.id / TIMING_FILE) or {}).get("epoch_seconds")
        if seconds is not None:
            return float(seconds)
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

    folder.mkdir(parents=True, exist_ok=True)
    timing = _read_json(folder / TIMING_FILE) or {"wall_time_s": 0.0, "calls": 0}
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
        timing["wall_time_s"] += time.monotonic() - start
        timing["calls"] += 1
        if guard.epoch_seconds is not None:
            timing["epoch_seconds"] = guard.epoch_seconds
        _write_json(folder / TIMING_FILE, timing)
    if out_of_time:
        logger.info("%s: stopped before an epoch that would not fit the budget", job.id)
        return
    _finish(job, folder, history, test, labels, timing, len(x))


def _finish(
    job: Job,
    folder: Path,
    history: Any,
    test: tuple[Any, Any],
    labels: tuple[str, str],
    timing: dict[str, Any],
    train_images: int,
) -> None:
    """Stores float16 weights and measures them with ``evaluate``, as ``publish`` would."""
    from keras_cifar_zoo.registry import build_model
    from keras_cifar_zoo.training.evaluation import evaluate
    from keras_cifar_zoo.training.recipes import get_recipe
    from keras_cifar_zoo.weights import resolve_weights
    from keras_cifar_zoo.weights.loading import load_checkpoint
    from keras_cifar_zoo.weights.storage import cast_weights_file

    trained = history.model
    full = folder / "model.float32.weights.h5"
    trained.save_weights(full)
    cast_weights_file(full, folder / WEIGHTS_FILE, "float16")
    full.unlink()
    recipe = get_recipe(job.recipe)
    source = resolve_weights(job.model, recipe.initial_weights)
    model = build_model(
        job.model,
        num_classes=DATASETS[job.dataset][1],
        preprocessing=source and source.preprocessing,
    )
    load_checkpoint(model, folder / WEIGHTS_FILE)
    result = evaluate(model, data=test)
    metrics = {
        "model": job.model,
        "recipe": job.recipe,
        "seed": job.seed,
        "dataset": job.dataset,
        "epochs": len(history.history.get("loss", [])),
        "batch_size": job.batch_size or recipe.batch_size,
        "train_images": train_images,
        "precision": job.precision,
        "accuracy": float(result["accuracy"]),
        "loss": float(result["loss"]),
        "num_images": int(result["num_images"]),
        "wall_time_s": round(timing["wall_time_s"], 1),
        "hardware": hardware_description(),
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "date": datetime.date.today().isoformat(),
        "data": labels[1],
        "training_data": labels[0],
    }
    _write_json(folder / METRICS_FILE, metrics)
    logger.info("%s: done, test accuracy %.4f", job.id, metrics["accuracy"])
