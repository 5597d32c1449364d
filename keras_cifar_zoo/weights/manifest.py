"""The weights manifest: one record per published CIFAR-10 checkpoint.

The manifest is ``weights_manifest.json`` at the top of the repository, shipped inside the
wheel as ``keras_cifar_zoo/weights_manifest.json``. Its schema is versioned
(``manifest_version``) and described inside the file itself (``schema``); this module is the
schema's enforcement: :func:`parse_manifest` rejects unknown keys, missing keys and values of
the wrong type or range, and :func:`check_against_registry` checks every entry against the
model registry (the model exists, parameter counts agree, one default per model).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from keras_cifar_zoo.errors import InvalidArgumentError, ManifestError, WeightsNotAvailableError
from keras_cifar_zoo.preprocessing import Preprocessing

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1
MANIFEST_FILE = "weights_manifest.json"
MANIFEST_ENV = "KERAS_CIFAR_ZOO_MANIFEST"
DATASET = "cifar10"
WEIGHTS_SUFFIXES = (".weights.h5", ".weights.json")
DTYPES = ("float16", "float32")

_TAG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# Field descriptions written into the manifest's "schema" block; a test keeps them in step with
# the records below, so the file documents exactly what this module enforces.
SCHEMA: dict[str, Any] = {
    "description": (
        "Published CIFAR-10 checkpoints of keras-cifar-zoo. One entry per checkpoint; "
        "load_model(model, weights='cifar10') loads the entry whose default is true, "
        "weights='cifar10:<tag>' the entry with that tag. Every number in an entry was "
        "measured by keras_cifar_zoo.evaluate on the stored weights."
    ),
    "entry": {
        "model": "Registry name (keras_cifar_zoo.list_models()).",
        "tag": "Checkpoint tag, lower case [a-z0-9_.-], unique per model (e.g. 'article').",
        "default": "True for the one checkpoint weights='cifar10' loads for this model.",
        "repo_id": "Hugging Face repository 'owner/name'; also the folder hub/<repo_id>/.",
        "revision": "Hub revision: a branch name or a 40-hex commit.",
        "files": "Weights files [{name, sha256, size}]: one .weights.h5, or a .weights.json "
        "index and its .weights.h5 shards. Checked after every download and cache hit.",
        "dtype": "Dtype the weights are stored in ('float16' or 'float32'); loading casts "
        "them to the model's variable dtype.",
        "num_params": "model.count_params() of the model the checkpoint belongs to.",
        "num_classes": "Size of the checkpoint's classifier.",
        "input_shape": "Input shape [height, width, channels] the checkpoint was trained at.",
        "preprocessing": "Preprocessing.to_config() of the model's preprocessing layer.",
        "recipe": "{name, settings}: training recipe name and its full settings.",
        "metrics": {
            "accuracy": "Test accuracy in [0, 1] of the stored weights, measured by evaluate(): "
            "the final epoch, unless the recipe's settings say it selects on the test set.",
            "loss": "Test loss (mean categorical cross-entropy) measured by evaluate().",
            "data": "The test set the metrics were measured on, naming its copy (the lossless "
            "copy of the official pixels for every published number).",
            "num_images": "Number of images the metrics were measured on.",
            "epochs": "Epochs trained.",
            "wall_time_s": "Training wall time in seconds.",
            "hardware": "Hardware the checkpoint was trained on.",
            "backend": "Keras backend used for training.",
            "keras_version": "Keras version used for training.",
            "date": "Date the checkpoint was published, YYYY-MM-DD.",
            "training_data": "The copy of the CIFAR-10 training set the checkpoint was trained "
            "on (the lossless copy, or the older JPEG q75 copy).",
            "seed": "Optional: random seed of this run.",
            "seed_runs": "Optional: [{seed, accuracy, loss}] of repeated runs of the recipe "
            "(mean and std are computed from these).",
            "jpeg_copy_accuracy": "Optional: test accuracy of the same weights on the JPEG q75 "
            "copy of the test set, kept for comparison with numbers measured on that copy.",
        },
        "notes": "Optional free text (e.g. a target that was not reached).",
    },
}


@dataclasses.dataclass(frozen=True)
class FileRecord:
    """One file of a checkpoint.

    Attributes:
        name: File name inside the repository folder.
        sha256: Lower-case hex sha256 of the file.
        size: Size in bytes.
    """

    name: str
    sha256: str
    size: int


@dataclasses.dataclass(frozen=True)
class SeedRun:
    """Accuracy and loss of one seed of a repeated run."""

    seed: int
    accuracy: float
    loss: float


@dataclasses.dataclass(frozen=True)
class Metrics:
    """How a checkpoint was trained and what it measures (see ``SCHEMA["entry"]["metrics"]``)."""

    accuracy: float
    loss: float
    data: str
    num_images: int
    epochs: int
    wall_time_s: float
    hardware: str
    backend: str
    keras_version: str
    date: str
    training_data: str = ""
    seed: int | None = None
    seed_runs: tuple[SeedRun, ...] = ()
    jpeg_copy_accuracy: float | None = None


@dataclasses.dataclass(frozen=True)
class RecipeRecord:
    """Name and full settings of the recipe a checkpoint was trained with."""

    name: str
    settings: Mapping[str, Any]


@dataclasses.dataclass(frozen=True)
class CheckpointEntry:
    """One published checkpoint (see ``SCHEMA["entry"]`` for each field)."""

    model: str
    tag: str
    default: bool
    repo_id: str
    revision: str
    files: tuple[FileRecord, ...]
    dtype: str
    num_params: int
    num_classes: int
    input_shape: tuple[int, int, int]
    preprocessing: Preprocessing
    recipe: RecipeRecord
    metrics: Metrics
    notes: str = ""

    @property
    def weights_file(self) -> str:
        """The file to load: the ``.weights.json`` index if sharded, else the ``.weights.h5``."""
        names = [f.name for f in self.files]
        index = [n for n in names if n.endswith(".weights.json")]
        return index[0] if index else names[0]

    @property
    def identifier(self) -> str:
        """The ``weights=`` value selecting this entry, e.g. ``"cifar10:article"``."""
        return f"{DATASET}:{self.tag}"

    def to_dict(self) -> dict[str, Any]:
        """Returns the JSON form of the entry (the inverse of :func:`parse_entry`)."""
        metrics = dataclasses.asdict(self.metrics)
        for optional in ("seed", "jpeg_copy_accuracy"):
            if metrics[optional] is None:
                del metrics[optional]
        if not metrics["seed_runs"]:
            del metrics["seed_runs"]
        else:
            metrics["seed_runs"] = [dataclasses.asdict(r) for r in self.metrics.seed_runs]
        out = {
            "model": self.model,
            "tag": self.tag,
            "default": self.default,
            "repo_id": self.repo_id,
            "revision": self.revision,
            "files": [dataclasses.asdict(f) for f in self.files],
            "dtype": self.dtype,
            "num_params": self.num_params,
            "num_classes": self.num_classes,
            "input_shape": list(self.input_shape),
            "preprocessing": self.preprocessing.to_config(),
            "recipe": {"name": self.recipe.name, "settings": dict(self.recipe.settings)},
            "metrics": metrics,
        }
        if self.notes:
            out["notes"] = self.notes
        return out


@dataclasses.dataclass(frozen=True)
class Manifest:
    """The parsed manifest.

    Attributes:
        entries: Every checkpoint, in file order.
        source: Where it was read from (a path, or a description).
    """

    entries: tuple[CheckpointEntry, ...]
    source: str = "<memory>"

    def models(self) -> list[str]:
        """Names of the models with at least one checkpoint, sorted."""
        return sorted({e.model for e in self.entries})

    def for_model(self, model: str) -> list[CheckpointEntry]:
        """The model's checkpoints, default first, then by tag."""
        found = [e for e in self.entries if e.model == model]
        return sorted(found, key=lambda e: (not e.default, e.tag))

    def find(self, model: str, tag: str | None = None) -> CheckpointEntry:
        """Returns the model's default checkpoint, or the one tagged ``tag``.

        Raises:
            WeightsNotAvailableError: If the model has no checkpoint (the message lists the
                models that have one) or none with that tag (it lists the tags).
        """
        entries = self.for_model(model)
        weights = DATASET if tag is None else f"{DATASET}:{tag}"
        if not entries:
            have = ", ".join(self.models()) or "none yet"
            raise WeightsNotAvailableError(
                f"No published CIFAR-10 checkpoint for {model}. Models with one: {have}. "
                "Train it with fit_cifar10, load a local file with weights=PATH, or use "
                f"weights=None. Received: weights={weights!r}"
            )
        if tag is None:
            defaults = [e for e in entries if e.default]
            return defaults[0] if defaults else entries[0]
        for entry in entries:
            if entry.tag == tag:
                return entry
        tags = ", ".join(repr(e.identifier) for e in entries)
        raise WeightsNotAvailableError(
            f"{model} has no checkpoint tagged {tag!r}; it has {tags} (and 'cifar10' for the "
            f"default). Received: weights={weights!r}"
        )


