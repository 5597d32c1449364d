"""Publishing a trained checkpoint: a Hugging Face-shaped folder plus its manifest entry.

:func:`publish` writes ``<root>/hub/<repo_id>/`` (the weights, a model card ``README.md`` with
YAML metadata, a ``config.json``), measures the stored weights with this package's
``evaluate``, hashes every file and updates ``<root>/weights_manifest.json``. Weights are
stored as float16 when that changes the evaluated accuracy by at most ``fp16_tolerance``
(loading casts them back to float32). ``push=True`` uploads the folder (:func:`hub.push_folder`).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError
from keras_cifar_zoo.preprocessing import CAFFE_BGR, Preprocessing
from keras_cifar_zoo.weights import hub
from keras_cifar_zoo.weights.loading import load_checkpoint, open_checkpoint
from keras_cifar_zoo.weights.manifest import (
    MANIFEST_FILE,
    CheckpointEntry,
    FileRecord,
    Manifest,
    Metrics,
    RecipeRecord,
    SeedRun,
    check_against_registry,
    load_manifest,
    parse_entry,
    write_manifest,
)

logger = logging.getLogger(__name__)

HUB_FOLDER = "hub"
WEIGHTS_NAME = "model.weights.h5"
_TAG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_FLOAT16_MAX = float(np.finfo(np.float16).max)
_RUN_KEYS = ("epochs", "wall_time_s", "hardware", "backend", "training_data")
# Keys of scripts/train_checkpoints.py's metrics.json that mean the same as ours; used when
# run_info lacks ours.
RUN_ALIASES = {"device": "hardware", "keras": "keras_version", "evaluated_on": "data"}
# Keys that win over ours: that metrics.json's "epochs" is the planned schedule, "epochs_run"
# what was trained (fewer when early stopping fired), and the manifest records epochs trained.
RUN_PREFERRED = {"epochs_run": "epochs"}

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


def default_repo_id(name: str, tag: str) -> str:
    """The Hub repository a checkpoint is published to: ``keras-cifar-zoo/<name>-<tag>``."""
    return f"keras-cifar-zoo/{name}-{tag}"


def sha256_and_size(path: str | os.PathLike) -> FileRecord:
    """The manifest record (name, sha256, size) of a file."""
    path = Path(path)
    return FileRecord(path.name, hub.file_hash(path), path.stat().st_size)


def cast_weights_file(src: str | os.PathLike, dst: str | os.PathLike, dtype: str) -> None:
    """Copies a Keras ``.weights.h5`` file, casting float32/float16 datasets to ``dtype``.

    Groups, attributes (the layer names Keras stores) and other datasets are copied as is.
    """
    import h5py

    target = np.dtype(dtype)

    def copy(source: Any, dest: Any) -> None:
        for key, value in source.attrs.items():
            dest.attrs[key] = value
        for key, item in source.items():
            if isinstance(item, h5py.Group):
                copy(item, dest.create_group(key))
                continue
            data = item[()]
            if isinstance(data, np.ndarray) and data.dtype in (np.float32, np.float16):
                data = data.astype(target)
            out = dest.create_dataset(key, data=data)
            for k, v in item.attrs.items():
                out.attrs[k] = v

    with h5py.File(src, "r") as source, h5py.File(dst, "w") as dest:
        copy(source, dest)


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


def _run_info(run_info: Mapping[str, Any] | None) -> dict[str, Any]:
    info = dict(run_info or {})
    for alias, key in RUN_PREFERRED.items():
        if info.get(alias) is not None:
            info[key] = info[alias]
    for alias, key in RUN_ALIASES.items():
        if alias in info and key not in info:
            info[key] = info[alias]
    missing = [k for k in _RUN_KEYS if info.get(k) in (None, "")]
    if missing:
        raise InvalidArgumentError(
            f"run_info lacks {', '.join(missing)}: the manifest records how each checkpoint "
            "was trained (epochs, wall_time_s in seconds, hardware, backend, training_data: "
            "the copy of the training set, keras_cifar_zoo.data.describe_copy(folder, "
            "'train')), and nothing is guessed. Pass them (CLI: --run-info FILE or --epochs/"
            f"--wall-time/--hardware/--backend/--training-data). Received: run_info "
            f"keys={sorted(info)}"
        )
    return info


def _recipe(
    recipe: str | None, settings: Mapping[str, Any] | None, info: Mapping[str, Any]
) -> tuple[str, dict]:
    name = recipe or info.get("recipe")
    if not name:
        raise InvalidArgumentError(
            "Say which recipe trained the checkpoint (recipe='article_001', CLI --recipe), so "
            "the manifest can record it. Received: recipe=None"
        )
    if settings is None:
        from keras_cifar_zoo.training import get_recipe

        settings = get_recipe(name).to_config()
    return str(name), json.loads(json.dumps(settings))  # plain JSON types only


def _default_evaluator(data: Any, data_dir: Any) -> Evaluator:
    def run(model: keras.Model) -> Mapping[str, Any]:
        from keras_cifar_zoo.training import evaluate

        return evaluate(model, data=data, data_dir=data_dir)

    return run


def _measure(evaluate_fn: Evaluator, model: keras.Model) -> dict[str, Any]:
    result = dict(evaluate_fn(model))
    for key in ("accuracy", "loss", "num_images"):
        if key not in result:
            raise InvalidArgumentError(
                f"evaluate_fn must return accuracy, loss and num_images (as "
                f"keras_cifar_zoo.evaluate does). Received: keys={sorted(result)}"
            )
    return result


def _model_card(entry: CheckpointEntry, info: Any) -> str:
    from huggingface_hub import EvalResult, ModelCardData

    m = entry.metrics
    card = ModelCardData(
        library_name="keras",
        pipeline_tag="image-classification",
        tags=["keras", "keras-cifar-zoo", "image-classification", "cifar10", info.family],
        datasets=["cifar10"],
        metrics=["accuracy"],
        model_name=f"{entry.model} ({entry.tag})",
        eval_results=[
            EvalResult(
                task_type="image-classification",
                dataset_type="cifar10",
                dataset_name=m.data,
                dataset_split="test",
                metric_type=metric,
                metric_value=round(value, 6),
            )
            for metric, value in (("accuracy", m.accuracy), ("loss", m.loss))
        ],
    )
    load = f'load_model("{entry.model}", weights="{entry.identifier}")'
    files = "\n".join(f"| `{f.name}` | {f.size:,} | `{f.sha256}` |" for f in entry.files)
    seeds = ""
    if m.seed_runs:
        accs = np.array([r.accuracy for r in m.seed_runs]) * 100
        seeds = (
            f"\nOver {len(accs)} seeds ({', '.join(str(r.seed) for r in m.seed_runs)}): "
            f"{accs.mean():.2f} ± {accs.std(ddof=1) if len(accs) > 1 else 0.0:.2f} %.\n"
        )
    notes = f"\n## Notes\n\n{entry.notes}\n" if entry.notes else ""
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
    row = "| " + " | ".join(cells) + " |"
    trained_on = f"Trained on the {m.training_data}."
    if m.jpeg_copy_accuracy is not None:
        trained_on += (
            f" On the JPEG q75 copy of the test set the same weights measure "
            f"{m.jpeg_copy_accuracy * 100:.2f} %."
        )
    if entry.recipe.settings.get("validation_is_test_set"):
        selection = (
            "The recipe, like its article, validates on the test set and stops early on test "
            "accuracy: when training stopped was decided on test data, so this is not a clean "
            "held-out number."
        )
    else:
        selection = "Final epoch of a fixed schedule; nothing was selected on the test set."
    origin = "The zoo's own model" if info.article == "zoo" else f"Seed article {info.article}"
    return f"""---
{card.to_yaml()}
---

