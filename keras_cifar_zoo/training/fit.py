"""``fit_cifar10``: train a zoo model with its documented preprocessing and recipe."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.data import DATASETS, check_dataset, load_dataset
from keras_cifar_zoo.errors import (
    InvalidArgumentError,
    InvalidTypeError,
    TrainingDivergedError,
)
from keras_cifar_zoo.models.spec import CLASSIFIER_LAYERS
from keras_cifar_zoo.preprocessing import Preprocessing
from keras_cifar_zoo.registry import list_models
from keras_cifar_zoo.training.augment import RandomAugment
from keras_cifar_zoo.training.callbacks import (
    DivergenceGuard,
    EpochBatches,
    EpochRandomness,
    FreezeAfterEpochs,
    LookaheadAveraging,
    SelectOnValidation,
    tf_batches,
)
from keras_cifar_zoo.training.checkpoints import (
    BEST_FILE,
    EpochCheckpoint,
    hold_folder,
    saved_epochs,
)
from keras_cifar_zoo.training.distribution import (
    batch_shards,
    distribution_scope,
    trim_for_shards,
)
from keras_cifar_zoo.training.inputs import (
    check_allow_unit_range,
    check_classifier,
    check_dataset_classes,
    check_image_size,
    check_labels,
    check_pair,
    outputs_logits,
    resolve_preprocessing,
)
from keras_cifar_zoo.training.recipes import Augmentation, Recipe, get_recipe, list_recipes
from keras_cifar_zoo.training.run_state import RunStart, merge_history, open_run
from keras_cifar_zoo.training.schedules import RecipeSchedule

logger = logging.getLogger(__name__)

TEST_SET_NOTE = (
    "Validation data is the CIFAR-10 TEST set and early stopping / best checkpoint monitor "
    "it, as recipe {recipe} (article 004) does: accuracies of this run are selected on test data."
)
VERBOSE_VALUES = ("auto", 0, 1, 2)


def fit(
    model_or_name: keras.Model | str,
    *,
    dataset: str = "cifar10",
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
    allow_unit_range: bool = False,
) -> keras.callbacks.History:
    """Trains a model on CIFAR-10 or CIFAR-100 with its documented preprocessing and recipe.

    ``fit_cifar10`` is the same function under its original name.

    Augmentation and preprocessing run inside the compiled training step as Keras layers, on
    any backend, so they never starve an accelerator; they are off at inference. Each epoch's
    randomness (batch order, augmentation, dropout) is drawn from the seed and the epoch
    number alone, so a run resumed from ``checkpoint_dir`` ends with the weights an
    uninterrupted run with the same seed ends with.

    Args:
        model_or_name: A zoo model name (built here for the dataset's classes, with the
            recipe's initial weights: a recipe starting from ``"cifar10"`` weights fine-tunes)
            or a ``keras.Model`` taking (N, 32, 32, 3) images and returning class
            probabilities.
        dataset: ``"cifar10"`` or ``"cifar100"`` (fine labels): the data trained on when
            ``data`` is left out, and the test set a recipe validating on it uses.
        recipe: A recipe name or :class:`Recipe`; default: the model's ``default_recipe``.
        epochs: Override the recipe's epochs (schedules keep their epoch boundaries).
        batch_size: Override the recipe's batch size.
        data: ``(x_train, y_train)``: raw uint8/float images and integer labels; default: the
            50,000 training images of ``dataset`` (:func:`load_cifar10`,
            :func:`load_cifar100`).
        validation_data: ``(x_val, y_val)`` to report on after each epoch; never used to stop or
            select unless the recipe asks for it (article 004, which uses the test set).
        callbacks: Extra Keras callbacks.
        checkpoint_dir: Write ``model.keras`` and the training state every epoch; if the folder
            holds an unfinished run with the same settings (model, recipe and its settings,
            epochs, batch size, seed, training data), resume from its last completed epoch
            (a finished run is returned as it is, without training). One run at a time
            writes to a folder: it holds the folder's ``.lock`` (released when its process
            ends, even killed) until it returns. Its ``state.json`` also adds up the wall
            time of every completed epoch, over every call.
        seed: Seeds Python, NumPy and the backend for a repeatable run; an integer in
            [0, 2**32).
        verbose: Keras ``fit`` verbosity: ``"auto"``, 0 (silent), 1 (progress bar) or 2 (one
            line per epoch).
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
        data_dir: Where :func:`load_cifar10` (or :func:`load_cifar100`) looks first.
        allow_unit_range: Accept float images whose values all lie in [0, 1] (refused by
            default: models take raw 0-255 pixels, so such images are almost always scaled
            by mistake). Applies to ``data`` and ``validation_data``.

    Returns:
        The Keras ``History`` of the whole run (a resumed run's earlier epochs included);
        ``history.model`` is the trained zoo model, ``history.params`` also holds ``recipe``,
        ``train_images`` (the number of training images used) and, for recipes that select
        on the test set, ``model_selection`` saying so.

    Raises:
        TrainingDivergedError: If the loss or the weights become NaN or infinite (the error
            says whether ``checkpoint_dir`` keeps a good epoch; its ``history`` attribute
            holds the metrics). Such weights are never saved.
        PixelRangeError: For float images all in [0, 1] without ``allow_unit_range=True``.
        ModelOutputError: If the model does not output (N, num_classes) probabilities, or
            not 10 of them when it trains or validates on CIFAR-10 itself.
        CheckpointWriteError: If ``checkpoint_dir`` cannot be written (disk full, read-only);
            the last completed epoch there stays intact.
        CheckpointBusyError: If another run is writing to ``checkpoint_dir`` (before any data
            is loaded).
        CorruptCheckpointError: If ``checkpoint_dir`` holds a damaged checkpoint.
        InvalidArgumentError: For bad data, labels, recipe or arguments, or a
            ``checkpoint_dir`` holding a run with other settings (an ``InvalidTypeError``
            for an argument of the wrong type).
        UnknownModelError: If ``model_or_name`` is not a registered name.
        UnknownRecipeError: If ``recipe`` is not a registered name.

    Example:
        >>> history = fit_cifar10("resnet20_v1", epochs=1, checkpoint_dir="runs/r20")
    """
    # Check the inputs and resolve the recipe: a typo fails before any data is loaded.
    zoo_name = _zoo_name(model_or_name, distribution)
    dataset = check_dataset(dataset)
    recipe = _resolve_recipe(recipe, zoo_name)
    epochs = recipe.epochs if epochs is None else epochs
    batch_size = recipe.batch_size if batch_size is None else batch_size
    _check_arguments(
        epochs=epochs,
        batch_size=batch_size,
        steps_per_execution=steps_per_execution,
        callbacks=callbacks,
        seed=seed,
        verbose=verbose,
        checkpoint_dir=checkpoint_dir,
        csv_log=csv_log,
        tensorboard_dir=tensorboard_dir,
        allow_unit_range=allow_unit_range,
    )
    # One writer per folder, held from before its state is read until the last epoch is
    # saved: a second run is refused before it loads any data.
    held = contextlib.nullcontext() if checkpoint_dir is None else hold_folder(Path(checkpoint_dir))
    with held, distribution_scope(distribution) as resolved:
        if seed is not None:
            keras.utils.set_random_seed(seed)
        splits = _load_splits(recipe, data, validation_data, data_dir, allow_unit_range, dataset)
        # Build and compile: the model, wrapped with augmentation and any preprocessing.
        model = _zoo_model(model_or_name, recipe, DATASETS[dataset][1])
        train_model, num_classes = _training_model(model, recipe, preprocessing, splits, seed)
        frozen = _frozen_variables(train_model, recipe, model.name)
        x, y, val = _labelled_arrays(splits, num_classes, batch_size, batch_shards(resolved))
        _compile(train_model, recipe, math.ceil(len(x) / batch_size), epochs, steps_per_execution)
        # Start fresh or resume: the folder's state restores the weights and optimizer.
        run = open_run(
            checkpoint_dir=checkpoint_dir,
            csv_log=csv_log,
            train_model=train_model,
            model_name=model.name,
            recipe=recipe,
            epochs=epochs,
            batch_size=batch_size,
            x=x,
            y=y,
            seed=seed,
        )
        # Train, then finish: the whole run's history, or an error if it diverged.
        history, guard = _train(
            train_model,
            model,
            run,
            recipe,
            (x, keras.utils.to_categorical(y, num_classes)),
            val,
            epochs=epochs,
            batch_size=batch_size,
            callbacks=callbacks,
            seed=seed,
            verbose=verbose,
            tensorboard_dir=tensorboard_dir,
            frozen=frozen,
        )
    return _finish(history, run, recipe, model, guard, splits.selects_on_test_set, len(x))


def _zoo_name(model_or_name: Any, distribution: Any) -> str:
    """The name the default recipe is looked up by; a built model cannot be distributed, as
    its variables already live on one device."""
    if isinstance(model_or_name, str):
        from keras_cifar_zoo.zoo import model_info

        return model_info(model_or_name).name  # an unknown name fails here, with suggestions
    if isinstance(model_or_name, keras.Model):
        if distribution is not None:
            raise InvalidArgumentError(
                "distribution needs a model name, so that the model's variables are created "
                "on every device. Pass the name instead of a built model. "
                f"Received: model_or_name=<keras.Model {model_or_name.name!r}>"
            )
        return model_or_name.name
    raise InvalidTypeError(
        f"model_or_name must be a zoo model name or a keras.Model. "
        f"Received: model_or_name={model_or_name!r}"
    )


def _resolve_recipe(recipe: Any, zoo_name: str) -> Recipe:
    """The recipe to train with; a model not named after a zoo model has no default one
    (its architecture, and so its fitting optimizer and schedule, are unknown)."""
    if recipe is None:
        if zoo_name not in list_models():
            raise InvalidArgumentError(
                f"Model {zoo_name!r} is not a zoo model, so it has no default recipe: pass "
                f"recipe= one of {', '.join(list_recipes())} (or a Recipe). "
                f"Received: model.name={zoo_name!r}, recipe=None"
            )
        return get_recipe(zoo_name)
    if isinstance(recipe, str):
        return get_recipe(recipe)
    if isinstance(recipe, Recipe):
        return recipe
    raise InvalidTypeError(
        "recipe must be a recipe name (see list_recipes()) or a Recipe. "
        f"Received: recipe={recipe!r}"
    )


def _check_arguments(
    *,
    epochs: Any,
    batch_size: Any,
    steps_per_execution: Any,
    callbacks: Any,
    seed: Any,
    verbose: Any,
    checkpoint_dir: Any,
    csv_log: Any,
    tensorboard_dir: Any,
    allow_unit_range: Any,
) -> None:
    """Checks the scalar arguments before any data is loaded or model built, so a typo fails
    in a second rather than after minutes of setup."""
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
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InvalidTypeError(
            f"seed must be None or an integer in [0, 2**32). Received: seed={seed!r}"
        )
    if seed is not None and not 0 <= seed < 2**32:
        raise InvalidArgumentError(
            f"seed must be None or an integer in [0, 2**32). Received: seed={seed!r}"
        )
    if isinstance(verbose, bool) or verbose not in VERBOSE_VALUES:
        raise InvalidArgumentError(
            "verbose must be 'auto', 0 (silent), 1 (progress bar) or 2 (one line per epoch). "
            f"Received: verbose={verbose!r}"
        )
    for arg, value in (
        ("checkpoint_dir", checkpoint_dir),
        ("csv_log", csv_log),
        ("tensorboard_dir", tensorboard_dir),
    ):
        _check_path(value, arg)
    check_allow_unit_range(allow_unit_range)
    if tensorboard_dir is not None and importlib.util.find_spec("tensorboard") is None:
        raise InvalidArgumentError(
            "tensorboard_dir needs the tensorboard package: pip install tensorboard, or leave "
            f"tensorboard_dir out. Received: tensorboard_dir={str(tensorboard_dir)!r}"
        )


@dataclasses.dataclass(frozen=True)
class _Splits:
    """The checked training and validation images, with their labels as given: labels are
    checked once the model's class count is known.

    Attributes:
        trains_on: The dataset whose own training set this is (the model needs its number
            of classes), or None for data given by the caller.
        tested_on: The dataset whose test set the recipe validates on, loaded here, or None.
    """

    x: np.ndarray
    labels: Any
    x_val: np.ndarray | None
    val_labels: Any
    trains_on: str | None
    tested_on: str | None

    @property
    def selects_on_test_set(self) -> bool:
        return self.tested_on is not None


def _load_splits(
    recipe: Recipe,
    data: Any,
    validation_data: Any,
    data_dir: str | os.PathLike | None,
    allow_unit_range: bool,
    dataset: str,
) -> _Splits:
    """Loads the dataset where ``data`` is left out or the recipe validates on its test set,
    and checks the images before any model is built."""
    selects_on_test_set = recipe.validation_is_test_set and validation_data is None
    own = dataset if data is None else None
    if data is None or selects_on_test_set:
        train_split, test_split = load_dataset(dataset, data_dir)
        data = train_split if data is None else data
        if selects_on_test_set:
            validation_data = test_split
    x = check_pair(data, "data", allow_unit_range)
    if validation_data is None:
        return _Splits(x, data[1], None, None, own, dataset if selects_on_test_set else None)
    x_val = check_pair(validation_data, "validation_data", allow_unit_range)
    tested_on = dataset if selects_on_test_set else None
    return _Splits(x, data[1], x_val, validation_data[1], own, tested_on)


def _zoo_model(model_or_name: keras.Model | str, recipe: Recipe, num_classes: int) -> keras.Model:
    """Builds a named model for ``num_classes`` with the recipe's initial weights (inside the
    distribution scope, so its variables are created on every device), its base frozen when
    the recipe says so; a given model is used as it is."""
    if isinstance(model_or_name, str):
        from keras_cifar_zoo.zoo import load_model

        model = load_model(model_or_name, weights=recipe.initial_weights, num_classes=num_classes)
        if recipe.freeze_base:
            for layer in model.layers:
                layer.trainable = layer.name in CLASSIFIER_LAYERS
        return model
    if recipe.freeze_base:
        logger.warning(
            "Recipe %s freezes the base of the zoo model it builds; the given model is "
            "trained as it is (set layer.trainable yourself).",
            recipe.name,
        )
    if recipe.initial_weights:
        logger.warning(
            "Recipe %s starts from %s weights; the given model is used as it is.",
            recipe.name,
            recipe.initial_weights,
        )
    return model_or_name


def _training_model(
    model: keras.Model,
    recipe: Recipe,
    preprocessing: Preprocessing | None,
    splits: _Splits,
    seed: int | None,
) -> tuple[keras.Model, int]:
    """Wraps ``model`` with the recipe's augmentation and any preprocessing it lacks, so both
    run inside the compiled step and the saved model stays the user's; returns the wrapper
    and the model's class count."""
    extra = resolve_preprocessing(model, preprocessing)
    check_image_size(model, splits.x, "data")
    if splits.x_val is not None:
        check_image_size(model, splits.x_val, "validation_data")
    from keras_cifar_zoo.models import prepare_for_training  # airbench94's whitening filters

    prepare_for_training(model, splits.x, extra)
    inputs = keras.Input(shape=splits.x.shape[1:], name="images")
    h = inputs
    for layer in augmentation_layers(recipe.augmentation, seed):
        h = layer(h)
    if extra is not None:
        h = extra.layer()(h)
    train_model = keras.Model(inputs, model(h), name=f"{model.name}_training")
    num_classes = check_classifier(model, train_model.output_shape)
    if splits.trains_on is not None:
        check_dataset_classes(model, num_classes, "data", splits.trains_on)
    if splits.tested_on is not None:
        check_dataset_classes(model, num_classes, "validation_data", splits.tested_on)
    return train_model, num_classes


