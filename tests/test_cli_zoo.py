"""The command line: ``list``, ``info``, error handling, ``python -m keras_cifar_zoo``."""

from __future__ import annotations

import dataclasses
import errno
import importlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

import keras_cifar_zoo
from keras_cifar_zoo import (
    OutputWriteError,
    UnknownModelError,
    __version__,
    cli,
    list_models,
    model_info,
)
from keras_cifar_zoo.cli import main
from keras_cifar_zoo.cli._table import format_fields, format_table
from keras_cifar_zoo.weights.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(err: str, *fragments: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("keras-cifar-zoo: error: ")
    for fragment in fragments:
        assert fragment in lines[0]
    assert "Traceback" not in err


def test_list_prints_every_model(capsys):
    code, out, err = run(capsys, "list")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == [
        "NAME",
        "ARTICLE",
        "FAMILY",
        "PARAMS",
        "PREPROCESSING",
        "CIFAR-10",
        "CIFAR-100",
    ]
    rows = {line.split()[0]: line.split() for line in lines[2:-4]}
    assert sorted(rows) == list_models()
    assert rows["vgg19_bn_pretrain"] == [
        "vgg19_bn_pretrain",
        "002",
        "vgg",
        "39,002,738",
        "imagenet_mean_rgb",
        "-",
        "-",
    ]
    assert rows["resnet20_v1"][4:] == ["rescale_0_1", "88.86%", "33.11%"]
    assert lines[-4:] == [
        "",
        "CIFAR-10, CIFAR-100: test accuracy of weights='cifar10', 'cifar100' (- if none)",
        "ImageNet weights (weights='imagenet'): vgg16_bn, vgg16_bn_plainhead, vgg19_bn, "
        "vgg19_bn_pretrain",
        f"{len(list_models())} models; details: keras-cifar-zoo info NAME",
    ]
    assert max(map(len, lines)) <= 100


def test_list_shows_each_default_checkpoints_accuracy(capsys):
    _, out, _ = run(capsys, "list")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:-4]}
    manifest = load_manifest()
    for name, row in rows.items():
        for dataset, cell in (("cifar10", row[5]), ("cifar100", row[6])):
            if manifest.for_model(name, dataset):
                accuracy = manifest.find(name, dataset=dataset).metrics.accuracy
                assert cell == f"{accuracy * 100:.2f}%", (name, dataset)
            else:
                assert cell == "-", (name, dataset)


def test_list_aligns_the_parameter_column(capsys):
    _, out, _ = run(capsys, "list")
    rows = out.splitlines()[2:-4]
    ends = {re.search(r"\d{1,3}(,\d{3})+", row).end() for row in rows}
    assert (
        len(rows) == len(list_models()) and len(ends) == 1
    )  # right-aligned: every count ends in one column


def test_list_filters_with_a_pattern(capsys):
    code, out, _ = run(capsys, "list", "vgg19*")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()[2:] if line.startswith("vgg")]
    assert names == ["vgg19_bn", "vgg19_bn_pretrain"]
    assert out.splitlines()[-1].startswith("2 models;")


def test_list_pattern_matching_nothing_is_a_one_line_error(capsys):
    code, out, err = run(capsys, "list", "xyz*")
    assert code == 1 and out == ""
    assert_one_error_line(
        err, "No model matches 'xyz*'", "keras-cifar-zoo list", f"{len(list_models())} models"
    )


def test_list_json(capsys):
    code, out, _ = run(capsys, "list", "--json")
    assert code == 0
    records = json.loads(out)
    assert [r["name"] for r in records] == list_models()
    first = records[0]
    assert first["num_params"] == model_info(first["name"]).num_params
    assert first["preprocessing"] == model_info(first["name"]).preprocessing.to_config()
    resnet = next(r for r in records if r["name"] == "resnet20_v1")
    assert resnet["checkpoints"] == [
        {
            "weights": "cifar10:improved",
            "default": True,
            "accuracy": 0.8886,
            "recipe": "improved_sgd_crops",
            "epochs": 30,
        },
        {
            "weights": "cifar10:improved-seed1",
            "default": False,
            "accuracy": 0.8856,
            "recipe": "improved_sgd_crops",
            "epochs": 30,
        },
        {
            "weights": "cifar10:improved-seed2",
            "default": False,
            "accuracy": 0.8817,
            "recipe": "improved_sgd_crops",
            "epochs": 30,
        },
        {
            "weights": "cifar100:finetune",
            "default": True,
            "accuracy": 0.3311,
            "recipe": "finetune_sgd",
            "epochs": 5,
        },
    ]


