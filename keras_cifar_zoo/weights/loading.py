"""Loading Keras 3 checkpoints into zoo models by layer name, with a report.

Three formats: ``.weights.h5``, a sharded ``.weights.json`` index with its ``.weights.h5``
shards, and ``.keras``. Keras 3 matches new-format checkpoints by layer order; here each
layer's variables are matched by the layer name Keras stores next to them, so that a
classifier of another size can be left out (transfer learning) and a mismatch can name the
layer at fault. Everything is checked before anything is assigned: a failed load leaves the
model untouched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import re
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError, WeightsMismatchError
from keras_cifar_zoo.models.spec import CLASSIFIER_LAYERS
from keras_cifar_zoo.preprocessing import (
    LAYER_NAME,
    ImagePreprocessing,
    Preprocessing,
    named_preprocessing,
)

logger = logging.getLogger(__name__)

CHECKPOINT_SUFFIXES = (".weights.h5", ".weights.json", ".keras")


@dataclasses.dataclass(frozen=True)
class LoadReport:
    """What a weights load did, layer by layer.

    Attributes:
        model: Name of the model loaded into.
        source: Where the weights came from.
        loaded: Layers whose weights were all copied, in model order.
        skipped: Layers with weights that were not loaded, mapped to the reason.
        notes: Other changes, e.g. a re-initialised classifier or switched preprocessing.
    """

    model: str
    source: str
    loaded: tuple[str, ...]
    skipped: Mapping[str, str]
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: how many layers were loaded and skipped, from where."""
        return (
            f"{self.model}: loaded {len(self.loaded)} layers, skipped {len(self.skipped)} "
            f"from {self.source}"
        )

    def __str__(self) -> str:
        lines = [self.summary()]
        lines += [f"  loaded  {name}" for name in self.loaded]
        lines += [f"  skipped {name}: {reason}" for name, reason in self.skipped.items()]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def log(self, log: logging.Logger) -> None:
        """Logs the summary, every skipped layer and every note at INFO level."""
        log.info("%s", self.summary())
        for name, reason in self.skipped.items():
            log.info("  skipped %s: %s", name, reason)
        for note in self.notes:
            log.info("  note: %s", note)


# ---------------------------------------------------------------------------------------------
# Shared helpers (also used by the ImageNet loader)


def read_array(dataset: Any) -> np.ndarray:
    """Reads an HDF5 dataset (or array) into NumPy, honouring Keras's bfloat16 marker."""
    attrs = getattr(dataset, "attrs", None)
    if attrs is not None and attrs.get("dtype") == "bfloat16":
        import ml_dtypes

        return np.array(dataset, dtype=ml_dtypes.bfloat16)
    return np.asarray(dataset)


def apply_plan(plan: Sequence[tuple[keras.Layer, Sequence[Any]]]) -> None:
    """Assigns each layer's arrays to its weights, cast to each variable's dtype."""
    for layer, arrays in plan:
        for variable, array in zip(layer.weights, arrays, strict=True):
            variable.assign(read_array(array).astype(variable.dtype))


def warn_new_head(model: keras.Model, layers: Sequence[str], reason: str) -> None:
    """Logs at WARNING that classifier layers kept their fresh initialisation.

    A model whose head was not loaded predicts at chance level until it is trained, which a
    caller asking for pretrained weights would not expect, hence more than the INFO report.
    """
    logger.warning(
        "%s: the classifier layer%s %s %s re-initialised, not loaded: %s. Train the new head "
        "(fit_cifar10 or model.fit) before using the model's predictions.",
        model.name,
        "s" if len(layers) > 1 else "",
        ", ".join(layers),
        "were" if len(layers) > 1 else "was",
        reason,
    )


def preprocessing_layer(model: keras.Model) -> keras.layers.Layer | None:
    """The model's ``preprocessing`` layer, or None if it was built without one."""
    for layer in model.layers:
        if layer.name == LAYER_NAME and Preprocessing.from_layer(layer) is not None:
            return layer
    return None


