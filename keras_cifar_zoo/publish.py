"""Publishing a trained checkpoint: a Hugging Face repository folder plus its manifest entry.

:func:`publish` measures a checkpoint with this package's ``evaluate`` and writes
``<root>/hub/<repo_id>/`` as Keras itself writes a model saved to the Hub
(``model.save("hf://...")``), so that ``keras.saving.load_model("hf://<repo_id>")`` loads it
without this package. The folder holds:

- ``config.json``, ``metadata.json``, ``model.weights.h5``: written by
  ``keras.saving.save_model(model, folder, zipped=False)`` (its empty ``assets/`` folder left
  out). The weights are stored as float16 when that changes the evaluated accuracy by at most
  ``fp16_tolerance``; Keras and this package cast them back to float32 when loading;
- ``keras_cifar_zoo.json``: the zoo's record of the checkpoint (model, tag, weights file,
  dtype, preprocessing, recipe);
- ``README.md``: the model card, with Hugging Face YAML metadata;
- ``training_log.csv``: the per-epoch training log, when one is given.

The weights files, the ones this package downloads and verifies, are hashed into
``<root>/weights_manifest.json``. ``push=True`` uploads the folder (:func:`hub.push_folder`);
:func:`refresh_model_cards` rewrites the cards and records from the manifest.

Publishes into one root may run at once: each writes its folder and manifest entry under the
manifest's lock file (``weights_manifest.json.lock``), and the two as one step: the folder
is staged beside the old one and swapped in once the manifest lists it, so a failed or killed
publish never leaves a listed checkpoint whose files fail their hash (the next publish
finishes or undoes an interrupted one first).

A checkpoint sharded with ``max_shard_size`` cannot take Keras's layout (``load_model`` reads
one ``model.weights.h5``): it is stored as before, as ``model.weights.json`` and its
``model_NNNNN.weights.h5`` shards beside the record, card and log, without ``config.json`` or
``metadata.json``, and it loads through this package only.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.data import SPLITS, check_dataset, default_class_names
from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError, PublishError, ZooError
from keras_cifar_zoo.preprocessing import Preprocessing
from keras_cifar_zoo.registry import get_info
from keras_cifar_zoo.training import run_record
from keras_cifar_zoo.training.run_record import (
    Measurement,
    RunRecord,
    StandInMeasurement,
    rebuild,
)
from keras_cifar_zoo.weights import hub, resolve_weights
from keras_cifar_zoo.weights.loading import open_checkpoint
from keras_cifar_zoo.weights.manifest import (
    DATASET,
    DATASET_LABELS,
    MANIFEST_FILE,
    CheckpointEntry,
    FileRecord,
    Manifest,
    Metrics,
    RecipeRecord,
    SeedRun,
    check_against_registry,
    file_version,
    load_manifest,
    lock_path,
    manifest_lock,
    parse_entry,
    read_manifest,
    write_manifest,
)
from keras_cifar_zoo.weights.storage import cast_weights_file, matches

__all__ = [
    "PublishResult",
    "cast_weights_file",
    "default_repo_id",
    "publish",
    "refresh_model_cards",
    "sha256_and_size",
]

logger = logging.getLogger(__name__)

HUB_FOLDER = "hub"
WEIGHTS_NAME = "model.weights.h5"
KERAS_CONFIG = "config.json"
KERAS_METADATA = "metadata.json"
RECORD_NAME = "keras_cifar_zoo.json"
CARD_NAME = "README.md"
TRAINING_LOG_NAME = "training_log.csv"
ZOO_LIBRARY = "keras-cifar-zoo"
_WEIGHTS_SUFFIXES = (".weights.h5", ".weights.json")
# What publish writes into a repository folder (besides the weights); it replaces these and
# leaves anything else there alone.
_WRITTEN = (KERAS_CONFIG, KERAS_METADATA, "assets", RECORD_NAME, CARD_NAME, TRAINING_LOG_NAME)
_TAG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_FLOAT16_MAX = float(np.finfo(np.float16).max)
# A training-set label with its size, as describe_copy writes it: "<set> (N images)[, <copy>]".
_COUNTED_SET = re.compile(
    r"^(?P<set>.+ training set) \((?P<total>[\d,]+) images\)(?:, (?P<copy>.+))?$"
)
# Siblings of hub/<repo_id>/ while a publish replaces it (see _commit).
_PARTIAL, _NEW, _OLD = ".publish-partial", ".publish-new", ".publish-old"

Evaluator = Callable[[keras.Model], Mapping[str, Any]]


@dataclasses.dataclass(frozen=True)
class PublishResult:
    """What :func:`publish` wrote.

    Attributes:
        folder: The repository folder ``<root>/hub/<repo_id>/``.
        entry: The manifest entry written.
        manifest_path: The manifest file updated.
        float32_accuracy: Accuracy of the checkpoint as given.
        float16_accuracy: Accuracy after a float16 round trip (None if not measured).
        push: The upload result (None without ``push``).
    """

    folder: Path
    entry: CheckpointEntry
    manifest_path: Path
    float32_accuracy: float
    float16_accuracy: float | None
    push: hub.PushResult | None = None


@dataclasses.dataclass(frozen=True)
class _Measured:
    """The storage dtype chosen and what the checkpoint measures (float16: None if not run)."""

    dtype: str
    float32: Mapping[str, Any]
    float16: Mapping[str, Any] | None

    @property
    def stored(self) -> Mapping[str, Any]:
        """What the stored weights measure."""
        return self.float16 if self.dtype == "float16" else self.float32

    def accuracies(self) -> tuple[float, float | None]:
        """(float32 accuracy, float16 accuracy or None)."""
        half = None if self.float16 is None else float(self.float16["accuracy"])
        return float(self.float32["accuracy"]), half

    def __str__(self) -> str:
        return f"{self.dtype}, accuracy {self.stored['accuracy']:.4f}"


def default_repo_id(name: str, tag: str, dataset: str = DATASET) -> str:
    """The Hub repository a checkpoint is published to: ``keras-cifar-zoo/<name>-<tag>``,
    with the dataset before the tag when it is not CIFAR-10 (``<name>-cifar100-<tag>``)."""
    middle = "" if dataset == DATASET else f"-{dataset}"
    return f"keras-cifar-zoo/{name}{middle}-{tag}"


def sha256_and_size(path: str | os.PathLike) -> FileRecord:
    """The manifest record (name, sha256, size) of a file."""
    path = Path(path)
    return FileRecord(path.name, hub.file_hash(path), path.stat().st_size)


def publish(
    name: str,
    checkpoint: str | os.PathLike,
    *,
    tag: str = "article",
    dataset: str = DATASET,
    root: str | os.PathLike = ".",
    repo_id: str | None = None,
    revision: str = "main",
    default: bool | None = None,
    recipe: str | None = None,
    recipe_settings: Mapping[str, Any] | None = None,
    run_info: Mapping[str, Any] | None = None,
    data: tuple[Any, Any] | None = None,
    data_name: str | None = None,
    data_dir: str | os.PathLike | None = None,
    evaluate_fn: Evaluator | None = None,
    preprocessing: Preprocessing | None = None,
    dtype: str = "auto",
    fp16_tolerance: float = 0.0005,
    max_shard_size: float | None = None,
    training_log: str | os.PathLike | None = None,
    seed_runs: Sequence[str | os.PathLike | Mapping[str, Any] | RunRecord] = (),
    seed_checkpoints: Sequence[str] = (),
    notes: str = "",
    push: bool = False,
    dry_run: bool = False,
    token: str | bool | None = None,
    endpoint: str | None = None,
) -> PublishResult:
    """Publishes a trained checkpoint into ``<root>/hub/<repo_id>/`` and the manifest.

    The folder gets the files the module docstring lists; files of an earlier publish of the
    same checkpoint are replaced, anything else in the folder stays.

    Args:
        name: The zoo model the checkpoint belongs to.
        checkpoint: A ``.weights.h5``, ``.weights.json`` or ``.keras`` file of that model.
        tag: Checkpoint tag (``weights="cifar10:<tag>"``), lower case ``[a-z0-9_.-]``.
        dataset: ``"cifar10"`` or ``"cifar100"``: what the checkpoint was trained on and is
            measured on (``weights="cifar100:<tag>"`` selects a CIFAR-100 one).
        root: Repository root holding ``hub/`` and ``weights_manifest.json``.
        repo_id: Hub repository; default ``keras-cifar-zoo/<name>-<tag>``.
        revision: Hub revision recorded in the manifest (replaced by the commit on push).
        default: Make it the model's default checkpoint; default: if it has none yet (or
            this tag already is).
        recipe: Recipe name; default ``run_info["recipe"]``.
        recipe_settings: The recipe's settings; default ``get_recipe(recipe).to_config()``.
        run_info: How it was trained: ``epochs``, ``wall_time_s``, ``hardware``,
            ``backend``, ``training_data`` (required), ``keras_version``, ``seed``,
            ``seed_runs``, ``data``,
            ``date``, ``recipe`` (optional): the keys of the manifest's ``metrics``, as
            ``train-plan`` writes them in ``metrics.json`` (a
            :class:`~keras_cifar_zoo.training.run_record.RunRecord` is taken as well).
            ``train_images`` and ``precision`` (optional, from ``train-plan``): how many
            training images the run used (fewer than the whole set narrows
            ``training_data`` to them) and its dtype policy, both kept in the recipe
            settings.
        data: ``(images, labels)`` to evaluate on; default: the test set of ``dataset``.
        data_name: The test-set copy the metrics are measured on; default
            ``describe_copy(data_dir)`` when measuring on ``data_dir``, else
            ``run_info["data"]``.
        data_dir: Where the test set is looked for first.
        evaluate_fn: ``model -> {accuracy, loss, num_images}``; default
            ``keras_cifar_zoo.evaluate`` on ``data``.
        preprocessing: The preprocessing the checkpoint was trained with; default: stored
            in a ``.keras`` file, the ImageNet weights' for a recipe starting from them,
            else the model's.
        dtype: ``"auto"`` (float16 if the accuracy holds), ``"float16"`` or ``"float32"``.
            A checkpoint whose weights are float16 values already (stored as float16) is
            stored as float16 under ``"auto"`` and measured once.
        fp16_tolerance: Largest accuracy change (absolute, 0.0005 = 0.05 points) that
            float16 storage may cause under ``"auto"``.
        max_shard_size: Shard the weights into files of at most this many GB (Keras's
            ``max_shard_size``); default one file. A sharded checkpoint has no Keras
            ``config.json`` (see the module docstring).
        training_log: The per-epoch training log, a CSV with an ``epoch`` column (the
            ``history.csv`` that ``fit_cifar10`` writes in its ``checkpoint_dir``); copied
            into the folder as ``training_log.csv``.
        seed_runs: The records of other seeds of the same run (``metrics.json`` paths,
            mappings or :class:`~keras_cifar_zoo.training.run_record.RunRecord`), each of the
            same model, recipe, dataset and epochs and measured on the test set: the manifest
            and the model card list every seed, this checkpoint's first, with their mean and
            standard deviation (instead of ``run_info["seed_runs"]``).
        seed_checkpoints: Tags of checkpoints of this model and dataset, published before in
            ``root``'s manifest, that are other seeds of the same run (such as
            ``"improved-seed1"``): taken as ``seed_runs`` with the accuracy and loss their
            entries record, so seeds trained at different times are combined and every seed's
            number stays checkable against its published weights.
        notes: Free text for the manifest and model card (e.g. a missed target).
        push: Upload the folder to the Hub afterwards.
        dry_run: List what ``push`` would upload and upload nothing (implies ``push``).
        token: Hub token for the upload.
        endpoint: Hub URL for the upload (default ``HF_ENDPOINT``).

    Returns:
        A :class:`PublishResult`.

    Raises:
        InvalidArgumentError: For a bad argument, missing training information, a
            ``repo_id`` whose folder holds another checkpoint, a training log that is not a
            per-epoch CSV, or a checkpoint that does not fit the model.
        ManifestError: If the manifest (old or new) breaks its schema or the registry.
        PublishError: If the repository folder or the manifest cannot be written (checked
            before the checkpoint is measured); the previous checkpoint is left as it was.
        HubError: If the upload fails.

    Example:
        >>> publish("resnet20_v1", "runs/r20/model.keras", tag="article",
        ...         run_info={"epochs": 200, "wall_time_s": 40000.0, "hardware": "2 CPU cores",
        ...                   "backend": "tensorflow", "training_data": "lossless copy"},
        ...         data_dir=".data", training_log="runs/r20/history.csv")  # doctest: +SKIP
    """
    # 1. Validate every input before anything is loaded or written.
    info = get_info(name)
    _check_arguments(tag, dtype, default)
    dataset = check_dataset(dataset)
    repo_id = repo_id or default_repo_id(name, tag, dataset)
    runinfo = _run_info(run_info)
    recipe_name, settings = _recipe(recipe, recipe_settings, runinfo)
    root = Path(root)
    folder, manifest_path = root / HUB_FOLDER / repo_id, root / MANIFEST_FILE
    seed_runs = [
        *_as_list(seed_runs),
        *_published_seeds(seed_checkpoints, manifest_path, name, dataset),
    ]
    other_seeds = _other_seeds(seed_runs, runinfo, name, recipe_name, dataset)
    data_label = _data_label(data_name, data, data_dir, {"data": runinfo.data}, dataset)
    log = _training_log(training_log)
    evaluate_fn = evaluate_fn or _default_evaluator(data, data_dir, dataset)
    _check_writable(root, folder, manifest_path)  # before the slow part, not after it
    if _leftovers(root):
        with manifest_lock(manifest_path):
            _recover(root)
    _check_repo_is_free(_read_entries(manifest_path), name, tag, repo_id, dataset)

    # 2. The checkpoint as given (float32 in memory), with the preprocessing it was trained with.
    preprocessing = _preprocessing(name, checkpoint, preprocessing, settings)
    model = _build_and_load(name, checkpoint, preprocessing)

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        # 3. Measure float32, and float16 where it may be stored; choose the storage dtype.
        measured = _measure(
            name, model, preprocessing, evaluate_fn, dtype, fp16_tolerance, max_shard_size, scratch
        )
        # 4. Stage the repository files; validate the new manifest before touching the folder.
        stage = scratch / "stage"
        weights = _stage_files(model, stage, measured.dtype, max_shard_size, log)
        entry = CheckpointEntry(
            model=name,
            tag=tag,
            default=False,  # decided with the other entries
            repo_id=repo_id,
            revision=revision,
            files=tuple(sha256_and_size(p) for p in weights),
            dtype=measured.dtype,
            num_params=model.count_params(),
            num_classes=int(model.output_shape[-1]),
            input_shape=(32, 32, 3),
            preprocessing=preprocessing,
            recipe=RecipeRecord(name=recipe_name, settings=settings),
            metrics=_metrics(measured.stored, runinfo, data_label, other_seeds),
            notes=notes,
            dataset=dataset,
        )
        entry = parse_entry(entry.to_dict(), where=f"{entry.model}:{entry.tag}")
        # 5. The folder (with the zoo's record and the model card) and the manifest entry, as
        # one step under the manifest's lock.
        entry = _commit(stage, folder, manifest_path, entry, default, info)
    logger.info("Published %s to %s (%s)", entry.identifier, folder, measured)

    # 6. Optionally upload the folder, pinning the manifest to the commit uploaded.
    pushed = None
    if push or dry_run:
        pushed = hub.push_folder(
            folder, repo_id, revision=revision, token=token, endpoint=endpoint, dry_run=dry_run
        )
        if pushed.commit and not dry_run:
            entry = _pinned(entry, pushed.commit, manifest_path)
    accuracy32, accuracy16 = measured.accuracies()
    return PublishResult(folder, entry, manifest_path, accuracy32, accuracy16, pushed)


# ---------------------------------------------------------------------------------------------
# 1. Validating the inputs


def _check_arguments(tag: Any, dtype: Any, default: Any) -> None:
    if not isinstance(tag, str) or not _TAG.match(tag):
        raise InvalidArgumentError(
            f"tag must be lower case letters, digits, '_', '.' or '-', starting with a letter "
            f"or digit (e.g. 'article', 'improved'). Received: tag={tag!r}"
        )
    if dtype not in ("auto", "float16", "float32"):
        raise InvalidArgumentError(
            f"dtype must be 'auto', 'float16' or 'float32'. Received: dtype={dtype!r}"
        )
    if default is not None and not isinstance(default, bool):
        raise InvalidTypeError(
            f"default must be True, False or None. Received: default={default!r}"
        )


def _run_info(run_info: Mapping[str, Any] | RunRecord | None) -> RunRecord:
    """The run's record (old ``metrics.json`` keys renamed), its training data narrowed to
    the images it trained on; refuses a record whose accuracy is a stand-in."""
    record = run_info if isinstance(run_info, RunRecord) else RunRecord.from_dict(run_info or {})
    if isinstance(record.measurement, StandInMeasurement):
        raise InvalidArgumentError(
            "run_info holds a stand-in measurement, made on images that are not the test set "
            f"({record.data}): measure the run on the test set first (scripts/gpu_plan_run.py "
            "evaluate rewrites its metrics.json), then publish it. Received: run_info "
            f"accuracy={record.accuracy!r}"
        )
    missing = record.missing()
    if missing:
        raise InvalidArgumentError(
            f"run_info lacks {', '.join(missing)}: the manifest records how each checkpoint "
            "was trained (epochs, wall_time_s in seconds, hardware, backend, training_data: "
            "the copy of the training set, keras_cifar_zoo.data.describe_copy(folder, "
            "'train')), and nothing is guessed. Pass them in run_info= (as epochs=, "
            f"wall_time_s=, hardware=, backend=, training_data=). Received: run_info "
            f"keys={sorted(record.to_dict())}"
        )
    return record.replace(training_data=_training_data(record.training_data, record.train_images))


def _as_list(given: Any) -> list:
    if isinstance(given, (str, os.PathLike, Mapping, RunRecord)):
        return [given]  # one given on its own
    return list(given)


def _published_seeds(tags: Any, manifest_path: Path, name: str, dataset: str) -> list[RunRecord]:
    """The run records that the manifest's entries of ``name`` and ``dataset`` under ``tags``
    hold, for ``seed_runs``."""
    tags = _as_list(tags)
    if not tags:
        return []
    entries = {
        e.tag: e for e in _read_entries(manifest_path) if (e.model, e.dataset) == (name, dataset)
    }
    records = []
    for tag in tags:
        entry = entries.get(tag)
        if entry is None:
            raise InvalidArgumentError(
                f"seed_checkpoints= names {dataset}:{tag}, which {manifest_path} does not list "
                f"for {name}: publish that seed first (with its own tag), or leave it out. "
                f"Published tags of {name} on {dataset}: {sorted(entries) or 'none'}. "
                f"Received: seed_checkpoints={tags}"
            )
        m = entry.metrics
        records.append(
            RunRecord(
                model=entry.model,
                recipe=entry.recipe.name,
                seed=m.seed,
                dataset=entry.dataset,
                epochs=m.epochs,
                measurement=Measurement(m.accuracy, m.loss, m.num_images),
                extra={"checkpoint": f"{dataset}:{tag}"},
            )
        )
    return records


def _other_seeds(
    seed_runs: Any, run: RunRecord, name: str, recipe: str, dataset: str
) -> tuple[RunRecord, ...]:
    """The records of ``seed_runs``, sorted by seed, each checked against the published run:
    the same model, recipe, dataset and epochs, another seed, measured on the test set."""
    seed_runs = _as_list(seed_runs)
    if not seed_runs:
        return ()
    if run.extra.get("seed_runs"):
        raise InvalidArgumentError(
            "Give the other seeds either as seed_runs= or as the seed_runs key of run_info=, "
            "not both. "
            f"Received: {len(seed_runs)} seed_runs and run_info['seed_runs']"
        )
    if run.seed is None:
        raise InvalidArgumentError(
            "seed_runs= names the other seeds of this run, so the run needs its own seed: add "
            "seed to run_info=. Received: run_info seed=None"
        )
    records, seen = [], {int(run.seed)}
    for given in seed_runs:
        record = _seed_record(given)
        keyword = "seed_checkpoints" if "checkpoint" in record.extra else "seed_runs"
        if isinstance(given, (str, os.PathLike)):
            where = str(given)
        elif keyword == "seed_checkpoints":
            where = f"the published checkpoint {record.extra['checkpoint']}"
        else:
            where = "a seed_runs record"
        problems = [
            f"{key} {theirs!r} (this run: {ours!r})"
            for key, theirs, ours in (
                ("model", record.model, name),
                ("recipe", record.recipe, recipe),
                ("dataset", record.dataset, dataset),
                ("epochs", record.epochs, run.epochs),
            )
            if theirs != ours
        ]
        if not isinstance(record.measurement, Measurement) or record.measurement.loss is None:
            problems.append("no test-set accuracy and loss")
        if record.seed is None or int(record.seed) in seen:
            problems.append(f"seed {record.seed!r}, which is not another seed")
        if problems:
            raise InvalidArgumentError(
                f"{keyword}= must name other seeds of the same run, but {where} has "
                f"{'; '.join(problems)}. Received: seed_runs={[_named(g) for g in seed_runs]}"
            )
        seen.add(int(record.seed))
        records.append(record)
    return tuple(sorted(records, key=lambda r: int(r.seed)))


def _named(given: Any) -> str:
    """How an error names a seed run: its path, or the published checkpoint it came from."""
    if isinstance(given, RunRecord) and "checkpoint" in given.extra:
        return str(given.extra["checkpoint"])
    return str(given)


def _seed_record(given: Any) -> RunRecord:
    """A seed run's record from a ``metrics.json`` path (or its folder), a mapping or a
    record."""
    if isinstance(given, RunRecord):
        return given
    if isinstance(given, Mapping):
        return RunRecord.from_dict(given)
    record = run_record.read(given, fix="Measure the run again, or leave it out of seed_runs.")
    if record is None:
        raise InvalidArgumentError(
            f"seed_runs names {given}, which holds no metrics.json of a finished run. "
            f"Received: seed_runs entry {str(given)!r}"
        )
    return record


def _recipe(
    recipe: str | None, settings: Mapping[str, Any] | None, run: RunRecord
) -> tuple[str, dict]:
    name = recipe or run.recipe
    if not name:
        raise InvalidArgumentError(
            "Say which recipe trained the checkpoint as recipe= (such as 'article_001'), so the "
            "manifest can record it. Received: recipe=None"
        )
    if settings is None:
        from keras_cifar_zoo.training import get_recipe

        settings = get_recipe(name).to_config()
        # The run's own schedule length and batch size when it overrode the recipe's (a plan
        # job's "epochs"); an early-stopped run keeps the planned length it was scheduled over.
        if run.epochs is not None:
            settings["epochs"] = int(run.epochs_planned or run.epochs)
        if run.batch_size is not None:
            settings["batch_size"] = int(run.batch_size)
        # How the run trained beyond the recipe: its dtype policy, and its image count.
        if run.precision is not None:
            settings["precision"] = run.precision
        if run.train_images is not None:
            settings["train_images"] = run.train_images
    return str(name), json.loads(json.dumps(settings))  # plain JSON types only


def _data_label(
    data_name: str | None,
    data: tuple[Any, Any] | None,
    data_dir: str | os.PathLike | None,
    info: Mapping[str, Any],
    dataset: str,
) -> str:
    """Names the test set the metrics are measured on, with its copy."""
    label = data_name
    if not label and data is None and data_dir is not None:
        from keras_cifar_zoo.data import describe_copy

        # what is measured, whatever run_info says
        label = describe_copy(data_dir, dataset=dataset)
    label = label or info.get("data")
    if not label:
        raise InvalidArgumentError(
            "data_name must name the data the metrics are measured on, with its copy (e.g. "
            "'CIFAR-10 test set (10,000 images), lossless copy'), or data_dir must point at a "
            "copy that says what it is (SOURCE.txt); tables print it beside every number. "
            "Received: data_name=None"
        )
    return str(label)


def _training_log(path: str | os.PathLike | None) -> Path | None:
    """Checks that a training log is a per-epoch CSV: a header with ``epoch``, one row or more."""
    if path is None:
        return None
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidArgumentError(
            f"training_log must be a readable CSV file ({exc}). Received: "
            f"training_log={str(path)!r}"
        ) from None
    if not rows or "epoch" not in rows[0] or not any(rows[1:]):
        raise InvalidArgumentError(
            "training_log must be a per-epoch CSV with an 'epoch' column and a row per epoch, "
            "such as the history.csv fit_cifar10 writes in its checkpoint_dir. Received: "
            f"training_log={str(path)!r} with header {rows[0] if rows else []}"
        )
    return path


def _default_evaluator(data: Any, data_dir: Any, dataset: str = DATASET) -> Evaluator:
    def run(model: keras.Model) -> Mapping[str, Any]:
        from keras_cifar_zoo.training import evaluate

        return evaluate(model, data=data, data_dir=data_dir, dataset=dataset)

    return run


def _read_entries(manifest_path: Path) -> list[CheckpointEntry]:
    """The manifest's entries as the file holds them now (never a cached copy)."""
    if not manifest_path.is_file():
        return []  # a new manifest; written once the entry is validated
    return list(read_manifest(manifest_path).entries)


