"""Weights for zoo models: published CIFAR-10 checkpoints, ImageNet VGG, local files.

``load_model(name, weights=...)`` accepts four forms, all handled here:

- ``"cifar10"`` / ``"cifar10:<tag>"``: a checkpoint from the weights manifest, fetched from
  a local hub mirror or the Hugging Face Hub and sha256-checked (:mod:`.hub`);
- ``"imagenet"``: the Keras Applications VGG16/VGG19 weights, copied by layer name
  (:mod:`.imagenet`); the model then uses Caffe BGR preprocessing;
- a path to a ``.weights.h5``, ``.weights.json`` or ``.keras`` file (:mod:`.loading`).

Modules: :mod:`.manifest` (schema and records), :mod:`.hub` (the only one that touches the
network), :mod:`.imagenet`, :mod:`.loading`, :mod:`.publish`.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import keras

from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError, WeightsNotAvailableError
from keras_cifar_zoo.preprocessing import CAFFE_BGR, Preprocessing
from keras_cifar_zoo.weights import hub
from keras_cifar_zoo.weights.imagenet import load_imagenet_weights, resolve_file
from keras_cifar_zoo.weights.loading import LoadReport, load_checkpoint, open_checkpoint
from keras_cifar_zoo.weights.manifest import DATASET, CheckpointEntry, Manifest, load_manifest

__all__ = [
    "CheckpointEntry",
    "LoadReport",
    "Manifest",
    "available_weights",
    "download_weights",
    "load_manifest",
    "load_weights",
    "load_weights_into",
    "preprocessing_for",
]

IMAGENET = "imagenet"
_HUB_OPTIONS = (
    "hub_dir",
    "cache_dir",
    "local_files_only",
    "endpoint",
    "revision",
    "token",
    "manifest",
)
_OPTIONS = {
    DATASET: frozenset(_HUB_OPTIONS),
    IMAGENET: frozenset(("imagenet_weights", "cache_dir", "local_files_only")),
    "path": frozenset(),
}
_FORMS = (
    "None, 'imagenet', 'cifar10', 'cifar10:<tag>' or a path to a .weights.h5, .weights.json "
    "or .keras file"
)


def _parse(weights: Any) -> tuple[str, str | None]:
    """Returns (kind, tag): ("cifar10", tag or None), ("imagenet", None) or ("path", None)."""
    if isinstance(weights, os.PathLike):
        return "path", None
    if not isinstance(weights, str):
        raise InvalidTypeError(f"weights must be {_FORMS}. Received: weights={weights!r}")
    if weights == IMAGENET:
        return IMAGENET, None
    if weights == DATASET:
        return DATASET, None
    if weights.startswith(f"{DATASET}:"):
        tag = weights.split(":", 1)[1]
        if not tag:
            raise InvalidArgumentError(
                f"weights='cifar10:' needs a tag after the colon, e.g. 'cifar10:article'. "
                f"Received: weights={weights!r}"
            )
        return DATASET, tag
    looks_like_path = (
        os.sep in weights
        or "/" in weights
        or weights.endswith((".h5", ".json", ".keras"))
        or Path(weights).exists()
    )
    if looks_like_path:
        return "path", None
    close = difflib.get_close_matches(weights.lower(), [DATASET, IMAGENET], n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise InvalidArgumentError(f"weights must be {_FORMS}.{hint} Received: weights={weights!r}")


_PATH_OPTIONS = {
    "hub_dir": "a local hub mirror folder",
    "cache_dir": "a cache folder",
    "manifest": "a weights_manifest.json file",
    "imagenet_weights": "a Keras Applications VGG file or a folder holding one",
}


def _check_values(options: dict[str, Any]) -> None:
    """Checks each option's type before anything reads a file or the network."""
    for option, what in _PATH_OPTIONS.items():
        if option in options:
            hub.check_path_option(options[option], option, what)
    if "local_files_only" in options:
        hub.offline_mode(options["local_files_only"])
    for option in ("endpoint", "revision"):
        value = options.get(option)
        if value is not None and (not isinstance(value, str) or not value):
            example = "'https://huggingface.co'" if option == "endpoint" else "'main'"
            raise InvalidTypeError(
                f"{option} must be a non-empty string such as {example}, or None. "
                f"Received: {option}={value!r}"
            )
    endpoint = options.get("endpoint")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise InvalidArgumentError(
            f"endpoint must be an http:// or https:// URL such as 'https://huggingface.co'. "
            f"Received: endpoint={endpoint!r}"
        )
    token = options.get("token")
    if token is not None and not isinstance(token, (str, bool)):
        raise InvalidTypeError(
            "token must be a Hugging Face token string, True (the saved login), False or None. "
            f"Received: token of type {type(token).__name__}"
        )


