"""``keras-cifar-zoo train-plan``: run a training plan under a wall-clock budget."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from keras_cifar_zoo.cli._args import folder, positive_float


def register(subparsers: Any) -> None:
    """Adds the ``train-plan`` command."""
    parser = subparsers.add_parser(
        "train-plan",
        help="run a JSON plan of training jobs under one time budget (resumable)",
        description="Run the jobs of PLAN (a JSON list of {model, recipe, seed, and optionally "
        "epochs, batch_size, precision, train_images, id}) in order, each checkpointed every "
        "epoch in OUT/<job id>/. The run stops before an epoch that would not fit the budget, "
        "or a few steps into one whose time was never measured; rerunning the same command "
        "resumes unfinished jobs from their last completed epoch and skips finished ones, and "
        "PLAN may gain jobs between runs. A job that fails is marked failed (its failed.json "
        "holds the error) and the next one runs. One train-plan at a time writes to OUT. A "
        "finished job leaves float16 weights and a metrics.json that 'keras-cifar-zoo publish "
        "--run-info' takes; OUT/summary.json lists every job's state.",
    )
    parser.add_argument("plan", type=Path, help="the plan file (JSON)")
    parser.add_argument("--out", type=folder, required=True, help="folder of the plan's outputs")
    parser.add_argument(
        "--time-budget",
        type=positive_float,
        help="seconds this call may train (default: no limit)",
    )
    parser.add_argument("--data-dir", help="folder holding the CIFAR-10 batches")
    parser.set_defaults(
        handler=_train_plan, flags={"out": "--out DIR", "data_dir": "--data-dir PATH"}
    )


def _train_plan(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.training.plan import load_plan, run_plan

    jobs = load_plan(args.plan)  # refused before anything is imported or trained
    rows = run_plan(jobs, args.out, time_budget=args.time_budget, data_dir=args.data_dir, verbose=2)
    for row in rows:
        accuracy = "" if row.accuracy is None else f"  test accuracy {row.accuracy:.4f}"
        print(f"{row.id:<48} {row.state:<8} {row.epochs_done}/{row.epochs} epochs{accuracy}")
    print(f"summary: {args.out / 'summary.json'}")
    return 0