def test_info_prints_the_record(capsys, monkeypatch):
    monkeypatch.delenv("KERAS_CIFAR_ZOO_HUB", raising=False)
    monkeypatch.delenv("KERAS_CIFAR_ZOO_MANIFEST", raising=False)
    code, out, err = run(capsys, "info", "resnet20_v1")
    assert code == 0 and err == ""
    lines = out.splitlines()
    fields = dict((line[:18].strip(), line[18:]) for line in lines if line[:18].strip())
    assert fields["name"] == "resnet20_v1"
    assert fields["article"] == "001"
    assert fields["parameters"] == "274,442"
    assert fields["input shape"] == "32x32x3 (height and width >= 29)"
    assert fields["preprocessing"] == "rescale_0_1 (x/255)"
    assert "Pixels divided by 255" in out
    text = " ".join(" ".join(line[18:].split()) for line in lines)  # the wrapped values, joined
    assert (
        "article_001 (what fit_cifar10 trains with; the 'cifar10' checkpoint was trained with "
        "improved_sgd_crops)"
    ) in text
    assert (
        "cifar10:improved (default for 'cifar10'): 88.86% test accuracy, recipe "
        "improved_sgd_crops, 30 epochs cifar10:improved-seed1: 88.56% test accuracy, recipe "
        "improved_sgd_crops, 30 epochs cifar10:improved-seed2: 88.17% test accuracy, recipe "
        "improved_sgd_crops, 30 epochs cifar100:finetune (default for 'cifar100'): 33.11% test "
        "accuracy, recipe finetune_sgd, 5 epochs"
    ) in text
    assert fields["weights from"] == f"the checkout's hub/ mirror {ROOT / 'hub'}"
    assert max(map(len, lines)) <= 100


def test_info_names_where_the_weights_come_from(capsys, monkeypatch, tmp_path):
    for var in ("KERAS_CIFAR_ZOO_HUB", "KERAS_CIFAR_ZOO_MANIFEST", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("COLUMNS", "400")  # a long temporary path stays on one line
    mirror = tmp_path / "mirror"
    repo = "keras-cifar-zoo/vgg_lite-improved"
    shutil.copytree(ROOT / "hub" / repo, mirror / repo)

    def weights_from(*argv: str) -> str:
        code, out, err = run(capsys, "info", "vgg_lite", *argv)
        assert code == 0 and err == ""
        return next(line[18:] for line in out.splitlines() if line.startswith("weights from"))

    assert weights_from() == f"the checkout's hub/ mirror {ROOT / 'hub'}"
    assert weights_from("--hub-dir", str(mirror)) == f"the hub mirror {mirror}"
    assert weights_from("--hub-dir", "") == "https://huggingface.co via the huggingface_hub cache"
    monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", str(mirror))
    assert weights_from() == f"the hub mirror {mirror}"
    code, _, err = run(capsys, "info", "vgg_lite", "--hub-dir", str(tmp_path / "nope"))
    assert code == 1
    assert_one_error_line(err, "Received: --hub-dir ")


def test_info_json_is_the_model_info_record(capsys):
    code, out, _ = run(capsys, "info", "vgg19_bn_pretrain", "--json")
    assert code == 0
    record = json.loads(out)
    info = model_info("vgg19_bn_pretrain")
    expected = json.loads(json.dumps(dataclasses.asdict(info)))
    assert record.pop("checkpoints") == []
    assert record == expected


def test_info_summary_builds_the_model(capsys):
    code, out, _ = run(capsys, "info", "simple_cnn", "--summary")
    assert code == 0
    assert "Total params: 1,626,442" in out
    assert "preprocessing" in out and "predictions" in out


def test_info_unknown_model_is_a_one_line_error(capsys):
    code, out, err = run(capsys, "info", "resnet20")
    assert code == 1 and out == ""
    assert_one_error_line(err, "Unknown model 'resnet20'", "Did you mean 'resnet20_v1'")


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["lst"], "invalid choice: 'lst'"),
        (["info"], "the following arguments are required: name"),
        ([], "the following arguments are required: COMMAND"),
        (["list", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["info", "simple_cnn", "--json", "--summary"], "not allowed with argument"),
    ],
)
def test_bad_command_lines_are_one_line_errors(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert_one_error_line(err, fragment, "--help")


def test_help_and_version(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    assert "list" in out and "info" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"keras-cifar-zoo {__version__}"
    code, out, _ = run(capsys, "list", "--help")
    assert code == 0 and "PATTERN" in out.upper()


def test_every_command_module_registers():
    for module_name in cli.COMMAND_MODULES:
        assert callable(importlib.import_module(module_name).register)
    parser = cli.build_parser()
    assert callable(parser.parse_args(["list"]).handler)
    assert callable(parser.parse_args(["info", "simple_cnn"]).handler)


@pytest.fixture
def fake_command(monkeypatch):
    """Adds a ``boom`` command whose behaviour each test chooses."""
    module = types.ModuleType("fake_zoo_command")
    behaviour = {}

    def handler(args):
        raise behaviour["error"]

    def register(subparsers):
        subparsers.add_parser("boom").set_defaults(handler=handler)

    module.register = register
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(cli, "COMMAND_MODULES", (*cli.COMMAND_MODULES, module.__name__))
    return behaviour


def test_adding_a_command_module_is_one_entry(capsys, fake_command):
    fake_command["error"] = UnknownModelError("first line\n  second line. Received: name='x'")
    code, _, err = run(capsys, "boom")
    assert code == 1
    assert err == "keras-cifar-zoo: error: first line second line. Received: name='x'\n"


def test_keyboard_interrupt_exits_130(capsys, fake_command):
    fake_command["error"] = KeyboardInterrupt()
    code, _, err = run(capsys, "boom")
    assert code == 130
    assert_one_error_line(err, "interrupted")


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            PermissionError(errno.EACCES, "Permission denied", "/runs/plan/plan.json"),
            "Cannot write or read '/runs/plan/plan.json': Permission denied; the folder is "
            "read-only or not yours: choose a folder you can write to.",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device", "/hub/x/model.weights.h5"),
            "Cannot write or read '/hub/x/model.weights.h5': No space left on device; the disk "
            "is full: free some space or choose a folder on another disk.",
        ),
        (
            FileExistsError(errno.EEXIST, "File exists", "/out/a", None, "/out/b"),
            "Cannot write or read '/out/a' -> '/out/b': File exists; a file is in the way where "
            "a folder must be: remove it or choose another path.",
        ),
        (
            OutputWriteError("Cannot write the onnx export to 'm.onnx': ...; fix. Received: x"),
            "Cannot write the onnx export to 'm.onnx': ...; fix. Received: x",
        ),
    ],
)
def test_a_system_error_from_any_command_is_one_line(capsys, fake_command, error, line):
    fake_command["error"] = error
    code, out, err = run(capsys, "boom")
    assert (code, out, err) == (1, "", f"keras-cifar-zoo: error: {line}\n")


