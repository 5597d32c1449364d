"""``keras-cifar-zoo download NAME`` and ``keras-cifar-zoo publish NAME --checkpoint PATH``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from keras_cifar_zoo.cli import UsageError
from keras_cifar_zoo.cli._args import (
    HUB_FLAGS,
    add_dataset,
    add_hub_options,
    folder,
    positive_float,
    positive_int,
)


def register(subparsers: Any) -> None:
    """Adds the ``download`` and ``publish`` commands."""
    parser = subparsers.add_parser(
        "download",
        help="fetch and verify a model's weights",
        description="Fetch a model's published CIFAR-10 checkpoint (or, with --imagenet, the "
        "Keras Applications VGG file) into the local cache, check its hash and print where it "
        "is. Later loads then work offline (HF_HUB_OFFLINE=1).",
    )
    parser.add_argument("name", help="a model name from 'keras-cifar-zoo list'")
    add_dataset(parser, "whose checkpoint")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--tag", help="checkpoint tag (default: the model's default checkpoint)")
    which.add_argument(
        "--imagenet", action="store_true", help="fetch the ImageNet VGG file into Keras's cache"
    )
    add_hub_options(parser, "never use the network; only check the cache")
    parser.set_defaults(
        handler=_download,
        flags=HUB_FLAGS,
    )

    parser = subparsers.add_parser(
        "publish",
        help="publish a trained checkpoint into hub/ and the weights manifest",
        description="Evaluate a checkpoint with keras_cifar_zoo.evaluate, write "
        "hub/<repo_id>/ as Keras saves a model to the Hugging Face Hub (config.json, "
        "metadata.json, model.weights.h5: float16 when the accuracy holds), with "
        "keras_cifar_zoo.json, a model card and the training log, hash the weights and update "
        "weights_manifest.json. --push uploads the folder to the Hugging Face Hub.",
    )
    parser.add_argument("name", help="the zoo model the checkpoint belongs to")
    parser.add_argument(
        "--checkpoint", required=True, help="a .weights.h5, .weights.json or .keras file"
    )
    parser.add_argument("--tag", default="article", help="checkpoint tag (default: article)")
    add_dataset(parser, "what the checkpoint was trained on and is measured on")
    parser.add_argument(
        "--root",
        type=folder,
        default=".",
        help="repository root holding hub/ and weights_manifest.json",
    )
    parser.add_argument("--repo-id", help="Hub repository (default: keras-cifar-zoo/NAME-TAG)")
    parser.add_argument("--recipe", help="recipe that trained it (default: from --run-info)")
    parser.add_argument(
        "--run-info",
        help="JSON file with epochs, wall_time_s, hardware, backend, training_data (and "
        "optionally keras_version, seed, seed_runs, data, date, recipe), such as the metrics.json "
        "a train-plan job writes; the options below override it",
    )
    parser.add_argument("--epochs", type=positive_int, help="epochs trained")
    parser.add_argument("--wall-time", type=positive_float, help="training wall time in seconds")
    parser.add_argument("--hardware", help="hardware it was trained on, e.g. 'NVIDIA H100'")
    parser.add_argument("--backend", help="Keras backend used for training")
    parser.add_argument("--seed", type=int, help="random seed of the run")
    parser.add_argument(
        "--training-data",
        help="the copy of the training set it was trained on, e.g. 'CIFAR-10 training set, "
        "lossless copy'",
    )
    parser.add_argument(
        "--data-name",
        help="the test-set copy the metrics are measured on (default: what --data-dir's "
        "SOURCE.txt says)",
    )
    parser.add_argument("--data-dir", help="folder holding the CIFAR-10 test set")
    parser.add_argument(
        "--dtype", choices=("auto", "float16", "float32"), default="auto", help="storage dtype"
    )
    parser.add_argument(
        "--default",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="make it the model's default checkpoint (default: if it has none)",
    )
    parser.add_argument(
        "--training-log",
        help="per-epoch training log to publish as training_log.csv: a CSV with an 'epoch' "
        "column, such as the history.csv fit_cifar10 writes in its checkpoint folder",
    )
    parser.add_argument(
        "--seed-run",
        action="append",
        default=[],
        metavar="METRICS_JSON",
        help="the metrics.json of another seed of the same run (repeat for each): the manifest "
        "and model card list every seed with their mean and standard deviation",
    )
    parser.add_argument(
        "--seed-checkpoint",
        action="append",
        default=[],
        metavar="TAG",
        help="the tag of another seed of the same run, already published for this model and "
        "dataset (repeat for each): listed with the --seed-run seeds, with the numbers its "
        "entry records",
    )
    parser.add_argument("--notes", default="", help="free text for the manifest and model card")
    parser.add_argument(
        "--max-shard-size",
        type=positive_float,
        help="shard the weights into files of at most this many GB",
    )
    parser.add_argument("--push", action="store_true", help="upload the folder to the Hub")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="with --push: list what would be uploaded, send nothing",
    )
    parser.add_argument("--endpoint", help="Hub URL for --push (default: $HF_ENDPOINT)")
    parser.set_defaults(handler=_publish, flags=PUBLISH_FLAGS)


def _download(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.weights import download_weights

    options: dict[str, Any] = {"cache_dir": args.cache_dir}
    if args.offline:
        options["local_files_only"] = True
    if args.imagenet:
        for flag in ("hub_dir", "endpoint", "revision"):
            if getattr(args, flag):
                raise UsageError(f"--{flag.replace('_', '-')} does not apply to --imagenet")
        path = download_weights(args.name, "imagenet", **_given(options))
    else:
        weights = args.dataset if args.tag is None else f"{args.dataset}:{args.tag}"
        options |= {"hub_dir": args.hub_dir, "endpoint": args.endpoint, "revision": args.revision}
        path = download_weights(args.name, weights, **_given(options))
    print(path)
    return 0


def _given(options: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in options.items() if v is not None}


PUBLISH_FLAGS = {
    "checkpoint": "--checkpoint PATH",
    "tag": "--tag TAG",
    "dataset": "--dataset NAME",
    "root": "--root DIR",
    "repo_id": "--repo-id ID",
    "recipe": "--recipe NAME",
    "run_info": "--run-info FILE",
    "epochs": "--epochs N",
    "wall_time_s": "--wall-time S",
    "hardware": "--hardware TEXT",
    "backend": "--backend NAME",
    "training_data": "--training-data TEXT",
    "data_dir": "--data-dir PATH",
    "dtype": "--dtype D",
    "default": "--default",
    "training_log": "--training-log FILE",
    "seed_runs": "--seed-run FILE",
    "seed_checkpoints": "--seed-checkpoint TAG",
    "max_shard_size": "--max-shard-size GB",
    "endpoint": "--endpoint URL",
}
"""publish's keyword arguments (and run_info keys) as its flags spell them."""


