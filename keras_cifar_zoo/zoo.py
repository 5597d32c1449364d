"""The zoo's front door: :func:`list_models`, :func:`model_info` and :func:`load_model`.

This is where architectures (:mod:`keras_cifar_zoo.registry`) and weights
(:mod:`keras_cifar_zoo.weights`) meet; neither imports the other's side.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import keras

from keras_cifar_zoo import registry
from keras_cifar_zoo.errors import InvalidArgumentError, InvalidInputShapeError
from keras_cifar_zoo.registry import ModelInfo, build_model, get_info
from keras_cifar_zoo.weights import CheckpointSource, available_weights, resolve_weights
from keras_cifar_zoo.weights.manifest import DATASETS, load_manifest

PRETRAINED = (*DATASETS, "imagenet")
"""The ``pretrained=`` values of :func:`list_models` besides True and False."""


def list_models(pattern: str | None = None, *, pretrained: bool | str = False) -> list[str]:
    """Lists registered model names, sorted; with ``pretrained``, only those with weights.

    Args:
        pattern: Optional ``fnmatch`` pattern such as ``"vgg*"``.
        pretrained: False: every model. True: those with a published checkpoint in the
            weights manifest (timm's convention). ``"cifar10"``, ``"cifar100"`` or
            ``"imagenet"``: those for which ``load_model(name, weights=pretrained)`` works.

    Returns:
        The matching names in alphabetical order.

    Raises:
        InvalidTypeError: If ``pattern`` is not a string or None.
        InvalidArgumentError: If ``pretrained`` is none of the values above.
        ManifestError: If the weights manifest breaks its schema.

    Example:
        >>> list_models("resnet2*", pretrained=True)
        ['resnet20_v1', 'resnet20_v1_dropout']
    """
    names = registry.list_models(pattern)
    if pretrained is False:
        return names
    if pretrained is not True and (not isinstance(pretrained, str) or pretrained not in PRETRAINED):
        raise InvalidArgumentError(
            "pretrained must be False (every model), True (a published checkpoint) or one of "
            f"{', '.join(map(repr, PRETRAINED))}. Received: pretrained={pretrained!r}"
        )
    if pretrained == "imagenet":
        return [n for n in names if get_info(n).imagenet_network]
    entries = load_manifest().entries
    have = {e.model for e in entries if pretrained is True or e.dataset == pretrained}
    return [n for n in names if n in have]


def model_info(name: str) -> ModelInfo:
    """Returns the frozen metadata record of a registered model, with its available weights.

    Raises:
        UnknownModelError: If ``name`` is not registered; the message suggests close names.
        ManifestError: If the weights manifest breaks its schema.
    """
    info = get_info(name)
    return dataclasses.replace(info, weights=available_weights(info))


def load_model(
    name: str,
    *,
    weights: str | os.PathLike | None = None,
    num_classes: int | None = None,
    input_shape: tuple[int, int, int] = (32, 32, 3),
    input_tensor: Any = None,
    include_top: bool = True,
    include_preprocessing: bool = True,
    pooling: str | None = None,
    classifier_activation: str | None = "softmax",
    **weights_options: Any,
) -> keras.Model:
    """Builds a zoo model, optionally with weights.

    The arguments follow ``keras.applications``: ``include_top``, ``pooling``,
    ``classifier_activation`` and ``input_tensor`` mean what they mean there.

    Args:
        name: A name from :func:`list_models`.
        weights: ``None`` (random initialisation), ``"cifar10"`` or ``"cifar10:<tag>"``
            (a published CIFAR-10 checkpoint), ``"cifar100"`` or ``"cifar100:<tag>"`` (a
            CIFAR-100 one), ``"imagenet"`` (Keras Applications VGG weights,
            loaded by layer name) or a path to a ``.weights.h5``, ``.weights.json`` or
            ``.keras`` file.
        num_classes: Size of the classifier; default: the published checkpoint's (100 for
            ``"cifar100"``), else 10. Only the classifier changes: one of another size than
            the weights' keeps its fresh initialisation, and the load report says so (the
            start of fine-tuning, e.g. ``weights="cifar10", num_classes=100``).
        input_shape: (height, width, 3); at least ``model_info(name).min_input_size``.
        input_tensor: A Keras tensor to build the model on (its shape replaces
            ``input_shape``); the model's inputs are that tensor's source inputs.
        include_top: If False, return the convolutional base without the classifier.
        include_preprocessing: If True (default), the first layer is the weightless
            ``preprocessing`` layer (a ``keras.layers.Rescaling``) and the model takes raw
            RGB pixels in 0-255.
        pooling: With ``include_top=False``: None (the 4D feature map), ``"avg"`` or ``"max"``
            (global pooling to one feature vector per image).
        classifier_activation: ``"softmax"`` (class probabilities) or None (logits).
            Pretrained weights load either way.
        **weights_options: The fields of :class:`~keras_cifar_zoo.weights.HubOptions` for
            ``"cifar10"`` (``hub_dir``, ``cache_dir``, ``local_files_only``, ``endpoint``,
            ``revision``, ``token``, ``manifest``) or of
            :class:`~keras_cifar_zoo.weights.ImageNetOptions` for ``"imagenet"``
            (``imagenet_weights``, ``cache_dir``, ``local_files_only``). The load report is
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
    source = resolve_weights(name, weights, **weights_options)
    if num_classes is None:
        num_classes = source.num_classes if isinstance(source, CheckpointSource) else 10
    model = build_model(
        name,
        num_classes=num_classes,
        input_shape=input_shape,
        input_tensor=input_tensor,
        include_top=include_top,
        include_preprocessing=include_preprocessing,
        preprocessing=None if source is None else source.preprocessing,
        pooling=pooling,
        classifier_activation=classifier_activation,
    )
    if isinstance(source, CheckpointSource) and include_top:
        shape = tuple(input_tensor.shape[1:]) if input_tensor is not None else tuple(input_shape)
        _check_classifier_fits(model, source, shape, weights, classifier_activation)
    if source is not None:
        source.load_into(model)
    return model