@pytest.mark.parametrize(
    ("backend", "line"),
    [
        (
            "unknown",
            "Keras cannot start its backend: Unable to import backend : unknown. KERAS_BACKEND "
            "must name a Keras backend installed here: {here}. Received: KERAS_BACKEND='unknown'",
        ),
        (
            "torch",
            "Keras cannot start its backend: No module named 'torch'. Install it (pip install "
            "torch), or set KERAS_BACKEND to one of {here}. Received: KERAS_BACKEND='torch'",
        ),
    ],
)
def test_a_backend_keras_cannot_start_is_one_line(backend: str, line: str):
    if backend == "torch" and importlib.util.find_spec("torch") is not None:
        pytest.skip("torch is installed here")
    installed = [b for b in cli.BACKENDS if b == "numpy" or importlib.util.find_spec(b)]
    here = f"{', '.join(installed[:-1])} or {installed[-1]}"
    done = _cli("list", KERAS_BACKEND=backend)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.splitlines() == [f"keras-cifar-zoo: error: {line.format(here=here)}"]


def test_a_megabyte_long_name_is_echoed_cut_short(capsys):
    name = "x" * 1_000_000
    code, _, err = run(capsys, "info", name)
    assert code == 1
    assert err == (
        f"keras-cifar-zoo: error: Unknown model {'x' * 80!r}…(1,000,000 characters). Call "
        "keras_cifar_zoo.list_models() or run `keras-cifar-zoo list` to see all "
        f"{len(list_models())} models. Received: name={'x' * 80!r}…(1,000,000 characters)\n"
    )
    code, _, err = run(capsys, "list", name)
    assert code == 1 and len(err) < 400 and "…(1,000,000 characters)" in err


def test_bugs_are_not_hidden(capsys, fake_command):
    fake_command["error"] = RuntimeError("a bug")
    with pytest.raises(RuntimeError, match="a bug"):
        main(["boom"])


def test_format_helpers():
    table = format_table(("A", "NUM"), [("x", "1"), ("long", "1,000")], right=(1,))
    assert table.splitlines() == ["A       NUM", "----  -----", "x         1", "long  1,000"]
    fields = format_fields([("k", "v"), ("longer", "a " * 30)], width=40)
    lines = fields.splitlines()
    assert lines[0] == "k       v"
    assert all(len(line) <= 40 for line in lines) and len(lines) > 2
    assert lines[2].startswith(" " * 8)


