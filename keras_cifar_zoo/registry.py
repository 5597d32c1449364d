"""The model registry: names, metadata records and building.

Family modules in :mod:`keras_cifar_zoo.models` declare each variant as a ``ModelSpec``; the
registry indexes them and does listing, metadata, argument checks and :func:`build_model`.
The registry knows architectures only: weights are resolved in :mod:`keras_cifar_zoo.weights`
and both meet in :mod:`keras_cifar_zoo.zoo`.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import numbers
from typing import Any

import keras

from keras_cifar_zoo.errors import (
    InvalidArgumentError,
    InvalidInputShapeError,
    InvalidNumClassesError,
    InvalidTypeError,
    UnknownModelError,
    shown,
)
from keras_cifar_zoo.models import ALL_MODELS
from keras_cifar_zoo.models.spec import ModelSpec
from keras_cifar_zoo.preprocessing import Preprocessing


@dataclasses.dataclass(frozen=True)
class ModelInfo:
    """Metadata of a registered model, as returned by :func:`model_info`.

    Attributes:
        name: Registry name, the argument of :func:`load_model`.
        family: Builder family (``"vgg"``, ``"resnet_v1"``, ``"cnn"``, ``"resnet9"``).
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


def _info(spec: ModelSpec) -> ModelInfo:
    return ModelInfo(
        name=spec.name,
        family=spec.family,
        article=spec.article,
        description=spec.description,
        num_params=spec.num_params,
        input_shape=(32, 32, 3),
        min_input_size=spec.min_input_size,
        preprocessing=spec.preprocessing,
        default_recipe=spec.default_recipe,
        imagenet_network=spec.imagenet_network,
    )


def _index(specs: tuple[ModelSpec, ...]) -> dict[str, ModelSpec]:
    index: dict[str, ModelSpec] = {}
    for spec in specs:
        if spec.name in index:
            raise ValueError(f"Model {spec.name!r} is declared twice.")
        index[spec.name] = spec
    return index


_REGISTRY = _index(ALL_MODELS)


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
    names = sorted(_REGISTRY)
    return names if pattern is None else [n for n in names if fnmatch.fnmatchcase(n, pattern)]


def _entry(name: Any) -> ModelSpec:
    if not isinstance(name, str):
        raise InvalidTypeError(f"Model name must be a string. Received: name={shown(name)}")
    registry = _REGISTRY
    if name not in registry:
        # A name far longer than any registered one is no typo: skip difflib's quadratic work.
        close = (
            difflib.get_close_matches(name, list(registry), n=3, cutoff=0.5)
            if len(name) <= 2 * max(map(len, registry))
            else []
        )
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise UnknownModelError(
            f"Unknown model {shown(name)}.{hint} Call keras_cifar_zoo.list_models() or run "
            f"`keras-cifar-zoo list` to see all {len(registry)} models. "
            f"Received: name={shown(name)}"
        )
    return registry[name]


def get_info(name: str) -> ModelInfo:
    """Returns a model's registered record; its ``weights`` are left empty.

    The public :func:`keras_cifar_zoo.model_info` adds the weights from the manifest; the
    registry knows only architectures, so it imports nothing from the weights package.

    Raises:
        UnknownModelError: If ``name`` is not registered; the message suggests close names.
    """
    return _info(_entry(name))


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


POOLING = (None, "avg", "max")
CLASSIFIER_ACTIVATIONS = ("softmax", None)


def _check_pooling(pooling: Any, include_top: bool) -> str | None:
    if pooling not in POOLING or not (pooling is None or isinstance(pooling, str)):
        raise InvalidArgumentError(
            f"pooling must be None, 'avg' or 'max'. Received: pooling={pooling!r}"
        )
    if pooling is not None and include_top:
        raise InvalidArgumentError(
            "pooling applies to the convolutional base only: pass include_top=False with it "
            f"(the classifier has its own pooling). Received: pooling={pooling!r}, "
            "include_top=True"
        )
    return pooling


def _check_classifier_activation(activation: Any) -> str | None:
    if activation not in CLASSIFIER_ACTIVATIONS or not (
        activation is None or isinstance(activation, str)
    ):
        raise InvalidArgumentError(
            "classifier_activation must be 'softmax' (class probabilities) or None (logits). "
            f"Received: classifier_activation={activation!r}"
        )
    return activation


def _input(input_tensor: Any, input_shape: Any, info: ModelInfo) -> tuple[Any, Any]:
    """The (model inputs, tensor to build on) for ``input_tensor`` or ``input_shape``."""
    if input_tensor is None:
        shape = _check_input_shape(input_shape, info)
        images = keras.Input(shape=shape, name="images")
        return images, images
    if not isinstance(input_tensor, keras.KerasTensor):
        raise InvalidTypeError(
            "input_tensor must be a Keras tensor, such as the output of keras.Input(shape=(32, "
            f"32, 3)) or of a layer. Received: input_tensor of type {type(input_tensor).__name__}"
        )
    shape = tuple(input_tensor.shape[1:])
    if None in shape:
        raise InvalidInputShapeError(
            f"input_tensor needs a fixed (height, width, channels) shape. "
            f"Received: input_tensor.shape={tuple(input_tensor.shape)!r}"
        )
    _check_input_shape(shape, info)
    if tuple(input_shape) not in ((32, 32, 3), shape):
        raise InvalidInputShapeError(
            "input_shape and input_tensor disagree: pass only input_tensor. "
            f"Received: input_shape={tuple(input_shape)!r}, input_tensor.shape[1:]={shape!r}"
        )
    sources = keras.utils.get_source_inputs(input_tensor)
    return (sources[0] if len(sources) == 1 else sources), input_tensor


def build_model(
    name: str,
    *,
    num_classes: int = 10,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    input_tensor: Any = None,
    include_top: bool = True,
    include_preprocessing: bool = True,
    preprocessing: Preprocessing | None = None,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
) -> keras.Model:
    """Builds a freshly initialised model (no weights loaded); see :func:`load_model`.

    ``preprocessing`` replaces the model's own in the ``preprocessing`` layer (weights that
    need another pass it).
    """
    entry = _entry(name)
    num_classes = _check_num_classes(num_classes)
    include_top = _check_bool(include_top, "include_top")
    include_preprocessing = _check_bool(include_preprocessing, "include_preprocessing")
    pooling = _check_pooling(pooling, include_top)
    classifier_activation = _check_classifier_activation(classifier_activation)
    inputs, x = _input(input_tensor, input_shape, _info(entry))

    preprocessing = preprocessing or entry.preprocessing
    if include_preprocessing:
        x = preprocessing.layer()(x)
    outputs = entry.builder(
        x,
        entry.config,
        num_classes=num_classes,
        include_top=include_top,
        classifier_activation=classifier_activation,
    )
    if pooling == "avg":
        outputs = keras.layers.GlobalAveragePooling2D(name="global_avg_pool")(outputs)
    elif pooling == "max":
        outputs = keras.layers.GlobalMaxPooling2D(name="global_max_pool")(outputs)
    return keras.Model(inputs, outputs, name=name)
