"""Training plans: validation before training, the time budget, resume and skipping."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from keras_cifar_zoo.errors import PlanError
from keras_cifar_zoo.training import plan as plan_module
from keras_cifar_zoo.training.plan import Job, load_plan, parse_plan, run_plan

JOB = {"model": "simple_cnn", "recipe": "article_001", "seed": 0, "epochs": 3, "batch_size": 32}


@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)
    y = np.arange(64) % 10
    return (x, y), (x[:20], y[:20])


def test_job_ids_name_the_run():
    assert (
        Job("resnet20_v1", "improved_sgd_crops", seed=2).id == "resnet20_v1-improved_sgd_crops-s2"
    )
    job = Job("simple_cnn", "article_001", epochs=3, train_images=500, precision="mixed_bfloat16")
    assert job.id == "simple_cnn-article_001-s0-e3-n500-mixed_bfloat16"
    assert parse_plan([JOB | {"id": "mine"}])[0].id == "mine"


@pytest.mark.parametrize(
    ("jobs", "message"),
    [
        ([JOB | {"model": "resnet21"}], r"job 0: unknown model 'resnet21'"),
        ([JOB | {"recipe": "fast"}], r"job 0: unknown recipe 'fast'"),
        ([JOB, JOB], r"duplicate job ids \['simple_cnn-article_001-s0-e3-b32'\]"),
        ([JOB | {"precision": "int8"}], r"job 0: precision must be one of"),
        ([JOB | {"epochs": 0}], r"job 0: epochs must be a positive int, got 0"),
        ([JOB | {"seed": "a"}], r"job 0: seed must be an int >= 0, got 'a'"),
        ([JOB | {"colour": 1}], r"job 0: unknown keys \['colour'\]"),
        ([{"model": "simple_cnn"}], r"job 0: missing keys \['recipe'\]"),
        ([], r"A plan is a non-empty JSON list of jobs"),
        ({"jobs": []}, r"A plan is a non-empty JSON list of jobs"),
    ],
)
def test_bad_plans_are_refused_before_training(jobs, message: str):
    with pytest.raises(PlanError, match=message):
        parse_plan(jobs)


def test_plan_files_are_read_and_checked(tmp_path: Path):
    path = tmp_path / "plan.json"
    path.write_text(json.dumps([JOB]))
    assert load_plan(path) == (Job(**JOB),)
    path.write_text("[{")
    with pytest.raises(PlanError, match=r"is not valid JSON"):
        load_plan(path)
    with pytest.raises(PlanError, match=r"Cannot read the plan"):
        load_plan(tmp_path / "missing.json")


@pytest.mark.parametrize("path", sorted((Path(__file__).parent.parent / "plans").glob("*.json")))
def test_the_repository_plans_are_valid(path: Path):
    jobs = load_plan(path)
    assert len({job.id for job in jobs}) == len(jobs) > 0


def test_a_folder_holding_another_plan_is_refused(tmp_path: Path, tiny_data):
    (tmp_path / "plan.json").write_text(json.dumps([JOB | {"seed": 5}]))
    with pytest.raises(PlanError, match=r"holds another plan"):
        run_plan(parse_plan([JOB]), tmp_path, data=tiny_data)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(PlanError, match=r"is not empty and holds no plan.json"):
        run_plan(parse_plan([JOB]), other, data=tiny_data)


def test_a_plan_may_grow_but_not_change_its_recorded_jobs(tmp_path: Path, tiny_data):
    first = JOB | {"epochs": 1}
    run_plan(parse_plan([first]), tmp_path, data=tiny_data, verbose=0)
    done = parse_plan([first])[0].id
    weights = (tmp_path / done / "model.weights.h5").read_bytes()
    grown = parse_plan([JOB | {"epochs": 1, "seed": 1}, first])
    rows = run_plan(grown, tmp_path, data=tiny_data, verbose=0)
    assert [(r.id, r.state) for r in rows] == [
        ("simple_cnn-article_001-s1-e1-b32", "done"),
        (done, "done"),
    ]
    assert (tmp_path / done / "model.weights.h5").read_bytes() == weights  # not retrained
    plan = json.loads((tmp_path / "plan.json").read_text())
    assert [job["seed"] for job in plan] == [1, 0]
    with pytest.raises(PlanError, match=r"holds another plan .*add jobs to it without changing"):
        run_plan(parse_plan([first | {"seed": 1}]), tmp_path, data=tiny_data)


def test_budget_stops_cleanly_and_a_rerun_resumes_then_skips(
    tmp_path: Path, tiny_data, monkeypatch: pytest.MonkeyPatch
):
    clock = {"now": 0.0}
    monkeypatch.setattr(plan_module.time, "monotonic", lambda: clock["now"])
    epoch_end = plan_module._Deadline.on_epoch_end

    def slow_epoch(self, epoch, logs=None):  # every epoch takes 60 s of the fake clock
        clock["now"] += 60.0
        epoch_end(self, epoch, logs)

    monkeypatch.setattr(plan_module._Deadline, "on_epoch_end", slow_epoch)
    jobs = parse_plan([JOB, JOB | {"seed": 1}])

    rows = run_plan(jobs, tmp_path, data=tiny_data, time_budget=100, verbose=0)
    assert [(r.state, r.epochs_done) for r in rows] == [("partial", 1), ("pending", 0)]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["counts"] == {"done": 0, "partial": 1, "pending": 1, "failed": 0}
    assert not (tmp_path / jobs[0].id / "metrics.json").exists()

    rows = run_plan(jobs, tmp_path, data=tiny_data, verbose=0)
    assert [(r.state, r.epochs_done) for r in rows] == [("done", 3), ("done", 3)]
    metrics = json.loads((tmp_path / jobs[0].id / "metrics.json").read_text())
    assert metrics["epochs"] == 3 and metrics["num_images"] == 20
    assert metrics["wall_time_s"] == 180.0  # three 60 s epochs over two calls
    for key in ("hardware", "backend", "training_data", "data", "precision", "accuracy"):
        assert metrics[key] not in (None, "")
    assert (tmp_path / jobs[0].id / "model.weights.h5").is_file()
    assert (tmp_path / jobs[0].id / "checkpoint" / "history.csv").is_file()

    calls = json.loads((tmp_path / jobs[0].id / "timing.json").read_text())["calls"]
    run_plan(jobs, tmp_path, data=tiny_data, verbose=0)  # everything done: nothing trains
    assert json.loads((tmp_path / jobs[0].id / "timing.json").read_text())["calls"] == calls


def test_train_plan_command_refuses_a_bad_plan_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture
):
    from keras_cifar_zoo.cli import main

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([JOB | {"model": "resnet21"}]))
    assert main(["train-plan", str(plan), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("keras-cifar-zoo: error: The plan is invalid")
    assert "unknown model 'resnet21'" in err[0]
    assert not (tmp_path / "out").exists()  # refused before anything was written
    assert main(["train-plan", str(plan), "--out", str(tmp_path), "--time-budget", "0"]) == 2
    assert "must be a finite number greater than 0" in capsys.readouterr().err


def test_train_plan_command_runs_and_prints_each_job(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, tiny_data
):
    from keras_cifar_zoo.cli import main

    (x, y), _ = tiny_data
    data_dir = tmp_path / "data"
    _write_batches(data_dir / "cifar-10-batches-py", x, y)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([JOB | {"epochs": 1, "train_images": 32}]))
    args = ["train-plan", str(plan), "--out", str(tmp_path / "out"), "--data-dir", str(data_dir)]
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "simple_cnn-article_001-s0-e1-b32-n32" in out and "done     1/1 epochs" in out
    metrics = json.loads(
        (tmp_path / "out" / "simple_cnn-article_001-s0-e1-b32-n32" / "metrics.json").read_text()
    )
    assert metrics["train_images"] == 32 and metrics["num_images"] == 64
    assert metrics["training_data"].startswith("CIFAR-10 training set (50,000 images), from a")


def _write_batches(folder: Path, x: np.ndarray, y: np.ndarray) -> None:
    """The official python layout: five training batches and a test batch (tiny)."""
    import pickle

    folder.mkdir(parents=True)
    data = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": data, b"labels": [int(v) for v in y]}
        (folder / name).write_bytes(pickle.dumps(batch))


def test_a_diverging_job_is_marked_failed_and_the_others_still_run(
    tmp_path: Path, tiny_data, monkeypatch: pytest.MonkeyPatch
):
    from keras_cifar_zoo.errors import TrainingDivergedError

    real = plan_module._run_job

    def diverge_first(job, *args, **kwargs):
        if job.seed == 0:
            raise TrainingDivergedError("Training simple_cnn diverged: the loss was not finite")
        return real(job, *args, **kwargs)

    monkeypatch.setattr(plan_module, "_run_job", diverge_first)
    jobs = parse_plan([JOB | {"epochs": 1}, JOB | {"epochs": 1, "seed": 1}])
    rows = run_plan(jobs, tmp_path, data=tiny_data, verbose=0)
    assert [r.state for r in rows] == ["failed", "done"]
    failed = json.loads((tmp_path / jobs[0].id / "failed.json").read_text())
    assert failed["error"].startswith("Training simple_cnn diverged")
    monkeypatch.setattr(plan_module, "_run_job", real)
    assert [r.state for r in run_plan(jobs, tmp_path, data=tiny_data, verbose=0)] == [
        "failed",
        "done",
    ]  # skipped until failed.json is deleted
