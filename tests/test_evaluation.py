"""evaluate and predict: numbers equal a hand count on a model whose outputs are known, and
every bad input (images scaled to [0, 1], a model without class probabilities) is refused
with its message."""

from __future__ import annotations

import json
import math
import pickle
import re

import keras
import numpy as np
import pytest
from keras import ops

from keras_cifar_zoo import (
    CIFAR100_COARSE_NAMES,
    CIFAR100_FINE_NAMES,
    CLASS_NAMES,
    InvalidArgumentError,
    InvalidTypeError,
    Predictions,
    Preprocessing,
    evaluate,
    load_model,
    predict,
)
from keras_cifar_zoo.cli import main
from keras_cifar_zoo.data import TEST_BATCH, TRAIN_BATCHES
from keras_cifar_zoo.errors import ModelOutputError, PixelRangeError
from keras_cifar_zoo.training.evaluation import tta_views

RAW = Preprocessing(name="raw", description="Raw pixels, unchanged.")
HIT, MISS = 0.55, 0.05  # 0.55 + 9 * 0.05 == 1


class PixelOracle(keras.layers.Layer):
    """Predicts the class written in pixel (0, 0, red) with probability 0.55, 0.05 elsewhere."""

    def call(self, x):
        chosen = ops.one_hot(ops.cast(x[:, 0, 0, 0], "int32"), 10)
        return chosen * HIT + (1 - chosen) * MISS


def oracle_model(name="oracle"):
    inputs = keras.Input((32, 32, 3))
    return keras.Model(inputs, PixelOracle()(inputs), name=name)


def images_predicting(classes, rng=None):
    rng = rng or np.random.default_rng(0)
    x = rng.integers(0, 256, (len(classes), 32, 32, 3), dtype=np.uint8)
    x[:, 0, 0, 0] = classes
    return x


def test_evaluate_matches_a_hand_count():
    predicted = np.array([0, 0, 1, 2, 2, 2, 3, 9, 9, 5, 5, 4])
    labels = np.array([0, 1, 1, 2, 2, 7, 3, 9, 8, 5, 4, 4])  # no image of class 6
    result = evaluate(
        oracle_model(), data=(images_predicting(predicted), labels), preprocessing=RAW
    )

    confusion = [[0] * 10 for _ in range(10)]
    for true, guess in zip(labels.tolist(), predicted.tolist(), strict=True):
        confusion[true][guess] += 1
    assert result["confusion_matrix"] == confusion
    correct = sum(int(t == p) for t, p in zip(labels, predicted, strict=True))
    assert correct == 8
    assert result["accuracy"] == pytest.approx(8 / 12)
    expected_loss = -(correct * math.log(HIT) + (12 - correct) * math.log(MISS)) / 12
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-6)
    assert result["num_images"] == 12
    per_class = result["per_class_accuracy"]
    assert list(per_class) == list(CLASS_NAMES)
    hand = {"airplane": 1.0, "automobile": 0.5, "bird": 1.0, "cat": 1.0, "deer": 0.5}
    hand |= {"dog": 1.0, "horse": 0.0, "ship": 0.0, "truck": 1.0}
    for name, value in hand.items():
        assert per_class[name] == pytest.approx(value), name
    assert math.isnan(per_class["frog"])  # no frog among the images


def test_evaluate_loss_matches_keras():
    model = load_model("simple_cnn")
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, 40)
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = model.evaluate(x, y, verbose=0)
    result = evaluate(model, data=(x, y), batch_size=16)
    assert result["loss"] == pytest.approx(loss, rel=1e-4)
    assert result["accuracy"] == pytest.approx(accuracy)


def test_preprocessing_applied_for_a_model_without_the_layer():
    baked = load_model("elu_cnn")
    bare = load_model("elu_cnn", include_preprocessing=False)
    bare.set_weights(baked.get_weights())
    x = np.random.default_rng(2).integers(0, 256, (8, 32, 32, 3), dtype=np.uint8)
    y = np.arange(8)
    np.testing.assert_allclose(
        predict(bare, x).probabilities, predict(baked, x).probabilities, rtol=1e-4, atol=1e-6
    )
    assert evaluate(bare, data=(x, y))["loss"] == pytest.approx(
        evaluate(baked, data=(x, y))["loss"], rel=1e-4
    )
    # without the layer, raw pixels go straight in and the outputs differ
    assert not np.allclose(bare.predict(x, verbose=0), baked.predict(x, verbose=0), atol=1e-3)