# {entry.model} — CIFAR-10 ({entry.tag})

{info.description} {origin}; {entry.num_params:,} parameters.
Published with keras-cifar-zoo.

```python
from keras_cifar_zoo import load_model

model = {load}  # takes raw RGB pixels 0-255
```

## Results

Measured by `keras_cifar_zoo.evaluate` on the stored ({entry.dtype}) weights. {selection}
{trained_on}

| accuracy | loss | data | images | epochs | training time | hardware | backend |
|---|---|---|---|---|---|---|---|
{row}
{seeds}
## Training

Recipe `{entry.recipe.name}`:

```json
{json.dumps(dict(entry.recipe.settings), indent=2)}
```

Preprocessing (inside the model): {entry.preprocessing}
{notes}
## Files

| file | bytes | sha256 |
|---|---|---|
{files}
"""


def _config(entry: CheckpointEntry) -> dict[str, Any]:
    return {
        "library_name": "keras-cifar-zoo",
        "model": entry.model,
        "tag": entry.tag,
        "weights": entry.identifier,
        "weights_file": entry.weights_file,
        "dtype": entry.dtype,
        "num_params": entry.num_params,
        "num_classes": entry.num_classes,
        "input_shape": list(entry.input_shape),
        "preprocessing": entry.preprocessing.to_config(),
        "recipe": entry.recipe.name,
        "keras_version": keras.__version__,
    }


def refresh_model_cards(root: str | os.PathLike = ".") -> list[Path]:
    """Rewrites the model card and ``config.json`` of every manifest entry under
    ``<root>/hub/`` from the manifest (after its numbers were re-measured); weights untouched.

    Returns:
        The repository folders rewritten.
    """
    from keras_cifar_zoo.registry import model_info

    root = Path(root)
    folders = []
    for entry in load_manifest(root / MANIFEST_FILE).entries:
        folder = root / HUB_FOLDER / entry.repo_id
        if not folder.is_dir():
            raise InvalidArgumentError(
                f"{folder} does not exist: the manifest lists {entry.model} {entry.identifier} "
                f"there. Publish it again or remove the entry. Received: root={str(root)!r}"
            )
        (folder / "README.md").write_text(
            _model_card(entry, model_info(entry.model)), encoding="utf-8"
        )
        (folder / "config.json").write_text(
            json.dumps(_config(entry), indent=2) + "\n", encoding="utf-8"
        )
        folders.append(folder)
    return folders


def _read_entries(manifest_path: Path) -> list[CheckpointEntry]:
    if not manifest_path.is_file():
        return []  # a new manifest; written once the entry is validated
    return list(load_manifest(manifest_path).entries)


def _check_repo_is_free(entries: list[CheckpointEntry], name: str, tag: str, repo_id: str) -> None:
    """Refuses a repository folder that holds another checkpoint (its files would be replaced)."""
    for entry in entries:
        if entry.repo_id == repo_id and (entry.model, entry.tag) != (name, tag):
            raise InvalidArgumentError(
                f"{HUB_FOLDER}/{repo_id}/ already holds {entry.model} {entry.identifier}; "
                f"publishing {name} with tag {tag!r} there would replace its weights and model "
                f"card. Use a repository of its own (the default is "
                f"{default_repo_id(name, tag)}). Received: repo_id={repo_id!r}"
            )


def _updated(
    entries: list[CheckpointEntry], new: CheckpointEntry, default: bool | None
) -> list[CheckpointEntry]:
    others = [e for e in entries if (e.model, e.tag) != (new.model, new.tag)]
    same_model = [e for e in others if e.model == new.model]
    replaced = [e for e in entries if (e.model, e.tag) == (new.model, new.tag)]
    if default is None:
        default = not any(e.default for e in same_model) or any(e.default for e in replaced)
    new = dataclasses.replace(new, default=default)
    if default:
        others = [
            dataclasses.replace(e, default=False) if e.model == new.model else e for e in others
        ]
    elif not any(e.default for e in same_model):
        raise InvalidArgumentError(
            f"{new.model} would have no default checkpoint: publish this one with "
            f"default=True (CLI: --default). Received: default=False"
        )
    return [*others, new]


def publish(
    name: str,
    checkpoint: str | os.PathLike,
    *,
    tag: str = "article",
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
    notes: str = "",
    push: bool = False,
    dry_run: bool = False,
    token: str | bool | None = None,
    endpoint: str | None = None,
) -> PublishResult:
    """Publishes a trained checkpoint into ``<root>/hub/<repo_id>/`` and the manifest.

    Args:
        name: The zoo model the checkpoint belongs to.
        checkpoint: A ``.weights.h5``, ``.weights.json`` or ``.keras`` file of that model.
        tag: Checkpoint tag (``weights="cifar10:<tag>"``), lower case ``[a-z0-9_.-]``.
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
            ``date``, ``recipe`` (optional). The ``metrics.json`` of
            ``scripts/train_checkpoints.py`` is understood too (its ``epochs_run``, the
            epochs actually trained, wins over its planned ``epochs``).
        data: ``(images, labels)`` to evaluate on; default: the CIFAR-10 test set.
        data_name: The test-set copy the metrics are measured on; default
            ``describe_copy(data_dir)`` when measuring on ``data_dir``, else
            ``run_info["data"]``.
        data_dir: Where ``load_cifar10`` looks for the test set.
        evaluate_fn: ``model -> {accuracy, loss, num_images}``; default
            ``keras_cifar_zoo.evaluate`` on ``data``.
        preprocessing: The preprocessing the checkpoint was trained with; default: stored
            in a ``.keras`` file, Caffe BGR for a recipe starting from ImageNet weights, else
            the model's.
        dtype: ``"auto"`` (float16 if the accuracy holds), ``"float16"`` or ``"float32"``.
            A checkpoint whose weights are float16 values already (stored as float16) is
            stored as float16 under ``"auto"`` and measured once.
        fp16_tolerance: Largest accuracy change (absolute, 0.0005 = 0.05 points) that
            float16 storage may cause under ``"auto"``.
        max_shard_size: Shard the weights into files of at most this many GB (Keras's
            ``max_shard_size``); default one file.
        notes: Free text for the manifest and model card (e.g. a missed target).
        push: Upload the folder to the Hub afterwards.
        dry_run: List what ``push`` would upload and upload nothing (implies ``push``).
        token: Hub token for the upload.
        endpoint: Hub URL for the upload (default ``HF_ENDPOINT``).

    Returns:
        A :class:`PublishResult`.

    Raises:
        InvalidArgumentError: For a bad argument, missing training information, a
            ``repo_id`` whose folder holds another checkpoint, or a checkpoint that does not
            fit the model.
        ManifestError: If the manifest (old or new) breaks its schema or the registry.
        HubError: If the upload fails.

    Example:
        >>> publish("resnet20_v1", "runs/r20/model.keras", tag="article",
        ...         run_info={"epochs": 200, "wall_time_s": 40000.0, "hardware": "2 CPU cores",
        ...                   "backend": "tensorflow", "training_data": "lossless copy"},
        ...         data_dir=".data")  # doctest: +SKIP
    """
    from keras_cifar_zoo.registry import build_model, model_info

    info = model_info(name)
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
    repo_id = repo_id or default_repo_id(name, tag)
    runinfo = _run_info(run_info)
    recipe_name, settings = _recipe(recipe, recipe_settings, runinfo)
    data_label = data_name
    if not data_label and data is None and data_dir is not None:
        from keras_cifar_zoo.data import describe_copy

        data_label = describe_copy(data_dir)  # what is measured below, whatever run_info says
    data_label = data_label or runinfo.get("data")
    if not data_label:
        raise InvalidArgumentError(
            "data_name must name the data the metrics are measured on, with its copy (e.g. "
            "'CIFAR-10 test set (10,000 images), lossless copy'), or data_dir must point at a "
            "copy that says what it is (SOURCE.txt); tables print it beside every number. "
            "Received: data_name=None"
        )
    evaluate_fn = evaluate_fn or _default_evaluator(data, data_dir)
    root = Path(root)
    folder = root / HUB_FOLDER / repo_id
    manifest_path = root / MANIFEST_FILE
    _check_repo_is_free(_read_entries(manifest_path), name, tag, repo_id)

    # The checkpoint as given (float32 in memory), with the preprocessing it was trained with.
    with open_checkpoint(checkpoint) as ckpt:
        num_classes = ckpt.num_classes or 10
        stored_prep = ckpt.preprocessing
    if preprocessing is None:
        preprocessing = stored_prep
    if preprocessing is None and settings.get("initial_weights") == "imagenet":
        preprocessing = CAFFE_BGR
    preprocessing = preprocessing or info.preprocessing
    model = build_model(name, num_classes=num_classes)
    load_checkpoint(model, checkpoint, preprocessing=preprocessing)
    result32 = _measure(evaluate_fn, model)
    logger.info("%s float32: accuracy %.4f", name, result32["accuracy"])

    chosen, result16 = dtype, None
    with tempfile.TemporaryDirectory() as tmp:
        if dtype in ("auto", "float16"):
            if _holds_float16_values(model):
                chosen, result16 = "float16", result32
                logger.info("%s: the weights are float16 values already; storing float16", name)
            elif dtype == "auto" and not _fits_float16(model):
                chosen = "float32"
                logger.info("%s: weights exceed the float16 range; storing float32", name)
            else:
                files16 = _save_weights(model, Path(tmp) / "f16", "float16", max_shard_size)
                model16 = build_model(name, num_classes=num_classes)
                load_checkpoint(model16, files16[0], preprocessing=preprocessing)
                result16 = _measure(evaluate_fn, model16)
                change = abs(result16["accuracy"] - result32["accuracy"])
                logger.info(
                    "%s float16: accuracy %.4f (change %.4f, tolerance %.4f)",
                    name,
                    result16["accuracy"],
                    change,
                    fp16_tolerance,
                )
                if dtype == "auto":
                    chosen = "float16" if change <= fp16_tolerance else "float32"
        stored = result16 if chosen == "float16" else result32

        # Stage the weights, validate the new manifest, and only then touch the folder.
        staged = _save_weights(model, Path(tmp) / "stage", chosen, max_shard_size)
        entry = parse_entry(
            CheckpointEntry(
                model=name,
                tag=tag,
                default=bool(default),
                repo_id=repo_id,
                revision=revision,
                files=tuple(sha256_and_size(p) for p in staged),
                dtype=chosen,
                num_params=model.count_params(),
                num_classes=num_classes,
                input_shape=(32, 32, 3),
                preprocessing=preprocessing,
                recipe=RecipeRecord(name=recipe_name, settings=settings),
                metrics=_metrics(stored, runinfo, data_label),
                notes=notes,
            ).to_dict(),
            where=f"{name}:{tag}",
        )
        entries = _updated(_read_entries(manifest_path), entry, default)
        check_against_registry(Manifest(entries=tuple(entries), source=str(manifest_path)))
        entry = next(e for e in entries if (e.model, e.tag) == (name, tag))

        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():  # earlier weights files go; anything else stays
            if old.name.endswith((".weights.h5", ".weights.json")):
                old.unlink()
        for path in staged:
            shutil.move(path, folder / path.name)
    (folder / "README.md").write_text(_model_card(entry, info), encoding="utf-8")
    (folder / "config.json").write_text(
        json.dumps(_config(entry), indent=2) + "\n", encoding="utf-8"
    )
    write_manifest(entries, manifest_path)
    logger.info(
        "Published %s to %s (%s, accuracy %.4f)",
        entry.identifier,
        folder,
        chosen,
        stored["accuracy"],
    )

    pushed = None
    if push or dry_run:
        pushed = hub.push_folder(
            folder, repo_id, revision=revision, token=token, endpoint=endpoint, dry_run=dry_run
        )
        if pushed.commit and not dry_run:  # pin the manifest to what was uploaded
            entries = [
                dataclasses.replace(e, revision=pushed.commit) if e is entry else e for e in entries
            ]
            entry = next(e for e in entries if (e.model, e.tag) == (name, tag))
            write_manifest(entries, manifest_path)
    return PublishResult(
        folder=folder,
        entry=entry,
        manifest_path=manifest_path,
        float32_accuracy=float(result32["accuracy"]),
        float16_accuracy=None if result16 is None else float(result16["accuracy"]),
        push=pushed,
    )


def _metrics(result: Mapping[str, Any], info: Mapping[str, Any], data_label: str) -> Metrics:
    runs = tuple(
        SeedRun(int(r["seed"]), float(r["accuracy"]), float(r["loss"]))
        for r in info.get("seed_runs", ())
    )
    return Metrics(
        accuracy=float(result["accuracy"]),
        loss=float(result["loss"]),
        data=str(data_label),
        num_images=int(result["num_images"]),
        epochs=int(info["epochs"]),
        wall_time_s=float(info["wall_time_s"]),
        hardware=str(info["hardware"]),
        backend=str(info["backend"]),
        keras_version=str(info.get("keras_version") or keras.__version__),
        date=str(info.get("date") or datetime.date.today().isoformat()),
        training_data=str(info["training_data"]),
        seed=None if info.get("seed") is None else int(info["seed"]),
        seed_runs=runs,
    )
