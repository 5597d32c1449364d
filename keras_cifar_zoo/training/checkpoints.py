"""Per-epoch checkpoints that a run interrupted at any point resumes from.

A run first writes ``state.json`` (no epoch completed yet), so a folder holding weights but
no ``state.json`` is known to be damaged. Each epoch then writes the model as ``model.keras``
and the full training state (weights and optimizer, step counter included) as
``state-epochNNNN.weights.h5``; all three files go to temporary names first and are renamed
into place only once every one of them is written, ``state.json`` last, so a kill or a full
disk at any moment leaves the last completed epoch intact. ``state.json`` also holds the
per-epoch metrics so far, so a resumed run returns the whole history, and the wall time of
every completed epoch, so the total survives a killed call.

A folder has one writer at a time: :func:`hold_folder` takes an OS lock on its ``.lock`` file
(``flock`` through :mod:`filelock`), which the kernel drops when the holder exits, killed or
not, so a second run is refused while the first is alive and a crash never leaves it stuck.
The HDF5 library can crash the process when the disk fills in the middle of a file, so the
free space an epoch's files need is checked before any of them is written.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import re
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import filelock
import keras

from keras_cifar_zoo.errors import (
    CheckpointBusyError,
    CheckpointWriteError,
    CorruptCheckpointError,
)

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"
MODEL_FILE = "model.keras"
BEST_FILE = "best.keras"
TMP_PREFIX = ".tmp-"
STATE_WEIGHTS_GLOB = "state-epoch*.weights.h5"
LOCK_FILE = ".lock"
SPACE_MARGIN = 1 << 20
"""Bytes kept free beyond an estimate of what a write needs (file system blocks, metadata)."""


def _another(arg: str) -> str:
    """How a message asks for another value of ``arg`` (the command line names its flag)."""
    return f"file as {arg}=" if arg == "csv_log" else f"folder as {arg}="


def _tmp_name(path: Path) -> Path:
    return path.with_name(f"{TMP_PREFIX}{os.getpid()}-{path.name}")


def _reason(exc: OSError) -> str:
    """The cause of a write error in a few words: HDF5 errors hold pages of detail, with the
    system's errno among them."""
    if exc.strerror:
        return exc.strerror
    text = str(exc)
    found = re.search(r"errno = (\d+)", text)
    if found:
        return os.strerror(int(found.group(1)))
    return text.splitlines()[0] if text else type(exc).__name__


def write_error(
    path: Path, exc: OSError, arg: str, received: Path | None = None
) -> CheckpointWriteError:
    """The typed error for a file that could not be written; ``arg`` names the argument that
    chose the place (``checkpoint_dir`` or ``out``: the folder; ``csv_log``: the file), and
    ``received`` its value when that is not the file's folder."""
    folder = path.parent
    kept = "; the previous checkpoint there is left as it was" if arg == "checkpoint_dir" else ""
    if received is None:
        received = path if arg == "csv_log" else folder
    return CheckpointWriteError(
        f"Could not write {path.name} in {folder} ({_reason(exc)}){kept}. Free disk "
        f"space or make the folder writable, or pass another {_another(arg)}. "
        f"Received: {arg}={str(received)!r}"
    )


