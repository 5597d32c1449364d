"""fit_cifar10 when things go wrong: images scaled to [0, 1], models without class
probabilities, divergence in the last update, exact resume after a kill, a full disk or a
read-only folder, stale temporary files, damaged checkpoint folders and resumes with other
settings."""

from __future__ import annotations

import dataclasses
import errno
import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers.cifar_files import tiny_cifar10
from helpers.tiny_training import BATCH, IMAGES, STEPS, tiny_recipe

from keras_cifar_zoo import (
    Augmentation,
    InvalidArgumentError,
    Schedule,
    TrainingDivergedError,
    WeightAveraging,
    fit_cifar10,
    get_recipe,
    load_model,
)
from keras_cifar_zoo.errors import (
    CheckpointWriteError,
    CorruptCheckpointError,
    ModelOutputError,
    PixelRangeError,
)
from keras_cifar_zoo.preprocessing import RESCALE_0_1
from keras_cifar_zoo.training import checkpoints
from keras_cifar_zoo.training.checkpoints import remove_stale_temporaries


def tiny_model(name="tiny", *, conv=False, classes=10):
    inputs = keras.Input((32, 32, 3), name="images")
    x = inputs
    if conv:
        x = keras.layers.Conv2D(4, 3, strides=2, name="conv")(x)
        x = keras.layers.BatchNormalization(name="bn")(x)
        x = keras.layers.ReLU(name="relu")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    if conv:
        x = keras.layers.Dropout(0.5, name="dropout")(x)
    outputs = keras.layers.Dense(classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=name)


@pytest.fixture
def data(rng):
    x = rng.integers(0, 256, (IMAGES, 32, 32, 3), dtype=np.uint8)
    x[0, 0, 0, 0], x[0, 0, 0, 1] = 0, 255
    return x, np.arange(IMAGES) % 10


def fit(model, data, **kwargs):
    kwargs.setdefault("recipe", tiny_recipe())
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("seed", 0)
    kwargs.setdefault("preprocessing", RESCALE_0_1)
    return fit_cifar10(model, data=data, **kwargs)


def weights_of(model):
    return [np.array(keras.ops.convert_to_numpy(w)) for w in model.weights]


def max_difference(a, b):
    return max(float(np.abs(u - v).max()) for u, v in zip(a, b, strict=True))


def state_of(folder):
    return json.loads((folder / "state.json").read_text())


class Recorder(keras.callbacks.Callback):
    """Records the epochs run."""

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


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


class KeepWeights(keras.callbacks.Callback):
    """Keeps the zoo model's weights at the end of every epoch."""

    def __init__(self, name="tiny"):
        super().__init__()
        self.name, self.saved = name, {}

    def on_epoch_end(self, epoch, logs=None):
        self.saved[epoch] = weights_of(self.model.get_layer(self.name))


