"""``fit_cifar10``: train a zoo model with its documented preprocessing and recipe."""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import logging
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError, TrainingDivergedError
from keras_cifar_zoo.preprocessing import LAYER_NAME, Preprocessing
from keras_cifar_zoo.training.augment import RandomAugment
from keras_cifar_zoo.training.checkpoints import (
    BEST_FILE,
    EpochCheckpoint,
    atomic_write,
    read_state,
    restore_state,
)
from keras_cifar_zoo.training.recipes import Augmentation, Recipe, get_recipe
from keras_cifar_zoo.training.schedules import RecipeSchedule

logger = logging.getLogger(__name__)

TEST_SET_NOTE = (
    "Validation data is the CIFAR-10 TEST set and early stopping / best checkpoint monitor "
    "it, as recipe {recipe} (article 004) does: accuracies of this run are selected on test data."
)
DATA_PARALLEL = "data_parallel"


def augmentation_layers(augmentation: Augmentation, seed: int | None = None) -> list[keras.Layer]:
    """Returns the layers applying a recipe's augmentation (random only in training)."""
    if not augmentation.enabled:
        return []
    return [
        RandomAugment(
            horizontal_flip=augmentation.horizontal_flip,
            shift=augmentation.shift,
            rotation_degrees=augmentation.rotation_degrees,
            fill_mode=augmentation.fill_mode,
            fill_value=augmentation.fill_value,
            integer_shift=augmentation.integer_shift,
            cutout_size=augmentation.cutout_size,
            cutout_value=augmentation.cutout_value,
            seed=seed,
            name="augment",
        )
    ]


def resolve_preprocessing(
    model: keras.Model, preprocessing: Preprocessing | None
) -> Preprocessing | None:
    """Returns the preprocessing a caller must apply before ``model``, or None if the model
    has its ``preprocessing`` layer baked in."""
    if preprocessing is not None and not isinstance(preprocessing, Preprocessing):
        raise InvalidTypeError(
            "preprocessing must be a keras_cifar_zoo.Preprocessing record such as "
            "model_info(name).preprocessing. "
            f"Received: preprocessing={preprocessing!r}"
        )
    if any(layer.name == LAYER_NAME for layer in model.layers):
        if preprocessing is not None:
            raise InvalidArgumentError(
                f"Model {model.name!r} already has a '{LAYER_NAME}' layer; passing preprocessing "
                "as well would apply it twice. Drop the preprocessing argument. "
                f"Received: preprocessing={preprocessing.name!r}"
            )
        return None
    if preprocessing is not None:
        return preprocessing
    from keras_cifar_zoo.registry import list_models, model_info

    if model.name in list_models():
        return model_info(model.name).preprocessing
    raise InvalidArgumentError(
        f"Cannot tell how to preprocess images for model {model.name!r}: it has no "
        f"'{LAYER_NAME}' layer and is not named after a zoo model. Build it with "
        "include_preprocessing=True or pass preprocessing=. "
        f"Received: model.name={model.name!r}"
    )


def check_images(images: Any, arg: str) -> np.ndarray:
    """Validates a batch of raw images (N, H, W, 3), uint8 or float in 0-255."""
    if not isinstance(images, np.ndarray) and not hasattr(images, "__array__"):
        raise InvalidTypeError(
            f"{arg} must be a NumPy array of images. Received: type={type(images).__name__}"
        )
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[0] == 0:
        raise InvalidArgumentError(
            f"{arg} must have shape (N, height, width, 3) with N >= 1 and RGB channels last. "
            f"Received: {arg}.shape={images.shape}"
        )
    if images.dtype != np.uint8:
        numeric = np.issubdtype(images.dtype, np.integer) or np.issubdtype(
            images.dtype, np.floating
        )
        if not numeric:
            raise InvalidTypeError(
                f"{arg} must be uint8 or float pixels in 0-255. Received: dtype={images.dtype}"
            )
        finite = bool(np.isfinite(images).all())
        if not (finite and images.min() >= 0 and images.max() <= 255):
            raise InvalidArgumentError(
                f"{arg} must hold raw pixels in 0-255 (the model applies its own preprocessing). "
                f"Received: min={images.min()}, max={images.max()}"
            )
    return images


