"""``keras-cifar-zoo demo``: classify real CIFAR-10 test images with the embedded checkpoint.

The wheel ships ``keras_cifar_zoo/embedded/``: one published checkpoint (the one with the most
test accuracy per byte, byte for byte the file in ``hub/``) and a class-balanced sample of
CIFAR-10 test images (official pixels), described by ``embedded.json``. The demo needs no
network and no dataset: it checks the checkpoint's sha256, builds the model with the
preprocessing the checkpoint was trained with, classifies the sample with
:func:`keras_cifar_zoo.evaluate`, prints accuracy and per-class results beside the
checkpoint's whole-test-set accuracy from the weights manifest, and writes a PNG grid of the
predictions, headed "predicted (true)" (misses in red). ``--model``/``--weights`` run the same
on another published CIFAR-10 checkpoint, loaded as ``load_model`` loads it (the checkout's
``hub/``, a mirror, or the Hub).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.resources
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keras_cifar_zoo.cli import CommandError, UsageError
from keras_cifar_zoo.cli._args import HUB_FLAGS, add_hub_options, png_file

if TYPE_CHECKING:  # imported when the demo runs: --help must not start Keras
    import numpy as np

    from keras_cifar_zoo.preprocessing import Preprocessing

EMBEDDED_PACKAGE_DIR = "embedded"
DESCRIPTION_FILE = "embedded.json"
DEFAULT_GRID = "demo_predictions.png"


@dataclasses.dataclass(frozen=True)
class Embedded:
    """The embedded default: a checkpoint and a sample of test images.

    Attributes:
        model: Zoo name of the checkpoint's model.
        tag: Its tag in the weights manifest (``weights="cifar10:<tag>"``).
        weights: Path of the ``.weights.h5`` file inside the package.
        images: Sample images, (N, 32, 32, 3) uint8 RGB.
        labels: Their labels, (N,).
        indices: Their positions in the CIFAR-10 test set, (N,).
        preprocessing: The preprocessing the checkpoint was trained with.
        description: The whole ``embedded.json``.
    """

    model: str
    tag: str
    weights: Path
    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray
    preprocessing: Preprocessing
    description: dict[str, Any]


def embedded_dir() -> Path:
    """The folder of the embedded default inside the installed package."""
    return Path(str(importlib.resources.files("keras_cifar_zoo") / EMBEDDED_PACKAGE_DIR))


def load_embedded(folder: Path | None = None) -> Embedded:
    """Reads the embedded default and checks the checkpoint against its recorded sha256.

    Args:
        folder: The folder to read; default: the one inside the installed package.

    Returns:
        The :class:`Embedded` checkpoint path and sample.

    Raises:
        CommandError: If a file is missing or the checkpoint fails its hash (a broken install).

    Example:
        >>> demo = load_embedded()
        >>> demo.model, demo.images.shape  # doctest: +SKIP
        ('elu_cnn', (200, 32, 32, 3))
    """
    import numpy as np

    from keras_cifar_zoo.preprocessing import Preprocessing
    from keras_cifar_zoo.weights.hub import file_hash

    folder = folder or embedded_dir()
    try:
        description = json.loads((folder / DESCRIPTION_FILE).read_text(encoding="utf-8"))
        weights = folder / description["weights"]
        with np.load(folder / description["sample"]["file"]) as sample:
            images, labels, indices = sample["images"], sample["labels"], sample["indices"]
        preprocessing = Preprocessing.from_config(description["preprocessing"])
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise CommandError(
            f"The embedded default in {folder} is incomplete ({exc}); reinstall keras-cifar-zoo. "
            f"Received: folder={str(folder)!r}"
        ) from exc
    actual = file_hash(weights) if weights.is_file() else "missing"
    if actual != description["sha256"]:
        raise CommandError(
            f"The embedded checkpoint {weights} fails its sha256 check (expected "
            f"{description['sha256']}, got {actual}); reinstall keras-cifar-zoo. "
            f"Received: path={str(weights)!r}"
        )
    return Embedded(
        model=description["model"],
        tag=description["tag"],
        weights=weights,
        images=images,
        labels=labels.astype(np.int64),
        indices=indices,
        preprocessing=preprocessing,
        description=description,
    )


def register(subparsers: Any) -> None:
    """Adds the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo",
        help="classify embedded CIFAR-10 test images offline",
        description="Classify the CIFAR-10 test images embedded in the package with the "
        "embedded checkpoint (no network, no dataset needed), or with another published "
        "checkpoint (--model, --weights): print accuracy and per-class results and write a "
        "PNG grid of the predictions (needs the plots extra).",
    )
    parser.add_argument(
        "--model",
        help="classify with this model's published CIFAR-10 checkpoint (default: the embedded "
        "checkpoint's model)",
    )
    parser.add_argument(
        "--weights",
        help="'cifar10' (the default) or 'cifar10:<tag>', loaded as load_model(NAME, "
        "weights=...) loads it: from the checkout's hub/, a mirror or the Hub. Without --model, "
        "--weights and the hub options, the file embedded in the package is used",
    )
    parser.add_argument(
        "--out",
        type=png_file,
        default=Path(DEFAULT_GRID),
        help=f"PNG file for the grid of predictions (default: {DEFAULT_GRID})",
    )
    parser.add_argument("--no-plot", action="store_true", help="do not write the PNG grid")
    add_hub_options(parser, "never use the network; only use the cache")
    parser.set_defaults(handler=_demo, flags={"weights": "--weights W", **HUB_FLAGS})


