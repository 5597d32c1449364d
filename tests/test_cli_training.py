"""``keras-cifar-zoo train / evaluate / predict`` on a tiny dataset in the official layout."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keras_cifar_zoo import CLASS_NAMES
from keras_cifar_zoo.cli import main
from keras_cifar_zoo.data import TEST_BATCH, TRAIN_BATCHES
from keras_cifar_zoo.registry import build_model

has_matplotlib = importlib.util.find_spec("matplotlib") is not None
HUB = Path(__file__).resolve().parent.parent / "hub"
"""The repository's published weights (read only)."""


def run(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error_line(code: int, err: str, *fragments: str) -> None:
    """The error is one line, the last on stderr (INFO messages may precede it)."""
    assert code == 1, err
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("keras-cifar-zoo: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """5 x 16 training and 20 test images in cifar-10-batches-py/."""
    root = tmp_path_factory.mktemp("cifar")
    folder = root / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, count in [(n, 16) for n in TRAIN_BATCHES] + [(TEST_BATCH, 20)]:
        images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        data = images.transpose(0, 3, 1, 2).reshape(count, -1)
        labels = (np.arange(count) % 10).tolist()
        with (folder / name).open("wb") as f:
            pickle.dump({b"data": data, b"labels": labels}, f, protocol=4)
    return root


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory) -> tuple[Path, str]:
    """One epoch of simple_cnn through the CLI; returns the output folder and its stdout."""
    out = tmp_path_factory.mktemp("run") / "simple_cnn"
    argv = ["train", "simple_cnn", "--epochs", "1", "--batch-size", "32", "--seed", "0"]
    argv += ["--out", str(out), "--data-dir", str(dataset)] + (["--plot"] if has_matplotlib else [])
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(argv) == 0
    return out, stdout.getvalue()


def test_train_writes_a_checkpoint_and_curves(trained):
    out, stdout = trained
    assert "trained simple_cnn with recipe article_001 on 80 cifar10 training images: {" in stdout
    assert f"model: {out / 'model.keras'}" in stdout
    assert "note:" not in stdout  # article_001 selects nothing on the test set
    assert (out / "model.keras").is_file() and (out / "history.csv").is_file()
    state = json.loads((out / "state.json").read_text())
    assert state["completed_epochs"] == 1 and state["finished"]
    if has_matplotlib:
        assert f"curves: {out / 'curves.png'}" in stdout
        assert (out / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_train_again_returns_the_finished_run(trained, dataset, capsys):
    out, _ = trained
    code, stdout, _ = run(
        capsys, "train", "simple_cnn", "--epochs", "1", "--batch-size", "32", "--seed", "0",
        "--out", out, "--data-dir", dataset,
    )  # fmt: skip
    assert code == 0 and "trained simple_cnn with recipe article_001 on 80 " in stdout


def test_evaluate_a_saved_checkpoint(trained, dataset, capsys, tmp_path):
    out, _ = trained
    code, stdout, err = run(
        capsys, "evaluate", "simple_cnn", "--weights", out / "model.keras", "--data-dir", dataset
    )
    assert code == 0, err
    lines = stdout.splitlines()
    assert lines[0].startswith("simple_cnn: accuracy ") and lines[0].endswith(" on 20 test images")
    assert [line.split()[0] for line in lines[1:11]] == list(CLASS_NAMES)

    argv = ["evaluate", "simple_cnn", "--weights", out / "model.keras", "--data-dir", dataset]
    argv += ["--json"] + (["--plot", tmp_path / "cm.png"] if has_matplotlib else [])
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    text = stdout.split("confusion matrix:")[0]
    result = json.loads(text)
    assert result["num_images"] == 20
    assert sum(map(sum, result["confusion_matrix"])) == 20
    assert 0 <= result["accuracy"] <= 1
    if has_matplotlib:
        assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"


def test_predict_image_files_of_any_size(trained, capsys, tmp_path):
    out, _ = trained
    rng = np.random.default_rng(1)
    png, jpeg = tmp_path / "wide.png", tmp_path / "gray.jpg"
    Image.fromarray(rng.integers(0, 256, (40, 70, 4), dtype=np.uint8), "RGBA").save(png)
    Image.fromarray(rng.integers(0, 256, (90, 50), dtype=np.uint8), "L").save(jpeg)
    argv = ["predict", "simple_cnn", png, jpeg, "--weights", out / "model.keras", "--top", "2"]
    argv += ["--plot", tmp_path / "grid.png"] if has_matplotlib else []
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    lines = stdout.splitlines()
    for path, line in zip((png, jpeg), lines[:2], strict=True):
        assert line.startswith(f"{path}: ")
        ranked = line.split(": ", 1)[1].split(", ")
        assert len(ranked) == 2 and all(r.split()[0] in CLASS_NAMES for r in ranked)
        probabilities = [float(r.split()[1]) for r in ranked]
        assert probabilities == sorted(probabilities, reverse=True)
    if has_matplotlib:
        assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"


def test_user_errors_print_one_line(trained, dataset, capsys, tmp_path):
    out, _ = trained
    code, _, err = run(capsys, "train", "simple_cnnn", "--data-dir", dataset, "--out", tmp_path)
    assert_one_error_line(code, err, "Unknown model 'simple_cnnn'. Did you mean 'simple_cnn'")

    code, _, err = run(capsys, "train", "simple_cnn", "--epochs", "0", "--out", tmp_path)
    assert_one_error_line(code, err, "epochs must be a positive integer. Received: epochs=0")

    code, _, err = run(capsys, "train", "simple_cnn", "--recipe", "article_9", "--out", tmp_path)
    assert_one_error_line(code, err, "Unknown recipe 'article_9'")

    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(capsys, "train", "simple_cnn", "--data-dir", empty, "--out", tmp_path)
    assert_one_error_line(code, err, f"No CIFAR-10 in {empty}")

    code, _, err = run(
        capsys, "train", "simple_cnn", "--epochs", "2", "--batch-size", "32", "--seed", "0",
        "--out", out, "--data-dir", dataset,
    )  # fmt: skip
    assert_one_error_line(code, err, "holds a run with other settings (epochs=1)")

    code, _, err = run(capsys, "evaluate", "simple_cnn", "--weights", tmp_path / "nothing.keras")
    assert_one_error_line(code, err, "nothing.keras")

    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    code, _, err = run(capsys, "predict", "simple_cnn", text, "--weights", out / "model.keras")
    assert_one_error_line(code, err, f"Cannot read image {text}", "Pass PNG or JPEG files.")


def assert_usage_error(code: int, out: str, err: str, *fragments: str) -> None:
    """argparse-style: exit 2, nothing on stdout, one line on stderr."""
    assert code == 2 and out == "", err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("keras-cifar-zoo: error: argument "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(("top", "said"), [("0", "got 0"), ("-3", "got -3"), ("two", "'two'")])
def test_predict_refuses_a_top_below_one(capsys, tmp_path, top, said):
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    code, out, err = run(
        capsys, "predict", "simple_cnn", image, "--weights", "w.keras", "--top", top
    )
    assert_usage_error(code, out, err, "argument --top: ", said, "keras-cifar-zoo predict --help")


def test_train_refuses_a_file_as_output_folder(capsys, dataset, tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    code, out, err = run(
        capsys, "train", "simple_cnn", "--out", tmp_path / "notes.txt", "--data-dir", dataset
    )
    assert_usage_error(
        code, out, err, f"argument --out: {str(tmp_path / 'notes.txt')!r} is a file; pass a folder"
    )
    code, out, err = run(
        capsys,
        "train",
        "simple_cnn",
        "--out",
        tmp_path / "notes.txt" / "run",
        "--data-dir",
        dataset,
    )
    assert_usage_error(code, out, err, "is a file, not a folder")


def test_default_output_folder_that_is_a_file(capsys, dataset, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "simple_cnn").write_text("x")
    code, _, err = run(capsys, "train", "simple_cnn", "--data-dir", dataset)
    assert_one_error_line(
        code, err, "The checkpoint folder runs/simple_cnn is a file; pass --out FOLDER."
    )


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_plot_must_be_a_png_file(capsys, tmp_path, command):
    image = tmp_path / "a.png"
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(image)
    images = [image] if command == "predict" else []
    base = [command, "simple_cnn", *images, "--weights", "w.keras", "--plot"]
    code, out, err = run(capsys, *base, tmp_path / "cm.txt")
    assert_usage_error(code, out, err, "argument --plot: the image is written as PNG")
    code, out, err = run(capsys, *base, tmp_path)
    assert_usage_error(code, out, err, f"argument --plot: {str(tmp_path)!r} is a folder")


def test_predict_checks_the_images_before_loading_the_model(capsys, tmp_path):
    # The weights do not exist either: the missing image is reported first, without building.
    for path, state in ((tmp_path / "gone.png", "does not exist"), (tmp_path, "is a folder")):
        code, _, err = run(capsys, "predict", "simple_cnn", path, "--weights", "none.keras")
        assert_one_error_line(code, err, f"Cannot read image {path}: it {state}. Pass PNG or")


def test_cli_errors_name_the_flags_of_the_command(trained, capsys, tmp_path):
    weights = trained[0] / "model.keras"
    argv = ["evaluate", "simple_cnn", "--weights", weights, "--data-dir", tmp_path / "x"]
    code, _, err = run(capsys, *argv)
    assert_one_error_line(
        code,
        err,
        "the path does not exist. --data-dir must name a folder",
        f"point it at one. Received: --data-dir {str(tmp_path / 'x')!r}",
    )


@pytest.mark.parametrize("count", [1, 63, 64, 65, 130])
def test_predict_runs_in_batches_of_one_shape(count, monkeypatch):
    from keras_cifar_zoo.cli import training as cli_training
    from keras_cifar_zoo.training import evaluation

    seen = []
    real = evaluation.predict

    def spy(model, images, **kwargs):
        seen.append((images.shape[0], kwargs["batch_size"]))
        return real(model, images, **kwargs)

    monkeypatch.setattr("keras_cifar_zoo.training.predict", spy)
    model = build_model("simple_cnn")
    images = np.random.default_rng(0).integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    probabilities = cli_training.predict_in_fixed_batches(model, images)
    [(total, batch)] = seen
    assert total % batch == 0 and batch == min(count, cli_training.PREDICT_BATCH)
    np.testing.assert_allclose(
        probabilities, real(model, images).probabilities, rtol=1e-5, atol=1e-6
    )


def test_train_ends_with_the_test_accuracy(trained, dataset, capsys):
    out, stdout = trained
    code, evaluated, err = run(
        capsys, "evaluate", "simple_cnn", "--weights", out / "model.keras", "--data-dir", dataset
    )
    assert code == 0, err
    accuracy = evaluated.split("accuracy ", 1)[1].split(",")[0]
    assert stdout.splitlines()[-1] == f"test accuracy {accuracy} (20 images)"


def test_train_on_the_first_images_only(dataset, capsys, tmp_path):
    argv = ["train", "simple_cnn", "--epochs", "1", "--batch-size", "8", "--seed", "0"]
    argv += ["--data-dir", dataset, "--train-images"]
    code, stdout, err = run(capsys, *argv, "24", "--out", tmp_path / "run")
    assert code == 0, err
    assert "trained simple_cnn with recipe article_001 on 24 cifar10 training images" in stdout
    assert json.loads((tmp_path / "run" / "state.json").read_text())["train_images"] == 24

    code, _, err = run(capsys, *argv, "81", "--out", tmp_path / "other")
    assert_one_error_line(
        code,
        err,
        "--train-images 81 is more than the 80 training images of cifar10; lower it, or leave "
        "it out to train on them all. Received: --train-images 81",
    )
    assert not (tmp_path / "other").exists()


def test_train_from_published_weights_in_a_hub_dir(dataset, capsys, tmp_path):
    from keras_cifar_zoo.zoo import load_model

    argv = ["train", "simple_cnn", "--weights", "cifar10", "--recipe", "finetune_head"]
    argv += ["--hub-dir", HUB, "--train-images", "16", "--epochs", "1", "--batch-size", "8"]
    argv += ["--seed", "0", "--out", tmp_path / "ft", "--data-dir", dataset]
    code, stdout, err = run(capsys, *argv)
    assert code == 0, err
    assert "trained simple_cnn with recipe finetune_head on 16 cifar10 training images" in stdout
    assert "as it is" not in err  # the CLI loaded the weights and froze the base itself
    published = load_model("simple_cnn", weights="cifar10", hub_dir=HUB)
    trained = load_model("simple_cnn", weights=tmp_path / "ft" / "model.keras")
    for layer in published.layers:  # the frozen base is the published one, not random
        if layer.weights and layer.name != "predictions":
            mine = trained.get_layer(layer.name).weights
            for want, have in zip(layer.weights, mine, strict=True):
                np.testing.assert_array_equal(np.asarray(have), np.asarray(want))


def test_train_passes_the_hub_options_to_the_download(dataset, capsys, tmp_path):
    (tmp_path / "hub").mkdir()
    argv = ["train", "simple_cnn", "--weights", "cifar10", "--hub-dir", tmp_path / "hub"]
    argv += ["--cache-dir", tmp_path / "cache", "--offline", "--out", tmp_path / "ft"]
    code, _, err = run(capsys, *argv, "--data-dir", dataset)
    assert_one_error_line(
        code,
        err,
        f"The hub mirror at {tmp_path / 'hub'} lacks keras-cifar-zoo/simple_cnn-improved/",
        f"not in the cache ({tmp_path / 'cache'})",
    )
    assert not (tmp_path / "ft").exists()

    code, out, err = run(capsys, "train", "simple_cnn", "--hub-dir", HUB, "--offline")
    assert code == 2 and out == "", err
    assert err.strip() == (
        "keras-cifar-zoo: error: --hub-dir, --offline: where published weights come from, so "
        "only with --weights (the weights to start from); without it the model starts from "
        "random weights"
    )


def gray_picture() -> np.ndarray:
    """A smooth 8-bit grayscale picture the published simple_cnn calls a bird."""
    y, x = np.mgrid[0:32, 0:32]
    return ((np.sin(x / 5) + np.cos(y / 7) + 2) / 4 * 200 + 20).astype(np.uint8)


def test_predict_and_evaluate_default_to_the_published_checkpoint(dataset, capsys, tmp_path):
    image = tmp_path / "gray.png"
    Image.fromarray(gray_picture()).save(image)
    code, default, err = run(capsys, "predict", "simple_cnn", image, "--hub-dir", HUB)
    assert code == 0, err
    argv = ["predict", "simple_cnn", image, "--weights", "cifar10", "--hub-dir", HUB]
    assert run(capsys, *argv)[1] == default

    argv = ["evaluate", "simple_cnn", "--data-dir", dataset, "--hub-dir", HUB, "--json"]
    code, default, err = run(capsys, *argv)
    assert code == 0, err
    assert run(capsys, *argv, "--weights", "cifar10")[1] == default


def test_predict_without_a_published_checkpoint_uses_random_weights(capsys, tmp_path):
    from keras_cifar_zoo.registry import get_info, list_models
    from keras_cifar_zoo.weights.manifest import load_manifest

    published = set(load_manifest().models())
    name = min(set(list_models()) - published, key=lambda n: get_info(n).num_params)
    image = tmp_path / "gray.png"
    Image.fromarray(gray_picture()).save(image)
    code, out, err = run(capsys, "predict", name, image, "--top", "1")
    assert code == 0, err
    assert out.startswith(f"{image}: ")
    assert (
        f"{name} has no published cifar10 checkpoint: using random weights (pass --weights "
        "PATH for a trained one)"
    ) in err.splitlines()


@pytest.mark.parametrize("command", ["predict", "evaluate"])
def test_help_says_what_weights_default_to(capsys, command):
    assert main([command, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "else none: random initialisation" in text
    assert "--hub-dir HUB_DIR" in text
    if command == "predict":
        assert "default: 'cifar10' when the model has a published CIFAR-10 checkpoint" in text


def test_predict_reads_16_bit_pngs_like_their_8_bit_copy(capsys, tmp_path):
    gray = gray_picture()
    Image.fromarray(gray).save(tmp_path / "gray8.png")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "gray16.png")
    with Image.open(tmp_path / "gray16.png") as opened:
        assert opened.mode == "I;16"
    argv = ["predict", "simple_cnn", tmp_path / "gray8.png", tmp_path / "gray16.png"]
    code, out, err = run(capsys, *argv, "--top", "1", "--hub-dir", HUB)
    assert code == 0, err
    top8, top16 = (line.split(": ", 1)[1] for line in out.splitlines())
    assert top16 == top8 and top8.startswith("bird ")


def test_predict_refuses_a_decompression_bomb_in_one_line(capsys, tmp_path, monkeypatch):
    import PIL.Image

    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 100)
    image = tmp_path / "big.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(image)
    code, out, err = run(capsys, "predict", "simple_cnn", image, "--hub-dir", HUB)
    assert out == ""
    assert_one_error_line(
        code,
        err,
        f"Cannot read image {image}: it has more pixels than Pillow decodes safely",
        "Shrink it first (a zoo model sees 32x32 pixels)",
    )


@pytest.mark.skipif(not has_matplotlib, reason="plots need matplotlib")
def test_one_epoch_curves_show_a_marked_point_on_integer_epochs(trained, dataset, capsys):
    from matplotlib.figure import Figure

    out, _ = trained
    figures = []
    real = Figure.savefig

    def spy(self, *args, **kwargs):
        figures.append(self)
        return real(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Figure, "savefig", spy)
        code, _, err = run(
            capsys, "train", "simple_cnn", "--epochs", "1", "--batch-size", "32", "--seed", "0",
            "--out", out, "--data-dir", dataset, "--plot",
        )  # fmt: skip
    assert code == 0, err
    [figure] = figures
    for ax in figure.axes:
        [line] = ax.lines  # training only: this recipe does not validate
        assert line.get_marker() not in (None, "", " ", "None")
        low, high = ax.get_xlim()
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks == [1.0], ticks