def _check_writable(root: Path, folder: Path, manifest_path: Path) -> None:
    """Refuses a root where the repository folder or the manifest cannot be written, before
    the checkpoint is measured (which takes minutes on the real test set)."""
    received = f"Received: root={str(root)!r}"
    repo = folder.relative_to(root / HUB_FOLDER).as_posix()
    chain = [root]
    for part in folder.relative_to(root).parts:
        chain.append(chain[-1] / part)
    for path in chain:
        if path.exists() and not path.is_dir():
            raise PublishError(
                f"{path} is a file, where publish needs a folder: the repository goes into "
                f"{HUB_FOLDER}/{repo}/ under the root. Move the file away or publish into "
                f"another root. {received}"
            )
    if manifest_path.exists() and not manifest_path.is_file():
        raise PublishError(
            f"{manifest_path} is not a file: publish writes the weights manifest there. Move "
            f"it away or publish into another root. {received}"
        )
    if manifest_path.is_file() and not os.access(manifest_path, os.W_OK):
        raise PublishError(
            f"The weights manifest {manifest_path} is read-only, and publish replaces it. "
            f"Make it writable (chmod u+w; a read-only mount cannot be), or publish into "
            f"another root. {received}"
        )
    # The repository's parent folder takes the new folder beside the old one; the root takes
    # the manifest and its lock. Folders that do not exist yet are made in the nearest one.
    for needed, what in ((folder.parent, f"{HUB_FOLDER}/{repo}/"), (root, MANIFEST_FILE)):
        existing = next(p for p in (needed, *needed.parents) if p.exists())
        if not existing.is_dir():
            raise PublishError(
                f"{existing} is a file, where publish needs a folder for {what}. Move the file "
                f"away or publish into another root. {received}"
            )
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as exc:
            raise PublishError(
                f"Cannot write into {existing} ({exc.strerror or exc}), where publish writes "
                f"{what}. Make it writable or publish into another root. {received}"
            ) from None