class PoisonLastUpdate(keras.callbacks.Callback):
    """Makes the classifier's kernel infinite right after the last update of an epoch, as an
    update with a huge step would: the epoch's loss, measured before each update, stays
    finite."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch, self.current = epoch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.current == self.epoch and batch == STEPS - 1:
            layer = self.model.get_layer("tiny").get_layer("predictions")
            layer.kernel.assign(np.full(layer.kernel.shape, np.inf, "float32"))


@pytest.fixture
def tiny_cifar(tmp_path, rng):
    """A CIFAR-10 folder in the official layout: 5 x 8 training and 16 test images."""
    return tiny_cifar10(tmp_path / "cifar", rng)


# ---------------------------------------------------------------- images scaled to [0, 1]

UNIT_RANGE = (
    r"{arg} holds float values that all lie in \[0, 1\], but the model takes raw pixels in "
    r"0-255 and applies its own preprocessing: images scaled to \[0, 1\] look nearly black to "
    r"it\. Pass raw 0-255 pixels \({arg} \* 255, or the uint8 images\), or "
    r"allow_unit_range=True if these values are meant as they are\. "
)


def test_images_scaled_to_unit_range_are_refused(data):
    x, y = data
    scaled = (x / 255).astype(np.float32)
    with pytest.raises(
        PixelRangeError,
        match=UNIT_RANGE.format(arg=r"data\[0\]") + r"Received: dtype=float32, min=0\.0, max=1\.0$",
    ) as caught:
        fit(tiny_model(), (scaled, y))
    assert isinstance(caught.value, InvalidArgumentError)
    with pytest.raises(
        PixelRangeError,
        match=UNIT_RANGE.format(arg=r"validation_data\[0\]") + r"Received: dtype=float32",
    ):
        fit(tiny_model(), data, validation_data=(scaled, y))


def test_an_all_zero_float_batch_is_refused(data):
    """Black float images lie in [0, 1] like scaled ones: refused, allow_unit_range opts in."""
    zeros = np.zeros((IMAGES, 32, 32, 3))
    with pytest.raises(PixelRangeError, match=r"Received: dtype=float64, min=0\.0, max=0\.0$"):
        fit(tiny_model(), (zeros, data[1]))
    history = fit(tiny_model(), (zeros, data[1]), epochs=1, allow_unit_range=True)
    assert math.isfinite(history.history["loss"][0])


def test_allow_unit_range_trains_on_scaled_data_and_validation(data):
    x, y = data
    scaled = x / 255.0
    history = fit(
        tiny_model(), (scaled, y), epochs=1, validation_data=(scaled, y), allow_unit_range=True
    )
    assert math.isfinite(history.history["val_loss"][0])


def test_raw_pixels_pass_as_before(data):
    x, y = data
    for images in (x, x.astype(np.float32), np.zeros_like(x)):
        assert math.isfinite(fit(tiny_model(), (images, y), epochs=1).history["loss"][0])


# ------------------------------------------------------------- models without probabilities


def test_a_model_without_its_top_is_refused(data):
    with pytest.raises(
        ModelOutputError,
        match=r"Model 'simple_cnn' outputs shape \(None, 14, 14, 64\), but one row of class "
        r"probabilities per image is needed, shape \(N, num_classes\) with num_classes >= 2\. "
        r"Build it with include_top=True, or end it in a softmax classifier\. "
        r"Received: model\.output_shape=\(None, 14, 14, 64\)$",
    ):
        fit(load_model("simple_cnn", include_top=False), data, preprocessing=None)


def test_a_single_output_model_is_refused(data):
    inputs = keras.Input((32, 32, 3))
    flat = keras.layers.GlobalAveragePooling2D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(flat), name="one")
    with pytest.raises(
        ModelOutputError, match=r"Model 'one' outputs shape \(None, 1\), but one row of class "
    ):
        fit(model, data)


def test_cifar10_needs_ten_classes(tiny_cifar, data):
    with pytest.raises(
        ModelOutputError,
        match=r"Model 'tiny' outputs 3 class probabilities but CIFAR-10 has 10 classes\. Build "
        r"it with num_classes=10, or pass data= with labels in \[0, 3\)\. "
        r"Received: num_classes=3$",
    ):
        fit_cifar10(
            tiny_model(classes=3), recipe=tiny_recipe(), data_dir=tiny_cifar,
            preprocessing=RESCALE_0_1, verbose=0,
        )  # fmt: skip
    three = (data[0], data[1] % 3)
    recipe = dataclasses.replace(get_recipe("article_004"), epochs=1, batch_size=BATCH)
    with pytest.raises(
        ModelOutputError, match=r"or pass validation_data= with labels in \[0, 3\)\. "
    ):  # article 004 validates on the CIFAR-10 test set
        fit(tiny_model(classes=3), three, recipe=recipe, data_dir=tiny_cifar)


# -------------------------------------------------------------------------------- divergence


def test_divergence_in_the_last_update_keeps_the_last_good_epoch(data, tmp_path):
    keep = KeepWeights()
    with pytest.raises(
        TrainingDivergedError,
        match=r"Training tiny diverged: the weights were not finite in epoch 2\. Lower the "
        r"learning rate or batch size, or check the data, and train again in another "
        r"folder \(checkpoint_dir=\); the last good epoch \(1\) is kept in checkpoint_dir "
        + re.escape(str(tmp_path))
        + r" \(its model\.keras, and the state a rerun resumes from\)\. "
        r"Received: recipe='tiny'$",
    ) as caught:
        fit(tiny_model(), data, checkpoint_dir=tmp_path, callbacks=[keep, PoisonLastUpdate(1)])
    assert all(map(math.isfinite, caught.value.history.history["loss"]))  # the loss missed it
    state = state_of(tmp_path)
    assert state["completed_epochs"] == 1 and not state["finished"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".lock",
        "history.csv",
        "model.keras",
        "state-epoch0001.weights.h5",
        "state.json",
    ]
    saved = weights_of(keras.saving.load_model(tmp_path / "model.keras"))
    assert max_difference(saved, keep.saved[0]) == 0.0


def test_divergence_without_checkpoint_dir_says_nothing_was_saved(data):
    with pytest.raises(
        TrainingDivergedError,
        match=r"Training tiny diverged: the weights were not finite in epoch 1\. Lower the "
        r"learning rate or batch size, or check the data; nothing was saved \(pass "
        r"checkpoint_dir= to keep each good epoch\)\. Received: recipe='tiny'$",
    ):
        fit(tiny_model(), data, epochs=1, callbacks=[PoisonLastUpdate(0)])


def test_divergence_in_the_first_epoch_saves_nothing(data, tmp_path):
    with pytest.raises(
        TrainingDivergedError,
        match=r"the weights were not finite in epoch 1\. Lower the learning rate or batch size, "
        r"or check the data, and train again; nothing was saved in "
        + re.escape(str(tmp_path))
        + r": no epoch ended with finite weights\. Received: recipe='tiny'$",
    ):
        fit(tiny_model(), data, checkpoint_dir=tmp_path, callbacks=[PoisonLastUpdate(0)])
    assert not (tmp_path / "model.keras").exists()
    assert not list(tmp_path.glob("state-epoch*"))
    assert state_of(tmp_path)["completed_epochs"] == 0
    # With no epoch to resume, the folder takes a run with other settings.
    history = fit(tiny_model(), data, checkpoint_dir=tmp_path, recipe=tiny_recipe(epochs=1))
    assert len(history.history["loss"]) == 1 and state_of(tmp_path)["finished"]


# ------------------------------------------------------------------------------ exact resume


_AUGMENTATION = Augmentation(horizontal_flip=True, shift=0.125, fill_mode="reflect", cutout_size=8)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"weight_averaging": WeightAveraging(every=3, final_decay=0.9, power=1.0)},
        {"augmentation": dataclasses.replace(_AUGMENTATION, alternating_flip=True)},
        {"freeze_after_epochs": {"conv/bias": 1}},
        {
            "freeze_after_epochs": {"conv/bias": 1},
            "weight_averaging": WeightAveraging(every=3, final_decay=0.9, power=1.0),
        },
    ],
    ids=["plain", "lookahead", "alternating_flip", "frozen_bias", "frozen_bias_lookahead"],
)
def test_a_resumed_run_ends_with_the_weights_of_an_uninterrupted_one(tmp_path, rng, changes):
    """Killed in epoch 2 of 3 and resumed: batch order, augmentation and dropout of every
    epoch come from (seed, epoch), so the weights match an uninterrupted run's; with weight
    averaging too (8 steps an epoch, averaged after steps 3 and 6 and at the epoch's end),
    with alternating flips (each image's flip in epoch 2 follows from epoch 0's), and with a
    variable frozen after the first epoch (its kept value comes from the checkpoint)."""
    x = rng.integers(0, 256, (256, 32, 32, 3), dtype=np.uint8)
    options = dict(
        recipe=tiny_recipe(
            epochs=3,
            batch_size=32,
            schedule=Schedule("piecewise", (0.05,)),
            **({"augmentation": _AUGMENTATION} | changes),
        ),
        seed=7,
    )
    data = (x, np.arange(256) % 10)

    def run(**kwargs):
        keras.utils.set_random_seed(7)  # the same initial weights
        return weights_of(fit(tiny_model(conv=True), data, **options, **kwargs).model)

    uninterrupted = run()
    twin = max_difference(run(), uninterrupted)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run(checkpoint_dir=tmp_path, callbacks=[CrashIn(epoch=1)])
    assert state_of(tmp_path)["completed_epochs"] == 1
    recorder = Recorder()
    resumed = max_difference(run(checkpoint_dir=tmp_path, callbacks=[recorder]), uninterrupted)
    assert recorder.epochs == [1, 2]
    # On the CPU both differences are 0.0: the runs are bitwise deterministic.
    assert resumed <= twin, f"resumed vs uninterrupted {resumed}, two uninterrupted {twin}"


def test_an_unseeded_run_resumes_with_its_own_randomness(data, tmp_path):
    options = dict(seed=None, checkpoint_dir=tmp_path, recipe=tiny_recipe(epochs=3))
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(tiny_model(), data, callbacks=[CrashIn(epoch=1)], **options)
    state = state_of(tmp_path)
    assert state["seed"] is None and isinstance(state["rng_seed"], int)
    history = fit(tiny_model(), data, **options)
    assert len(history.history["loss"]) == 3
    assert state_of(tmp_path)["rng_seed"] == state["rng_seed"]


# ------------------------------------------------------------------- writing checkpoints


def _write_error(folder, name="model\\.keras", reason="No space left on device"):
    return (
        rf"Could not write {name} in {re.escape(str(folder))} \({reason}\); the previous "
        r"checkpoint there is left as it was\. Free disk space or make the folder writable, or "
        r"pass another folder as checkpoint_dir=\. "
        rf"Received: checkpoint_dir='{re.escape(str(folder))}'$"
    )


def test_a_full_disk_keeps_the_previous_checkpoint(data, tmp_path, monkeypatch):
    model, keep = tiny_model(), KeepWeights()
    real_save, calls = model.save, []

    def save(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 2:  # the second epoch: a partial file, then the disk is full
            Path(path).write_bytes(b"partial")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_save(path, *args, **kwargs)

    monkeypatch.setattr(model, "save", save)
    with pytest.raises(CheckpointWriteError, match=_write_error(tmp_path)) as caught:
        fit(model, data, checkpoint_dir=tmp_path, callbacks=[keep])
    assert isinstance(caught.value, OSError)
    assert state_of(tmp_path)["completed_epochs"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".lock",
        "history.csv",
        "model.keras",
        "state-epoch0001.weights.h5",
        "state.json",
    ]  # no temporary left, no weights of the epoch that failed
    saved = weights_of(keras.saving.load_model(tmp_path / "model.keras"))
    assert max_difference(saved, keep.saved[0]) == 0.0

    recorder = Recorder()
    fit(tiny_model(), data, checkpoint_dir=tmp_path, callbacks=[recorder])
    assert recorder.epochs == [1] and state_of(tmp_path)["finished"]


def test_a_read_only_folder_fails_before_training(data, tmp_path, monkeypatch):
    folder = tmp_path / "run"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe = folder / "probe"
        try:
            probe.touch()
        except PermissionError:  # the lock file is the first write
            failing, left = "\\.lock", []
        else:  # root ignores the mode: simulate what the file system would answer
            probe.unlink()
            failing, left = "state\\.json", [".lock"]

            def read_only(self, *args, **kwargs):
                raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))

            monkeypatch.setattr(Path, "write_text", read_only)
        recorder = Recorder()
        with pytest.raises(
            CheckpointWriteError,
            match=_write_error(folder, failing, "(Permission denied|Read-only file system)"),
        ):
            fit(tiny_model(), data, checkpoint_dir=folder, callbacks=[recorder])
        assert recorder.epochs == []
        assert [p.name for p in folder.iterdir()] == left
    finally:
        folder.chmod(0o755)


def test_a_checkpoint_dir_that_cannot_be_created(data, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    target = tmp_path / "file" / "run"
    with pytest.raises(
        CheckpointWriteError,
        match=rf"Could not create the folder {re.escape(str(target))} \(Not a directory\)\. "
        r"Pass another folder as checkpoint_dir=, or make its parent a writable folder\. "
        rf"Received: checkpoint_dir='{re.escape(str(target))}'$",
    ):
        fit(tiny_model(), data, checkpoint_dir=target)


def test_stale_temporary_files_are_removed(data, tmp_path):
    """A writer killed mid-write leaves ``.tmp-<pid>-<name>``: removed unless that process
    is still running."""
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    names = {
        "dead": f".tmp-{ended.pid}-model.keras",
        "ours": f".tmp-{os.getpid()}-state.json",  # ours are removed as they are written
        "running": f".tmp-{os.getppid()}-state-epoch0001.weights.h5",
        "no pid": ".tmp-x-state.json",
    }
    for name in names.values():
        (tmp_path / name).write_bytes(b"partial")
    fit(tiny_model(), data, epochs=1, checkpoint_dir=tmp_path)
    left = {p.name for p in tmp_path.glob(".tmp-*")}
    assert left == {names["running"], names["no pid"]}
    assert remove_stale_temporaries(tmp_path) == []


def test_a_checkpoint_the_free_space_cannot_hold_is_refused_before_writing(
    data, tmp_path, monkeypatch
):
    """HDF5 can crash the process when the disk fills in the middle of a file, so the space an
    epoch's files need (an estimate from the weights, then the last epoch's size) is checked
    before any of them is written."""
    real_usage, real_save = shutil.disk_usage, keras.Model.save_weights
    checks, saves = [], []

    def usage(path):
        checks.append(Path(path))
        found = real_usage(path)
        return found if len(checks) == 1 else found._replace(free=100_000)

    def save_weights(self, path, *args, **kwargs):
        saves.append(Path(path).name)
        return real_save(self, path, *args, **kwargs)

    monkeypatch.setattr(checkpoints.shutil, "disk_usage", usage)
    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    with pytest.raises(
        CheckpointWriteError,
        match=_write_error(
            tmp_path,
            r"state-epoch0002\.weights\.h5",
            r"No space left on device: about 1\.\d MB needed, 100 kB free",
        ),
    ):
        fit(tiny_model(), data, checkpoint_dir=tmp_path)
    assert checks == [tmp_path, tmp_path]
    assert [name.split("-", 2)[-1] for name in saves] == ["state-epoch0001.weights.h5"]
    assert state_of(tmp_path)["completed_epochs"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".lock",
        "history.csv",
        "model.keras",
        "state-epoch0001.weights.h5",
        "state.json",
    ]


def test_an_hdf5_write_error_is_told_in_a_few_words(data, tmp_path, monkeypatch):
    """h5py reports a full disk as pages of HDF5 detail; the error names the cause."""
    detail = (
        "Unable to synchronously close file (file write failed: time = Tue Dec  1 20:16:55 "
        "2026\n, filename = '/x/.tmp-1-state-epoch0001.weights.h5', file descriptor = 4, "
        "errno = 28, error message = 'No space left on device', buf = 0x5587, total write "
        "size = 2048, bytes this sub-write = 2048, offset = 4096)"
    )

    def save_weights(self, path, *args, **kwargs):
        Path(path).write_bytes(b"partial")
        raise OSError(detail)

    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    with pytest.raises(
        CheckpointWriteError,
        match=_write_error(tmp_path, r"state-epoch0001\.weights\.h5"),
    ):
        fit(tiny_model(), data, checkpoint_dir=tmp_path)
    assert not list(tmp_path.glob(".tmp-*"))


@pytest.fixture
def small_disk(tmp_path):
    """A 4 MiB file system of its own, where a training run can fill the disk for real."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.name != "posix" or os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("a small file system to fill needs root, to mount a 4 MiB tmpfs")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        pytest.skip(f"this machine does not let a 4 MiB tmpfs be mounted: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.slow
