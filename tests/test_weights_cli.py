"""``keras-cifar-zoo download`` and ``keras-cifar-zoo publish``."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from helpers import hub_stand_in
from helpers.hub_stand_in import HubStandIn
from helpers.run_records import RUN, same_result

from keras_cifar_zoo.cli import main
from keras_cifar_zoo.data import describe_copy
from keras_cifar_zoo.publish import publish
from keras_cifar_zoo.registry import build_model
from keras_cifar_zoo.weights import hub
from keras_cifar_zoo.weights.manifest import load_manifest

hub_env = hub_stand_in.hub_env  # fixtures
hub_server = hub_stand_in.hub_server

NAME = "resnet20_v1"


@pytest.fixture
def published(tmp_path: Path, hub_env, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository root with one published resnet20_v1 checkpoint; the manifest is active."""
    build_model(NAME).save_weights(tmp_path / "w.weights.h5")
    publish(
        NAME,
        tmp_path / "w.weights.h5",
        root=tmp_path / "repo",
        run_info=RUN,
        recipe="improved_sgd",
        data_name="placeholder",
        evaluate_fn=same_result,
    )
    monkeypatch.setenv("KERAS_CIFAR_ZOO_MANIFEST", str(tmp_path / "repo" / "weights_manifest.json"))
    return tmp_path / "repo"


def test_download_from_mirror(published: Path, capsys: pytest.CaptureFixture):
    assert main(["download", NAME, "--hub-dir", str(published / "hub")]) == 0
    out = capsys.readouterr().out.strip()
    assert out == str(published / "hub" / "keras-cifar-zoo" / f"{NAME}-article")


def test_download_over_http_then_offline(
    published: Path, hub_server: HubStandIn, capsys: pytest.CaptureFixture
):
    hub_server.root = published / "hub"
    assert main(["download", NAME, "--tag", "article"]) == 0
    folder = Path(capsys.readouterr().out.strip())
    entry = load_manifest().find(NAME)
    assert hub.file_hash(folder / entry.weights_file) == entry.files[0].sha256
    before = len(hub_server.requests)
    assert main(["download", NAME, "--offline"]) == 0
    assert len(hub_server.requests) == before


def test_download_errors(published: Path, capsys: pytest.CaptureFixture):
    assert main(["download", "simple_cnn"]) == 1
    assert "No published CIFAR-10 checkpoint for simple_cnn. Models with one: resnet20_v1" in (
        capsys.readouterr().err
    )
    assert main(["download", NAME, "--tag", "best", "--hub-dir", str(published / "hub")]) == 1
    assert "has no checkpoint tagged 'best'" in capsys.readouterr().err
    assert main(["download", "vgg16_bn", "--imagenet", "--hub-dir", "x"]) == 2
    assert "--hub-dir does not apply to --imagenet" in capsys.readouterr().err
    assert main(["download", NAME, "--offline"]) == 1
    assert "downloads are off" in capsys.readouterr().err


