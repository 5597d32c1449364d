"""fit_cifar10 on tiny synthetic data: schedules, augmentation, preprocessing, resume,
divergence, test-set selection and every bad input."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
import math

import keras
import numpy as np
import pytest
from helpers.cifar_files import tiny_cifar10
from helpers.tiny_training import BATCH, IMAGES, STEPS, tiny_recipe
from keras import ops

from keras_cifar_zoo import (
    Augmentation,
    InvalidArgumentError,
    InvalidTypeError,
    Schedule,
    TrainingDivergedError,
    UnknownRecipeError,
    fit_cifar10,
    get_recipe,
    load_model,
)
from keras_cifar_zoo.preprocessing import CIFAR10_ZSCORE, RESCALE_0_1
from keras_cifar_zoo.training.augment import RandomAugment
from keras_cifar_zoo.training.fit import TEST_SET_NOTE


@keras.saving.register_keras_serializable(package="zoo_tests")
class InputRange(keras.layers.Layer):
    """Identity that records the smallest and largest value it sees, in training and at
    inference separately."""

    def build(self, input_shape):
        for name, start in (("train_min", math.inf), ("train_max", -math.inf)):
            setattr(self, name, self._stat(name, start))
        for name, start in (("infer_min", math.inf), ("infer_max", -math.inf)):
            setattr(self, name, self._stat(name, start))

    def _stat(self, name, start):
        init = keras.initializers.Constant(start)
        return self.add_weight(shape=(), initializer=init, trainable=False, name=name)

    def call(self, x, training=None):
        low, high = (
            (self.train_min, self.train_max) if training else (self.infer_min, self.infer_max)
        )
        low.assign(ops.minimum(low, ops.min(x)))
        high.assign(ops.maximum(high, ops.max(x)))
        return x

    def seen(self, phase):
        return float(getattr(self, f"{phase}_min").numpy()), float(
            getattr(self, f"{phase}_max").numpy()
        )


def tiny_model(name="tiny", *, preprocessing_layer=False, activation="softmax"):
    inputs = keras.Input((32, 32, 3), name="images")
    x = RESCALE_0_1.layer()(inputs) if preprocessing_layer else inputs
    x = InputRange(name="range")(x)
    x = keras.layers.AveragePooling2D(8, name="pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(10, activation=activation, name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


@pytest.fixture
def data(rng):
    x = rng.integers(0, 256, (IMAGES, 32, 32, 3), dtype=np.uint8)
    return x, np.arange(IMAGES) % 10


def fit(model, data, **kwargs):
    kwargs.setdefault("recipe", tiny_recipe())
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("seed", 0)
    return fit_cifar10(model, data=data, **kwargs)


class Recorder(keras.callbacks.Callback):
    """Records the epochs run, the learning rate of every step and the step counter."""

    def __init__(self):
        super().__init__()
        self.epochs, self.rates, self.start_iterations = [], {}, None

    def on_train_begin(self, logs=None):
        self.start_iterations = int(self.model.optimizer.iterations)

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)
        self.rates[epoch] = []

    def on_train_batch_begin(self, batch, logs=None):
        rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.rates[self.epochs[-1]].append(rate)


class CrashIn(keras.callbacks.Callback):
    """Raises in the middle of an epoch, like a killed process."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == 1:
            raise RuntimeError("simulated crash")


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- schedules


def test_schedule_switches_at_the_right_epochs_inside_fit(data):
    recipe = tiny_recipe(schedule=Schedule("piecewise", (0.1, 0.01, 0.001), boundaries=(1, 3)))
    recorder = Recorder()
    fit(
        tiny_model(), data, recipe=recipe, epochs=4, callbacks=[recorder], preprocessing=RESCALE_0_1
    )
    expected = {0: 0.1, 1: 0.01, 2: 0.01, 3: 0.001}
    assert recorder.epochs == [0, 1, 2, 3]
    for epoch, rate in expected.items():
        assert recorder.rates[epoch] == pytest.approx([rate] * STEPS, rel=1e-6), epoch


