"""One writer per checkpoint or plan folder: a second run is refused while the first is alive,
and a killed first run leaves nothing stuck (its lock ends with its process)."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import filelock
import keras
import pytest
from helpers import training_worker as worker

from keras_cifar_zoo import CheckpointBusyError, ZooError
from keras_cifar_zoo.training.plan import run_plan

WORKER = Path(worker.__file__)


def busy_message(folder: Path, holder: str, fix: str, arg: str) -> str:
    where = re.escape(str(folder))
    return (
        rf"^{where} is in use: another {holder} is writing to it \(it holds {where}/\.lock, "
        r"which is released when that process ends, even if killed\)\. Wait until that run "
        rf"ends, or pass another {fix}\. Received: {arg}='{where}'$"
    )


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epochs.append(epoch)


def start(mode: str, folder: Path, log: Path) -> subprocess.Popen:
    """Starts the worker and waits until it prints ``ready``."""
    with log.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, str(WORKER), mode, str(folder)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        readable, _, _ = select.select([process.stdout], [], [], 1.0)
        if readable:
            line = process.stdout.readline()
            if line.strip() == "ready":
                return process
            if not line:
                break
        if process.poll() is not None:
            break
    process.kill()
    pytest.fail(f"the worker never got ready: {log.read_text()[-3000:]}")


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


@pytest.mark.slow
def test_a_second_fit_into_a_held_folder_is_refused_and_a_killed_holder_frees_it(tmp_path):
    folder = tmp_path / "run"
    holder = start("hold-fit", folder, tmp_path / "worker.log")
    try:
        state = (folder / "state.json").read_text()
        assert json.loads(state)["completed_epochs"] == 1
        refused = busy_message(
            folder, "training run", "folder as checkpoint_dir=", "checkpoint_dir"
        )
        with pytest.raises(CheckpointBusyError, match=refused) as caught:
            worker.train(folder, name="other", seed=1)
        assert isinstance(caught.value, BlockingIOError) and isinstance(caught.value, ZooError)
        assert (folder / "state.json").read_text() == state  # the holder's run is untouched
        assert (folder / "state-epoch0001.weights.h5").is_file()
    finally:
        kill(holder)
    recorder = Recorder()
    history = worker.train(folder, callbacks=[recorder])  # the killed run resumes
    assert recorder.epochs == [1] and len(history.history["loss"]) == 2
    final = json.loads((folder / "state.json").read_text())
    assert final["finished"] and final["completed_epochs"] == 2 and final["model"] == "tiny"


@pytest.mark.slow
@pytest.mark.extended  # two plan processes, one killed: about 20 s
def test_a_second_train_plan_is_refused_and_a_killed_one_resumes_with_its_time(tmp_path):
    out = tmp_path / "out"
    holder = start("hold-plan", out, tmp_path / "worker.log")
    job = worker.plan_jobs()[0].id
    try:
        plan = (out / "plan.json").read_text()
        with pytest.raises(
            CheckpointBusyError, match=busy_message(out, "plan run", "folder as out=", "out")
        ):
            run_plan(worker.plan_jobs(), out, data=worker.plan_data(), verbose=0)
        assert (out / "plan.json").read_text() == plan
    finally:
        kill(holder)
    killed = json.loads((out / job / "checkpoint" / "state.json").read_text())
    assert killed["completed_epochs"] == 1 and killed["wall_time_s"] >= worker.SLOW_EPOCH
    assert not (out / job / "timing.json").exists()  # the killed call never wrote it
    rows = run_plan(worker.plan_jobs(), out, data=worker.plan_data(), verbose=0)
    assert [(r.state, r.epochs_done) for r in rows] == [("done", 2)]
    metrics = json.loads((out / job / "metrics.json").read_text())
    final = json.loads((out / job / "checkpoint" / "state.json").read_text())
    assert final["wall_time_s"] > killed["wall_time_s"]
    assert metrics["wall_time_s"] == round(final["wall_time_s"], 1)  # the killed call counts


def test_fit_refuses_a_folder_another_holder_locks(tmp_path):
    """The lock is the OS's: any other holder of ``.lock`` refuses the run, before data is
    loaded; once released, the folder trains."""
    folder = tmp_path / "run"
    folder.mkdir()
    lock = filelock.FileLock(str(folder / ".lock"), timeout=0)
    with lock:
        with pytest.raises(
            CheckpointBusyError,
            match=busy_message(
                folder, "training run", "folder as checkpoint_dir=", "checkpoint_dir"
            ),
        ):
            worker.train(folder)
        assert sorted(p.name for p in folder.iterdir()) == [".lock"]
    assert len(worker.train(folder).history["loss"]) == 2


def test_train_plan_refuses_a_held_folder_in_one_line(tmp_path, capsys):
    from keras_cifar_zoo.cli import main

    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([{"model": "simple_cnn", "recipe": "article_001", "epochs": 1}]))
    out = tmp_path / "out"
    out.mkdir()
    with filelock.FileLock(str(out / ".lock"), timeout=0):
        assert main(["train-plan", str(plan), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"keras-cifar-zoo: error: {out} is in use: another plan run")
    assert "Traceback" not in "\n".join(err)
    assert sorted(p.name for p in out.iterdir()) == [".lock"]  # nothing claimed


def test_train_refuses_a_held_folder_in_one_line(tmp_path, capsys):
    from keras_cifar_zoo.cli import main

    out = tmp_path / "run"
    out.mkdir()
    with filelock.FileLock(str(out / ".lock"), timeout=0):
        code = main(["train", "simple_cnn", "--out", str(out), "--epochs", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and "Traceback" not in "\n".join(err)
    assert err[-1].startswith(f"keras-cifar-zoo: error: {out} is in use: another training run")
