"""A recipe's lookahead weight averaging: its decay, its updates, and fit running it."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest
from helpers.tiny_training import IMAGES, tiny_recipe

from keras_cifar_zoo import (
    InvalidArgumentError,
    WeightAveraging,
    fit_cifar10,
)
from keras_cifar_zoo.preprocessing import RESCALE_0_1
from keras_cifar_zoo.training.callbacks import LookaheadAveraging


@pytest.mark.parametrize(
    "fields",
    [{"every": 0}, {"every": 2.5}, {"every": True}, {"final_decay": 1.0}, {"power": -1.0}],
)
def test_bad_settings_are_refused_with_what_is_accepted(fields):
    with pytest.raises(InvalidArgumentError) as caught:
        WeightAveraging(**fields)
    settings = dataclasses.asdict(WeightAveraging()) | fields
    assert str(caught.value) == (
        "WeightAveraging needs an integer every >= 1, 0 <= final_decay < 1 and power >= 0. "
        f"Received: every={settings['every']!r}, final_decay={settings['final_decay']!r}, "
        f"power={settings['power']!r}"
    )


def test_the_decay_grows_as_a_power_of_the_progress():
    averaging = WeightAveraging(every=5, final_decay=0.8, power=3.0)
    assert averaging.decay(0.0) == 0.0
    assert averaging.decay(0.5) == 0.8 * 0.125
    assert averaging.decay(1.0) == 0.8
    assert averaging.decay(1.5) == 0.8  # clipped at the end of the run
    assert WeightAveraging().final_decay == 0.95**5


def _stepped(model, values_per_step, steps_per_epoch, averaging, epochs):
    """Drives the callback by hand: before each step's end the weight takes the next value."""
    callback = LookaheadAveraging(averaging, steps_per_epoch, epochs)
    callback.set_model(model)
    callback.on_train_begin()
    seen = []
    values = iter(values_per_step)
    for epoch in range(epochs):
        callback.on_epoch_begin(epoch)
        for batch in range(steps_per_epoch):
            model.weights[0].assign(np.full((1, 1), next(values), np.float32))
            callback.on_train_batch_end(batch)
            seen.append(float(model.weights[0].numpy()[0, 0]))
        callback.on_epoch_end(epoch)
        seen.append(float(model.weights[0].numpy()[0, 0]))
    return callback, seen


def test_updates_every_n_steps_and_at_each_epoch_end_by_hand():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
    model.weights[0].assign(np.zeros((1, 1), np.float32))
    averaging = WeightAveraging(every=2, final_decay=0.5, power=1.0)
    # 3 steps an epoch, 2 epochs: updates after steps 2 and 5 (every 2 steps, counted from
    # each epoch's start) and at the end of each epoch (after steps 3 and 6).
    callback, seen = _stepped(model, [1, 2, 3, 4, 5, 6], 3, averaging, epochs=2)
    average, expected = 0.0, []

    def update(value, step):
        nonlocal average
        keep = 0.5 * step / 6
        average = average + (1 - keep) * (value - average)
        return average

    expected = [1.0, update(2.0, 2), 3.0, update(3.0, 3), 4.0, update(5.0, 5), 6.0, update(6.0, 6)]
    assert callback.updates == 4
    assert seen == pytest.approx(expected, abs=1e-6)


def test_integer_variables_are_left_alone():
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    counter = keras.Variable(3, dtype="int32", trainable=False)
    model._tracker.unlock()
    model.counter = counter
    callback = LookaheadAveraging(WeightAveraging(every=1), 1, 1)
    callback.set_model(model)
    callback.on_train_begin()
    assert all("float" in str(v.dtype) for v in callback._variables)
    assert int(counter.numpy()) == 3


@pytest.fixture
def data(rng):
    return rng.integers(0, 256, (IMAGES, 32, 32, 3), dtype=np.uint8), np.arange(IMAGES) % 10


def test_fit_averages_only_when_the_recipe_asks(data):
    """The same run with and without averaging ends elsewhere; with a decay of 0 the
    average is the weights themselves, so it ends where the plain run does."""

    def run(averaging):
        keras.utils.set_random_seed(3)
        model = keras.Sequential(
            [keras.Input((32, 32, 3)), keras.layers.Flatten(), keras.layers.Dense(10)],
            name="tiny",
        )
        recipe = tiny_recipe(weight_averaging=averaging)
        history = fit_cifar10(
            model, recipe=recipe, data=data, preprocessing=RESCALE_0_1, seed=3, verbose=0
        )
        return history.model.get_weights()

    plain = run(None)
    averaged = run(WeightAveraging(every=2, final_decay=0.9, power=0.0))
    no_decay = run(WeightAveraging(every=2, final_decay=0.0))
    assert max(np.abs(a - b).max() for a, b in zip(plain, averaged, strict=True)) > 1e-4
    assert max(np.abs(a - b).max() for a, b in zip(plain, no_decay, strict=True)) < 1e-6