def make_folder(directory: Path, arg: str = "checkpoint_dir") -> None:
    """Creates ``directory`` (and its parents).

    Raises:
        CheckpointWriteError: If it cannot be created: a file in the way, a read-only parent.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file is in the way" if directory.is_file() else exc.strerror or str(exc)
        raise CheckpointWriteError(
            f"Could not create the folder {directory} ({reason}). Pass another "
            f"{_another(arg)}, or make its parent a writable folder. "
            f"Received: {arg}={str(directory)!r}"
        ) from exc


@contextlib.contextmanager
def hold_folder(
    directory: Path, arg: str = "checkpoint_dir", holder: str = "training run"
) -> Iterator[None]:
    """Creates ``directory`` and holds it for this process alone while the block runs.

    Args:
        directory: The folder to write to.
        arg: The argument that named it, for the error messages.
        holder: What else may hold it, for the error messages.

    Raises:
        CheckpointBusyError: If another process (or another call of this one) holds it.
        CheckpointWriteError: If the folder or its lock file cannot be created.
    """
    make_folder(directory, arg)
    path = directory / LOCK_FILE
    lock = filelock.FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:  # a TimeoutError, so an OSError too: caught first
        try:  # some filelock versions time out, rather than fail, in a read-only folder
            os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o644))
        except OSError as exc:
            raise write_error(path, exc, arg) from exc
        raise CheckpointBusyError(
            f"{directory} is in use: another {holder} is writing to it (it holds {path}, "
            "which is released when that process ends, even if killed). Wait until that run "
            f"ends, or pass another {_another(arg)}. "
            f"Received: {arg}={str(directory)!r}"
        ) from None
    except OSError as exc:
        raise write_error(path, exc, arg) from exc
    try:
        yield
    finally:
        lock.release()


def _itemsize(dtype: Any) -> int:
    bits = re.search(r"\d+", str(dtype))
    return max(1, int(bits.group()) // 8) if bits else 4


def saved_bytes(variables: Iterable[Any]) -> int:
    """About the size of an HDF5 file holding ``variables``: their values, plus a few
    kilobytes of headers per array and for the file."""
    return sum(math.prod(v.shape) * _itemsize(v.dtype) + 4096 for v in variables) + 65536


def _size(count: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count / 1e3:.0f} kB"


def check_free_space(
    directory: Path,
    need: int,
    name: str,
    arg: str = "checkpoint_dir",
    received: Path | None = None,
) -> None:
    """Refuses a write of about ``need`` bytes in ``directory`` that the disk has no room for.

    Raises:
        CheckpointWriteError: Naming ``name``, the first file the write would create (see
            :func:`write_error` for ``arg`` and ``received``).
    """
    need += SPACE_MARGIN
    try:
        free = shutil.disk_usage(directory).free
    except OSError:  # cannot tell: the write itself reports a full disk
        return
    if free < need:
        reason = f"{os.strerror(errno.ENOSPC)}: about {_size(need)} needed, {_size(free)} free"
        raise write_error(directory / name, OSError(errno.ENOSPC, reason), arg, received)


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
        "over, or pass another folder as checkpoint_dir=. "
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
        wall_time_s: Seconds the completed epochs took in earlier calls (when resuming).
    """

    def __init__(
        self,
        checkpoint_dir: Path,
        model_to_save: keras.Model,
        run_info: dict,
        history: dict[str, list[float]] | None = None,
        wall_time_s: float = 0.0,
    ) -> None:
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.model_to_save = model_to_save
        self.run_info = run_info
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.state: dict[str, Any] | None = None
        self.wall_time_s = wall_time_s
        self.clock = time.monotonic()
        self.written: int | None = None  # bytes of the last epoch's weights files

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.clock = time.monotonic()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if getattr(self.model, "_zoo_diverged", False):
            return  # never checkpoint a diverged epoch
        now = time.monotonic()
        directory = self.checkpoint_dir
        state_name = f"state-epoch{epoch + 1:04d}.weights.h5"
        previous = read_state(directory)
        history = {k: list(v) for k, v in self.history.items()}
        append_logs(history, logs or {}, epoch)
        wall_time_s = self.wall_time_s + now - self.clock
        state = {
            **self.run_info,
            "completed_epochs": epoch + 1,
            "state_weights": state_name,
            "finished": False,
            "history": history,
            "wall_time_s": round(wall_time_s, 3),
        }
        text = json.dumps(state, indent=2)
        if self.written is None:
            optimizer = getattr(self.model.optimizer, "variables", [])
            self.written = saved_bytes([*self.model.variables, *optimizer]) + saved_bytes(
                self.model_to_save.variables
            )
        check_free_space(directory, self.written + len(text), state_name)
        atomic_write_all(
            [
                (directory / state_name, self.model.save_weights),
                (directory / MODEL_FILE, self.model_to_save.save),
                (directory / STATE_FILE, lambda p: p.write_text(text)),
            ]
        )
        self.history, self.state = history, state
        self.wall_time_s, self.clock = wall_time_s, now
        with contextlib.suppress(OSError):
            self.written = sum((directory / n).stat().st_size for n in (state_name, MODEL_FILE))
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
