"""``keras-cifar-zoo list [PATTERN]`` and ``keras-cifar-zoo info NAME``: browse the registry."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TYPE_CHECKING, Any

from keras_cifar_zoo.cli import CommandError
from keras_cifar_zoo.cli._table import format_fields, format_table
from keras_cifar_zoo.errors import shown

if TYPE_CHECKING:  # imported by the handlers: --help must not start Keras
    from keras_cifar_zoo.preprocessing import Preprocessing
    from keras_cifar_zoo.registry import ModelInfo


def register(subparsers: Any) -> None:
    """Adds the ``list`` and ``info`` commands."""
    parser = subparsers.add_parser(
        "list",
        help="list the zoo's models",
        description="List the registered models with their article, size and preprocessing.",
    )
    parser.add_argument(
        "pattern", nargs="?", help="shell-style pattern on the name, e.g. 'vgg*' or '*dropout'"
    )
    parser.add_argument("--json", action="store_true", help="print JSON records instead")
    parser.set_defaults(handler=_list)

    parser = subparsers.add_parser(
        "info",
        help="show everything the zoo knows about a model",
        description="Show a model's metadata: architecture, parameters, preprocessing, weights.",
    )
    parser.add_argument("name", help="a model name from 'keras-cifar-zoo list'")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print a JSON record instead")
    output.add_argument(
        "--summary",
        action="store_true",
        help="also build the model (offline, no weights) and print its Keras summary",
    )
    parser.set_defaults(handler=_info)


def preprocessing_summary(preprocessing: Preprocessing) -> str:
    """Returns a preset's name and formula, e.g. ``"rescale_0_1 (x/255)"``."""
    return str(preprocessing).partition(": ")[0]


def _record(info: ModelInfo) -> dict[str, Any]:
    return dataclasses.asdict(info) | {"preprocessing": info.preprocessing.to_config()}


def _list(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.registry import list_models
    from keras_cifar_zoo.zoo import model_info

    names = list_models(args.pattern)
    if not names:
        raise CommandError(
            f"No model matches {shown(args.pattern)}. Patterns are shell-style ('vgg*', "
            f"'resnet?0_v1'); run `keras-cifar-zoo list` to see all {len(list_models())} "
            f"models. Received: pattern={shown(args.pattern)}"
        )
    infos = [model_info(name) for name in names]
    if args.json:
        print(json.dumps([_record(info) for info in infos], indent=2))
        return 0
    rows = [
        (
            info.name,
            info.article,
            info.family,
            f"{info.num_params:,}",
            preprocessing_summary(info.preprocessing),
            ", ".join(info.weights) or "-",
        )
        for info in infos
    ]
    headers = ("NAME", "ARTICLE", "FAMILY", "PARAMS", "PREPROCESSING", "WEIGHTS")
    print(format_table(headers, rows, right=(3,)))
    print(
        f"\n{len(names)} model{'s' if len(names) != 1 else ''}; details: keras-cifar-zoo info NAME"
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.zoo import load_model, model_info

    info = model_info(args.name)
    if args.json:
        print(json.dumps(_record(info), indent=2))
        return 0
    preprocessing = info.preprocessing
    height, width, channels = info.input_shape
    fields = [
        ("name", info.name),
        ("family", info.family),
        ("article", info.article),
        ("description", info.description),
        ("parameters", f"{info.num_params:,}"),
        ("input shape", f"{height}x{width}x{channels} (height and width >= {info.min_input_size})"),
        ("preprocessing", preprocessing_summary(preprocessing)),
        ("", preprocessing.description),
        ("default recipe", info.default_recipe),
        ("imagenet network", info.imagenet_network or "-"),
        ("weights", ", ".join(info.weights) or "none published yet"),
    ]
    print(format_fields(fields))
    if args.summary:
        model = load_model(info.name)
        print()
        model.summary()
        built = model.count_params()
        if built != info.num_params:  # the registry's count is part of the API
            raise CommandError(
                f"{info.name} built with {built:,} parameters but the registry says "
                f"{info.num_params:,}; please report this. Received: name={info.name!r}"
            )
    return 0
