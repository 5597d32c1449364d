"""Markdown tables generated from the package, for README.md and the documentation.

A table lives between two markers in a Markdown file::

    <!-- models-table:start -->
    ...generated, never edited by hand...
    <!-- models-table:end -->

:func:`render` refills every marked region it finds from :data:`TABLES`. The mkdocs hook
(``docs/hooks.py``) calls it on every page at build time; this script rewrites README.md, and
``tests/test_docs.py`` fails when README.md is stale.

Usage::

    python docs/gen_tables.py            # rewrite the tables in README.md
    python docs/gen_tables.py --check    # exit 1 (and say which) if README.md is stale

To add a table, write a function returning Markdown and add it to :data:`TABLES`; put its
markers where it should appear. The checkpoint tables (``accuracy``, ``checkpoint-details``,
``untrained``, ``cpu-training``, ``cifar100``, ``copies``) come from ``weights_manifest.json``,
``docs/targets.json`` and ``docs/untrained.json``, read whenever a page is rendered, so a
checkpoint published meanwhile appears; the ``benchmarks`` table from the JSON files of
``benchmarks/throughput.py`` in ``benchmarks/results/``. ``api-errors`` and ``api-unlisted``
write mkdocstrings directives for the API reference from ``keras_cifar_zoo.__all__``. Links to
documentation pages in generated text start with :data:`DOCS_LINK` so that they work from
README.md and from the pages alike.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import re
import shlex
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MANIFEST = ROOT / "weights_manifest.json"
TARGETS = ROOT / "docs" / "targets.json"
UNTRAINED = ROOT / "docs" / "untrained.json"

ARTICLES = {
    "000": "VGG16 with BatchNorm after every convolution",
    "001": "A simple CNN, a BatchNorm CNN and ResNet v1, without augmentation",
    "002": "VGG configurations A-E with BatchNorm, from scratch and from ImageNet",
    "003": "A six-convolution ELU CNN with augmentation and L2",
    "004": "A three-block VGG-lite without BatchNorm",
}
"""Short titles of the seed articles, by number."""

ZOO_ORIGIN = "zoo"
"""``ModelInfo.article`` of the zoo's own models, which come from no seed article."""


def _zoo() -> Any:
    """Imports keras_cifar_zoo from this checkout, installed or not."""
    if str(ROOT) not in sys.path:  # mkdocs resets sys.path after loading hooks; check each time
        sys.path.insert(0, str(ROOT))
    import keras_cifar_zoo

    return keras_cifar_zoo


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|")


def models_table() -> str:
    """The zoo's models: name, article, parameters, preprocessing (from the registry)."""
    zoo = _zoo()

    lines = [
        "| Model | Article | Parameters | Preprocessing |",
        "|---|---|--:|---|",
    ]
    for name in zoo.list_models():
        info = zoo.model_info(name)
        preprocessing = str(info.preprocessing).partition(": ")[0]
        lines.append(
            f"| `{name}` | {info.article} | {info.num_params:,} | {_cell(preprocessing)} |"
        )
    return "\n".join(lines)


def model_details_table() -> str:
    """Every model with its family, description, default recipe and smallest input."""
    zoo = _zoo()

    lines = [
        "| Model | Family | Description | Default recipe | Smallest input |",
        "|---|---|---|---|--:|",
    ]
    for name in zoo.list_models():
        info = zoo.model_info(name)
        lines.append(
            f"| `{name}` | {info.family} | {_cell(info.description)} | "
            f"`{info.default_recipe}` | {info.min_input_size}x{info.min_input_size} |"
        )
    return "\n".join(lines)


def articles_table() -> str:
    """The seed articles and the zoo names that implement each one."""
    zoo = _zoo()

    by_article: dict[str, list[str]] = {}
    for name in zoo.list_models():
        by_article.setdefault(zoo.model_info(name).article, []).append(f"`{name}`")
    lines = ["| Article | Subject | Zoo models |", "|---|---|---|"]
    for number, title in ARTICLES.items():
        lines.append(f"| {number} | {title} | {', '.join(by_article.get(number, []))} |")
    if by_article.get(ZOO_ORIGIN):
        models = "model" if len(by_article[ZOO_ORIGIN]) == 1 else "models"
        lines.append(
            f"| - | The zoo's own fast {models} for time-to-94% training, see "
            f"[Models](models.md#the-zoos-fast-models) | {', '.join(by_article[ZOO_ORIGIN])} |"
        )
    return "\n".join(lines)


def article_models_table(article: str) -> str:
    """The models of one seed article: name, parameters, preprocessing, default recipe."""
    zoo = _zoo()

    lines = ["| Model | Parameters | Preprocessing | Default recipe |", "|---|--:|---|---|"]
    for name in zoo.list_models():
        info = zoo.model_info(name)
        if info.article == article:
            preprocessing = str(info.preprocessing).partition(": ")[0]
            lines.append(
                f"| `{name}` | {info.num_params:,} | {_cell(preprocessing)} | "
                f"`{info.default_recipe}` |"
            )
    return "\n".join(lines)


def _percent(fraction: float, decimals: int = 2) -> str:
    return f"{fraction * 100:.{decimals}f}%"


def _points(accuracy: float, target: float) -> float:
    # Accuracies on 10,000 images and the targets are whole hundredths of a point, so two
    # decimals print the difference exactly (round() only removes float noise).
    return round((accuracy - target) * 100, 6)