def test_evaluate_reads_the_test_set_from_data_dir(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name, classes in [(n, [0, 1]) for n in TRAIN_BATCHES] + [(TEST_BATCH, [3, 3, 4, 5])]:
        flat = images_predicting(classes).transpose(0, 3, 1, 2).reshape(len(classes), -1)
        with (folder / name).open("wb") as f:
            pickle.dump({b"data": flat, b"labels": [3, 3, 4, 4][: len(classes)]}, f, protocol=4)
    result = evaluate(oracle_model(), data_dir=tmp_path, preprocessing=RAW)
    assert result["num_images"] == 4 and result["accuracy"] == pytest.approx(0.75)


def test_other_class_counts_are_named_by_index():
    inputs = keras.Input((32, 32, 3))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(
        keras.layers.Flatten()(inputs)), name="three")  # fmt: skip
    x = np.zeros((3, 32, 32, 3), np.uint8)
    result = evaluate(model, data=(x, np.array([0, 1, 2])), preprocessing=RAW)
    assert list(result["per_class_accuracy"]) == ["0", "1", "2"]
    assert np.asarray(result["confusion_matrix"]).shape == (3, 3)
    with pytest.raises(InvalidArgumentError, match=r"data\[1\] must lie in \[0, 3\)"):
        evaluate(model, data=(x, np.array([0, 1, 3])), preprocessing=RAW)


# ----------------------------------------------------------------------------------- predict


def test_predict_one_image_or_a_batch_uint8_or_float():
    x = images_predicting([7, 2, 9])
    model = oracle_model()
    batch = predict(model, x, preprocessing=RAW)
    assert isinstance(batch, Predictions)
    assert batch.class_indices.tolist() == [7, 2, 9]
    assert batch.class_names == ("horse", "bird", "truck")
    assert batch.probabilities.shape == (3, 10) and batch.probabilities.dtype == np.float32
    np.testing.assert_allclose(batch.probabilities.sum(axis=1), 1.0, rtol=1e-6)

    one = predict(model, x[1], preprocessing=RAW)
    assert one.class_indices.tolist() == [2] and one.class_names == ("bird",)
    np.testing.assert_array_equal(one.probabilities[0], batch.probabilities[1])

    for variant in (x.astype(np.float32), x.astype(np.float64), x.astype(np.int64), x.tolist()):
        again = predict(model, variant, preprocessing=RAW)
        np.testing.assert_array_equal(again.probabilities, batch.probabilities)


def test_predict_on_a_zoo_model_uint8_equals_float():
    model = load_model("simple_cnn")
    x = np.random.default_rng(3).integers(0, 256, (5, 32, 32, 3), dtype=np.uint8)
    as_uint8 = predict(model, x)
    as_float = predict(model, x.astype(np.float32))
    np.testing.assert_allclose(as_uint8.probabilities, as_float.probabilities, rtol=1e-6)
    assert as_uint8.class_names == tuple(CLASS_NAMES[i] for i in as_uint8.class_indices)


@pytest.mark.parametrize(
    ("images", "error", "match"),
    [
        (np.zeros((32, 32), np.uint8), InvalidArgumentError,
         r"images must be one RGB image \(height, width, 3\) or a batch \(N, height, width, 3\)\. "
         r"Received: images\.shape=\(32, 32\)"),
        (np.zeros((32, 32, 4), np.uint8), InvalidArgumentError,
         r"Received: images\.shape=\(32, 32, 4\)"),
        (np.zeros((1, 2, 32, 32, 3), np.uint8), InvalidArgumentError,
         r"Received: images\.shape=\(1, 2, 32, 32, 3\)"),
        (np.zeros((0, 32, 32, 3), np.uint8), InvalidArgumentError, r"with N >= 1"),
        (np.zeros((2, 28, 28, 3), np.uint8), InvalidArgumentError,
         r"images must be 32x32 to match the model's input; resize them first \(the CLI "
         r"resizes files for you\)\. Received: images\.shape=\(2, 28, 28, 3\)"),
        (np.zeros((32, 32, 3), bool), InvalidTypeError,
         r"images must be uint8 or float pixels in 0-255\. Received: dtype=bool"),
        (np.zeros((32, 32, 3), "U1"), InvalidTypeError, r"Received: dtype=<U1"),
        (np.full((32, 32, 3), 256.0), InvalidArgumentError,
         r"images must hold raw pixels in 0-255 \(the model applies its own preprocessing\)\. "
         r"Received: min=256\.0, max=256\.0"),
        (np.full((32, 32, 3), -0.5), InvalidArgumentError, r"Received: min=-0\.5"),
        (np.full((32, 32, 3), np.inf), InvalidArgumentError, r"raw pixels in 0-255"),
        ("cat.png", InvalidTypeError,
         r"images must be a NumPy array: one image \(height, width, 3\) or a batch "
         r"\(N, height, width, 3\)\. Received: type=str"),
        ([np.zeros((32, 32, 3)), np.zeros((16, 16, 3))], InvalidArgumentError,
         r"of equal-sized images\. Received: a ragged list"),
    ],
)  # fmt: skip
def test_predict_rejects(images, error, match):
    with pytest.raises(error, match=match):
        predict(oracle_model(), images, preprocessing=RAW)


