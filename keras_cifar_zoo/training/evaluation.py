"""``evaluate`` and ``predict``: measure and use a model with its own preprocessing."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.data import CLASS_NAMES
from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError
from keras_cifar_zoo.preprocessing import Preprocessing
from keras_cifar_zoo.training.fit import check_images, check_labels, resolve_preprocessing

_EPSILON = 1e-7  # Keras's clip for probabilities in cross-entropy


def _probabilities(
    model: keras.Model, images: np.ndarray, preprocessing: Preprocessing | None, batch_size: int
) -> np.ndarray:
    if not isinstance(model, keras.Model):
        raise InvalidTypeError(f"model must be a keras.Model. Received: model={model!r}")
    extra = resolve_preprocessing(model, preprocessing)
    x = extra.apply(images) if extra is not None else images
    return np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)


def evaluate(
    model: keras.Model,
    *,
    data: tuple[Any, Any] | None = None,
    batch_size: int = 256,
    preprocessing: Preprocessing | None = None,
    data_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Measures a model on the CIFAR-10 test set (or given data).

    Args:
        model: A model taking raw images (with its ``preprocessing`` layer) or a zoo model
            built with ``include_preprocessing=False``.
        data: ``(images, labels)``; default: the 10,000 CIFAR-10 test images.
        batch_size: Inference batch size.
        preprocessing: For a model without a ``preprocessing`` layer that is not named
            after a zoo model.
        data_dir: Where :func:`load_cifar10` looks first.

    Returns:
        ``accuracy`` and ``loss`` (mean categorical cross-entropy, probabilities clipped to
        [1e-7, 1 - 1e-7] as Keras does), ``per_class_accuracy`` (class name -> accuracy),
        ``confusion_matrix`` (rows: true class, columns: predicted, as nested lists) and
        ``num_images``.

    Example:
        >>> result = evaluate(load_model("resnet20_v1", weights="cifar10"))
        >>> round(result["accuracy"], 4)  # doctest: +SKIP
    """
    if data is None:
        from keras_cifar_zoo.data import load_cifar10

        _, data = load_cifar10(data_dir)
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise InvalidTypeError(f"data must be a pair (images, labels). Received: type={type(data).__name__}")
    images = check_images(data[0], "data[0]")
    probs = _probabilities(model, images, preprocessing, batch_size)
    num_classes = probs.shape[-1]
    labels = check_labels(data[1], len(images), num_classes, "data[1]")
    predicted = probs.argmax(axis=-1)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    picked = np.clip(probs[np.arange(len(labels)), labels], _EPSILON, 1 - _EPSILON)
    names = CLASS_NAMES if num_classes == len(CLASS_NAMES) else tuple(map(str, range(num_classes)))
    per_class = {
        name: float(confusion[i, i] / row) if (row := confusion[i].sum()) else float("nan")
        for i, name in enumerate(names)
    }
    return {
        "accuracy": float((predicted == labels).mean()),
        "loss": float(-np.log(picked).mean()),
        "per_class_accuracy": per_class,
        "confusion_matrix": confusion.tolist(),
        "num_images": int(len(labels)),
    }


@dataclasses.dataclass(frozen=True)
class Predictions:
    """What :func:`predict` returns.

    Attributes:
        class_indices: Predicted class per image, shape (N,).
        class_names: Predicted class name per image.
        probabilities: Softmax output, shape (N, num_classes).
    """

    class_indices: np.ndarray
    class_names: tuple[str, ...]
    probabilities: np.ndarray


def predict(
    model: keras.Model,
    images: Any,
    *,
    batch_size: int = 256,
    preprocessing: Preprocessing | None = None,
) -> Predictions:
    """Classifies raw RGB images.

    Args:
        model: A zoo model (see :func:`evaluate`).
        images: One image (H, W, 3) or a batch (N, H, W, 3), uint8 or float in 0-255, at the
            model's input size.
        batch_size: Inference batch size.
        preprocessing: For a model without a ``preprocessing`` layer that is not named after
            a zoo model.

    Returns:
        :class:`Predictions` (always batched, N=1 for a single image).

    Raises:
        InvalidArgumentError: For another shape, dtype, value range or image size.

    Example:
        >>> predict(model, x_test[:4]).class_names  # doctest: +SKIP
        ('cat', 'ship', 'ship', 'airplane')
    """
    array = np.asarray(images) if hasattr(images, "__array__") or isinstance(images, list) else images
    if isinstance(array, np.ndarray) and array.ndim == 3:
        array = array[None]
    array = check_images(array, "images")
    expected = tuple(model.input_shape[1:3])
    if None not in expected and array.shape[1:3] != expected:
        raise InvalidArgumentError(
            f"images must be {expected[0]}x{expected[1]} to match the model's input; resize them "
            f"first (the CLI resizes files for you). Received: images.shape={array.shape}"
        )
    probs = _probabilities(model, array, preprocessing, batch_size)
    indices = probs.argmax(axis=-1)
    names = CLASS_NAMES if probs.shape[-1] == len(CLASS_NAMES) else tuple(map(str, range(probs.shape[-1])))
    return Predictions(
        class_indices=indices,
        class_names=tuple(names[i] for i in indices),
        probabilities=probs.astype(np.float32),
    )