def test_article_002_boundaries_inside_fit(data):
    """article_002 keeps 0.01 through epoch 80 (0-based) and switches at 81: run two epochs
    across a boundary moved to 1 with the recipe's own values and optimizer."""
    article = get_recipe("article_002")
    recipe = dataclasses.replace(
        article,
        schedule=dataclasses.replace(article.schedule, boundaries=(1, 2)),
        epochs=3,
        batch_size=BATCH,
    )
    recorder = Recorder()
    fit(tiny_model(), data, recipe=recipe, callbacks=[recorder], preprocessing=RESCALE_0_1)
    assert [r[0] for r in recorder.rates.values()] == pytest.approx([0.01, 0.005, 0.001])
    assert recorder.rates[0] == pytest.approx([0.01] * STEPS)


def test_schedule_record_is_validated():
    with pytest.raises(InvalidArgumentError, match="one more value than boundaries"):
        Schedule("piecewise", (0.1, 0.01))
    with pytest.raises(InvalidArgumentError, match="increasing boundaries"):
        Schedule("piecewise", (0.1, 0.01, 0.001), boundaries=(5, 2))
    with pytest.raises(InvalidArgumentError, match=r"three values \(start, peak, end\)"):
        Schedule("onecycle", (0.1, 0.01))
    with pytest.raises(InvalidArgumentError, match="Schedule kind must be one of"):
        Schedule("cosine", (0.1,))


# ---------------------------------------------------------------- augmentation, preprocessing


def test_augmentation_is_active_in_training_and_off_in_validation():
    flat = np.full((IMAGES, 32, 32, 3), 102, dtype=np.uint8)
    labels = np.arange(IMAGES) % 10
    recipe = tiny_recipe(augmentation=Augmentation(shift=0.25, fill_mode="constant"), epochs=1)
    model = tiny_model()
    history = fit(
        model,
        (flat, labels),
        recipe=recipe,
        validation_data=(flat, labels),
        preprocessing=RESCALE_0_1,
    )
    seen = model.get_layer("range")
    # zero fill came in from outside the shifted images; validation saw the images unchanged
    assert seen.seen("train") == pytest.approx((0.0, 102 / 255))
    assert seen.seen("infer") == pytest.approx((102 / 255, 102 / 255))
    assert history.model is model
    assert not any(isinstance(layer, RandomAugment) for layer in model.layers)
    np.testing.assert_array_equal(model.predict(flat, verbose=0), model.predict(flat, verbose=0))


def test_no_augmentation_leaves_training_images_alone():
    flat = np.full((IMAGES, 32, 32, 3), 102, dtype=np.uint8)
    model = tiny_model()
    fit(model, (flat, np.zeros(IMAGES, int)), epochs=1, preprocessing=RESCALE_0_1)
    assert model.get_layer("range").seen("train") == pytest.approx((102 / 255, 102 / 255))


def test_zoo_preprocessing_applied_when_the_model_lacks_the_layer(data):
    """A model named after a zoo model but built without its layer gets the zoo's own."""
    x = data[0].copy()
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 0, 255
    model = tiny_model("simple_cnn")  # simple_cnn's preprocessing is x / 255
    fit(model, (x, data[1]), epochs=1)
    assert model.get_layer("range").seen("train") == pytest.approx((0.0, 1.0))


def test_given_preprocessing_applied_once(data):
    x = data[0].copy()
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 0, 255
    model = tiny_model()
    fit(model, (x, data[1]), epochs=1, preprocessing=CIFAR10_ZSCORE)
    mean, std = CIFAR10_ZSCORE.mean[0], CIFAR10_ZSCORE.std[0]
    assert model.get_layer("range").seen("train") == pytest.approx(
        ((0 - mean) / std, (255 - mean) / std), rel=1e-5
    )


