"""benchmarks/shift_interpolation.py on a tiny setting: both variants run and are reported."""

from __future__ import annotations

import importlib.util
import json
import statistics
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow  # two tiny trainings on real data, about 15 s
@pytest.mark.extended
def test_tiny_ab_run_reports_both_variants(cifar10_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERAS_CIFAR_ZOO_DATA", str(cifar10_dir))
    spec = importlib.util.spec_from_file_location(
        "shift_interpolation", ROOT / "benchmarks" / "shift_interpolation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "si.json"
    argv = ["--model", "simple_cnn", "--recipe", "article_002", "--seeds", "3",
            "--train-images", "256", "--epochs", "1", "--json", str(out)]  # fmt: skip
    assert module.main(argv) == 0
    report = json.loads(out.read_text())
    assert [(r["seed"], r["variant"]) for r in report["runs"]] == [
        (3, "fractional_bilinear"),
        (3, "whole_pixel"),
    ]
    assert (report["train_images"], report["test_images"], report["epochs"]) == (256, 10_000, 1)
    for variant in module.VARIANTS:
        accuracies = [r["test_accuracy"] for r in report["runs"] if r["variant"] == variant]
        assert report["mean_test_accuracy"][variant] == pytest.approx(statistics.fmean(accuracies))
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("whole_pixel ")