def _versus(accuracy: float, target: float) -> str:
    """``met (+1.23)`` or ``missed (-4.56)``: the difference in points, never rounded up."""
    delta = _points(accuracy, target)
    return f"met (+{delta:.2f})" if delta >= 0 else f"missed ({delta:.2f})"


def _signed(accuracy: float, target: float) -> str:
    """The difference in points with its sign, e.g. ``+20.80`` or ``-2.28``."""
    return f"{_points(accuracy, target):+.2f}"


def _tally(deltas: list[float]) -> str:
    """E.g. ``1 met, 7 missed (by 0.92 to 7.76 points)``."""
    missed = sorted(-d for d in deltas if d < 0)
    text = f"{len(deltas) - len(missed)} met, {len(missed)} missed"
    if missed:
        text += f" (by {missed[0]:.2f} to {missed[-1]:.2f} points)"
    return text


def _seeds(runs: Any) -> str:
    accs = [r.accuracy * 100 for r in runs]
    seeds = ", ".join(str(r.seed) for r in runs)
    spread = statistics.stdev(accs) if len(accs) > 1 else 0.0
    # Three decimals: the mean of two accuracies on 10,000 images can end in 5.
    return f"seeds {seeds}: {statistics.fmean(accs):.3f} ± {spread:.3f}%"


NOT_RECORDED = "not recorded"
"""What a generated table shows where a manifest entry lacks a field."""

DOCS_LINK = "(@docs/"
"""How generated text starts a link to a documentation page: :func:`render` points it at
``docs/`` in README.md and at the page's own folder in the documentation."""


def _manifest() -> Any:
    _zoo()
    from keras_cifar_zoo.weights.manifest import load_manifest

    return load_manifest(MANIFEST)


def _targets() -> dict[str, Any]:
    return json.loads(TARGETS.read_text(encoding="utf-8"))


def _checkpoints(manifest: Any, dataset: str | None = "cifar10") -> list[Any]:
    """The manifest's entries on ``dataset`` (all if None), in registry order, default first."""
    zoo = _zoo()
    return [e for name in zoo.list_models() for e in manifest.for_model(name, dataset)]


def _recorded(entry: Any, name: str) -> Any:
    """An optional field of the entry's metrics or recipe settings; None when absent."""
    value = getattr(entry.metrics, name, None)
    if value in (None, ""):
        value = entry.recipe.settings.get(name)
    return None if value in (None, "") else value


def _device(entry: Any) -> str:
    """``"CPU"`` or ``"GPU"`` from the recorded hardware (``"not recorded"`` if it says neither)."""
    hardware = entry.metrics.hardware.lower()
    if "no gpu" in hardware:
        return "CPU"
    if re.search(r"\b(gpus?|nvidia|cuda|rocm|tpu|[ahlv]100)\b", hardware):
        return "GPU"
    if re.search(r"\b(v?cpus?|cores?)\b", hardware):
        return "CPU"
    return NOT_RECORDED


def _hardware(entry: Any) -> str:
    """The device without the recorded remarks in parentheses, e.g. ``AMD EPYC, 2 vCPUs``."""
    return re.sub(r"\s*\([^)]*\)", "", entry.metrics.hardware).strip() or NOT_RECORDED


def _shared(entry: Any) -> bool:
    """Whether the hardware record says the machine ran other work during training."""
    return "shared" in entry.metrics.hardware.lower()


def _training_copy(entry: Any) -> str:
    """Which copy of the training set: ``lossless``, ``JPEG q75``, or the recorded text."""
    text = entry.metrics.training_data
    if "lossless" in text.lower():
        return "lossless"
    if "jpeg" in text.lower():
        return "JPEG q75"
    return _cell(text) if text else NOT_RECORDED


def _train_images(entry: Any) -> int | None:
    """Training images per epoch, as recorded or as ``training_data`` states them."""
    recorded = _recorded(entry, "train_images")
    if recorded is not None:
        return int(recorded)
    text = entry.metrics.training_data
    found = re.search(r"first ([\d,]+) of", text) or re.search(r"([\d,]+) images", text)
    return int(found[1].replace(",", "")) if found else None


def _duration(seconds: float) -> str:
    return f"{seconds / 3600:.2f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"


def _weights(entry: Any) -> str:
    return f"`{entry.identifier}`" + (" (default)" if entry.default else "")


def _epochs(entry: Any) -> str:
    planned = entry.recipe.settings.get("epochs")
    epochs = entry.metrics.epochs
    return f"{epochs} of {planned}" if planned and planned != epochs else str(epochs)


def _article_number(name: str, targets: dict[str, Any]) -> str:
    """``001: 90.5%``: the seed article and the accuracy it reports (``-`` if none)."""
    origin = _zoo().model_info(name).article
    article = targets["article"].get(name)
    if origin == ZOO_ORIGIN:
        return "-"
    return f"{origin}: {article['text']}" if article else f"{origin}: -"


def _family_best(name: str, targets: dict[str, Any]) -> str:
    best = targets["best_published"].get(name)
    return f"{best['text']} ({best['family']})" if best else "-"


