"""Training, measuring and loading on CIFAR-100, and fine-tuning from the CIFAR-10 checkpoints.

The data are the small CIFAR-100 copies of ``test_data_cifar100`` (known pixels and labels, the
expected image counts patched down); the CIFAR-10 checkpoints come from the committed ``hub/``.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from test_data_cifar100 import small_counts, tiny_cifar100  # noqa: F401 (fixtures)

from keras_cifar_zoo import (
    CIFAR100_FINE_NAMES,
    InvalidArgumentError,
    ModelOutputError,
    PlanError,
    WeightsNotAvailableError,
    evaluate,
    fit,
    fit_cifar10,
    load_model,
)
from keras_cifar_zoo.cli import main
from keras_cifar_zoo.publish import default_repo_id
from keras_cifar_zoo.training.plan import parse_plan
from keras_cifar_zoo.weights import resolve_weights
from keras_cifar_zoo.weights.source import parse_weights

HUB = Path(__file__).resolve().parent.parent / "hub"


def _weights(model: keras.Model) -> dict[str, list[np.ndarray]]:
    return {
        layer.name: [keras.ops.convert_to_numpy(w) for w in layer.weights]
        for layer in model.layers
        if layer.weights
    }


def test_fit_trains_a_100_class_model_on_cifar100(tiny_cifar100):  # noqa: F811
    folder, *_ = tiny_cifar100
    history = fit(
        "simple_cnn", dataset="cifar100", data_dir=folder, epochs=1, batch_size=4, verbose=0
    )
    assert history.model.output_shape == (None, 100)
    result = evaluate(history.model, dataset="cifar100", data_dir=folder)
    assert result["num_images"] == 4
    assert list(result["per_class_accuracy"]) == list(CIFAR100_FINE_NAMES)
    assert fit_cifar10 is fit  # the original name


def test_finetune_head_loads_the_cifar10_checkpoint_and_trains_only_the_classifier(
    tiny_cifar100,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
):
    folder, *_ = tiny_cifar100
    monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", str(HUB))
    history = fit(
        "resnet20_v1",
        dataset="cifar100",
        recipe="finetune_head",
        data_dir=folder,
        epochs=1,
        batch_size=4,
        verbose=0,
    )
    start = _weights(load_model("resnet20_v1", weights="cifar10", num_classes=100))
    trained = _weights(history.model)
    assert trained["predictions"][0].shape == (64, 100)
    frozen = [name for name in start if name != "predictions"]
    assert len(frozen) == 40  # convolutions and BatchNorms, statistics included
    for name in frozen:
        for before, after in zip(start[name], trained[name], strict=True):
            np.testing.assert_array_equal(before, after, err_msg=name)
    assert not np.array_equal(start["predictions"][0], trained["predictions"][0])


def test_evaluate_checks_the_dataset_before_reading_it():
    model = load_model("simple_cnn", num_classes=100)
    with pytest.raises(ModelOutputError, match=r"outputs 100 class probabilities but CIFAR-10 "):
        evaluate(model, dataset="cifar10", data_dir="/nonexistent")
    with pytest.raises(InvalidArgumentError, match=r"dataset must be one of 'cifar10', 'cifar100'"):
        evaluate(model, dataset="mnist")
    with pytest.raises(InvalidArgumentError, match=r"Received: dataset='CIFAR100'"):
        fit("simple_cnn", dataset="CIFAR100")


@pytest.mark.extended  # a CLI fine-tuning run: about 10 s
def test_cli_fine_tunes_from_the_cifar10_checkpoint(
    tiny_cifar100,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
):
    folder, *_ = tiny_cifar100
    monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", str(HUB))
    out = tmp_path / "run"
    args = ["train", "resnet20_v1", "--dataset", "cifar100", "--weights", "cifar10"]
    args += ["--data-dir", str(folder), "--epochs", "1", "--batch-size", "4", "--out", str(out)]
    assert main(args) == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert "trained resnet20_v1 with recipe finetune_sgd" in printed
    model = keras.saving.load_model(out / "model.keras")
    assert model.output_shape == (None, 100)
    state = json.loads((out / "state.json").read_text(encoding="utf-8"))
    assert state["completed_epochs"] == 1


def test_plan_jobs_take_a_dataset():
    (job,) = parse_plan([{"model": "simple_cnn", "recipe": "finetune_sgd", "dataset": "cifar100"}])
    assert job.id == "simple_cnn-cifar100-finetune_sgd-s0"
    assert job.to_dict()["dataset"] == "cifar100"
    (plain,) = parse_plan([{"model": "simple_cnn", "recipe": "article_001"}])
    assert "dataset" not in plain.to_dict() and plain.dataset == "cifar10"
    with pytest.raises(PlanError, match=r"job 0: dataset must be one of \['cifar10', 'cifar100'\]"):
        parse_plan([{"model": "simple_cnn", "recipe": "article_001", "dataset": "svhn"}])


def test_weights_names_select_the_dataset():
    assert parse_weights("cifar100") == ("checkpoint", "cifar100", None)
    assert parse_weights("cifar100:finetune") == ("checkpoint", "cifar100", "finetune")
    assert parse_weights("cifar10:improved") == ("checkpoint", "cifar10", "improved")
    with pytest.raises(InvalidArgumentError, match=r"weights='cifar100:' needs a tag"):
        parse_weights("cifar100:")
    with pytest.raises(WeightsNotAvailableError, match=r"No published CIFAR-100 checkpoint for "):
        resolve_weights("vgg16_bn", "cifar100")
    assert default_repo_id("resnet20_v1", "finetune", "cifar100") == (
        "keras-cifar-zoo/resnet20_v1-cifar100-finetune"
    )
    assert default_repo_id("resnet20_v1", "improved") == "keras-cifar-zoo/resnet20_v1-improved"


def test_the_cli_offers_the_datasets_the_package_knows():
    from keras_cifar_zoo.cli import _args
    from keras_cifar_zoo.data import DATASETS

    assert tuple(DATASETS) == _args.DATASETS
