"""``keras-cifar-zoo list [PATTERN]`` and ``keras-cifar-zoo info NAME``: browse the registry."""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import TYPE_CHECKING, Any

from keras_cifar_zoo.cli import CommandError
from keras_cifar_zoo.cli._args import HUB_FLAGS
from keras_cifar_zoo.cli._table import format_fields, format_table
from keras_cifar_zoo.errors import shown

if TYPE_CHECKING:  # imported by the handlers: --help must not start Keras
    from keras_cifar_zoo.preprocessing import Preprocessing
    from keras_cifar_zoo.registry import ModelInfo
    from keras_cifar_zoo.weights.manifest import CheckpointEntry

LIST_WIDTH = 100
"""``list`` prints at most this many characters a line."""


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
    parser.add_argument(
        "--hub-dir",
        help="local hub mirror holding <repo_id>/ folders, for the 'weights from' line "
        "(default: $KERAS_CIFAR_ZOO_HUB, else the checkout's hub/ when run from a source "
        "checkout; '' for none)",
    )
    parser.set_defaults(handler=_info, flags={"hub_dir": HUB_FLAGS["hub_dir"]})


def preprocessing_summary(preprocessing: Preprocessing) -> str:
    """Returns a preset's name and formula, e.g. ``"rescale_0_1 (x/255)"``."""
    return str(preprocessing).partition(": ")[0]


def _checkpoints(name: str) -> list[CheckpointEntry]:
    """The model's published checkpoints: by dataset, the default first."""
    from keras_cifar_zoo.weights.manifest import load_manifest

    return load_manifest().for_model(name)


def _default(entries: list[CheckpointEntry], dataset: str) -> CheckpointEntry | None:
    """The checkpoint ``weights=dataset`` loads, or None."""
    on = [e for e in entries if e.dataset == dataset]
    return next((e for e in on if e.default), on[0] if on else None)


def _checkpoint_record(entry: CheckpointEntry, default: bool) -> dict[str, Any]:
    return {
        "weights": entry.identifier,
        "default": default,
        "accuracy": entry.metrics.accuracy,
        "recipe": entry.recipe.name,
        "epochs": entry.metrics.epochs,
    }


def _record(info: ModelInfo) -> dict[str, Any]:
    entries = _checkpoints(info.name)
    defaults = {id(_default(entries, e.dataset)) for e in entries}
    checkpoints = [_checkpoint_record(e, id(e) in defaults) for e in entries]
    return dataclasses.asdict(info) | {
        "preprocessing": info.preprocessing.to_config(),
        "checkpoints": checkpoints,
    }


def _accuracy(entry: CheckpointEntry | None) -> str:
    return "-" if entry is None else f"{entry.metrics.accuracy * 100:.2f}%"


def _list(args: argparse.Namespace) -> int:
    import textwrap

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
    rows = []
    for info in infos:
        entries = _checkpoints(info.name)
        rows.append(
            (
                info.name,
                info.article,
                info.family,
                f"{info.num_params:,}",
                info.preprocessing.name,
                _accuracy(_default(entries, "cifar10")),
                _accuracy(_default(entries, "cifar100")),
            )
        )
    headers = ("NAME", "ARTICLE", "FAMILY", "PARAMS", "PREPROCESSING", "CIFAR-10", "CIFAR-100")
    print(format_table(headers, rows, right=(3, 5, 6)))
    notes = ["CIFAR-10, CIFAR-100: test accuracy of weights='cifar10', 'cifar100' (- if none)"]
    imagenet = [info.name for info in infos if info.imagenet_network]
    if imagenet:
        notes.append(f"ImageNet weights (weights='imagenet'): {', '.join(imagenet)}")
    notes.append(
        f"{len(names)} model{'s' if len(names) != 1 else ''}; details: keras-cifar-zoo info NAME"
    )
    print()
    for note in notes:
        print(textwrap.fill(note, LIST_WIDTH, subsequent_indent="  "))
    return 0


def _checkpoint_line(entry: CheckpointEntry, default: bool) -> str:
    m = entry.metrics
    which = f" (default for '{entry.dataset}')" if default else ""
    return (
        f"{entry.identifier}{which}: {m.accuracy * 100:.2f}% test accuracy, recipe "
        f"{entry.recipe.name}, {m.epochs} epochs"
    )


def _weights_from(name: str, entries: list[CheckpointEntry], hub_dir: str | None) -> str:
    """Where ``load_model(name, weights=...)`` takes the default checkpoint's files from."""
    from keras_cifar_zoo.weights import resolve_weights

    entry = _default(entries, "cifar10") or entries[0]
    options = {} if hub_dir is None else {"hub_dir": hub_dir}
    source = resolve_weights(name, entry.identifier, **options)
    return source.where()


def _info(args: argparse.Namespace) -> int:
    from keras_cifar_zoo.zoo import load_model, model_info

    info = model_info(args.name)
    if args.json:
        print(json.dumps(_record(info), indent=2))
        return 0
    preprocessing = info.preprocessing
    height, width, channels = info.input_shape
    entries = _checkpoints(info.name)
    defaults = {id(_default(entries, e.dataset)) for e in entries}
    recipe = info.default_recipe
    cifar10 = _default(entries, "cifar10")
    if cifar10 is not None and cifar10.recipe.name != recipe:
        recipe += (
            f" (what fit_cifar10 trains with; the '{cifar10.dataset}' checkpoint was trained "
            f"with {cifar10.recipe.name})"
        )
    lines = [_checkpoint_line(e, id(e) in defaults) for e in entries] or ["none published yet"]
    fields = [
        ("name", info.name),
        ("family", info.family),
        ("article", info.article),
        ("description", info.description),
        ("parameters", f"{info.num_params:,}"),
        ("input shape", f"{height}x{width}x{channels} (height and width >= {info.min_input_size})"),
        ("preprocessing", preprocessing_summary(preprocessing)),
        ("", preprocessing.description),
        ("default recipe", recipe),
        ("checkpoints", lines[0]),
        *(("", line) for line in lines[1:]),
        ("imagenet network", info.imagenet_network or "-"),
        ("weights", ", ".join(info.weights) or "none published yet"),
    ]
    if entries:
        fields.append(("weights from", _weights_from(info.name, entries, args.hub_dir)))
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
