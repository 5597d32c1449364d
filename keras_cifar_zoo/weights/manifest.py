"""The weights manifest: one record per published CIFAR-10 checkpoint.

The manifest is ``weights_manifest.json`` at the top of the repository, shipped inside the
wheel as ``keras_cifar_zoo/weights_manifest.json``. Its schema is versioned
(``manifest_version``) and described inside the file itself (``schema``); this module is the
schema's enforcement: :func:`parse_manifest` rejects unknown keys, missing keys and values of
the wrong type or range, and :func:`check_against_registry` checks every entry against the
model registry (the model exists, parameter counts agree, one default per model).

Each record's dataclass fields are its schema: a field's metadata gives its value kind,
description and whether it is required, :func:`fields_of` reads them into one table of
:class:`FieldSpec` rows, and parsing, ``to_dict`` and the ``schema`` block written into the
file all come from that table, so they cannot drift apart. A new field is one more annotated
line in its record.

Writers change the file under :func:`manifest_lock` (an OS-level lock that dies with its
holder), read it with :func:`read_manifest` (never a cached copy) and replace it atomically
with :func:`write_manifest`, so concurrent writers never lose each other's entries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import importlib.resources
import json
import logging
import math
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from keras_cifar_zoo.errors import (
    InvalidArgumentError,
    ManifestError,
    PublishError,
    WeightsNotAvailableError,
)
from keras_cifar_zoo.preprocessing import IMAGENET_MEAN_RGB, Preprocessing
from keras_cifar_zoo.registry import build_model, get_info, list_models

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1
MANIFEST_FILE = "weights_manifest.json"
MANIFEST_ENV = "KERAS_CIFAR_ZOO_MANIFEST"
LOCK_SUFFIX = ".lock"
"""The lock file beside the manifest (``weights_manifest.json.lock``) that writers hold."""
LOCK_TIMEOUT_S = 600.0
DATASET = "cifar10"
"""The dataset of a checkpoint whose entry names none, and of ``weights="cifar10"``."""
DATASETS = ("cifar10", "cifar100")
DATASET_LABELS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100"}
WEIGHTS_SUFFIXES = (".weights.h5", ".weights.json")
DTYPES = ("float16", "float32")

_TAG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_CHECKPOINT = re.compile(r"^[a-z0-9]+:[a-z0-9][a-z0-9_.-]*$")


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


# ---------------------------------------------------------------------------------------------
# Value kinds: how one JSON value is checked, read into a record and written back


class Kind:
    """How a field's JSON value is validated, read and written."""

    def parse(self, value: Any, where: str, problems: _Problems) -> Any:
        """Returns the record's value; reports a bad ``value`` at ``where`` instead of raising."""
        raise NotImplementedError

    def dump(self, value: Any) -> Any:
        """Returns the JSON form of a record's value."""
        return value


def _unchanged(value: Any) -> Any:
    return value


@dataclasses.dataclass(frozen=True)
class _Value(Kind):
    """A plain JSON value that ``check`` accepts; ``load`` and ``save`` convert it."""

    check: Callable[[Any], bool]
    message: str
    show_value: bool = True  # append ", got <value>" to the message
    load: Callable[[Any], Any] = _unchanged
    save: Callable[[Any], Any] = _unchanged

    def parse(self, value: Any, where: str, problems: _Problems) -> Any:
        if self.check(value):
            return self.load(value)
        problems.add(where, f"{self.message}, got {value!r}" if self.show_value else self.message)
        return value  # kept as is: list-level checks still see it, and no record is returned

    def dump(self, value: Any) -> Any:
        return self.save(value)


@dataclasses.dataclass(frozen=True)
class _Config(Kind):
    """An object stored as ``cls.to_config()`` and read with ``cls.from_config``."""

    cls: type

    def parse(self, value: Any, where: str, problems: _Problems) -> Any:
        try:
            return self.cls.from_config(value)
        except (TypeError, KeyError, ValueError) as exc:
            problems.add(where, f"is not a {self.cls.__name__} config ({exc})")
            return None

    def dump(self, value: Any) -> Any:
        return value.to_config()