def _check_options(kind: str, weights: Any, options: dict[str, Any]) -> None:
    allowed = _OPTIONS[kind]
    unknown = sorted(set(options) - set().union(*_OPTIONS.values()))
    if unknown:
        raise InvalidTypeError(
            f"Unknown weights option(s) {', '.join(unknown)}; accepted: "
            f"{', '.join(sorted(set().union(*_OPTIONS.values())))}. Received: {', '.join(unknown)}"
        )
    wrong = sorted(set(options) - allowed)
    if wrong:
        takes = f"takes only {', '.join(sorted(allowed))}" if allowed else "takes no options"
        raise InvalidArgumentError(
            f"weights={weights!r} {takes}. "
            f"Received: {', '.join(f'{k}={options[k]!r}' for k in wrong)}"
        )
    _check_values(options)


def _imagenet_models() -> list[str]:
    from keras_cifar_zoo.registry import list_models, model_info

    return [name for name in list_models() if model_info(name).imagenet_network]


def available_weights(info: Any) -> tuple[str, ...]:
    """Returns the ``weights=`` values :func:`~keras_cifar_zoo.load_model` accepts for a model.

    Args:
        info: The model's :class:`~keras_cifar_zoo.ModelInfo`.

    Returns:
        E.g. ``("cifar10", "cifar10:article", "cifar10:improved", "imagenet")``: ``"cifar10"``
        and one ``"cifar10:<tag>"`` per published checkpoint, then ``"imagenet"`` for a VGG
        matching a Keras Applications network. Paths are always accepted too.

    Raises:
        ManifestError: If the weights manifest breaks its schema.
    """
    tags = sorted(entry.identifier for entry in load_manifest().for_model(info.name))
    out = ([DATASET, *tags] if tags else []) + ([IMAGENET] if info.imagenet_network else [])
    return tuple(out)


def _entry(name: str, tag: str | None, manifest: Any) -> CheckpointEntry:
    return load_manifest(manifest).find(name, tag)


def _check_model(model: Any, function: str) -> None:
    if not isinstance(model, keras.Model):
        raise InvalidTypeError(
            f"{function} takes the model first: a keras.Model built by load_model() or "
            f"build_model(), such as load_model('resnet20_v1'). "
            f"Received: model={model!r}"
        )


def load_weights_into(model: keras.Model, name: str, weights: Any, **options: Any) -> LoadReport:
    """Loads ``weights`` into ``model`` (built from registry entry ``name``).

    Called by :func:`~keras_cifar_zoo.load_model`; see :func:`load_weights` for the options.

    Returns:
        The :class:`LoadReport` (also logged at INFO level).
    """
    _check_model(model, "load_weights_into")
    kind, tag = _parse(weights)
    _check_options(kind, weights, options)
    if kind == IMAGENET:
        from keras_cifar_zoo.registry import model_info

        network = model_info(name).imagenet_network
        if network is None:
            raise WeightsNotAvailableError(
                f"{name} has no ImageNet weights: only the VGGs whose convolutions match a Keras "
                f"Applications network take weights='imagenet' ({', '.join(_imagenet_models())}). "
                f"Use weights='cifar10', a path or None. Received: weights='imagenet'"
            )
        return load_imagenet_weights(model, network, **options)
    if kind == DATASET:
        entry = _entry(name, tag, options.get("manifest"))
        revision = options.get("revision") or entry.revision
        folder = hub.fetch_repo_files(
            entry.repo_id,
            entry.files,
            revision=revision,
            hub_dir=options.get("hub_dir"),
            cache_dir=options.get("cache_dir"),
            local_files_only=options.get("local_files_only"),
            endpoint=options.get("endpoint"),
            token=options.get("token"),
        )
        return load_checkpoint(
            model,
            folder / entry.weights_file,
            source=f"{entry.identifier} ({entry.repo_id}@{revision}, {entry.dtype})",
            preprocessing=entry.preprocessing,
        )
    return load_checkpoint(model, weights)