def _publish(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.publish import publish

    run_info: dict[str, Any] = {}
    if args.run_info:
        path = Path(args.run_info)
        try:
            run_info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"--run-info {path}: cannot read it as JSON ({exc})") from None
        if not isinstance(run_info, dict):
            raise UsageError(f"--run-info {path}: expected a JSON object")
    overrides = {
        "epochs": args.epochs,
        "wall_time_s": args.wall_time,
        "hardware": args.hardware,
        "backend": args.backend,
        "seed": args.seed,
        "training_data": args.training_data,
    }
    run_info |= _given(overrides)  # an option beats the --run-info key of the same name
    result = publish(
        args.name,
        args.checkpoint,
        tag=args.tag,
        dataset=args.dataset,
        root=args.root,
        repo_id=args.repo_id,
        default=args.default,
        recipe=args.recipe,
        run_info=run_info,
        data_name=args.data_name,
        data_dir=args.data_dir,
        dtype=args.dtype,
        max_shard_size=args.max_shard_size,
        training_log=args.training_log,
        seed_runs=args.seed_run,
        seed_checkpoints=args.seed_checkpoint,
        notes=args.notes,
        push=args.push or args.dry_run,
        dry_run=args.dry_run,
        endpoint=args.endpoint,
    )
    entry = result.entry
    print(f"Published {entry.model} {entry.identifier} -> {result.folder}")
    f16 = "" if result.float16_accuracy is None else f", float16 {result.float16_accuracy:.4f}"
    print(
        f"  accuracy {entry.metrics.accuracy:.4f} ({entry.metrics.data}); "
        f"float32 {result.float32_accuracy:.4f}{f16}; stored as {entry.dtype}"
    )
    for f in entry.files:
        print(f"  {f.name}  {f.size:,} bytes  sha256 {f.sha256}")
    print(f"  manifest: {result.manifest_path}")
    if result.push is not None:
        verb = "would upload" if result.push.dry_run else "uploaded"
        target = f"{result.push.endpoint}/{result.push.repo_id}"
        print(f"  {verb} {len(result.push.files)} files to {target}")
        for name in result.push.files:
            print(f"    {name}")
    return 0
