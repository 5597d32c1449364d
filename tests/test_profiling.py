"""Analytic FLOP counts (keras_cifar_zoo.profiling.count_flops) against hand computations."""

from __future__ import annotations

import keras
import pytest
from keras import layers

from keras_cifar_zoo import InvalidArgumentError, InvalidTypeError, load_model
from keras_cifar_zoo.profiling import FlopCount, count_flops


def _model(shape, *stack):
    inputs = keras.Input(shape)
    x = inputs
    for layer in stack:
        x = layer(x)
    return keras.Model(inputs, x)


def test_conv2d_with_and_without_bias_and_strides():
    # 3x3, 5 -> 7 channels, 'valid' on 10x10: 8x8 outputs
    with_bias = count_flops(_model((10, 10, 5), layers.Conv2D(7, 3, name="c")))
    assert with_bias.forward == 2 * 3 * 3 * 5 * 7 * 8 * 8 + 8 * 8 * 7
    assert with_bias.training_step == 3 * with_bias.forward
    assert with_bias.layers == (("c", "Conv2D", with_bias.forward),)
    no_bias = count_flops(_model((10, 10, 5), layers.Conv2D(7, 3, use_bias=False)))
    assert no_bias.forward == 2 * 3 * 3 * 5 * 7 * 8 * 8
    # stride 2, 'same' on 10x10: 5x5 outputs; 1x2 kernel
    strided = count_flops(_model((10, 10, 5), layers.Conv2D(4, (1, 2), strides=2, padding="same")))
    assert strided.forward == 2 * 1 * 2 * 5 * 4 * 5 * 5 + 5 * 5 * 4


def test_grouped_and_depthwise_convolutions():
    grouped = count_flops(_model((6, 6, 8), layers.Conv2D(4, 3, groups=2, use_bias=False)))
    assert grouped.forward == 2 * 3 * 3 * (8 // 2) * 4 * 4 * 4
    depthwise = count_flops(_model((6, 6, 8), layers.DepthwiseConv2D(3, padding="same")))
    assert depthwise.forward == 2 * 3 * 3 * 8 * 6 * 6 + 6 * 6 * 8


def test_dense_on_flat_and_spatial_inputs():
    assert count_flops(_model((20,), layers.Dense(30))).forward == 2 * 20 * 30 + 30
    assert count_flops(_model((20,), layers.Dense(30, use_bias=False))).forward == 2 * 20 * 30
    # applied to every one of the 4x5 positions
    assert count_flops(_model((4, 5, 6), layers.Dense(3))).forward == 4 * 5 * (2 * 6 * 3 + 3)


def test_everything_else_counts_zero():
    flops = count_flops(
        _model(
            (8, 8, 3),
            layers.Rescaling(1 / 255),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(),
            layers.Dropout(0.5),
            layers.GlobalAveragePooling2D(),
        )
    )
    assert flops.forward == 0 and len(flops.layers) == 6
    assert [cls for _, cls, _ in flops.layers][:2] == ["Rescaling", "BatchNormalization"]


def test_nested_models_shared_layers_and_sequential():
    inner_in = keras.Input((8, 8, 3))
    inner = keras.Model(inner_in, layers.Conv2D(4, 3, name="conv")(inner_in), name="inner")
    shared = layers.Dense(2, name="shared")
    inputs = keras.Input((8, 8, 3))
    x = layers.Flatten(name="flat")(inner(inputs))
    outputs = layers.Add(name="add")([shared(x), shared(x)])
    flops = count_flops(keras.Model(inputs, outputs))
    conv = 2 * 3 * 3 * 3 * 4 * 6 * 6 + 6 * 6 * 4
    dense = 2 * (6 * 6 * 4) * 2 + 2
    assert flops.forward == conv + 2 * dense
    assert sorted(flops.layers) == sorted(
        [("inner/conv", "Conv2D", conv), ("flat", "Flatten", 0), ("shared", "Dense", dense),
         ("shared", "Dense", dense), ("add", "Add", 0)]
    )  # fmt: skip
    seq = keras.Sequential([keras.Input((8, 8, 3)), layers.Conv2D(4, 3, name="conv")])
    assert count_flops(seq).forward == conv


def test_vgg_lite_matches_a_hand_count():
    # Article 004: three blocks of two 'same' 3x3 convs (64, 128, 256) at 32, 16 and 8 pixels,
    # each block ending in a 2x2 pool; flatten 4x4x256, dropout, Dense(10).
    def conv(cin, cout, size):
        return 2 * 9 * cin * cout * size * size + cout * size * size

    expected = (
        conv(3, 64, 32) + conv(64, 64, 32)
        + conv(64, 128, 16) + conv(128, 128, 16)
        + conv(128, 256, 8) + conv(256, 256, 8)
        + 2 * 4 * 4 * 256 * 10 + 10
    )  # fmt: skip
    flops = count_flops(load_model("vgg_lite"))
    assert flops == FlopCount(expected, 3 * expected, flops.layers)
    assert expected == 305_840_138
    counted = [(name, f) for name, _, f in flops.layers if f]
    assert [name for name, _ in counted] == [
        "block1_conv1", "block1_conv2", "block2_conv1", "block2_conv2",
        "block3_conv1", "block3_conv2", "predictions",
    ]  # fmt: skip
    assert counted[-1][1] == 2 * 4096 * 10 + 10


def test_unsupported_inputs_say_what_to_do():
    with pytest.raises(InvalidTypeError, match=r"keras\.Model"):
        count_flops(layers.Dense(2))
    with pytest.raises(InvalidArgumentError, match="no layer graph"):
        count_flops(keras.Sequential([layers.Dense(2)]))
    with pytest.raises(InvalidArgumentError, match="fixed input shape"):
        count_flops(_model((None, None, 3), layers.Conv2D(2, 3)))

    class Block(layers.Layer):
        def __init__(self):
            super().__init__()
            self.conv = layers.Conv2D(2, 3)

        def call(self, x):
            return self.conv(x)

    with pytest.raises(InvalidArgumentError, match="cannot count layer"):
        count_flops(_model((8, 8, 3), Block()))
