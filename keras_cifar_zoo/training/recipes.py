"""Training recipes as data: each article's own, plus improved ones checkpoints use.

A recipe fixes everything ``fit_cifar10`` needs besides the model: optimizer, learning-rate
schedule, epochs, batch size, augmentation, label smoothing, initial weights and, for article
004 only, early stopping on the validation set.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

from keras_cifar_zoo.errors import InvalidArgumentError, InvalidTypeError, UnknownRecipeError
from keras_cifar_zoo.preprocessing import CIFAR10_ZSCORE
from keras_cifar_zoo.registry import get_info, list_models
from keras_cifar_zoo.training.augment import FILL_MODES

_SCHEDULE_KINDS = ("piecewise", "onecycle")


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Random training-time transforms (all off at inference), run by ``RandomAugment``.

    Attributes:
        horizontal_flip: Flip left-right with probability 0.5.
        shift: Largest translation as a fraction of height and width (0: none).
        rotation_degrees: Largest rotation in degrees, either way (0: none).
        fill_mode: How pixels moved in from outside are filled (``"constant"``,
            ``"nearest"``, ``"reflect"``).
        fill_value: Raw pixel value (0-255) used when ``fill_mode="constant"``.
        integer_shift: Shifts are whole pixels (random crops of a padded image) rather than
            fractional ones with bilinear interpolation.
        cutout_size: Side in pixels of a square masked out of every training image (0: none).
        cutout_value: Raw pixel value (0-255) written into the cutout square.
        alternating_flip: With ``horizontal_flip``, flip each image in alternate epochs
            instead of at random (airbench94): a random half in the first epoch, then every
            image the other way round from its previous epoch, so every two epochs show
            each image both ways.
    """

    horizontal_flip: bool = False
    shift: float = 0.0
    rotation_degrees: float = 0.0
    fill_mode: str = "nearest"
    fill_value: float = 0.0
    integer_shift: bool = False
    cutout_size: int = 0
    cutout_value: float = 0.0
    alternating_flip: bool = False

    def __post_init__(self) -> None:
        if self.alternating_flip and not self.horizontal_flip:
            raise InvalidArgumentError(
                "Augmentation alternating_flip chooses how horizontal_flip flips; set "
                "horizontal_flip=True with it. Received: horizontal_flip=False, "
                "alternating_flip=True"
            )
        if self.fill_mode not in FILL_MODES:
            raise InvalidArgumentError(
                f"Augmentation fill_mode must be one of {FILL_MODES}. "
                f"Received: fill_mode={self.fill_mode!r}"
            )
        if not 0 <= self.shift < 1 or self.rotation_degrees < 0 or self.cutout_size < 0:
            raise InvalidArgumentError(
                "Augmentation needs 0 <= shift < 1, rotation_degrees >= 0 and cutout_size >= 0. "
                f"Received: shift={self.shift!r}, rotation_degrees={self.rotation_degrees!r}, "
                f"cutout_size={self.cutout_size!r}"
            )

    @property
    def enabled(self) -> bool:
        return (
            self.horizontal_flip
            or self.shift > 0
            or self.rotation_degrees > 0
            or self.cutout_size > 0
        )


@dataclasses.dataclass(frozen=True)
class Schedule:
    """Learning rate as a function of the (fractional) epoch.

    Attributes:
        kind: ``"piecewise"``: ``values[i]`` from epoch ``boundaries[i-1]`` on (0-based epochs,
            as Keras's ``LearningRateScheduler`` counts them). ``"onecycle"``: linear warm-up
            from ``values[0]`` to ``values[1]`` over the first ``warmup_fraction`` of training,
            then linear decay to ``values[2]`` at the last step.
        values: Learning rates (see ``kind``).
        boundaries: Epochs where a piecewise schedule switches.
        warmup_fraction: Warm-up share of a one-cycle schedule.
        inverse_time_decay: Keras 2 ``decay`` argument: the rate is also divided by
            ``1 + decay * step`` (article 003's RMSprop).
    """

    kind: str
    values: tuple[float, ...]
    boundaries: tuple[int, ...] = ()
    warmup_fraction: float = 0.0
    inverse_time_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in _SCHEDULE_KINDS:
            raise InvalidArgumentError(
                f"Schedule kind must be one of {_SCHEDULE_KINDS}. Received: kind={self.kind!r}"
            )
        if self.kind == "piecewise":
            ordered = all(a < b for a, b in itertools.pairwise(self.boundaries))
            if len(self.values) != len(self.boundaries) + 1 or not ordered:
                raise InvalidArgumentError(
                    "A piecewise schedule needs one more value than boundaries, and increasing "
                    f"boundaries. Received: values={self.values!r}, boundaries={self.boundaries!r}"
                )
        elif len(self.values) != 3 or not 0 <= self.warmup_fraction < 1:
            raise InvalidArgumentError(
                "A one-cycle schedule needs three values (start, peak, end) and a warmup_fraction "
                f"in [0, 1). Received: values={self.values!r}, "
                f"warmup_fraction={self.warmup_fraction!r}"
            )

    def learning_rate(self, epoch: float, epochs: int) -> float:
        """Returns the rate at a fractional epoch (for tests and plots; training runs on
        :class:`keras_cifar_zoo.training.schedules.RecipeSchedule`)."""
        if self.kind == "piecewise":
            index = sum(epoch >= b for b in self.boundaries)
            return self.values[index]
        start, peak, end = self.values
        warmup = self.warmup_fraction * epochs
        if epoch < warmup:
            return start + (peak - start) * epoch / warmup
        return peak + (end - peak) * min((epoch - warmup) / max(epochs - warmup, 1e-9), 1.0)