@dataclasses.dataclass(frozen=True)
class _Nested(Kind):
    """A JSON object holding another record."""

    record: type

    def parse(self, value: Any, where: str, problems: _Problems) -> Any:
        return _parse_record(self.record, value, where, problems)

    def dump(self, value: Any) -> Any:
        return value.to_dict()


@dataclasses.dataclass(frozen=True)
class _List(Kind):
    """A JSON list of records, kept as a tuple; ``check_all`` checks the records together."""

    record: type
    non_empty: bool = False
    check_all: Callable[[tuple[Any, ...], str, _Problems], None] | None = None

    def parse(self, value: Any, where: str, problems: _Problems) -> Any:
        if not isinstance(value, list) or (self.non_empty and not value):
            keys = ", ".join(f.key for f in fields_of(self.record))
            size = "non-empty " if self.non_empty else ""
            problems.add(where, f"must be a {size}list of {{{keys}}}")
            return ()
        parsed = (
            _parse_record(self.record, item, f"{where}[{i}]", problems)
            for i, item in enumerate(value)
        )
        records = tuple(r for r in parsed if r is not None)
        if self.check_all is not None:
            self.check_all(records, where, problems)
        return records

    def dump(self, value: Any) -> Any:
        return [r.to_dict() for r in value]


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _text(message: str = "must be a non-empty string") -> _Value:
    return _Value(_is_text, message, show_value=False, load=str)


def _matching(pattern: re.Pattern[str], message: str) -> _Value:
    return _Value(lambda v: isinstance(v, str) and bool(pattern.match(v)), message, load=str)