def _jpeg_deltas() -> dict[str, float]:
    """Lossless minus JPEG-copy accuracy in points, by ``model identifier``, for the
    checkpoints the comparison report measured that are still the published ones."""
    report = (
        json.loads(COPIES_REPORT.read_text(encoding="utf-8"))
        if COPIES_REPORT.is_file()
        else {"checkpoints": []}
    )
    manifest = _manifest()
    published = {f"{e.model} {e.identifier}": e for e in manifest.entries}
    deltas = {}
    for row in report["checkpoints"]:
        entry = published.get(f"{row['model']} {row['weights']}")
        lossless = row["results"]["lossless"]["accuracy"]
        if entry is not None and abs(entry.metrics.accuracy - lossless) < 5e-5:
            jpeg = row["results"]["jpeg"]["accuracy"]
            deltas[f"{row['model']} {row['weights']}"] = round((lossless - jpeg) * 100, 6)
    for entry in manifest.entries:  # a number published with the entry counts as measured
        key = f"{entry.model} {entry.identifier}"
        if key not in deltas and entry.metrics.jpeg_copy_accuracy is not None:
            deltas[key] = _points(entry.metrics.accuracy, entry.metrics.jpeg_copy_accuracy)
    return deltas


def accuracy_table() -> str:
    """Published CIFAR-10 checkpoints: accuracy beside the article's number, six columns.

    Where each was trained and the models without a checkpoint are on the documentation's
    checkpoints page (:func:`checkpoint_details_table`, :func:`untrained_list`).
    """
    manifest = _manifest()
    targets = _targets()
    entries = _checkpoints(manifest)
    data = collections.Counter(e.metrics.data for e in entries).most_common(1)
    common_data = data[0][0] if data else "CIFAR-10 test set"
    lines = [
        "| Model | Weights | Test accuracy ¹ | Article | Parameters | Epochs |",
        "|---|---|--:|--:|--:|--:|",
    ]
    against: dict[str, list[float]] = {"article": [], "best": []}  # differences in points
    marks: set[str] = set()
    for e in entries:
        m = e.metrics
        accuracy = _percent(m.accuracy)
        if m.seed_runs:
            accuracy += f" (seed {m.seed}; {_seeds(m.seed_runs)})"
        if m.data != common_data:
            accuracy += f" ({_cell(m.data)})"
        for mark, applies in (
            ("²", e.recipe.settings.get("validation_is_test_set")),
            ("³", _training_copy(e) == "JPEG q75"),
            ("⁴", _device(e) == "CPU"),
        ):
            if applies:
                accuracy += f" {mark}"
                marks.add(mark)
        article = targets["article"].get(e.model)
        if article:
            against["article"].append(_points(m.accuracy, article["accuracy"]))
        best = targets["best_published"].get(e.model)
        if best:
            against["best"].append(_points(m.accuracy, best["accuracy"]))
        lines.append(
            f"| `{e.model}` | {_weights(e)} | {accuracy} | "
            f"{_article_number(e.model, targets)} | {e.num_params:,} | {_epochs(e)} |"
        )
    notes = [
        "",
        f"¹ Measured by `keras_cifar_zoo.evaluate` through the published float16 files, on the "
        f"{common_data}; the weights of the last epoch of a fixed schedule unless marked ². A "
        "CI test reloads every checkpoint through the download path and fails if its accuracy "
        "moves by more than 0.1 point. *Article*: the seed article and the test accuracy it "
        "reports for the model (`-`: it reports none).",
    ]
    if "²" in marks:
        notes += [
            "",
            "² The recipe, like its article, validates on the test set and stops early on test "
            "accuracy, so when training stopped was decided on test data (the weights are the "
            "last epoch's).",
        ]
    if "³" in marks:
        deltas = _jpeg_deltas()
        keys = [f"{e.model} {e.identifier}" for e in entries if _training_copy(e) == "JPEG q75"]
        measured = [deltas[key] for key in keys if key in deltas]
        span = (
            f"; the same files measure {min(measured):.2f} to {max(measured):.2f} points less on "
            f"the JPEG copy of the test set ([both copies]{DOCS_LINK}weights.md#both-copies-of-"
            "the-test-set))"
            if measured
            else ""
        )
        notes += [
            "",
            "³ Trained on the older JPEG q75 copy of the training set, measured on the lossless "
            f"copy{span}.",
        ]
    if "⁴" in marks:
        notes += [
            "",
            "⁴ Trained on a CPU: its training time, speed and the family's best published number "
            f"are on [Trained on a CPU]{DOCS_LINK}cpu-training.md).",
        ]
    missing = [m for m in _zoo().list_models() if not manifest.for_model(m, "cifar10")]
    notes += [
        "",
        f"Against the articles' numbers: {_tally(against['article'])}. Against the best "
        f"published number for the model's family: {_tally(against['best'])}. Differences are "
        "in percentage points. Where and how long each checkpoint trained: [How each was "
        f"trained]{DOCS_LINK}weights.md#how-each-was-trained).",
    ]
    if missing:
        notes += [
            "",
            f"No checkpoint yet for {', '.join(f'`{m}`' for m in missing)}: why, and the "
            f"command that trains each, in [Models without a checkpoint]{DOCS_LINK}weights.md"
            "#models-without-a-checkpoint).",
        ]
    return "\n".join(lines + notes)