def use_preprocessing(model: keras.Model, prep: Preprocessing, *, reason: str) -> str:
    """Makes the model's ``preprocessing`` layer compute ``prep``.

    The layer is weightless and reads its settings when called, so setting them on the built
    (not yet called) model is the same as rebuilding it with ``prep``; ``get_config`` and
    saved models carry the new settings.

    Returns:
        A note for the load report ("" if nothing changed).
    """
    layer = preprocessing_layer(model)
    if layer is None:
        note = (
            f"the model has no preprocessing layer: feed it inputs preprocessed as {prep.name} "
            f"({prep}), since {reason}"
        )
        logger.warning("%s: %s", model.name, note)
        return note
    before = Preprocessing.from_layer(layer)
    if before.computes_like(prep):
        return ""
    if isinstance(layer, ImagePreprocessing):  # a model loaded from a legacy .keras file
        layer.channel_order = "rgb"
        layer.scale = float(prep.scale)
        layer.mean = tuple(float(v) for v in prep.mean)
        layer.std = tuple(float(v) for v in prep.std)
    else:
        layer.scale, layer.offset = prep.rescaling()
    note = f"preprocessing switched from {before.name} to {prep.name}: {reason}"
    logger.info("%s: %s", model.name, note)
    return note


# ---------------------------------------------------------------------------------------------
# Reading Keras 3 checkpoints


@dataclasses.dataclass
class Checkpoint:
    """The layers of an opened checkpoint.

    Attributes:
        path: The file.
        layers: Layer name -> its variables (h5py datasets, in Keras's order).
        named: False if the file predates Keras storing layer names (order-based only).
        preprocessing: The preprocessing stored in a ``.keras`` file, if any.
    """

    path: Path
    layers: dict[str, list[Any]]
    named: bool = True
    preprocessing: Preprocessing | None = None

    @property
    def num_classes(self) -> int | None:
        """Size of the checkpoint's classifier, or None if it has none."""
        arrays = self.layers.get("predictions")
        return int(arrays[0].shape[-1]) if arrays else None


def _collect(handle: Any, layers: dict[str, dict[int, Any]]) -> bool:
    """Adds the ``layers/<x>/vars`` groups of an open HDF5 file; False if one has no name."""
    import h5py

    named = True

    def visit(path: str, obj: Any) -> None:
        nonlocal named
        parts = path.split("/")
        # Only a layer's own variables: <...>/layers/<layer>/vars (not optimizer state, not
        # the seed generators nested inside a layer).
        if not isinstance(obj, h5py.Group) or parts[-1] != "vars" or len(parts) < 3:
            return
        if parts[-3] != "layers":
            return
        datasets = {
            int(k): v for k, v in obj.items() if k.isdigit() and isinstance(v, h5py.Dataset)
        }
        if not datasets:
            return
        name = obj.attrs.get("name")
        if name is None:
            named = False
            return
        name = name.decode() if isinstance(name, bytes) else str(name)
        layers.setdefault(name, {}).update(datasets)

    handle.visititems(visit)
    return named


def config_preprocessing(config: Any) -> Preprocessing | None:
    """The preprocessing of the zoo ``preprocessing`` layer in a Keras model config (a ``.keras``
    file's or a Hub repository's ``config.json``), or None if it has no such layer."""
    if isinstance(config, dict):
        inner = config.get("config")
        if isinstance(inner, dict) and inner.get("name") == LAYER_NAME:
            if config.get("class_name") == "Rescaling":
                return named_preprocessing(_value(inner.get("scale")), _value(inner.get("offset")))
            if config.get("class_name") == "ImagePreprocessing":
                return Preprocessing.from_layer(ImagePreprocessing.from_config(inner))
        children = config.values()
    elif isinstance(config, list):
        children = config
    else:
        return None
    for child in children:
        found = config_preprocessing(child)
        if found is not None:
            return found
    return None


def _value(serialized: Any) -> Any:
    """A number or list from a layer config, as ``keras.saving`` wrote it."""
    return keras.saving.deserialize_keras_object(serialized) if serialized is not None else 0.0