def test_a_full_disk_ends_in_a_write_error_not_a_crash(small_disk):
    """A real full disk: HDF5 crashed the process there (segmentation fault) before."""
    from helpers import training_worker as worker

    folder = small_disk / "run"
    done = subprocess.run(
        [sys.executable, worker.__file__, "fill-disk", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert re.fullmatch(
        "raised CheckpointWriteError: "
        + _write_error(
            folder,
            r"state-epoch0002\.weights\.h5",
            r"No space left on device: about \d\.\d MB needed, \d+ kB free",
        ).rstrip("$")
        + "\n",
        done.stdout,
    ), done.stdout
    assert sorted(p.name for p in folder.iterdir()) == [
        ".lock",
        "history.csv",
        "model.keras",
        "state-epoch0001.weights.h5",
        "state.json",
    ]
    (small_disk / "filler").unlink()
    recorder = Recorder()
    worker.train(folder, width=worker.WIDE, callbacks=[recorder])
    assert recorder.epochs == [1] and state_of(folder)["finished"]


def test_the_run_record_says_what_it_trained_on_and_for_how_long(data, tmp_path):
    """``train_images`` in the history; every completed epoch's wall time in the state, a
    crashed call's included, so a resumed run's total covers every call."""
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(tiny_model(), data, checkpoint_dir=tmp_path, callbacks=[CrashIn(epoch=1)])
    crashed = state_of(tmp_path)["wall_time_s"]
    assert crashed > 0.0
    history = fit(tiny_model(), data, checkpoint_dir=tmp_path)
    assert history.params["train_images"] == IMAGES
    assert state_of(tmp_path)["wall_time_s"] > crashed
    assert fit(tiny_model(), data, epochs=1).params["train_images"] == IMAGES


# ------------------------------------------------------------------ damaged checkpoint folders


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda d: (d / "state.json").unlink(),
         r"model\.keras, state-epoch0001\.weights\.h5 but no state\.json"),
        (lambda d: _truncate(d / "state.json"), r"state\.json cannot be read as JSON \(.+\)"),
        (lambda d: (d / "state.json").write_bytes(b"\xff\xfe"),
         r"state\.json cannot be read as JSON \(.+\)"),
        (lambda d: (d / "state.json").write_text("[]"),
         r"state\.json lacks a valid completed_epochs and state_weights"),
        (lambda d: (d / "state.json").write_text(
            json.dumps({**json.loads((d / "state.json").read_text()), "completed_epochs": "1"})),
         r"state\.json lacks a valid completed_epochs and state_weights"),
        (lambda d: (d / "state.json").write_text(json.dumps(
            {**json.loads((d / "state.json").read_text()), "state_weights": "../elsewhere.h5"})),
         r"state\.json lacks a valid completed_epochs and state_weights"),
        (lambda d: (d / "state-epoch0001.weights.h5").unlink(),
         r"state\.json names state-epoch0001\.weights\.h5, which is missing"),
        (lambda d: _truncate(d / "state-epoch0001.weights.h5"),
         r"state-epoch0001\.weights\.h5 cannot be loaded \(Unable to synchronously open file "
         r"\(truncated file: .+\)\)"),
    ],
)  # fmt: skip
def test_a_damaged_checkpoint_folder_is_refused(data, tmp_path, damage, problem):
    fit(tiny_model(), data, epochs=1, checkpoint_dir=tmp_path)
    damage(tmp_path)
    folder = re.escape(str(tmp_path))
    with pytest.raises(
        CorruptCheckpointError,
        match=rf"{folder} holds a damaged checkpoint: {problem}\. Delete the folder to start "
        rf"over, or pass another folder as checkpoint_dir=\. Received: checkpoint_dir='{folder}'$",
    ) as caught:
        fit(tiny_model(), data, epochs=1, checkpoint_dir=tmp_path)
    assert isinstance(caught.value, ValueError)


