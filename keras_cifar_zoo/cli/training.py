"""``train``, ``evaluate`` and ``predict``: the training helpers from the command line."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_cifar_zoo.cli import CommandError, UsageError
from keras_cifar_zoo.cli._args import (
    HUB_FLAGS,
    add_dataset,
    add_hub_options,
    folder,
    png_file,
    positive_int,
)

if TYPE_CHECKING:  # NumPy and Keras are imported by the handlers, not by --help
    import numpy as np

PREDICT_BATCH = 64
"""Images per forward pass in ``predict``; the last batch is padded to the same shape."""

OFFLINE_HELP = "never use the network; only use the cache or the hub mirror"
DEFAULT_WEIGHTS_HELP = (
    "default: the published checkpoint of --dataset ('cifar10' unless --dataset cifar100) "
    "when the model has one ('keras-cifar-zoo info NAME' lists them), else none: random "
    "initialisation"
)

logger = logging.getLogger(__name__)


def register(subparsers: Any) -> None:
    """Adds the ``train``, ``evaluate`` and ``predict`` commands."""
    parser = subparsers.add_parser(
        "train",
        help="train a model with its recipe (resumes from --out)",
        description="Train a zoo model on CIFAR-10 or CIFAR-100 with its documented recipe, or "
        "fine-tune it from published weights (--weights cifar10 --dataset cifar100). The "
        "output folder gets model.keras and the training state every epoch; rerunning resumes.",
    )
    parser.add_argument("name", help="a model name from 'keras-cifar-zoo list'")
    add_dataset(parser, "the data to train on")
    parser.add_argument(
        "--weights",
        help="start from these weights ('cifar10', 'cifar10:<tag>', 'imagenet' or a file): "
        "fine-tuning, with the recipe finetune_sgd unless --recipe is given",
    )
    add_hub_options(parser, f"with --weights: {OFFLINE_HELP}")
    parser.add_argument("--recipe", help="recipe name (default: the model's own)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch size")
    parser.add_argument("--seed", type=int, help="seed for a repeatable run")
    parser.add_argument(
        "--train-images",
        type=positive_int,
        metavar="N",
        help="train on the first N training images only: a quick try (default: all)",
    )
    parser.add_argument("--out", type=folder, help="checkpoint folder (default: runs/NAME)")
    parser.add_argument(
        "--data-dir", help="folder holding cifar-10-batches-py/ (or cifar-100-python/)"
    )
    parser.add_argument("--plot", action="store_true", help="write curves.png to --out")
    parser.set_defaults(
        handler=_train,
        flags={
            "data_dir": "--data-dir PATH",
            "weights": "--weights PATH",
            "checkpoint_dir": "--out DIR",
            **HUB_FLAGS,
        },
    )

    parser = subparsers.add_parser(
        "evaluate",
        help="measure a checkpoint on the CIFAR-10 (or CIFAR-100) test set",
        description="Evaluate weights on the 10,000 test images of CIFAR-10 (or CIFAR-100 with "
        "--dataset cifar100): accuracy, loss, per-class accuracy.",
    )
    parser.add_argument("name", help="a model name from 'keras-cifar-zoo list'")
    parser.add_argument(
        "--weights",
        help="a .weights.h5/.weights.json/.keras file, 'cifar10[:<tag>]' or "
        f"'cifar100[:<tag>]'; {DEFAULT_WEIGHTS_HELP}",
    )
    add_dataset(parser, "the test set")
    parser.add_argument(
        "--data-dir", help="folder holding cifar-10-batches-py/ (or cifar-100-python/)"
    )
    parser.add_argument("--json", action="store_true", help="print the full result as JSON")
    parser.add_argument(
        "--tta",
        choices=["none", "flip", "flip_translate"],
        default="none",
        help="test-time augmentation: the mirror image too, or also both moved one pixel "
        "up-left and down-right (airbench's six views); default: none",
    )
    parser.add_argument("--plot", type=png_file, help="write the confusion matrix PNG here")
    add_hub_options(parser, OFFLINE_HELP)
    parser.set_defaults(
        handler=_evaluate,
        flags={"weights": "--weights PATH", "data_dir": "--data-dir PATH", **HUB_FLAGS},
    )

    parser = subparsers.add_parser(
        "predict",
        help="classify image files",
        description="Classify PNG/JPEG files of any size. Each image is turned upright by its "
        "EXIF orientation, converted to 8-bit RGB (16-bit PNGs scaled, not clipped) and resized "
        "to the model's input size with bicubic resampling (Pillow) before prediction.",
    )
    parser.add_argument("name", help="a model name from 'keras-cifar-zoo list'")
    parser.add_argument("images", nargs="+", type=Path, help="PNG or JPEG files")
    parser.add_argument(
        "--weights",
        help="checkpoint path, 'cifar10[:tag]' or 'cifar100[:tag]'; default: 'cifar10' when "
        "the model has a published CIFAR-10 checkpoint ('keras-cifar-zoo info NAME' lists "
        "them), else none: random initialisation",
    )
    parser.add_argument(
        "--top", type=positive_int, default=3, help="classes to show per image (1 or more)"
    )
    parser.add_argument("--plot", type=png_file, help="write a PNG grid of the predictions here")
    add_hub_options(parser, OFFLINE_HELP)
    parser.set_defaults(handler=_predict, flags={"weights": "--weights PATH", **HUB_FLAGS})


def _recipe(args: argparse.Namespace) -> Any:
    """The recipe asked for; with --weights, the same recipe starting from those weights."""
    if args.weights is None:
        return args.recipe
    import dataclasses

    from keras_cifar_zoo.training import get_recipe

    return dataclasses.replace(
        get_recipe(args.recipe or "finetune_sgd"), initial_weights=args.weights
    )


def _hub_options(args: argparse.Namespace) -> dict[str, Any]:
    """The hub options given on the command line, as ``load_model`` keywords (a file path
    takes none, so options left out are not passed at all)."""
    options = {
        "hub_dir": args.hub_dir,
        "cache_dir": args.cache_dir,
        "endpoint": args.endpoint,
        "revision": args.revision,
        "local_files_only": True if args.offline else None,
    }
    return {k: v for k, v in options.items() if v is not None}


def _training_subset(args: argparse.Namespace) -> tuple[Any, Any] | None:
    """The first ``--train-images`` training images and labels (None: fit loads them all)."""
    if args.train_images is None:
        return None
    from keras_cifar_zoo.data import load_dataset

    (x, y), _ = load_dataset(args.dataset, args.data_dir)
    if args.train_images > len(x):
        raise CommandError(
            f"--train-images {args.train_images:,} is more than the {len(x):,} training images "
            f"of {args.dataset}; lower it, or leave it out to train on them all. "
            f"Received: --train-images {args.train_images}"
        )
    return x[: args.train_images], y[: args.train_images]


# fit warns that a given model is trained as it is; the CLI built it with the recipe's
# weights (and froze its base) itself, so that the hub options reach the download.
_BUILT_HERE = ("Recipe %s starts from %s weights", "Recipe %s freezes the base")


@contextlib.contextmanager
def _quiet_about_the_built_model() -> Iterator[None]:
    def keep(record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(_BUILT_HERE)

    fit_logger = logging.getLogger("keras_cifar_zoo.training.fit")
    fit_logger.addFilter(keep)
    try:
        yield
    finally:
        fit_logger.removeFilter(keep)


def _start_model(args: argparse.Namespace, recipe: Any) -> Any:
    """The model ``train --weights`` starts from, loaded with the hub options, built for the
    dataset's classes, its base frozen when the recipe says so (what ``fit`` does when
    given the name, which takes no hub options)."""
    from keras_cifar_zoo.data import DATASETS
    from keras_cifar_zoo.weights.loading import CLASSIFIER_LAYERS
    from keras_cifar_zoo.zoo import load_model

    model = load_model(
        args.name,
        weights=recipe.initial_weights,
        num_classes=DATASETS[args.dataset][1],
        **_hub_options(args),
    )
    if recipe.freeze_base:
        for layer in model.layers:
            layer.trainable = layer.name in CLASSIFIER_LAYERS
    return model


def _train(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.training import evaluate, fit, get_recipe

    out = args.out or Path("runs") / args.name
    if out.exists() and not out.is_dir():  # the default; --out is checked while parsing
        raise CommandError(
            f"The checkpoint folder {out} is a file; pass --out FOLDER. Received: {str(out)!r}"
        )
    if args.weights is None and (given := _hub_options(args)):
        flags = ", ".join(HUB_FLAGS[k].split()[0] for k in given)
        raise UsageError(
            f"{flags}: where published weights come from, so only with --weights (the "
            "weights to start from); without it the model starts from random weights"
        )
    recipe = _recipe(args)
    model: Any = args.name
    if args.weights is not None:
        recipe = get_recipe(recipe) if isinstance(recipe, str) else recipe
        model = _start_model(args, recipe)
    with _quiet_about_the_built_model():
        history = fit(
            model,
            dataset=args.dataset,
            recipe=recipe,
            epochs=args.epochs,
            batch_size=args.batch_size,
            data=_training_subset(args),
            seed=args.seed,
            checkpoint_dir=out,
            data_dir=args.data_dir,
        )
    last = {k: round(v[-1], 4) for k, v in history.history.items() if v}
    images = history.params["train_images"]
    print(
        f"trained {args.name} with recipe {history.params['recipe']} on {images:,} "
        f"{args.dataset} training images: {last}"
    )
    print(f"model: {out / 'model.keras'}")
    if note := history.params.get("model_selection"):
        print(f"note: {note}")
    if args.plot:
        from keras_cifar_zoo.plots import plot_history

        print(f"curves: {plot_history(history, out / 'curves.png')}")
    # The training metrics alone say little (augmented batches, no validation by default).
    result = evaluate(history.model, data_dir=args.data_dir, dataset=args.dataset)
    print(f"test accuracy {result['accuracy']:.4f} ({result['num_images']:,} images)")
    return 0


def _default_weights(name: str, dataset: str) -> str | None:
    """``dataset`` when the manifest lists a checkpoint of ``name`` on it, else None."""
    from keras_cifar_zoo.weights.manifest import load_manifest

    if load_manifest().for_model(name, dataset):
        return dataset
    logger.warning(
        "%s has no published %s checkpoint: using random weights (pass --weights PATH for "
        "a trained one)",
        name,
        dataset,
    )
    return None


def _load(args: argparse.Namespace, dataset: str = "cifar10") -> Any:
    from keras_cifar_zoo.registry import get_info
    from keras_cifar_zoo.zoo import load_model

    weights = args.weights
    if weights is None:
        get_info(args.name)  # an unknown name fails with suggestions, before the manifest
        weights = _default_weights(args.name, dataset)
    return load_model(args.name, weights=weights, **_hub_options(args))


def _evaluate(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.training import evaluate

    result = evaluate(
        _load(args, args.dataset),
        data_dir=args.data_dir,
        dataset=args.dataset,
        tta=args.tta,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.name}: accuracy {result['accuracy']:.4f}, loss {result['loss']:.4f} "
            f"on {result['num_images']} test images"
        )
        for name, accuracy in result["per_class_accuracy"].items():
            print(f"  {name:<11} {accuracy:.4f}")
    if args.plot:
        from keras_cifar_zoo.plots import plot_confusion_matrix

        print(f"confusion matrix: {plot_confusion_matrix(result['confusion_matrix'], args.plot)}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import numpy as np

    from keras_cifar_zoo.data import default_class_names, read_images

    for path in args.images:  # before the model is built and its weights loaded
        if not path.is_file():
            state = "is a folder" if path.is_dir() else "does not exist"
            raise CommandError(
                f"Cannot read image {path}: it {state}. Pass PNG or JPEG files. "
                f"Received: {str(path)!r}"
            )
    model = _load(args)
    images = read_images(args.images, tuple(model.input_shape[1:3]))
    probabilities = predict_in_fixed_batches(model, images)
    names = default_class_names(probabilities.shape[-1])
    for path, probs in zip(args.images, probabilities, strict=True):
        top = np.argsort(probs)[::-1][: args.top]
        ranked = ", ".join(f"{names[i]} {probs[i]:.3f}" for i in top)
        print(f"{path}: {ranked}")
    if args.plot:
        from keras_cifar_zoo.plots import plot_predictions

        grid = plot_predictions(images, probabilities.argmax(axis=-1), args.plot, class_names=names)
        print(f"grid: {grid}")
    return 0


def predict_in_fixed_batches(model: Any, images: np.ndarray) -> np.ndarray:
    """Class probabilities of ``images``, computed in batches of one shape.

    The last batch is padded with black images (their outputs are dropped), so that the model
    is traced once however many files are given, instead of once per batch shape.
    """
    import numpy as np

    from keras_cifar_zoo.training import predict

    batch = min(len(images), PREDICT_BATCH)
    padding = -len(images) % batch
    padded = np.concatenate([images, np.zeros((padding, *images.shape[1:]), images.dtype)])
    return predict(model, padded, batch_size=batch).probabilities[: len(images)]
