"""``fit_cifar10``: train a zoo model with its documented preprocessing and recipe."""

from __future__ import annotations

import contextlib
import csv
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
from keras_cifar_zoo.training.checkpoints import EpochCheckpoint, read_state, restore_state
from keras_cifar_zoo.training.recipes import Augmentation, Recipe, get_recipe
from keras_cifar_zoo.training.schedules import RecipeSchedule

logger = logging.getLogger(__name__)

TEST_SET_NOTE = (
    "Validation data is the CIFAR-10 TEST set and early stopping / best checkpoint monitor "
    "it, as recipe {recipe} (article 004) does: accuracies of this run are selected on test data."
)


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
            seed=seed,
            name="augment",
        )
    ]


def resolve_preprocessing(model: keras.Model, preprocessing: Preprocessing | None) -> Preprocessing | None:
    """Returns the preprocessing a caller must apply before ``model``, or None if the model
    has its ``preprocessing`` layer baked in."""
    if any(layer.name == LAYER_NAME for layer in model.layers):
        if preprocessing is not None:
            raise InvalidArgumentError(
                f"Model {model.name!r} already has a '{LAYER_NAME}' layer; passing preprocessing "
                "as well would apply it twice. Drop the preprocessing argument."
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
        raise InvalidTypeError(f"{arg} must be a NumPy array of images. Received: type={type(images).__name__}")
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise InvalidArgumentError(
            f"{arg} must have shape (N, height, width, 3) with RGB channels last. "
            f"Received: {arg}.shape={images.shape}"
        )
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.number) or np.issubdtype(images.dtype, np.complexfloating):
            raise InvalidTypeError(f"{arg} must be uint8 or float. Received: dtype={images.dtype}")
        if images.size and not (np.isfinite(images).all() and images.min() >= 0 and images.max() <= 255):
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
            f"{arg} must lie in [0, {num_classes}). Received: min={labels.min()}, max={labels.max()}"
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


@contextlib.contextmanager
def distribution_scope(distribution: Any) -> Iterator[None]:
    """Runs model building, compiling and fitting on several devices.

    ``"data_parallel"`` uses every visible device: ``keras.distribution.DataParallel`` on JAX,
    ``tf.distribute.MirroredStrategy`` on TensorFlow. A ready-made distribution or strategy
    object is used as it is.
    """
    if distribution is None:
        yield
        return
    backend = keras.backend.backend()
    if backend == "jax":
        if distribution == "data_parallel":
            distribution = keras.distribution.DataParallel()
        with distribution.scope():
            yield
    elif backend == "tensorflow":
        import tensorflow as tf

        if distribution == "data_parallel":
            distribution = tf.distribute.MirroredStrategy()
        with distribution.scope():
            yield
    else:
        raise InvalidArgumentError(
            f"Multi-device training needs the JAX or TensorFlow backend. "
            f"Received: distribution={distribution!r} on backend {backend!r}"
        )


