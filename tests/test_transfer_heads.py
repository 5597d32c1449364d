"""A zoo model reused under a new head, or ending in logits, with the published CIFAR-10
weights of the committed ``hub/``: fit, evaluate and predict find the base's preprocessing
layer and read logits as logits, so they measure what plain Keras measures.

The images are the first 64 of the embedded CIFAR-10 test sample, so each test takes seconds.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest

import keras_cifar_zoo
from keras_cifar_zoo import (
    InvalidArgumentError,
    evaluate,
    fit,
    list_recipes,
    load_model,
    model_info,
    predict,
)
from keras_cifar_zoo.training.inputs import has_preprocessing_layer, outputs_logits

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
SAMPLE = Path(keras_cifar_zoo.__file__).parent / "embedded" / "cifar10_test_sample.npz"


@pytest.fixture(scope="module")
def sample() -> tuple[np.ndarray, np.ndarray]:
    with np.load(SAMPLE) as sample:
        return sample["images"][:64], sample["labels"][:64].astype(np.int64)


def zoo_model(**options) -> keras.Model:
    return load_model("resnet20_v1", weights="cifar10", hub_dir=HUB, **options)


def wrapper(head_from: keras.Model | None = None) -> keras.Model:
    """The usual transfer-learning model: the zoo base without its head, under a new Dense,
    given the weights of ``head_from``'s classifier when there is one."""
    base = zoo_model(include_top=False, pooling="avg")
    inputs = keras.Input((32, 32, 3))
    head = keras.layers.Dense(10, activation="softmax")
    model = keras.Model(inputs, head(base(inputs)))
    if head_from is not None:
        head.set_weights(head_from.get_layer("predictions").get_weights())
    return model


def test_evaluate_and_predict_find_the_preprocessing_layer_of_a_nested_base(sample):
    zoo = zoo_model()
    model = wrapper(head_from=zoo)
    assert model.name == "functional" and has_preprocessing_layer(model)
    expected = evaluate(zoo, data=sample)
    result = evaluate(model, data=sample)
    assert expected["accuracy"] == 57 / 64  # the published weights on these images
    assert result["accuracy"] == expected["accuracy"]
    assert result["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    assert result["confusion_matrix"] == expected["confusion_matrix"]
    np.testing.assert_allclose(
        predict(model, sample[0][:1]).probabilities,
        predict(zoo, sample[0][:1]).probabilities,
        rtol=1e-5,
        atol=1e-6,
    )


def test_preprocessing_is_refused_for_a_model_whose_nested_base_applies_it(sample):
    model = wrapper()
    twice = (
        r"^Model 'functional' already has a 'preprocessing' layer \(in itself or a model nested "
        r"in it\); passing preprocessing as well would apply it twice\. Drop the preprocessing "
        r"argument\. Received: preprocessing='rescale_0_1'$"
    )
    preprocessing = model_info("resnet20_v1").preprocessing
    assert preprocessing.name == "rescale_0_1"
    with pytest.raises(InvalidArgumentError, match=twice):
        evaluate(model, data=sample, preprocessing=preprocessing)
    with pytest.raises(InvalidArgumentError, match=twice):
        predict(model, sample[0], preprocessing=preprocessing)
    with pytest.raises(InvalidArgumentError, match=twice):
        fit(model, recipe="article_002", data=sample, preprocessing=preprocessing, verbose=0)


def test_logits_are_read_through_the_output_layer_and_nested_models():
    assert outputs_logits(zoo_model(classifier_activation=None))
    assert not outputs_logits(zoo_model())
    inputs = keras.Input((32, 32, 3))
    nested = keras.Model(inputs, zoo_model(classifier_activation=None)(inputs))
    assert outputs_logits(nested)
    softmax_after = keras.layers.Softmax()(keras.layers.Dense(10)(keras.layers.Flatten()(inputs)))
    assert not outputs_logits(keras.Model(inputs, softmax_after))
    # a zoo VGG head without its softmax ends in BatchNormalization: logits too
    assert outputs_logits(load_model("vgg_lite", classifier_activation=None))


def test_evaluate_and_predict_take_a_logits_model(sample):
    zoo = zoo_model()
    logits = zoo_model(classifier_activation=None)
    expected = evaluate(zoo, data=sample)
    result = evaluate(logits, data=sample)
    assert result["accuracy"] == expected["accuracy"]
    assert result["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    np.testing.assert_allclose(
        predict(logits, sample[0][:4]).probabilities,
        predict(zoo, sample[0][:4]).probabilities,
        rtol=1e-5,
        atol=1e-6,
    )


@pytest.mark.slow  # three trainings of resnet20_v1 (about 10 s each on two CPU cores)
@pytest.mark.extended
def test_fit_trains_a_nested_base_and_a_logits_model_as_the_zoo_model(sample):
    """The wrapper with the zoo head, and the zoo model without its softmax, compute the zoo
    model's function: with one seed, their one (pre-update) step has the zoo model's loss.
    Pixels scaled twice, or logits read as probabilities, give another."""
    zoo = zoo_model()
    nested = wrapper(head_from=zoo)
    logits = zoo_model(classifier_activation=None)
    options = {"recipe": "article_002", "data": sample, "epochs": 1, "batch_size": 64}
    expected = fit(zoo, seed=7, verbose=0, **options).history["loss"][0]
    for model in (nested, logits):
        loss = fit(model, seed=7, verbose=0, **options).history["loss"][0]
        assert loss == pytest.approx(expected, rel=1e-4), model.name


def test_fit_asks_for_a_recipe_for_a_model_not_named_after_a_zoo_model(sample):
    with pytest.raises(
        InvalidArgumentError,
        match=r"^Model 'functional' is not a zoo model, so it has no default recipe: pass "
        rf"recipe= one of {', '.join(list_recipes())} \(or a Recipe\)\. "
        r"Received: model\.name='functional', recipe=None$",
    ):
        fit(wrapper(), data=sample, verbose=0)
