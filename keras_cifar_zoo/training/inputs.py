"""The checks of images, labels and models that ``fit``, ``evaluate`` and ``predict`` share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.data import DATASETS
from keras_cifar_zoo.errors import (
    InvalidArgumentError,
    InvalidTypeError,
    ModelOutputError,
    PixelRangeError,
)
from keras_cifar_zoo.preprocessing import LAYER_NAME, Preprocessing


def nested_layers(model: keras.Model) -> Iterator[keras.Layer]:
    """Every layer of ``model``, those of the models nested in it included (depth first): a
    zoo model used as the base of a transfer-learning wrapper keeps its layers there."""
    for layer in getattr(model, "layers", ()):
        yield layer
        if isinstance(layer, keras.Model):
            yield from nested_layers(layer)


def has_preprocessing_layer(model: keras.Model) -> bool:
    """Whether ``model`` or a model nested in it applies its own preprocessing layer."""
    return any(layer.name == LAYER_NAME for layer in nested_layers(model))


def _output_layer(model: keras.Model) -> keras.Layer | None:
    """The layer that computes the model's single output, looked up inside a nested model
    that produces it; None when the graph is unknown (a subclassed model)."""
    try:
        outputs = model.outputs
    except (AttributeError, ValueError):
        return None
    if not isinstance(outputs, (list, tuple)) or len(outputs) != 1:
        return None
    history = getattr(outputs[0], "_keras_history", None)
    layer = getattr(history, "operation", None)
    if isinstance(layer, keras.Model):
        return _output_layer(layer)
    return layer if isinstance(layer, keras.Layer) else None


# Layers that compute an affine map of their input: ending in one, a classifier outputs logits.
_AFFINE_LAYERS = (keras.layers.BatchNormalization, keras.layers.Rescaling)


def outputs_logits(model: keras.Model) -> bool:
    """Whether the model's output layer computes logits rather than class probabilities: a
    layer without an activation (``Dense(n)``, ``classifier_activation=None``) or an affine
    one. A softmax, another activation or a graph that cannot be read count as
    probabilities, which :func:`check_classifier` and ``evaluate`` then check."""
    layer = _output_layer(model)
    if layer is None or isinstance(layer, keras.layers.Softmax):
        return False
    if isinstance(layer, _AFFINE_LAYERS):
        return True
    return getattr(layer, "activation", None) is keras.activations.linear


def resolve_preprocessing(
    model: keras.Model, preprocessing: Preprocessing | None
) -> Preprocessing | None:
    """Returns the preprocessing a caller must apply before ``model``, or None if the model
    (or a model nested in it, such as a zoo base under a new head) has its ``preprocessing``
    layer baked in."""
    if preprocessing is not None and not isinstance(preprocessing, Preprocessing):
        raise InvalidTypeError(
            "preprocessing must be a keras_cifar_zoo.Preprocessing record such as "
            "model_info(name).preprocessing. "
            f"Received: preprocessing={preprocessing!r}"
        )
    if has_preprocessing_layer(model):
        if preprocessing is not None:
            raise InvalidArgumentError(
                f"Model {model.name!r} already has a '{LAYER_NAME}' layer (in itself or a "
                "model nested in it); passing preprocessing as well would apply it twice. "
                f"Drop the preprocessing argument. Received: preprocessing={preprocessing.name!r}"
            )
        return None
    if preprocessing is not None:
        return preprocessing
    from keras_cifar_zoo.registry import list_models
    from keras_cifar_zoo.zoo import model_info

    if model.name in list_models():
        return model_info(model.name).preprocessing
    raise InvalidArgumentError(
        f"Cannot tell how to preprocess images for model {model.name!r}: it has no "
        f"'{LAYER_NAME}' layer and is not named after a zoo model. Build it with "
        "include_preprocessing=True or pass preprocessing=. "
        f"Received: model.name={model.name!r}"
    )


def check_allow_unit_range(allow_unit_range: Any) -> bool:
    """Validates the ``allow_unit_range`` flag of ``fit_cifar10``, ``evaluate`` and ``predict``."""
    if not isinstance(allow_unit_range, bool):
        raise InvalidTypeError(
            "allow_unit_range must be True or False. "
            f"Received: allow_unit_range={allow_unit_range!r}"
        )
    return allow_unit_range


def check_images(images: Any, arg: str, *, allow_unit_range: bool = False) -> np.ndarray:
    """Validates a batch of raw images (N, H, W, 3), uint8 or float in 0-255.

    A float batch whose values all lie in [0, 1] is refused unless ``allow_unit_range``: it
    is almost always already scaled, and a model that applies its own preprocessing sees
    near-black images and gives every one the same class.
    """
    if not isinstance(images, np.ndarray) and not hasattr(images, "__array__"):
        raise InvalidTypeError(
            f"{arg} must be a NumPy array of images. Received: type={type(images).__name__}"
        )
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[0] == 0:
        raise InvalidArgumentError(
            f"{arg} must have shape (N, height, width, 3) with N >= 1 and RGB channels last. "
            f"Received: {arg}.shape={images.shape}"
        )
    if images.dtype != np.uint8:
        numeric = np.issubdtype(images.dtype, np.integer) or np.issubdtype(
            images.dtype, np.floating
        )
        if not numeric:
            raise InvalidTypeError(
                f"{arg} must be uint8 or float pixels in 0-255. Received: dtype={images.dtype}"
            )
        low, high = images.min(), images.max()  # a NaN or an infinity shows in one of them
        if not (np.isfinite(low) and np.isfinite(high) and low >= 0 and high <= 255):
            raise InvalidArgumentError(
                f"{arg} must hold raw pixels in 0-255 (the model applies its own preprocessing). "
                f"Received: min={low}, max={high}"
            )
        if high <= 1 and not allow_unit_range and np.issubdtype(images.dtype, np.floating):
            raise PixelRangeError(
                f"{arg} holds float values that all lie in [0, 1], but the model takes raw "
                "pixels in 0-255 and applies its own preprocessing: images scaled to [0, 1] "
                f"look nearly black to it. Pass raw 0-255 pixels ({arg} * 255, or the uint8 "
                "images), or allow_unit_range=True if these values are meant as they are. "
                f"Received: dtype={images.dtype}, min={low}, max={high}"
            )
    return images


def check_labels(labels: Any, num_images: int, num_classes: int, arg: str) -> np.ndarray:
    """Validates integer labels (N,) or (N, 1) in [0, num_classes)."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != (num_images,) or not np.issubdtype(labels.dtype, np.integer):
        raise InvalidArgumentError(
            f"{arg} must be {num_images} integer class indices, shape ({num_images},). "
            f"Received: shape={labels.shape}, dtype={labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise InvalidArgumentError(
            f"{arg} must lie in [0, {num_classes}). "
            f"Received: min={labels.min()}, max={labels.max()}"
        )
    return labels.astype(np.int64)