def _check_repo_is_free(
    entries: list[CheckpointEntry], name: str, tag: str, repo_id: str, dataset: str = DATASET
) -> None:
    """Refuses a repository folder that holds another checkpoint (its files would be replaced)."""
    for entry in entries:
        if entry.repo_id == repo_id and (entry.model, entry.dataset, entry.tag) != (
            name,
            dataset,
            tag,
        ):
            raise InvalidArgumentError(
                f"{HUB_FOLDER}/{repo_id}/ already holds {entry.model} {entry.identifier}; "
                f"publishing {name} with tag {tag!r} there would replace its weights and model "
                f"card. Use a repository of its own (the default is "
                f"{default_repo_id(name, tag, dataset)}). Received: repo_id={repo_id!r}"
            )


# ---------------------------------------------------------------------------------------------
# 2. Building the model and loading the checkpoint


def _preprocessing(
    name: str,
    checkpoint: str | os.PathLike,
    given: Preprocessing | None,
    settings: Mapping[str, Any],
) -> Preprocessing:
    """The preprocessing the checkpoint was trained with: given, stored in a ``.keras`` file,
    the ImageNet weights' for a recipe starting from them, else the model's."""
    if given is not None:
        return given
    with open_checkpoint(checkpoint) as ckpt:
        stored = ckpt.preprocessing
    initial = settings.get("initial_weights")
    if stored is not None and stored.name == "custom" and initial:
        # A fine-tuned model keeps the preprocessing of the weights it started from: name it so.
        start = resolve_weights(name, initial)
        if start is not None and start.preprocessing and start.preprocessing.computes_like(stored):
            return start.preprocessing
    if stored is not None:
        return stored
    if settings.get("initial_weights") == "imagenet":
        return resolve_weights(name, "imagenet").preprocessing
    return get_info(name).preprocessing


