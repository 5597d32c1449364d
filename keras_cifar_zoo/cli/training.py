"""``train``, ``evaluate`` and ``predict``: the training helpers from the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_cifar_zoo.cli import CommandError
from keras_cifar_zoo.cli._args import add_dataset, folder, png_file, positive_int

if TYPE_CHECKING:  # NumPy and Keras are imported by the handlers, not by --help
    import numpy as np

PREDICT_BATCH = 64
"""Images per forward pass in ``predict``; the last batch is padded to the same shape."""


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
    parser.add_argument("--recipe", help="recipe name (default: the model's own)")
    parser.add_argument("--epochs", type=int, help="override the recipe's epochs")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch size")
    parser.add_argument("--seed", type=int, help="seed for a repeatable run")
    parser.add_argument("--out", type=folder, help="checkpoint folder (default: runs/NAME)")
    parser.add_argument(
        "--data-dir", help="folder holding cifar-10-batches-py/ (or cifar-100-python/)"
    )
    parser.add_argument("--plot", action="store_true", help="write curves.png to --out")
    parser.set_defaults(
        handler=_train, flags={"data_dir": "--data-dir PATH", "weights": "--weights PATH"}
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
        required=True,
        help="a .weights.h5/.weights.json/.keras file, 'cifar10[:<tag>]' or 'cifar100[:<tag>]'",
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
    parser.set_defaults(
        handler=_evaluate, flags={"weights": "--weights PATH", "data_dir": "--data-dir PATH"}
    )

    parser = subparsers.add_parser(
        "predict",
        help="classify image files",
        description="Classify PNG/JPEG files of any size. Each image is converted to RGB and "
        "resized to 32x32 with bicubic resampling (Pillow) before prediction.",
    )
    parser.add_argument("name", help="a model name from 'keras-cifar-zoo list'")
    parser.add_argument("images", nargs="+", type=Path, help="PNG or JPEG files")
    parser.add_argument(
        "--weights", required=True, help="checkpoint path, 'cifar10[:tag]' or 'cifar100[:tag]'"
    )
    parser.add_argument(
        "--top", type=positive_int, default=3, help="classes to show per image (1 or more)"
    )
    parser.add_argument("--plot", type=png_file, help="write a PNG grid of the predictions here")
    parser.set_defaults(handler=_predict, flags={"weights": "--weights PATH"})


def _recipe(args: argparse.Namespace) -> Any:
    """The recipe asked for; with --weights, the same recipe starting from those weights."""
    if args.weights is None:
        return args.recipe
    import dataclasses

    from keras_cifar_zoo.training import get_recipe

    return dataclasses.replace(
        get_recipe(args.recipe or "finetune_sgd"), initial_weights=args.weights
    )


def _train(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.training import fit

    out = args.out or Path("runs") / args.name
    if out.exists() and not out.is_dir():  # the default; --out is checked while parsing
        raise CommandError(
            f"The checkpoint folder {out} is a file; pass --out FOLDER. Received: {str(out)!r}"
        )
    history = fit(
        args.name,
        dataset=args.dataset,
        recipe=_recipe(args),
        epochs=args.epochs,
        batch_size=args.batch_size,
        seed=args.seed,
        checkpoint_dir=out,
        data_dir=args.data_dir,
    )
    last = {k: round(v[-1], 4) for k, v in history.history.items() if v}
    print(f"trained {args.name} with recipe {history.params['recipe']}: {last}")
    print(f"model: {out / 'model.keras'}")
    if note := history.params.get("model_selection"):
        print(f"note: {note}")
    if args.plot:
        from keras_cifar_zoo.plots import plot_history

        print(f"curves: {plot_history(history, out / 'curves.png')}")
    return 0


def _load(name: str, weights: str) -> Any:
    from keras_cifar_zoo.zoo import load_model

    return load_model(name, weights=weights)


def _evaluate(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.training import evaluate

    result = evaluate(
        _load(args.name, args.weights),
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


def read_images(paths: list[Path], size: tuple[int, int] = (32, 32)) -> np.ndarray:
    """Reads image files as an RGB uint8 batch resized to ``size`` = (height, width), bicubic."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    batch = []
    for path in paths:
        try:
            with Image.open(path) as image:
                # Pillow sizes are (width, height)
                rgb = image.convert("RGB").resize((size[1], size[0]), Image.Resampling.BICUBIC)
        except (FileNotFoundError, UnidentifiedImageError, OSError) as exc:
            raise CommandError(f"Cannot read image {path}: {exc}. Pass PNG or JPEG files.") from exc
        batch.append(np.asarray(rgb, dtype=np.uint8))
    return np.stack(batch)


def _predict(args: argparse.Namespace) -> int:
    import numpy as np

    from keras_cifar_zoo.data import default_class_names

    for path in args.images:  # before the model is built and its weights loaded
        if not path.is_file():
            state = "is a folder" if path.is_dir() else "does not exist"
            raise CommandError(
                f"Cannot read image {path}: it {state}. Pass PNG or JPEG files. "
                f"Received: {str(path)!r}"
            )
    model = _load(args.name, args.weights)
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