def load_weights(model: keras.Model, weights: Any, **options: Any) -> LoadReport:
    """Loads weights into a zoo model built earlier, and returns the load report.

    Args:
        model: A model from :func:`~keras_cifar_zoo.load_model` (its name is the zoo name).
        weights: ``"cifar10"``, ``"cifar10:<tag>"``, ``"imagenet"`` or a path.
        **options: For ``"cifar10"``: ``hub_dir`` (a local mirror, default
            ``KERAS_CIFAR_ZOO_HUB``), ``cache_dir`` (default: huggingface_hub's cache),
            ``local_files_only`` (default ``HF_HUB_OFFLINE``), ``endpoint`` (default
            ``HF_ENDPOINT``), ``revision``, ``token``, ``manifest`` (a manifest file). For
            ``"imagenet"``: ``imagenet_weights`` (a local file or folder, default
            ``KERAS_CIFAR_ZOO_IMAGENET``), ``cache_dir`` (Keras's cache), ``local_files_only``.

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
    from keras_cifar_zoo.registry import model_info

    _check_model(model, "load_weights")
    model_info(model.name)  # raises UnknownModelError with suggestions
    return load_weights_into(model, model.name, weights, **options)


def preprocessing_for(name: str, weights: Any, **options: Any) -> Preprocessing:
    """The preprocessing a model should be built with to hold ``weights``.

    ``"imagenet"`` -> Caffe BGR; ``"cifar10[:tag]"`` -> the checkpoint's (from the manifest);
    a ``.keras`` file -> the one stored in it; otherwise the model's own.

    Raises:
        UnknownModelError, WeightsNotAvailableError: As :func:`load_weights`.
    """
    from keras_cifar_zoo.registry import model_info

    info = model_info(name)
    if weights is None:
        return info.preprocessing
    kind, tag = _parse(weights)
    _check_options(kind, weights, options)
    if kind == IMAGENET:
        return CAFFE_BGR if info.imagenet_network else info.preprocessing
    if kind == DATASET:
        return _entry(name, tag, options.get("manifest")).preprocessing
    if str(weights).endswith(".keras"):
        with open_checkpoint(weights) as ckpt:
            if ckpt.preprocessing is not None:
                return ckpt.preprocessing
    return info.preprocessing


def download_weights(name: str, weights: str = DATASET, **options: Any) -> Path:
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
    from keras_cifar_zoo.registry import model_info

    info = model_info(name)
    kind, tag = _parse(weights)
    if kind == "path":
        raise InvalidArgumentError(
            f"download takes 'cifar10', 'cifar10:<tag>' or 'imagenet', not a path. "
            f"Received: weights={weights!r}"
        )
    _check_options(kind, weights, options)
    if kind == IMAGENET:
        if info.imagenet_network is None:
            raise WeightsNotAvailableError(
                f"{name} has no ImageNet weights; models that have: "
                f"{', '.join(_imagenet_models())}. Received: weights='imagenet'"
            )
        path, _ = resolve_file(info.imagenet_network, wants_top=True, **options)
        return path
    entry = _entry(name, tag, options.get("manifest"))
    return hub.fetch_repo_files(
        entry.repo_id,
        entry.files,
        revision=options.get("revision") or entry.revision,
        hub_dir=options.get("hub_dir"),
        cache_dir=options.get("cache_dir"),
        local_files_only=options.get("local_files_only"),
        endpoint=options.get("endpoint"),
        token=options.get("token"),
    )
