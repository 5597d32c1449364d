"""The callbacks and batches of a ``fit`` run: each epoch's randomness and batch order drawn
from (seed, epoch), the divergence guard, and selection on validation accuracy."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
from keras import ops

from keras_cifar_zoo.training.checkpoints import atomic_write

if TYPE_CHECKING:
    from keras_cifar_zoo.training.recipes import WeightAveraging


def weights_finite(model: keras.Model) -> bool:
    """True if every trainable weight of ``model`` and every float variable of its optimizer
    is finite: one reduction read back as a single value, one device synchronisation.

    Non-trainable weights are left out: BatchNormalization statistics turn non-finite only
    through a non-finite forward pass, which the loss shows, and other layers may keep
    infinities on purpose (a running minimum starts at +inf).
    """
    optimizer_variables = model.optimizer.variables if model.optimizer is not None else []
    flags = [
        ops.all(ops.isfinite(v))
        for v in [*model.trainable_weights, *optimizer_variables]
        if "float" in str(v.dtype)
    ]
    return not flags or bool(ops.convert_to_numpy(ops.all(ops.stack(flags))))


class DivergenceGuard(keras.callbacks.Callback):
    """Stops at the end of an epoch whose loss or weights are NaN or infinite.

    It runs after the user's callbacks and before any save, once per epoch, so the
    accelerator is never synchronised per batch. The loss alone misses an update that breaks
    the weights in the last steps: the loss of a step is measured before its update.
    """

    def __init__(self) -> None:
        super().__init__()
        self.bad_epoch: int | None = None
        self.bad_loss = False

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        loss = (logs or {}).get("loss")
        bad_loss = loss is not None and not math.isfinite(float(loss))
        if bad_loss or not weights_finite(self.model):
            self.bad_epoch, self.bad_loss = epoch + 1, bad_loss
            self.model._zoo_diverged = True
            self.model.stop_training = True


class EpochBatches(keras.utils.PyDataset):
    """Training batches in an order drawn from (seed, epoch) alone.

    With ``alternating_flip`` the batches also carry the recipe's horizontal flips: a random
    half of the images (drawn from the seed) mirrored in even epochs, the other half in odd
    ones. The flip depends on the image, not the batch, so it is done here rather than in
    the model's augmentation layer.

    JAX and torch take it as it is: Keras's pipeline for arrays slices NumPy arrays per batch
    there too. TensorFlow takes :func:`tf_batches`, which gathers in tf.data's threads.
    """

    def __init__(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        seed: int,
        alternating_flip: bool = False,
    ) -> None:
        super().__init__()
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.alternating_flip = alternating_flip
        self.order = np.arange(len(x))
        self.flipped = np.zeros(len(x), dtype=bool)

    def set_epoch(self, epoch: int) -> None:
        self.order = np.random.default_rng([self.seed, epoch, 0]).permutation(len(self.x))
        if self.alternating_flip:
            first = np.random.default_rng([self.seed, 0, 2]).random(len(self.x)) < 0.5
            self.flipped = first ^ bool(epoch % 2)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        picked = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        x = self.x[picked]
        if self.alternating_flip:
            x = np.where(self.flipped[picked, None, None, None], x[:, :, ::-1], x)
        return x, self.y[picked]


def tf_batches(batches: EpochBatches) -> Any:
    """The same batches as a ``tf.data`` pipeline, as Keras builds one for arrays: Python runs
    once per epoch (Keras starts a new iterator after ``on_epoch_begin`` has set the order
    and flips), the gathers run in tf.data's threads."""
    import tensorflow as tf

    count = len(batches.x)
    epochs = tf.data.Dataset.from_generator(
        lambda: iter([(batches.order, batches.flipped)]),
        output_signature=(tf.TensorSpec((count,), tf.int64), tf.TensorSpec((count,), tf.bool)),
    )
    indices = epochs.flat_map(
        lambda order, flipped: (
            tf.data.Dataset.from_tensor_slices(order)
            .batch(batches.batch_size)
            .map(lambda i: (i, tf.gather(flipped, i)))
        )
    )
    arrays = tf.data.Dataset.from_tensors((batches.x, batches.y)).repeat()

    def gather(index: Any, flipped: Any, xy: Any) -> tuple[Any, Any]:
        x = tf.gather(xy[0], index)
        if batches.alternating_flip:
            x = tf.where(flipped[:, None, None, None], tf.reverse(x, [2]), x)
        return x, tf.gather(xy[1], index)

    return (
        tf.data.Dataset.zip(indices, arrays)
        .map(lambda i, xy: gather(*i, xy), tf.data.AUTOTUNE)
        .apply(tf.data.experimental.assert_cardinality(len(batches)))
        .prefetch(tf.data.AUTOTUNE)
    )