def test_predict_and_evaluate_reject_bad_models_and_batch_sizes():
    x = images_predicting([1])
    with pytest.raises(
        InvalidTypeError, match=r"model must be a keras\.Model.*Received: model='vgg'"
    ):
        predict("vgg", x)
    with pytest.raises(InvalidTypeError, match=r"model must be a keras\.Model"):
        evaluate(None, data=(x, [1]))
    with pytest.raises(InvalidArgumentError, match=r"batch_size must be a positive integer\. "):
        predict(oracle_model(), x, batch_size=0, preprocessing=RAW)
    with pytest.raises(InvalidArgumentError, match=r"Received: batch_size=2\.5"):
        evaluate(oracle_model(), data=(x, [1]), batch_size=2.5, preprocessing=RAW)


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        (np.zeros((2, 32, 32, 3)), InvalidTypeError,
         r"data must be a pair \(images, labels\)\. Received: type=ndarray"),
        ((np.zeros((2, 32, 32, 3), np.uint8), [1]), InvalidArgumentError,
         r"data\[1\] must be 2 integer class indices, shape \(2,\)\. Received: shape=\(1,\)"),
        ((np.zeros((2, 32, 32, 3), np.uint8), [1, 10]), InvalidArgumentError,
         r"data\[1\] must lie in \[0, 10\)\. Received: min=1, max=10"),
        ((np.zeros((2, 32, 32, 3), np.uint8), [0.0, 1.0]), InvalidArgumentError, r"dtype=float64"),
        ((np.full((2, 32, 32, 3), 999.0), [0, 1]), InvalidArgumentError,
         r"data\[0\] must hold raw pixels in 0-255"),
        ((np.zeros((2, 16, 16, 3), np.uint8), [0, 1]), InvalidArgumentError,
         r"data\[0\] holds 16x16 images but 'oracle' takes 32x32"),
    ],
)  # fmt: skip
def test_evaluate_rejects(data, error, match):
    with pytest.raises(error, match=match):
        evaluate(oracle_model(), data=data, preprocessing=RAW)


def test_unknown_model_without_preprocessing_is_refused():
    with pytest.raises(InvalidArgumentError, match=r"Cannot tell how to preprocess images for "):
        predict(oracle_model(), images_predicting([1]))


# --------------------------------------------------------------------- pixels scaled to [0, 1]

UNIT_RANGE = (
    r"{arg} holds float values that all lie in \[0, 1\], but the model takes raw pixels in "
    r"0-255 and applies its own preprocessing: images scaled to \[0, 1\] look nearly black to "
    r"it\. Pass raw 0-255 pixels \({arg} \* 255, or the uint8 images\), or "
    r"allow_unit_range=True if these values are meant as they are\. "
)


def test_predict_and_evaluate_refuse_images_scaled_to_unit_range():
    model = load_model("simple_cnn")
    x = images_predicting([3, 1, 4])
    with pytest.raises(
        PixelRangeError,
        match=UNIT_RANGE.format(arg="images") + r"Received: dtype=float64, min=0\.0, max=1\.0$",
    ):
        predict(model, np.concatenate([x / 255.0, np.zeros((1, 32, 32, 3))]))
    with pytest.raises(
        PixelRangeError, match=UNIT_RANGE.format(arg=r"data\[0\]") + r"Received: dtype=float32"
    ):
        evaluate(model, data=((x / 255).astype(np.float32), [3, 1, 4]))