def test_baked_in_layer_is_not_applied_twice(data):
    x = data[0].copy()
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 0, 255
    model = tiny_model(preprocessing_layer=True)
    fit(model, (x, data[1]), epochs=1)
    assert model.get_layer("range").seen("train") == pytest.approx((0.0, 1.0))


def test_zoo_model_without_preprocessing_layer_trains(data):
    model = load_model("simple_cnn", include_preprocessing=False)
    history = fit(model, data, epochs=1, recipe=tiny_recipe(batch_size=16))
    assert math.isfinite(history.history["loss"][0]) and history.model.name == "simple_cnn"


def test_double_preprocessing_is_refused(data):
    with pytest.raises(
        InvalidArgumentError,
        match=r"Model 'tiny' already has a 'preprocessing' layer \(in itself or a model nested "
        r"in it\); passing preprocessing as well would apply it twice\. Drop the preprocessing "
        r"argument\. Received: preprocessing='rescale_0_1'",
    ):
        fit(tiny_model(preprocessing_layer=True), data, preprocessing=RESCALE_0_1)


def test_baked_in_layer_of_a_nested_model_is_not_applied_twice(data):
    """A zoo-like base under a new head keeps its preprocessing layer inside: fit finds it
    there, and refuses preprocessing= that would scale the pixels a second time."""
    x = data[0].copy()
    x[0, 0, 0, 0], x[1, 0, 0, 0] = 0, 255
    base = tiny_model(preprocessing_layer=True)
    inputs = keras.Input((32, 32, 3))
    head = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(base(inputs)))
    model = keras.Model(inputs, head)
    fit(model, (x, data[1]), epochs=1)
    assert base.get_layer("range").seen("train") == pytest.approx((0.0, 1.0))
    with pytest.raises(InvalidArgumentError, match=r"Model 'functional' already has a "):
        fit(model, (x, data[1]), epochs=1, preprocessing=RESCALE_0_1)


def test_a_logits_model_trains_with_a_loss_from_logits(data):
    """One step of one seed: a model ending in logits has the loss of its softmax twin."""
    softmax = tiny_model(preprocessing_layer=True)
    logits = tiny_model(preprocessing_layer=True, activation=None)
    logits.set_weights(softmax.get_weights())
    one_step = {"epochs": 1, "batch_size": IMAGES}
    expected = fit(softmax, data, **one_step).history["loss"][0]
    assert fit(logits, data, **one_step).history["loss"][0] == pytest.approx(expected, rel=1e-5)


def test_a_model_not_named_after_a_zoo_model_needs_a_recipe(data):
    with pytest.raises(
        InvalidArgumentError,
        match=r"^Model 'tiny' is not a zoo model, so it has no default recipe: pass recipe= one "
        r"of airbench94, article_000, .*, improved_sgd_crops \(or a Recipe\)\. "
        r"Received: model\.name='tiny', recipe=None$",
    ):
        fit(tiny_model(preprocessing_layer=True), data, recipe=None)


def test_unknown_preprocessing_is_refused(data):
    with pytest.raises(
        InvalidArgumentError,
        match=r"Cannot tell how to preprocess images for model 'tiny'.*pass preprocessing=",
    ):
        fit(tiny_model(), data)
    with pytest.raises(InvalidTypeError, match="preprocessing must be a keras_cifar_zoo"):
        fit(tiny_model(), data, preprocessing="rescale_0_1")


def test_zoo_name_is_built_and_returned(data):
    history = fit("simple_cnn", data, epochs=1, recipe=tiny_recipe(batch_size=16))
    assert history.model.name == "simple_cnn"
    assert history.params["recipe"] == "tiny"
    assert "model_selection" not in history.params


# ------------------------------------------------------------------------------------ resume