class EpochRandomness(keras.callbacks.Callback):
    """Derives each epoch's randomness from (seed, epoch), so a resumed run trains exactly as
    an uninterrupted one: the batch order (Keras reshuffles arrays with a generator that a
    resumed run starts afresh, replaying epoch 0's order), every random generator state in
    the model (augmentation, dropout; Keras does not checkpoint them) and, in a seeded run,
    Python's and NumPy's global generators for callbacks that use them.

    TensorFlow's global seed is not reset per epoch: ``tf.random.set_seed`` clears its kernel
    caches (0.2-0.4 s per epoch measured on a tiny model), and the training step uses none
    of its stateful generators.
    """

    def __init__(self, seed: int, batches: EpochBatches, reseed_globals: bool) -> None:
        super().__init__()
        self.seed, self.batches, self.reseed_globals = seed, batches, reseed_globals

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self.batches.set_epoch(epoch)
        states = [v for v in self.model.variables if v.name == "seed_generator_state"]
        # 31-bit values: valid seeds for every backend's seed dtype (int32 on torch)
        words = np.random.SeedSequence([self.seed, epoch, 1]).generate_state(len(states) + 1)
        words >>= 1
        if self.reseed_globals:
            random.seed(int(words[0]))
            np.random.seed(int(words[0]))
        for state, word in zip(states, words[1:], strict=True):
            state.assign(np.array([word, 0], dtype=state.dtype))


class SelectOnValidation(keras.callbacks.Callback):
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


class LookaheadAveraging(keras.callbacks.Callback):
    """Runs a recipe's :class:`~keras_cifar_zoo.training.recipes.WeightAveraging`.

    Every float variable of the trained model takes part (BatchNorm statistics included;
    integer state such as the augmentation's seeds is left alone). The average starts from
    the weights at the start of ``fit``, which for a resumed run are the averaged weights
    its last checkpoint saved, so a resume continues exactly.
    """

    def __init__(self, averaging: WeightAveraging, steps_per_epoch: int, epochs: int) -> None:
        super().__init__()
        self.averaging = averaging
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = max(steps_per_epoch * epochs, 1)
        self.updates = 0

    def on_train_begin(self, logs: dict | None = None) -> None:
        self._variables = [v for v in self.model.weights if "float" in str(v.dtype)]
        self._average = [ops.copy(v.value) for v in self._variables]

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch, self._since = epoch, 0

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._since += 1
        if self._since == self.averaging.every:
            self._update(self._epoch * self.steps_per_epoch + batch + 1)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self._since:
            self._update((epoch + 1) * self.steps_per_epoch)

    def _update(self, step: int) -> None:
        if keras.backend.backend() == "jax":
            # JAX's fit keeps the weights outside the variables between steps: write them
            # back, and the next step reads what is assigned here.
            self.model.jax_state_sync()
        keep = self.averaging.decay(step / self.total_steps)
        for index, variable in enumerate(self._variables):
            average = self._average[index]
            value = ops.cast(variable.value, average.dtype)
            average = average + (1.0 - keep) * (value - average)
            # A copy: JAX's next step may donate the variable's buffer, and the average must
            # outlive it.
            variable.assign(ops.copy(ops.cast(average, variable.dtype)))
            self._average[index] = average
        self._since = 0
        self.updates += 1


class FreezeAfterEpochs(keras.callbacks.Callback):
    """Keeps variables at their values from the start of a given epoch on (a recipe's
    ``freeze_after_epochs``).

    After every training step (every execution with ``steps_per_execution``) and at each
    epoch's end, after the weight averaging, each frozen variable is set back, so neither its
    gradient, its momentum, weight decay nor the averaging moves it, on any backend and
    without retracing the step. A resumed run takes the kept values from its checkpoint,
    which holds them. On JAX each restore first writes the step's state back into the
    variables (``jax_state_sync``), a cost per step that the TensorFlow backend does not have.
    """

    def __init__(self, frozen: Sequence[tuple[keras.Variable, int]]) -> None:
        super().__init__()
        self.frozen = list(frozen)
        self._kept: dict[int, Any] = {}

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        for index, (variable, after) in enumerate(self.frozen):
            if epoch >= after and index not in self._kept:
                self._kept[index] = ops.copy(variable.value)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        self._restore()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self._restore()

    def _restore(self) -> None:
        if not self._kept:
            return
        if keras.backend.backend() == "jax":
            self.model.jax_state_sync()  # as in LookaheadAveraging
        for index, kept in self._kept.items():
            self.frozen[index][0].assign(ops.copy(kept))
