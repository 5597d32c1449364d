"""The model registry: names, metadata records and ``load_model``.

Family modules in :mod:`keras_cifar_zoo.models` register each variant with one call to
:func:`register_model`; everything else (listing, metadata, building, validation) lives here.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import importlib
import numbers
import os
from collections.abc import Callable
from typing import Any

import keras

from keras_cifar_zoo.errors import (
    InvalidInputShapeError,
    InvalidNumClassesError,
    InvalidTypeError,
    UnknownModelError,
)
from keras_cifar_zoo.preprocessing import Preprocessing

# builder(x, config, *, num_classes, include_top) -> output tensor
Builder = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """Metadata of a registered model, as returned by :func:`model_info`.

    Attributes:
        name: Registry name, the argument of :func:`load_model`.
        family: Builder family (``"vgg"``, ``"resnet_v1"``, ``"cnn"``).
        article: Seed article the architecture comes from (``"000"`` ... ``"004"``).
        description: What the architecture is, in one or two sentences.
        num_params: ``model.count_params()`` of the default build.
        input_shape: Default input shape (height, width, channels).
        min_input_size: Smallest height/width the pooling stages accept.
        preprocessing: The preprocessing baked into the model.
        default_recipe: Name of the training recipe ``fit_cifar10`` uses by default.
        imagenet_network: The Keras Applications network (``"vgg16"``, ``"vgg19"``) whose
            ImageNet weights match this model's convolutions, or None.
        weights: Weights identifiers available for :func:`load_model` (``"cifar10:<tag>"``,
            ``"imagenet"``).
    """

    name: str
    family: str
    article: str
    description: str
    num_params: int
    input_shape: tuple[int, int, int]
    min_input_size: int
    preprocessing: Preprocessing
    default_recipe: str
    imagenet_network: str | None = None
    weights: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class _Entry:
    info: ModelInfo
    builder: Builder
    config: Any


_REGISTRY: dict[str, _Entry] = {}


def _registered() -> dict[str, _Entry]:
    """The registry, after the family modules have registered every model.

    The package root imports lazily, so importing this module alone registers nothing; the
    family modules import this one, hence the import at call time.
    """
    importlib.import_module("keras_cifar_zoo.models")
    return _REGISTRY


def register_model(
    name: str,
    *,
    builder: Builder,
    config: Any,
    family: str,
    article: str,
    description: str,
    num_params: int,
    preprocessing: Preprocessing,
    default_recipe: str,
    min_input_size: int,
    imagenet_network: str | None = None,
) -> None:
    """Adds a model variant to the registry (called by the family modules).

    Raises:
        ValueError: If ``name`` is already registered.
    """
    if name in _REGISTRY:
        raise ValueError(f"Model {name!r} is registered twice.")
    info = ModelInfo(
        name=name,
        family=family,
        article=article,
        description=description,
        num_params=num_params,
        input_shape=(32, 32, 3),
        min_input_size=min_input_size,
        preprocessing=preprocessing,
        default_recipe=default_recipe,
        imagenet_network=imagenet_network,
    )
    _REGISTRY[name] = _Entry(info=info, builder=builder, config=config)


def list_models(pattern: str | None = None) -> list[str]:
    """Lists registered model names, sorted.

    Args:
        pattern: Optional ``fnmatch`` pattern such as ``"vgg*"``.

    Returns:
        The matching names in alphabetical order.

    Example:
        >>> list_models("resnet2*")
        ['resnet20_v1', 'resnet20_v1_dropout']
    """
    if pattern is not None and not isinstance(pattern, str):
        raise InvalidTypeError(
            f"pattern must be a string such as 'vgg*' or None. Received: pattern={pattern!r}"
        )
    names = sorted(_registered())
    return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def _entry(name: Any) -> _Entry:
    if not isinstance(name, str):
        raise InvalidTypeError(f"Model name must be a string. Received: name={name!r}")
    registry = _registered()
    if name not in registry:
        close = difflib.get_close_matches(name, list(registry), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownModelError(
            f"Unknown model {name!r}.{hint} Call keras_cifar_zoo.list_models() or run "
            f"`keras-cifar-zoo list` to see all {len(registry)} models. Received: name={name!r}"
        )
    return registry[name]


def model_info(name: str) -> ModelInfo:
    """Returns the frozen metadata record of a registered model.

    Raises:
        UnknownModelError: If ``name`` is not registered; the message suggests close names.
    """
    info = _entry(name).info
    from keras_cifar_zoo.weights import available_weights

    return dataclasses.replace(info, weights=available_weights(info))


def _is_integer(value: Any) -> bool:
    """True for Python and NumPy integers (``np.int64(100)`` from a label array), not bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_num_classes(num_classes: Any) -> int:
    if not _is_integer(num_classes):
        raise InvalidNumClassesError(
            f"num_classes must be an integer of at least 2. Received: num_classes={num_classes!r}"
        )
    if num_classes < 2:
        raise InvalidNumClassesError(
            f"num_classes must be at least 2 (softmax over one class is constant). "
            f"Received: num_classes={num_classes!r}"
        )
    return int(num_classes)


