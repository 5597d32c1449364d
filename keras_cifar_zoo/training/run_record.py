"""A training run's record (``metrics.json``), the model it rebuilds, and its measurement.

Every writer and reader of a run's ``metrics.json`` goes through this module: ``run_plan``
writes it, ``publish`` reads it (``run_info=``), the GPU window script rewrites it after
measuring on the real test set. Its keys are defined here once, as the fields of
:class:`RunRecord`; keys older writers used are renamed on :func:`read`, and keys the record
does not model are kept as they were written (``extra``).

The accuracy a record carries is either a :class:`Measurement`, made by :func:`measure`
(``evaluate`` on the test set), or a :class:`StandInMeasurement` (a check on other images,
such as training images on a machine without the test set), which ``publish`` refuses.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras

from keras_cifar_zoo.data import DATASETS
from keras_cifar_zoo.errors import CorruptCheckpointError
from keras_cifar_zoo.preprocessing import Preprocessing
from keras_cifar_zoo.training.checkpoints import check_free_space, saved_bytes, write_error

METRICS_FILE = "metrics.json"
WEIGHTS_FILE = "model.weights.h5"

# Keys of the metrics.json that the first GPU training script wrote, under the record's names
# (recognised by its "epochs_run": its "epochs" was the planned length).
_OLD_KEYS = {
    "epochs": "epochs_planned",
    "epochs_run": "epochs",
    "test_accuracy": "accuracy",
    "test_loss": "loss",
    "wall_time_s_this_call": "wall_time_s",
    "device": "hardware",
    "keras": "keras_version",
}
_MEASUREMENT_KEYS = ("accuracy", "loss", "num_images")
_STAND_IN_FLAG = "test_accuracy_pending"

PUBLISH_KEYS = ("epochs", "wall_time_s", "hardware", "backend", "training_data")
"""What ``publish`` needs to know of a run besides what it measures itself."""


@dataclasses.dataclass(frozen=True)
class Measurement:
    """Test-set accuracy, mean cross-entropy and image count, as :func:`measure` makes them."""

    accuracy: float
    loss: float | None = None
    num_images: int | None = None


@dataclasses.dataclass(frozen=True)
class StandInMeasurement:
    """Numbers measured on images that are not the test set: a check, never published."""

    accuracy: float
    loss: float | None = None
    num_images: int | None = None


@dataclasses.dataclass(frozen=True)
class RunRecord:
    """What one training run was and measured: the fields of its ``metrics.json``.

    Every field but ``model`` may be unknown (None) in a record read from an older file or
    given to ``publish`` by hand; :meth:`missing` says which of those a reader needs.

    Attributes:
        model, recipe, seed, dataset: What was trained.
        epochs: Epochs trained (fewer than ``epochs_planned`` when early stopping fired).
        epochs_planned: The schedule's length, where it differs from ``epochs``.
        batch_size, precision: Batch size and Keras dtype policy of the run.
        train_images: How many training images it trained on.
        wall_time_s: Training wall time in seconds, over every call.
        hardware, backend, keras_version, date: Where, with what, and when.
        data: The images the measurement was made on, naming their copy.
        training_data: The copy of the training set the run trained on.
        measurement: A :class:`Measurement`, a :class:`StandInMeasurement`, or None.
        extra: Keys the record does not model, kept as they were written.
    """

    model: str | None = None
    recipe: str | None = None
    seed: int | None = None
    dataset: str = "cifar10"
    epochs: int | None = None
    epochs_planned: int | None = None
    batch_size: int | None = None
    train_images: int | None = None
    precision: str | None = None
    measurement: Measurement | StandInMeasurement | None = None
    wall_time_s: float | None = None
    hardware: str | None = None
    backend: str | None = None
    keras_version: str | None = None
    date: str | None = None
    data: str | None = None
    training_data: str | None = None
    extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        """The record of a decoded ``metrics.json`` (or a ``run_info`` mapping), old keys
        renamed; values are kept as given, so a reader's own checks see what was written."""
        data = dict(data)
        if "epochs_run" in data:
            data = {_OLD_KEYS.get(k, k): v for k, v in data.items()}
        names = {f.name for f in dataclasses.fields(cls)} - {"measurement", "extra"}
        values = {k: data.pop(k) for k in list(data) if k in names}
        measured = {k: data.pop(k) for k in _MEASUREMENT_KEYS if k in data}
        stand_in = bool(data.pop(_STAND_IN_FLAG, False))
        if "accuracy" in measured:
            kind = StandInMeasurement if stand_in else Measurement
            values["measurement"] = kind(**measured)
        else:
            data.update(measured)  # a loss without an accuracy stays as written
        if values.get("dataset") is None:
            values.pop("dataset", None)
        return cls(**values, extra=data)

    def to_dict(self) -> dict[str, Any]:
        """The ``metrics.json`` document: unknown fields left out, extra keys last."""
        document: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name == "extra":
                continue
            if f.name == "measurement":
                if value is not None:
                    document.update(
                        {
                            k: getattr(value, k)
                            for k in _MEASUREMENT_KEYS
                            if getattr(value, k) is not None
                        }
                    )
                    if isinstance(value, StandInMeasurement):
                        document[_STAND_IN_FLAG] = True
                continue
            if value is not None:
                document[f.name] = value
        for key, value in self.extra.items():
            document.setdefault(key, value)
        return document

    def missing(self, keys: tuple[str, ...] = PUBLISH_KEYS) -> list[str]:
        """The fields of ``keys`` this record leaves unknown or empty."""
        return [k for k in keys if getattr(self, k, None) in (None, "")]

    def __getitem__(self, key: str) -> Any:
        """A key of the ``metrics.json`` document, for code written against the JSON."""
        return self.to_dict()[key]

    @property
    def accuracy(self) -> float | None:
        return None if self.measurement is None else self.measurement.accuracy

    def replace(self, **changes: Any) -> RunRecord:
        return dataclasses.replace(self, **changes)