def _cli(*argv: str, **env: str) -> subprocess.CompletedProcess:
    """Runs ``python -m keras_cifar_zoo`` as a user would: TensorFlow's log level not set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP_", "KERAS_CIFAR"))}
    return subprocess.run(
        [sys.executable, "-m", "keras_cifar_zoo", *argv],
        capture_output=True,
        text=True,
        env=clean | env,
        timeout=300,
    )


def test_python_dash_m_runs_the_cli():
    done = _cli("info", "nope")
    assert done.returncode == 1
    assert done.stdout == ""
    # The error line only: no TensorFlow start-up lines before it.
    assert done.stderr.splitlines() == [
        "keras-cifar-zoo: error: Unknown model 'nope'. Call keras_cifar_zoo.list_models() or run "
        f"`keras-cifar-zoo list` to see all {len(list_models())} models. Received: name='nope'"
    ]


def test_list_prints_no_tensorflow_log_lines():
    done = _cli("list")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines()[-1] == (
        f"{len(list_models())} models; details: keras-cifar-zoo info NAME"
    )


def test_help_is_fast():
    start = time.monotonic()
    done = _cli("--help")
    elapsed = time.monotonic() - start
    assert done.returncode == 0 and "usage: keras-cifar-zoo" in done.stdout
    assert done.stderr == ""
    assert elapsed < 1.5, f"--help took {elapsed:.2f} s"  # about 0.2 s; 5 s with TensorFlow


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["predict", "--help"],
        ["--version"],
        ["lst"],
        ["predict", "simple_cnn", "x.png", "--weights", "w.keras", "--top", "0"],
        ["demo", "--out", "grid.jpg"],
        ["export", "--help"],
        ["export", "simple_cnn", "--weights", "cifar10", "--format", "pdf", "--out", "x"],
        ["export", "simple_cnn", "--weights", "cifar10", "--out", "."],
    ],
)
def test_parsing_does_not_import_keras(argv: list[str]):
    code = textwrap.dedent(
        f"""
        import contextlib, io, json, sys
        from keras_cifar_zoo.cli import main
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            status = main({argv!r})
        heavy = sorted({{m.split(".")[0] for m in sys.modules}} & {{"keras", "tensorflow", "jax"}})
        print(json.dumps([status, heavy]))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    status, heavy = json.loads(done.stdout)
    assert heavy == [] and status in (0, 2)


def test_importing_the_package_is_cheap_and_complete():
    code = textwrap.dedent(
        """
        import json, os, sys
        import keras_cifar_zoo
        before = sorted({m.split(".")[0] for m in sys.modules} & {"keras", "tensorflow"})
        from keras_cifar_zoo.registry import list_models
        print(json.dumps({
            "before": before,
            "models": len(list_models()),
            "load_model": keras_cifar_zoo.load_model.__module__,
            "training": keras_cifar_zoo.training.__name__,
            "tf_log_level": os.environ.get("TF_CPP_MIN_LOG_LEVEL"),
        }))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report.pop("tf_log_level") != "3"  # only the command line silences TensorFlow
    assert report == {
        "before": [],
        "models": len(list_models()),
        "load_model": "keras_cifar_zoo.zoo",
        "training": "keras_cifar_zoo.training",
    }
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        keras_cifar_zoo.nope  # noqa: B018


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["demo", "--out", "grid.jpg"], "argument --out: the image is written as PNG, so the "),
        (["predict", "simple_cnn", "a.png", "--weights", "w.keras", "--top", "0"], "--top"),
        (["evaluate", "simple_cnn", "--weights", "w.keras", "--plot", "cm.pdf"], "--plot"),
    ],
)
def test_bad_values_are_refused_while_parsing(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert_one_error_line(err, fragment, "--help")


def test_output_folders_must_not_be_files(capsys, tmp_path):
    (tmp_path / "taken").write_text("x")
    code, _, err = run(capsys, "demo", "--out", str(tmp_path))
    assert code == 2
    assert_one_error_line(err, f"argument --out: {str(tmp_path)!r} is a folder; pass a file name")
    code, _, err = run(capsys, "demo", "--out", str(tmp_path / "taken" / "grid.png"))
    assert code == 2
    assert_one_error_line(
        err, f"{str(tmp_path / 'taken')!r} is a file, not a folder (see 'keras-cifar-zoo demo"
    )