def check_labels(labels: Any, num_images: int, num_classes: int, arg: str) -> np.ndarray:
    """Validates integer labels (N,) or (N, 1) in [0, num_classes)."""
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.shape != (num_images,) or not np.issubdtype(labels.dtype, np.integer):
        raise InvalidArgumentError(
            f"{arg} must be {num_images} integer class indices, shape ({num_images},). "
            f"Received: shape={labels.shape}, dtype={labels.dtype}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise InvalidArgumentError(
            f"{arg} must lie in [0, {num_classes}). "
            f"Received: min={labels.min()}, max={labels.max()}"
        )
    return labels.astype(np.int64)


class _DivergenceGuard(keras.callbacks.Callback):
    """Stops at the end of an epoch whose loss is NaN or infinite (checked per epoch, so the
    accelerator is never synchronised per batch)."""

    def __init__(self) -> None:
        super().__init__()
        self.bad_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_epoch = epoch + 1
            self.model._zoo_diverged = True
            self.model.stop_training = True


class _SelectOnValidation(keras.callbacks.Callback):
    """Early stopping and a best-only checkpoint on validation accuracy (article 004).

    Keras's ``EarlyStopping`` and ``ModelCheckpoint`` forget their counts when a run resumes
    and would save the training wrapper; this one replays the accuracies of the completed
    epochs and saves the user's model.
    """

    def __init__(
        self,
        patience: int,
        previous: Sequence[float],
        best_path: Path | None,
        model_to_save: keras.Model,
    ) -> None:
        super().__init__()
        self.patience = patience
        self.best_path = best_path
        self.model_to_save = model_to_save
        self.best = -math.inf
        self.wait = 0
        for value in previous:
            self._update(value)

    def _update(self, value: float) -> bool:
        if math.isfinite(value) and value > self.best:
            self.best, self.wait = value, 0
            return True
        self.wait += 1
        return False

    @property
    def exhausted(self) -> bool:
        return self.wait >= self.patience

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        value = (logs or {}).get("val_accuracy")
        if value is None or getattr(self.model, "_zoo_diverged", False):
            return
        if self._update(float(value)) and self.best_path is not None:
            atomic_write(self.best_path, self.model_to_save.save)
        if self.exhausted:
            self.model.stop_training = True


def _resolve_distribution(distribution: Any) -> Any:
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise InvalidArgumentError(
            "Multi-device training needs the JAX or TensorFlow backend. "
            f"Received: distribution={distribution!r} on backend {backend!r}"
        )
    if isinstance(distribution, str):
        if distribution != DATA_PARALLEL:
            raise InvalidArgumentError(
                f"distribution must be {DATA_PARALLEL!r}, a keras.distribution.Distribution "
                "(JAX) or a tf.distribute.Strategy (TensorFlow). "
                f"Received: distribution={distribution!r}"
            )
        if backend == "jax":
            return keras.distribution.DataParallel()
        import tensorflow as tf

        # Every GPU, or every logical CPU device when there is no GPU.
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        return tf.distribute.MirroredStrategy([d.name for d in devices])
    if not callable(getattr(distribution, "scope", None)):
        raise InvalidTypeError(
            f"distribution must be {DATA_PARALLEL!r} or an object with a scope() method "
            "(keras.distribution.DataParallel, tf.distribute.MirroredStrategy). "
            f"Received: distribution={distribution!r}"
        )
    return distribution


@contextlib.contextmanager
def distribution_scope(distribution: Any) -> Iterator[Any]:
    """Runs model building, compiling and fitting on several devices.

    ``"data_parallel"`` uses every visible device: ``keras.distribution.DataParallel`` on JAX,
    ``tf.distribute.MirroredStrategy`` on TensorFlow (every GPU, else every logical CPU). A
    ready-made distribution or strategy object is used as it is. Yields the distribution or
    strategy in use (None without one).
    """
    if distribution is None:
        yield None
        return
    resolved = _resolve_distribution(distribution)
    with resolved.scope():
        yield resolved