def check_path(weights: str | os.PathLike) -> Path:
    """Checks a checkpoint path's type, suffix and existence.

    Raises:
        InvalidTypeError: If ``weights`` is not a ``str`` or ``os.PathLike``.
        InvalidArgumentError: If the suffix is not supported, or the path does not exist or
            is a folder.
    """
    if not isinstance(weights, (str, os.PathLike)):
        raise InvalidTypeError(
            "A checkpoint path must be a str or os.PathLike ending in "
            f"{', '.join(CHECKPOINT_SUFFIXES)}. Received: weights={weights!r}"
        )
    path = Path(weights).expanduser()
    name = path.name
    if path.is_dir():  # whatever its name: a run's folder is not a checkpoint file
        inside = sorted(p.name for p in path.iterdir() if p.name.endswith(CHECKPOINT_SUFFIXES))
        hint = f" It holds {', '.join(inside[:3])}: pass one of those." if inside else ""
        raise InvalidArgumentError(
            f"{path} is a folder, not a checkpoint file: weights=PATH takes a file ending in "
            f"{', '.join(CHECKPOINT_SUFFIXES)}.{hint} Received: weights={str(weights)!r}"
        )
    if not name.endswith(CHECKPOINT_SUFFIXES):
        hint = ""
        if name.endswith(".h5"):
            hint = (
                " A legacy .h5 file of the Keras Applications VGG goes through "
                "weights='imagenet' with imagenet_weights=PATH or KERAS_CIFAR_ZOO_IMAGENET=PATH."
            )
        raise InvalidArgumentError(
            f"Unsupported checkpoint file {name!r}: weights=PATH takes a file ending in "
            f"{', '.join(CHECKPOINT_SUFFIXES)}.{hint} Received: weights={str(weights)!r}"
        )
    if not path.is_file():
        raise InvalidArgumentError(
            f"The checkpoint file {path} does not exist. Received: weights={str(weights)!r}"
        )
    return path


@contextlib.contextmanager
def open_checkpoint(path: str | os.PathLike) -> Iterator[Checkpoint]:
    """Opens a ``.weights.h5``, ``.weights.json`` or ``.keras`` checkpoint for reading.

    Yields:
        A :class:`Checkpoint` whose datasets are readable until the context exits.

    Raises:
        InvalidArgumentError: If the path is not a supported, existing checkpoint.
        WeightsMismatchError: If the file cannot be read as one.
    """
    import h5py

    path = check_path(path)
    found: dict[str, dict[int, Any]] = {}
    preprocessing = None
    with contextlib.ExitStack() as stack:
        try:
            if path.name.endswith(".weights.h5"):
                named = _collect(stack.enter_context(h5py.File(path, "r")), found)
            elif path.name.endswith(".weights.json"):
                index = json.loads(path.read_text(encoding="utf-8"))
                shards = sorted(
                    {f for files in index["weight_map"].values() for f in _as_list(files)}
                )
                named = True
                for shard in shards:
                    handle = stack.enter_context(h5py.File(path.parent / shard, "r"))
                    named = _collect(handle, found) and named
            else:
                archive = stack.enter_context(zipfile.ZipFile(path))
                config = json.loads(archive.read("config.json"))
                preprocessing = config_preprocessing(config)
                buffer = io.BytesIO(archive.read("model.weights.h5"))
                named = _collect(stack.enter_context(h5py.File(buffer, "r")), found)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise WeightsMismatchError(
                f"Cannot read the checkpoint {path}: {exc}. Expected a Keras 3 file saved with "
                f"model.save_weights() or model.save(). Received: weights={str(path)!r}"
            ) from None
        layers = {name: [v[i] for i in sorted(v)] for name, v in found.items()}
        yield Checkpoint(path=path, layers=layers, named=named, preprocessing=preprocessing)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


# ---------------------------------------------------------------------------------------------
# Loading


def _fmt_shapes(shapes: Sequence[tuple[int, ...]]) -> str:
    return "[" + ", ".join(str(s) for s in shapes) + "]"


def _has_top(model: keras.Model) -> bool:
    return any(layer.name == "predictions" for layer in model.layers)


def _load_by_order(model: keras.Model, path: Path, source: str) -> LoadReport:
    """Keras's own order-based loading, for files without stored layer names."""
    try:
        model.load_weights(path)
    except (ValueError, KeyError) as exc:
        raise WeightsMismatchError(
            f"The checkpoint {path} does not fit {model.name}: {' '.join(str(exc).split())}. "
            f"Received: weights={str(path)!r}"
        ) from None
    loaded = tuple(layer.name for layer in model.layers if layer.weights)
    note = "file without layer names: loaded by layer order (Keras's own loader)"
    return LoadReport(model.name, source, loaded, {}, (note,))