def checkpoint_details_table() -> str:
    """Every published CIFAR-10 checkpoint: recipe, targets, where and how long it trained."""
    manifest = _manifest()
    targets = _targets()
    lines = [
        "| Model | Weights | Recipe | vs article | vs family best | Trained on | Training set "
        "| Training time |",
        "|---|---|---|---|---|---|---|--:|",
    ]
    shared = False
    for e in _checkpoints(manifest):
        m = e.metrics
        article = targets["article"].get(e.model)
        best = targets["best_published"].get(e.model)
        vs_article = _signed(m.accuracy, article["accuracy"]) if article else "-"
        vs_best = f"{best['text']} ({_signed(m.accuracy, best['accuracy'])})" if best else "-"
        device = _device(e)
        where = f"{device}: {_cell(_hardware(e))}" if device != NOT_RECORDED else _hardware(e)
        shared |= _shared(e)
        lines.append(
            f"| `{e.model}` | `{e.identifier}` | `{e.recipe.name}` | {vs_article} | {vs_best} | "
            f"{where}, {m.backend} | {_training_copy(e)} | {_duration(m.wall_time_s)}"
            f"{' †' if _shared(e) else ''} |"
        )
    notes = [
        "",
        "*vs article*: the test accuracy above minus the article's number, in percentage "
        "points. *vs family best*: the best published number for the architecture "
        "(`docs/targets.json`) and the difference to it. *Training time*: the wall time of "
        "the `fit_cifar10` call (for a run resumed across calls, the sum of its epoch times).",
    ]
    if shared:
        notes += ["", "† The machine ran other work during the run: the time is an upper bound."]
    return "\n".join(lines + notes)


def untrained_list() -> str:
    """Registry models without a checkpoint and planned runs not made yet, each with the reason
    and the command that would produce it (``docs/untrained.json``)."""
    zoo = _zoo()
    manifest = _manifest()
    targets = _targets()
    untrained = json.loads(UNTRAINED.read_text(encoding="utf-8"))
    lines = []
    for name in zoo.list_models():
        if manifest.for_model(name, "cifar10"):
            continue
        info = zoo.model_info(name)
        facts = [f"{info.num_params:,} parameters"]
        if info.article != ZOO_ORIGIN:
            facts.insert(0, f"article {info.article}")
        if name in targets["article"]:
            facts.append(f"the article reports {targets['article'][name]['text']}")
        if name in targets["best_published"]:
            facts.append(f"best published: {_family_best(name, targets)}")
        reason = untrained["models"].get(name, f"no reason recorded in `{UNTRAINED.name}`")
        lines.append(f"- `{name}` ({'; '.join(facts)}): {reason}.")
    for run in untrained["runs"]:
        try:
            entry = manifest.find(run["model"], run["tag"])
        except LookupError:
            entry = None
        done = {r.seed for r in entry.metrics.seed_runs} if entry else set()
        if run.get("seeds") and set(run["seeds"]) <= done:
            continue  # published since
        lines.append(f"- `{run['model']}` `cifar10:{run['tag']}`, {run['run']}: {run['reason']}.")
    return "\n".join(lines) if lines else "Every model has a checkpoint."


def cpu_training_table() -> str:
    """Every checkpoint trained on a CPU: time, speed and accuracy against the targets."""
    manifest = _manifest()
    targets = _targets()
    entries = [e for e in _checkpoints(manifest, None) if _device(e) == "CPU"]
    if not entries:
        return "No published checkpoint was trained on a CPU yet."
    results = [
        "| Model | Weights | Recipe | Epochs | Wall time | Images/s | Test accuracy | "
        "Article | Family best |",
        "|---|---|---|--:|--:|--:|--:|---|---|",
    ]
    setups = [
        "| Model | Weights | Hardware | Backend | Keras | Precision | Training images | "
        "Training set | Published |",
        "|---|---|---|---|---|---|--:|---|---|",
    ]
    shared = False
    for e in entries:
        m = e.metrics
        images = _train_images(e)
        seconds = m.wall_time_s or None
        speed = f"{m.epochs * images / seconds:,.0f}" if images and seconds else NOT_RECORDED
        hours = f"{seconds / 3600:.2f} h" if seconds else NOT_RECORDED
        if seconds and _shared(e):
            hours += " †"
        cifar10 = e.dataset == "cifar10"  # the targets are CIFAR-10 numbers
        article = targets["article"].get(e.model) if cifar10 else None
        best = targets["best_published"].get(e.model) if cifar10 else None
        vs_article = (
            f"{article['text']} ({_signed(m.accuracy, article['accuracy'])})" if article else "-"
        )
        vs_best = f"{best['text']} ({_signed(m.accuracy, best['accuracy'])})" if best else "-"
        shared |= _shared(e)
        results.append(
            f"| `{e.model}` | `{e.identifier}` | `{e.recipe.name}` | {_epochs(e)} | {hours} | "
            f"{speed} | {_percent(m.accuracy)} | {vs_article} | {vs_best} |"
        )
        setups.append(
            f"| `{e.model}` | `{e.identifier}` | {_cell(_hardware(e))} | "
            f"{m.backend or NOT_RECORDED} | {m.keras_version or NOT_RECORDED} | "
            f"{_recorded(e, 'precision') or NOT_RECORDED} | "
            f"{f'{images:,}' if images else NOT_RECORDED} | {_training_copy(e)} | {m.date} |"
        )
    notes = [
        "",
        "*Wall time*: the `fit_cifar10` call (for a run resumed across calls, the sum of its "
        "epoch times). *Images/s*: epochs times training images divided by the wall time, "
        "so it counts everything the run did, not only the training steps (the "
        f"[Benchmarks]{DOCS_LINK}benchmarks.md) page measures those). *Article* and *Family "
        "best*: the number the model's article reports and the best published number for "
        "the architecture (`docs/targets.json`; CIFAR-10 only), each with the test accuracy's "
        "difference to it in percentage points.",
    ]
    if shared:
        notes += [
            "",
            "† The machine ran other work during the run: the wall time is an upper bound and "
            "the speed a lower bound.",
        ]
    return "\n".join([*results, *notes, "", "How each was trained:", "", *setups])


