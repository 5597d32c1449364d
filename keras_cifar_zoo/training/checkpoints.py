"""Per-epoch checkpoints that a run interrupted at any point resumes from.

A run first writes ``state.json`` (no epoch completed yet), so a folder holding weights but
no ``state.json`` is known to be damaged. Each epoch then writes the model as ``model.keras``
and the full training state (weights and optimizer, step counter included) as
``state-epochNNNN.weights.h5``; all three files go to temporary names first and are renamed
into place only once every one of them is written, ``state.json`` last, so a kill or a full
disk at any moment leaves the last completed epoch intact. ``state.json`` also holds the
per-epoch metrics so far, so a resumed run returns the whole history.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import keras

from keras_cifar_zoo.errors import CheckpointWriteError, CorruptCheckpointError

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"
MODEL_FILE = "model.keras"
BEST_FILE = "best.keras"
TMP_PREFIX = ".tmp-"
STATE_WEIGHTS_GLOB = "state-epoch*.weights.h5"


def _tmp_name(path: Path) -> Path:
    return path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")


def write_error(path: Path, exc: OSError, arg: str) -> CheckpointWriteError:
    """The typed error for a file that could not be written; ``arg`` names the argument that
    chose the place (``checkpoint_dir``: the folder; ``csv_log``: the file)."""
    folder = path.parent
    kept = "; the previous checkpoint there is left as it was" if arg == "checkpoint_dir" else ""
    received = folder if arg == "checkpoint_dir" else path
    return CheckpointWriteError(
        f"Could not write {path.name} in {folder} ({exc.strerror or exc}){kept}. Free disk "
        f"space or make the folder writable, or pass another {arg}. "
        f"Received: {arg}={str(received)!r}"
    )


def atomic_write_all(
    files: Sequence[tuple[Path, Callable[[Path], Any]]], arg: str = "checkpoint_dir"
) -> None:
    """Calls every ``write(tmp)`` on a temporary name next to its path, then renames them all
    into place in order; if any write fails, no file is replaced and no temporary is left.

    Raises:
        CheckpointWriteError: If a file cannot be written (disk full, read-only folder).
    """
    pending = [(path, _tmp_name(path), write) for path, write in files]
    try:
        for path, tmp, write in pending:
            try:
                write(tmp)
            except OSError as exc:
                raise write_error(path, exc, arg) from exc
        for path, tmp, _ in pending:
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise write_error(path, exc, arg) from exc
    finally:
        for _, tmp, _ in pending:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def atomic_write(path: Path, write: Callable[[Path], Any], arg: str = "checkpoint_dir") -> None:
    """Calls ``write(tmp)`` on a temporary name next to ``path``, then renames it into place
    (see :func:`atomic_write_all`)."""
    atomic_write_all([(path, write)], arg)


def _process_running(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own writes always remove their temporaries: this one is older
    if os.name == "nt":
        return True  # os.kill(pid, 0) would signal the process there: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(checkpoint_dir: Path) -> list[Path]:
    """Deletes the temporary files a killed writer left in ``checkpoint_dir`` (their name
    holds the writer's pid; files of a process still running are kept). Returns them."""
    removed = []
    for path in sorted(checkpoint_dir.glob(f"{TMP_PREFIX}*")):
        pid = path.name[len(TMP_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _process_running(int(pid)):
            continue
        try:
            path.unlink()
        except OSError as exc:  # a read-only folder fails on the next write, with its fix
            logger.warning("Could not delete the stale temporary file %s: %s", path, exc)
            continue
        removed.append(path)
    return removed


def _damaged(checkpoint_dir: Path, problem: str) -> CorruptCheckpointError:
    return CorruptCheckpointError(
        f"{checkpoint_dir} holds a damaged checkpoint: {problem}. Delete the folder to start "
        "over, or pass another checkpoint_dir. "
        f"Received: checkpoint_dir={str(checkpoint_dir)!r}"
    )


def read_state(checkpoint_dir: Path) -> dict[str, Any] | None:
    """Returns the saved training state of ``checkpoint_dir``, or None for a fresh run.

    Raises:
        CorruptCheckpointError: If ``state.json`` is missing beside checkpoint weights, or is
            not a JSON object with the completed epoch count and its weights file.
    """
    path = checkpoint_dir / STATE_FILE
    if not path.is_file():
        leftovers = [p.name for p in sorted(checkpoint_dir.glob(STATE_WEIGHTS_GLOB))]
        if (checkpoint_dir / MODEL_FILE).is_file():
            leftovers.insert(0, MODEL_FILE)
        if leftovers:
            raise _damaged(checkpoint_dir, f"{', '.join(leftovers)} but no {STATE_FILE}")
        return None
    try:
        state = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(checkpoint_dir, f"{STATE_FILE} cannot be read as JSON ({exc})") from exc
    completed = state.get("completed_epochs") if isinstance(state, dict) else None
    weights = state.get("state_weights") if isinstance(state, dict) else None
    valid = (
        isinstance(completed, int)
        and not isinstance(completed, bool)
        and completed >= 0
        and (
            isinstance(weights, str) and Path(weights).name == weights
            if completed
            else weights is None
        )
    )
    if not valid:
        raise _damaged(
            checkpoint_dir,
            f"{STATE_FILE} lacks a valid completed_epochs and state_weights",
        )
    return state


def write_state(checkpoint_dir: Path, state: dict[str, Any]) -> None:
    """Writes ``state.json`` atomically."""
    text = json.dumps(state, indent=2)
    atomic_write(checkpoint_dir / STATE_FILE, lambda p: p.write_text(text))


def append_logs(history: dict[str, list[float]], logs: dict[str, Any], epochs: int) -> None:
    """Appends one epoch's logs to ``history`` (``epochs`` entries long before the call); a
    metric missing on either side gets NaN, so every list keeps one entry per epoch."""
    for key in set(history) | set(logs):
        values = history.setdefault(key, [math.nan] * epochs)
        values.append(float(logs[key]) if key in logs else math.nan)


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the model and the resumable training state after every epoch.

    Args:
        checkpoint_dir: Folder to write to.
        model_to_save: The user's model (the training wrapper around it is ``self.model``).
        run_info: The run's settings, stored so a resume can check them.
        history: Metrics of the epochs completed before this run (when resuming).
    """

    def __init__(
        self,
        checkpoint_dir: Path,
        model_to_save: keras.Model,
        run_info: dict,
        history: dict[str, list[float]] | None = None,
    ) -> None:
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.model_to_save = model_to_save
        self.run_info = run_info
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.state: dict[str, Any] | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if getattr(self.model, "_zoo_diverged", False):
            return  # never checkpoint a diverged epoch
        directory = self.checkpoint_dir
        state_name = f"state-epoch{epoch + 1:04d}.weights.h5"
        previous = read_state(directory)
        history = {k: list(v) for k, v in self.history.items()}
        append_logs(history, logs or {}, epoch)
        state = {
            **self.run_info,
            "completed_epochs": epoch + 1,
            "state_weights": state_name,
            "finished": False,
            "history": history,
        }
        text = json.dumps(state, indent=2)
        atomic_write_all(
            [
                (directory / state_name, self.model.save_weights),
                (directory / MODEL_FILE, self.model_to_save.save),
                (directory / STATE_FILE, lambda p: p.write_text(text)),
            ]
        )
        self.history, self.state = history, state
        if previous and previous.get("state_weights") not in (None, state_name):
            (directory / previous["state_weights"]).unlink(missing_ok=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        # Reached only when fit returns normally: all epochs done or stopped early on purpose.
        if self.state is not None and not getattr(self.model, "_zoo_diverged", False):
            self.state["finished"] = True
            write_state(self.checkpoint_dir, self.state)


def restore_state(train_model: keras.Model, checkpoint_dir: Path, state: dict[str, Any]) -> int:
    """Loads weights and optimizer state into ``train_model``; returns the epoch to start at.

    Raises:
        CorruptCheckpointError: If the state's weights file is missing, truncated or does not
            fit the model.
    """
    completed = int(state["completed_epochs"])
    if not completed:
        return 0
    path = checkpoint_dir / state["state_weights"]
    if not path.is_file():
        raise _damaged(checkpoint_dir, f"{STATE_FILE} names {path.name}, which is missing")
    train_model.optimizer.build(train_model.trainable_variables)
    try:
        train_model.load_weights(path)
    except (OSError, ValueError, KeyError) as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _damaged(checkpoint_dir, f"{path.name} cannot be loaded ({first_line})") from exc
    return completed


def saved_epochs(checkpoint_dir: Path) -> int:
    """How many completed epochs ``checkpoint_dir`` holds a loadable state of (0 if none)."""
    try:
        state = read_state(checkpoint_dir)
    except CorruptCheckpointError:
        return 0
    if not state or not state["completed_epochs"]:
        return 0
    return (
        int(state["completed_epochs"]) if (checkpoint_dir / state["state_weights"]).is_file() else 0
    )
