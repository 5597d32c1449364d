"""Weights for zoo models: published CIFAR-10 checkpoints, ImageNet VGG, local files.

``weights=`` takes four forms, resolved once by :func:`~.source.resolve_weights` into a typed
source that knows the preprocessing to build with and loads itself:

- ``"cifar10"`` / ``"cifar10:<tag>"``: a checkpoint from the weights manifest, fetched from
  a local hub mirror or the Hugging Face Hub and sha256-checked (:mod:`.hub`);
- ``"imagenet"``: the Keras Applications VGG16/VGG19 weights, copied by layer name
  (:mod:`.imagenet`);
- a path to a ``.weights.h5``, ``.weights.json`` or ``.keras`` file (:mod:`.loading`).

Modules: :mod:`.manifest` (schema and records), :mod:`.hub` (the only one that touches the
network), :mod:`.imagenet`, :mod:`.loading`, :mod:`.source`, :mod:`.storage`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import keras

from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError
from keras_cifar_zoo.registry import ModelInfo, get_info
from keras_cifar_zoo.weights.loading import LoadReport
from keras_cifar_zoo.weights.manifest import DATASETS, CheckpointEntry, Manifest, load_manifest
from keras_cifar_zoo.weights.source import (
    IMAGENET,
    CheckpointSource,
    FileSource,
    HubOptions,
    ImageNetOptions,
    ImageNetSource,
    WeightsSource,
    parse_weights,
    resolve_weights,
)

__all__ = [
    "CheckpointEntry",
    "CheckpointSource",
    "FileSource",
    "HubOptions",
    "ImageNetOptions",
    "ImageNetSource",
    "LoadReport",
    "Manifest",
    "WeightsSource",
    "available_weights",
    "download_weights",
    "load_manifest",
    "load_weights",
    "resolve_weights",
]


def available_weights(info: ModelInfo) -> tuple[str, ...]:
    """Returns the ``weights=`` values :func:`~keras_cifar_zoo.load_model` accepts for a model.

    Args:
        info: The model's :class:`~keras_cifar_zoo.ModelInfo`.

    Returns:
        E.g. ``("cifar10", "cifar10:article", "cifar10:improved", "imagenet")``: per dataset
        with published checkpoints (``"cifar10"``, then ``"cifar100"``) its name and one
        ``"<dataset>:<tag>"`` per checkpoint, then ``"imagenet"`` for a VGG matching a Keras
        Applications network. Paths are always accepted too.

    Raises:
        ManifestError: If the weights manifest breaks its schema.
    """
    out: list[str] = []
    for dataset in DATASETS:
        tags = sorted(e.identifier for e in load_manifest().for_model(info.name, dataset))
        out += [dataset, *tags] if tags else []
    return (*out, *([IMAGENET] if info.imagenet_network else []))


def load_weights(model: keras.Model, weights: Any, **options: Any) -> LoadReport:
    """Loads weights into a zoo model built earlier, and returns the load report.

    Args:
        model: A model from :func:`~keras_cifar_zoo.load_model` (its name is the zoo name).
        weights: ``"cifar10"``, ``"cifar10:<tag>"``, ``"imagenet"`` or a path.
        **options: For ``"cifar10"`` the fields of :class:`HubOptions`: ``hub_dir`` (a local
            mirror, default ``KERAS_CIFAR_ZOO_HUB``), ``cache_dir`` (default: huggingface_hub's
            cache), ``local_files_only`` (default ``HF_HUB_OFFLINE``), ``endpoint`` (default
            ``HF_ENDPOINT``), ``revision``, ``token``, ``manifest`` (a manifest file). For
            ``"imagenet"`` those of :class:`ImageNetOptions`: ``imagenet_weights`` (a local file
            or folder, default ``KERAS_CIFAR_ZOO_IMAGENET``), ``cache_dir`` (Keras's cache),
            ``local_files_only``.

    Returns:
        The :class:`LoadReport`: loaded and skipped layers with reasons, and notes.

    Raises:
        InvalidTypeError: If ``model`` is not a ``keras.Model`` or an option has the wrong
            type (a path that is not a ``str`` or ``os.PathLike``, for example).
        UnknownModelError: If ``model.name`` is not a zoo model.
        WeightsNotAvailableError: If the model has no such weights.
        WeightsMismatchError: If the weights do not fit the model.
        HubError, IntegrityError: If a file cannot be fetched or fails its hash.

    Example:
        >>> model = load_model("vgg16_bn")
        >>> report = load_weights(model, "imagenet")  # doctest: +SKIP
        >>> report.skipped["fc1"]  # doctest: +SKIP
        'shape mismatch: file (25088, 4096), (4096,), model (512, 4096), (4096,)'
    """
    if not isinstance(model, keras.Model):
        raise InvalidTypeError(
            "load_weights takes the model first: a keras.Model built by load_model() or "
            "build_model(), such as load_model('resnet20_v1'). "
            f"Received: model={model!r}"
        )
    get_info(model.name)  # raises UnknownModelError with suggestions
    source = resolve_weights(model.name, weights, **options)
    if source is None:
        raise InvalidArgumentError(
            "load_weights needs weights to load: 'cifar10', 'cifar10:<tag>', 'imagenet' or a "
            "path. Received: weights=None"
        )
    return source.load_into(model)


def download_weights(name: str, weights: str = "cifar10", **options: Any) -> Path:
    """Fetches (and verifies) a model's weights files without building the model.

    Args:
        name: A zoo model name.
        weights: ``"cifar10"``, ``"cifar10:<tag>"`` or ``"imagenet"``.
        **options: As :func:`load_weights`.

    Returns:
        The folder holding the checkpoint files (``"cifar10"``) or the ImageNet file.

    Raises:
        As :func:`load_weights`.

    Example:
        >>> download_weights("resnet20_v1")  # doctest: +SKIP
        PosixPath('.../snapshots/<commit>')
    """
    get_info(name)
    is_path = weights is None or parse_weights(weights)[0] == "path"
    source = None if is_path else resolve_weights(name, weights, **options)
    if not isinstance(source, (CheckpointSource, ImageNetSource)):
        raise InvalidArgumentError(
            f"download takes 'cifar10', 'cifar10:<tag>' or 'imagenet', not a path. "
            f"Received: weights={weights!r}"
        )
    return source.fetch()