def training_copies_text() -> str:
    """Which copy of the CIFAR-10 training set the published checkpoints were trained on."""
    entries = _checkpoints(_manifest())
    by_copy: dict[str, list[str]] = {}
    for e in entries:
        by_copy.setdefault(_training_copy(e), []).append(f"`{e.model}`")
    parts = [
        f"{len(models)} on the {copy} copy ({', '.join(models)})"
        for copy, models in sorted(by_copy.items(), key=lambda item: -len(item[1]))
    ]
    return f"Of the {len(entries)} published CIFAR-10 checkpoints, " + "; ".join(parts) + "."


def cifar100_table() -> str:
    """The published CIFAR-100 checkpoints, from weights_manifest.json."""
    entries = sorted(
        _checkpoints(_manifest(), "cifar100"), key=lambda e: (e.model, not e.default, e.tag)
    )
    lines = [
        "| Model | Weights | Test accuracy ¹ | Starts from | Parameters | Epochs |",
        "|---|---|--:|---|--:|--:|",
    ]
    for e in entries:
        start = e.recipe.settings.get("initial_weights") or "random initialisation"
        start = f"`{start}` checkpoint" if start == "cifar10" else _cell(start)
        lines.append(
            f"| `{e.model}` | {_weights(e)} | {_percent(e.metrics.accuracy)} | {start} | "
            f"{e.num_params:,} | {_epochs(e)} |"
        )
    data = entries[0].metrics.data if entries else "CIFAR-100 test set"
    notes = [
        "",
        f"¹ Measured by `keras_cifar_zoo.evaluate` through the published float16 files on "
        f"the {data}; the last epoch of a fixed schedule. A CI test reloads every checkpoint "
        "through the download path and fails if its accuracy moves by more than 0.1 point.",
    ]
    trained = collections.Counter(
        (_cell(e.metrics.training_data), _device(e)) for e in entries
    )  # fmt: skip
    for (data, device), count in sorted(trained.items()):
        which = "All" if count == len(entries) else f"{count} of {len(entries)}"
        where = f" on a {device}" if device != NOT_RECORDED else ""
        notes += ["", f"{which} trained{where} on the {data}."]
    if any(_device(e) == "CPU" for e in entries):
        notes[-1] += f" Training times: [Trained on a CPU]{DOCS_LINK}cpu-training.md)."
    return "\n".join(lines + notes)


def transfer_table() -> str:
    """Fine-tuning against training from scratch on CIFAR-100, from the benchmark's JSON."""
    reports = sorted(BENCHMARKS.glob("transfer-cifar100-*.json"))
    if not reports:
        return "No measurement yet: run the command above."
    report = json.loads(reports[-1].read_text(encoding="utf-8"))
    lines = [
        "| Model | Starts from | Test accuracy (mean ± std) | Runs (seed: accuracy) |",
        "|---|---|--:|---|",
    ]
    for key, stats in report["summary"].items():
        model, start = key.split("/")
        runs = [r for r in report["runs"] if (r["model"], r["start"]) == (model, start)]
        each = ", ".join(f"{r['seed']}: {_percent(r['test_accuracy'])}" for r in runs)
        origin = "CIFAR-10 checkpoint" if start == "cifar10" else "random initialisation"
        lines.append(
            f"| `{model}` | {origin} | {_percent(stats['mean'])} ± "
            f"{stats['std'] * 100:.2f} | {each} |"
        )
    return "\n".join(
        [
            *lines,
            "",
            f"{report['epochs']} epochs of the recipe `{report['recipe']['name']}` on the first "
            f"{report['train_images']:,} images of the {report['data']}; measured on the "
            f"{report['test_images']:,} CIFAR-100 test images. {report['device']}, Keras "
            f"{report['keras']} on {report['backend']}, {report['date']}.",
        ]
    )


BENCHMARKS = ROOT / "benchmarks" / "results"
"""Where ``benchmarks/throughput.py`` runs are kept (one JSON file per run)."""


def _versions(versions: dict[str, str]) -> str:
    names = {"keras": "Keras", "jax": "JAX", "jaxlib": "jaxlib", "tensorflow": "TensorFlow"}
    names |= {"torch": "PyTorch", "numpy": "NumPy", "keras-cifar-zoo": "keras-cifar-zoo"}
    return ", ".join(f"{names.get(k, k)} {v}" for k, v in versions.items())


def _command(command: str) -> str:
    """The command line of a run without its ``--note`` text (shown on its own)."""
    words = shlex.split(command)
    if "--note" in words:
        at = words.index("--note")
        words[at : at + 2] = []
    return shlex.join(words)