# ------------------------------------------------------------------ resuming other settings

OTHER_SETTINGS = r"holds a run with other settings \({}\); resume it with the same settings or "
OTHER_SETTINGS += r"pass another folder as checkpoint_dir=\. Received: {}$"


@pytest.mark.parametrize(
    ("changes", "there", "here"),
    [
        ({"seed": 1}, "seed=0", "seed=1"),
        ({"seed": None}, "seed=0", "seed=None"),
        ({"recipe": tiny_recipe(optimizer_config={"momentum": 0.5})},
         r"recipe\.optimizer_config=\{'momentum': 0\.9\}",
         r"recipe\.optimizer_config=\{'momentum': 0\.5\}"),
        ({"recipe": tiny_recipe(label_smoothing=0.1)},
         r"recipe\.label_smoothing=0\.0", r"recipe\.label_smoothing=0\.1"),
        ({"recipe": tiny_recipe(augmentation=Augmentation(horizontal_flip=True))},
         r"recipe\.augmentation=\{'horizontal_flip': False, .*\}",
         r"recipe\.augmentation=\{'horizontal_flip': True, .*\}"),
        ({"recipe": tiny_recipe(augmentation=Augmentation(True, alternating_flip=True))},
         r"recipe\.augmentation=\{'horizontal_flip': False, .*'alternating_flip': False\}",
         r"recipe\.augmentation=\{'horizontal_flip': True, .*'alternating_flip': True\}"),
    ],
)  # fmt: skip
def test_resume_refuses_another_seed_or_recipe_settings(data, tmp_path, changes, there, here):
    fit(tiny_model(), data, epochs=1, checkpoint_dir=tmp_path)
    with pytest.raises(InvalidArgumentError, match=OTHER_SETTINGS.format(there, here)):
        fit(tiny_model(), data, **{"epochs": 1, "checkpoint_dir": tmp_path, **changes})


