"""A recipe's freeze_after_epochs: variables that train for the first epochs only, then keep
their values, while the rest trains on; bad settings get typed errors before any training."""

from __future__ import annotations

import re

import keras
import numpy as np
import pytest
from helpers.tiny_training import IMAGES, tiny_recipe

from keras_cifar_zoo import InvalidArgumentError, WeightAveraging, fit_cifar10, get_recipe
from keras_cifar_zoo.preprocessing import RESCALE_0_1


def conv_model():
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny")


@pytest.fixture
def data(rng):
    return rng.integers(0, 256, (IMAGES, 32, 32, 3), dtype=np.uint8), np.arange(IMAGES) % 10


class EpochEnds(keras.callbacks.Callback):
    """The conv bias and kernel at the end of every epoch."""

    def __init__(self):
        super().__init__()
        self.bias, self.kernel = [], []

    def on_epoch_end(self, epoch, logs=None):
        layer = self.model.get_layer("tiny").get_layer("conv")
        self.bias.append(keras.ops.convert_to_numpy(layer.bias).copy())
        self.kernel.append(keras.ops.convert_to_numpy(layer.kernel).copy())


def fit(data, recipe, **kwargs):
    return fit_cifar10(
        conv_model(), data=data, recipe=recipe, seed=0, verbose=0, preprocessing=RESCALE_0_1,
        **kwargs,
    )  # fmt: skip


@pytest.mark.parametrize("averaging", [None, WeightAveraging(every=3)], ids=["plain", "lookahead"])
def test_a_frozen_variable_keeps_its_value_and_the_rest_trains(data, averaging):
    ends = EpochEnds()
    recipe = tiny_recipe(epochs=3, freeze_after_epochs={"conv/bias": 1}, weight_averaging=averaging)
    fit(data, recipe, callbacks=[ends])
    assert np.any(ends.bias[0] != 0)  # it trained in the first epoch (it starts at zeros)
    np.testing.assert_array_equal(ends.bias[1], ends.bias[0])
    np.testing.assert_array_equal(ends.bias[2], ends.bias[0])
    assert np.any(ends.kernel[1] != ends.kernel[0]) and np.any(ends.kernel[2] != ends.kernel[1])


def test_frozen_from_the_start_it_never_moves(data):
    ends = EpochEnds()
    fit(data, tiny_recipe(freeze_after_epochs={"conv/bias": 0}), callbacks=[ends])
    np.testing.assert_array_equal(ends.bias[-1], np.zeros(4))


def test_an_unknown_path_is_refused_before_anything_is_written(data, tmp_path):
    recipe = tiny_recipe(freeze_after_epochs={"whitening/bias": 3})
    message = (
        "Recipe 'tiny' freezes whitening/bias, but model 'tiny' has no trainable variable at "
        "that path. Name variables by their variable.path, one of conv/bias, conv/kernel, "
        "predictions/bias, ... Received: freeze_after_epochs={'whitening/bias': 3}"
    )
    with pytest.raises(InvalidArgumentError, match=f"^{re.escape(message)}$"):
        fit(data, recipe, checkpoint_dir=tmp_path / "run")
    assert not (tmp_path / "run" / "state.json").exists()


@pytest.mark.parametrize(
    "frozen",
    [{"conv/bias": -1}, {"conv/bias": 1.5}, {"conv/bias": True}, {3: 1}, ["conv/bias"]],
)
def test_a_recipe_refuses_what_is_not_paths_to_epoch_counts(frozen):
    message = (
        "Recipe freeze_after_epochs maps variable paths to whole epoch counts >= 0, such as "
        f"{{'whitening/bias': 3}}. Received: freeze_after_epochs={frozen!r}"
    )
    with pytest.raises(InvalidArgumentError, match=f"^{re.escape(message)}$"):
        tiny_recipe(freeze_after_epochs=frozen)


def test_no_published_recipe_freezes_anything_but_airbench94():
    from keras_cifar_zoo import list_recipes

    frozen = {n: get_recipe(n).freeze_after_epochs for n in list_recipes()}
    assert {n: f for n, f in frozen.items() if f} == {"airbench94": {"whitening/bias": 3}}