def _check_input_shape(input_shape: Any, info: ModelInfo) -> tuple[int, int, int]:
    ok_type = isinstance(input_shape, (tuple, list)) and all(_is_integer(d) for d in input_shape)
    if not ok_type or len(input_shape) != 3:
        raise InvalidInputShapeError(
            "input_shape must be a tuple of three integers (height, width, channels), e.g. "
            f"(32, 32, 3). Received: input_shape={input_shape!r}"
        )
    height, width, channels = (int(d) for d in input_shape)
    if channels != 3:
        raise InvalidInputShapeError(
            f"input_shape must have 3 channels: {info.name} takes RGB images and its "
            "preprocessing is defined per RGB channel. "
            f"Received: input_shape={(height, width, channels)!r}"
        )
    smallest = info.min_input_size
    if height < smallest or width < smallest:
        raise InvalidInputShapeError(
            f"input_shape is too small for {info.name}: its pooling stages need height and width "
            f"of at least {smallest}. Received: input_shape={(height, width, channels)!r}"
        )
    return (height, width, channels)


def _check_bool(value: Any, arg: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidTypeError(f"{arg} must be True or False. Received: {arg}={value!r}")
    return value


def build_model(
    name: str,
    *,
    num_classes: int = 10,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    include_top: bool = True,
    include_preprocessing: bool = True,
    preprocessing: Preprocessing | None = None,
) -> keras.Model:
    """Builds a freshly initialised model (no weights loaded); see :func:`load_model`.

    ``preprocessing`` replaces the model's own in the ``preprocessing`` layer (weights that
    need another, such as ImageNet VGG weights, pass it).
    """
    entry = _entry(name)
    num_classes = _check_num_classes(num_classes)
    input_shape = _check_input_shape(input_shape, entry.info)
    include_top = _check_bool(include_top, "include_top")
    include_preprocessing = _check_bool(include_preprocessing, "include_preprocessing")

    inputs = keras.Input(shape=input_shape, name="images")
    preprocessing = preprocessing or entry.info.preprocessing
    x = preprocessing.layer()(inputs) if include_preprocessing else inputs
    outputs = entry.builder(x, entry.config, num_classes=num_classes, include_top=include_top)
    return keras.Model(inputs, outputs, name=name)


def load_model(
    name: str,
    *,
    weights: str | os.PathLike | None = None,
    num_classes: int = 10,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    include_top: bool = True,
    include_preprocessing: bool = True,
    **weights_options: Any,
) -> keras.Model:
    """Builds a zoo model, optionally with weights.

    Args:
        name: A name from :func:`list_models`.
        weights: ``None`` (random initialisation), ``"cifar10"`` or ``"cifar10:<tag>"``
            (a published checkpoint), ``"imagenet"`` (Keras Applications VGG weights,
            loaded by layer name) or a path to a ``.weights.h5``, ``.weights.json`` or
            ``.keras`` file.
        num_classes: Size of the classifier; only the classifier changes.
        input_shape: (height, width, 3); at least ``model_info(name).min_input_size``.
        include_top: If False, return the convolutional base without the classifier.
        include_preprocessing: If True (default), the first layer is the weightless
            ``preprocessing`` layer and the model takes raw RGB pixels in 0-255.
        **weights_options: Passed to the weights loader: ``hub_dir``, ``cache_dir``,
            ``local_files_only``, ``endpoint``, ``revision``, ``token``, ``manifest`` for
            ``"cifar10"``; ``imagenet_weights``, ``cache_dir``, ``local_files_only`` for
            ``"imagenet"`` (see :func:`keras_cifar_zoo.load_weights`). The load report is
            logged at INFO level.

    Returns:
        A ``keras.Model`` named ``name``.

    Raises:
        UnknownModelError: If ``name`` is not registered.
        InvalidArgumentError: If an argument has a value or type the model cannot take.

    Example:
        >>> model = load_model("resnet20_v1")
        >>> model.count_params()
        274442
    """
    preprocessing = None
    if weights is not None:
        from keras_cifar_zoo.weights import preprocessing_for

        _entry(name)  # an unknown name is reported before anything about weights
        preprocessing = preprocessing_for(name, weights, **weights_options)
    model = build_model(
        name,
        num_classes=num_classes,
        input_shape=input_shape,
        include_top=include_top,
        include_preprocessing=include_preprocessing,
        preprocessing=preprocessing,
    )
    if weights is None:
        if weights_options:
            raise InvalidTypeError(
                "Weights options only apply when weights is given. "
                f"Received: weights=None, {', '.join(sorted(weights_options))}"
            )
        return model
    from keras_cifar_zoo.weights import load_weights_into

    load_weights_into(model, name, weights, **weights_options)
    return model
