"""Every registry model trains through fit_cifar10 with its own recipe (two steps).

Under TensorFlow the steps run eagerly: tracing and optimizing the graph of each of the 17
models cost about two minutes in all, against seconds for two eager steps, and the compiled
step is what the training tests exercise.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from keras_cifar_zoo import fit_cifar10, get_recipe, list_models
from keras_cifar_zoo.registry import get_info


def _models():
    """Every model; beyond the smallest of each family they carry the ``extended`` marker (the
    28-39M parameter VGGs take seconds each), so ``.ci/run`` trains them all in its second step."""
    families: dict[str, list[str]] = {}
    for name in list_models():
        families.setdefault(get_info(name).family, []).append(name)
    smallest = {min(names, key=lambda n: get_info(n).num_params) for names in families.values()}
    for name in list_models():
        marks = () if name in smallest else (pytest.mark.extended,)
        yield pytest.param(name, id=name, marks=marks)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Even though the `tf.config.experimental_run_functions_eagerly`")
@pytest.mark.parametrize("name", list(_models()))
def test_one_step_with_the_default_recipe_changes_the_weights(name, rng, eager_steps):
    recipe = get_recipe(name)
    if recipe.initial_weights:  # the ImageNet file is not here offline; its loading has tests
        recipe = dataclasses.replace(recipe, initial_weights=None)
    images = rng.integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    labels = np.arange(8) % 10
    seen = {}

    class Snapshot(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["before"] = [np.array(w) for w in self.model.trainable_weights]

    history = fit_cifar10(
        name, recipe=recipe, epochs=1, batch_size=4, data=(images, labels),
        validation_data=(images, labels),  # article 004's recipe would load the test set
        seed=0, verbose=0,
        callbacks=[Snapshot()],
    )  # fmt: skip
    assert history.params["recipe"] == recipe.name
    assert np.isfinite(history.history["loss"][0])
    after = [np.array(w) for w in history.model.trainable_weights]
    assert len(after) == len(seen["before"])
    changed = sum(not np.array_equal(a, b) for a, b in zip(after, seen["before"], strict=True))
    # two steps: fast_resnet9's one-cycle rate is 0 at the first step only
    assert changed == len(after), f"{len(after) - changed} of {len(after)} weights did not move"
