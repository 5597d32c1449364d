"""Per-epoch checkpoints that a run interrupted at any point resumes from.

Each epoch writes the model as ``model.keras`` and the full training state (weights and
optimizer, step counter included) as ``state-epochNNNN.weights.h5``; only then does
``state.json`` move to point at the new state, so a kill at any moment leaves the last
completed epoch intact. ``state.json`` also holds the per-epoch metrics so far, so a resumed
run returns the whole history. Every file is written to a temporary name and renamed into
place.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import keras

STATE_FILE = "state.json"
MODEL_FILE = "model.keras"
BEST_FILE = "best.keras"


def atomic_write(path: Path, write: Any) -> None:
    """Calls ``write(tmp)`` on a temporary name next to ``path``, then renames it into place."""
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def read_state(checkpoint_dir: Path) -> dict[str, Any] | None:
    """Returns the saved training state of ``checkpoint_dir``, or None for a fresh run."""
    path = checkpoint_dir / STATE_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def _write_state(checkpoint_dir: Path, state: dict[str, Any]) -> None:
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
        run_info: Model and recipe names, epochs, batch size and image count, stored so a
            resume can check them.
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
        atomic_write(directory / MODEL_FILE, self.model_to_save.save)
        state_name = f"state-epoch{epoch + 1:04d}.weights.h5"
        atomic_write(directory / state_name, self.model.save_weights)
        append_logs(self.history, logs or {}, epoch)
        previous = read_state(directory)
        self.state = {
            **self.run_info,
            "completed_epochs": epoch + 1,
            "state_weights": state_name,
            "finished": False,
            "history": self.history,
        }
        _write_state(directory, self.state)
        if previous and previous.get("state_weights") not in (None, state_name):
            (directory / previous["state_weights"]).unlink(missing_ok=True)

    def on_train_end(self, logs: dict | None = None) -> None:
        # Reached only when fit returns normally: all epochs done or stopped early on purpose.
        if self.state is not None and not getattr(self.model, "_zoo_diverged", False):
            self.state["finished"] = True
            _write_state(self.checkpoint_dir, self.state)


def restore_state(train_model: keras.Model, checkpoint_dir: Path, state: dict[str, Any]) -> int:
    """Loads weights and optimizer state into ``train_model``; returns the epoch to start at."""
    train_model.optimizer.build(train_model.trainable_variables)
    train_model.load_weights(checkpoint_dir / state["state_weights"])
    return int(state["completed_epochs"])