def _batch_shards(distribution: Any) -> int:
    """How many devices each batch is split over (1 without a distribution)."""
    replicas = getattr(distribution, "num_replicas_in_sync", None)  # tf.distribute
    if replicas:
        return int(replicas)
    mesh = getattr(distribution, "device_mesh", None)  # keras.distribution
    axis = getattr(distribution, "batch_dim_name", None)
    if mesh is None or axis is None:
        return 1
    return int(mesh.shape[list(mesh.axis_names).index(axis)])


def _trim_for_shards(
    split: tuple[np.ndarray, np.ndarray], batch_size: int, shards: int, arg: str
) -> tuple[np.ndarray, np.ndarray]:
    """Drops the few last images that would leave a final batch not divisible by ``shards``
    (JAX cannot split such a batch over the devices; MirroredStrategy fails on some, such as
    a last batch of one image on two devices)."""
    images, labels = split
    drop = (len(images) % batch_size) % shards
    if drop:
        if drop == len(images):
            raise InvalidArgumentError(
                f"{arg} holds {len(images)} images, fewer than the {shards} devices it is split "
                f"over. Received: {arg}[0].shape={images.shape}"
            )
        logger.warning(
            "Leaving out the last %d of %d images of %s: with batch size %d the last batch "
            "must split evenly over %d devices.",
            drop,
            len(images),
            arg,
            batch_size,
            shards,
        )
        images, labels = images[:-drop], labels[:-drop]
    return images, labels


def _load_history(path: Path) -> dict[str, list[float]]:
    if not path.is_file():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f))
    columns = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    # CSVLogger writes "NA" for a metric an epoch did not log
    return {k: [float(r[k]) if r[k] not in ("", "NA") else math.nan for r in rows] for k in columns}


def _truncate_csv(path: Path, epochs: int) -> None:
    """Keeps the header and the rows of the first ``epochs`` epochs (a killed run may have
    logged an epoch it did not checkpoint)."""
    if not path.is_file():
        return
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows or "epoch" not in rows[0]:
        return
    column = rows[0].index("epoch")
    kept = [rows[0]] + [
        r for r in rows[1:] if r and r[column].isdigit() and int(r[column]) < epochs
    ]
    if len(kept) == len(rows):
        return

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="") as f:
            csv.writer(f).writerows(kept)

    atomic_write(path, write)


def _merge_history(
    previous: dict[str, list[float]], new: dict[str, list[float]], done: int
) -> dict[str, list[float]]:
    """Joins the metrics of ``done`` earlier epochs with this run's, key by key."""
    ran = max((len(v) for v in new.values()), default=0)
    return {
        key: list(previous.get(key, [math.nan] * done)) + list(new.get(key, [math.nan] * ran))
        for key in sorted(set(previous) | set(new))
    }


def _resolve_recipe(recipe: Any, zoo_name: str) -> Recipe:
    if recipe is None:
        return get_recipe(zoo_name)
    if isinstance(recipe, str):
        return get_recipe(recipe)
    if isinstance(recipe, Recipe):
        return recipe
    raise InvalidTypeError(
        "recipe must be a recipe name (see list_recipes()) or a Recipe. "
        f"Received: recipe={recipe!r}"
    )


