"""``export_model`` and ``keras-cifar-zoo export``: SavedModel, ONNX and LiteRT artifacts."""

from __future__ import annotations

import errno
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import hub_stand_in

from keras_cifar_zoo import (
    InvalidArgumentError,
    UnknownModelError,
    list_models,
    load_model,
    model_info,
)
from keras_cifar_zoo import export as export_module
from keras_cifar_zoo.cli import main
from keras_cifar_zoo.errors import MissingExportPackageError, OutputExistsError, OutputWriteError
from keras_cifar_zoo.export import check_packages, export_model

hub_env = hub_stand_in.hub_env  # fixture

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
NAME = "simple_cnn"  # 0.8 M parameters: builds and exports in about a second
TOLERANCE = 1e-5

needs_tf = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow", reason="exports through the TensorFlow backend"
)
needs_hub = pytest.mark.skipif(not HUB.is_dir(), reason="hub/ is not in this checkout")


def _images(n: int = 8) -> np.ndarray:
    """Raw RGB pixels, uint8, as the exported artifacts take them."""
    return np.random.default_rng(7).integers(0, 256, size=(n, 32, 32, 3), dtype=np.uint8)


def _leftovers(folder: Path) -> list[str]:
    """Names of the temporary siblings an export might have left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def _missing(*modules: str):
    """A stand-in for importlib.util.find_spec that reports ``modules`` as not installed."""
    real = importlib.util.find_spec

    def find_spec(name: str, *args, **kwargs):
        return None if name in modules else real(name, *args, **kwargs)

    return find_spec


# --- refusals: each before the model is built, leaving nothing behind -----------------------


def test_unknown_format_lists_the_choices(tmp_path: Path):
    with pytest.raises(InvalidArgumentError) as caught:
        export_model(NAME, tmp_path / "out", format="pdf")
    assert str(caught.value) == (
        "Unknown export format 'pdf'. Choose one of: tf_saved_model, onnx, litert. "
        "Received: format='pdf'"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["file", "empty folder", "folder"])
def test_an_existing_output_is_never_overwritten(tmp_path: Path, kind: str):
    out = tmp_path / "model.onnx"
    if kind == "file":
        out.write_text("keep me")
    else:
        out.mkdir()
        if kind == "folder":
            (out / "keep.txt").write_text("keep me")
    with pytest.raises(OutputExistsError) as caught:
        export_model(NAME, out, format="onnx")
    assert str(caught.value) == (
        f"{str(out)!r} already exists; remove it or choose another path (an export never "
        f"overwrites). Received: path={str(out)!r}"
    )
    assert isinstance(caught.value, FileExistsError)
    if kind == "file":
        assert out.read_text() == "keep me"
    else:
        assert [p.name for p in out.iterdir()] == (["keep.txt"] if kind == "folder" else [])
    assert _leftovers(tmp_path) == []


def test_unknown_model_is_refused_before_anything_is_written(tmp_path: Path):
    with pytest.raises(UnknownModelError) as caught:
        export_model("simple_cnnx", tmp_path / "out")
    assert str(caught.value).startswith("Unknown model 'simple_cnnx'. Did you mean 'simple_cnn'")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("out", "fmt", "message"),
    [
        (
            "m.onnx",
            "litert",
            "A litert export is one file whose name ends in .tflite, e.g. '{d}/m.tflite'. "
            "Received: path='{d}/m.onnx'",
        ),
        (
            "m",
            "onnx",
            "A onnx export is one file whose name ends in .onnx, e.g. '{d}/m.onnx'. "
            "Received: path='{d}/m'",
        ),
        (
            "m.tflite",
            "tf_saved_model",
            "A tf_saved_model export is a folder, but '{d}/m.tflite' is named like a litert "
            "file: choose format='litert' or a folder name. Received: path='{d}/m.tflite'",
        ),
    ],
)
def test_a_name_that_does_not_fit_the_format_is_refused(tmp_path, out, fmt, message):
    with pytest.raises(InvalidArgumentError) as caught:
        export_model(NAME, tmp_path / out, format=fmt)
    assert str(caught.value) == message.format(d=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_path_below_a_file_is_refused(tmp_path: Path):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "sub" / "m"
    with pytest.raises(InvalidArgumentError) as caught:
        export_model(NAME, out)
    assert str(caught.value) == (
        f"{str(out)!r} cannot be created: {str(tmp_path / 'file')!r} is a file, not a folder. "
        f"Received: path={str(out)!r}"
    )


def test_a_missing_onnx_converter_names_the_install(tmp_path, monkeypatch):
    # both reported missing, whatever this machine has installed
    monkeypatch.setattr(export_module.importlib.util, "find_spec", _missing("tf2onnx", "onnx"))
    with pytest.raises(MissingExportPackageError) as caught:
        check_packages("onnx", "tensorflow")
    assert str(caught.value) == (
        "onnx export on the tensorflow backend needs tf2onnx and onnx, not installed here: "
        'pip install "keras-cifar-zoo[export]" (or pip install tf2onnx onnx). '
        "Received: format='onnx'"
    )
    assert isinstance(caught.value, ImportError)
    if keras.backend.backend() == "tensorflow":
        with pytest.raises(MissingExportPackageError, match=r"needs tf2onnx and onnx, not"):
            export_model(NAME, tmp_path / "m.onnx", format="onnx")
        assert list(tmp_path.iterdir()) == []


def test_package_needs_per_backend(monkeypatch):
    monkeypatch.setattr(export_module.importlib.util, "find_spec", _missing("jax2onnx"))
    with pytest.raises(MissingExportPackageError, match=r"needs jax2onnx, not installed here: "):
        check_packages("onnx", "jax")
    with pytest.raises(InvalidArgumentError) as caught:
        check_packages("litert", "jax")
    assert str(caught.value) == (
        "Keras exports LiteRT only on the TensorFlow or PyTorch backend, not jax: set "
        "KERAS_BACKEND=tensorflow. Received: format='litert', backend='jax'"
    )
    check_packages("tf_saved_model", "tensorflow")  # TensorFlow is all it needs
    check_packages("litert", "tensorflow")


def test_a_failed_export_leaves_nothing_behind(tmp_path, monkeypatch):
    def half_written(self, filepath, format, **kwargs):
        Path(filepath).mkdir()
        (Path(filepath) / "saved_model.pb").write_bytes(b"half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(keras.Model, "export", half_written)
    with pytest.raises(RuntimeError, match="disk full"):
        export_model(NAME, tmp_path / "sm")
    assert list(tmp_path.iterdir()) == []


def test_an_import_error_from_keras_becomes_a_typed_error(tmp_path, monkeypatch):
    def needs_a_package(self, filepath, format, **kwargs):
        raise ImportError("This requires the foo module. You can install it via `pip install foo`")

    monkeypatch.setattr(keras.Model, "export", needs_a_package)
    with pytest.raises(MissingExportPackageError) as caught:
        export_model(NAME, tmp_path / "m.tflite", format="litert")
    assert str(caught.value) == (
        "litert export needs a package that is not installed: This requires the foo module. "
        "You can install it via `pip install foo`. Received: format='litert'"
    )
    assert list(tmp_path.iterdir()) == []


# --- real exports ------------------------------------------------------------------------------


@needs_tf
def test_saved_model_serves_the_same_probabilities(tmp_path: Path, monkeypatch):
    import tensorflow as tf

    model = _capture_model(monkeypatch)
    out = export_model(NAME, tmp_path / "exports" / "sm")  # missing parents are created
    assert out == tmp_path / "exports" / "sm" and (out / "saved_model.pb").is_file()
    assert _leftovers(out.parent) == []
    images = _images()
    expected = model[0].predict(images.astype("float32"), verbose=0)
    served = tf.saved_model.load(str(out))
    probabilities = np.asarray(served.serve(images))  # raw uint8 pixels, as a NumPy array
    assert probabilities.shape == (8, 10)
    assert np.abs(probabilities - expected).max() < TOLERANCE
    as_float = np.asarray(served.serve(tf.constant(images, tf.float32)))
    assert np.abs(as_float - expected).max() < TOLERANCE
    (output,) = served.signatures["serving_default"](tf.constant(images, tf.float32)).values()
    assert np.abs(output.numpy() - expected).max() < TOLERANCE


@needs_tf
@needs_hub
def test_published_weights_export_matches_model_predict(tmp_path: Path, hub_env):
    import tensorflow as tf

    out = export_model(NAME, tmp_path / "sm", weights="cifar10", hub_dir=HUB)
    model = load_model(NAME, weights="cifar10", hub_dir=HUB)
    images = _images(16)
    expected = model.predict(images.astype("float32"), verbose=0)
    loaded = tf.saved_model.load(str(out))  # keep it: serve() needs its variables alive
    served = np.asarray(loaded.serve(images))
    assert np.abs(served - expected).max() < TOLERANCE
    assert (served.argmax(axis=1) == expected.argmax(axis=1)).all()


@needs_tf
def test_onnx_runs_in_onnxruntime(tmp_path: Path, monkeypatch):
    pytest.importorskip("tf2onnx", reason="ONNX export needs the export extra")
    ort = pytest.importorskip("onnxruntime", reason="running ONNX needs the export extra")
    model = _capture_model(monkeypatch)
    out = export_model(NAME, tmp_path / "m.onnx", format="onnx")
    assert out.is_file() and _leftovers(tmp_path) == []
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (spec,) = session.get_inputs()
    assert spec.name == "images" and spec.shape[1:] == [32, 32, 3]
    images = _images().astype("float32")
    (probabilities,) = session.run(None, {spec.name: images})
    expected = model[0].predict(images, verbose=0)
    assert np.abs(probabilities - expected).max() < TOLERANCE


@needs_tf
def test_litert_runs_in_the_litert_interpreter(tmp_path: Path, monkeypatch):
    litert = pytest.importorskip(
        "ai_edge_litert.interpreter", reason="running LiteRT needs the export extra"
    )
    model = _capture_model(monkeypatch)
    out = export_model(NAME, tmp_path / "m.tflite", format="litert")
    assert out.is_file() and _leftovers(tmp_path) == []
    interpreter = litert.Interpreter(model_path=str(out))
    (spec,) = interpreter.get_input_details()
    assert list(spec["shape_signature"]) == [-1, 32, 32, 3]
    images = _images().astype("float32")
    interpreter.resize_tensor_input(spec["index"], images.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(spec["index"], images)
    interpreter.invoke()
    probabilities = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    expected = model[0].predict(images, verbose=0)
    assert np.abs(probabilities - expected).max() < TOLERANCE


def _capture_model(monkeypatch) -> list:
    """Makes export_model's load_model keep the model it builds; returns the list it fills."""
    from keras_cifar_zoo import zoo

    original = zoo.load_model
    built: list = []

    def keep(*args, **kwargs):
        built.append(original(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(zoo, "load_model", keep)
    return built


# --- the command line --------------------------------------------------------------------------


@needs_tf
@needs_hub
def test_cli_exports_a_saved_model(tmp_path: Path, hub_env, capsys):
    out = tmp_path / "sm"
    argv = ["export", NAME, "--hub-dir", str(HUB), "--out", str(out)]  # --weights cifar10
    assert main(argv) == 0
    stdout = capsys.readouterr().out.splitlines()
    assert stdout[0].startswith(f"exported {NAME} (cifar10) as tf_saved_model in ")
    assert stdout[1].startswith(f"{out}  ") and stdout[1].endswith(" bytes")
    assert (out / "saved_model.pb").is_file()
    assert _leftovers(tmp_path) == []


def test_cli_export_needs_weights_for_a_model_without_a_checkpoint(tmp_path: Path, capsys):
    assert main(["export", "resnet9", "--out", str(tmp_path / "x")]) == 1
    assert _one_error_line(capsys) == (
        "keras-cifar-zoo: error: resnet9 has no published CIFAR-10 checkpoint: pass the "
        "weights to export with --weights PATH (a .weights.h5, .weights.json or .keras file). "
        "Received: name='resnet9'"
    )
    assert not (tmp_path / "x").exists()


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_cli_refuses_a_bad_format(tmp_path, capsys):
    argv = ["export", NAME, "--weights", "cifar10", "--format", "pdf", "--out", str(tmp_path / "x")]
    assert main(argv) == 2
    assert _one_error_line(capsys) == (
        "keras-cifar-zoo: error: argument --format: invalid choice: 'pdf' (choose from "
        "'tf_saved_model', 'onnx', 'litert') (see 'keras-cifar-zoo export --help')"
    )


def test_cli_refuses_an_existing_out(tmp_path, capsys):
    out = tmp_path / "sm"
    out.mkdir()
    assert main(["export", NAME, "--weights", "cifar10", "--out", str(out)]) == 2
    assert _one_error_line(capsys) == (
        f"keras-cifar-zoo: error: argument --out: {str(out)!r} already exists; remove it or "
        "choose another path (an export never overwrites). (see 'keras-cifar-zoo export --help')"
    )


def test_cli_refuses_an_unknown_model(tmp_path, capsys):
    assert (
        main(["export", "simple_cnnx", "--weights", "cifar10", "--out", str(tmp_path / "x")]) == 1
    )
    assert _one_error_line(capsys).startswith(
        "keras-cifar-zoo: error: Unknown model 'simple_cnnx'. Did you mean 'simple_cnn'"
    )
    assert list(tmp_path.iterdir()) == []


def test_cli_names_the_flags_in_its_errors(tmp_path, capsys, monkeypatch):
    out = tmp_path / "m.onnx"
    assert main(["export", NAME, "--weights", "cifar10", "--format", "litert", "--out", str(out)])
    assert _one_error_line(capsys) == (
        "keras-cifar-zoo: error: A litert export is one file whose name ends in .tflite, e.g. "
        f"{str(out.with_suffix('.tflite'))!r}. Received: --out {str(out)!r}"
    )
    monkeypatch.setattr(export_module.importlib.util, "find_spec", _missing("tf2onnx", "onnx"))
    assert main(["export", NAME, "--weights", "cifar10", "--format", "onnx", "--out", str(out)])
    message = _one_error_line(capsys)
    if keras.backend.backend() == "tensorflow":
        assert message == (
            "keras-cifar-zoo: error: onnx export on the tensorflow backend needs tf2onnx and "
            'onnx, not installed here: pip install "keras-cifar-zoo[export]" (or pip install '
            "tf2onnx onnx). Received: --format 'onnx'"
        )
    assert list(tmp_path.iterdir()) == []


def _smallest_of_each_family() -> list[str]:
    """One model per builder family: exporting wraps ``model.export``, which sees layers, not
    zoo names, so a family's smallest model covers its layer types without 17 exports."""
    smallest: dict[str, str] = {}
    for name in list_models():
        info = model_info(name)
        best = smallest.get(info.family)
        if best is None or info.num_params < model_info(best).num_params:
            smallest[info.family] = name
    return sorted(smallest.values())


def test_the_export_check_covers_every_family():
    assert _smallest_of_each_family() == [
        "airbench94",
        "elu_cnn",
        "resnet20_v1",
        "resnet9",
        "vgg_lite",
    ]


@needs_tf
@pytest.mark.slow
@pytest.mark.parametrize("name", _smallest_of_each_family())
def test_each_family_exports_and_serves_its_predictions(name: str, tmp_path: Path, monkeypatch):
    import tensorflow as tf

    model = _capture_model(monkeypatch)
    out = export_model(name, tmp_path / "sm")
    images = _images(2)
    expected = model[0].predict(images.astype("float32"), verbose=0)
    loaded = tf.saved_model.load(str(out))  # keep it: serve() needs its variables alive
    served = np.asarray(loaded.serve(images))
    assert served.shape == (2, 10)
    assert np.abs(served - expected).max() < TOLERANCE


# --- what an export cannot write, and what it wrote ------------------------------------------


def _writes_a_folder(self, filepath, format, **kwargs):
    """A stand-in for keras.Model.export: the artifact's folder, without TensorFlow's work."""
    Path(filepath).mkdir()
    (Path(filepath) / "saved_model.pb").write_bytes(b"pb")


def test_a_file_in_the_way_is_a_typed_error(tmp_path: Path):
    link = tmp_path / "exports"
    link.symlink_to(tmp_path / "gone")  # a dangling link where the folder must be created
    out = link / "sm"
    with pytest.raises(OutputWriteError) as caught:
        export_model(NAME, out)
    assert str(caught.value) == (
        f"Cannot write the tf_saved_model export to {str(out)!r}: File exists ({link}); a file "
        f"is in the way where a folder must be: remove it or choose another path. Nothing was "
        f"left at {str(out)!r}. Received: path={str(out)!r}"
    )
    assert isinstance(caught.value, OSError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]


@pytest.mark.parametrize(
    ("error", "fix"),
    [
        (
            OSError(errno.EROFS, "Read-only file system"),
            "the folder is read-only or not yours: choose a folder you can write to",
        ),
        (
            OSError(errno.ENOSPC, "No space left on device"),
            "the disk is full: free some space or choose a folder on another disk",
        ),
    ],
)
def test_a_write_failing_inside_keras_is_a_typed_error(tmp_path, monkeypatch, error, fix):
    def fails(self, filepath, format, **kwargs):
        Path(filepath).mkdir()
        error.filename = str(filepath)
        raise error

    monkeypatch.setattr(keras.Model, "export", fails)
    with pytest.raises(OutputWriteError, match=rf"{re.escape(error.strerror)} \(.*\); {fix}\."):
        export_model(NAME, tmp_path / "sm")
    assert list(tmp_path.iterdir()) == []


def test_a_read_only_folder_is_a_typed_error(tmp_path: Path):
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    script = textwrap.dedent(
        f"""
        from keras_cifar_zoo import OutputWriteError
        from keras_cifar_zoo.export import export_model
        try:
            export_model({NAME!r}, {str(folder / "sm")!r})
        except OutputWriteError as exc:
            print(exc)
        """
    )
    command = [sys.executable, "-c", script]
    if os.geteuid() == 0:  # root ignores permission bits unless it drops CAP_DAC_OVERRIDE
        if shutil.which("setpriv") is None:
            pytest.skip("as root, a read-only folder needs setpriv to drop CAP_DAC_OVERRIDE")
        command = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *command]
    env = dict(os.environ, KERAS_BACKEND="numpy", PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    finally:
        folder.chmod(0o755)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().startswith(
        f"Cannot write the tf_saved_model export to {str(folder / 'sm')!r}: Permission denied "
        f"({folder}); the folder is read-only or not yours: choose a folder you can write to."
    ), done.stdout
    assert list(folder.iterdir()) == []


def test_cli_prints_a_write_failure_as_one_line(tmp_path: Path, capsys):
    link = tmp_path / "exports"
    link.symlink_to(tmp_path / "gone")
    out = link / "sm"
    assert main(["export", NAME, "--weights", str(_random_weights(tmp_path)), "--out", str(out)])
    message = capsys.readouterr().err.strip().splitlines()
    assert message[-1].startswith(
        f"keras-cifar-zoo: error: Cannot write the tf_saved_model export to {str(out)!r}: "
        f"File exists ({link}); a file is in the way"
    )
    assert message[-1].endswith(f"Received: --out {str(out)!r}")
    assert not any("Traceback" in line for line in message)


def _random_weights(folder: Path) -> Path:
    path = folder / "w.weights.h5"
    load_model(NAME).save_weights(path)
    return path


@pytest.mark.parametrize(
    ("options", "output"),
    [
        ({}, "class probabilities, shape (batch, 10)"),
        (
            {"include_top": False, "pooling": "avg"},
            "avg-pooled features, shape (batch, 64), not class probabilities (include_top=False)",
        ),
        (
            {"include_top": False},
            "feature maps, shape (batch, 14, 14, 64), not class probabilities (include_top=False)",
        ),
        (
            {"classifier_activation": None},
            "logits, shape (batch, 10), not class probabilities (classifier_activation=None)",
        ),
    ],
)
def test_the_report_names_what_the_artifact_returns(tmp_path, monkeypatch, caplog, options, output):
    monkeypatch.setattr(keras.Model, "export", _writes_a_folder)
    with caplog.at_level(logging.INFO, logger="keras_cifar_zoo.export"):
        export_model(NAME, tmp_path / "sm", **options)
    (record,) = [r for r in caplog.records if r.name == "keras_cifar_zoo.export"]
    assert record.levelno == logging.INFO
    message = record.getMessage()
    assert message.startswith(f"Exported {NAME} (weights=None) as tf_saved_model to {tmp_path}")
    assert message.endswith(
        f": it takes raw RGB pixels (float32, shape (batch, 32, 32, 3)) and returns {output}"
    )