def _build_and_load(
    name: str, checkpoint: str | os.PathLike, preprocessing: Preprocessing
) -> keras.Model:
    """The zoo model, built with ``preprocessing``, holding the checkpoint's weights (and as
    many outputs as it has classes)."""
    with open_checkpoint(checkpoint) as ckpt:
        num_classes = ckpt.num_classes or 10
    return rebuild(name, checkpoint, preprocessing=preprocessing, num_classes=num_classes)


# ---------------------------------------------------------------------------------------------
# 3. Measuring float32 and float16


def _measure(
    name: str,
    model: keras.Model,
    preprocessing: Preprocessing,
    evaluate_fn: Evaluator,
    dtype: str,
    fp16_tolerance: float,
    max_shard_size: float | None,
    scratch: Path,
) -> _Measured:
    """Measures the checkpoint as given and, where float16 storage is possible, after a
    float16 round trip; chooses the storage dtype (``dtype`` unless ``"auto"``)."""
    result32 = _evaluate(evaluate_fn, model)
    logger.info("%s float32: accuracy %.4f", name, result32["accuracy"])
    if dtype == "float32":
        return _Measured("float32", result32, None)
    if _holds_float16_values(model):
        logger.info("%s: the weights are float16 values already; storing float16", name)
        return _Measured("float16", result32, result32)
    if dtype == "auto" and not _fits_float16(model):
        logger.info("%s: weights exceed the float16 range; storing float32", name)
        return _Measured("float32", result32, None)
    files16 = _save_weights(model, scratch / "f16", "float16", max_shard_size)
    model16 = _build_and_load(name, files16[0], preprocessing)
    result16 = _evaluate(evaluate_fn, model16)
    change = abs(result16["accuracy"] - result32["accuracy"])
    logger.info(
        "%s float16: accuracy %.4f (change %.4f, tolerance %.4f)",
        name,
        result16["accuracy"],
        change,
        fp16_tolerance,
    )
    if dtype == "auto" and change > fp16_tolerance:
        return _Measured("float32", result32, result16)
    return _Measured("float16", result32, result16)


