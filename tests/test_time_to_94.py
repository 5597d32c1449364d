"""benchmarks/time_to_94.py: the clock's arithmetic, and a tiny run end to end on real data."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from helpers.scripts import load_script

from keras_cifar_zoo import (
    InvalidArgumentError,
    WeightAveraging,
    evaluate,
    get_recipe,
    load_cifar10,
    load_model,
)
from keras_cifar_zoo.training import run_record

ROOT = Path(__file__).resolve().parent.parent


time_to_94 = load_script("time_to_94", "benchmarks/time_to_94.py")


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


def _table_labels(printed: list[str]) -> list[str]:
    """The row labels of the printed table (between its header and the last line)."""
    header = next(
        i for i, line in enumerate(printed) if line.split() == ["mean", "std", "min", "max"]
    )
    return [line[:16].strip() for line in printed[header + 1 : -1]]


def test_overrides_change_one_recipe_setting_each():
    recipe = time_to_94.apply_overrides(
        get_recipe("airbench94"),
        [
            "optimizer_config.use_ema=true",
            "optimizer_config.ema_momentum=0.9",
            "epochs=3",
            "augmentation.horizontal_flip=false",
            "augmentation.alternating_flip=false",
        ],
    )
    assert recipe.optimizer_config == {
        "momentum": 0.85, "nesterov": True, "use_ema": True, "ema_momentum": 0.9,
    }  # fmt: skip
    assert recipe.epochs == 3 and not recipe.augmentation.horizontal_flip
    assert recipe.augmentation.fill_mode == "reflect"  # the rest is the recipe's
    assert "use_ema" not in get_recipe("airbench94").optimizer_config  # not changed in place


def test_weight_averaging_is_switched_on_with_its_fields_and_off_with_null():
    airbench = get_recipe("airbench94")
    on = time_to_94.apply_overrides(airbench, ['weight_averaging={"every": 4}'])
    assert on.weight_averaging == WeightAveraging(every=4)
    assert time_to_94.apply_overrides(on, ["weight_averaging=null"]).weight_averaging is None


@pytest.mark.parametrize(
    "bad", ["epochs", "nope=1", "optimizer.lr=1", "epochs=three", "augmentation"]
)
def test_a_bad_override_stops_before_the_data_is_read(bad, tmp_path):
    with pytest.raises(SystemExit) as caught:
        time_to_94.main(["--override", bad, "--data-dir", str(tmp_path / "nothing")])
    assert str(caught.value) == (
        "--override takes FIELD=JSON with a Recipe field, optimizer_config.KEY, "
        "augmentation.FIELD or schedule.FIELD, e.g. optimizer_config.use_ema=true. "
        f"Received: {bad!r}"
    )


def test_a_schedule_override_scales_the_rate_for_a_larger_batch():
    base = get_recipe("improved_sgd_crops")
    recipe = time_to_94.apply_overrides(base, ["batch_size=512", "schedule.values=[0.02,0.2,0]"])
    assert recipe.batch_size == 512 and recipe.schedule.values == (0.02, 0.2, 0)
    assert recipe.schedule.warmup_fraction == base.schedule.warmup_fraction == 0.15
    assert recipe.schedule.learning_rate(6, 40) == pytest.approx(0.2)
    with pytest.raises(InvalidArgumentError, match="A one-cycle schedule needs three values"):
        time_to_94.apply_overrides(base, ["schedule.values=[0.2]"])


@pytest.mark.slow  # trains airbench94 twice for a few seconds each
@pytest.mark.extended
def test_tiny_airbench_run_reports_tta_throughput_and_every_phase(cifar10_dir, tmp_path, capsys):
    out = tmp_path / "time-to-94-airbench-tiny.json"
    argv = [
        "--model", "airbench94", "--seeds", "0", "1", "--epochs", "2",
        "--train-images", "256", "--test-images", "64", "--precision", "float32",
        "--tta", "flip_translate", "--peak-sizes", "64", "--peak-trials", "1",
        "--peak-seconds", "0.01", "--data-dir", str(cifar10_dir), "--json", str(out),
    ]  # fmt: skip
    assert time_to_94.main(argv) == 0
    report = json.loads(out.read_text())
    assert (report["model"], report["recipe"], report["batch_size"]) == (
        "airbench94",
        "airbench94",
        1024,
    )
    assert report["tta"] == "flip_translate" and report["recipe_overrides"] == []
    assert report["recipe_settings"] == json.loads(json.dumps(get_recipe("airbench94").to_config()))
    runs = report["runs"]
    # the target is judged on the TTA accuracy; single views are reported beside it
    for run in runs:
        assert run["test_accuracy"] == run["tta_accuracy"]
        assert run["train_images_per_s"] == pytest.approx(2 * 256 / run["training_s"])
        assert run["achieved_tflops"] == pytest.approx(
            run["train_images_per_s"] * run["train_gflops_per_image"] / 1e3
        )
        assert run["percent_of_peak"] == pytest.approx(
            100 * run["achieved_tflops"] / report["peak"]["tflops"]
        )
        for phase in ("setup_s", "compile_s", "training_s", "evaluation_s", "tta_evaluation_s"):
            assert run[phase] > 0, phase
    for key in ("accuracy", "single_view_accuracy", "tta_accuracy", "percent_of_peak"):
        values = [r["test_accuracy" if key == "accuracy" else key] for r in runs]
        assert report[key]["mean"] == pytest.approx(statistics.fmean(values)), key
        assert report[key]["std"] == pytest.approx(statistics.stdev(values)), key
    assert report["reached_target"] == sum(r["tta_accuracy"] >= 0.94 for r in runs)
    assert report["data_loading_s"] > 0 and report["peak"]["dtype"] == "bfloat16"
    # the peak before the first seed and after each; every seed names the two beside it, and
    # the share of the peak is of the best
    peaks = report["peaks_measured_tflops"]
    assert len(peaks) == 3 and report["peak"]["tflops"] == max(peaks)
    assert [(r["peak_tflops_before"], r["peak_tflops_after"]) for r in runs] == [
        (peaks[0], peaks[1]), (peaks[1], peaks[2]),
    ]  # fmt: skip
    # count_flops of airbench94: 3 x (2 x multiply-adds + biases) of its convs and classifier
    forward = (
        2 * 31 * 31 * 24 * 12 + 31 * 31 * 24
        + 2 * 9 * (31 * 31 * 24 * 64 + 15 * 15 * 64 * 64)
        + 2 * 9 * (15 * 15 * 64 * 256 + 7 * 7 * 256 * 256)
        + 2 * 9 * (7 * 7 * 256 * 256 + 3 * 3 * 256 * 256)
        + 2 * 256 * 10
    )  # fmt: skip
    assert report["train_gflops_per_image"] == pytest.approx(3 * forward / 1e9)
    printed = capsys.readouterr().out.strip().splitlines()
    assert _table_labels(printed) == [
        "test accuracy", "single-view acc", "TTA accuracy", "training s", "compile s",
        "setup s", "evaluation s", "TTA eval s", "train images/s", "% of bf16 peak",
    ]  # fmt: skip
    assert printed[-1] == f"seeds at or above 94.00%: {report['reached_target']} of 2"


@pytest.mark.slow  # trains twice for a few seconds
@pytest.mark.extended
def test_tiny_run_writes_the_report_and_prints_the_table_last(
    cifar10_dir, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "time-to-94-tiny.json"
    argv = [
        "--model", "simple_cnn", "--seeds", "0", "1", "--epochs", "2",
        "--train-images", "512", "--test-images", "300", "--precision", "float32",
        "--data-dir", str(cifar10_dir), "--json", str(out), "--save-dir", str(tmp_path),
        "--no-peak",
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
    # beside each seed's weights, its per-epoch log (Keras's CSVLogger) for publish
    # --training-log: one row per epoch, ending with the final training accuracy
    for run in report["runs"]:
        log = (tmp_path / f"simple_cnn-seed{run['seed']}.history.csv").read_text().splitlines()
        header, *rows = [line.split(",") for line in log]
        assert header[0] == "epoch" and {"accuracy", "loss"} <= set(header)
        assert [row[0] for row in rows] == ["0", "1"]
        final = float(rows[-1][header.index("accuracy")])
        assert final == pytest.approx(run["final_train_accuracy"])
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
    # beside each seed's weights, the run record publish --run-info / --seed-run read
    record = run_record.read(tmp_path / "simple_cnn-seed1.metrics.json")
    assert (record.model, record.recipe, record.seed, record.epochs) == (
        "simple_cnn", "article_001", 1, 2,
    )  # fmt: skip
    assert (record.train_images, record.precision, record.batch_size) == (512, "float32", 128)
    assert record.accuracy == report["runs"][1]["single_view_accuracy"]
    assert record.measurement.num_images == 300 and record.missing() == []
    assert record.wall_time_s == report["runs"][1]["training_s"]
    assert record.training_data.startswith("CIFAR-10 training set")
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == f"seeds at or above 94.00%: {report['reached_target']} of 2"
    # without --tta the target is judged on single views; without a peak, no share of it
    assert report["tta"] == "none" and "tta_accuracy" not in report and report["peak"] is None
    assert report["peaks_measured_tflops"] == []
    assert not any("peak_tflops_before" in r or "percent_of_peak" in r for r in report["runs"])
    assert report["single_view_accuracy"] == report["accuracy"]
    assert _table_labels(printed) == [
        "test accuracy", "single-view acc", "training s", "compile s", "setup s",
        "evaluation s", "train images/s",
    ]  # fmt: skip

    # the docs table renders this run from benchmarks/results/ (here: tmp_path)
    gen_tables = load_script("gen_tables_for_time_to_94", "docs/gen_tables.py")
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


def test_the_docs_table_gives_one_seed_no_spread(tmp_path, monkeypatch):
    one = {"mean": 0.9388, "std": 0.0, "min": 0.9388, "max": 0.9388}
    run = {
        "model": "airbench94", "recipe": "airbench94", "epochs": 10,
        "precision": "mixed_bfloat16", "device": "CPU", "backend": "tensorflow", "seeds": [0],
        "accuracy": one, "single_view_accuracy": {**one, "mean": 0.9317}, "tta": "flip_translate",
        "training_s": {"mean": 2215.79, "std": 0.0}, "compile_s": {"mean": 5.16},
        "reached_target": 0, "target": 0.94, "date": "2026-12-03", "full_dataset": True,
        "train_images": 50000, "test_images": 10000, "data": "CIFAR-10",
    }  # fmt: skip
    (tmp_path / "time-to-94-one-seed.json").write_text(json.dumps(run))
    gen_tables = load_script("gen_tables_for_one_seed", "docs/gen_tables.py")
    monkeypatch.setattr(gen_tables, "BENCHMARKS", tmp_path)
    table = gen_tables.time_to_94_table()
    row = next(line for line in table.splitlines() if line.startswith("| `airbench94`"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[6:11] == ["1", "93.88%", "93.88% - 93.88%", "0/1 (≥ 94.0%)", "2215.8"]
    assert "(single views: 93.17%)" in table


def test_the_docs_table_says_when_nothing_is_measured(tmp_path, monkeypatch):
    gen_tables = load_script("gen_tables_for_no_runs", "docs/gen_tables.py")
    monkeypatch.setattr(gen_tables, "BENCHMARKS", tmp_path)
    assert gen_tables.time_to_94_table() == (
        "**Not yet measured.** No run of `benchmarks/time_to_94.py` is recorded in "
        "`benchmarks/results/`; the commands below measure it."
    )
