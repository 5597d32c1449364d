"""Run a training plan in one lent GPU window: stage here, train there, measure here.

A GPU window is short (15 minutes of device time, the machine's start included) and what
travels is small (64 MiB per call, 8 files of 16 MiB back), so the sequence is prepared and
rehearsed on the CPU (``tests/test_gpu_rehearsal.py``) and run once without exploration.
Everything the device does is a subcommand of this script, whose steps live in the
``gpu_window`` package beside it (``staging``, ``device``, ``after``, ``budget``, ``git_hub``,
``images``, ``common``); only numpy and the standard library are imported at module level,
so ``device-check`` runs there before Keras is installed.

The sequence, in this order (``PLAN`` a plan file, ``DATA`` a folder holding
``cifar-10-batches-py/``, e.g. the lossless copy):

Here, before the window::

    python scripts/gpu_plan_run.py budget --plan PLAN --seconds 450   # epochs that fit
    python -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
        --platform manylinux2014_x86_64 -d .whl keras namex optree    # Keras wheels in .whl/
    python scripts/gpu_plan_run.py stage --data-dir DATA --plan PLAN  # .gpu/, prints the calls
    python scripts/gpu_plan_run.py untrack-hub                        # hub/ (236 MiB) stays here

``stage`` refuses a stage folder that git does not ignore (it would travel in every call):
add ``/.gpu/`` to ``.git/info/exclude`` or pass ``--exclude``. It writes the training set as
N parts (``.gpu/partK/train-K-of-N.npz``; each about 45 MiB for N=2: the pixels are stored
after a lossless 2-D delta + subtract-green filter, which plain ``np.savez_compressed`` of
the raw pixels, 67 MiB a half, would not fit), copies the plan to ``.gpu/meta/`` and prints
each call, also written to ``.gpu/meta/calls.json``.

The agent's calls, back to back (a warm machine is given back 30 s after a call, and the
parts of earlier calls survive only on a warm machine); the exact strings come from
``stage``. With ``--parts 2``:

1. ``status``: ``can_start_another`` must be true.
2. ``run(carry=[".gpu/meta", ".gpu/part1"], timeout_s=60, command="nvidia-smi -L;
   python3 scripts/gpu_plan_run.py device-check --stage .gpu --through 1")``.
3. ``run(carry=[".gpu/meta", ".gpu/part2", ".whl"], timeout_s=<hard limit + 45>,
   command="<pip install .whl> && export ... && python3 scripts/gpu_plan_run.py device-train
   --stage .gpu --out .gpu/runs --time-budget S --hard-limit H --copy-to \\"$OUT\\"")``:
   joins the parts (refusing a missing or damaged one), runs the plan under the budget with
   the first 1,000 *training* images as a stand-in test split (run_plan needs one; the test
   set stays here), packs the outputs into ``.gpu/packed/runs.tar.NNN-of-MMM`` (15 MiB
   each) plus ``packed.json``, and copies batch 1 to ``$OUT``. A hard limit (SIGALRM) stops
   training in time to pack, so a slow epoch never costs the whole window.
4. Only if call 3 printed more batches, for K = 2..B: ``run(carry=[], timeout_s=60,
   command="python3 scripts/gpu_plan_run.py device-copy --packed .gpu/packed
   --out-dir \\"$OUT\\" --batch K")``.
5. ``give_back``.

Here, after the window::

    python scripts/gpu_plan_run.py restore-hub && python scripts/gpu_plan_run.py check-hub
    python scripts/gpu_plan_run.py unpack --parts FILES_AT_3 [FILES_AT_4 ...] --dest runs/gpu
    python scripts/gpu_plan_run.py evaluate --runs runs/gpu --data-dir DATA
    keras-cifar-zoo publish MODEL --checkpoint runs/gpu/ID/model.weights.h5 \\
        --run-info runs/gpu/ID/metrics.json --data-dir DATA --tag TAG

``evaluate`` measures each finished job on the real test set and rewrites its
``metrics.json`` (accuracy, loss, ``data``, ``training_data``); until then the device's
measurement, made on training images, is recorded as a stand-in, which ``publish`` refuses.

If call 2 or 3 lands on a fresh machine (too slow between calls), ``device-train`` stops
with the list of missing parts: redo calls 2 and 3 back to back.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if str(Path(__file__).resolve().parent) not in sys.path:  # loaded by path (the tests)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
if str(Path(__file__).resolve().parents[1]) not in sys.path:  # the package beside scripts/
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gpu_window.after import evaluate_runs, unpack
from gpu_window.budget import estimate_budget
from gpu_window.common import (
    CALLS_FILE,
    META_DIR,
    MIB,
    PACKED_DIR,
    ROOT,
    SCRIPT,
    DuplicatePartsError,
    GitStateError,
    MissingPartsError,
    StageError,
    UnsafeArchiveError,
    mib,
)
from gpu_window.device import check_parts, copy_batch, device_train, pack_runs
from gpu_window.git_hub import add_exclude_line, check_hub, restore_hub, travel_bytes, untrack_hub
from gpu_window.images import decode_images, encode_images
from gpu_window.staging import copy_call, stage

from keras_cifar_zoo.errors import IntegrityError, ZooError

__all__ = [  # the steps, for scripting the window from Python (and the rehearsal)
    "DuplicatePartsError",
    "GitStateError",
    "IntegrityError",
    "MissingPartsError",
    "StageError",
    "UnsafeArchiveError",
    "add_exclude_line",
    "check_parts",
    "copy_batch",
    "copy_call",
    "decode_images",
    "device_train",
    "encode_images",
    "estimate_budget",
    "evaluate_runs",
    "main",
    "pack_runs",
    "stage",
    "travel_bytes",
    "unpack",
]

# ---------------------------------------------------------------------------------------------
# command line


def _print_calls(document: dict[str, Any]) -> None:
    for call in document["calls"]:
        print(f"\n{call['title']} ({call['travel_mib']} MiB travels, of 64):")
        print(f"  carry:     {json.dumps(call['carry'])}")
        print(f"  timeout_s: {call['timeout_s']}")
        print(f"  command:   {call['command']}")
    follow = document["follow_up"]
    print(
        "\nonly if the training call prints more batches, for K = 2..B, back to back:\n"
        f"  carry: [], timeout_s: {follow['timeout_s']}, command: "
        f"{follow['command'].replace('--batch 2', '--batch K')}"
    )


def _cmd_stage(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.data import describe_copy, load_cifar10

    train, _ = load_cifar10(args.data_dir, download=False)
    try:
        label = describe_copy(args.data_dir, "train")
    except Exception:  # an archive rather than a folder: describe what was given
        label = f"CIFAR-10 training set from {args.data_dir}"
    document = stage(
        train,
        plan=args.plan,
        stage_dir=args.stage,
        repo=args.repo,
        parts=args.parts,
        training_data=label,
        time_budget=args.time_budget,
        hard_limit=args.hard_limit,
        exclude=args.exclude,
    )
    print(f"staged {len(train[0]):,} training images of {label}")
    for part in document["parts"]:
        print(f"  {part['file']}: {part['images']:,} images, {mib(part['bytes'])}")
    print(f"working tree that travels with every call: {document['working_tree_mib']} MiB")
    seconds = sum(c["timeout_s"] for c in document["calls"])
    print(
        f"device time at worst: the machine's start (1-2 min) + {seconds} s of calls + 60 s per "
        "extra batch + the gaps between calls (each under 30 s), of the 15 minutes"
    )
    print(f"jobs: {', '.join(document['jobs'])}")
    _print_calls(document)
    for warning in document["warnings"]:
        print(f"\nWARNING: {warning}")
    print(f"\nthe calls are also in {Path(args.stage) / META_DIR / CALLS_FILE}")
    return 0


def _cmd_device_check(args: argparse.Namespace) -> int:
    record = check_parts(args.stage, args.through)
    done = [r for r in record["parts"] if args.through is None or r["part"] <= args.through]
    for r in done:
        print(f"part {r['part']} of {len(record['parts'])}: {r['images']:,} images, intact")
    return 0


def _cmd_device_train(args: argparse.Namespace) -> int:
    result = device_train(
        args.stage,
        args.out,
        time_budget=args.time_budget,
        hard_limit=args.hard_limit,
        copy_to=args.copy_to,
        part_bytes=int(args.part_mib * MIB),
        verbose=args.verbose,
    )
    if result["hard_stop"]:
        print("hard limit reached: training was interrupted to pack what was saved")
    print("\njob states (accuracy: STAND-IN on the first 1,000 training images; the test")
    print("accuracy is measured on this project's machine by `evaluate` afterwards):")
    width = max([len(row["id"]) for row in result["summary"]] + [3])
    for row in result["summary"]:
        accuracy = "" if row["accuracy"] is None else f"  stand-in {row['accuracy']:.4f}"
        epochs = f"{row['epochs_done']}/{row['epochs']}"
        print(f"  {row['id']:<{width}} {row['state']:<8} {epochs:>7}{accuracy}")
    packed = result["packed"]
    batches = packed["batches"]
    size, parts = mib(packed["tar_bytes"]), len(packed["parts"])
    print(f"packed {len(packed['files'])} files, {size}, in {parts} parts, {len(batches)} batches")
    if result["copied"]:
        print(f"batch 1 copied to {args.copy_to}: {', '.join(result['copied'])}")
    packed_rel = Path(args.stage) / PACKED_DIR
    for k in range(2 if result["copied"] else 1, len(batches) + 1):
        call = copy_call(packed_rel.as_posix(), k)
        print(f"NEXT CALL, back to back: carry=[], timeout_s={call.timeout_s}, {call.command}")
    return 0


def _cmd_device_copy(args: argparse.Namespace) -> int:
    names = copy_batch(args.packed, args.out_dir, args.batch)
    print(f"copied batch {args.batch} to {args.out_dir}: {', '.join(names)}")
    return 0


def _cmd_unpack(args: argparse.Namespace) -> int:
    names = unpack(args.parts, args.dest, overwrite=args.overwrite)
    print(f"unpacked {len(names)} files into {args.dest}")
    print(f"next: python {SCRIPT} evaluate --runs {args.dest} --data-dir DATA")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    rows = evaluate_runs(args.runs, args.data_dir)
    width = max([len(row["id"]) for row in rows] + [3])
    print(f"{'job':<{width}} {'state':<8} {'epochs':>7} {'test acc':>8} {'TFLOP/s':>8}")
    for row in rows:
        accuracy = "" if row["accuracy"] is None else f"{row['accuracy']:.4f}"
        tflops = "" if row["tflops"] is None else f"{row['tflops']:.1f}"
        print(
            f"{row['id']:<{width}} {row['state']:<8} {row['epochs']:>7} {accuracy:>8} {tflops:>8}"
        )
    for row in rows:
        if row["state"] == "done":
            folder = Path(args.runs) / row["id"]
            print(
                f"keras-cifar-zoo publish {row['model']} --checkpoint {folder}/model.weights.h5 "
                f"--run-info {folder}/metrics.json --data-dir {args.data_dir} --tag TAG"
            )
    return 0


def _cmd_budget(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.training.plan import load_plan

    jobs = load_plan(args.plan)
    rows = estimate_budget(jobs, tflops=args.tflops, seconds=args.seconds, step_ms=args.step_ms)
    columns = {"gflops_per_image": "GFLOP/img", "epochs": "epochs", "epoch_s": "s/epoch"}
    columns |= {"seconds": "seconds", "cumulative_s": "total"}
    width = max([len(r["id"]) for r in rows] + [3])
    print(
        f"at {args.tflops:g} TFLOP/s effective + {args.step_ms:g} ms a step, in {args.seconds:g} s:"
    )
    print(f"{'job':<{width}} " + " ".join(f"{h:>9}" for h in columns.values()))
    for r in rows:
        mark = "" if r["fits"] else "  does not fit"
        print(f"{r['id']:<{width}} " + " ".join(f"{r[k]:>9}" for k in columns) + mark)
    total = rows[-1]["cumulative_s"] if rows else 0.0
    if total > args.seconds:
        print(f"the plan needs {total:g} s: scale its epochs by {args.seconds / total:.2f} or less")
    return 0


def _cmd_hub(args: argparse.Namespace) -> int:
    if args.command == "check-hub":
        ok, message = check_hub(args.repo)
        print(message, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 1
    action = untrack_hub if args.command == "untrack-hub" else restore_hub
    print(action(args.repo))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring for the order of the subcommands)."""
    parser = argparse.ArgumentParser(prog="gpu_plan_run.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("budget", help="estimated H200 seconds of each job from its FLOPs")
    p.add_argument("--plan", type=Path, required=True)
    p.add_argument("--seconds", type=float, default=450.0, help="training seconds available")
    p.add_argument("--tflops", type=float, default=100.0, help="effective TFLOP/s assumed")
    p.add_argument("--step-ms", type=float, default=0.0, help="overhead per step, ms")
    p.set_defaults(handler=_cmd_budget)

    p = sub.add_parser("stage", help="write the training-set parts and print the device calls")
    p.add_argument("--data-dir", type=Path, required=True, help="folder holding the batches")
    p.add_argument("--plan", type=Path, required=True)
    p.add_argument("--stage", type=Path, default=ROOT / ".gpu", help="git-ignored folder")
    p.add_argument("--parts", type=int, default=2, help="calls that carry the training set")
    p.add_argument("--repo", type=Path, default=ROOT, help="repository that travels")
    p.add_argument("--time-budget", type=float, default=450.0, help="training seconds there")
    p.add_argument("--hard-limit", type=float, help="stop training to pack (default budget+60)")
    p.add_argument("--exclude", action="store_true", help="add /STAGE/ to .git/info/exclude")
    p.set_defaults(handler=_cmd_stage)

    for name, helptext in (
        ("untrack-hub", "untrack hub/ and add /hub/ to .git/info/exclude"),
        ("restore-hub", "track hub/ again and remove /hub/ from .git/info/exclude"),
        ("check-hub", "exit 1 unless hub/ is tracked and not excluded"),
    ):
        p = sub.add_parser(name, help=helptext)
        p.add_argument("--repo", type=Path, default=ROOT)
        p.set_defaults(handler=_cmd_hub)

    p = sub.add_parser("device-check", help="(device) check that parts 1..K arrived intact")
    p.add_argument("--stage", type=Path, required=True)
    p.add_argument("--through", type=int, help="check parts 1..K (default: all)")
    p.set_defaults(handler=_cmd_device_check)

    p = sub.add_parser("device-train", help="(device) join, train the plan, pack the outputs")
    p.add_argument("--stage", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="run_plan's output folder")
    p.add_argument("--time-budget", type=float, required=True, help="training seconds")
    p.add_argument("--hard-limit", type=float, help="interrupt training (default budget+60)")
    p.add_argument("--copy-to", type=Path, help="copy batch 1 there ($OUT)")
    p.add_argument("--part-mib", type=float, default=15.0, help="size of a packed part")
    p.add_argument("--verbose", type=int, default=2, help="Keras fit verbosity")
    p.set_defaults(handler=_cmd_device_train)

    p = sub.add_parser("device-copy", help="(device) copy batch K of the packed parts")
    p.add_argument("--packed", type=Path, required=True)
    p.add_argument("--out-dir", type=Path, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.set_defaults(handler=_cmd_device_copy)

    p = sub.add_parser("unpack", help="join the returned parts and extract the runs")
    p.add_argument("--parts", type=Path, nargs="+", required=True, help="the calls' folders")
    p.add_argument("--dest", type=Path, required=True)
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(handler=_cmd_unpack)

    p = sub.add_parser("evaluate", help="measure finished jobs on the test set here")
    p.add_argument("--runs", type=Path, required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.set_defaults(handler=_cmd_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one subcommand; returns the exit status (2 for a refused input)."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ZooError as exc:  # the package's errors and this script's: refused inputs
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