def _load_history(path: Path) -> dict[str, list[float]]:
    if not path.is_file():
        return {}
    with path.open() as f:
        rows = list(csv.DictReader(f))
    columns = [k for k in (rows[0] if rows else {}) if k != "epoch"]
    # CSVLogger writes "NA" for a metric an epoch did not log
    return {k: [float(r[k]) if r[k] not in ("", "NA") else float("nan") for r in rows] for k in columns}


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
            holds an unfinished run of the same recipe, resume from its last completed epoch.
        seed: Seeds Python, NumPy and the backend for a repeatable run.
        verbose: Keras ``fit`` verbosity (progress bar with ``"auto"`` or 1).
        preprocessing: For a model without a ``preprocessing`` layer that is not named after
            a zoo model.
        csv_log: Write per-epoch metrics as CSV (default ``checkpoint_dir/history.csv``).
        tensorboard_dir: Write TensorBoard logs there.
        distribution: ``"data_parallel"`` or a ``keras.distribution`` / ``tf.distribute``
            object; needs ``model_or_name`` to be a name, since variables must be created in
            its scope.
        steps_per_execution: Training steps per compiled call (larger amortises host overhead
            on accelerators).
        data_dir: Where :func:`load_cifar10` looks first.

    Returns:
        The Keras ``History``; ``history.params`` also holds ``recipe`` and, for recipes that
        select on the test set, ``model_selection`` saying so.

    Raises:
        TrainingDivergedError: If the loss becomes NaN or infinite (the last good epoch stays
            in ``checkpoint_dir``).
        InvalidArgumentError: For bad data, labels, recipe or arguments.

    Example:
        >>> history = fit_cifar10("resnet20_v1", epochs=1, checkpoint_dir="runs/r20")
    """
    if isinstance(model_or_name, str):
        zoo_name = model_or_name
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
    if recipe is None:
        recipe = get_recipe(zoo_name)
    elif isinstance(recipe, str):
        recipe = get_recipe(recipe)
    elif not isinstance(recipe, Recipe):
        raise InvalidTypeError(f"recipe must be a name or a Recipe. Received: recipe={recipe!r}")
    epochs = recipe.epochs if epochs is None else epochs
    batch_size = recipe.batch_size if batch_size is None else batch_size
    for arg, value in (("epochs", epochs), ("batch_size", batch_size), ("steps_per_execution", steps_per_execution)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InvalidArgumentError(f"{arg} must be a positive integer. Received: {arg}={value!r}")

    if seed is not None:
        keras.utils.set_random_seed(seed)
    selects_on_test_set = recipe.validation_is_test_set and validation_data is None
    if data is None or selects_on_test_set:
        from keras_cifar_zoo.data import load_cifar10

        train_split, test_split = load_cifar10(data_dir)
        data = train_split if data is None else data
        if selects_on_test_set:
            validation_data = test_split

    with distribution_scope(distribution):
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
        num_classes = int(model.output_shape[-1])
        x, y = _check_split(data, num_classes, "data")
        val = None
        if validation_data is not None:
            val = _check_split(validation_data, num_classes, "validation_data")
            val = (val[0], keras.utils.to_categorical(val[1], num_classes))

        extra = resolve_preprocessing(model, preprocessing)
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

        guard = _DivergenceGuard()
        all_callbacks: list[keras.callbacks.Callback] = [guard, *callbacks]
        initial_epoch = 0
        previous: dict[str, list[float]] = {}
        if checkpoint_dir is not None:
            directory = Path(checkpoint_dir)
            directory.mkdir(parents=True, exist_ok=True)
            run_info = {"model": model.name, "recipe": recipe.name, "epochs": epochs, "batch_size": batch_size}
            state = read_state(directory)
            if state is not None:
                mismatch = {k: state.get(k) for k in run_info if state.get(k) != run_info[k]}
                if mismatch:
                    raise InvalidArgumentError(
                        f"{directory} holds a run with different settings ({mismatch}); resume "
                        f"with the same ones or use another checkpoint_dir. Received: {run_info}"
                    )
                initial_epoch = restore_state(train_model, directory, state)
                logger.info("Resuming %s from epoch %d of %d", model.name, initial_epoch, epochs)
            all_callbacks.append(EpochCheckpoint(directory, model, run_info))
            csv_log = directory / "history.csv" if csv_log is None else csv_log
        if csv_log is not None:
            if initial_epoch:
                previous = _load_history(Path(csv_log))
            all_callbacks.append(keras.callbacks.CSVLogger(str(csv_log), append=initial_epoch > 0))
        if tensorboard_dir is not None:
            all_callbacks.append(keras.callbacks.TensorBoard(str(tensorboard_dir)))
        if recipe.early_stopping_patience is not None and val is not None:
            all_callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_accuracy", patience=recipe.early_stopping_patience
                )
            )
            if checkpoint_dir is not None:
                all_callbacks.append(
                    keras.callbacks.ModelCheckpoint(
                        str(Path(checkpoint_dir) / "best.keras"),
                        monitor="val_accuracy",
                        save_best_only=True,
                    )
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
    if guard.bad_epoch is not None:
        raise TrainingDivergedError(
            f"Training {model.name} diverged: the loss was not finite in epoch {guard.bad_epoch}. "
            "Lower the learning rate or batch size, or check the data for NaNs; the last good "
            f"epoch is kept in checkpoint_dir. Received: recipe={recipe.name!r}"
        )
    if previous:
        history.history = {k: previous.get(k, []) + v for k, v in history.history.items()}
    history.params["recipe"] = recipe.name
    if selects_on_test_set:
        history.params["model_selection"] = TEST_SET_NOTE.format(recipe=recipe.name)
    history.set_model(model)  # the zoo model, not the training wrapper
    return history


def _check_split(split: Any, num_classes: int, arg: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(split, (tuple, list)) or len(split) != 2:
        raise InvalidTypeError(f"{arg} must be a pair (images, labels). Received: type={type(split).__name__}")
    images = check_images(split[0], f"{arg}[0]")
    labels = check_labels(split[1], len(images), num_classes, f"{arg}[1]")
    return images, labels
