"""benchmarks/time_to_94.py: the clock's arithmetic, and a tiny run end to end on real data."""

from __future__ import annotations

import importlib.util
import json
import statistics
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

from keras_cifar_zoo import evaluate, load_cifar10, load_model

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_spec = importlib.util.spec_from_file_location("time_to_94", ROOT / "benchmarks" / "time_to_94.py")
time_to_94 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(time_to_94)


def test_clock_takes_compilation_out_of_the_training_time():
    clock = time_to_94.TrainingClock()
    clock.steps_per_epoch = 10
    # first step 3.5 s (compiling), steady epochs 2.0 s = 0.2 s per step
    clock.start, clock.first_step_end, clock.end = 100.0, 103.5, 110.0
    clock.epoch_times = [5.3, 2.1, 2.0, 1.9]
    summary = clock.summary()
    assert summary["steady_epoch_s"] == pytest.approx(2.0)
    assert summary["compile_s"] == pytest.approx(3.5 - 0.2)
    assert summary["training_s"] == pytest.approx(10.0 - 3.3)
    assert summary["wall_s_with_compile"] == pytest.approx(10.0)


def test_spread_is_mean_and_sample_std():
    values = [0.9401, 0.9412, 0.9388]
    assert time_to_94.spread(values) == {
        "mean": pytest.approx(statistics.fmean(values)),
        "std": pytest.approx(statistics.stdev(values)),
        "min": 0.9388,
        "max": 0.9412,
    }
    assert time_to_94.spread([0.5])["std"] == 0.0


@pytest.mark.slow  # trains twice for a few seconds
def test_tiny_run_writes_the_report_and_prints_the_table_last(
    cifar10_dir, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "time-to-94-tiny.json"
    argv = [
        "--model", "simple_cnn", "--seeds", "0", "1", "--epochs", "2",
        "--train-images", "512", "--test-images", "300", "--precision", "float32",
        "--data-dir", str(cifar10_dir), "--json", str(out), "--save-dir", str(tmp_path),
    ]  # fmt: skip
    assert time_to_94.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["recipe"] == "article_001" and report["epochs"] == 2
    assert (report["train_images"], report["test_images"], report["full_dataset"]) == (
        512,
        300,
        False,
    )
    assert [r["seed"] for r in report["runs"]] == [0, 1]
    accuracies = [r["test_accuracy"] for r in report["runs"]]
    assert report["accuracy"]["mean"] == pytest.approx(statistics.fmean(accuracies))
    assert report["reached_target"] == sum(a >= 0.94 for a in accuracies)
    for run in report["runs"]:
        assert 0 < run["compile_s"] < run["wall_s_with_compile"]
        assert run["training_s"] == pytest.approx(run["wall_s_with_compile"] - run["compile_s"])
        assert len(run["epoch_s"]) == 2
    assert report["backend"] == keras.backend.backend()
    assert keras.config.dtype_policy().name == "float32"  # restored after the runs
    assert sorted(p.name for p in tmp_path.glob("*.weights.h5")) == [
        "simple_cnn-seed0.weights.h5",
        "simple_cnn-seed1.weights.h5",
    ]
    # float16 files that load back into the model and measure as the run reported (float16
    # rounding moves at most a few of the 300 predictions)
    saved = load_model("simple_cnn", weights=tmp_path / "simple_cnn-seed0.weights.h5")
    with h5py.File(tmp_path / "simple_cnn-seed0.weights.h5") as f:
        dtypes = set()
        f.visititems(
            lambda _, obj: dtypes.add(obj.dtype) if isinstance(obj, h5py.Dataset) else None
        )
    assert dtypes == {np.dtype("float16")}
    x_test, y_test = load_cifar10(cifar10_dir)[1]
    again = evaluate(saved, data=(x_test[:300], y_test[:300]))["accuracy"]
    assert again == pytest.approx(report["runs"][0]["test_accuracy"], abs=0.01)
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == f"seeds at or above 94.00%: {report['reached_target']} of 2"
    assert printed[-4].split()[:2] == ["test", "accuracy"]

    # the docs table renders this run from benchmarks/results/ (here: tmp_path)
    gen_tables = _load("gen_tables_for_time_to_94", ROOT / "docs" / "gen_tables.py")
    monkeypatch.setattr(gen_tables, "BENCHMARKS", tmp_path)
    table = gen_tables.time_to_94_table()
    row = next(line for line in table.splitlines() if line.startswith("| `simple_cnn`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    acc = report["accuracy"]
    assert cells[:7] == ["`simple_cnn`", "article_001", "2", "float32", report["device"],
                         report["backend"], "2"]  # fmt: skip
    assert cells[7] == f"{acc['mean'] * 100:.2f}% ± {acc['std'] * 100:.2f}"
    assert cells[9] == f"{report['reached_target']}/2 (≥ 94.0%)"
    assert cells[10] == f"{report['training_s']['mean']:.1f} ± {report['training_s']['std']:.1f}"
    assert "a quick check on 512 training and 300 test images" in table