def _evaluate(evaluate_fn: Evaluator, model: keras.Model) -> dict[str, Any]:
    result = dict(evaluate_fn(model))
    for key in ("accuracy", "loss", "num_images"):
        if key not in result:
            raise InvalidArgumentError(
                f"evaluate_fn must return accuracy, loss and num_images (as "
                f"keras_cifar_zoo.evaluate does). Received: keys={sorted(result)}"
            )
    return result


def _fits_float16(model: keras.Model) -> bool:
    return all(
        float(np.max(np.abs(keras.ops.convert_to_numpy(w)), initial=0.0)) < _FLOAT16_MAX
        for w in model.weights
    )


def _holds_float16_values(model: keras.Model) -> bool:
    """True if every float weight survives a float16 round trip unchanged.

    That is the case for a checkpoint that was stored as float16 already: storing it as
    float16 again changes no value, so the model measures the same and needs no second
    evaluation.
    """
    for weight in model.weights:
        array = keras.ops.convert_to_numpy(weight)
        if array.dtype.kind != "f":
            continue
        if not np.array_equal(array, array.astype(np.float16).astype(array.dtype)):
            return False
    return True


# ---------------------------------------------------------------------------------------------
# 4. Staging the repository files


def _stage_files(
    model: keras.Model,
    stage: Path,
    dtype: str,
    max_shard_size: float | None,
    training_log: Path | None,
) -> list[Path]:
    """Writes the model (Keras's layout, or sharded weights) and the training log into
    ``stage``; returns the weights files, the file to load first."""
    if max_shard_size is None:
        weights = _save_keras_model(model, stage, dtype)
    else:
        weights = _save_weights(model, stage, dtype, max_shard_size)
    if training_log is not None:
        shutil.copyfile(training_log, stage / TRAINING_LOG_NAME)
    return weights


def _save_keras_model(model: keras.Model, folder: Path, dtype: str) -> list[Path]:
    """``keras.saving.save_model(model, folder, zipped=False)``, the weights cast to ``dtype``
    and the ``assets/`` folder dropped when empty; returns ``[model.weights.h5]``."""
    keras.saving.save_model(model, folder, zipped=False)
    assets = folder / "assets"
    if assets.is_dir() and not any(assets.iterdir()):
        assets.rmdir()
    weights = folder / WEIGHTS_NAME
    if dtype != "float32":
        full = folder / f"float32.{WEIGHTS_NAME}"
        weights.rename(full)
        cast_weights_file(full, weights, dtype)
        full.unlink()
    return [weights]