def _frozen_variables(
    train_model: keras.Model, recipe: Recipe, model_name: str
) -> list[tuple[keras.Variable, int]]:
    """The variables a recipe's ``freeze_after_epochs`` names, each with its epoch count;
    a path the model lacks is refused before anything is trained or written."""
    if not recipe.freeze_after_epochs:
        return []
    by_path = {v.path: v for v in train_model.trainable_weights}
    missing = sorted(set(recipe.freeze_after_epochs) - set(by_path))
    if missing:
        raise InvalidArgumentError(
            f"Recipe {recipe.name!r} freezes {', '.join(missing)}, but model {model_name!r} "
            "has no trainable variable at that path. Name variables by their variable.path, "
            f"one of {', '.join(sorted(by_path)[:3])}, ... "
            f"Received: freeze_after_epochs={recipe.freeze_after_epochs!r}"
        )
    return [(by_path[path], after) for path, after in recipe.freeze_after_epochs.items()]


def augmentation_layers(augmentation: Augmentation, seed: int | None = None) -> list[keras.Layer]:
    """Returns the layers applying a recipe's augmentation (random only in training)."""
    if not augmentation.enabled:
        return []
    return [
        RandomAugment(
            # alternating flips are done per image by the batches (EpochBatches)
            horizontal_flip=augmentation.horizontal_flip and not augmentation.alternating_flip,
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


def _labelled_arrays(
    splits: _Splits, num_classes: int, batch_size: int, shards: int
) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """The training images and integer labels, and the validation pair with one-hot labels,
    trimmed so that every batch splits evenly over ``shards`` devices."""
    x = splits.x
    y = check_labels(splits.labels, len(x), num_classes, "data[1]")
    val = None
    if splits.x_val is not None:
        val = (
            splits.x_val,
            check_labels(splits.val_labels, len(splits.x_val), num_classes, "validation_data[1]"),
        )
    if shards > 1:
        if batch_size % shards:
            raise InvalidArgumentError(
                f"batch_size must be a multiple of the {shards} devices each batch is split "
                f"over. Received: batch_size={batch_size}"
            )
        x, y = trim_for_shards((x, y), batch_size, shards, "data")
        if val is not None:
            val = trim_for_shards(val, batch_size, shards, "validation_data")
    if val is not None:
        val = (val[0], keras.utils.to_categorical(val[1], num_classes))
    return x, y, val


def _compile(
    train_model: keras.Model,
    recipe: Recipe,
    steps_per_epoch: int,
    epochs: int,
    steps_per_execution: int,
) -> None:
    """Compiles with the recipe's optimizer, its schedule stepped per batch (so its epoch
    boundaries hold whatever ``epochs`` is) and its label smoothing, the loss taking logits
    from a model that ends in them (``classifier_activation=None``, a new ``Dense`` head)."""
    optimizer = getattr(keras.optimizers, recipe.optimizer)(
        learning_rate=RecipeSchedule.from_recipe(
            recipe.schedule, steps_per_epoch=steps_per_epoch, epochs=epochs
        ),
        **recipe.optimizer_config,
    )
    train_model.compile(
        optimizer=optimizer,
        loss=keras.losses.CategoricalCrossentropy(
            from_logits=outputs_logits(train_model), label_smoothing=recipe.label_smoothing
        ),
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
    )


def _train(
    train_model: keras.Model,
    model: keras.Model,
    run: RunStart,
    recipe: Recipe,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray] | None,
    *,
    epochs: int,
    batch_size: int,
    callbacks: Sequence[keras.callbacks.Callback],
    seed: int | None,
    verbose: str | int,
    tensorboard_dir: str | os.PathLike | None,
    frozen: Sequence[tuple[keras.Variable, int]] = (),
) -> tuple[keras.callbacks.History, DivergenceGuard]:
    """Trains from the run's first epoch not completed (none for a run that already ended),
    each epoch's batches in the order drawn from the run's seed; returns Keras's history of
    this call and the divergence guard that watched it."""
    batches = EpochBatches(
        *train,
        batch_size,
        seed=run.rng_seed,
        alternating_flip=recipe.augmentation.alternating_flip,
    )
    guard = DivergenceGuard()
    selection = _selection_on_validation(recipe, val, run, model)
    recipe_callbacks: list[keras.callbacks.Callback] = []
    if recipe.weight_averaging is not None:
        recipe_callbacks.append(LookaheadAveraging(recipe.weight_averaging, len(batches), epochs))
    if frozen:  # after the averaging, which moves the frozen variables too
        recipe_callbacks.append(FreezeAfterEpochs(frozen))
    all_callbacks = _run_callbacks(
        run, batches, callbacks, guard, selection, recipe_callbacks, model, seed, tensorboard_dir
    )
    history = train_model.fit(
        tf_batches(batches) if keras.backend.backend() == "tensorflow" else batches,
        epochs=epochs,
        initial_epoch=_first_epoch(run, selection, epochs, model.name),
        shuffle=False,  # the batches come in each epoch's own order
        validation_data=val,
        validation_batch_size=batch_size,
        callbacks=all_callbacks,
        verbose=verbose,
    )
    return history, guard


def _selection_on_validation(
    recipe: Recipe,
    val: tuple[np.ndarray, np.ndarray] | None,
    run: RunStart,
    model: keras.Model,
) -> SelectOnValidation | None:
    """Early stopping and best-model saving for a recipe that asks for them (None
    otherwise), primed with the completed epochs' accuracies so a resume keeps its count."""
    if recipe.early_stopping_patience is None or val is None:
        return None
    return SelectOnValidation(
        recipe.early_stopping_patience,
        run.previous.get("val_accuracy", []),
        None if run.directory is None else run.directory / BEST_FILE,
        model,
    )


def _run_callbacks(
    run: RunStart,
    batches: EpochBatches,
    user_callbacks: Sequence[keras.callbacks.Callback],
    guard: DivergenceGuard,
    selection: SelectOnValidation | None,
    recipe_callbacks: Sequence[keras.callbacks.Callback],
    model: keras.Model,
    seed: int | None,
    tensorboard_dir: str | os.PathLike | None,
) -> list[keras.callbacks.Callback]:
    """Every callback of the run, in the order that matters: randomness first, so every
    later callback sees the epoch's seeds; then the recipe's weight averaging and frozen
    variables, so the user's callbacks and the checkpoint see the weights they leave; the divergence
    guard after the user's callbacks and the log, right before anything is saved.

    A resumed run's CSV log loses the rows of epochs logged but never checkpointed.
    """
    all_callbacks: list[keras.callbacks.Callback] = [
        EpochRandomness(run.rng_seed, batches, reseed_globals=seed is not None),
        *recipe_callbacks,
        *user_callbacks,
    ]
    if run.history_log is not None:
        all_callbacks.append(run.history_log.callback(run.initial_epoch))
    all_callbacks.append(guard)
    if selection is not None:
        all_callbacks.append(selection)
    if run.directory is not None:
        all_callbacks.append(
            EpochCheckpoint(run.directory, model, run.run_info, run.previous, run.wall_time_s)
        )
    if tensorboard_dir is not None:
        all_callbacks.append(keras.callbacks.TensorBoard(str(tensorboard_dir)))
    return all_callbacks


def _first_epoch(
    run: RunStart, selection: SelectOnValidation | None, epochs: int, model_name: str
) -> int:
    """The epoch ``fit`` starts at: ``epochs`` for a run that already ended (it is returned
    without training), else the first epoch not completed."""
    exhausted = selection is not None and selection.exhausted
    if run.finished or (run.initial_epoch > 0 and exhausted):
        logger.info("%s holds a finished run; returning it without training", run.directory)
        return epochs
    if run.initial_epoch:
        logger.info(
            "Resuming %s from %s after epoch %d of %d",
            model_name,
            run.directory,
            run.initial_epoch,
            epochs,
        )
    return run.initial_epoch


def _finish(
    history: keras.callbacks.History,
    run: RunStart,
    recipe: Recipe,
    model: keras.Model,
    guard: DivergenceGuard,
    selects_on_test_set: bool,
    train_images: int,
) -> keras.callbacks.History:
    """Returns the history of the whole run, earlier epochs of a resume included, about the
    zoo model rather than the training wrapper, with the number of images it trained on;
    raises if the run diverged."""
    if run.previous:
        done = len(next(iter(run.previous.values())))
        history.history = merge_history(run.previous, history.history, done)
        history.epoch = list(range(max((len(v) for v in history.history.values()), default=0)))
    history.params["recipe"] = recipe.name
    history.params["train_images"] = train_images
    if selects_on_test_set:
        history.params["model_selection"] = TEST_SET_NOTE.format(recipe=recipe.name)
    history.set_model(model)
    if guard.bad_epoch is not None:
        error = _diverged_error(guard, run.directory, model, recipe)
        error.history = history
        raise error
    return history


def _diverged_error(
    guard: DivergenceGuard, directory: Path | None, model: keras.Model, recipe: Recipe
) -> TrainingDivergedError:
    """The error for a diverged run, saying what a rerun can start from."""
    what = "the loss was" if guard.bad_loss else "the weights were"
    fix = "Lower the learning rate or batch size, or check the data"
    if directory is None:
        kept = f"{fix}; nothing was saved (pass checkpoint_dir= to keep each good epoch)"
    elif good := saved_epochs(directory):
        kept = (
            f"{fix}, and train again in another folder (checkpoint_dir=); the last good epoch "
            f"({good}) is kept in checkpoint_dir {directory} (its model.keras, and the "
            "state a rerun resumes from)"
        )
    else:
        kept = (
            f"{fix}, and train again; nothing was saved in {directory}: no epoch ended "
            "with finite weights"
        )
    return TrainingDivergedError(
        f"Training {model.name} diverged: {what} not finite in epoch {guard.bad_epoch}. "
        f"{kept}. Received: recipe={recipe.name!r}"
    )


def _check_path(value: Any, arg: str) -> None:
    """Checks that a path argument is a str or os.PathLike, or None."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise InvalidTypeError(
            f"{arg} must be a path (str or os.PathLike) or None. Received: {arg}={value!r}"
        )


fit_cifar10 = fit
"""The original name of :func:`fit`, training on CIFAR-10 unless told ``dataset=``."""
