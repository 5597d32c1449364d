"""Does the bilinear interpolation of fractional shifts cost accuracy? A reduced-scale A/B test.

Trains ``resnet20_v1`` with the ``improved_sgd`` recipe twice per seed on the first
``--train-images`` real training images: once with its fractional shifts (bilinear
interpolation, as Keras 2's ImageDataGenerator and the articles do), once with the same
shifts rounded to whole pixels (``integer_shift=True``: random crops of the zero-padded image,
as He et al. train their CIFAR ResNets). Everything else is equal. The package's ``evaluate``
measures the final epoch on the 10,000 test images. Needs the real data
(``KERAS_CIFAR_ZOO_DATA``).

    python benchmarks/shift_interpolation.py --seeds 0 1 \\
        --json benchmarks/results/shift-interpolation-cpu-tensorflow-DATE.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

import keras

VARIANTS = ("fractional_bilinear", "whole_pixel")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet20_v1")
    parser.add_argument("--recipe", default="improved_sgd")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--train-images", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--json", help="write every number here")
    args = parser.parse_args(argv)

    import keras_cifar_zoo as zoo

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from time_to_94 import run_context

    (x_train, y_train), test = zoo.load_cifar10()
    train = (x_train[: args.train_images], y_train[: args.train_images])
    base = zoo.get_recipe(args.recipe)
    recipes = {
        "fractional_bilinear": dataclasses.replace(base, epochs=args.epochs),
        "whole_pixel": dataclasses.replace(
            base,
            epochs=args.epochs,
            augmentation=dataclasses.replace(base.augmentation, integer_shift=True),
        ),
    }
    runs = []
    for seed in args.seeds:
        for variant in VARIANTS:
            keras.backend.clear_session()
            start = time.perf_counter()
            history = zoo.fit_cifar10(
                args.model, recipe=recipes[variant], data=train, seed=seed, verbose=0
            )
            wall = time.perf_counter() - start
            result = zoo.evaluate(history.model, data=test)
            runs.append(
                {
                    "variant": variant,
                    "seed": seed,
                    "test_accuracy": result["accuracy"],
                    "test_loss": result["loss"],
                    "final_train_accuracy": history.history["accuracy"][-1],
                    "wall_s": wall,
                }
            )
            print(f"seed {seed} {variant}: {result['accuracy']:.4f}", flush=True)
    means = {
        v: statistics.fmean(r["test_accuracy"] for r in runs if r["variant"] == v) for v in VARIANTS
    }
    report = {
        "benchmark": "shift_interpolation",
        "model": args.model,
        "recipe": args.recipe,
        "epochs": args.epochs,
        "train_images": len(train[0]),
        "test_images": len(test[0]),
        **run_context(),
        "mean_test_accuracy": means,
        "runs": runs,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\n{args.model} / {args.recipe}, {args.epochs} epochs on {len(train[0])} images")
    for variant in VARIANTS:
        print(f"{variant:20} mean test accuracy {means[variant]:.4f} over seeds {args.seeds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