def load_checkpoint(
    model: keras.Model,
    path: str | os.PathLike,
    *,
    source: str | None = None,
    preprocessing: Preprocessing | None = None,
) -> LoadReport:
    """Loads a Keras 3 checkpoint into ``model`` by layer name.

    Every layer of the model with weights must be in the checkpoint with the same shapes,
    except the classifier (``predictions`` and ``predictions_bn``) when ``num_classes``
    differs: it keeps its fresh initialisation and the report says so. Checkpoint layers the
    model lacks are an error, unless the model was built with ``include_top=False``.

    Args:
        model: The model to load into.
        path: A ``.weights.h5``, ``.weights.json`` or ``.keras`` file.
        source: How to name the weights in the report (default: the path).
        preprocessing: The preprocessing the weights were trained with; default: the one
            stored in a ``.keras`` file, else the model's is kept.

    Returns:
        The :class:`LoadReport`.

    Raises:
        InvalidArgumentError: If the path is not a supported, existing file.
        WeightsMismatchError: If the architecture does not match; the message names the
            first mismatching layer.
    """
    source = source or str(path)
    with open_checkpoint(path) as ckpt:
        if not ckpt.named:
            report = _load_by_order(model, ckpt.path, source)
            report.log(logger)
            return report
        received = f"Received: weights={str(ckpt.path)!r}"
        plan: list[tuple[keras.Layer, list[Any]]] = []
        loaded: list[str] = []
        skipped: dict[str, str] = {}
        notes: list[str] = []
        model_layers = [layer for layer in model.layers if layer.weights]
        for layer in model_layers:
            model_shapes = [tuple(w.shape) for w in layer.weights]
            arrays = ckpt.layers.get(layer.name)
            if arrays is None:
                raise WeightsMismatchError(
                    f"The checkpoint does not match {model.name}: its first mismatching layer "
                    f"is {layer.name!r} ({type(layer).__name__}, weights "
                    f"{_fmt_shapes(model_shapes)}), which the checkpoint lacks. The checkpoint "
                    f"holds {_first_layers(ckpt)}; was it saved from another model? {received}"
                )
            file_shapes = [tuple(a.shape) for a in arrays]
            if file_shapes == model_shapes:
                plan.append((layer, arrays))
                loaded.append(layer.name)
                continue
            if layer.name in CLASSIFIER_LAYERS and _differs_in_classes(model_shapes, file_shapes):
                skipped[layer.name] = (
                    f"classifier re-initialised: the checkpoint has {file_shapes[0][-1]} classes, "
                    f"the model {model_shapes[0][-1]}"
                )
                continue
            raise WeightsMismatchError(
                f"The checkpoint does not match {model.name}: its first mismatching layer is "
                f"{layer.name!r} ({type(layer).__name__}), with weights "
                f"{_fmt_shapes(file_shapes)} in the checkpoint and {_fmt_shapes(model_shapes)} "
                f"in the model. Build the model with the checkpoint's architecture (and "
                f"input_shape). {received}"
            )
        names = {layer.name for layer in model_layers}
        extra = sorted((name for name in ckpt.layers if name not in names), key=_natural)
        if extra and _has_top(model):
            shown = ", ".join(extra[:8]) + (
                f", ... ({len(extra)} in all)" if len(extra) > 8 else ""
            )
            raise WeightsMismatchError(
                f"The checkpoint does not match {model.name}: it holds layers the model "
                f"lacks, first {extra[0]!r} ({shown}); was it saved from a deeper variant? "
                f"{received}"
            )
        if extra:
            notes.append(f"not used (the model has no classifier head): {', '.join(extra)}")
        if skipped:
            notes.append(
                f"num_classes differs from the checkpoint's ({ckpt.num_classes}): the "
                f"classifier ({', '.join(skipped)}) is newly initialised; train it before use"
            )
        apply_plan(plan)
    if skipped:
        warn_new_head(
            model,
            list(skipped),
            f"num_classes ({model.output_shape[-1]}) differs from the checkpoint's "
            f"({ckpt.num_classes})",
        )
    prep = preprocessing or ckpt.preprocessing
    if prep is not None:
        notes.append(use_preprocessing(model, prep, reason="the weights were trained with it"))
    report = LoadReport(
        model=model.name,
        source=source,
        loaded=tuple(loaded),
        skipped=skipped,
        notes=tuple(n for n in notes if n),
    )
    report.log(logger)
    return report


def _differs_in_classes(
    model_shapes: list[tuple[int, ...]], file_shapes: list[tuple[int, ...]]
) -> bool:
    return len(model_shapes) == len(file_shapes) and all(
        m[:-1] == f[:-1] and len(m) == len(f)
        for m, f in zip(model_shapes, file_shapes, strict=True)
    )


def _natural(name: str) -> list[Any]:
    """Sort key reading digit runs as numbers: block2 before block10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _first_layers(ckpt: Checkpoint) -> str:
    names = sorted(ckpt.layers, key=_natural)
    if not names:
        return "no layer weights at all"
    return f"{len(names)} layers with weights, e.g. {', '.join(names[:4])}"
