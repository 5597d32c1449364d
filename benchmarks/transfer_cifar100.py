"""CIFAR-100 from the zoo's CIFAR-10 checkpoints: fine-tuning against training from scratch.

For each model and seed, trains on CIFAR-100 twice with the same budget (the first
``--train-images`` training images, ``--epochs`` epochs, the recipe ``finetune_sgd``): once
from the model's published CIFAR-10 checkpoint (a new 100-class classifier, everything else
loaded), once from a random initialisation (the same recipe with ``initial_weights=None``).
The package's ``evaluate`` measures the final epoch on the 10,000 CIFAR-100 test images.
Each run checkpoints every epoch under ``--runs``, so a rerun resumes; the weights stay there
for ``keras-cifar-zoo publish --dataset cifar100``.

    python benchmarks/transfer_cifar100.py --data-dir DATA --hub-dir hub \\
        --models resnet20_v1 elu_cnn --seeds 0 1 --train-images 10000 --epochs 5 \\
        --runs runs/transfer --json benchmarks/results/transfer-cifar100.json \\
        --plot docs/img/transfer-cifar100.png
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

STARTS = ("cifar10", "scratch")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["resnet20_v1", "elu_cnn"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--train-images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--recipe", default="finetune_sgd")
    parser.add_argument("--data-dir", help="folder holding cifar-100-python/")
    parser.add_argument("--hub-dir", help="local hub mirror with the CIFAR-10 checkpoints")
    parser.add_argument("--runs", default="runs/transfer", help="checkpoint folders")
    parser.add_argument("--json", help="write every number here")
    parser.add_argument("--plot", help="write the learning curves here (PNG)")
    args = parser.parse_args(argv)

    import os

    import keras_cifar_zoo as zoo

    if args.hub_dir:
        os.environ["KERAS_CIFAR_ZOO_HUB"] = str(args.hub_dir)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from time_to_94 import device_name

    from keras_cifar_zoo.data import describe_copy

    (x_train, y_train), test = zoo.load_cifar100(args.data_dir)
    train = (x_train[: args.train_images], y_train[: args.train_images])
    base = dataclasses.replace(zoo.get_recipe(args.recipe), epochs=args.epochs)
    recipes = {"cifar10": base, "scratch": dataclasses.replace(base, initial_weights=None)}
    runs = []
    for name in args.models:
        for seed in args.seeds:
            for start in STARTS:
                keras.backend.clear_session()
                folder = Path(args.runs) / f"{name}-{start}-s{seed}"
                began = time.perf_counter()
                history = zoo.fit(
                    name,
                    dataset="cifar100",
                    recipe=recipes[start],
                    data=train,
                    seed=seed,
                    checkpoint_dir=folder,
                    verbose=0,
                )
                wall = time.perf_counter() - began
                result = zoo.evaluate(history.model, data=test)
                runs.append(
                    {
                        "model": name,
                        "start": start,
                        "seed": seed,
                        "test_accuracy": result["accuracy"],
                        "test_loss": result["loss"],
                        "train_accuracy": history.history["accuracy"],
                        "train_loss": history.history["loss"],
                        "wall_s_this_call": round(wall, 1),
                        "checkpoint": str(folder / "model.keras"),
                    }
                )
                print(f"{name} {start} seed {seed}: {result['accuracy']:.4f}", flush=True)
    summary = {
        f"{name}/{start}": _stats([r for r in runs if (r["model"], r["start"]) == (name, start)])
        for name in args.models
        for start in STARTS
    }
    report = {
        "benchmark": "transfer_cifar100",
        "recipe": base.to_config(),
        "epochs": args.epochs,
        "train_images": len(train[0]),
        "test_images": len(test[0]),
        "data": describe_copy(args.data_dir, "train", dataset="cifar100")
        if args.data_dir
        else "CIFAR-100",
        "device": device_name(),
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "date": time.strftime("%Y-%m-%d"),
        "summary": summary,
        "runs": runs,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.plot:
        plot_curves(runs, args.models, args.plot)
    print(f"\n{args.epochs} epochs on {len(train[0])} CIFAR-100 images, seeds {args.seeds}")
    for key, stats in summary.items():
        print(f"{key:28} test accuracy {stats['mean']:.4f} +- {stats['std']:.4f}")
    return 0


def _stats(runs: list[dict]) -> dict[str, float]:
    values = [r["test_accuracy"] for r in runs]
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "std": std, "runs": len(values)}


def plot_curves(runs: list[dict], models: list[str], path: str) -> None:
    """Training accuracy per epoch, fine-tuned against from scratch, one panel per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(models), figsize=(5 * len(models), 3.6), squeeze=False)
    for ax, name in zip(axes[0], models, strict=True):
        for start, colour in zip(STARTS, ("tab:blue", "tab:orange"), strict=True):
            mine = [r for r in runs if (r["model"], r["start"]) == (name, start)]
            for i, run in enumerate(mine):
                epochs = range(1, len(run["train_accuracy"]) + 1)
                label = None
                if i == 0:
                    test = statistics.fmean(r["test_accuracy"] for r in mine)
                    label = f"from {start} (test {test:.1%})"
                ax.plot(epochs, run["train_accuracy"], color=colour, marker="o", label=label)
        ax.set_title(f"{name} on CIFAR-100")
        ax.set_xlabel("epoch")
        ax.set_ylabel("training accuracy")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