# ---------------------------------------------------------------------------------------------
# Parsing and validation


class _Problems:
    """Collects every schema problem so one error lists them all."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _keys(
    data: Any, where: str, required: Sequence[str], optional: Sequence[str], problems: _Problems
) -> bool:
    if not isinstance(data, dict):
        problems.add(where, f"must be an object, got {type(data).__name__}")
        return False
    missing = [k for k in required if k not in data]
    unknown = sorted(set(data) - set(required) - set(optional))
    if missing:
        problems.add(where, f"missing keys {missing}")
    if unknown:
        problems.add(where, f"unknown keys {unknown} (allowed: {sorted([*required, *optional])})")
    return not missing


def _check(ok: bool, where: str, message: str, problems: _Problems) -> None:
    if not ok:
        problems.add(where, message)


def _parse_files(data: Any, where: str, problems: _Problems) -> tuple[FileRecord, ...]:
    if not isinstance(data, list) or not data:
        problems.add(where, "must be a non-empty list of {name, sha256, size}")
        return ()
    files = []
    for i, item in enumerate(data):
        at = f"{where}[{i}]"
        if not _keys(item, at, ("name", "sha256", "size"), (), problems):
            continue
        name, sha, size = item["name"], item["sha256"], item["size"]
        _check(
            isinstance(name, str) and bool(name) and "/" not in name and "\\" not in name,
            f"{at}.name",
            f"must be a plain file name, got {name!r}",
            problems,
        )
        _check(
            isinstance(sha, str) and bool(_SHA256.match(sha)),
            f"{at}.sha256",
            f"must be 64 lower-case hex digits, got {sha!r}",
            problems,
        )
        _check(
            _is_int(size) and size > 0,
            f"{at}.size",
            f"must be a positive int, got {size!r}",
            problems,
        )
        files.append(FileRecord(str(name), str(sha), size if _is_int(size) else 0))
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        problems.add(where, f"file names repeat: {names}")
    weights = [n for n in names if n.endswith(WEIGHTS_SUFFIXES)]
    if len(weights) != len(names):
        problems.add(where, f"every file must end with {WEIGHTS_SUFFIXES}, got {names}")
    index = [n for n in names if n.endswith(".weights.json")]
    if len(index) > 1 or (not index and len(names) > 1):
        problems.add(
            where, f"expected one .weights.h5, or one .weights.json and its shards, got {names}"
        )
    return tuple(files)


def _parse_metrics(data: Any, where: str, problems: _Problems) -> Metrics | None:
    required = (
        "accuracy",
        "loss",
        "data",
        "num_images",
        "epochs",
        "wall_time_s",
        "hardware",
        "backend",
        "keras_version",
        "date",
        "training_data",
    )
    if not _keys(data, where, required, ("seed", "seed_runs", "jpeg_copy_accuracy"), problems):
        return None
    acc, loss = data["accuracy"], data["loss"]
    _check(
        _is_number(acc) and 0 <= acc <= 1,
        f"{where}.accuracy",
        f"must be in [0, 1], got {acc!r}",
        problems,
    )
    _check(_is_number(loss) and loss >= 0, f"{where}.loss", f"must be >= 0, got {loss!r}", problems)
    for key in ("num_images", "epochs"):
        value = data[key]
        _check(
            _is_int(value) and value > 0,
            f"{where}.{key}",
            f"must be a positive int, got {value!r}",
            problems,
        )
    wall = data["wall_time_s"]
    _check(
        _is_number(wall) and wall > 0,
        f"{where}.wall_time_s",
        f"must be > 0, got {wall!r}",
        problems,
    )
    for key in ("data", "training_data", "hardware", "backend", "keras_version"):
        value = data[key]
        _check(
            isinstance(value, str) and bool(value.strip()),
            f"{where}.{key}",
            "must be a non-empty string",
            problems,
        )
    date = data["date"]
    _check(
        isinstance(date, str) and bool(_DATE.match(date)),
        f"{where}.date",
        f"must be YYYY-MM-DD, got {date!r}",
        problems,
    )
    jpeg = data.get("jpeg_copy_accuracy")
    _check(
        jpeg is None or (_is_number(jpeg) and 0 <= jpeg <= 1),
        f"{where}.jpeg_copy_accuracy",
        f"must be in [0, 1], got {jpeg!r}",
        problems,
    )
    seed = data.get("seed")
    _check(
        seed is None or _is_int(seed), f"{where}.seed", f"must be an int, got {seed!r}", problems
    )
    runs = []
    raw_runs = data.get("seed_runs", [])
    if not isinstance(raw_runs, list):
        problems.add(f"{where}.seed_runs", "must be a list of {seed, accuracy, loss}")
        raw_runs = []
    for i, run in enumerate(raw_runs):
        at = f"{where}.seed_runs[{i}]"
        if not _keys(run, at, ("seed", "accuracy", "loss"), (), problems):
            continue
        ok = _is_int(run["seed"]) and _is_number(run["accuracy"]) and _is_number(run["loss"])
        ok = ok and 0 <= run["accuracy"] <= 1 and run["loss"] >= 0
        _check(ok, at, "needs an int seed, accuracy in [0, 1] and loss >= 0", problems)
        if ok:
            runs.append(SeedRun(run["seed"], float(run["accuracy"]), float(run["loss"])))
    try:
        return Metrics(
            accuracy=float(acc),
            loss=float(loss),
            data=str(data["data"]),
            num_images=data["num_images"],
            epochs=data["epochs"],
            wall_time_s=float(wall),
            hardware=str(data["hardware"]),
            backend=str(data["backend"]),
            keras_version=str(data["keras_version"]),
            date=str(date),
            training_data=str(data["training_data"]),
            seed=seed,
            seed_runs=tuple(runs),
            jpeg_copy_accuracy=None if jpeg is None else float(jpeg),
        )
    except (TypeError, ValueError):
        return None  # already reported above


def parse_entry(data: Any, where: str = "entry") -> CheckpointEntry:
    """Parses and validates one manifest entry.

    Raises:
        ManifestError: Listing every problem of the entry.
    """
    problems = _Problems()
    entry = _parse_entry(data, where, problems)
    if problems.items or entry is None:
        raise ManifestError(_problem_message(problems, where))
    return entry


def _parse_entry(data: Any, where: str, problems: _Problems) -> CheckpointEntry | None:
    required = (
        "model",
        "tag",
        "default",
        "repo_id",
        "revision",
        "files",
        "dtype",
        "num_params",
        "num_classes",
        "input_shape",
        "preprocessing",
        "recipe",
        "metrics",
    )
    if not _keys(data, where, required, ("notes",), problems):
        return None
    model, tag = data["model"], data["tag"]
    _check(
        isinstance(model, str) and bool(model), f"{where}.model", "must be a model name", problems
    )
    _check(
        isinstance(tag, str) and bool(_TAG.match(tag)),
        f"{where}.tag",
        f"must match {_TAG.pattern}, got {tag!r}",
        problems,
    )
    _check(isinstance(data["default"], bool), f"{where}.default", "must be true or false", problems)
    repo_id = data["repo_id"]
    _check(
        isinstance(repo_id, str) and bool(_REPO_ID.match(repo_id)),
        f"{where}.repo_id",
        f"must look like 'owner/name', got {repo_id!r}",
        problems,
    )
    revision = data["revision"]
    _check(
        isinstance(revision, str) and bool(revision),
        f"{where}.revision",
        "must be a non-empty string",
        problems,
    )
    files = _parse_files(data["files"], f"{where}.files", problems)
    dtype = data["dtype"]
    _check(dtype in DTYPES, f"{where}.dtype", f"must be one of {DTYPES}, got {dtype!r}", problems)
    for key in ("num_params", "num_classes"):
        value = data[key]
        _check(
            _is_int(value) and value > 0,
            f"{where}.{key}",
            f"must be a positive int, got {value!r}",
            problems,
        )
    shape = data["input_shape"]
    shape_ok = (
        isinstance(shape, list)
        and len(shape) == 3
        and all(_is_int(d) and d > 0 for d in shape)
        and shape[-1] == 3
    )
    _check(shape_ok, f"{where}.input_shape", f"must be [height, width, 3], got {shape!r}", problems)
    preprocessing = None
    try:
        preprocessing = Preprocessing.from_config(data["preprocessing"])
    except (TypeError, KeyError, ValueError) as exc:
        problems.add(f"{where}.preprocessing", f"is not a Preprocessing config ({exc})")
    recipe = None
    if _keys(data["recipe"], f"{where}.recipe", ("name", "settings"), (), problems):
        name, settings = data["recipe"]["name"], data["recipe"]["settings"]
        _check(
            isinstance(name, str) and bool(name), f"{where}.recipe.name", "must be a name", problems
        )
        _check(
            isinstance(settings, dict), f"{where}.recipe.settings", "must be an object", problems
        )
        recipe = RecipeRecord(str(name), dict(settings) if isinstance(settings, dict) else {})
    metrics = _parse_metrics(data["metrics"], f"{where}.metrics", problems)
    notes = data.get("notes", "")
    _check(isinstance(notes, str), f"{where}.notes", "must be a string", problems)
    if problems.items or preprocessing is None or recipe is None or metrics is None:
        return None
    return CheckpointEntry(
        model=model,
        tag=tag,
        default=data["default"],
        repo_id=repo_id,
        revision=revision,
        files=files,
        dtype=dtype,
        num_params=data["num_params"],
        num_classes=data["num_classes"],
        input_shape=tuple(shape),
        preprocessing=preprocessing,
        recipe=recipe,
        metrics=metrics,
        notes=notes,
    )


def _problem_message(problems: _Problems, source: str) -> str:
    listed = "; ".join(problems.items[:20])
    more = f" (and {len(problems.items) - 20} more)" if len(problems.items) > 20 else ""
    return (
        f"The weights manifest breaks its schema (version {MANIFEST_VERSION}): {listed}{more}. "
        f"Fix the entry or re-run `keras-cifar-zoo publish`. Received: manifest={source}"
    )


def parse_manifest(data: Any, source: str = "<memory>") -> Manifest:
    """Validates the JSON form of a manifest against the schema and parses it.

    Args:
        data: The decoded JSON document.
        source: Where it comes from, for error messages.

    Returns:
        The parsed :class:`Manifest`.

    Raises:
        ManifestError: If the document breaks the schema; the message lists every problem.

    Example:
        >>> parse_manifest({"manifest_version": 1, "schema": {}, "checkpoints": []}).entries
        ()
    """
    problems = _Problems()
    if not _keys(data, "manifest", ("manifest_version", "checkpoints"), ("schema",), problems):
        raise ManifestError(_problem_message(problems, source))
    version = data["manifest_version"]
    if version != MANIFEST_VERSION:
        raise ManifestError(
            f"Unsupported weights manifest version {version!r}: this keras-cifar-zoo reads "
            f"version {MANIFEST_VERSION}. Upgrade keras-cifar-zoo or regenerate the manifest. "
            f"Received: manifest={source}"
        )
    raw = data["checkpoints"]
    if not isinstance(raw, list):
        problems.add("manifest.checkpoints", "must be a list")
        raw = []
    entries = []
    for i, item in enumerate(raw):
        entry = _parse_entry(item, f"checkpoints[{i}]", problems)
        if entry is not None:
            entries.append(entry)
    seen: dict[tuple[str, str], int] = {}
    for i, entry in enumerate(entries):
        key = (entry.model, entry.tag)
        if key in seen:
            problems.add(f"checkpoints[{i}]", f"{entry.model} tag {entry.tag!r} appears twice")
        seen[key] = i
    for model in {e.model for e in entries}:
        defaults = [e.tag for e in entries if e.model == model and e.default]
        if len(defaults) != 1:
            problems.add(model, f"needs exactly one default checkpoint, has {defaults or 'none'}")
    if problems.items:
        raise ManifestError(_problem_message(problems, source))
    return Manifest(entries=tuple(entries), source=source)


def check_against_registry(manifest: Manifest) -> None:
    """Checks every entry against the model registry.

    Each model must be registered; its parameter count (for the entry's ``num_classes``) must
    agree with the registry's; the input shape must be one the model accepts; the
    preprocessing must be the model's own, or Caffe BGR for a model with ImageNet VGG weights
    (and Caffe BGR whenever the recipe starts from ImageNet weights).

    Raises:
        ManifestError: Listing every disagreement.
    """
    from keras_cifar_zoo.preprocessing import CAFFE_BGR
    from keras_cifar_zoo.registry import list_models, model_info

    known = set(list_models())
    problems = _Problems()
    for entry in manifest.entries:
        where = f"{entry.model}:{entry.tag}"
        if entry.model not in known:
            problems.add(where, f"model {entry.model!r} is not registered")
            continue
        info = model_info(entry.model)
        if min(entry.input_shape[:2]) < info.min_input_size:
            problems.add(
                where,
                f"input_shape {list(entry.input_shape)} is below the model's minimum size "
                f"{info.min_input_size}",
            )
            continue
        expected = _num_params(entry.model, info.num_params, entry.num_classes, entry.input_shape)
        if entry.num_params != expected:
            problems.add(
                where,
                f"num_params {entry.num_params} differs from the registry's {expected} "
                f"(num_classes={entry.num_classes}, input_shape={list(entry.input_shape)})",
            )
        allowed = [info.preprocessing] + ([CAFFE_BGR] if info.imagenet_network else [])
        if not any(_same_preset(entry.preprocessing, p) for p in allowed):
            problems.add(
                where,
                f"preprocessing {entry.preprocessing.name!r} is neither the model's "
                f"({info.preprocessing.name!r}) nor, for ImageNet VGG weights, 'caffe_bgr'",
            )
        if (
            entry.recipe.settings.get("initial_weights") == "imagenet"
            and entry.preprocessing != CAFFE_BGR
        ):
            problems.add(
                where,
                "the recipe starts from ImageNet weights, so the preprocessing must be "
                f"'caffe_bgr', not {entry.preprocessing.name!r}",
            )
    if problems.items:
        raise ManifestError(_problem_message(problems, manifest.source))


def _same_preset(stored: Preprocessing, preset: Preprocessing) -> bool:
    """True if ``stored`` is ``preset``, possibly with the data statistics of another copy of
    the training set (a checkpoint keeps the mean and std it was trained with)."""
    if stored == preset:
        return True
    statistics = preset.mean != (0.0,) and preset.std != (1.0,)  # computed from the data
    return statistics and (stored.name, stored.channel_order, stored.scale) == (
        preset.name,
        preset.channel_order,
        preset.scale,
    )


@functools.cache
def _num_params(
    model: str, default_params: int, num_classes: int, input_shape: tuple[int, int, int]
) -> int:
    if num_classes == 10 and input_shape == (32, 32, 3):
        return default_params
    from keras_cifar_zoo.registry import build_model

    built = build_model(model, num_classes=num_classes, input_shape=input_shape)
    return built.count_params()


# ---------------------------------------------------------------------------------------------
# Finding, reading and writing the file


def source_tree_manifest() -> Path:
    """Path of ``weights_manifest.json`` at the top of a source checkout (may not exist)."""
    return Path(__file__).resolve().parents[2] / MANIFEST_FILE


def find_manifest(path: str | os.PathLike | None = None) -> Path | None:
    """Locates the manifest to read.

    Order: ``path``; the ``KERAS_CIFAR_ZOO_MANIFEST`` environment variable (read now); the
    copy inside the installed package; the top-level file of a source checkout.

    Returns:
        The path, or None if no manifest is found (then no checkpoint is published).

    Raises:
        InvalidArgumentError: If ``path`` or the environment variable names a missing file.
    """
    for origin, candidate in (("manifest", path), (MANIFEST_ENV, os.environ.get(MANIFEST_ENV))):
        if candidate:
            candidate = Path(candidate).expanduser()
            if not candidate.is_file():
                raise InvalidArgumentError(
                    f"The weights manifest {candidate} does not exist. Point {origin} at a "
                    f"weights_manifest.json file. Received: {origin}={str(candidate)!r}"
                )
            return candidate
    try:
        packaged = importlib.resources.files("keras_cifar_zoo") / MANIFEST_FILE
        if packaged.is_file():
            return Path(str(packaged))
    except (ModuleNotFoundError, NotADirectoryError):  # zipped or unusual installs
        pass
    tree = source_tree_manifest()
    return tree if tree.is_file() else None


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int, size: int) -> Manifest:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"The weights manifest is not valid JSON ({exc}). Received: manifest={path}"
        ) from None
    return parse_manifest(data, source=path)


def load_manifest(path: str | os.PathLike | None = None) -> Manifest:
    """Reads and validates the weights manifest (cached until the file changes).

    Args:
        path: A manifest file; default: see :func:`find_manifest`.

    Returns:
        The parsed :class:`Manifest` (empty if no manifest is found).

    Raises:
        ManifestError: If the file breaks the schema.

    Example:
        >>> [e.identifier for e in load_manifest().for_model("resnet20_v1")]  # doctest: +SKIP
        ['cifar10:article']
    """
    found = find_manifest(path)
    if found is None:
        logger.debug("No weights manifest found; no published checkpoint is available.")
        return Manifest(entries=(), source="<none>")
    stat = found.stat()
    return _read(str(found), stat.st_mtime_ns, stat.st_size)


def empty_document() -> dict[str, Any]:
    """The JSON document of a manifest with no checkpoint."""
    return {"manifest_version": MANIFEST_VERSION, "schema": SCHEMA, "checkpoints": []}


def dumps(document: Mapping[str, Any]) -> str:
    """Serialises a manifest document the way it is committed (stable, diff-friendly)."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_manifest(entries: Sequence[CheckpointEntry], path: str | os.PathLike) -> Path:
    """Writes a manifest holding ``entries`` (sorted by model and tag) atomically.

    The document is validated before it replaces the file, so a bad entry never lands.

    Returns:
        The path written.

    Raises:
        ManifestError: If the entries break the schema.
    """
    path = Path(path)
    document = empty_document()
    document["checkpoints"] = [e.to_dict() for e in sorted(entries, key=lambda e: (e.model, e.tag))]
    parse_manifest(json.loads(dumps(document)), source=str(path))
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(dumps(document), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