def _check_classifier_fits(
    model: keras.Model,
    source: CheckpointSource,
    shape: tuple[int, ...],
    weights: Any,
    classifier_activation: str | None,
) -> None:
    """Refuses, before any file is fetched, a classifier whose weights cannot take the
    checkpoint's: a head on the flattened feature map grows with the image size, so weights
    trained on 32x32 images do not fit it at 64x64. A head after global pooling fits any size.

    Raises:
        InvalidInputShapeError: Naming the first layer that differs and the fix
            (``include_top=False``).
    """
    trained = tuple(source.entry.input_shape)
    if shape[:2] == trained[:2]:
        return
    reference = build_model(
        model.name,
        num_classes=model.output_shape[-1],
        input_shape=trained,
        include_preprocessing=False,
        classifier_activation=classifier_activation,
    )
    for layer in reference.layers:
        if not layer.weights:
            continue
        want = [tuple(w.shape) for w in layer.weights]
        have = [tuple(w.shape) for w in model.get_layer(layer.name).weights]
        if want == have:
            continue
        height, width = trained[:2]
        raise InvalidInputShapeError(
            f"{model.name}'s classifier cannot take the weights {weights!r} at "
            f"{shape[0]}x{shape[1]}: they were trained on {height}x{width} images, and its "
            f"layer {layer.name!r} has weights {_shapes(want)} there but {_shapes(have)} at "
            f"{shape[0]}x{shape[1]} (it reads the flattened feature map, which grows with the "
            f"image). Pass include_top=False (with pooling='avg' for one feature vector per "
            f"image) to use the pretrained convolutional base at this size, or "
            f"input_shape={trained!r} to keep the classifier. Received: "
            f"input_shape={shape!r}, weights={weights!r}, include_top=True"
        )


def _shapes(shapes: list[tuple[int, ...]]) -> str:
    return "[" + ", ".join(str(s) for s in shapes) + "]"