def test_an_all_zero_float_batch_is_refused_too():
    """Black float images lie in [0, 1] like scaled ones; allow_unit_range lets them in."""
    zeros = np.zeros((2, 32, 32, 3), np.float32)
    with pytest.raises(PixelRangeError, match=r"Received: dtype=float32, min=0\.0, max=0\.0$"):
        predict(oracle_model(), zeros, preprocessing=RAW)
    assert predict(oracle_model(), zeros, preprocessing=RAW, allow_unit_range=True)
    # the same pixels as integers are raw pixel values, accepted as before
    assert predict(oracle_model(), zeros.astype(np.uint8), preprocessing=RAW)
    assert predict(oracle_model(), zeros.astype(np.int64), preprocessing=RAW)


def test_allow_unit_range_lets_scaled_images_through():
    model = oracle_model()
    x = images_predicting([0, 1]) / 255.0
    assert predict(model, x, preprocessing=RAW, allow_unit_range=True).class_indices.tolist() == [
        0,
        0,
    ]  # the oracle reads pixel (0, 0, red) as the class: 1/255 truncates to 0
    result = evaluate(model, data=(x, [0, 0]), preprocessing=RAW, allow_unit_range=True)
    assert result["accuracy"] == 1.0
    with pytest.raises(
        InvalidTypeError,
        match=r"allow_unit_range must be True or False\. Received: allow_unit_range='no'",
    ):
        predict(model, x, preprocessing=RAW, allow_unit_range="no")
    with pytest.raises(InvalidTypeError, match=r"Received: allow_unit_range=1"):
        evaluate(model, data=(x, [0, 0]), preprocessing=RAW, allow_unit_range=1)


# ------------------------------------------------------------- models without probabilities

NEEDS_PROBABILITIES = (
    r"but one row of class probabilities per image is needed, shape \(N, num_classes\) with "
    r"num_classes >= 2\. Build it with include_top=True, or end it in a softmax classifier\. "
)


def test_a_model_without_its_top_is_refused():
    base = load_model("simple_cnn", include_top=False)
    x = images_predicting([1, 2])
    message = (
        r"Model 'simple_cnn' outputs shape \(None, 14, 14, 64\), "
        + NEEDS_PROBABILITIES
        + r"Received: model\.output_shape=\(None, 14, 14, 64\)$"
    )
    with pytest.raises(ModelOutputError, match=message):
        predict(base, x)
    with pytest.raises(ModelOutputError, match=message):
        evaluate(base, data=(x, [1, 2]))


def _model(outputs_of, name="head"):
    inputs = keras.Input((32, 32, 3))
    flat = keras.layers.GlobalAveragePooling2D()(inputs)
    return keras.Model(inputs, outputs_of(flat), name=name)


@pytest.mark.parametrize(
    ("outputs_of", "match"),
    [
        (lambda h: keras.layers.Dense(1, activation="sigmoid")(h),
         r"Model 'head' outputs shape \(None, 1\), " + NEEDS_PROBABILITIES
         + r"Received: model\.output_shape=\(None, 1\)$"),
        (lambda h: keras.layers.Reshape((3, 1))(h),
         r"outputs shape \(None, 3, 1\), .*Received: model\.output_shape=\(None, 3, 1\)$"),
        (lambda h: [keras.layers.Dense(10, activation="softmax")(h)] * 2,
         r"Model 'head' outputs 2 tensors, .*Received: model\.output_shape=\[\(None, 10\), "
         r"\(None, 10\)\]$"),
    ],
)  # fmt: skip
def test_outputs_of_another_shape_are_refused(outputs_of, match):
    model = _model(outputs_of)
    x = images_predicting([1, 2])
    with pytest.raises(ModelOutputError, match=match):
        predict(model, x, preprocessing=RAW)
    with pytest.raises(ModelOutputError, match=match):
        evaluate(model, data=(x, [0, 1]), preprocessing=RAW)


class Scores(keras.layers.Layer):
    """Unnormalised scores from a layer whose output fit and evaluate cannot read as logits."""

    def call(self, x):
        return ops.concatenate([x] * 4, axis=-1)[:, :10] * 10