@dataclasses.dataclass(frozen=True)
class WeightAveraging:
    """Lookahead averaging of every float weight (BatchNorm statistics included), as
    airbench94 trains: every ``every`` steps, and at the end of every epoch, a running
    average moves toward the weights and the weights are set to it.

    The average keeps ``decay`` of itself at each update, ``decay`` being
    ``final_decay * progress ** power`` (progress: the fraction of the run's steps done), so
    it follows the weights early on and averages more as the rate falls. Updating at each
    epoch's end too leaves the weights equal to the average whenever a checkpoint is saved,
    so a resumed run continues exactly.

    Attributes:
        every: Steps between updates.
        final_decay: The decay at the last step.
        power: How the decay grows with progress.
    """

    every: int = 5
    final_decay: float = 0.95**5
    power: float = 3.0

    def __post_init__(self) -> None:
        if (
            isinstance(self.every, bool)
            or not isinstance(self.every, int)
            or self.every < 1
            or not 0 <= self.final_decay < 1
            or self.power < 0
        ):
            raise InvalidArgumentError(
                "WeightAveraging needs an integer every >= 1, 0 <= final_decay < 1 and "
                f"power >= 0. Received: every={self.every!r}, "
                f"final_decay={self.final_decay!r}, power={self.power!r}"
            )

    def decay(self, progress: float) -> float:
        """The share of the average kept at an update ``progress`` of the way through."""
        return self.final_decay * min(max(progress, 0.0), 1.0) ** self.power


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A named training recipe (see :func:`get_recipe`).

    Attributes:
        name: Registry name, e.g. ``"article_002"``.
        article: Seed article it comes from (or builds on).
        description: What it is, where it deviates from the article and why.
        optimizer: Keras optimizer class name (``"Adam"``, ``"SGD"``, ``"RMSprop"``, ...).
        optimizer_config: Keyword arguments of the optimizer besides the learning rate.
        schedule: Learning-rate schedule.
        epochs: Number of epochs.
        batch_size: Batch size.
        augmentation: Training-time augmentation.
        label_smoothing: Label smoothing of the categorical cross-entropy.
        initial_weights: ``None`` (random), ``"imagenet"``, or ``"cifar10"`` (the model's
            published CIFAR-10 checkpoint: fine-tuning; a classifier of another size than
            the dataset's starts fresh).
        freeze_base: Train only the classifier (``predictions`` and ``predictions_bn``):
            the pretrained base is a fixed feature extractor.
        early_stopping_patience: If set, stop when validation accuracy has not improved for
            this many epochs and keep a best-on-validation checkpoint (article 004 only;
            its validation set is the test set).
        validation_is_test_set: True when the article validates, early-stops and checkpoints
            on the test set; ``fit_cifar10`` then uses the test set and says so in the history.
        weight_averaging: Lookahead averaging of the weights during training, or None.
        freeze_after_epochs: Variables by path (``variable.path``, such as
            ``"whitening/bias"``) that train only for the given number of first epochs and
            then keep their values (airbench94 freezes its whitening bias after 3), or None.
    """

    name: str
    article: str
    description: str
    optimizer: str
    optimizer_config: dict[str, Any]
    schedule: Schedule
    epochs: int
    batch_size: int
    augmentation: Augmentation = Augmentation()
    label_smoothing: float = 0.0
    initial_weights: str | None = None
    freeze_base: bool = False
    early_stopping_patience: int | None = None
    validation_is_test_set: bool = False
    weight_averaging: WeightAveraging | None = None
    freeze_after_epochs: dict[str, int] | None = None

    def __post_init__(self) -> None:
        frozen = self.freeze_after_epochs
        if frozen is not None and not (
            isinstance(frozen, dict)
            and all(
                isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
                for k, v in frozen.items()
            )
        ):
            raise InvalidArgumentError(
                "Recipe freeze_after_epochs maps variable paths to whole epoch counts >= 0, "
                f"such as {{'whitening/bias': 3}}. Received: freeze_after_epochs={frozen!r}"
            )

    def to_config(self) -> dict[str, Any]:
        """Returns a JSON-serializable dict (the weights manifest stores this)."""
        return dataclasses.asdict(self)


_ADAM_DEFAULTS = {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7}
_FLIP_SHIFT_ZERO = Augmentation(horizontal_flip=True, shift=0.125, fill_mode="constant")

_ARTICLE_002 = Recipe(
    name="article_002",
    article="002",
    description="Article 002: SGD momentum 0.9 Nesterov, 0.01 to epoch 80, 0.005 to 140, "
    "then 0.001 (its scheduler's `epoch <= 80`), 200 epochs, batch 128, horizontal flip + "
    "0.125 shifts filled with zeros.",
    optimizer="SGD",
    optimizer_config={"momentum": 0.9, "nesterov": True},
    schedule=Schedule("piecewise", (0.01, 0.005, 0.001), boundaries=(81, 141)),
    epochs=200,
    batch_size=128,
    augmentation=_FLIP_SHIFT_ZERO,
)

_IMPROVED_SGD = Recipe(
    name="improved_sgd",
    article="002",
    description="Zoo recipe for fast strong checkpoints: SGD Nesterov momentum 0.9, "
    "one-cycle rate 0.01 -> 0.1 (warm-up 15% of the run) -> 0, label smoothing 0.1, flip + "
    "0.125 zero-filled shifts, batch 256; the models keep their own L2. A fixed schedule: "
    "the final epoch is reported, no test-set selection.",
    optimizer="SGD",
    optimizer_config={"momentum": 0.9, "nesterov": True},
    schedule=Schedule("onecycle", (0.01, 0.1, 0.0), warmup_fraction=0.15),
    epochs=40,
    batch_size=256,
    augmentation=_FLIP_SHIFT_ZERO,
    label_smoothing=0.1,
)

_FINETUNE = Recipe(
    name="finetune_sgd",
    article="zoo",
    description="Fine-tuning from the model's published CIFAR-10 checkpoint (for another "
    "dataset such as CIFAR-100: the classifier starts fresh, everything else is loaded): "
    "improved_sgd_crops with its peak rate halved (one-cycle 0.005 -> 0.05 -> 0) and batch "
    "128, 15 epochs. A fixed schedule: the final epoch is reported.",
    optimizer="SGD",
    optimizer_config={"momentum": 0.9, "nesterov": True},
    schedule=Schedule("onecycle", (0.005, 0.05, 0.0), warmup_fraction=0.15),
    epochs=15,
    batch_size=128,
    augmentation=dataclasses.replace(_FLIP_SHIFT_ZERO, integer_shift=True),
    label_smoothing=0.1,
    initial_weights="cifar10",
)

_RECIPES = [
    Recipe(
        name="article_000",
        article="000",
        description="Article 000: Adam with default settings, 20 epochs, batch 64, no "
        "augmentation.",
        optimizer="Adam",
        optimizer_config=_ADAM_DEFAULTS,
        schedule=Schedule("piecewise", (0.001,)),
        epochs=20,
        batch_size=64,
    ),
    Recipe(
        name="article_001",
        article="001",
        description="Article 001: Adam 1e-3 halved at epoch 20, /4 at 30, /5 at 50, no "
        "augmentation. The article states neither epochs nor batch size: the zoo uses 60 "
        "epochs (past the last step) and batch 128 (the book's default).",
        optimizer="Adam",
        optimizer_config=_ADAM_DEFAULTS,
        schedule=Schedule("piecewise", (1e-3, 5e-4, 1.25e-4, 2.5e-5), boundaries=(20, 30, 50)),
        epochs=60,
        batch_size=128,
    ),
    _ARTICLE_002,
    dataclasses.replace(
        _ARTICLE_002,
        name="article_002_pretrain",
        description="Article 002's vgg19_pretrain: the article_002 recipe starting from the "
        "Keras Applications VGG19 ImageNet weights (loaded by layer name).",
        initial_weights="imagenet",
    ),
    Recipe(
        name="article_003",
        article="003",
        description="Article 003: RMSprop 0.001 with Keras 2 decay 1e-6, 0.0005 after epoch 75 "
        "and 0.0003 after 100, 125 epochs, batch 64, rotation 15 deg + 0.1 shifts + flip "
        "(ImageDataGenerator's default 'nearest' fill).",
        optimizer="RMSprop",
        optimizer_config={"rho": 0.9, "epsilon": 1e-7},
        schedule=Schedule(
            "piecewise", (0.001, 0.0005, 0.0003), boundaries=(76, 101), inverse_time_decay=1e-6
        ),
        epochs=125,
        batch_size=64,
        augmentation=Augmentation(horizontal_flip=True, shift=0.1, rotation_degrees=15.0),
    ),
    Recipe(
        name="article_004",
        article="004",
        description="Article 004: Adadelta (Keras 2 default rate 1.0), batch 64, 0.125 shifts + "
        "flip ('nearest' fill), up to 200 epochs with EarlyStopping(patience=20) and a "
        "best-only checkpoint on validation accuracy. The article validates on the TEST set, "
        "so its numbers are selected on test data; the history says so.",
        optimizer="Adadelta",
        optimizer_config={"rho": 0.95, "epsilon": 1e-7},
        schedule=Schedule("piecewise", (1.0,)),
        epochs=200,
        batch_size=64,
        augmentation=Augmentation(horizontal_flip=True, shift=0.125),
        early_stopping_patience=20,
        validation_is_test_set=True,
    ),
    _IMPROVED_SGD,
    dataclasses.replace(
        _IMPROVED_SGD,
        name="improved_sgd_crops",
        description="improved_sgd with its shifts rounded to whole pixels: random crops of the "
        "zero-padded image, as He et al. train CIFAR ResNets, instead of fractional shifts "
        "with bilinear interpolation, which blur every training image a little. In a "
        "reduced-scale test (resnet20_v1, 15 epochs on 20,000 images, 2 seeds; "
        "benchmarks/shift_interpolation.py) the mean final test accuracy rose from 72.55% to "
        "74.64%.",
        augmentation=dataclasses.replace(_FLIP_SHIFT_ZERO, integer_shift=True),
    ),
    Recipe(
        name="improved_adam_crops",
        article="001",
        description="For the networks without batch normalization (simple_cnn, vgg_lite): "
        "Adam with a one-cycle rate 1e-4 -> 2e-3 (warm-up 15% of the run) -> 0, label "
        "smoothing 0.1, flips and whole-pixel crops of the zero-padded image as in "
        "improved_sgd_crops, batch 128, 30 epochs. A fixed schedule: the final epoch is "
        "reported. Trained 10 epochs on simple_cnn (seed 0, lossless training set; "
        "benchmarks/results/recipe-ab-simple-cnn-cpu-tensorflow-2026-12-01.json) it reached "
        "71.50% on the test set, improved_sgd_crops 54.85%: SGD's peak rate of 0.1 suits "
        "the batch-normalized networks, not these.",
        optimizer="Adam",
        optimizer_config=_ADAM_DEFAULTS,
        schedule=Schedule("onecycle", (1e-4, 2e-3, 0.0), warmup_fraction=0.15),
        epochs=30,
        batch_size=128,
        augmentation=dataclasses.replace(_FLIP_SHIFT_ZERO, integer_shift=True),
        label_smoothing=0.1,
    ),
    Recipe(
        name="fast_resnet9",
        article="zoo",
        description="The zoo's time-to-94% recipe for resnet9, after David Page's DAWNBench "
        "ResNet-9 training: SGD Nesterov momentum 0.9, batch 512, the rate rising linearly from "
        "0 to 0.4 over the first 5 of 24 epochs and falling linearly to 0 at the end, label "
        "smoothing 0.2, weight decay 5e-4 in the model (L2 2.5e-4 on every kernel), random "
        "crops of the image reflect-padded by 4 pixels (whole-pixel shifts up to 0.125), "
        "horizontal flips and an 8x8 cutout filled with the training mean. A fixed schedule: the "
        "final epoch is reported, no test-set selection.",
        optimizer="SGD",
        optimizer_config={"momentum": 0.9, "nesterov": True},
        schedule=Schedule("onecycle", (0.0, 0.4, 0.0), warmup_fraction=5 / 24),
        epochs=24,
        batch_size=512,
        augmentation=Augmentation(
            horizontal_flip=True,
            shift=0.125,
            fill_mode="reflect",
            integer_shift=True,
            cutout_size=8,
            cutout_value=CIFAR10_ZSCORE.mean[0],
        ),
        label_smoothing=0.2,
    ),
    Recipe(
        name="airbench94",
        article="zoo",
        description="The zoo's time-to-94% recipe for airbench94, after Keller Jordan's "
        "airbench94 (2024), with the reference's settings: SGD Nesterov momentum 0.85, batch "
        "1024, 10 epochs, the rate rising linearly from 0.3 to 1.5 over the first 23% of the "
        "steps and falling to 0.105 at the last (the reference's 11.5 per 1024 images for a "
        "summed loss, with its 0.2 and 0.07 factors), BatchNorm biases at 64 times that rate "
        "and coupled weight decay 0.0153/11.5 per unit of rate (both built into the model), "
        "label smoothing 0.2, alternating flips (a random half of the images mirrored in the "
        "first epoch, then every image flipped the other way from its previous epoch), "
        "translations of up to 2 pixels with reflected borders, the whitening bias trained "
        "for the first 3 epochs only, and lookahead averaging of the weights and BatchNorm "
        "statistics every 5 steps (decay 0.95**5 times the cube of the progress). Evaluate "
        "with tta='flip_translate', as the reference does. Where it differs from the "
        "reference: the last partial batch is trained on, the 9.9 epochs are 10, and the "
        "averaging also runs at each epoch's end, its count of 5 steps starting again in each "
        "epoch (so a resumed run continues exactly), its last update blending in the final "
        "weights like the others (the reference's keeps the average as it is, which in a run "
        "of fewer than 5 steps undoes all training). Not "
        "yet compared here at full scale with random flips or without the averaging; "
        "Keras's optimizer EMA is another scheme, and with momentum 0.9 it lost 12.8 points "
        "in a reduced-scale test (benchmarks/results/"
        "airbench94-weight-averaging-ab-cpu-tensorflow-2026-12-01.json).",
        optimizer="SGD",
        optimizer_config={"momentum": 0.85, "nesterov": True},
        schedule=Schedule("onecycle", (0.3, 1.5, 0.105), warmup_fraction=0.23),
        epochs=10,
        batch_size=1024,
        augmentation=Augmentation(
            horizontal_flip=True,
            shift=2 / 32,
            fill_mode="reflect",
            integer_shift=True,
            alternating_flip=True,
        ),
        label_smoothing=0.2,
        weight_averaging=WeightAveraging(),
        freeze_after_epochs={"whitening/bias": 3},
    ),
    _FINETUNE,
    dataclasses.replace(
        _FINETUNE,
        name="finetune_head",
        description="Feature extraction: the model's published CIFAR-10 checkpoint with its "
        "base frozen (BatchNorm statistics included) and only a new classifier trained; "
        "otherwise finetune_sgd. Cheaper per epoch than fine-tuning everything, and weaker "
        "when the new dataset differs from CIFAR-10.",
        freeze_base=True,
    ),
]

RECIPES: dict[str, Recipe] = {r.name: r for r in _RECIPES}


def list_recipes() -> list[str]:
    """Lists recipe names, sorted."""
    return sorted(RECIPES)


def get_recipe(name: str) -> Recipe:
    """Returns a recipe by name, or a model's default recipe when given a model name.

    Args:
        name: A recipe name from :func:`list_recipes`, or a model name (its
            ``model_info(name).default_recipe``).

    Raises:
        UnknownRecipeError: If ``name`` is neither a recipe nor a model.

    Example:
        >>> get_recipe("article_002").schedule.values
        (0.01, 0.005, 0.001)
    """
    if not isinstance(name, str):
        raise InvalidTypeError(f"Recipe name must be a string. Received: name={name!r}")
    if name in RECIPES:
        return RECIPES[name]
    if name in list_models():
        return RECIPES[get_info(name).default_recipe]
    raise UnknownRecipeError(
        f"Unknown recipe {name!r}. Available recipes: {', '.join(list_recipes())} (or pass a "
        f"model name for its default recipe). Received: name={name!r}"
    )
