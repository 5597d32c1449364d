"""Analytic FLOP counts of Keras models, for throughput reports.

:func:`count_flops` walks the graph of a built functional or ``Sequential`` model (nested
models included) and counts the multiply-adds of its convolutions and dense layers from the
shapes recorded in the graph; nothing is run.

Conventions:

- A multiply-add is 2 FLOPs; a bias adds 1 FLOP per output element.
- Only ``Conv1D/2D/3D``, ``Conv1D/2D/3DTranspose``, ``DepthwiseConv1D/2D``,
  ``SeparableConv1D/2D`` and ``Dense`` are counted. Everything else (BatchNormalization,
  activations, pooling, ``Add``, dropout, preprocessing, augmentation, the loss and the
  optimizer update) counts as 0: those operations are memory-bound and add a few percent of
  the FLOPs of a CNN.
- A training step costs 3 forward passes per image: the forward pass, plus the backward
  pass's two products of the same size (gradients with respect to the inputs and to the
  weights). This slightly overcounts the first layer, whose input gradient is not needed.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras

from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError

TRAINING_STEP_FACTOR = 3
"""Training-step FLOPs per forward FLOP (forward + backward for inputs and weights)."""

_CONV = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.DepthwiseConv1D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv1D,
    keras.layers.SeparableConv2D,
)
_CONV_TRANSPOSE = (
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
)
_KERNELS = ("kernel", "depthwise_kernel", "pointwise_kernel")


@dataclasses.dataclass(frozen=True)
class FlopCount:
    """FLOPs of one image through a model (see :func:`count_flops`).

    Attributes:
        forward: FLOPs of the forward pass of one image.
        training_step: FLOPs of one image's share of a training step
            (``3 * forward``); multiply by the batch size for a whole step.
        layers: ``(layer name, class name, forward FLOPs)`` for every layer call in graph
            order, uncounted layers with 0; layers of a nested model are named
            ``"nested_model/layer"``.
    """

    forward: int
    training_step: int
    layers: tuple[tuple[str, str, int], ...]


def count_flops(model: keras.Model) -> FlopCount:
    """Counts the FLOPs of one image through a built functional or ``Sequential`` model.

    Convolutions and dense layers count ``2 * multiply-adds`` plus one FLOP per output for
    the bias; every other layer counts 0 (see the module docstring). A layer called twice is
    counted twice.

    Args:
        model: A built functional or ``Sequential`` model with fixed spatial input size,
            such as ``load_model(name)``.

    Returns:
        The forward and training-step FLOPs per image and the per-layer breakdown.

    Raises:
        InvalidTypeError: If ``model`` is not a ``keras.Model``.
        InvalidArgumentError: If the model has no graph (a subclassed or unbuilt model), an
            unknown spatial size, or a layer with weights this function cannot count.

    Example:
        >>> from keras_cifar_zoo import load_model
        >>> flops = count_flops(load_model("vgg_lite"))
        >>> flops.training_step == 3 * flops.forward
        True
    """
    if not isinstance(model, keras.Model):
        raise InvalidTypeError(
            f"model must be a keras.Model. Received: model={type(model).__name__}"
        )
    rows = tuple(_walk(model, prefix=""))
    forward = sum(flops for _, _, flops in rows)
    return FlopCount(forward=forward, training_step=TRAINING_STEP_FACTOR * forward, layers=rows)


def _graph_nodes(model: keras.Model) -> list[Any]:
    """The nodes of a model's graph from inputs to outputs."""
    graph = getattr(model, "_functional", None) or model  # Sequential keeps one inside
    by_depth = getattr(graph, "_nodes_by_depth", None)
    if by_depth is None:
        raise InvalidArgumentError(
            f"count_flops needs a functional or built Sequential model; {model.name!r} "
            f"({type(model).__name__}) has no layer graph. Build it with keras.Input(...) "
            "(functional API), or start the Sequential with keras.Input(shape)."
        )
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def _walk(model: keras.Model, prefix: str) -> list[tuple[str, str, int]]:
    rows = []
    for node in _graph_nodes(model):
        layer = node.operation
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, keras.Model):
            rows.extend(_walk(layer, prefix=f"{prefix}{layer.name}/"))
            continue
        rows.append((f"{prefix}{layer.name}", type(layer).__name__, _layer_flops(layer, node)))
    return rows


def _shape(tensor: Any, layer: keras.Layer) -> tuple[int, ...]:
    """A tensor's shape without the batch axis; every other axis must be known."""
    shape = tuple(tensor.shape[1:])
    if any(d is None for d in shape):
        raise InvalidArgumentError(
            f"Layer {layer.name!r} sees a tensor of unknown size {tuple(tensor.shape)}; "
            "count_flops needs a fixed input shape. Build the model with a full "
            "input_shape, e.g. keras.Input((32, 32, 3))."
        )
    return shape


def _spatial(shape: tuple[int, ...], layer: keras.Layer) -> int:
    """Number of positions of a conv's input or output (the product of the spatial axes)."""
    channels_first = getattr(layer, "data_format", "channels_last") == "channels_first"
    return math.prod(shape[1:] if channels_first else shape[:-1])


def _layer_flops(layer: keras.Layer, node: Any) -> int:
    kernels = [getattr(layer, k) for k in _KERNELS if getattr(layer, k, None) is not None]
    bias = getattr(layer, "bias", None) is not None
    if isinstance(layer, _CONV + _CONV_TRANSPOSE + (keras.layers.Dense,)):
        out = _shape(node.output_tensors[0], layer)
        macs_per_position = sum(math.prod(k.shape) for k in kernels)
        if isinstance(layer, keras.layers.Dense):
            positions = math.prod(_shape(node.input_tensors[0], layer)[:-1])
        elif isinstance(layer, _CONV_TRANSPOSE):  # each input position scatters a kernel
            positions = _spatial(_shape(node.input_tensors[0], layer), layer)
        else:
            positions = _spatial(out, layer)
        return 2 * macs_per_position * positions + (math.prod(out) if bias else 0)
    inner = [
        sub.name
        for sub in layer._flatten_layers(include_self=False)
        if any(getattr(sub, k, None) is not None for k in _KERNELS)
    ]
    if kernels or inner:
        raise InvalidArgumentError(
            f"count_flops cannot count layer {layer.name!r} ({type(layer).__name__}): it "
            f"holds kernels{' in ' + ', '.join(map(repr, inner)) if inner else ''} but is not "
            "a convolution or Dense layer it knows. Build that part of the model from "
            "keras.layers.Conv*/Dense layers with the functional API, or count it yourself."
        )
    return 0