def fit_cifar10(
    model_or_name: keras.Model | str,
    *,
    recipe: str | Recipe | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    data: tuple[Any, Any] | None = None,
    validation_data: tuple[Any, Any] | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    checkpoint_dir: str | os.PathLike | None = None,
    seed: int | None = None,
    verbose: str | int = "auto",
    preprocessing: Preprocessing | None = None,
    csv_log: str | os.PathLike | None = None,
    tensorboard_dir: str | os.PathLike | None = None,
    distribution: Any = None,
    steps_per_execution: int = 1,
    data_dir: str | os.PathLike | None = None,
) -> keras.callbacks.History:
    """Trains a model on CIFAR-10 with its documented preprocessing and recipe.

    Augmentation and preprocessing run inside the compiled training step as Keras layers, on
    any backend, so they never starve an accelerator; they are off at inference.

    Args:
        model_or_name: A zoo model name (built here, with the recipe's initial weights) or a
            ``keras.Model`` taking (N, 32, 32, 3) images.
        recipe: A recipe name or :class:`Recipe`; default: the model's ``default_recipe``.
        epochs: Override the recipe's epochs (schedules keep their epoch boundaries).
        batch_size: Override the recipe's batch size.
        data: ``(x_train, y_train)``: raw uint8/float images and integer labels; default: the
            50,000 CIFAR-10 training images from :func:`load_cifar10`.
        validation_data: ``(x_val, y_val)`` to report on after each epoch; never used to stop or
            select unless the recipe asks for it (article 004, which uses the test set).
        callbacks: Extra Keras callbacks.
        checkpoint_dir: Write ``model.keras`` and the training state every epoch; if the folder
            holds an unfinished run of the same recipe, resume from its last completed epoch
            (a finished run is returned as it is, without training).
        seed: Seeds Python, NumPy and the backend for a repeatable run.
        verbose: Keras ``fit`` verbosity (progress bar with ``"auto"`` or 1).
        preprocessing: For a model without a ``preprocessing`` layer that is not named after
            a zoo model.
        csv_log: Write per-epoch metrics as CSV (default ``checkpoint_dir/history.csv``).
        tensorboard_dir: Write TensorBoard logs there.
        distribution: ``"data_parallel"`` or a ``keras.distribution`` / ``tf.distribute``
            object; needs ``model_or_name`` to be a name, since variables must be created in
            its scope. The batch size must be a multiple of the device count, and up to
            (devices - 1) images that would leave an uneven last batch are left out.
        steps_per_execution: Training steps per compiled call (larger amortises host overhead
            on accelerators).
        data_dir: Where :func:`load_cifar10` looks first.

    Returns:
        The Keras ``History`` of the whole run (a resumed run's earlier epochs included);
        ``history.model`` is the trained zoo model, ``history.params`` also holds ``recipe``
        and, for recipes that select on the test set, ``model_selection`` saying so.

    Raises:
        TrainingDivergedError: If the loss becomes NaN or infinite (the last good epoch stays
            in ``checkpoint_dir``; the error's ``history`` attribute holds the metrics).
        InvalidArgumentError: For bad data, labels, recipe or arguments, or a
            ``checkpoint_dir`` holding a run with other settings.
        UnknownModelError: If ``model_or_name`` is not a registered name.
        UnknownRecipeError: If ``recipe`` is not a registered name.

    Example:
        >>> history = fit_cifar10("resnet20_v1", epochs=1, checkpoint_dir="runs/r20")
    """
    if isinstance(model_or_name, str):
        from keras_cifar_zoo.registry import model_info

        zoo_name = model_info(model_or_name).name  # an unknown name fails here, with suggestions
    elif isinstance(model_or_name, keras.Model):
        zoo_name = model_or_name.name
        if distribution is not None:
            raise InvalidArgumentError(
                "distribution needs a model name, so that the model's variables are created "
                "on every device. Pass the name instead of a built model. "
                f"Received: model_or_name=<keras.Model {zoo_name!r}>"
            )
    else:
        raise InvalidTypeError(
            f"model_or_name must be a zoo model name or a keras.Model. "
            f"Received: model_or_name={model_or_name!r}"
        )
    recipe = _resolve_recipe(recipe, zoo_name)
    epochs = recipe.epochs if epochs is None else epochs
    batch_size = recipe.batch_size if batch_size is None else batch_size
    for arg, value in (
        ("epochs", epochs),
        ("batch_size", batch_size),
        ("steps_per_execution", steps_per_execution),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(
                f"{arg} must be a positive integer. Received: {arg}={value!r}"
            )
    if not isinstance(callbacks, (list, tuple)) or not all(
        isinstance(c, keras.callbacks.Callback) for c in callbacks
    ):
        raise InvalidTypeError(
            "callbacks must be a list of keras.callbacks.Callback objects. "
            f"Received: callbacks={callbacks!r}"
        )

    if tensorboard_dir is not None and importlib.util.find_spec("tensorboard") is None:
        raise InvalidArgumentError(
            "tensorboard_dir needs the tensorboard package: pip install tensorboard, or leave "
            f"tensorboard_dir out. Received: tensorboard_dir={str(tensorboard_dir)!r}"
        )

    if seed is not None:
        keras.utils.set_random_seed(seed)
    selects_on_test_set = recipe.validation_is_test_set and validation_data is None
    if data is None or selects_on_test_set:
        from keras_cifar_zoo.data import load_cifar10

        train_split, test_split = load_cifar10(data_dir)
        data = train_split if data is None else data
        if selects_on_test_set:
            validation_data = test_split
    x = _check_pair(data, "data")
    x_val = None if validation_data is None else _check_pair(validation_data, "validation_data")

    with distribution_scope(distribution) as resolved:
        if isinstance(model_or_name, str):
            from keras_cifar_zoo.registry import load_model

            model = load_model(model_or_name, weights=recipe.initial_weights)
        else:
            model = model_or_name
            if recipe.initial_weights:
                logger.warning(
                    "Recipe %s starts from %s weights; the given model is used as it is.",
                    recipe.name,
                    recipe.initial_weights,
                )
        extra = resolve_preprocessing(model, preprocessing)
        num_classes = int(model.output_shape[-1])
        check_image_size(model, x, "data")
        y = check_labels(data[1], len(x), num_classes, "data[1]")
        val = None
        if x_val is not None:
            check_image_size(model, x_val, "validation_data")
            val = (
                x_val,
                check_labels(validation_data[1], len(x_val), num_classes, "validation_data[1]"),
            )
        shards = _batch_shards(resolved)
        if shards > 1:
            if batch_size % shards:
                raise InvalidArgumentError(
                    f"batch_size must be a multiple of the {shards} devices each batch is split "
                    f"over. Received: batch_size={batch_size}"
                )
            x, y = _trim_for_shards((x, y), batch_size, shards, "data")
            if val is not None:
                val = _trim_for_shards(val, batch_size, shards, "validation_data")
        if val is not None:
            val = (val[0], keras.utils.to_categorical(val[1], num_classes))

        inputs = keras.Input(shape=x.shape[1:], name="images")
        h = inputs
        for layer in augmentation_layers(recipe.augmentation, seed):
            h = layer(h)
        if extra is not None:
            h = extra.layer()(h)
        train_model = keras.Model(inputs, model(h), name=f"{model.name}_training")
        steps_per_epoch = math.ceil(len(x) / batch_size)
        optimizer = getattr(keras.optimizers, recipe.optimizer)(
            learning_rate=RecipeSchedule.from_recipe(
                recipe.schedule, steps_per_epoch=steps_per_epoch, epochs=epochs
            ),
            **recipe.optimizer_config,
        )
        train_model.compile(
            optimizer=optimizer,
            loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
            metrics=["accuracy"],
            steps_per_execution=steps_per_execution,
        )

        initial_epoch = 0
        finished = False
        previous: dict[str, list[float]] = {}
        if checkpoint_dir is not None:
            directory = Path(checkpoint_dir)
            directory.mkdir(parents=True, exist_ok=True)
            csv_log = directory / "history.csv" if csv_log is None else csv_log
            run_info = {
                "model": model.name,
                "recipe": recipe.name,
                "epochs": epochs,
                "batch_size": batch_size,
                "train_images": len(x),
            }
            state = read_state(directory)
            if state is not None:
                # keys an older state file lacks are not compared
                differ = [k for k in run_info if k in state and state[k] != run_info[k]]
                if differ:
                    there = ", ".join(f"{k}={state[k]!r}" for k in differ)
                    here = ", ".join(f"{k}={run_info[k]!r}" for k in differ)
                    raise InvalidArgumentError(
                        f"{directory} holds a run with other settings ({there}); resume it with "
                        "the same settings or pass another checkpoint_dir. "
                        f"Received: {here}"
                    )
                initial_epoch = restore_state(train_model, directory, state)
                finished = bool(state.get("finished"))
                previous = state.get("history") or (
                    _load_history(Path(csv_log)) if csv_log is not None else {}
                )
                previous = {
                    k: list(v[:initial_epoch]) + [math.nan] * (initial_epoch - len(v))
                    for k, v in previous.items()
                }

        guard = _DivergenceGuard()
        all_callbacks: list[keras.callbacks.Callback] = [guard]
        if recipe.early_stopping_patience is not None and val is not None:
            selection = _SelectOnValidation(
                recipe.early_stopping_patience,
                previous.get("val_accuracy", []),
                None if checkpoint_dir is None else Path(checkpoint_dir) / BEST_FILE,
                model,
            )
            finished = finished or (initial_epoch > 0 and selection.exhausted)
            all_callbacks.append(selection)
        all_callbacks.extend(callbacks)
        if csv_log is not None:
            if initial_epoch:
                _truncate_csv(Path(csv_log), initial_epoch)
            all_callbacks.append(keras.callbacks.CSVLogger(str(csv_log), append=initial_epoch > 0))
        if checkpoint_dir is not None:
            # after the CSV log: an epoch is logged before it counts as completed
            all_callbacks.append(EpochCheckpoint(Path(checkpoint_dir), model, run_info, previous))
        if tensorboard_dir is not None:
            all_callbacks.append(keras.callbacks.TensorBoard(str(tensorboard_dir)))
        if finished:
            logger.info("%s holds a finished run; returning it without training", checkpoint_dir)
            initial_epoch = epochs
        elif initial_epoch:
            logger.info(
                "Resuming %s from %s after epoch %d of %d",
                model.name,
                checkpoint_dir,
                initial_epoch,
                epochs,
            )

        history = train_model.fit(
            x,
            keras.utils.to_categorical(y, num_classes),
            batch_size=batch_size,
            epochs=epochs,
            initial_epoch=initial_epoch,
            validation_data=val,
            callbacks=all_callbacks,
            verbose=verbose,
        )
    if previous:
        done = len(next(iter(previous.values())))
        history.history = _merge_history(previous, history.history, done)
        history.epoch = list(range(max((len(v) for v in history.history.values()), default=0)))
    history.params["recipe"] = recipe.name
    if selects_on_test_set:
        history.params["model_selection"] = TEST_SET_NOTE.format(recipe=recipe.name)
    history.set_model(model)  # the zoo model, not the training wrapper
    if guard.bad_epoch is not None:
        error = TrainingDivergedError(
            f"Training {model.name} diverged: the loss was not finite in epoch {guard.bad_epoch}. "
            "Lower the learning rate or batch size, or check the data; the last good epoch is "
            "kept in checkpoint_dir (rerun with the same checkpoint_dir to resume from it). "
            f"Received: recipe={recipe.name!r}"
        )
        error.history = history
        raise error
    return history


def _check_pair(split: Any, arg: str) -> np.ndarray:
    """Checks that ``split`` is (images, labels) and returns the validated images."""
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise InvalidTypeError(
            f"{arg} must be a pair (images, labels). Received: type={type(split).__name__}"
        )
    return check_images(split[0], f"{arg}[0]")


def check_image_size(model: keras.Model, images: np.ndarray, arg: str) -> None:
    """Checks that the images' height and width are those the model takes."""
    expected = tuple(model.input_shape[1:3])
    if None not in expected and images.shape[1:3] != expected:
        raise InvalidArgumentError(
            f"{arg}[0] holds {images.shape[1]}x{images.shape[2]} images but {model.name!r} takes "
            f"{expected[0]}x{expected[1]}; resize the images or build the model with "
            f"input_shape=. Received: {arg}[0].shape={images.shape}"
        )
