"""``keras-cifar-zoo export NAME --weights W --format F --out PATH``: a model for serving."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from keras_cifar_zoo.cli._args import HUB_FLAGS, add_hub_options
from keras_cifar_zoo.errors import InvalidArgumentError, ZooError
from keras_cifar_zoo.export import FORMATS, check_output_path


def new_path(text: str) -> Path:
    """``--out``: a path that does not exist yet and whose folders can be created."""
    try:
        return check_output_path(text)
    except ZooError as exc:
        # argparse adds its own "argument --out:" prefix; drop the library's "Received:" tail.
        raise argparse.ArgumentTypeError(str(exc).partition(" Received: ")[0]) from None


def register(subparsers: Any) -> None:
    """Adds the ``export`` command."""
    parser = subparsers.add_parser(
        "export",
        help="export a model as a TensorFlow SavedModel, ONNX or LiteRT file for serving",
        description="Build a zoo model with its weights and export it with Keras's "
        "model.export: a TensorFlow SavedModel folder, an .onnx file or a LiteRT .tflite file. "
        "The artifact takes raw RGB pixels in 0-255 (float32, batch x 32 x 32 x 3) and returns "
        "the class probabilities. --out must not exist: nothing is overwritten, and a failed "
        "export leaves nothing behind. onnx needs the export extra: "
        'pip install "keras-cifar-zoo[export]".',
    )
    parser.add_argument("name", help="a model name from 'keras-cifar-zoo list'")
    parser.add_argument(
        "--weights",
        help="a .weights.h5/.weights.json/.keras file, 'cifar10' or 'cifar10:<tag>' (default: "
        "'cifar10' for a model with a published checkpoint; required otherwise)",
    )
    parser.add_argument(
        "--format",
        choices=tuple(FORMATS),
        default="tf_saved_model",
        help="tf_saved_model (a folder, the default), onnx (a .onnx file) or litert "
        "(a .tflite file)",
    )
    parser.add_argument(
        "--out", type=new_path, required=True, help="the folder or file to create (must not exist)"
    )
    add_hub_options(parser, "never use the network; only use the cache")
    parser.set_defaults(
        handler=_export,
        flags={
            "weights": "--weights PATH",
            "format": "--format FORMAT",
            "path": "--out PATH",
            **HUB_FLAGS,
        },
    )


def _export(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.export import export_model

    options: dict[str, Any] = {
        "hub_dir": args.hub_dir,
        "cache_dir": args.cache_dir,
        "endpoint": args.endpoint,
        "revision": args.revision,
    }
    if args.offline:
        options["local_files_only"] = True
    if args.weights is None:
        args.weights = _published_weights(args.name)
    start = time.perf_counter()
    path = export_model(
        args.name,
        args.out,
        format=args.format,
        weights=args.weights,
        **{k: v for k, v in options.items() if v is not None},
    )
    seconds = time.perf_counter() - start
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    size = sum(p.stat().st_size for p in files)
    print(f"exported {args.name} ({args.weights}) as {args.format} in {seconds:.1f} s")
    print(f"{path}  {size:,} bytes")
    return 0


def _published_weights(name: str) -> str:
    """``cifar10`` when ``name`` has a published checkpoint; an exported model without trained
    weights serves nothing useful, so otherwise the weights must be named."""
    from keras_cifar_zoo.registry import list_models
    from keras_cifar_zoo.weights.manifest import load_manifest

    if name in list_models() and not load_manifest().for_model(name, "cifar10"):
        raise InvalidArgumentError(
            f"{name} has no published CIFAR-10 checkpoint: pass the weights to export with "
            f"--weights PATH (a .weights.h5, .weights.json or .keras file). Received: "
            f"name={name!r}"
        )
    return "cifar10"