def check_classifier(model: keras.Model, output_shape: Any) -> int:
    """Returns the class count of a model whose output is (N, num_classes) probabilities."""
    shape = tuple(output_shape) if isinstance(output_shape, (tuple, list)) else output_shape
    single = isinstance(shape, tuple) and all(d is None or isinstance(d, int) for d in shape)
    if not (single and len(shape) == 2 and isinstance(shape[1], int) and shape[1] >= 2):
        what = f"shape {shape}" if single else f"{len(shape)} tensors"
        raise ModelOutputError(
            f"Model {model.name!r} outputs {what}, but one row of class probabilities per image "
            "is needed, shape (N, num_classes) with num_classes >= 2. Build it with "
            "include_top=True, or end it in a softmax classifier. "
            f"Received: model.output_shape={output_shape}"
        )
    return shape[1]


def check_dataset_classes(
    model: keras.Model, num_classes: int, arg: str, dataset: str = "cifar10"
) -> None:
    """Checks that a model used on a dataset itself has one output per class of it."""
    title, classes = DATASETS[dataset]
    if num_classes != classes:
        raise ModelOutputError(
            f"Model {model.name!r} outputs {num_classes} class probabilities but {title} has "
            f"{classes} classes. Build it with num_classes={classes}, or pass "
            f"{arg}= with labels in [0, {num_classes}). Received: num_classes={num_classes}"
        )


def input_size(model: keras.Model) -> tuple[int | None, int | None]:
    """The (height, width) the model takes; (None, None) for any size, or a subclassed model
    not called yet."""
    try:
        shape = model.input_shape
    except AttributeError:
        return (None, None)
    return tuple(shape[1:3]) if isinstance(shape, tuple) and len(shape) == 4 else (None, None)


def check_image_size(model: keras.Model, images: np.ndarray, arg: str) -> None:
    """Checks that the images' height and width are those the model takes."""
    expected = input_size(model)
    if None not in expected and images.shape[1:3] != expected:
        raise InvalidArgumentError(
            f"{arg}[0] holds {images.shape[1]}x{images.shape[2]} images but {model.name!r} takes "
            f"{expected[0]}x{expected[1]}; resize the images or build the model with "
            f"input_shape=. Received: {arg}[0].shape={images.shape}"
        )


def check_pair(split: Any, arg: str, allow_unit_range: bool) -> np.ndarray:
    """Checks that ``split`` is (images, labels) and returns the validated images."""
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise InvalidTypeError(
            f"{arg} must be a pair (images, labels). Received: type={type(split).__name__}"
        )
    return check_images(split[0], f"{arg}[0]", allow_unit_range=allow_unit_range)
