"""Training plans: validation before training, the time budget, resume and skipping."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from helpers.cifar_files import write_batch

from keras_cifar_zoo.data import TEST_BATCH, TRAIN_BATCHES
from keras_cifar_zoo.errors import CheckpointWriteError, CorruptCheckpointError, PlanError
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
        ([JOB | {"seed": "a"}], r"job 0: seed must be an int in \[0, 2\*\*32 - 1\], got 'a'"),
        ([JOB | {"seed": -1}], r"job 0: seed must be an int in \[0, 2\*\*32 - 1\], got -1\."),
        (
            [JOB | {"seed": 2**32}],
            r"job 0: seed must be an int in \[0, 2\*\*32 - 1\], got 4294967296",
        ),
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
    assert [p.name for p in other.iterdir()] == ["notes.txt"]  # no lock file left there


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
    """The official python layout: five training batches and a test batch, each ``x``."""
    folder.mkdir(parents=True)
    for name in [*TRAIN_BATCHES, TEST_BATCH]:
        write_batch(folder / name, x, y)


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


def test_seeds_are_those_fit_takes():
    """A seed outside [0, 2**32 - 1] would pass the plan, then fail its job in fit."""
    assert parse_plan([JOB | {"seed": 2**32 - 1}])[0].seed == 4294967295
    with pytest.raises(PlanError, match=r"job 0: seed must be an int in \[0, 2\*\*32 - 1\]"):
        parse_plan([JOB | {"seed": 2**32}])


def _fake_clock(monkeypatch: pytest.MonkeyPatch, step_seconds: float) -> dict:
    """A clock for the engine that only moves with training steps, ``step_seconds`` each."""
    clock = {"now": 0.0, "steps": 0}
    monkeypatch.setattr(plan_module.time, "monotonic", lambda: clock["now"])
    step_end = plan_module._Deadline.on_train_batch_end

    def slow_step(self, batch, logs=None):
        clock["now"] += step_seconds
        clock["steps"] += 1
        step_end(self, batch, logs)

    monkeypatch.setattr(plan_module._Deadline, "on_train_batch_end", slow_step)
    return clock


def test_a_first_epoch_that_would_not_fit_is_given_up_a_few_steps_in(
    tmp_path: Path, tiny_data, monkeypatch: pytest.MonkeyPatch
):
    """No job of the plan has measured an epoch: its first steps are timed, the epoch (8 steps
    of 10 s) is projected past the 50 s budget and given up after 2 steps, resumable."""
    clock = _fake_clock(monkeypatch, 10.0)
    jobs = parse_plan([JOB | {"epochs": 2, "batch_size": 8}])
    rows = run_plan(jobs, tmp_path, data=tiny_data, time_budget=50, verbose=0)
    assert [(r.state, r.epochs_done) for r in rows] == [("pending", 0)]
    assert clock == {"now": 20.0, "steps": 2}
    timing = json.loads((tmp_path / jobs[0].id / "timing.json").read_text())
    assert timing["epoch_seconds"] == 80.0 and timing["calls"] == 1  # the projection, kept
    state = json.loads((tmp_path / jobs[0].id / "checkpoint" / "state.json").read_text())
    assert state["completed_epochs"] == 0
    rows = run_plan(jobs, tmp_path, data=tiny_data, verbose=0)  # no budget: it trains on
    assert [(r.state, r.epochs_done) for r in rows] == [("done", 2)]


def test_a_step_past_the_deadline_stops_the_epoch(
    tmp_path: Path, tiny_data, monkeypatch: pytest.MonkeyPatch
):
    """An epoch measured at 8 s that turns out to take 80 s stops at the first step past the
    deadline, not at its end."""
    clock = _fake_clock(monkeypatch, 10.0)
    jobs = parse_plan([JOB | {"epochs": 2, "batch_size": 8}])
    folder = tmp_path / jobs[0].id
    folder.mkdir()
    timing = {"wall_time_s": 0.0, "calls": 0, "epoch_seconds": 8.0}
    (folder / "timing.json").write_text(json.dumps(timing))
    monkeypatch.setattr(plan_module._Deadline, "on_epoch_end", lambda *a, **k: None)
    (tmp_path / "plan.json").write_text(json.dumps([j.to_dict() for j in jobs]))
    rows = run_plan(jobs, tmp_path, data=tiny_data, time_budget=15, verbose=0)
    assert [(r.state, r.epochs_done) for r in rows] == [("pending", 0)]
    assert clock["now"] <= 20.0  # one step late at most


def test_metrics_record_the_number_of_training_images_used(tmp_path: Path, tiny_data):
    """``train_images`` in metrics.json (what publish names as the training data) is the
    number trained on; a job cannot ask for more than the data holds."""
    jobs = parse_plan([JOB | {"epochs": 1, "train_images": 40}, JOB | {"epochs": 1, "seed": 1}])
    run_plan(jobs, tmp_path / "ok", data=tiny_data, verbose=0)
    used = [
        json.loads((tmp_path / "ok" / j.id / "metrics.json").read_text())["train_images"]
        for j in jobs
    ]
    assert used == [40, 64]
    assert all(type(n) is int for n in used)
    jobs = parse_plan([JOB | {"train_images": 65}])
    with pytest.raises(
        PlanError,
        match=r"^The plan is invalid: train_images must be at most the 64 images of the training "
        r"set \(simple_cnn-article_001-s0-e3-b32-n65 asks for 65\)\. Lower train_images, or "
        r"leave it out to train on them all\. Fix it before anything trains\.$",
    ):
        run_plan(jobs, tmp_path / "out", data=tiny_data)
    with pytest.raises(PlanError, match=r"at most the 50,000 images .* asks for 50,001\)"):
        run_plan(parse_plan([JOB | {"train_images": 50_001}]), tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("budget", [-1, 0, float("nan"), float("inf"), True, "60"])
def test_a_bad_time_budget_is_refused_before_the_folder_is_claimed(
    tmp_path: Path, tiny_data, budget
):
    with pytest.raises(
        PlanError,
        match=r"^time_budget must be a finite number of seconds greater than 0, or None for no "
        rf"limit\. Received: time_budget={re.escape(repr(budget))}$",
    ):
        run_plan(parse_plan([JOB]), tmp_path / "out", data=tiny_data, time_budget=budget)
    assert not (tmp_path / "out").exists()


def test_an_out_folder_behind_a_file_is_refused_before_training(
    tmp_path: Path, tiny_data, capsys: pytest.CaptureFixture
):
    from keras_cifar_zoo.cli import main

    (tmp_path / "file").write_text("mine")
    with pytest.raises(
        CheckpointWriteError,
        match=rf"^Could not create the folder {re.escape(str(tmp_path / 'file'))} \(a file is in "
        r"the way\)\. Pass another folder as out=, or make its parent a writable folder\. "
        rf"Received: out='{re.escape(str(tmp_path / 'file'))}'$",
    ):
        run_plan(parse_plan([JOB]), tmp_path / "file", data=tiny_data)
    assert (tmp_path / "file").read_text() == "mine"
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([JOB]))
    assert main(["train-plan", str(plan), "--out", str(tmp_path / "file" / "out")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.fixture
def read_only_folder(tmp_path: Path):
    """A folder nothing can be written into, even by root (a read-only tmpfs then)."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode:
        pytest.skip(f"root ignores file modes and no read-only tmpfs mounts here: {done.stderr}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_a_read_only_out_folder_is_refused_in_one_line(
    tmp_path: Path, read_only_folder: Path, capsys: pytest.CaptureFixture
):
    from keras_cifar_zoo.cli import main

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([JOB]))
    assert main(["train-plan", str(plan), "--out", str(read_only_folder)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (
        f"keras-cifar-zoo: error: Could not write .lock in {read_only_folder} "
        f"({'Read-only file system' if os.geteuid() == 0 else 'Permission denied'}). Free disk "
        "space or make the folder writable, or pass another folder as --out. "
        f"Received: --out '{read_only_folder}'"
    )
    assert "Traceback" not in "\n".join(err)
    assert list(read_only_folder.iterdir()) == []


def test_a_job_failing_for_any_reason_is_marked_and_the_next_one_runs(
    tmp_path: Path, tiny_data, monkeypatch: pytest.MonkeyPatch
):
    jobs = parse_plan([JOB | {"epochs": 1}, JOB | {"epochs": 1, "seed": 1}, JOB | {"seed": 2}])
    (tmp_path / "plan.json").write_text(json.dumps([job.to_dict() for job in jobs]))
    damaged = tmp_path / jobs[0].id / "checkpoint"
    damaged.mkdir(parents=True)
    (damaged / "state.json").write_text("{")
    real = plan_module._run_job

    def bug_in_the_third(job, *args, **kwargs):
        if job.seed == 2:
            raise RuntimeError("a bug")
        return real(job, *args, **kwargs)

    monkeypatch.setattr(plan_module, "_run_job", bug_in_the_third)
    rows = run_plan(jobs, tmp_path, data=tiny_data, verbose=0)
    assert [r.state for r in rows] == ["failed", "done", "failed"]
    failed = json.loads((tmp_path / jobs[0].id / "failed.json").read_text())
    assert failed["type"] == "CorruptCheckpointError"
    assert failed["error"].startswith(f"{damaged} holds a damaged checkpoint: state.json cannot")
    assert json.loads((tmp_path / jobs[2].id / "failed.json").read_text()) == {
        "error": "a bug",
        "type": "RuntimeError",
    }
    monkeypatch.setattr(plan_module, "_run_job", real)
    assert [r.state for r in run_plan(jobs, tmp_path, data=tiny_data, verbose=0)] == [
        "failed",
        "done",
        "failed",
    ]  # skipped until failed.json is deleted
    (tmp_path / jobs[0].id / "failed.json").unlink()
    (damaged / "state.json").unlink()
    assert [r.state for r in run_plan(jobs, tmp_path, data=tiny_data, verbose=0)] == [
        "done",
        "done",
        "failed",
    ]


def test_a_full_disk_stops_the_call_without_marking_jobs(
    tmp_path: Path, tiny_data, monkeypatch: pytest.MonkeyPatch
):
    """Every later job would hit the same full disk: the call ends in the write error."""
    from keras_cifar_zoo.training import checkpoints

    real = checkpoints.shutil.disk_usage
    monkeypatch.setattr(
        checkpoints.shutil, "disk_usage", lambda path: real(path)._replace(free=10_000)
    )
    jobs = parse_plan([JOB | {"epochs": 1}, JOB | {"epochs": 1, "seed": 1}])
    with pytest.raises(CheckpointWriteError, match=r"No space left on device: about "):
        run_plan(jobs, tmp_path, data=tiny_data, verbose=0)
    assert not list(tmp_path.glob("*/failed.json"))
    monkeypatch.setattr(checkpoints.shutil, "disk_usage", real)
    rows = run_plan(jobs, tmp_path, data=tiny_data, verbose=0)
    assert [r.state for r in rows] == ["done", "done"]


def test_a_full_disk_when_the_weights_are_stored_leaves_the_job_to_measure_again(
    tmp_path: Path, tiny_data, monkeypatch: pytest.MonkeyPatch
):
    from keras_cifar_zoo.training import checkpoints

    jobs = parse_plan([JOB | {"epochs": 1}])
    folder = tmp_path / jobs[0].id
    real = checkpoints.shutil.disk_usage

    def full_in_the_job_folder(path):
        found = real(path)
        return found._replace(free=10_000) if Path(path) == folder else found

    monkeypatch.setattr(checkpoints.shutil, "disk_usage", full_in_the_job_folder)
    with pytest.raises(
        CheckpointWriteError,
        match=rf"^Could not write model\.float32\.weights\.h5 in {re.escape(str(folder))} \(No "
        r"space left on device: about \d+\.\d MB needed, 10 kB free\)\. Free disk space or make "
        r"the folder writable, or pass another folder as out=\. "
        rf"Received: out='{re.escape(str(tmp_path))}'$",
    ):
        run_plan(jobs, tmp_path, data=tiny_data, verbose=0)
    assert sorted(p.name for p in folder.iterdir()) == ["checkpoint", "timing.json"]
    monkeypatch.setattr(checkpoints.shutil, "disk_usage", real)
    rows = run_plan(jobs, tmp_path, data=tiny_data, verbose=0)
    assert [(r.state, r.epochs_done) for r in rows] == [("done", 1)]


@pytest.mark.parametrize(
    ("content", "problem"),
    [("{", "not JSON"), ('{"epochs": 1}', "no integer epochs and numeric accuracy")],
)
def test_a_damaged_metrics_file_is_named_with_its_fix(
    tmp_path: Path, tiny_data, content: str, problem: str
):
    jobs = parse_plan([JOB | {"epochs": 1}, JOB | {"epochs": 1, "seed": 1}])
    run_plan(jobs[:1], tmp_path, data=tiny_data, verbose=0)
    metrics = tmp_path / jobs[0].id / "metrics.json"
    metrics.write_text(content)
    with pytest.raises(
        CorruptCheckpointError,
        match=rf"^{re.escape(str(metrics))} is damaged \({problem}\)\. Delete it to measure the "
        r"job again from its checkpoint, or delete the job folder "
        rf"{re.escape(str(metrics.parent))} to train the job again\. "
        rf"Received: out='{re.escape(str(tmp_path))}'$",
    ):
        run_plan(jobs, tmp_path, data=tiny_data, verbose=0)
    assert not (tmp_path / jobs[1].id).exists()  # refused before anything trained
    metrics.unlink()  # measured again from the finished checkpoint, without training
    rows = run_plan(jobs[:1], tmp_path, data=tiny_data, verbose=0)
    assert [(r.state, r.epochs_done) for r in rows] == [("done", 1)]
    assert json.loads((tmp_path / jobs[0].id / "timing.json").read_text())["calls"] == 2


OLD_STATE_KEYS = {
    "model", "recipe", "recipe_settings", "epochs", "batch_size", "train_images", "data_sha1",
    "seed", "rng_seed", "completed_epochs", "state_weights", "finished", "history",
}  # fmt: skip


def test_a_plan_folder_written_before_locks_and_state_wall_times_resumes(
    tmp_path: Path, tiny_data, monkeypatch: pytest.MonkeyPatch
):
    """A folder as the previous release left it (no .lock files, no wall time in the state,
    timing.json as the only record of time) resumes, and its wall time is timing.json's."""
    clock = {"now": 0.0}
    monkeypatch.setattr(plan_module.time, "monotonic", lambda: clock["now"])
    epoch_end = plan_module._Deadline.on_epoch_end

    def slow_epoch(self, epoch, logs=None):
        clock["now"] += 60.0
        epoch_end(self, epoch, logs)

    monkeypatch.setattr(plan_module._Deadline, "on_epoch_end", slow_epoch)
    jobs = parse_plan([JOB])
    run_plan(jobs, tmp_path, data=tiny_data, time_budget=100, verbose=0)
    checkpoint = tmp_path / jobs[0].id / "checkpoint"
    state = json.loads((checkpoint / "state.json").read_text())
    del state["wall_time_s"]
    assert set(state) == OLD_STATE_KEYS and state["completed_epochs"] == 1
    (checkpoint / "state.json").write_text(json.dumps(state, indent=2))
    for lock in tmp_path.rglob(".lock"):
        lock.unlink()
    (tmp_path / jobs[0].id / "timing.json").write_text(
        json.dumps({"wall_time_s": 75.0, "calls": 1, "epoch_seconds": 60.0})
    )
    rows = run_plan(jobs, tmp_path, data=tiny_data, verbose=0)
    assert [(r.state, r.epochs_done) for r in rows] == [("done", 3)]
    metrics = json.loads((tmp_path / jobs[0].id / "metrics.json").read_text())
    assert metrics["wall_time_s"] == 195.0  # 75 s recorded before, then two 60 s epochs
    history = json.loads((checkpoint / "state.json").read_text())["history"]
    assert len(history["loss"]) == 3


# The run record: one definition of metrics.json, read back whatever wrote it.

CAMPAIGN_METRICS = {  # a metrics.json as train-plan writes it (the live campaign's format)
    "model": "simple_cnn",
    "recipe": "improved_adam_crops",
    "seed": 0,
    "dataset": "cifar10",
    "epochs": 30,
    "batch_size": 128,
    "train_images": 50000,
    "precision": "float32",
    "accuracy": 0.7674,
    "loss": 0.7538579119253235,
    "num_images": 10000,
    "wall_time_s": 1798.3,
    "hardware": "AMD EPYC, 2 vCPUs (no GPU)",
    "backend": "tensorflow",
    "keras_version": "3.15.1",
    "date": "2026-12-01",
    "data": "CIFAR-10 test set (10,000 images), lossless copy",
    "training_data": "CIFAR-10 training set (50,000 images), lossless copy",
}


def test_a_campaign_metrics_file_reads_and_writes_back_byte_for_byte(tmp_path: Path):
    from keras_cifar_zoo.training import run_record

    path = tmp_path / "metrics.json"
    text = json.dumps(CAMPAIGN_METRICS, indent=2) + "\n"
    path.write_text(text)
    record = run_record.read(path)
    assert record.measurement == run_record.Measurement(0.7674, 0.7538579119253235, 10000)
    assert (record.precision, record.train_images, record.extra) == ("float32", 50000, {})
    run_record.write(record, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_text() == text
    assert {p.name for p in tmp_path.iterdir()} == {"metrics.json", "again.json"}  # no temp


def test_old_metrics_keys_are_renamed_once_on_read():
    from keras_cifar_zoo.training.run_record import Measurement, RunRecord

    old = {  # the first GPU script's keys: "epochs" was the planned length
        "model": "resnet20_v1",
        "epochs": 200,
        "epochs_run": 120,
        "test_accuracy": 0.91,
        "test_loss": 0.3,
        "wall_time_s_this_call": 100.0,
        "device": "GPU",
        "keras": "3.1",
        "history_params": {"steps": 391},
    }
    record = RunRecord.from_dict(old)
    assert (record.epochs, record.epochs_planned, record.hardware, record.keras_version) == (
        120,
        200,
        "GPU",
        "3.1",
    )
    assert record.measurement == Measurement(0.91, 0.3)
    assert record.wall_time_s == 100.0 and record.extra == {"history_params": {"steps": 391}}


def test_publish_refuses_a_stand_in_measurement_by_its_type():
    from keras_cifar_zoo.errors import InvalidArgumentError
    from keras_cifar_zoo.publish import _run_info
    from keras_cifar_zoo.training.run_record import RunRecord, StandInMeasurement

    record = RunRecord.from_dict(CAMPAIGN_METRICS)
    assert _run_info(record).training_data == CAMPAIGN_METRICS["training_data"]
    stand_in = record.replace(measurement=StandInMeasurement(0.9, 0.1, 100))
    with pytest.raises(InvalidArgumentError, match=r"run_info holds a stand-in measurement"):
        _run_info(stand_in)
    with pytest.raises(InvalidArgumentError, match=r"run_info holds a stand-in measurement"):
        _run_info(stand_in.to_dict())  # as written to metrics.json and read back


def test_publish_keeps_precision_and_train_images_in_the_recipe_settings():
    from keras_cifar_zoo.publish import _recipe, _run_info

    run = _run_info(CAMPAIGN_METRICS | {"precision": "mixed_bfloat16", "train_images": 64})
    name, settings = _recipe(None, None, run)
    assert (name, settings["precision"], settings["train_images"]) == (
        "improved_adam_crops",
        "mixed_bfloat16",
        64,
    )
    assert settings["epochs"] == 30 and settings["batch_size"] == 128