def _is_file_name(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "/" not in value and "\\" not in value


def _is_image_shape(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and all(_is_int(d) and d > 0 for d in value)
        and value[-1] == 3
    )


_BOOL = _Value(lambda v: isinstance(v, bool), "must be true or false", show_value=False)
_STRING = _Value(lambda v: isinstance(v, str), "must be a string", show_value=False)
_OBJECT = _Value(lambda v: isinstance(v, dict), "must be an object", False, load=dict, save=dict)
_INT = _Value(_is_int, "must be an int")
_POSITIVE_INT = _Value(lambda v: _is_int(v) and v > 0, "must be a positive int")
_FRACTION = _Value(lambda v: _is_number(v) and 0 <= v <= 1, "must be in [0, 1]", load=float)
_NON_NEGATIVE = _Value(lambda v: _is_number(v) and v >= 0, "must be >= 0", load=float)
_POSITIVE = _Value(lambda v: _is_number(v) and v > 0, "must be > 0", load=float)
_DTYPE = _Value(lambda v: v in DTYPES, f"must be one of {DTYPES}")
_DATASET = _Value(lambda v: v in DATASETS, f"must be one of {DATASETS}")
_INPUT_SHAPE = _Value(_is_image_shape, "must be [height, width, 3]", load=tuple, save=list)
_FILE_NAME = _Value(_is_file_name, "must be a plain file name", load=str)
_DAY = _matching(_DATE, "must be YYYY-MM-DD")


# ---------------------------------------------------------------------------------------------
# The field table


_SPEC = "keras_cifar_zoo.manifest"  # field metadata key: (kind, doc, required, key), see _spec


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """One row of a record's field table.

    Attributes:
        key: JSON key (the attribute name unless given).
        attr: Attribute name on the record.
        kind: How the value is checked, read and written.
        doc: Description written into the manifest's ``schema`` block; None for a nested
            record, which is described field by field.
        required: Whether the key must be present. An optional key that is absent reads as
            ``default``, and ``to_dict`` leaves out a value equal to ``default``.
        default: The record's default value (``dataclasses.MISSING`` if none).
    """

    key: str
    attr: str
    kind: Kind
    doc: str | None
    required: bool
    default: Any = dataclasses.MISSING


def _spec(
    kind: Kind, doc: str | None = None, *, required: bool | None = None, key: str = ""
) -> dict[str, Any]:
    """Field metadata making a dataclass field a manifest field.

    ``required`` defaults to "the field has no default"; a field can be required in JSON and
    still have a Python default, so code that builds records keeps working.
    """
    return {_SPEC: (kind, doc, required, key)}


@functools.cache
def fields_of(record: type) -> tuple[FieldSpec, ...]:
    """The field table of a manifest record, in JSON order."""
    table = []
    for f in dataclasses.fields(record):
        kind, doc, required, key = f.metadata[_SPEC]
        if required is None:
            required = f.default is dataclasses.MISSING
        if not required and f.default is dataclasses.MISSING:
            raise TypeError(f"{record.__name__}.{f.name}: an optional field needs a default")
        table.append(FieldSpec(key or f.name, f.name, kind, doc, required, f.default))
    return tuple(table)


def schema_of(record: type) -> dict[str, Any]:
    """The ``schema`` block text of a record: ``{key: description}``, nested records inline."""
    return {
        f.key: f.doc if f.doc is not None else schema_of(f.kind.record) for f in fields_of(record)
    }


def _parse_record(record: type, data: Any, where: str, problems: _Problems) -> Any:
    """Builds ``record`` from JSON, reporting every problem; None unless it is an object
    holding every required key.

    A record is built even with bad values (kept as read) so that list-level checks see
    every item; callers return nothing once ``problems`` holds anything.
    """
    table = fields_of(record)
    required = [f.key for f in table if f.required]
    optional = [f.key for f in table if not f.required]
    if not _keys(data, where, required, optional, problems):
        return None
    values = {}
    for f in table:
        value = data.get(f.key, f.default)
        if f.key in data and not (value is None and f.default is None):
            value = f.kind.parse(value, f"{where}.{f.key}", problems)
        values[f.attr] = value
    return record(**values)


class _Record:
    """Base of the manifest records: JSON out through the record's field table."""

    def to_dict(self) -> dict[str, Any]:
        """Returns the JSON form of the record (the inverse of parsing it).

        An optional field whose JSON equals its default's is left out, so files stay minimal.
        """
        out = {}
        for f in fields_of(type(self)):
            value = _to_json(f.kind, getattr(self, f.attr))
            if f.required or value != _to_json(f.kind, f.default):
                out[f.key] = value
        return out


def _to_json(kind: Kind, value: Any) -> Any:
    return None if value is None else kind.dump(value)


def _check_weights_files(files: tuple[Any, ...], where: str, problems: _Problems) -> None:
    """Checks a checkpoint's files together: one ``.weights.h5``, or an index and its shards."""
    names = [str(f.name) for f in files]  # str(): a bad name is kept as read
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


# ---------------------------------------------------------------------------------------------
# The records


@dataclasses.dataclass(frozen=True)
class FileRecord(_Record):
    """One file of a checkpoint."""

    name: str = field(metadata=_spec(_FILE_NAME, "File name inside the repository folder."))
    sha256: str = field(
        metadata=_spec(_matching(_SHA256, "must be 64 lower-case hex digits"), "Hex sha256.")
    )
    size: int = field(metadata=_spec(_POSITIVE_INT, "Size in bytes."))


@dataclasses.dataclass(frozen=True)
class SeedRun(_Record):
    """Accuracy and loss of one seed of a repeated run."""

    seed: int = field(metadata=_spec(_INT, "Random seed of the run."))
    accuracy: float = field(metadata=_spec(_FRACTION, "Test accuracy in [0, 1]."))
    loss: float = field(metadata=_spec(_NON_NEGATIVE, "Test loss."))
    checkpoint: str | None = field(
        default=None,
        metadata=_spec(
            _matching(_CHECKPOINT, "must be '<dataset>:<tag>'"),
            "Optional: the published checkpoint of this seed, '<dataset>:<tag>' of the same "
            "model, whose entry records these numbers.",
        ),
    )


@dataclasses.dataclass(frozen=True)
class Metrics(_Record):
    """How a checkpoint was trained and what it measures."""

    accuracy: float = field(
        metadata=_spec(
            _FRACTION,
            "Test accuracy in [0, 1] of the stored weights, measured by evaluate(): the final "
            "epoch, unless the recipe's settings say it selects on the test set.",
        )
    )
    loss: float = field(
        metadata=_spec(
            _NON_NEGATIVE, "Test loss (mean categorical cross-entropy) measured by evaluate()."
        )
    )
    data: str = field(
        metadata=_spec(
            _text(),
            "The test set the metrics were measured on, naming its copy (the lossless copy of the "
            "official pixels for every published number).",
        )
    )
    num_images: int = field(
        metadata=_spec(_POSITIVE_INT, "Number of images the metrics were measured on.")
    )
    epochs: int = field(metadata=_spec(_POSITIVE_INT, "Epochs trained."))
    wall_time_s: float = field(metadata=_spec(_POSITIVE, "Training wall time in seconds."))
    hardware: str = field(metadata=_spec(_text(), "Hardware the checkpoint was trained on."))
    backend: str = field(metadata=_spec(_text(), "Keras backend used for training."))
    keras_version: str = field(metadata=_spec(_text(), "Keras version used for training."))
    date: str = field(metadata=_spec(_DAY, "Date the checkpoint was published, YYYY-MM-DD."))
    training_data: str = field(
        default="",
        metadata=_spec(
            _text(),
            "The copy of the CIFAR-10 training set the checkpoint was trained on (the lossless "
            "copy, or the older JPEG q75 copy).",
            required=True,
        ),
    )
    seed: int | None = field(
        default=None, metadata=_spec(_INT, "Optional: random seed of this run.")
    )
    seed_runs: tuple[SeedRun, ...] = field(
        default=(),
        metadata=_spec(
            _List(SeedRun),
            "Optional: [{seed, accuracy, loss, checkpoint}] of repeated runs of the recipe (mean "
            "and std are computed from these).",
        ),
    )
    jpeg_copy_accuracy: float | None = field(
        default=None,
        metadata=_spec(
            _FRACTION,
            "Optional: test accuracy of the same weights on the JPEG q75 copy of the test set, "
            "kept for comparison with numbers measured on that copy.",
        ),
    )


@dataclasses.dataclass(frozen=True)
class RecipeRecord(_Record):
    """Name and full settings of the recipe a checkpoint was trained with."""

    name: str = field(metadata=_spec(_text("must be a name"), "Recipe name."))
    settings: Mapping[str, Any] = field(metadata=_spec(_OBJECT, "The recipe's full settings."))


@dataclasses.dataclass(frozen=True)
class CheckpointEntry(_Record):
    """One published checkpoint."""

    model: str = field(
        metadata=_spec(
            _text("must be a model name"), "Registry name (keras_cifar_zoo.list_models())."
        )
    )
    tag: str = field(
        metadata=_spec(
            _matching(_TAG, f"must match {_TAG.pattern}"),
            "Checkpoint tag, lower case [a-z0-9_.-], unique per model (e.g. 'article').",
        )
    )
    default: bool = field(
        metadata=_spec(_BOOL, "True for the one checkpoint weights='cifar10' loads for this model.")
    )
    repo_id: str = field(
        metadata=_spec(
            _matching(_REPO_ID, "must look like 'owner/name'"),
            "Hugging Face repository 'owner/name'; also the folder hub/<repo_id>/.",
        )
    )
    revision: str = field(
        metadata=_spec(_text(), "Hub revision: a branch name or a 40-hex commit.")
    )
    files: tuple[FileRecord, ...] = field(
        metadata=_spec(
            _List(FileRecord, non_empty=True, check_all=_check_weights_files),
            "Weights files [{name, sha256, size}]: one .weights.h5, or a .weights.json index and "
            "its .weights.h5 shards. Checked after every download and cache hit.",
        )
    )
    dtype: str = field(
        metadata=_spec(
            _DTYPE,
            "Dtype the weights are stored in ('float16' or 'float32'); loading casts them to the "
            "model's variable dtype.",
        )
    )
    num_params: int = field(
        metadata=_spec(
            _POSITIVE_INT, "model.count_params() of the model the checkpoint belongs to."
        )
    )
    num_classes: int = field(metadata=_spec(_POSITIVE_INT, "Size of the checkpoint's classifier."))
    input_shape: tuple[int, int, int] = field(
        metadata=_spec(
            _INPUT_SHAPE, "Input shape [height, width, channels] the checkpoint was trained at."
        )
    )
    preprocessing: Preprocessing = field(
        metadata=_spec(
            _Config(Preprocessing), "Preprocessing.to_config() of the model's preprocessing layer."
        )
    )
    recipe: RecipeRecord = field(
        metadata=_spec(
            _Nested(RecipeRecord), "{name, settings}: training recipe name and its full settings."
        )
    )
    metrics: Metrics = field(metadata=_spec(_Nested(Metrics)))  # described field by field
    notes: str = field(
        default="",
        metadata=_spec(_STRING, "Optional free text (e.g. a target that was not reached)."),
    )
    dataset: str = field(
        default=DATASET,
        metadata=_spec(
            _DATASET,
            "Optional: the dataset the checkpoint was trained and measured on, 'cifar10' (when "
            "absent) or 'cifar100'; weights='<dataset>' and '<dataset>:<tag>' select it.",
        ),
    )

    @property
    def weights_file(self) -> str:
        """The file to load: the ``.weights.json`` index if sharded, else the ``.weights.h5``."""
        names = [f.name for f in self.files]
        index = [n for n in names if n.endswith(".weights.json")]
        return index[0] if index else names[0]

    @property
    def identifier(self) -> str:
        """The ``weights=`` value selecting this entry, e.g. ``"cifar10:article"``."""
        return f"{self.dataset}:{self.tag}"


# The manifest's "schema" block: the file documents exactly what this module enforces.
SCHEMA: dict[str, Any] = {
    "description": (
        "Published CIFAR-10 and CIFAR-100 checkpoints of keras-cifar-zoo. One entry per "
        "checkpoint; load_model(model, weights='cifar10') loads the CIFAR-10 entry whose "
        "default is true, weights='cifar10:<tag>' the entry with that tag ('cifar100' and "
        "'cifar100:<tag>' likewise for CIFAR-100). Every number in an entry was measured by "
        "keras_cifar_zoo.evaluate on the stored weights."
    ),
    "entry": schema_of(CheckpointEntry),
}


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

    def for_model(self, model: str, dataset: str | None = None) -> list[CheckpointEntry]:
        """The model's checkpoints (on ``dataset`` if given): by dataset, default first, tag."""
        found = [e for e in self.entries if e.model == model and dataset in (None, e.dataset)]
        return sorted(found, key=lambda e: (DATASETS.index(e.dataset), not e.default, e.tag))

    def find(self, model: str, tag: str | None = None, dataset: str = DATASET) -> CheckpointEntry:
        """Returns the model's default checkpoint on ``dataset``, or the one tagged ``tag``.

        Raises:
            WeightsNotAvailableError: If the model has no checkpoint on that dataset (the
                message lists the models that have one) or none with that tag (it lists the
                tags).
        """
        entries = self.for_model(model, dataset)
        weights = dataset if tag is None else f"{dataset}:{tag}"
        if not entries:
            have = ", ".join(sorted({e.model for e in self.entries if e.dataset == dataset}))
            train = "fit_cifar10" if dataset == DATASET else f"fit(..., dataset={dataset!r})"
            raise WeightsNotAvailableError(
                f"No published {DATASET_LABELS[dataset]} checkpoint for {model}. Models with "
                f"one: {have or 'none yet'}. Train it with {train}, load a local file with "
                f"weights=PATH, or use weights=None. Received: weights={weights!r}"
            )
        if tag is None:
            defaults = [e for e in entries if e.default]
            return defaults[0] if defaults else entries[0]
        for entry in entries:
            if entry.tag == tag:
                return entry
        tags = ", ".join(repr(e.identifier) for e in entries)
        raise WeightsNotAvailableError(
            f"{model} has no checkpoint tagged {tag!r}; it has {tags} (and {dataset!r} for the "
            f"default). Received: weights={weights!r}"
        )


# ---------------------------------------------------------------------------------------------
# Parsing and validation


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


def _parse_entry(
    data: Any, where: str, problems: _Problems, known: frozenset[str] | None = None
) -> CheckpointEntry | None:
    entry = _parse_record(CheckpointEntry, data, where, problems)
    if entry is not None and _is_text(entry.model):
        _check_registered(entry, where, problems, known or frozenset(list_models()))
    # Once anything is wrong, entries are not collected: the checks across entries (one
    # default, unique tags) would only add noise to the problems already listed.
    return None if problems.items else entry


def _check_registered(
    entry: CheckpointEntry, where: str, problems: _Problems, known: frozenset[str]
) -> None:
    """Refuses an entry for a model this package cannot build: nothing could load it."""
    if entry.model in known:
        return
    close = difflib.get_close_matches(entry.model, sorted(known), n=3)
    hint = f" (closest: {', '.join(repr(c) for c in close)})" if close else ""
    problems.add(
        f"{where}.model",
        f"model {entry.model!r} is not registered{hint}; rename it to a model of "
        "keras_cifar_zoo.list_models() or remove the entry (and its hub/ folder)",
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
    known = frozenset(list_models())
    for i, item in enumerate(raw):
        entry = _parse_entry(item, f"checkpoints[{i}]", problems, known)
        if entry is not None:
            entries.append(entry)
    seen: dict[tuple[str, str, str], int] = {}
    for i, entry in enumerate(entries):
        key = (entry.model, entry.dataset, entry.tag)
        if key in seen:
            problems.add(f"checkpoints[{i}]", f"{entry.model} tag {entry.tag!r} appears twice")
        seen[key] = i
    for model, dataset in sorted({(e.model, e.dataset) for e in entries}):
        defaults = [
            e.tag for e in entries if (e.model, e.dataset) == (model, dataset) and e.default
        ]
        if len(defaults) != 1:
            where = model if dataset == DATASET else f"{model} ({dataset})"
            problems.add(where, f"needs exactly one default checkpoint, has {defaults or 'none'}")
    if problems.items:
        raise ManifestError(_problem_message(problems, source))
    return Manifest(entries=tuple(entries), source=source)


def check_against_registry(manifest: Manifest) -> None:
    """Checks every entry against the model registry.

    Each model must be registered; its parameter count (for the entry's ``num_classes``) must
    agree with the registry's; the input shape must be one the model accepts; the
    preprocessing must be the model's own, or the ImageNet means for a recipe that starts from
    ImageNet VGG weights (their BGR order lives in ``block1_conv1``).

    Raises:
        ManifestError: Listing every disagreement.
    """
    known = set(list_models())
    problems = _Problems()
    for entry in manifest.entries:
        where = f"{entry.model}:{entry.tag}"
        if entry.model not in known:
            problems.add(where, f"model {entry.model!r} is not registered")
            continue
        info = get_info(entry.model)
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
        from_imagenet = entry.recipe.settings.get("initial_weights") == "imagenet"
        if from_imagenet and entry.preprocessing != IMAGENET_MEAN_RGB:
            problems.add(
                where,
                "the recipe starts from ImageNet weights, so the preprocessing must be "
                f"'imagenet_mean_rgb', not {entry.preprocessing.name!r}",
            )
        elif not from_imagenet and not _same_preset(entry.preprocessing, info.preprocessing):
            problems.add(
                where,
                f"preprocessing {entry.preprocessing.name!r} is not the model's "
                f"({info.preprocessing.name!r})",
            )
    if problems.items:
        raise ManifestError(_problem_message(problems, manifest.source))


def _same_preset(stored: Preprocessing, preset: Preprocessing) -> bool:
    """True if ``stored`` is ``preset``, possibly with the data statistics of another copy of
    the training set (a checkpoint keeps the mean and std it was trained with)."""
    if stored == preset:
        return True
    statistics = preset.mean != (0.0,) and preset.std != (1.0,)  # computed from the data
    return statistics and (stored.name, stored.scale) == (preset.name, preset.scale)


@functools.cache
def _num_params(
    model: str, default_params: int, num_classes: int, input_shape: tuple[int, int, int]
) -> int:
    if num_classes == 10 and input_shape == (32, 32, 3):
        return default_params
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


def read_manifest(path: str | os.PathLike) -> Manifest:
    """Reads and validates a manifest file as it is now, bypassing the cache.

    Writers (``publish``) read through this, under :func:`manifest_lock`: a cached copy may
    predate another writer's change within the file system's timestamp resolution.

    Raises:
        ManifestError: If the file is not UTF-8 JSON or breaks the schema.
    """
    path = str(path)
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ManifestError(
            f"The weights manifest {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} "
            f"at offset {exc.start}): it must be UTF-8 JSON, as `keras-cifar-zoo publish` "
            f"writes it. Restore the file (e.g. from version control) or re-encode it as "
            f"UTF-8. Received: manifest={path}"
        ) from None
    except json.JSONDecodeError as exc:
        raise ManifestError(
            f"The weights manifest is not valid JSON ({exc}). Received: manifest={path}"
        ) from None
    return parse_manifest(data, source=path)


def file_version(path: str | os.PathLike) -> tuple[int, int, int] | None:
    """The manifest file's ``(mtime_ns, size, inode)`` now, ``None`` if it is missing. Every
    write replaces the file (a new inode), so an equal version means no write in between."""
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


@functools.lru_cache(maxsize=8)
def _read(path: str, version: tuple[int, int, int] | None) -> Manifest:
    return read_manifest(path)


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
    return _read(str(found), file_version(found))


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
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(dumps(document))
            f.flush()
            os.fsync(f.fileno())  # the new content is on disk before it replaces the old
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def lock_path(path: str | os.PathLike) -> Path:
    """The lock file of a manifest: ``<manifest>.lock`` beside it."""
    path = Path(path)
    return path.with_name(path.name + LOCK_SUFFIX)


@contextlib.contextmanager
def manifest_lock(path: str | os.PathLike, timeout: float = LOCK_TIMEOUT_S) -> Iterator[None]:
    """Holds the manifest's lock file: read-modify-write cycles of the manifest (and of the
    ``hub/`` folders it lists) run one at a time, across processes.

    The lock is an OS-level file lock (``filelock``; ``flock`` on Unix), so the kernel releases
    it when its holder dies: a killed writer never leaves a stale lock.

    Raises:
        PublishError: If the lock is not acquired within ``timeout`` seconds, or its file
            cannot be created (a read-only folder).
    """
    import filelock

    lock = filelock.FileLock(str(lock_path(path)), timeout=timeout)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise PublishError(
            f"Another writer has held the weights manifest's lock {lock.lock_file} for over "
            f"{timeout:g} s. Wait for that publish to finish, then try again. "
            f"Received: manifest={path}"
        ) from None
    except OSError as exc:
        raise PublishError(
            f"Cannot create the weights manifest's lock file {lock.lock_file} "
            f"({exc.strerror or exc}): its folder must be writable. Received: manifest={path}"
        ) from None
    try:
        yield
    finally:
        lock.release()


def check_num_classes(entry: CheckpointEntry, weights_path: str | os.PathLike) -> None:
    """Refuses a checkpoint file whose classifier size is not the entry's ``num_classes``.

    The model is built with the entry's ``num_classes``; a file with another classifier
    would load with a newly initialised head, an untrained model published as trained.

    Raises:
        ManifestError: If the sizes differ.
    """
    from keras_cifar_zoo.weights.loading import open_checkpoint

    with open_checkpoint(weights_path) as ckpt:
        found = ckpt.num_classes
    if found is not None and found != entry.num_classes:
        raise ManifestError(
            f"{entry.model} {entry.identifier}: the weights manifest records num_classes="
            f"{entry.num_classes}, but {Path(weights_path).name} holds a {found}-class "
            f"classifier. The entry and its files disagree: re-run `keras-cifar-zoo publish` "
            f"for this checkpoint, or correct the entry's num_classes to {found}. "
            f"Received: num_classes={entry.num_classes}, weights={str(weights_path)!r}"
        )