def test_outputs_that_are_not_probabilities_are_refused():
    model = _model(lambda h: Scores()(h))
    match = (
        r"Model 'head' outputs values that are not class probabilities: each row must be >= 0 "
        r"and sum to 1\. End the model in a softmax \(zoo models: build them with "
        r"include_top=True\), and check its weights are finite\. Received: min=.*, row sums in "
    )
    x = images_predicting([1, 2])
    with pytest.raises(ModelOutputError, match=match):
        predict(model, x, preprocessing=RAW)
    with pytest.raises(ModelOutputError, match=match):
        evaluate(model, data=(x, [0, 1]), preprocessing=RAW)


def test_logits_are_turned_into_probabilities():
    """A head without a softmax (a new Dense, classifier_activation=None) outputs logits: its
    probabilities and loss are those of the same head ending in a softmax."""
    logits = _model(lambda h: keras.layers.Dense(10, name="predictions")(h))
    softmax = _model(lambda h: keras.layers.Dense(10, activation="softmax", name="predictions")(h))
    softmax.set_weights(logits.get_weights())
    x, labels = images_predicting([1, 2, 3]), [1, 2, 0]
    np.testing.assert_allclose(
        predict(logits, x, preprocessing=RAW).probabilities,
        predict(softmax, x, preprocessing=RAW).probabilities,
        rtol=1e-5,
        atol=1e-7,
    )
    result = evaluate(logits, data=(x, labels), preprocessing=RAW)
    expected = evaluate(softmax, data=(x, labels), preprocessing=RAW)
    assert result["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    assert result["accuracy"] == expected["accuracy"]


def test_a_subclassed_model_is_checked_on_what_it_returns():
    """Its output shape is unknown before it is called: its actual output is checked."""

    class Features(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(
        ModelOutputError,
        match=r"Model 'features' outputs shape \(None, 32, 32, 3\), " + NEEDS_PROBABILITIES,
    ):
        predict(Features(name="features"), images_predicting([1]), preprocessing=RAW)


def test_the_cifar10_test_set_needs_ten_classes(tmp_path):
    """Refused before the test set is even looked for."""
    model = _model(lambda h: keras.layers.Dense(3, activation="softmax")(h), name="three")
    with pytest.raises(
        ModelOutputError,
        match=r"Model 'three' outputs 3 class probabilities but CIFAR-10 has 10 classes\. Build "
        r"it with num_classes=10, or pass data= with labels in \[0, 3\)\. "
        r"Received: num_classes=3$",
    ):
        evaluate(model, preprocessing=RAW, data_dir=tmp_path)


# ------------------------------------------------------------ class names follow the classes


class PixelOracleN(keras.layers.Layer):
    """PixelOracle for ``num_classes`` classes: pixel (0, 0, red) names the class."""

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def call(self, x):
        chosen = ops.one_hot(ops.cast(x[:, 0, 0, 0], "int32"), self.num_classes)
        return chosen * HIT + (1 - chosen) * (1 - HIT) / (self.num_classes - 1)


def oracle_of(num_classes, name="oracle_n"):
    inputs = keras.Input((32, 32, 3))
    return keras.Model(inputs, PixelOracleN(num_classes)(inputs), name=name)


@pytest.mark.parametrize(
    ("num_classes", "names"),
    [(100, CIFAR100_FINE_NAMES), (20, CIFAR100_COARSE_NAMES), (10, CLASS_NAMES)],
)
def test_default_names_follow_the_model_class_count(num_classes, names):
    classes = [0, num_classes - 1, 7, 7]
    x = images_predicting(classes)
    result = evaluate(
        oracle_of(num_classes), data=(x, [0, num_classes - 1, 7, 3]), preprocessing=RAW
    )
    assert tuple(result["per_class_accuracy"]) == names
    assert result["per_class_accuracy"][names[7]] == 1.0 and result["accuracy"] == 0.75
    assert np.asarray(result["confusion_matrix"]).shape == (num_classes, num_classes)
    predictions = predict(oracle_of(num_classes), x, preprocessing=RAW)
    assert predictions.class_names == tuple(names[c] for c in classes)


def test_cifar100_names_by_index():
    predictions = predict(oracle_of(100), images_predicting([0, 41, 58, 99]), preprocessing=RAW)
    assert predictions.class_names == ("apple", "lawn_mower", "pickup_truck", "worm")
    coarse = predict(oracle_of(20), images_predicting([9, 19]), preprocessing=RAW)
    assert coarse.class_names == ("large_man-made_outdoor_things", "vehicles_2")


def test_class_names_given_are_used():
    names = ("cat", "dog", "other")
    x = images_predicting([2, 0, 1])
    result = evaluate(oracle_of(3), data=(x, [2, 0, 0]), preprocessing=RAW, class_names=names)
    per_class = result["per_class_accuracy"]
    assert list(per_class) == list(names) and per_class["cat"] == 0.5
    assert math.isnan(per_class["dog"]) and per_class["other"] == 1.0  # no dog among the images
    assert predict(oracle_of(3), x, preprocessing=RAW, class_names=list(names)).class_names == (
        "other",
        "cat",
        "dog",
    )


@pytest.mark.parametrize(
    ("class_names", "error", "match"),
    [
        (CLASS_NAMES, InvalidArgumentError,
         r"^class_names holds 10 names but model 'oracle_n' has 100 classes; pass one name per "
         r"class\. Received: len\(class_names\)=10$"),
        (("a", "b", "a") * 33 + ("c",), InvalidArgumentError,
         r"class_names must name each class once\. Received: repeated names \['a', 'b'\]"),
        ("apple", InvalidTypeError, r"class_names must be a sequence of names \(str\)"),
        (list(range(100)), InvalidTypeError,
         r"class_names must hold str names\. Received: elements of type int"),
    ],
)  # fmt: skip
def test_bad_class_names_are_refused_before_predicting(class_names, error, match):
    model = oracle_of(100)
    x = images_predicting([1, 2])
    with pytest.raises(error, match=match):
        predict(model, x, preprocessing=RAW, class_names=class_names)
    with pytest.raises(error, match=match):
        evaluate(model, data=(x, [1, 2]), preprocessing=RAW, class_names=class_names)


def test_class_names_are_checked_before_the_test_set_is_looked_for(tmp_path):
    with pytest.raises(
        InvalidArgumentError, match=r"class_names holds 3 names but model 'oracle' has 10 classes"
    ):
        evaluate(oracle_model(), data_dir=tmp_path, class_names=("a", "b", "c"))


def test_a_subclassed_model_gets_names_from_what_it_returns():
    class Coarse(keras.Model):
        def call(self, x):
            return PixelOracleN(20)(x)

    x = images_predicting([18, 1])
    assert predict(Coarse(name="coarse"), x, preprocessing=RAW).class_names == (
        "vehicles_1",
        "fish",
    )
    with pytest.raises(InvalidArgumentError, match=r"holds 10 names but model 'coarse' has 20"):
        evaluate(
            Coarse(name="coarse"), data=(x, [18, 1]), preprocessing=RAW, class_names=CLASS_NAMES
        )


# ------------------------------------------------------------------- test-time augmentation


def linear_model(seed: int = 0) -> tuple[keras.Model, np.ndarray]:
    """Softmax of a fixed linear map of the pixels: its logits are known for any view."""
    inputs = keras.Input((32, 32, 3))
    dense = keras.layers.Dense(10, activation="softmax", name="predictions")
    outputs = dense(keras.layers.Flatten()(inputs))
    weights = np.random.default_rng(seed).normal(0, 2e-4, (32 * 32 * 3, 10)).astype("float32")
    dense.set_weights([weights, np.zeros(10, "float32")])
    return keras.Model(inputs, outputs, name="linear"), weights


def test_tta_views_are_airbenchs_flips_and_one_pixel_translations():
    images = np.arange(2 * 32 * 32 * 3).reshape(2, 32, 32, 3)
    assert [w for w, _ in tta_views(images, "none")] == [1.0]
    assert [w for w, _ in tta_views(images, "flip")] == [0.5, 0.5]
    views = tta_views(images, "flip_translate")
    assert [w for w, _ in views] == [0.25, 0.25, 0.125, 0.125, 0.125, 0.125]
    plain, flipped, down_right, down_right_flipped, up_left, up_left_flipped = (v for _, v in views)
    np.testing.assert_array_equal(plain, images)
    np.testing.assert_array_equal(flipped[:, :, 31 - 5], images[:, :, 5])
    # moved one pixel down and right: (r, c) shows (r - 1, c - 1), the border reflected
    np.testing.assert_array_equal(down_right[:, 1:, 1:], images[:, :-1, :-1])
    np.testing.assert_array_equal(down_right[:, 0, 1:], images[:, 1, :-1])
    np.testing.assert_array_equal(down_right[:, 0, 0], images[:, 1, 1])
    # moved one pixel up and left: (r, c) shows (r + 1, c + 1)
    np.testing.assert_array_equal(up_left[:, :-1, :-1], images[:, 1:, 1:])
    np.testing.assert_array_equal(up_left[:, 31, :-1], images[:, 30, 1:])
    # each translated view is paired with its mirror image
    np.testing.assert_array_equal(down_right_flipped, down_right[:, :, ::-1])
    np.testing.assert_array_equal(up_left_flipped, up_left[:, :, ::-1])


@pytest.mark.parametrize("tta", ["flip", "flip_translate"])
def test_tta_averages_the_logits_of_the_views(tta):
    model, weights = linear_model()
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (24, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, 24)
    logits = sum(
        w * (view.reshape(len(view), -1).astype(np.float64) @ weights)
        for w, view in tta_views(x, tta)
    )
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    result = evaluate(model, data=(x, y), preprocessing=RAW, tta=tta, batch_size=8)
    assert result["tta"] == tta
    assert result["accuracy"] == pytest.approx(np.mean(probs.argmax(axis=1) == y))
    picked = np.clip(probs[np.arange(24), y], 1e-7, 1 - 1e-7)
    assert result["loss"] == pytest.approx(-np.log(picked).mean(), rel=1e-4)
    single = evaluate(model, data=(x, y), preprocessing=RAW)
    assert single["loss"] != pytest.approx(result["loss"], rel=1e-4)  # the views count


def test_tta_none_is_the_default_single_view():
    model, _ = linear_model(1)
    x = images_predicting(list(range(10)))
    y = np.arange(10)
    default = evaluate(model, data=(x, y), preprocessing=RAW)
    assert default["tta"] == "none"
    for tta in (None, "none"):
        assert evaluate(model, data=(x, y), preprocessing=RAW, tta=tta) == default


def test_tta_on_a_zoo_model_is_invariant_to_flipping_the_test_set():
    # flip views of a flipped image are the same two views: the same predictions
    model = load_model("elu_cnn")
    x = np.random.default_rng(6).integers(0, 256, (6, 32, 32, 3), dtype=np.uint8)
    y = np.arange(6)
    once = evaluate(model, data=(x, y), tta="flip")
    mirrored = evaluate(model, data=(x[:, :, ::-1], y), tta="flip")
    assert mirrored["loss"] == pytest.approx(once["loss"], rel=1e-5)
    assert mirrored["confusion_matrix"] == once["confusion_matrix"]


@pytest.mark.parametrize("bad", ["mirror", "Flip", 2, True, ("flip",)])
def test_unknown_tta_is_refused_before_the_test_set_is_read(bad, tmp_path):
    with pytest.raises(
        InvalidArgumentError,
        match=r"tta must be None or 'none' \(one view\), 'flip' \(the image and its mirror\) "
        r"or 'flip_translate' \(also both moved one pixel up-left and down-right, as airbench "
        rf"evaluates\)\. Received: tta={re.escape(repr(bad))}$",
    ):
        evaluate(oracle_model(), data_dir=tmp_path / "nothing", preprocessing=RAW, tta=bad)


def test_cli_evaluate_takes_tta(tmp_path, capsys):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(8)
    test_images = rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    for name, images in [(n, test_images[:2]) for n in TRAIN_BATCHES] + [(TEST_BATCH, test_images)]:
        with (folder / name).open("wb") as f:
            flat = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
            pickle.dump(
                {b"data": flat, b"labels": [i % 10 for i in range(len(images))]}, f, protocol=4
            )
    model = load_model("elu_cnn")
    model.save_weights(tmp_path / "elu.weights.h5")
    argv = ["evaluate", "elu_cnn", "--weights", str(tmp_path / "elu.weights.h5")]
    argv += ["--data-dir", str(tmp_path), "--json", "--tta", "flip"]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = evaluate(model, data=(test_images, np.arange(12) % 10), tta="flip")
    assert printed["tta"] == "flip"
    assert printed["loss"] == pytest.approx(expected["loss"], rel=1e-5)
    assert printed["confusion_matrix"] == expected["confusion_matrix"]