def _save_weights(
    model: keras.Model, folder: Path, dtype: str, max_shard_size: float | None
) -> list[Path]:
    """Saves the model's weights into ``folder`` in ``dtype``; returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        tmp_dir = Path(tmp)
        if max_shard_size is None:
            model.save_weights(tmp_dir / WEIGHTS_NAME)
        else:
            model.save_weights(tmp_dir / "model.weights.json", max_shard_size=max_shard_size)
        written = []
        for path in sorted(tmp_dir.iterdir()):
            target = folder / path.name
            if path.name.endswith(".weights.h5"):
                cast_weights_file(path, target, dtype)
            else:
                shutil.copyfile(path, target)
            written.append(target)
    index = [p for p in written if p.name.endswith(".weights.json")]
    if index:  # keep the index's total size true to the stored dtype
        document = json.loads(index[0].read_text())
        shards = [p for p in written if p.name.endswith(".weights.h5")]
        document.setdefault("metadata", {})["total_size"] = float(
            sum(p.stat().st_size for p in shards)
        )
        index[0].write_text(json.dumps(document, indent=4))
        written = index + shards  # the index first: it is the file to load
    return written


def _metrics(
    result: Mapping[str, Any],
    run: RunRecord,
    data_label: str,
    other_seeds: Sequence[RunRecord] = (),
) -> Metrics:
    if other_seeds:  # this checkpoint's seed first, as measured here
        first = SeedRun(int(run.seed), float(result["accuracy"]), float(result["loss"]))
        others = (
            SeedRun(
                int(r.seed),
                float(r.accuracy),
                float(r.measurement.loss),
                checkpoint=r.extra.get("checkpoint"),
            )
            for r in other_seeds
        )
        runs = (first, *others)
    else:
        runs = tuple(
            SeedRun(int(r["seed"]), float(r["accuracy"]), float(r["loss"]))
            for r in run.extra.get("seed_runs", ())
        )
    return Metrics(
        accuracy=float(result["accuracy"]),
        loss=float(result["loss"]),
        data=str(data_label),
        num_images=int(result["num_images"]),
        epochs=int(run.epochs),
        wall_time_s=float(run.wall_time_s),
        hardware=str(run.hardware),
        backend=str(run.backend),
        keras_version=str(run.keras_version or keras.__version__),
        date=str(run.date or datetime.date.today().isoformat()),
        training_data=str(run.training_data),
        seed=None if run.seed is None else int(run.seed),
        seed_runs=runs,
    )


def _training_data(label: str, used: Any) -> str:
    """The manifest's ``training_data``: the run's label, narrowed to the images the run
    trained on (``train_images``, as ``train-plan`` writes it) when that is not the whole set.

    ``"CIFAR-10 training set (50,000 images), lossless copy"`` with ``train_images=64``
    becomes ``"CIFAR-10 training set, its first 64 of 50,000 images (lossless copy)"``.
    """
    label = str(label)
    if used is None:
        return label
    if not isinstance(used, int) or isinstance(used, bool) or used < 1:
        raise InvalidArgumentError(
            "run_info train_images must be the number of training images the run used, a "
            f"positive int (train-plan writes it in metrics.json). Received: train_images="
            f"{used!r}"
        )
    counted = _COUNTED_SET.match(label)
    if counted:
        name, total, copy = counted["set"], int(counted["total"].replace(",", "")), counted["copy"]
    elif label.endswith(" training set"):  # named without its size: the dataset's own
        name, total, copy = label, SPLITS["train"][1], None
    else:  # some other data: say how much of it
        return f"{label} ({used:,} images)"
    if used > total:
        raise InvalidArgumentError(
            f"run_info train_images={used:,} exceeds the {total:,} images of the training set "
            f"that training_data names. Pass the run's own metrics.json (or fix "
            f"training_data). Received: train_images={used!r}, training_data={label!r}"
        )
    if used == total:
        return label
    part = f"{name}, its first {used:,} of {total:,} images"
    return f"{part} ({copy})" if copy else part


def _updated_manifest(
    entries: list[CheckpointEntry],
    manifest_path: Path,
    entry: CheckpointEntry,
    default: bool | None,
) -> tuple[list[CheckpointEntry], CheckpointEntry]:
    """``entries`` with ``entry`` added or replaced, checked against the registry; and
    ``entry`` as it stands there (with its ``default``)."""
    entries = _updated(entries, entry, default)
    check_against_registry(Manifest(entries=tuple(entries), source=str(manifest_path)))
    return entries, _find(entries, entry)


def _updated(
    entries: list[CheckpointEntry], new: CheckpointEntry, default: bool | None
) -> list[CheckpointEntry]:
    others = [e for e in entries if _key(e) != _key(new)]
    same_model = [e for e in others if (e.model, e.dataset) == (new.model, new.dataset)]
    replaced = [e for e in entries if _key(e) == _key(new)]
    if default is None:
        default = not any(e.default for e in same_model) or any(e.default for e in replaced)
    new = dataclasses.replace(new, default=default)
    if default:
        others = [dataclasses.replace(e, default=False) if e in same_model else e for e in others]
    elif not any(e.default for e in same_model):
        raise InvalidArgumentError(
            f"{new.model} would have no default checkpoint: publish this one with "
            f"default=True. Received: default=False"
        )
    return [*others, new]


def _key(entry: CheckpointEntry) -> tuple[str, str, str]:
    """What identifies a checkpoint in the manifest."""
    return (entry.model, entry.dataset, entry.tag)


def _find(entries: list[CheckpointEntry], entry: CheckpointEntry) -> CheckpointEntry:
    return next(e for e in entries if _key(e) == _key(entry))


def _commit(
    stage: Path,
    folder: Path,
    manifest_path: Path,
    entry: CheckpointEntry,
    default: bool | None,
    info: Any,
) -> CheckpointEntry:
    """Installs the staged files as ``folder`` and the entry in the manifest, as one step.

    Under the manifest's lock, so that concurrent publishes each add their entry: the new
    folder is built beside the old one (``.<name>.publish-partial``, renamed
    ``.<name>.publish-new`` once complete); replacing the manifest (atomically) is the commit
    point; then two renames swap the old folder out and the new one in. Until the commit the
    old folder and the manifest are untouched, so a failure (or a kill) leaves the previous
    checkpoint loading; a publish killed after it leaves the new folder beside the old, and
    the next publish (or :func:`refresh_model_cards`) finishes the swap first.

    Returns:
        ``entry`` as it stands in the manifest (with its ``default``).
    """
    root = manifest_path.parent
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PublishError(
            f"Cannot create the root folder {root} ({exc.strerror or exc}). Make its parent "
            f"writable or publish into another root. Received: root={str(root)!r}"
        ) from None
    with manifest_lock(manifest_path):
        _recover(root)
        read = file_version(manifest_path)
        entries = _read_entries(manifest_path)
        _check_repo_is_free(entries, entry.model, entry.tag, entry.repo_id, entry.dataset)
        entries, entry = _updated_manifest(entries, manifest_path, entry, default)
        partial, new = _beside(folder, _PARTIAL), _beside(folder, _NEW)
        step = "folder"
        try:
            _build_folder(stage, folder, partial)
            _write_record_and_card(partial, entry, info)
            partial.rename(new)
            step = "manifest"
            _check_unchanged(manifest_path, read)
            write_manifest(entries, manifest_path)
        except BaseException as exc:
            for staged in (partial, new):
                shutil.rmtree(staged, ignore_errors=True)
            if isinstance(exc, OSError) and not isinstance(exc, ZooError):
                raise _write_failed(step, exc, folder, manifest_path) from exc
            raise
        _switch(new, folder)
    return entry


def _check_unchanged(manifest_path: Path, read: tuple[int, int, int] | None) -> None:
    """Refuses to replace a manifest that changed since this publish read it: a writer that
    ignored (or could not see) the lock would otherwise lose its entry without a word."""
    if file_version(manifest_path) != read:
        raise PublishError(
            f"The weights manifest {manifest_path} changed while this publish held its lock "
            f"({lock_path(manifest_path)}), so another writer did not take the lock (a copy "
            "of the root on a file system without locks, or an editor). Nothing was replaced: "
            f"publish again once that writer is done. Received: manifest={str(manifest_path)!r}"
        )


def _write_failed(step: str, exc: OSError, folder: Path, manifest_path: Path) -> PublishError:
    why = exc.strerror or str(exc)
    kept = (
        f"{folder} and the manifest were left as they were: the checkpoint the manifest lists "
        "there still loads."
    )
    if step == "manifest":
        return PublishError(
            f"Cannot replace the weights manifest {manifest_path} ({why}); a read-only or "
            f"bind-mounted file cannot be replaced. Make it a writable file in a writable "
            f"folder, then publish again. {kept} Received: manifest={str(manifest_path)!r}"
        )
    return PublishError(
        f"Cannot write the repository folder beside {folder} ({why}). Free space or make "
        f"{folder.parent} writable, then publish again. {kept} Received: folder={str(folder)!r}"
    )


def _beside(folder: Path, suffix: str) -> Path:
    """A hidden sibling of ``folder`` (``.<name><suffix>``), on the same file system."""
    return folder.with_name(f".{folder.name}{suffix}")


def _build_folder(stage: Path, folder: Path, target: Path) -> None:
    """Fills ``target`` with what ``folder`` is to hold: the staged files, and whatever
    ``folder`` holds that publish does not write (a ``.gitattributes``), kept as it is."""
    target.mkdir(parents=True)
    if folder.is_dir():
        for old in folder.iterdir():
            if old.name not in _WRITTEN and not old.name.endswith(_WEIGHTS_SUFFIXES):
                _keep(old, target / old.name)
    for path in sorted(stage.iterdir()):
        shutil.move(path, target / path.name)


def _keep(src: Path, dst: Path) -> None:
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(src, dst)


def _link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    try:
        os.link(src, dst)  # the same file system: instant, whatever the size
    except OSError:
        shutil.copy2(src, dst)


def _switch(new: Path, folder: Path) -> None:
    """Moves the committed ``new`` folder into place of ``folder`` (set aside, then removed)."""
    old = _beside(folder, _OLD)
    try:
        if folder.exists():
            folder.rename(old)
        new.rename(folder)
    except OSError as exc:
        raise PublishError(
            f"The weights manifest lists the new checkpoint, but moving it into {folder} "
            f"failed ({exc.strerror or exc}). Fix that, then run publish again: it finishes "
            f"the move first. Received: folder={str(folder)!r}"
        ) from exc
    shutil.rmtree(old, ignore_errors=True)


def _leftovers(root: Path) -> list[Path]:
    """Repository folders next to which an interrupted publish left staged or old files."""
    found = set()
    for suffix in (_PARTIAL, _NEW, _OLD):
        for path in (root / HUB_FOLDER).glob(f"*/.*{suffix}"):
            found.add(path.with_name(path.name[1 : -len(suffix)]))
    return sorted(found)


def _recover(root: Path) -> None:
    """Finishes or undoes what interrupted publishes left under ``<root>/hub/``; run under
    the manifest's lock, so nothing found belongs to a publish still running.

    A complete new folder whose weights the manifest lists was committed: it is moved into
    place (its record and card rewritten from the entry). Any other staged folder is removed.
    An old folder set aside goes back where its place is empty and is removed otherwise.
    """
    manifest_path = root / MANIFEST_FILE
    _remove_stale_temp_files(manifest_path)
    folders = _leftovers(root)
    if not folders:
        return
    by_repo = {e.repo_id: e for e in _read_entries(manifest_path)}
    for folder in folders:
        entry = by_repo.get(folder.relative_to(root / HUB_FOLDER).as_posix())
        try:
            _recover_folder(folder, entry)
        except OSError as exc:
            raise PublishError(
                f"Cannot finish or undo the interrupted publish beside {folder} "
                f"({exc.strerror or exc}). Make {folder.parent} writable, or move its hidden "
                f"'.{folder.name}.publish-*' folders away, then publish again. "
                f"Received: root={str(root)!r}"
            ) from exc


def _recover_folder(folder: Path, entry: CheckpointEntry | None) -> None:
    partial, new, old = (_beside(folder, s) for s in (_PARTIAL, _NEW, _OLD))
    shutil.rmtree(partial, ignore_errors=True)
    if new.is_dir():
        if entry is not None and matches(new, entry.files):
            if folder.exists():
                shutil.rmtree(old, ignore_errors=True)
                folder.rename(old)
            new.rename(folder)
            _write_record_and_card(folder, entry, get_info(entry.model))
            logger.warning(
                "Finished an interrupted publish: %s now holds %s %s, as the manifest says",
                folder,
                entry.model,
                entry.identifier,
            )
        else:
            shutil.rmtree(new)
            logger.warning(
                "Removed %s: an interrupted publish staged it, and the manifest does not list it",
                new,
            )
    if old.exists():
        if folder.exists():
            shutil.rmtree(old)
        else:
            old.rename(folder)


def _remove_stale_temp_files(manifest_path: Path) -> None:
    """Removes manifest temp files (``.<manifest>.<pid>.tmp``) of writers no longer running."""
    if os.name != "posix":
        return
    for tmp in manifest_path.parent.glob(f".{manifest_path.name}.*.tmp"):
        pid = tmp.name[len(manifest_path.name) + 2 : -len(".tmp")]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            tmp.unlink(missing_ok=True)
        except OSError:  # alive, owned by someone else
            pass


# ---------------------------------------------------------------------------------------------
# 5. The zoo's record and the model card


def _write_record_and_card(folder: Path, entry: CheckpointEntry, info: Any) -> None:
    """Writes ``keras_cifar_zoo.json`` and ``README.md`` for the files already in ``folder``."""
    (folder / RECORD_NAME).write_text(json.dumps(_config(entry), indent=2) + "\n", encoding="utf-8")
    card = _model_card(
        entry,
        info,
        keras_layout=_holds_keras_model(folder),
        training_log=(folder / TRAINING_LOG_NAME).is_file(),
    )
    (folder / CARD_NAME).write_text(card, encoding="utf-8")


def _config(entry: CheckpointEntry) -> dict[str, Any]:
    return {
        "library_name": ZOO_LIBRARY,
        "model": entry.model,
        "tag": entry.tag,
        "weights": entry.identifier,
        "weights_file": entry.weights_file,
        "dtype": entry.dtype,
        "num_params": entry.num_params,
        "num_classes": entry.num_classes,
        "input_shape": list(entry.input_shape),
        "preprocessing": entry.preprocessing.to_config(),
        "class_names": list(default_class_names(entry.num_classes)),
        "recipe": entry.recipe.name,
        "keras_version": keras.__version__,
    }


def _is_zoo_record(path: Path) -> bool:
    """True if ``path`` is the zoo's own record (as ``config.json`` used to be), not Keras's."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and document.get("library_name") == ZOO_LIBRARY