def test_resume_refuses_other_data_of_the_same_size(data, tmp_path):
    x, y = data
    fit(tiny_model(), data, epochs=1, checkpoint_dir=tmp_path)
    sha1 = r"data_sha1='[0-9a-f]{40}'"
    for other in ((x[:, :, ::-1], y), (x, (y + 1) % 10)):
        with pytest.raises(InvalidArgumentError, match=OTHER_SETTINGS.format(sha1, sha1)):
            fit(tiny_model(), other, epochs=1, checkpoint_dir=tmp_path)
    # the same values in another layout are the same data
    recorder = Recorder()
    fit(tiny_model(), (x.copy(order="F"), y.astype(np.int32)), epochs=1, checkpoint_dir=tmp_path,
        callbacks=[recorder])  # fmt: skip
    assert recorder.epochs == []


def test_a_recipe_description_is_not_a_setting(data, tmp_path):
    fit(tiny_model(), data, epochs=1, checkpoint_dir=tmp_path)
    recorder = Recorder()
    recipe = tiny_recipe(description="Reworded.", article="001")
    fit(tiny_model(), data, epochs=1, checkpoint_dir=tmp_path, recipe=recipe, callbacks=[recorder])
    assert recorder.epochs == []  # the finished run, returned as it is


def test_a_state_written_before_the_new_keys_still_resumes(data, tmp_path):
    """Keys an older state file lacks are not compared."""
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(tiny_model(), data, checkpoint_dir=tmp_path, callbacks=[CrashIn(epoch=1)])
    state = state_of(tmp_path)
    for key in ("seed", "data_sha1", "recipe_settings", "rng_seed"):
        del state[key]
    (tmp_path / "state.json").write_text(json.dumps(state))
    recorder = Recorder()
    fit(tiny_model(), data, seed=5, checkpoint_dir=tmp_path, callbacks=[recorder])
    assert recorder.epochs == [1] and state_of(tmp_path)["finished"]