def read(path: str | os.PathLike, *, fix: str | None = None) -> RunRecord | None:
    """The record in ``path`` (a ``metrics.json`` or its folder), or None when there is none.

    Raises:
        CorruptCheckpointError: If it is not JSON, or lacks an integer ``epochs`` and a
            numeric ``accuracy`` (``fix`` says what to do; default: delete it).
    """
    path = Path(path)
    path = path / METRICS_FILE if path.is_dir() else path
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    record = RunRecord.from_dict(data) if isinstance(data, dict) else None
    if record is not None and _is_int(record.epochs) and _finite(record.accuracy):
        return record
    problem = "not JSON" if data is None else "no integer epochs and numeric accuracy"
    raise CorruptCheckpointError(
        f"{path} is damaged ({problem}). {fix or 'Delete it and measure the run again.'}"
    )


def write(record: RunRecord, path: str | os.PathLike, out: Path | None = None) -> None:
    """Writes ``record`` to ``path`` atomically (a temporary file renamed into place), so a
    reader sees the old record or the new one, never part of one.

    Raises:
        CheckpointWriteError: If it cannot be written (disk full, read-only folder); ``out``
            is the folder the error names, when not the file's own.
    """
    path = Path(path)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        tmp.write_text(json.dumps(record.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise write_error(path, exc, "out", out) from exc


def rebuild(
    name: str,
    weights: str | os.PathLike,
    *,
    recipe: str | None = None,
    dataset: str = "cifar10",
    preprocessing: Preprocessing | None = None,
    num_classes: int | None = None,
) -> keras.Model:
    """The zoo model a run trained, holding its weights: built with the preprocessing of the
    recipe's initial weights (a fine-tuned model keeps its ImageNet preprocessing) and one
    output per class of ``dataset``.

    ``publish`` passes the ``preprocessing`` it settled on (it checks the checkpoint's own
    against the recipe's) and the ``num_classes`` the checkpoint holds; they win.
    """
    from keras_cifar_zoo.registry import build_model
    from keras_cifar_zoo.training.recipes import get_recipe
    from keras_cifar_zoo.weights import resolve_weights
    from keras_cifar_zoo.weights.loading import load_checkpoint

    given = preprocessing
    if preprocessing is None:
        initial = get_recipe(recipe).initial_weights if recipe else None
        source = resolve_weights(name, initial)
        preprocessing = source and source.preprocessing
    model = build_model(
        name,
        num_classes=num_classes or DATASETS[dataset][1],
        preprocessing=preprocessing,
    )
    load_checkpoint(model, weights, preprocessing=given)
    return model


def rebuild_run(record: RunRecord, folder: str | os.PathLike) -> keras.Model:
    """:func:`rebuild` of the run ``record`` describes, from its folder's weights file."""
    return rebuild(
        record.model, Path(folder) / WEIGHTS_FILE, recipe=record.recipe, dataset=record.dataset
    )


def store_float16(model: keras.Model, path: str | os.PathLike, out: Path | None = None) -> None:
    """Saves ``model``'s weights to ``path`` as float16 (half the size; what ``publish`` stores
    when the accuracy holds), through a float32 file that is removed afterwards.

    Raises:
        CheckpointWriteError: If the disk lacks room for both copies (checked first: HDF5 can
            crash the process on a full disk) or the folder cannot be written.
    """
    from keras_cifar_zoo.weights.storage import cast_weights_file

    path = Path(path)
    full = path.with_name(path.name.replace(".weights.h5", ".float32.weights.h5"))
    check_free_space(path.parent, saved_bytes(model.variables) * 2, full.name, "out", out)
    try:
        model.save_weights(full)
        cast_weights_file(full, path, "float16")
    except OSError as exc:
        raise write_error(full, exc, "out", out) from exc
    finally:
        full.unlink(missing_ok=True)


def measure(model: keras.Model, test: tuple[Any, Any]) -> Measurement:
    """The run's measurement: :func:`keras_cifar_zoo.evaluate` on the test images ``test``."""
    from keras_cifar_zoo.training.evaluation import evaluate

    result = evaluate(model, data=test)
    return Measurement(
        accuracy=float(result["accuracy"]),
        loss=float(result["loss"]),
        num_images=int(result["num_images"]),
    )


def environment(date: datetime.date | None = None) -> dict[str, str]:
    """The record fields of the machine and software training here."""
    return {
        "hardware": hardware_description(),
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "date": (date or datetime.date.today()).isoformat(),
    }


def hardware_description() -> str:
    """The device a run trains on (GPU kind, else CPU model and cores)."""
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


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