def _holds_keras_model(folder: Path) -> bool:
    """True if ``folder`` holds Keras's layout: a Keras ``config.json`` and ``model.weights.h5``."""
    config = folder / KERAS_CONFIG
    return config.is_file() and not _is_zoo_record(config) and (folder / WEIGHTS_NAME).is_file()


def _model_card(
    entry: CheckpointEntry, info: Any, *, keras_layout: bool, training_log: bool
) -> str:
    """The ``README.md`` of a repository: YAML metadata, then what the model is, how to load
    it, how it was trained and measured, its files and its license."""
    m = entry.metrics
    origin = "The zoo's own model" if info.article == "zoo" else f"Seed article {info.article}"
    log = (
        f"\nThe per-epoch training log is [`{TRAINING_LOG_NAME}`]({TRAINING_LOG_NAME}).\n"
        if training_log
        else "\nThe per-epoch training log of this run was not kept.\n"
    )
    notes = f"\n## Notes\n\n{entry.notes}\n" if entry.notes else ""
    return f"""---
{_card_metadata(entry, info)}
---

# {entry.model} — {DATASET_LABELS[entry.dataset]} ({entry.tag})

{info.description} {origin}; {entry.num_params:,} parameters, {entry.num_classes} classes.
Published with keras-cifar-zoo.

## How to use

{_load_snippets(entry, keras_layout)}
## Outputs

{_outputs(entry)}
## Training

{_trained_on(m)}: {m.epochs} epochs in {m.wall_time_s / 60:.1f} min on {m.hardware}, \
{m.backend} backend (Keras {m.keras_version}){_seed(m)}, with the recipe \
`{entry.recipe.name}` and these settings:

```json
{json.dumps(dict(entry.recipe.settings), indent=2)}
```

Preprocessing (inside the model): {entry.preprocessing}
{log}
## Results

{_results(entry)}{notes}
## Files

{_files(entry, keras_layout, training_log)}
## License

Apache-2.0.
"""


def _card_metadata(entry: CheckpointEntry, info: Any) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    m = entry.metrics
    card = ModelCardData(
        library_name="keras",
        license="apache-2.0",
        pipeline_tag="image-classification",
        tags=["keras", "keras-cifar-zoo", "image-classification", entry.dataset, info.family],
        datasets=[entry.dataset],
        metrics=["accuracy"],
        model_name=f"{entry.model} ({entry.tag})",
        eval_results=[
            EvalResult(
                task_type="image-classification",
                dataset_type=entry.dataset,
                dataset_name=m.data,
                dataset_split="test",
                metric_type=metric,
                metric_value=round(value, 6),
            )
            for metric, value in (("accuracy", m.accuracy), ("loss", m.loss))
        ],
    )
    return card.to_yaml()


def _load_snippets(entry: CheckpointEntry, keras_layout: bool) -> str:
    """Where the files are today and how to load them from there: the source repository's
    ``hub/`` folder, not (yet) the Hugging Face Hub or PyPI."""
    where = (
        f"The files are in the keras-cifar-zoo source repository, in the folder "
        f"`hub/{entry.repo_id}/`; they will be published to the Hugging Face Hub as "
        f"`{entry.repo_id}`, and are not there yet.\n"
    )
    package = f"""From a source checkout of keras-cifar-zoo (a clone, installed with \
`pip install -e .`), which finds `hub/` by itself and verifies the weights' sha256:

```python
from keras_cifar_zoo import load_model

model = load_model("{entry.model}", weights="{entry.identifier}")  # takes raw RGB pixels 0-255
```
"""
    if not keras_layout:
        why = (
            f"The weights are sharded (`{entry.weights_file}` and its shards), which "
            "`keras.saving.load_model` cannot read from a repository"
            if entry.weights_file.endswith(".weights.json")
            else "This repository holds no Keras `config.json`"
        )
        return f"{where}\n{why}; load the weights with keras-cifar-zoo.\n\n{package}"
    return f"""{where}
{package}
With Keras alone (Keras 3; keras-cifar-zoo is not needed), from the repository's folder:

```python
import keras

model = keras.saving.load_model("hub/{entry.repo_id}")  # run from the checkout's root
probabilities = model.predict(images)  # images: (N, 32, 32, 3) raw RGB pixels 0-255
```

The model takes raw RGB pixels 0-255: its preprocessing is a `Rescaling` layer inside it. Once \
the repository is on the Hub, `keras.saving.load_model("hf://{entry.repo_id}")` will load it \
the same way.
"""