def benchmarks_table() -> str:
    """Every throughput run in benchmarks/results/: its machine and software, then per model
    and precision the speed, FLOPs, share of the measured peak and speed-up over the article.
    """
    runs = [
        (path, json.loads(path.read_text(encoding="utf-8")))
        for path in sorted(BENCHMARKS.glob("throughput-*.json"))
    ]
    runs.sort(key=lambda run: (run[1]["environment"]["date"], run[0].name))
    if not runs:
        return "No runs yet: `benchmarks/results/` holds no JSON file."
    lines = []
    if not any(run["environment"]["accelerators"] for _, run in runs):
        lines += [
            "**GPU: not yet measured.** Every run below is on a CPU; no run on a GPU has been "
            "recorded in `benchmarks/results/` yet.",
            "",
        ]
    for path, run in runs:
        env = run["environment"]
        peak = ", ".join(f"{k} {v['tflops']:.3f}" for k, v in run["peak"].items())
        settings = run["settings"]
        lines += [
            f"### {_cell(env['device'])}, {env['backend']}, {env['date'][:10]}",
            "",
            f"- File: `benchmarks/results/{path.name}`",
            f"- Hardware: {_cell(env['device'])}"
            + (f" (host CPU: {_cell(env['cpu'])})" if env["accelerators"] else ""),
            f"- Software: Keras backend `{env['backend']}`; {_versions(env['versions'])}; "
            f"Python {env['python']}; {_cell(env['platform'])}",
            f"- Date: {env['date']}; commit `{env['git_commit']}`",
            f"- Command: `{_command(env['command'])}`",
            f"- Settings: {settings['images']} images per epoch (rounded up to whole batches), "
            f"{settings['epochs']} epochs (the first, compiling, left out), "
            f"steps_per_execution {settings['steps_per_execution']}",
            f"- Measured matmul peak (TFLOP/s): {peak}",
        ]
        if env.get("note"):
            lines.append(f"- Note: {_cell(env['note'])}")
        lines += [
            "",
            "| Model | Precision | Batch | s/epoch (50k) | Train img/s | Inference img/s | "
            "GFLOPs/image (train step) | Achieved TFLOP/s | % of peak | vs article |",
            "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for r in run["results"]:
            if "error" in r:
                lines.append(
                    f"| `{r['model']}` | {r['precision']} | failed: {_cell(r['error'])} "
                    "| - | - | - | - | - | - | - |"
                )
                continue
            speedup = r["speedup_vs_article"]
            lines.append(
                f"| `{r['model']}` | {r['precision']} | {r['batch_size']} | "
                f"{r['seconds_per_50k_epoch']:,.1f} | {r['train_images_per_s']:,.0f} | "
                f"{r['inference_images_per_s']:,.0f} | {r['train_gflops_per_image']:.3f} | "
                f"{r['achieved_tflops']:.3f} | {r['percent_of_peak']:.1f} | "
                + (f"{speedup:.2f}x" if speedup is not None else "-")
                + " |"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def _epoch_settings() -> Any:
    """benchmarks/epoch_settings.py, whose choice of the fastest setting the table shows."""
    import importlib.util

    path = ROOT / "benchmarks" / "epoch_settings.py"
    spec = importlib.util.spec_from_file_location("keras_cifar_zoo_epoch_settings", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def epoch_settings_table() -> str:
    """Every ``benchmarks/epoch_settings.py`` run in benchmarks/results/: per model the
    measured settings, the fastest in bold, with the share of the matmul peak of its dtype."""
    paths = sorted(BENCHMARKS.glob("epoch-settings-*.json"))
    if not paths:
        return (
            "Not measured yet: the command above writes `benchmarks/results/epoch-settings-*.json`."
        )
    settings = _epoch_settings()
    lines = []
    for path in paths:
        report = json.loads(path.read_text(encoding="utf-8"))
        env = report["runs"][0]
        peak = report["peak"]
        peak_of = {
            policy: peak[dtype]["tflops"]
            for policy, dtype in settings.PEAK_DTYPES.items()
            if dtype in peak
        }
        rows = report["results"]
        best = settings.fastest(rows)
        lines += [
            f"### {_cell(env['device'])}, {env['backend']}, {env['date'][:10]}",
            "",
            f"- File: `benchmarks/results/{path.name}` ({len(report['runs'])} invocations; "
            f"the first: `{_command(env['command'])}`)",
            f"- Software: {_versions(env['versions'])}; Python {env['python']}",
            f"- Measured matmul peak (TFLOP/s): float32 {peak['float32']['tflops']:.3f}, "
            f"bfloat16 {peak['bfloat16']['tflops']:.3f}",
        ]
        if env.get("note"):
            lines.append(f"- Note: {_cell(env['note'])}")
        lines += [
            "",
            "| Model | Recipe | Precision | Batch | Threads (intra, inter) | s/epoch (50k) | "
            "Train img/s | % of peak | Validation s/epoch |",
            "|---|---|---|--:|---|--:|--:|--:|--:|",
        ]
        for r in sorted(rows, key=lambda r: r["model"]):
            threads = (
                "default"
                if (r["intra_op_threads"], r["inter_op_threads"]) == (0, 0)
                else f"{r['intra_op_threads']}, {r['inter_op_threads']}"
            )
            head = (
                f"| `{r['model']}` | {r['recipe']} | {r['precision']} | {r['batch_size']} | "
                f"{threads} |"
            )
            if "error" in r:
                lines.append(f"{head} failed: {_cell(r['error'])} | - | - | - |")
                continue
            mark = "**" if best.get(r["model"]) is r else ""
            lines.append(
                f"{head} {mark}{r['seconds_per_50k_epoch']:,.1f}{mark} | "
                f"{r['train_images_per_s']:,.0f} | "
                f"{100 * r['achieved_tflops'] / peak_of[r['precision']]:.1f} | "
                f"{r['validation_s_per_epoch']:.1f} |"
            )
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def recipes_table() -> str:
    """Every training recipe: where it comes from, its optimizer, length and augmentation."""
    zoo = _zoo()

    lines = [
        "| Recipe | Article | Optimizer | Epochs | Batch | Augmentation | Description |",
        "|---|---|---|--:|--:|---|---|",
    ]
    for name in zoo.list_recipes():
        r = zoo.get_recipe(name)
        a = r.augmentation
        flip = "alternating flip" if a.alternating_flip else "flip"
        parts = [flip] if a.horizontal_flip else []
        if a.shift:
            kind = "whole-pixel" if a.integer_shift else "bilinear"
            parts.append(f"{a.shift:g} {kind} shifts ({a.fill_mode} fill)")
        if a.rotation_degrees:
            parts.append(f"rotation {a.rotation_degrees:g} deg")
        if a.cutout_size:
            parts.append(f"{a.cutout_size}x{a.cutout_size} cutout")
        article = "-" if r.article == ZOO_ORIGIN else r.article
        lines.append(
            f"| `{name}` | {article} | {r.optimizer} | {r.epochs} | {r.batch_size} | "
            f"{', '.join(parts) or 'none'} | {_cell(r.description)} |"
        )
    return "\n".join(lines)


def time_to_94_table() -> str:
    """Every ``benchmarks/time_to_94.py`` run in benchmarks/results/ (time-to-94-*.json): test
    accuracy and training time over its seeds, with the compilation apart."""
    runs = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(BENCHMARKS.glob("time-to-94-*.json"))
    ]
    if not runs:
        return (
            "**Not yet measured.** No run of `benchmarks/time_to_94.py` is recorded in "
            "`benchmarks/results/`; the commands below measure it."
        )
    lines = [
        "| Model | Recipe | Epochs | Precision | Device | Backend | Seeds | Test accuracy "
        "(mean ± std) | Min - max | Seeds ≥ target | Training s (mean ± std) | Compile s | "
        "Date |",
        "|---|---|--:|---|---|---|--:|--:|--:|--:|--:|--:|---|",
    ]
    notes = []
    for run in sorted(runs, key=lambda r: (r["date"], r["model"])):
        acc, secs = run["accuracy"], run["training_s"]
        epochs = run["epochs"] or run.get("recipe_settings", {}).get("epochs", NOT_RECORDED)
        spread = len(run["seeds"]) > 1  # one seed has no standard deviation
        accuracy = _percent(acc["mean"]) + (f" ± {acc['std'] * 100:.2f}" if spread else "")
        seconds = f"{secs['mean']:.1f}" + (f" ± {secs['std']:.1f}" if spread else "")
        lines.append(
            f"| `{run['model']}` | {run['recipe']} | {epochs} | {run['precision']} | "
            f"{_cell(run['device'])} | {run['backend']} | {len(run['seeds'])} | {accuracy} | "
            f"{_percent(acc['min'])} - {_percent(acc['max'])} | "
            f"{run['reached_target']}/{len(run['seeds'])} (≥ {_percent(run['target'], 1)}) | "
            f"{seconds} | {run['compile_s']['mean']:.1f} | {run['date']} |"
        )
        if run.get("tta", "none") != "none":
            single = run.get("single_view_accuracy")
            views = f" (single views: {_percent(single['mean'])})" if single else ""
            notes.append(
                f"- `{run['model']}` ({run['date']}): test accuracy with the test-time "
                f"augmentation `{run['tta']}`{views}."
            )
        if not run["full_dataset"]:
            notes.append(
                f"- `{run['model']}` ({run['date']}): a quick check on {run['train_images']:,} "
                f"training and {run['test_images']:,} test images, not the full dataset."
            )
    data = sorted({run["data"] for run in runs})
    lines += ["", f"Data: {'; '.join(data)}. Final epoch, no selection on the test set."]
    return "\n".join(lines + notes)


COPIES_REPORT = BENCHMARKS / "published-lossless-vs-jpeg.json"
"""Every published checkpoint measured on both copies (``scripts/measure_published.py``)."""


def copies_table() -> str:
    """Every published checkpoint on the lossless and the JPEG q75 copy of the test set.

    Rows of the report whose checkpoint has since been replaced (another accuracy in the
    manifest) are left out; the published checkpoints not measured on both copies are named.
    """
    if not COPIES_REPORT.is_file():
        return f"Not measured yet: the command below writes `{COPIES_REPORT.relative_to(ROOT)}`."
    report = json.loads(COPIES_REPORT.read_text(encoding="utf-8"))
    manifest = _manifest()
    measured = {}  # "model identifier" -> (lossless, jpeg)
    for row in report["checkpoints"]:
        measured[f"{row['model']} {row['weights']}"] = (
            row["results"]["lossless"]["accuracy"],
            row["results"]["jpeg"]["accuracy"],
        )
    lines = [
        "| Model | Weights | Trained on | Lossless copy | JPEG q75 copy | Difference (points) |",
        "|---|---|---|--:|--:|--:|",
    ]
    by_copy: dict[str, list[float]] = {}
    unmeasured = []
    for e in _checkpoints(manifest):
        lossless, jpeg = measured.get(f"{e.model} {e.identifier}", (None, None))
        if lossless is None or abs(lossless - e.metrics.accuracy) >= 5e-5:
            lossless, jpeg = e.metrics.accuracy, e.metrics.jpeg_copy_accuracy
        if jpeg is None:
            unmeasured.append(f"`{e.model}` `{e.identifier}`")
            continue
        delta = _points(lossless, jpeg)
        copy = _training_copy(e)
        by_copy.setdefault(copy, []).append(delta)
        lines.append(
            f"| `{e.model}` | `{e.identifier}` | {copy} copy | {_percent(lossless)} | "
            f"{_percent(jpeg)} | {delta:+.2f} |"
        )
    copies = report["copies"]
    summary = "; ".join(
        f"the {len(deltas)} trained on the {copy} copy measure {min(deltas):.2f} to "
        f"{max(deltas):.2f} points more on the lossless copy"
        for copy, deltas in sorted(by_copy.items())
    )
    lines += [
        "",
        f"Measured by `scripts/measure_published.py` through the published float16 files with "
        f"`keras_cifar_zoo.evaluate` (Keras {report['keras_version']} on {report['backend']}, "
        f"{report['hardware']}, {report['date']}): lossless = {copies['lossless']}; "
        f"JPEG = {copies['jpeg']}. Of these checkpoints, {summary}.",
    ]
    if unmeasured:
        lines += [
            "",
            f"Not measured on the JPEG copy yet: {', '.join(unmeasured)} (the command below "
            "measures them).",
        ]
    return "\n".join(lines)


API_PAGE = ROOT / "docs" / "api.md"
_DIRECTIVE = re.compile(r"^::: keras_cifar_zoo\.(?:[\w.]+\.)?(\w+)$", re.MULTILINE)


def _exports() -> list[str]:
    return sorted(_zoo().__all__)


def api_errors_table() -> str:
    """Every error the package root exports: a summary table, then each one's reference.

    Generated from ``keras_cifar_zoo.__all__``, so an error added there is documented.
    """
    zoo = _zoo()
    errors = [n for n in _exports() if n.endswith("Error")]
    # ZooError first, then by name: the table reads as the hierarchy's root and its leaves.
    errors.sort(key=lambda n: (n != "ZooError", n))
    lines = [
        "Every error subclasses `ZooError` and a built-in exception, so `except ZooError` "
        "catches them all and code that expects the built-in keeps working.",
        "",
        "| Error | Also a | Raised for |",
        "|---|---|---|",
    ]
    for name in errors:
        cls = getattr(zoo, name)
        builtins = [
            b.__name__
            for b in cls.__mro__[1:]
            if b.__module__ == "builtins" and b not in (Exception, BaseException, object)
        ]
        summary = (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""
        also = ", ".join(f"`{b}`" for b in builtins) or "-"
        lines.append(f"| [`{name}`](#keras_cifar_zoo.{name}) | {also} | {_cell(summary)} |")
    lines.append("")
    lines += [f"::: keras_cifar_zoo.{name}\n" for name in errors]
    return "\n".join(lines).rstrip("\n")


def api_unlisted_table() -> str:
    """The references of root exports that ``docs/api.md`` does not place in a section yet."""
    placed = set(_DIRECTIVE.findall(API_PAGE.read_text(encoding="utf-8")))
    rest = [n for n in _exports() if not n.endswith("Error") and n not in placed]
    if not rest:
        return ""
    return "\n".join(["## Other names", "", *[f"::: keras_cifar_zoo.{n}\n" for n in rest]])


TABLES: dict[str, Callable[[], str]] = {
    "api-errors": api_errors_table,
    "api-unlisted": api_unlisted_table,
    "checkpoint-details": checkpoint_details_table,
    "cpu-training": cpu_training_table,
    "untrained": untrained_list,
    "training-copies": training_copies_text,
    "copies": copies_table,
    "models": models_table,
    "model-details": model_details_table,
    "articles": articles_table,
    "accuracy": accuracy_table,
    "benchmarks": benchmarks_table,
    "epoch-settings": epoch_settings_table,
    "time-to-94": time_to_94_table,
    "cifar100": cifar100_table,
    "transfer": transfer_table,
    "recipes": recipes_table,
    **{f"article-{n}": functools.partial(article_models_table, n) for n in ARTICLES},
}
"""Table name (as written in the markers) -> function returning the Markdown table."""

_REGION = re.compile(
    r"(?P<start><!-- (?P<name>[a-z0-9_-]+)-table:start -->)\n"
    r".*?(?P<end><!-- (?P=name)-table:end -->)",
    re.DOTALL,
)


def render(markdown: str, docs_root: str = "docs/") -> str:
    """Returns ``markdown`` with every marked table region refilled.

    Args:
        markdown: The page.
        docs_root: The documentation folder relative to the page, for the links in generated
            text (``docs/`` from README.md, ``""`` or ``../`` from a documentation page).

    Raises:
        KeyError: If a marker names a table that :data:`TABLES` does not know.
    """
    cache: dict[str, str] = {}

    def fill(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"Unknown table {name!r} in markers; known: {sorted(TABLES)}")
        if name not in cache:
            cache[name] = TABLES[name]().replace(DOCS_LINK, f"({docs_root}")
        return f"{match['start']}\n{cache[name]}\n{match['end']}"

    return _REGION.sub(fill, markdown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Regenerate the tables in README.md.")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if stale")
    parser.add_argument("path", nargs="?", type=Path, default=README, help="default: README.md")
    args = parser.parse_args(argv)
    text = args.path.read_text(encoding="utf-8")
    fresh = render(text)
    if fresh == text:
        return 0
    if args.check:
        print(f"{args.path} is stale: run `python docs/gen_tables.py`", file=sys.stderr)
        return 1
    args.path.write_text(fresh, encoding="utf-8")
    print(f"updated {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
