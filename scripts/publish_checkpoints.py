"""Publish the GPU runs of the first GPU training window into hub/ and weights_manifest.json.

Reads each run folder (``metrics.json``, ``train.log``, ``weights.fp16.weights.h5``) and calls
``keras_cifar_zoo.publish.publish`` on it, which measures the stored float16 weights
with this package's ``evaluate`` on the real CIFAR-10 test set, here, and writes
``hub/<repo_id>/`` and the manifest entry. Runs of the same model and recipe with other seeds
are measured the same way and recorded as the published seed's ``seed_runs``. Everything
written comes from the run's files or from this machine's measurements; the facts the files do
not hold (hardware sharing, JAX version, what happened to interrupted calls) are constants
below, stated once.

    python scripts/publish_checkpoints.py --results .gpu/results --data-dir .data
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HARDWARE = "NVIDIA H100 80GB HBM3 (one GPU shared by up to 7 concurrent training jobs)"
TRAINING = (
    "Trained {date} with fit_cifar10 (scripts/train_checkpoints.py, seed {seed}) under "
    "KERAS_BACKEND=jax (Keras {keras}, JAX 0.11.2) with the mixed_bfloat16 dtype policy, on one "
    "NVIDIA H100 80GB HBM3 shared by up to 7 concurrent training jobs, on the JPEG (q75) "
    "copy of CIFAR-10."
)
UNTRAINED = ROOT / "docs" / "untrained.json"  # planned runs that were not made, with reasons
# What the runs of that GPU window were trained on (their metrics.json predates the field).
JPEG_TRAINING = (
    "CIFAR-10 training set (50,000 images), JPEG q75 copy (every pixel differs slightly from "
    "the official release)"
)
TAGS = {"improved_sgd": "improved"}  # any other recipe is an article recipe: tag "article"
_EPOCH = re.compile(r"^Epoch (\d+)/(\d+)$")


def epochs_of_last_start(log: str) -> tuple[int, int]:
    """(number of starts, epochs completed after the last start) read from a Keras log."""
    lines = log.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Epoch 1/")]
    tail = lines[starts[-1] :] if starts else lines
    done = sum(1 for line in tail if re.match(r"^\d+/\d+ - \d+s", line))
    return len(starts), done


def read_metrics(job: Path) -> dict:
    """The run's metrics.json as a record's document (older key names renamed)."""
    from keras_cifar_zoo.training import run_record

    return run_record.read(job).to_dict()


def run_facts(job: Path) -> dict:
    """What the run's files say: run_info for publish, and the notes."""
    metrics = read_metrics(job)
    tag = TAGS.get(metrics["recipe"], "article")
    starts, done = epochs_of_last_start((job / "train.log").read_text())
    epochs = metrics["epochs"]
    if done != epochs:
        raise SystemExit(
            f"{job.name}: {done} epochs after the last start, {epochs} trained; "
            "the wall time of the last call would not cover the training"
        )
    notes = [
        TRAINING.format(date=metrics["date"], seed=metrics["seed"], keras=metrics["keras_version"])
    ]
    if metrics["history_params"].get("model_selection"):
        notes.append(
            f"Recipe {metrics['recipe']} validates on the test set, as its article does, and "
            f"EarlyStopping ended training after epoch {epochs} of "
            f"{metrics['epochs_planned']}; the weights are that last epoch's, not the best "
            "epoch's."
        )
    else:
        notes.append("Final-epoch weights of a fixed schedule; nothing was selected on test data.")
    if starts > 1:
        notes.append(
            f"An earlier call was stopped at its time limit before it completed epoch 1; all "
            f"{epochs} epochs ran in the next call, whose fit_cifar10 wall time is the "
            "training time given."
        )
    for run in json.loads(UNTRAINED.read_text())["runs"]:
        if (run["model"], run["tag"]) == (metrics["model"], tag):
            notes.append(f"Not made: {run['run']}: {run['reason']}.")
    notes.append(
        "Accuracy measured by keras_cifar_zoo.evaluate with TensorFlow on a CPU, through the "
        f"published float16 file; on the GPU machine right after training (JAX, float32 "
        f"weights) the same run measured {metrics['accuracy'] * 100:.2f}%."
    )
    from keras_cifar_zoo.training.run_record import RunRecord

    record = RunRecord.from_dict(metrics)
    run_info = RunRecord(
        model=record.model,
        recipe=record.recipe,
        seed=record.seed,
        epochs=epochs,
        # The fit_cifar10 call: data loading, compilation, training, per-epoch checkpoints.
        wall_time_s=round(record.wall_time_s, 1),
        hardware=HARDWARE,
        backend=record.backend,
        keras_version=record.keras_version,
        training_data=record.training_data or JPEG_TRAINING,
    ).to_dict()
    return {"metrics": metrics, "run_info": run_info, "notes": " ".join(notes), "tag": tag}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=ROOT / ".gpu" / "results")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".data")
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--only", nargs="*", help="model names to publish (default: all)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    from keras_cifar_zoo import evaluate, load_cifar10, load_model
    from keras_cifar_zoo.data import describe_copy
    from keras_cifar_zoo.publish import publish

    _, test = load_cifar10(args.data_dir)
    jobs = sorted(p.parent for p in args.results.glob("*/metrics.json"))
    groups: dict[tuple[str, str], list[Path]] = {}
    for job in jobs:
        m = read_metrics(job)
        groups.setdefault((m["model"], m["recipe"]), []).append(job)
    models = [model for model, _ in groups]
    if len(models) != len(set(models)):
        raise SystemExit("a model with two recipes: choose its default tag by accuracy first")

    for (model, recipe), runs in sorted(groups.items()):
        if args.only and model not in args.only:
            continue
        facts = {job: run_facts(job) for job in runs}
        runs.sort(key=lambda job: facts[job]["metrics"]["seed"])
        published, others = runs[0], runs[1:]
        run_info = dict(facts[published]["run_info"])
        run_info |= {"data": describe_copy(args.data_dir)}
        seed_runs = []
        if others:
            for job in runs:  # every seed measured the same way, here
                keras_model = load_model(model, weights=job / "weights.fp16.weights.h5")
                result = evaluate(keras_model, data=test)
                seed_runs.append(
                    {
                        "seed": facts[job]["metrics"]["seed"],
                        "accuracy": result["accuracy"],
                        "loss": result["loss"],
                    }
                )
                print(f"{job.name}: seed {seed_runs[-1]['seed']} accuracy {result['accuracy']}")
            run_info["seed_runs"] = seed_runs
        result = publish(
            model,
            published / "weights.fp16.weights.h5",
            tag=facts[published]["tag"],
            root=args.root,
            recipe=recipe,
            run_info=run_info,
            data=test,
            notes=facts[published]["notes"],
        )
        entry = result.entry
        if seed_runs and seed_runs[0]["accuracy"] != entry.metrics.accuracy:
            raise SystemExit(f"{model}: seed 0 measured twice gave two numbers")
        print(
            f"PUBLISHED {model} {entry.identifier} accuracy {entry.metrics.accuracy:.4f} "
            f"loss {entry.metrics.loss:.4f} {entry.dtype} "
            f"{sum(f.size for f in entry.files):,} bytes -> {result.folder}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