def _outputs(entry: CheckpointEntry) -> str:
    """What the outputs mean: the class order, and what label smoothing does to the scores."""
    names = default_class_names(entry.num_classes)
    label = DATASET_LABELS[entry.dataset]
    listed = ", ".join(f"{i} `{name}`" for i, name in enumerate(names))
    text = (
        f"Output i is the probability of class i, in {label}'s label order (also "
        f"`class_names` in `{RECORD_NAME}`): {listed}.\n"
    )
    smoothing = float(entry.recipe.settings.get("label_smoothing") or 0.0)
    if smoothing > 0:
        target = 1 - smoothing + smoothing / entry.num_classes
        text += (
            f"\nThe recipe `{entry.recipe.name}` trains with label smoothing {smoothing:g}: the "
            f"true class's training target is {target:.3g}, not 1, so the top probability of "
            f"a confident prediction sits near {round(target, 1):g} rather than near 1. Read "
            "the probabilities as scores that rank the classes, not as calibrated confidences.\n"
        )
    return text


def _trained_on(m: Metrics) -> str:
    return f"Trained on the {m.training_data}" if m.training_data else "Trained"


def _seed(m: Metrics) -> str:
    return "" if m.seed is None else f", seed {m.seed}"


def _results(entry: CheckpointEntry) -> str:
    m = entry.metrics
    if entry.recipe.settings.get("validation_is_test_set"):
        selection = (
            "The recipe, like its article, validates on the test set and stops early on test "
            "accuracy: when training stopped was decided on test data, so this is not a clean "
            "held-out number."
        )
    else:
        selection = "Final epoch of a fixed schedule; nothing was selected on the test set."
    measured = (
        f"Measured by `keras_cifar_zoo.evaluate` on the stored ({entry.dtype}) weights, on the "
        f"{m.data}. {selection}"
    )
    if m.jpeg_copy_accuracy is not None:
        measured += (
            f" On the JPEG q75 copy of the test set the same weights measure "
            f"{m.jpeg_copy_accuracy * 100:.2f} %."
        )
    cells = (
        f"{m.accuracy * 100:.2f} %",
        f"{m.loss:.4f}",
        m.data,
        f"{m.num_images:,}",
        str(m.epochs),
        f"{m.wall_time_s / 60:.1f} min",
        m.hardware,
        f"{m.backend} (Keras {m.keras_version})",
    )
    table = (
        "| accuracy | loss | data | images | epochs | training time | hardware | backend |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| " + " | ".join(cells) + " |\n"
    )
    return f"{measured}\n\n{table}{_seed_runs(m)}"


def _seed_runs(m: Metrics) -> str:
    """Accuracy over the recipe's seeds, with a row per seed (empty without ``seed_runs``)."""
    if not m.seed_runs:
        return ""
    accs = np.array([r.accuracy for r in m.seed_runs]) * 100
    spread = accs.std(ddof=1) if len(accs) > 1 else 0.0
    rows = [f"| {r.seed} | {r.accuracy * 100:.2f} % | {r.loss:.4f} |" for r in m.seed_runs]
    header = "| seed | accuracy | loss |\n|---|---|---|"
    if any(r.checkpoint for r in m.seed_runs[1:]):  # other seeds' weights can be loaded too
        loads = ["this checkpoint"] + [
            f'`weights="{r.checkpoint}"`' if r.checkpoint else "not published"
            for r in m.seed_runs[1:]
        ]
        rows = [f"{row} {load} |" for row, load in zip(rows, loads, strict=True)]
        header = "| seed | accuracy | loss | weights |\n|---|---|---|---|"
    table = "\n".join(rows)
    return (
        f"\nOver {len(accs)} seeds ({', '.join(str(r.seed) for r in m.seed_runs)}): "
        f"{accs.mean():.2f} ± {spread:.2f} %, each measured the same way.\n\n"
        f"{header}\n{table}\n"
    )


def _files(entry: CheckpointEntry, keras_layout: bool, training_log: bool) -> str:
    weights = "\n".join(f"| `{f.name}` | {f.size:,} | `{f.sha256}` |" for f in entry.files)
    others = []
    if keras_layout:
        others.append(f"`{KERAS_CONFIG}` and `{KERAS_METADATA}` (Keras's model files)")
    others.append(f"`{RECORD_NAME}` (keras-cifar-zoo's record of the checkpoint)")
    if training_log:
        others.append(f"`{TRAINING_LOG_NAME}` (the per-epoch training log)")
    return (
        f"The weights, stored as {entry.dtype}; keras-cifar-zoo checks their sha256:\n\n"
        f"| file | bytes | sha256 |\n|---|---|---|\n{weights}\n\n"
        f"Beside them: {', '.join(others)} and this card.\n"
    )


# ---------------------------------------------------------------------------------------------
# 6. Pushing


def _pinned(entry: CheckpointEntry, commit: str, manifest_path: Path) -> CheckpointEntry:
    """Pins the entry to the commit uploaded, in the manifest as it is now: other publishes
    may have changed other entries during the upload. An entry replaced meanwhile (another
    publish of the same tag) stays as that publish wrote it."""
    with manifest_lock(manifest_path):
        entries = _read_entries(manifest_path)
        current = next((e for e in entries if _key(e) == _key(entry)), None)
        if current is None or current.files != entry.files:
            logger.warning(
                "%s %s was replaced in the manifest during the upload; not pinned to %s",
                entry.model,
                entry.identifier,
                commit,
            )
            return entry
        pinned = dataclasses.replace(current, revision=commit)
        try:
            write_manifest([pinned if e is current else e for e in entries], manifest_path)
        except OSError as exc:
            raise PublishError(
                f"Uploaded {entry.repo_id} as commit {commit}, but cannot pin the weights "
                f"manifest {manifest_path} to it ({exc.strerror or exc}). Make the manifest "
                f"writable and set the entry's revision to {commit}. "
                f"Received: manifest={str(manifest_path)!r}"
            ) from exc
    return pinned


# ---------------------------------------------------------------------------------------------
# Refreshing the cards


def refresh_model_cards(root: str | os.PathLike = ".") -> list[Path]:
    """Rewrites ``README.md`` and ``keras_cifar_zoo.json`` of every manifest entry under
    ``<root>/hub/`` from the manifest (after its numbers were re-measured).

    Needs no weights and leaves them, Keras's ``config.json`` and ``metadata.json`` and the
    training log untouched. A ``config.json`` that is the zoo's record (from before the record
    moved to ``keras_cifar_zoo.json``) is removed; a Keras one stays.

    Returns:
        The repository folders rewritten.
    """
    root = Path(root)
    manifest_path = root / MANIFEST_FILE
    load_manifest(manifest_path)  # a missing or broken manifest fails here, before the lock
    folders = []
    with manifest_lock(manifest_path):
        _recover(root)
        for entry in _read_entries(manifest_path):
            folder = root / HUB_FOLDER / entry.repo_id
            if not folder.is_dir():
                raise InvalidArgumentError(
                    f"{folder} does not exist: the manifest lists {entry.model} "
                    f"{entry.identifier} there. Publish it again or remove the entry. "
                    f"Received: root={str(root)!r}"
                )
            if _is_zoo_record(folder / KERAS_CONFIG):
                (folder / KERAS_CONFIG).unlink()
            _write_record_and_card(folder, entry, get_info(entry.model))
            folders.append(folder)
    return folders