def test_download_imagenet_from_local_folder(
    tmp_path: Path, hub_env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    file = tmp_path / "vgg16_weights_tf_dim_ordering_tf_kernels.h5"
    file.write_bytes(b"placeholder")
    monkeypatch.setenv("KERAS_CIFAR_ZOO_IMAGENET", str(tmp_path))
    assert main(["download", "vgg16_bn", "--imagenet"]) == 0
    assert capsys.readouterr().out.strip() == str(file)
    assert main(["download", NAME, "--imagenet"]) == 1
    assert "resnet20_v1 has no ImageNet weights" in capsys.readouterr().err


def test_publish_needs_training_information(tmp_path: Path, capsys: pytest.CaptureFixture):
    build_model(NAME).save_weights(tmp_path / "w.weights.h5")
    code = main(
        ["publish", NAME, "--checkpoint", str(tmp_path / "w.weights.h5"), "--root", str(tmp_path)]
    )
    assert code == 1
    assert (
        "run_info lacks epochs, wall_time_s, hardware, backend, training_data"
        in capsys.readouterr().err
    )
    (tmp_path / "run.json").write_text("[1]")
    args = ["publish", NAME, "--checkpoint", str(tmp_path / "w.weights.h5"), "--run-info"]
    assert main([*args, str(tmp_path / "run.json")]) == 2
    assert "expected a JSON object" in capsys.readouterr().err


def test_publish_options_beat_the_run_info_file(
    tmp_path: Path, hub_env, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    from keras_cifar_zoo import publish as publish_module

    monkeypatch.setattr(publish_module, "_default_evaluator", lambda *args: same_result)
    build_model(NAME).save_weights(tmp_path / "w.weights.h5")
    metrics = {  # the shape of scripts/train_checkpoints.py's metrics.json
        "recipe": "article_004",
        "epochs": 88,
        "epochs_planned": 200,
        "hardware": "NVIDIA H100 80GB HBM3",
        "backend": "jax",
        "keras_version": "3.15.1",
        "data": "CIFAR-10 test set (10,000 images), lossless copy",
        "training_data": "CIFAR-10 training set (50,000 images), lossless copy",
    }
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    args = ["publish", NAME, "--checkpoint", str(tmp_path / "w.weights.h5"), "--run-info"]
    args += [str(tmp_path / "metrics.json"), "--root", str(tmp_path), "--wall-time", "399.2"]
    assert main(args) == 0, capsys.readouterr().err
    m = load_manifest(tmp_path / "weights_manifest.json").find(NAME).metrics
    assert (m.epochs, m.wall_time_s, m.hardware) == (88, 399.2, "NVIDIA H100 80GB HBM3")
    assert main([*args, "--epochs", "90", "--hardware", "1 GPU, shared"]) == 0
    m = load_manifest(tmp_path / "weights_manifest.json").find(NAME).metrics
    assert (m.epochs, m.hardware, m.keras_version) == (90, "1 GPU, shared", "3.15.1")
    assert main([*args, "--training-data", "CIFAR-10 training set, official release"]) == 0
    m = load_manifest(tmp_path / "weights_manifest.json").find(NAME).metrics
    assert m.training_data == "CIFAR-10 training set, official release"


@pytest.mark.slow
def test_publish_on_the_real_test_set(
    tmp_path: Path, cifar10_dir: Path, hub_env, capsys: pytest.CaptureFixture
):
    name = "simple_cnn"  # the cheapest model to evaluate on 10,000 images
    build_model(name).save_weights(tmp_path / "w.weights.h5")
    (tmp_path / "run.json").write_text(json.dumps(RUN | {"recipe": "improved_sgd"}))
    code = main(
        [
            "publish",
            name,
            "--checkpoint",
            str(tmp_path / "w.weights.h5"),
            "--root",
            str(tmp_path),
            "--run-info",
            str(tmp_path / "run.json"),
            "--hardware",
            "override",
            "--data-dir",
            str(cifar10_dir),
            "--dry-run",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    entry = load_manifest(tmp_path / "weights_manifest.json").find(name)
    assert entry.metrics.num_images == 10_000 and entry.metrics.hardware == "override"
    assert entry.metrics.data == describe_copy(cifar10_dir)  # named by the copy's SOURCE.txt
    assert f"accuracy {entry.metrics.accuracy:.4f}" in out
    assert "would upload 5 files to" in out


def _one_error(err: str) -> str:
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("keras-cifar-zoo: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in err, err
    return errors[0]


def test_download_errors_name_its_flags_not_keywords(
    published: Path, tmp_path: Path, capsys: pytest.CaptureFixture
):
    (tmp_path / "old-mirror").mkdir()
    assert main(["download", NAME, "--hub-dir", str(tmp_path / "old-mirror"), "--offline"]) == 1
    error = _one_error(capsys.readouterr().err)
    assert f"The hub mirror at {tmp_path / 'old-mirror'} lacks keras-cifar-zoo/" in error
    assert "(--offline or HF_HUB_OFFLINE=1)" in error
    assert "or leave out --hub-dir and download it once with network access" in error
    assert "hub_dir=" not in error and "local_files_only" not in error

    assert main(["download", NAME, "--offline"]) == 1
    error = _one_error(capsys.readouterr().err)
    assert "use a local mirror (--hub-dir PATH or KERAS_CIFAR_ZOO_HUB=PATH)" in error

    (tmp_path / "cache").write_text("x")
    assert main(["download", NAME, "--cache-dir", str(tmp_path / "cache")]) == 1
    assert _one_error(capsys.readouterr().err).endswith(
        "Point --cache-dir PATH or HF_HUB_CACHE=PATH at a folder. "
        f"Received: --cache-dir {str(tmp_path / 'cache')!r}"
    )


def test_predict_and_evaluate_name_their_mirror_flag_and_the_variable(
    published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    from PIL import Image

    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["predict", NAME, str(tmp_path / "a.png"), "--weights", "cifar10"]) == 1
    error = _one_error(capsys.readouterr().err)
    assert "use a local mirror (--hub-dir PATH or KERAS_CIFAR_ZOO_HUB=PATH)" in error
    assert "hub_dir=" not in error

    (tmp_path / "old-mirror").mkdir()
    monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", str(tmp_path / "old-mirror"))
    assert main(["evaluate", NAME, "--weights", "cifar10"]) == 1
    error = _one_error(capsys.readouterr().err)
    assert f"The hub mirror at {tmp_path / 'old-mirror'} lacks " in error
    assert "or unset KERAS_CIFAR_ZOO_HUB and download it once" in error
    assert "hub_dir=" not in error


def test_download_without_network_fails_at_once(
    published: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
):
    for var in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        endpoint = f"http://127.0.0.1:{s.getsockname()[1]}"
    start = time.monotonic()
    assert main(["download", NAME, "--endpoint", endpoint]) == 1
    assert time.monotonic() - start < 2.0
    error = _one_error(capsys.readouterr().err)
    assert f"{endpoint} cannot be reached ([Errno 111] Connection refused;" in error


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("--max-shard-size", "-1", "argument --max-shard-size: must be a finite number greater"),
        ("--epochs", "0", "argument --epochs: must be 1 or more, got 0"),
        ("--wall-time", "nan", "argument --wall-time: must be a finite number greater than 0"),
    ],
)
def test_publish_refuses_impossible_numbers_while_parsing(
    tmp_path: Path, capsys: pytest.CaptureFixture, option: str, value: str, said: str
):
    argv = ["publish", NAME, "--checkpoint", str(tmp_path / "w.weights.h5"), option, value]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"keras-cifar-zoo: error: {said}" + err.split(said, 1)[1].rstrip()
    ]


def test_publish_root_must_be_a_folder(tmp_path: Path, capsys: pytest.CaptureFixture):
    (tmp_path / "root").write_text("x")
    argv = ["publish", NAME, "--checkpoint", "w.weights.h5", "--root", str(tmp_path / "root")]
    assert main(argv) == 2
    assert "argument --root: " in capsys.readouterr().err


def test_library_messages_name_the_running_commands_flags(tmp_path: Path):
    """The library spells its keyword arguments; the command line says its flags instead, or
    only the environment variable where the command has no flag for the setting."""
    from keras_cifar_zoo.cli import build_parser, command_line_message

    download = build_parser().parse_args(["download", NAME, "--hub-dir", "/m", "--offline"])
    assert command_line_message(
        "Not in the cache and downloads are off (local_files_only=True or HF_HUB_OFFLINE=1): "
        "use a local mirror (hub_dir=PATH or KERAS_CIFAR_ZOO_HUB=PATH) or a local copy "
        "(imagenet_weights=PATH or KERAS_CIFAR_ZOO_IMAGENET=PATH), or leave out hub_dir=.\n"
        "Point cache_dir=PATH or HF_HUB_CACHE=PATH at a folder, pass such a URL as endpoint= "
        "(HF_HUB_OFFLINE=1 uses only the cache). Received: hub_dir='/m', cache_dir=None",
        download,
    ) == (
        "Not in the cache and downloads are off (--offline or HF_HUB_OFFLINE=1): use a local "
        "mirror (--hub-dir PATH or KERAS_CIFAR_ZOO_HUB=PATH) or a local copy "
        "(KERAS_CIFAR_ZOO_IMAGENET=PATH), or leave out --hub-dir. Point --cache-dir PATH or "
        "HF_HUB_CACHE=PATH at a folder, pass such a URL as --endpoint (HF_HUB_OFFLINE=1 uses "
        "only the cache). Received: --hub-dir '/m', cache_dir=None"
    )

    info = build_parser().parse_args(["info", NAME])  # --hub-dir only
    assert command_line_message(
        "use a local mirror (hub_dir=PATH or KERAS_CIFAR_ZOO_HUB=PATH); point cache_dir=PATH or "
        "HF_HUB_CACHE=PATH at a folder, or set local_files_only=True or HF_HUB_OFFLINE=1. "
        "Received: hub_dir='/m'",
        info,
    ) == (
        "use a local mirror (--hub-dir PATH or KERAS_CIFAR_ZOO_HUB=PATH); point "
        "HF_HUB_CACHE=PATH at a folder, or set HF_HUB_OFFLINE=1. Received: hub_dir='/m'"
    )

    listing = build_parser().parse_args(["list"])  # a command with no flags= at all
    text = "leave out hub_dir= (hub_dir=PATH or KERAS_CIFAR_ZOO_HUB=PATH). Received: hub_dir='x'"
    assert command_line_message(text, listing) == (
        "leave out hub_dir= (KERAS_CIFAR_ZOO_HUB=PATH). Received: hub_dir='x'"
    )


def test_a_value_of_the_librarys_own_keeps_its_keyword(tmp_path: Path):
    """``export`` calls the library's ``path`` ``--out``, but a cached file's ``path`` in an
    integrity error is not the one the user gave: only the given value becomes the flag."""
    from keras_cifar_zoo.cli import build_parser, command_line_message

    out = tmp_path / "m.onnx"
    argv = ["export", NAME, "--weights", "cifar10", "--format", "onnx", "--out", str(out)]
    export = build_parser().parse_args(argv)
    blob = "Integrity check failed for x: expected sha256 0, got 1. Received: path='/c/blob'"
    assert command_line_message(blob, export) == blob
    assert command_line_message(
        "A onnx export is a file: choose format='litert' or a folder name. "
        f"Received: path={str(out)!r}, format='onnx'",
        export,
    ) == (
        "A onnx export is a file: choose --format 'litert' or a folder name. "
        f"Received: --out {str(out)!r}, --format 'onnx'"
    )


def test_publish_messages_name_its_flags():
    from keras_cifar_zoo.cli import build_parser, command_line_message

    args = build_parser().parse_args(["publish", NAME, "--checkpoint", "w.weights.h5"])
    assert command_line_message(
        "run_info lacks epochs: nothing is guessed. Pass them in run_info= (as epochs=, "
        "wall_time_s=, hardware=, backend=, training_data=). Received: run_info keys=[]",
        args,
    ) == (
        "run_info lacks epochs: nothing is guessed. Pass them in --run-info (as --epochs, "
        "--wall-time, --hardware, --backend, --training-data). Received: run_info keys=[]"
    )
    assert command_line_message(
        "resnet20_v1 would have no default checkpoint: publish this one with default=True. "
        "Received: default=False",
        args,
    ) == (
        "resnet20_v1 would have no default checkpoint: publish this one with --default. "
        "Received: default=False"
    )
    assert command_line_message(
        "Say which recipe trained the checkpoint as recipe= (such as 'article_001'). "
        "Received: recipe=None",
        args,
    ) == (
        "Say which recipe trained the checkpoint as --recipe (such as 'article_001'). "
        "Received: recipe=None"
    )
