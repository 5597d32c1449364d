"""``evaluate`` and ``predict``: measure and use a model with its own preprocessing."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.data import check_dataset, load_dataset, resolve_class_names
from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError, ModelOutputError
from keras_cifar_zoo.preprocessing import Preprocessing
from keras_cifar_zoo.training.inputs import (
    check_allow_unit_range,
    check_classifier,
    check_dataset_classes,
    check_image_size,
    check_images,
    check_labels,
    input_size,
    outputs_logits,
    resolve_preprocessing,
)

_EPSILON = 1e-7  # Keras's clip for probabilities in cross-entropy
# How far a row of probabilities may sum from 1: a softmax computed in bfloat16 was off by up
# to 0.003 (measured); logits or features are off by far more.
_SUM_TOLERANCE = 0.02
TTA_MODES = ("none", "flip", "flip_translate")
"""Test-time augmentations :func:`evaluate` takes (None means ``"none"``)."""


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise InvalidTypeError(
            "model must be a keras.Model, e.g. load_model(name, weights=...). "
            f"Received: model={model!r}"
        )


def _num_classes(model: keras.Model) -> int | None:
    """The class count of the model's (N, num_classes) output, or None for a model whose
    output shape is not known before it is called (checked on its output then)."""
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):  # a subclassed model not yet called
        return None
    return check_classifier(model, shape)


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidArgumentError(
            f"batch_size must be a positive integer. Received: batch_size={batch_size!r}"
        )


def _class_names(model: keras.Model, class_names: Any, num_classes: int) -> tuple[str, ...]:
    return resolve_class_names(class_names, num_classes, f"model {model.name!r}")


def _probabilities(
    model: keras.Model, images: np.ndarray, preprocessing: Preprocessing | None, batch_size: int
) -> np.ndarray:
    """The model's class probabilities for raw ``images``: the softmax of its outputs for a
    model ending in logits, so that the loss of a logits model is its cross-entropy too."""
    extra = resolve_preprocessing(model, preprocessing)
    x = extra.apply(images) if extra is not None else images
    probs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=np.float64)
    check_classifier(model, (None, *probs.shape[1:]))
    if outputs_logits(model):
        probs = np.exp(probs - probs.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
    sums = probs.sum(axis=-1)
    finite = bool(np.isfinite(sums).all())
    if not (finite and probs.min() >= 0 and np.abs(sums - 1).max() <= _SUM_TOLERANCE):
        raise ModelOutputError(
            f"Model {model.name!r} outputs values that are not class probabilities: each row "
            "must be >= 0 and sum to 1. End the model in a softmax (zoo models: build them "
            "with include_top=True), and check its weights are finite. "
            f"Received: min={probs.min()}, row sums in [{sums.min()}, {sums.max()}]"
        )
    return probs


def _check_tta(tta: Any) -> str:
    if tta is None:
        return "none"
    if not isinstance(tta, str) or tta not in TTA_MODES:
        raise InvalidArgumentError(
            "tta must be None or 'none' (one view), 'flip' (the image and its mirror) or "
            "'flip_translate' (also both moved one pixel up-left and down-right, as airbench "
            f"evaluates). Received: tta={tta!r}"
        )
    return tta


def tta_views(images: np.ndarray, tta: str) -> list[tuple[float, np.ndarray]]:
    """The (weight, images) of each test-time view, weights summing to 1.

    ``"flip"``: the image and its mirror, 1/2 each. ``"flip_translate"``, airbench's
    six views: that pair weighs 1/2, and each of the images moved one pixel down-right and
    up-left (borders reflected) weighs 1/4, split evenly with its mirror.
    """
    flipped = images[:, :, ::-1]
    if tta == "none":
        return [(1.0, images)]
    if tta == "flip":
        return [(0.5, images), (0.5, flipped)]
    height, width = images.shape[1:3]
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    down_right, up_left = padded[:, :height, :width], padded[:, 2:, 2:]
    return [
        (0.25, images),
        (0.25, flipped),
        (0.125, down_right),
        (0.125, down_right[:, :, ::-1]),
        (0.125, up_left),
        (0.125, up_left[:, :, ::-1]),
    ]


def _tta_probabilities(
    model: keras.Model,
    images: np.ndarray,
    preprocessing: Preprocessing | None,
    batch_size: int,
    tta: str,
) -> np.ndarray:
    """Class probabilities combined over the views: the softmax of the weighted mean of
    their log-probabilities. For a softmax classifier that is the softmax of the weighted
    mean logits, which is how airbench combines its views."""
    views = tta_views(images, tta)
    if len(views) == 1:
        return _probabilities(model, images, preprocessing, batch_size)
    tiny = np.finfo(np.float64).tiny  # a probability that underflowed to 0 stays finite
    combined = sum(
        weight
        * np.log(
            np.maximum(
                _probabilities(model, np.ascontiguousarray(view), preprocessing, batch_size),
                tiny,
            )
        )
        for weight, view in views
    )
    combined = np.exp(combined - combined.max(axis=-1, keepdims=True))
    return combined / combined.sum(axis=-1, keepdims=True)


def evaluate(
    model: keras.Model,
    *,
    data: tuple[Any, Any] | None = None,
    batch_size: int = 256,
    preprocessing: Preprocessing | None = None,
    data_dir: str | os.PathLike | None = None,
    allow_unit_range: bool = False,
    class_names: Sequence[str] | None = None,
    dataset: str = "cifar10",
    tta: str | None = None,
) -> dict[str, Any]:
    """Measures a model on the CIFAR-10 or CIFAR-100 test set, or on given data.

    Args:
        model: A model taking raw images (with its ``preprocessing`` layer, or a zoo model
            nested in it with the layer) or a zoo model built with
            ``include_preprocessing=False``; its output layer may end in a softmax or in
            logits (``classifier_activation=None``, a ``Dense`` head without activation).
        data: ``(images, labels)``; default: the 10,000 test images of ``dataset``.
        batch_size: Inference batch size.
        preprocessing: For a model without a ``preprocessing`` layer that is not named
            after a zoo model.
        data_dir: Where :func:`load_cifar10` (or :func:`load_cifar100`) looks first.
        allow_unit_range: Accept float images whose values all lie in [0, 1] (refused by
            default: the model takes raw 0-255 pixels, so such images are almost always
            scaled by mistake).
        dataset: ``"cifar10"`` or ``"cifar100"`` (fine labels): the test set used when
            ``data`` is None.
        class_names: One name per class, keys of ``per_class_accuracy``. Default: the names
            of the dataset with the model's class count (CIFAR-10 for 10, CIFAR-100 fine for
            100, CIFAR-100 coarse for 20), else the class indices ``"0"``, ``"1"``, ...
        tta: Test-time augmentation: None or ``"none"`` (each image once), ``"flip"`` (the
            image and its mirror) or ``"flip_translate"`` (airbench's six views: also both
            moved one pixel up-left and down-right); see :func:`tta_views`. The views'
            log-probabilities are averaged, which for a softmax classifier is averaging
            its logits.

    Returns:
        ``accuracy`` and ``loss`` (mean categorical cross-entropy, probabilities clipped to
        [1e-7, 1 - 1e-7] as Keras does), ``per_class_accuracy`` (class name -> accuracy, NaN
        for a class without images), ``confusion_matrix`` (rows: true class, columns:
        predicted, as nested lists), ``num_images`` and ``tta`` (the augmentation used).

    Raises:
        PixelRangeError: For float images all in [0, 1] without ``allow_unit_range=True``.
        ModelOutputError: If the model does not output (N, num_classes) class
            probabilities, or not 10 of them for the CIFAR-10 test set.
        InvalidArgumentError: For images or labels of the wrong shape, type or range, a
            bad batch size, an unknown ``tta``, or ``class_names`` not one distinct name per
            model class.
        DatasetNotFoundError: If ``data`` is None and no CIFAR-10 copy is found.

    Example:
        >>> result = evaluate(load_model("resnet20_v1", weights="cifar10"))
        >>> round(result["accuracy"], 4)  # doctest: +SKIP
    """
    _check_model(model)
    _check_batch_size(batch_size)
    check_allow_unit_range(allow_unit_range)
    tta = _check_tta(tta)
    dataset = check_dataset(dataset)
    num_classes = _num_classes(model)
    if data is None and num_classes is not None:
        check_dataset_classes(model, num_classes, "data", dataset)
    if num_classes is not None:  # before the data is read: a wrong name list fails fast
        names = _class_names(model, class_names, num_classes)
    if data is None:
        _, data = load_dataset(dataset, data_dir)
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise InvalidTypeError(
            f"data must be a pair (images, labels). Received: type={type(data).__name__}"
        )
    images = check_images(data[0], "data[0]", allow_unit_range=allow_unit_range)
    if num_classes is not None:
        labels = check_labels(data[1], len(images), num_classes, "data[1]")
    check_image_size(model, images, "data")
    probs = _tta_probabilities(model, images, preprocessing, batch_size, tta)
    if num_classes is None:
        num_classes = probs.shape[-1]
        labels = check_labels(data[1], len(images), num_classes, "data[1]")
        names = _class_names(model, class_names, num_classes)
    predicted = probs.argmax(axis=-1)
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    picked = np.clip(probs[np.arange(len(labels)), labels], _EPSILON, 1 - _EPSILON)
    per_class = {
        name: float(confusion[i, i] / row) if (row := confusion[i].sum()) else float("nan")
        for i, name in enumerate(names)
    }
    return {
        "accuracy": float((predicted == labels).mean()),
        "loss": float(-np.log(picked).mean()),
        "per_class_accuracy": per_class,
        "confusion_matrix": confusion.tolist(),
        "num_images": len(labels),
        "tta": tta,
    }


@dataclasses.dataclass(frozen=True)
class Predictions:
    """What :func:`predict` returns.

    Attributes:
        class_indices: Predicted class per image, shape (N,).
        class_names: Predicted class name per image.
        probabilities: Class probabilities, shape (N, num_classes): the model's softmax
            output, or the softmax of the logits of a model ending without one.
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
    allow_unit_range: bool = False,
    class_names: Sequence[str] | None = None,
) -> Predictions:
    """Classifies raw RGB images.

    Checkpoints trained with label smoothing (the ``improved_*`` recipes, smoothing 0.1; the
    ``airbench94`` recipe, 0.2) put their top probability near 0.9 (0.8) even when they are
    right: read the probabilities as scores for ranking the classes, not as calibrated
    confidences.

    Args:
        model: A zoo model (see :func:`evaluate`).
        images: One image (H, W, 3) or a batch (N, H, W, 3), uint8 or float in 0-255, at the
            model's input size.
        batch_size: Inference batch size.
        preprocessing: For a model without a ``preprocessing`` layer that is not named after
            a zoo model.
        allow_unit_range: Accept float images whose values all lie in [0, 1] (see
            :func:`evaluate`).
        class_names: One name per class (see :func:`evaluate` for the default).

    Returns:
        :class:`Predictions` (always batched, N=1 for a single image).

    Raises:
        PixelRangeError: For float images all in [0, 1] without ``allow_unit_range=True``.
        ModelOutputError: If the model does not output (N, num_classes) class
            probabilities.
        InvalidArgumentError: For another shape, dtype, value range or image size (an
            ``InvalidTypeError`` for something that is not an array), or ``class_names`` not
            one distinct name per model class.

    Example:
        >>> predict(model, x_test[:4]).class_names  # doctest: +SKIP
        ('cat', 'ship', 'ship', 'airplane')
    """
    _check_model(model)
    _check_batch_size(batch_size)
    check_allow_unit_range(allow_unit_range)
    num_classes = _num_classes(model)
    if num_classes is not None:
        _class_names(model, class_names, num_classes)
    if isinstance(images, (list, tuple)):
        try:
            images = np.asarray(images)
        except ValueError as exc:  # ragged nesting
            raise InvalidArgumentError(
                f"images must be one image (height, width, 3) or a batch (N, height, width, 3) "
                f"of equal-sized images. Received: a ragged {type(images).__name__}"
            ) from exc
    if not isinstance(images, np.ndarray) and not hasattr(images, "__array__"):
        raise InvalidTypeError(
            "images must be a NumPy array: one image (height, width, 3) or a batch "
            f"(N, height, width, 3). Received: type={type(images).__name__}"
        )
    array = np.asarray(images)
    if array.ndim not in (3, 4) or array.shape[-1] != 3:
        raise InvalidArgumentError(
            "images must be one RGB image (height, width, 3) or a batch (N, height, width, 3). "
            f"Received: images.shape={array.shape}"
        )
    array = check_images(
        array[None] if array.ndim == 3 else array, "images", allow_unit_range=allow_unit_range
    )
    expected = input_size(model)
    if None not in expected and array.shape[1:3] != expected:
        raise InvalidArgumentError(
            f"images must be {expected[0]}x{expected[1]} to match the model's input; resize them "
            f"first (the CLI resizes files for you). Received: images.shape={array.shape}"
        )
    probs = _probabilities(model, array, preprocessing, batch_size)
    indices = probs.argmax(axis=-1)
    names = _class_names(model, class_names, probs.shape[-1])
    return Predictions(
        class_indices=indices,
        class_names=tuple(names[i] for i in indices),
        probabilities=probs.astype(np.float32),
    )