_HUB_ARGS = ("hub_dir", "cache_dir", "endpoint", "revision")


def _published(args: argparse.Namespace) -> bool:
    """True if the demo loads a published checkpoint rather than the embedded file."""
    return (
        args.model is not None
        or args.weights is not None
        or any(getattr(args, name) is not None for name in _HUB_ARGS)
        or args.offline
    )


def _load_published(args: argparse.Namespace, name: str) -> tuple[Any, Any, str]:
    """The model that ``--model`` and ``--weights`` name, loaded through load_model with the
    hub options given; its manifest entry; where its files come from."""
    from keras_cifar_zoo.weights import CheckpointSource, resolve_weights
    from keras_cifar_zoo.zoo import load_model

    weights = args.weights or "cifar10"
    options: dict[str, Any] = {k: getattr(args, k) for k in _HUB_ARGS if getattr(args, k)}
    if args.offline:
        options["local_files_only"] = True
    source = resolve_weights(name, weights, **options)
    if not isinstance(source, CheckpointSource) or source.entry.dataset != "cifar10":
        raise UsageError(
            "demo classifies CIFAR-10 test images: --weights takes 'cifar10' or "
            f"'cifar10:<tag>'. Received: --weights {weights!r}"
        )
    model = load_model(name, weights=weights, **options)
    return model, source.entry, source.where()


def _demo(args: argparse.Namespace) -> int:
    import numpy as np

    if not args.no_plot:
        from keras_cifar_zoo.plots import _pyplot

        _pyplot()  # fail before the work if matplotlib is missing
    from keras_cifar_zoo.data import CLASS_NAMES
    from keras_cifar_zoo.registry import build_model
    from keras_cifar_zoo.training import evaluate
    from keras_cifar_zoo.weights import load_weights
    from keras_cifar_zoo.weights.manifest import load_manifest

    demo = load_embedded()
    d = demo.description
    if _published(args):
        model_name = args.model or demo.model
        model, entry, where = _load_published(args, model_name)
        weights, published = entry.identifier, entry.metrics
        origin = f"from {where}"
    else:
        model_name, weights = demo.model, f"cifar10:{demo.tag}"
        published = load_manifest().find(demo.model, demo.tag).metrics
        model = build_model(demo.model, preprocessing=demo.preprocessing)
        load_weights(model, demo.weights)
        origin = f"{d['size']:,} bytes, embedded in the package; no network used"
    result = evaluate(model, data=(demo.images, demo.labels))
    matrix = np.asarray(result["confusion_matrix"])
    predicted = _predicted(model, demo.images)  # for the grid; the numbers are evaluate()'s
    correct = int(np.trace(matrix))

    print(f"model: {model_name}, weights {weights} ({origin})")
    print(
        f"sample: {len(demo.labels)} images, {d['sample']['selection']}, from the "
        f"{d['sample']['data']}"
    )
    print(f"accuracy {result['accuracy']:.4f} ({correct}/{len(demo.labels)})")
    for index, name in enumerate(CLASS_NAMES):
        total = int(matrix[index].sum())
        hits = int(matrix[index, index])
        print(f"  {name:<11} {result['per_class_accuracy'][name]:.4f} ({hits}/{total})")
    print(
        f"the whole test set ({published.num_images:,} images) measures "
        f"{published.accuracy:.4f} with this checkpoint (weights_manifest.json)"
    )
    if not args.no_plot:
        from keras_cifar_zoo.plots import plot_predictions

        title = (
            f"{model_name} ({weights}) on {len(demo.labels)} CIFAR-10 test images: accuracy "
            f"{result['accuracy']:.4f} ({correct}/{len(demo.labels)})"
        )
        path = plot_predictions(
            demo.images, predicted, args.out, true=demo.labels, columns=20, title=title
        )
        print(f"grid: {path}")
    return 0


def _predicted(model: Any, images: np.ndarray) -> np.ndarray:
    from keras_cifar_zoo.training import predict

    return predict(model, images).class_indices