def test_resume_after_a_crash_continues_at_the_right_epoch(data, tmp_path):
    run = tmp_path / "run"
    options = dict(recipe=tiny_recipe(epochs=3), preprocessing=RESCALE_0_1, checkpoint_dir=run)
    saved = {}

    class KeepKernel(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            saved[epoch] = self.model.get_layer("tiny").get_layer("predictions").get_weights()

    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(tiny_model(), data, callbacks=[KeepKernel(), CrashIn(epoch=1)], **options)
    state = json.loads((run / "state.json").read_text())
    assert state["completed_epochs"] == 1 and not state["finished"]
    first_loss = float(read_csv(run / "history.csv")[0]["loss"])

    recorder = Recorder()

    class CheckRestored(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            restored = self.model.get_layer("tiny").get_layer("predictions").get_weights()
            for a, b in zip(restored, saved[0], strict=True):
                np.testing.assert_array_equal(a, b)

    model = tiny_model()
    history = fit(model, data, callbacks=[recorder, CheckRestored()], **options)
    assert recorder.epochs == [1, 2]
    assert recorder.start_iterations == STEPS  # the optimizer's step counter came back
    assert history.epoch == [0, 1, 2]
    assert len(history.history["loss"]) == 3
    assert history.history["loss"][0] == pytest.approx(first_loss)
    assert [int(r["epoch"]) for r in read_csv(run / "history.csv")] == [0, 1, 2]
    state = json.loads((run / "state.json").read_text())
    assert state["completed_epochs"] == 3 and state["finished"]
    assert len(state["history"]["loss"]) == 3
    assert sorted(p.name for p in run.glob("state-epoch*")) == ["state-epoch0003.weights.h5"]
    assert keras.saving.load_model(run / "model.keras").name == "tiny"

    # A finished run comes back as it is, without training.
    again = Recorder()
    rerun = fit(tiny_model(), data, callbacks=[again], **options)
    assert again.epochs == [] and again.start_iterations == 3 * STEPS
    assert rerun.history["loss"] == pytest.approx(history.history["loss"])


def test_resume_refuses_other_settings(data, tmp_path):
    options = dict(recipe=tiny_recipe(epochs=1), preprocessing=RESCALE_0_1, checkpoint_dir=tmp_path)
    fit(tiny_model(), data, **options)
    with pytest.raises(
        InvalidArgumentError,
        match=r"holds a run with other settings \(epochs=1\); resume it with the same settings "
        r"or pass another folder as checkpoint_dir=\. Received: epochs=2",
    ):
        fit(tiny_model(), data, **{**options, "recipe": tiny_recipe(epochs=2)})
    with pytest.raises(
        InvalidArgumentError,
        match=r"\(train_images=32, data_sha1='[0-9a-f]{40}'\).*"
        r"Received: train_images=16, data_sha1='[0-9a-f]{40}'$",
    ):
        fit(tiny_model(), (data[0][:16], data[1][:16]), **options)
    with pytest.raises(InvalidArgumentError, match=r"\(model='tiny'\).*Received: model='other'"):
        fit(tiny_model("other"), data, **options)


# -------------------------------------------------------------------------------- divergence


class PoisonAt(keras.callbacks.Callback):
    """Sets the classifier's kernel to NaN at the start of an epoch."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            layer = self.model.get_layer("tiny").get_layer("predictions")
            layer.kernel.assign(np.full(layer.kernel.shape, np.nan, "float32"))


def test_nan_loss_raises_and_keeps_the_last_good_checkpoint(data, tmp_path):
    options = dict(recipe=tiny_recipe(epochs=3), preprocessing=RESCALE_0_1, checkpoint_dir=tmp_path)
    with pytest.raises(
        TrainingDivergedError,
        match=r"Training tiny diverged: the loss was not finite in epoch 2\. Lower the learning "
        r"rate.*the last good epoch \(1\) is kept in checkpoint_dir .*Received: recipe='tiny'",
    ) as caught:
        fit(tiny_model(), data, callbacks=[PoisonAt(1)], **options)
    assert isinstance(caught.value, ArithmeticError)
    losses = caught.value.history.history["loss"]
    assert len(losses) == 2 and math.isfinite(losses[0]) and math.isnan(losses[1])
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["completed_epochs"] == 1
    saved = keras.saving.load_model(tmp_path / "model.keras")
    assert all(np.isfinite(keras.ops.convert_to_numpy(w)).all() for w in saved.trainable_weights)

    # Rerunning resumes from the last good epoch; the NaN epoch is gone from the history.
    recorder = Recorder()
    history = fit(tiny_model(), data, callbacks=[recorder], **options)
    assert recorder.epochs == [1, 2]
    assert len(history.history["loss"]) == 3 and all(map(math.isfinite, history.history["loss"]))
    assert [int(r["epoch"]) for r in read_csv(tmp_path / "history.csv")] == [0, 1, 2]


# ------------------------------------------------------------------- test-set selection (004)


@pytest.fixture
def tiny_cifar(tmp_path, rng):
    """A CIFAR-10 folder in the official layout: 5 x 8 training and 16 test images."""
    return tiny_cifar10(tmp_path / "cifar", rng)


def test_article_004_note_only_when_fit_loads_the_test_set(data, tiny_cifar, tmp_path):
    recipe = dataclasses.replace(get_recipe("article_004"), epochs=1, batch_size=BATCH)
    history = fit(
        tiny_model(),
        data,
        recipe=recipe,
        preprocessing=RESCALE_0_1,
        data_dir=tiny_cifar,
        checkpoint_dir=tmp_path / "run",
    )
    assert history.params["model_selection"] == TEST_SET_NOTE.format(recipe="article_004")
    assert "CIFAR-10 TEST set" in history.params["model_selection"]
    assert "val_accuracy" in history.history
    best = keras.saving.load_model(tmp_path / "run" / "best.keras")
    assert best.name == "tiny"  # the user's model, not the training wrapper

    own = fit(tiny_model(), data, recipe=recipe, preprocessing=RESCALE_0_1, validation_data=data)
    assert "model_selection" not in own.params and "val_accuracy" in own.history
    other = fit(tiny_model(), data, recipe=tiny_recipe(epochs=1), preprocessing=RESCALE_0_1)
    assert "model_selection" not in other.params and "val_accuracy" not in other.history


def test_early_stopping_stops_and_a_rerun_does_not_train_on(data, tmp_path):
    recipe = dataclasses.replace(
        get_recipe("article_004"),
        epochs=6,
        batch_size=BATCH,
        early_stopping_patience=1,
        schedule=Schedule("piecewise", (0.0,)),  # nothing changes, so nothing improves
    )
    options = dict(
        recipe=recipe, preprocessing=RESCALE_0_1, validation_data=data, checkpoint_dir=tmp_path
    )
    history = fit(tiny_model(), data, **options)
    assert len(history.history["val_accuracy"]) == 2  # best at epoch 0, no gain in epoch 1
    assert json.loads((tmp_path / "state.json").read_text())["finished"]
    recorder = Recorder()
    rerun = fit(tiny_model(), data, callbacks=[recorder], **options)
    assert recorder.epochs == [] and len(rerun.history["val_accuracy"]) == 2


# ------------------------------------------------------------------------------ other logs


def test_csv_log_without_checkpoints(data, tmp_path):
    fit(tiny_model(), data, epochs=2, preprocessing=RESCALE_0_1, csv_log=tmp_path / "log.csv")
    assert [int(r["epoch"]) for r in read_csv(tmp_path / "log.csv")] == [0, 1]


def test_tensorboard_logs_or_a_clear_error_before_training(data, tmp_path):
    options = dict(epochs=1, preprocessing=RESCALE_0_1, tensorboard_dir=tmp_path / "tb")
    if importlib.util.find_spec("tensorboard") is None:
        with pytest.raises(InvalidArgumentError, match="tensorboard_dir needs the tensorboard"):
            fit(tiny_model(), data, **options)
        assert not (tmp_path / "tb").exists()
    else:
        fit(tiny_model(), data, **options)
        assert any((tmp_path / "tb").rglob("events.out.tfevents*"))


# -------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("images", "labels", "error", "match"),
    [
        (np.zeros((4, 32, 32), np.uint8), np.zeros(4, int), InvalidArgumentError,
         r"data\[0\] must have shape \(N, height, width, 3\)"
         r".*Received: data\[0\]\.shape=\(4, 32, 32\)"),
        (np.zeros((4, 32, 32, 1), np.uint8), np.zeros(4, int), InvalidArgumentError,
         r"RGB channels last\. Received: data\[0\]\.shape=\(4, 32, 32, 1\)"),
        (np.zeros((0, 32, 32, 3), np.uint8), np.zeros(0, int), InvalidArgumentError,
         r"with N >= 1"),
        (np.zeros((4, 32, 32, 3), complex), np.zeros(4, int), InvalidTypeError,
         r"data\[0\] must be uint8 or float pixels in 0-255\. Received: dtype=complex128"),
        (np.zeros((4, 32, 32, 3), bool), np.zeros(4, int), InvalidTypeError,
         r"Received: dtype=bool"),
        (np.full((4, 32, 32, 3), 300.0), np.zeros(4, int), InvalidArgumentError,
         r"data\[0\] must hold raw pixels in 0-255 \(the model applies its own preprocessing\)\. "
         r"Received: min=300\.0, max=300\.0"),
        (np.full((4, 32, 32, 3), -1.0), np.zeros(4, int), InvalidArgumentError,
         r"Received: min=-1\.0"),
        (np.full((4, 32, 32, 3), np.nan), np.zeros(4, int), InvalidArgumentError,
         r"must hold raw pixels in 0-255"),
        (np.zeros((4, 28, 28, 3), np.uint8), np.zeros(4, int), InvalidArgumentError,
         r"data\[0\] holds 28x28 images but 'tiny' takes 32x32"),
        (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(4), InvalidArgumentError,
         r"data\[1\] must be 4 integer class indices, shape \(4,\)\. "
         r"Received: shape=\(4,\), dtype=float64"),
        (np.zeros((4, 32, 32, 3), np.uint8), np.zeros(5, int), InvalidArgumentError,
         r"data\[1\] must be 4 integer class indices.*Received: shape=\(5,\)"),
        (np.zeros((4, 32, 32, 3), np.uint8), np.eye(10, dtype=int)[:4], InvalidArgumentError,
         r"Received: shape=\(4, 10\)"),
        (np.zeros((4, 32, 32, 3), np.uint8), np.array([0, 1, 2, 10]), InvalidArgumentError,
         r"data\[1\] must lie in \[0, 10\)\. Received: min=0, max=10"),
        (np.zeros((4, 32, 32, 3), np.uint8), np.array([-1, 1, 2, 3]), InvalidArgumentError,
         r"Received: min=-1, max=3"),
    ],
)  # fmt: skip
def test_bad_data_is_refused(images, labels, error, match):
    with pytest.raises(error, match=match):
        fit(tiny_model(), (images, labels), preprocessing=RESCALE_0_1)


def test_bad_validation_data_names_itself(data):
    with pytest.raises(InvalidArgumentError, match=r"validation_data\[1\] must lie in \[0, 10\)"):
        fit(tiny_model(), data, preprocessing=RESCALE_0_1, validation_data=(data[0], data[1] + 5))
    with pytest.raises(
        InvalidTypeError, match=r"validation_data must be a pair \(images, labels\)"
    ):
        fit(tiny_model(), data, preprocessing=RESCALE_0_1, validation_data=data[0])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"recipe": 3}, InvalidTypeError,
         r"recipe must be a recipe name \(see list_recipes\(\)\) or a Recipe\. Received: recipe=3"),
        ({"recipe": "article_9"}, UnknownRecipeError, r"Unknown recipe 'article_9'\. Available"),
        ({"epochs": 0}, InvalidArgumentError,
         r"epochs must be a positive integer\. Received: epochs=0"),
        ({"epochs": 1.5}, InvalidArgumentError, r"Received: epochs=1\.5"),
        ({"epochs": True}, InvalidArgumentError, r"Received: epochs=True"),
        ({"batch_size": -8}, InvalidArgumentError,
         r"batch_size must be a positive integer\. Received: batch_size=-8"),
        ({"steps_per_execution": 0}, InvalidArgumentError, r"Received: steps_per_execution=0"),
        ({"callbacks": keras.callbacks.History()}, InvalidTypeError,
         r"callbacks must be a list of keras\.callbacks\.Callback objects"),
        ({"callbacks": ["csv"]}, InvalidTypeError, r"Received: callbacks=\['csv'\]"),
        ({"distribution": "data_parallel"}, InvalidArgumentError,
         r"distribution needs a model name.*Received: model_or_name=<keras\.Model 'tiny'>"),
        ({"seed": "a"}, InvalidTypeError,
         r"seed must be None or an integer in \[0, 2\*\*32\)\. Received: seed='a'"),
        ({"seed": True}, InvalidTypeError, r"Received: seed=True"),
        ({"seed": 1.0}, InvalidTypeError, r"Received: seed=1\.0"),
        ({"seed": -1}, InvalidArgumentError,
         r"seed must be None or an integer in \[0, 2\*\*32\)\. Received: seed=-1"),
        ({"seed": 2**32}, InvalidArgumentError, r"Received: seed=4294967296"),
        ({"verbose": "loud"}, InvalidArgumentError,
         r"verbose must be 'auto', 0 \(silent\), 1 \(progress bar\) or 2 \(one line per "
         r"epoch\)\. Received: verbose='loud'"),
        ({"verbose": 3}, InvalidArgumentError, r"Received: verbose=3"),
        ({"verbose": True}, InvalidArgumentError, r"Received: verbose=True"),
        ({"checkpoint_dir": 123}, InvalidTypeError,
         r"checkpoint_dir must be a path \(str or os\.PathLike\) or None\. "
         r"Received: checkpoint_dir=123"),
        ({"csv_log": ["log.csv"]}, InvalidTypeError,
         r"csv_log must be a path.*Received: csv_log=\['log\.csv'\]"),
        ({"tensorboard_dir": 1.5}, InvalidTypeError, r"Received: tensorboard_dir=1\.5"),
        ({"allow_unit_range": "yes"}, InvalidTypeError,
         r"allow_unit_range must be True or False\. Received: allow_unit_range='yes'"),
    ],
)  # fmt: skip
def test_bad_arguments_are_refused(data, kwargs, error, match):
    with pytest.raises(error, match=match):
        fit(tiny_model(), data, preprocessing=RESCALE_0_1, **kwargs)


def test_bad_model_and_data_types(data):
    with pytest.raises(InvalidTypeError, match=r"model_or_name must be a zoo model name or a "):
        fit_cifar10(3, data=data)
    with pytest.raises(InvalidTypeError, match=r"data must be a pair \(images, labels\)\. "):
        fit(tiny_model(), data[0], preprocessing=RESCALE_0_1)
    with pytest.raises(InvalidTypeError, match=r"data\[0\] must be a NumPy array of images"):
        fit(tiny_model(), ("images", data[1]), preprocessing=RESCALE_0_1)


def test_bad_distribution_is_refused(data):
    if keras.backend.backend() not in ("jax", "tensorflow"):
        with pytest.raises(InvalidArgumentError, match=r"needs the JAX or TensorFlow backend"):
            fit("simple_cnn", data, distribution="data_parallel")
        return
    with pytest.raises(InvalidArgumentError, match=r"distribution must be 'data_parallel', a "):
        fit("simple_cnn", data, distribution="mirrored")
    with pytest.raises(InvalidTypeError, match=r"an object with a scope\(\) method"):
        fit("simple_cnn", data, distribution=2)
