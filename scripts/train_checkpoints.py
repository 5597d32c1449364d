"""Train several zoo models with fit_cifar10 in one call (the GPU machine's way of working).

Each job is ``name:recipe:epochs:batch:seed`` (empty fields take the recipe's values) and runs in
its own process, several at once on one GPU. A job writes under ``RUNS/<job-id>/``: its
checkpoints (a rerun resumes them), ``history.csv``, ``metrics.json`` and
``weights.fp16.weights.h5``. ``metrics.json`` uses the weights manifest's own keys (test
``accuracy``, ``loss`` and ``num_images`` from this package's ``evaluate``, ``epochs`` trained,
``wall_time_s``, ``hardware``, ``backend``, ``keras_version``, ``data``, ``training_data``), so
``keras-cifar-zoo publish --run-info metrics.json`` takes it as it is.
``--pack DEST`` then tars the finished jobs' metrics, histories and float16 weights into parts of
at most 15 MiB, the size the GPU machine can send back.

    KERAS_BACKEND=jax python scripts/train_checkpoints.py --runs /tmp/runs --data /tmp/cifar \
        --parallel 4 --deadline 540 resnet20_v1:improved_sgd::: simple_cnn:article_001:::
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tarfile
import time
from pathlib import Path


def job_id(spec: str) -> str:
    return spec.replace(":", "_").replace("__", "_").strip("_")


def run_job(spec: str, runs: Path, data: str, precision: str) -> None:
    import h5py
    import keras
    import numpy as np

    import keras_cifar_zoo as zoo
    from keras_cifar_zoo.training.plan import hardware_description

    name, recipe, epochs, batch, seed = (spec.split(":") + [""] * 5)[:5]
    out = runs / job_id(spec)
    out.mkdir(parents=True, exist_ok=True)
    keras.config.set_dtype_policy(precision)
    recipe_obj = zoo.get_recipe(recipe or name)
    epochs = int(epochs) if epochs else recipe_obj.epochs
    batch = int(batch) if batch else recipe_obj.batch_size
    seed = int(seed) if seed else 0

    class FirstEpoch(keras.callbacks.Callback):
        """The first epoch this call trains: 0 unless it resumed from the checkpoint."""

        first: int | None = None

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            if self.first is None:
                self.first = epoch

    first_epoch = FirstEpoch()
    start = time.time()
    history = zoo.fit_cifar10(
        name,
        recipe=recipe_obj,
        epochs=epochs,
        batch_size=batch,
        checkpoint_dir=out / "checkpoint",
        seed=seed,
        verbose=2,
        data_dir=data,
        steps_per_execution=4,
        callbacks=[first_epoch],
    )
    wall = time.time() - start
    model = history.model
    model.save_weights(out / "weights.weights.h5")
    keras.config.set_dtype_policy("float32")
    fresh = zoo.load_model(name)
    fresh.load_weights(out / "weights.weights.h5")
    result = zoo.evaluate(fresh, data_dir=data)
    metrics = {
        # The manifest's keys, as publish(run_info=...) takes them.
        "recipe": recipe_obj.name,
        "seed": seed,
        "epochs": len(history.history["loss"]),  # trained: fewer if early stopping fired
        # A resumed call's wall time misses the earlier calls: left out (null), publish then
        # asks for the training time rather than recording part of it.
        "wall_time_s": round(wall, 1) if first_epoch.first == 0 else None,
        "hardware": hardware_description(),
        "backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "date": datetime.date.today().isoformat(),
        "accuracy": result["accuracy"],
        "loss": result["loss"],
        "num_images": result["num_images"],
        "data": zoo.data.describe_copy(data) if data else "CIFAR-10 test set (10,000 images)",
        "training_data": (
            zoo.data.describe_copy(data, "train") if data else "CIFAR-10 training set"
        ),
        # The run's own facts, which the manifest does not record.
        "model": name,
        "epochs_planned": epochs,
        "batch_size": batch,
        "precision": precision,
        "wall_time_s_last_call": round(wall, 1),
        "per_class_accuracy": result["per_class_accuracy"],
        "final_train_accuracy": history.history["accuracy"][-1],
        "python": platform.python_version(),
        "history_params": {
            k: v for k, v in history.params.items() if isinstance(v, (str, int, float))
        },
    }
    with (
        h5py.File(out / "weights.weights.h5") as src,
        h5py.File(out / "weights.fp16.weights.h5", "w") as dst,
    ):

        def copy(name_, obj):
            if isinstance(obj, h5py.Dataset):
                value = obj[()]
                if value.dtype == np.float32:
                    value = value.astype(np.float16)
                dst.create_dataset(name_, data=value)
            else:
                dst.require_group(name_)

        src.visititems(copy)
        for key, value in src.attrs.items():
            dst.attrs[key] = value
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"DONE {spec} acc={result['accuracy']:.4f} wall={wall:.0f}s", flush=True)


def schedule(
    specs: list[str], runs: Path, data: str, precision: str, parallel: int, deadline: float
) -> None:
    pending = [s for s in specs if not (runs / job_id(s) / "metrics.json").exists()]
    running: list[tuple[str, subprocess.Popen]] = []
    env = dict(os.environ, XLA_PYTHON_CLIENT_MEM_FRACTION=f"{0.9 / parallel:.3f}")
    end = time.time() + deadline
    while pending or running:
        while pending and len(running) < parallel:
            spec = pending.pop(0)
            cmd = [
                sys.executable,
                __file__,
                "--runs",
                str(runs),
                "--data",
                data,
                "--precision",
                precision,
                "--single",
                spec,
            ]
            with open(runs / f"{job_id(spec)}.log", "a") as log:  # the child keeps its copy
                proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            running.append((spec, proc))
            print(f"START {spec}", flush=True)
        time.sleep(5)
        for spec, proc in list(running):
            if proc.poll() is not None:
                running.remove((spec, proc))
                print(f"EXIT {spec} rc={proc.returncode}", flush=True)
        if time.time() > end:
            for spec, proc in running:
                proc.kill()
                print(f"STOPPED at deadline {spec} (resumes from its checkpoint)", flush=True)
            break


def pack(runs: Path, dest: Path, part_mib: int, select: str) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    done = sorted(
        p.parent
        for p in runs.glob("*/metrics.json")
        if (select[1:] not in p.parent.name if select.startswith("!") else select in p.parent.name)
    )
    archive = dest / "runs.tar"
    with tarfile.open(archive, "w") as tar:
        for job in done:
            for f in ("metrics.json", "checkpoint/history.csv", "weights.fp16.weights.h5"):
                if (job / f).exists():
                    tar.add(job / f, arcname=f"{job.name}/{f}")
            for log in runs.glob(f"{job.name}.log"):
                tar.add(log, arcname=f"{job.name}/train.log")
    data = archive.read_bytes()
    archive.unlink()
    size = part_mib * 2**20
    for i in range(0, len(data), size):
        (dest / f"runs.tar.part{i // size:02d}").write_bytes(data[i : i + size])
    print(f"packed {len(done)} jobs, {len(data) / 2**20:.1f} MiB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("jobs", nargs="*")
    parser.add_argument("--runs", type=Path, required=True)
    parser.add_argument("--data", default="")
    parser.add_argument("--precision", default="mixed_bfloat16")
    parser.add_argument("--parallel", type=int, default=1)
    parser.add_argument("--deadline", type=float, default=1e9)
    parser.add_argument("--single")
    parser.add_argument("--pack", type=Path)
    parser.add_argument("--select", default="")
    parser.add_argument("--part-mib", type=int, default=15)
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    if args.single:
        run_job(args.single, args.runs, args.data, args.precision)
    elif args.pack:
        pack(args.runs, args.pack, args.part_mib, args.select)
    else:
        schedule(args.jobs, args.runs, args.data, args.precision, args.parallel, args.deadline)


if __name__ == "__main__":
    main()
