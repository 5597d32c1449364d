"""Recipes are the articles' documented settings; schedules switch at the right epochs."""

from __future__ import annotations

import re

import numpy as np
import pytest

from keras_cifar_zoo import UnknownRecipeError, get_recipe, list_models, list_recipes, model_info
from keras_cifar_zoo.training.schedules import RecipeSchedule


@pytest.mark.parametrize("name", list_models())
def test_every_model_has_a_registered_default_recipe(name):
    assert model_info(name).default_recipe in list_recipes()
    assert get_recipe(name).name == model_info(name).default_recipe


@pytest.mark.parametrize(
    ("recipe", "optimizer", "epochs", "batch"),
    [
        ("article_000", "Adam", 20, 64),
        ("article_002", "SGD", 200, 128),
        ("article_003", "RMSprop", 125, 64),
        ("article_004", "Adadelta", 200, 64),
    ],
)
def test_article_settings(recipe, optimizer, epochs, batch):
    r = get_recipe(recipe)
    assert (r.optimizer, r.epochs, r.batch_size) == (optimizer, epochs, batch)


def test_article_002_augmentation_and_momentum():
    r = get_recipe("article_002")
    assert r.optimizer_config == {"momentum": 0.9, "nesterov": True}
    aug = r.augmentation
    assert (aug.horizontal_flip, aug.shift, aug.fill_mode, aug.fill_value) == (
        True,
        0.125,
        "constant",
        0.0,
    )
    assert get_recipe("article_002_pretrain").initial_weights == "imagenet"
    assert get_recipe("vgg19_bn_pretrain").name == "article_002_pretrain"


def test_article_004_selects_on_test_set_and_003_rotates():
    assert get_recipe("article_004").validation_is_test_set
    assert get_recipe("article_004").early_stopping_patience == 20
    assert not any(
        get_recipe(n).validation_is_test_set for n in list_recipes() if n != "article_004"
    )
    assert get_recipe("article_003").augmentation.rotation_degrees == 15.0


@pytest.mark.parametrize(
    ("recipe", "expected"),
    [
        (
            "article_001",
            {0: 1e-3, 19: 1e-3, 20: 5e-4, 29: 5e-4, 30: 1.25e-4, 49: 1.25e-4, 50: 2.5e-5},
        ),
        ("article_002", {0: 0.01, 80: 0.01, 81: 0.005, 140: 0.005, 141: 0.001, 199: 0.001}),
        ("article_003", {0: 1e-3, 75: 1e-3, 76: 5e-4, 100: 5e-4, 101: 3e-4}),
    ],
)
def test_piecewise_schedule_switches_at_article_epochs(recipe, expected):
    """Matches the articles' schedulers (`epoch <= 80` and the like, 0-based epochs)."""
    r = get_recipe(recipe)
    steps = 7
    schedule = RecipeSchedule.from_recipe(r.schedule, steps_per_epoch=steps, epochs=r.epochs)
    for epoch, lr in expected.items():
        decay = 1 + r.schedule.inverse_time_decay * epoch * steps
        assert float(schedule(epoch * steps)) == pytest.approx(lr / decay, rel=1e-6), epoch
        assert float(schedule(epoch * steps + steps - 1)) == pytest.approx(
            lr / (1 + r.schedule.inverse_time_decay * (epoch * steps + steps - 1)), rel=1e-6
        )
        assert r.schedule.learning_rate(epoch, r.epochs) == lr


def test_onecycle_rises_then_falls_to_zero():
    r = get_recipe("improved_sgd")
    s = RecipeSchedule.from_recipe(r.schedule, steps_per_epoch=10, epochs=40)
    lrs = np.array([float(s(step)) for step in range(0, 401, 10)])
    peak = int(np.argmax(lrs))
    assert lrs[0] == pytest.approx(0.01) and lrs.max() == pytest.approx(0.1)
    assert peak == 6  # 15% of 40 epochs
    assert np.all(np.diff(lrs[: peak + 1]) > 0) and np.all(np.diff(lrs[peak:]) < 0)
    assert lrs[-1] == pytest.approx(0.0, abs=1e-9)


def test_schedule_serializes():
    s = RecipeSchedule.from_recipe(
        get_recipe("article_003").schedule, steps_per_epoch=3, epochs=125
    )
    again = RecipeSchedule(**s.get_config())
    assert float(again(500)) == pytest.approx(float(s(500)))


def test_unknown_recipe_lists_available():
    with pytest.raises(
        UnknownRecipeError,
        match=r"Unknown recipe 'article_9'\. Available recipes: airbench94, article_000",
    ):
        get_recipe("article_9")


def test_fast_resnet9_is_pages_24_epoch_schedule_with_crops_and_cutout():
    r = get_recipe("resnet9")
    assert r.name == "fast_resnet9"
    assert (r.optimizer, r.optimizer_config) == ("SGD", {"momentum": 0.9, "nesterov": True})
    assert (r.epochs, r.batch_size, r.label_smoothing) == (24, 512, 0.2)
    s = RecipeSchedule.from_recipe(r.schedule, steps_per_epoch=98, epochs=24)
    at = {epoch: float(s(epoch * 98)) for epoch in (0, 2.5, 5, 14.5, 24)}
    assert at == pytest.approx({0: 0.0, 2.5: 0.2, 5: 0.4, 14.5: 0.2, 24: 0.0}, abs=1e-6)
    aug = r.augmentation
    assert (aug.horizontal_flip, aug.shift, aug.fill_mode, aug.integer_shift) == (
        True,
        0.125,
        "reflect",
        True,
    )
    # the cutout holds the training mean: zero after the model's z-score preprocessing
    assert aug.cutout_size == 8
    assert model_info("resnet9").preprocessing.apply(np.full((1, 1, 1, 3), aug.cutout_value)) == (
        pytest.approx(0.0, abs=1e-6)
    )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"fill_mode": "wrap"}, "fill_mode must be one of ('constant', 'nearest', 'reflect')"),
        ({"shift": 1.5}, "0 <= shift < 1"),
        ({"cutout_size": -8}, "cutout_size >= 0"),
        (
            {"alternating_flip": True},
            "Augmentation alternating_flip chooses how horizontal_flip flips; set "
            "horizontal_flip=True with it. Received: horizontal_flip=False, alternating_flip=True",
        ),
    ],
)
def test_augmentation_refuses_settings_the_layer_cannot_apply(settings, message):
    from keras_cifar_zoo import InvalidArgumentError
    from keras_cifar_zoo.training import Augmentation

    with pytest.raises(InvalidArgumentError, match=re.escape(message)):
        Augmentation(**settings)


def test_improved_sgd_crops_differs_from_improved_sgd_only_in_whole_pixel_shifts():
    import dataclasses

    crops, base = get_recipe("improved_sgd_crops"), get_recipe("improved_sgd")
    assert crops.augmentation.integer_shift and not base.augmentation.integer_shift
    same = dataclasses.replace(
        crops,
        name=base.name,
        description=base.description,
        augmentation=dataclasses.replace(crops.augmentation, integer_shift=False),
    )
    assert same == base