def test_a_state_written_before_alternating_flips_existed_still_resumes(data, tmp_path):
    """Its augmentation lacks the setting, and trained with the default (random flips)."""
    options = dict(recipe=tiny_recipe(augmentation=Augmentation(True)), checkpoint_dir=tmp_path)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(tiny_model(), data, **options, callbacks=[CrashIn(epoch=1)])
    state = state_of(tmp_path)
    del state["recipe_settings"]["augmentation"]["alternating_flip"]
    (tmp_path / "state.json").write_text(json.dumps(state))
    recorder = Recorder()
    fit(tiny_model(), data, **options, callbacks=[recorder])
    assert recorder.epochs == [1] and state_of(tmp_path)["finished"]
    # the same old state with alternating flips asked for now is another run
    (tmp_path / "state.json").write_text(json.dumps(state))
    alternating = tiny_recipe(augmentation=Augmentation(True, alternating_flip=True))
    with pytest.raises(InvalidArgumentError, match="'alternating_flip': True"):
        fit(tiny_model(), data, recipe=alternating, checkpoint_dir=tmp_path)


def test_every_epoch_runs_its_own_batches_with_several_steps_per_execution(rng):
    """5 steps per epoch in executions of 3: the last execution of an epoch runs 2 steps and
    never takes a batch of the next epoch."""
    x = rng.integers(0, 256, (36, 32, 32, 3), dtype=np.uint8)
    seen = []

    class Steps(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(int(self.model.optimizer.iterations))

    fit(tiny_model(), (x, np.arange(36) % 10), steps_per_execution=3, callbacks=[Steps()])
    assert seen == [5, 10]


def test_a_full_disk_under_the_csv_log_names_it(data, tmp_path, monkeypatch):
    def full(self, epoch, logs=None):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(keras.callbacks.CSVLogger, "on_epoch_end", full)
    log = tmp_path / "logs" / "log.csv"
    log.parent.mkdir()
    with pytest.raises(
        CheckpointWriteError,
        match=rf"Could not write log\.csv in {re.escape(str(log.parent))} \(No space left on "
        r"device\)\. Free disk space or make the folder writable, or pass another file as "
        r"csv_log=\. "
        rf"Received: csv_log='{re.escape(str(log))}'$",
    ):
        fit(tiny_model(), data, csv_log=log)
    with pytest.raises(CheckpointWriteError, match=_write_error(tmp_path, "history\\.csv")):
        fit(tiny_model(), data, checkpoint_dir=tmp_path)
    assert state_of(tmp_path)["completed_epochs"] == 0
