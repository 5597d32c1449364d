"""Per-epoch checkpoints that a run interrupted at any point resumes from.

Each epoch writes the model as ``model.keras`` and the full training state (weights and
optimizer, step counter included) as ``state-epochNNNN.weights.h5``; only then does
``state.json`` move to point at the new state, so a kill at any moment leaves the last
completed epoch intact. Every file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import keras

STATE_FILE = "state.json"
MODEL_FILE = "model.keras"


def _atomic(path: Path, write: Any) -> None:
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


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the model and the resumable training state after every epoch.

    Args:
        checkpoint_dir: Folder to write to.
        model_to_save: The user's model (the training wrapper around it is ``self.model``).
        run_info: Recipe name, epochs and batch size, stored so a resume can check them.
    """

    def __init__(self, checkpoint_dir: Path, model_to_save: keras.Model, run_info: dict) -> None:
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.model_to_save = model_to_save
        self.run_info = run_info

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.model.stop_training and getattr(self.model, "_zoo_diverged", False):
            return  # never checkpoint a diverged epoch
        directory = self.checkpoint_dir
        _atomic(directory / MODEL_FILE, self.model_to_save.save)
        state_name = f"state-epoch{epoch + 1:04d}.weights.h5"
        _atomic(directory / state_name, self.model.save_weights)
        previous = read_state(directory)
        state = {**self.run_info, "completed_epochs": epoch + 1, "state_weights": state_name}
        _atomic(directory / STATE_FILE, lambda p: p.write_text(json.dumps(state, indent=2)))
        if previous and previous["state_weights"] != state_name:
            (directory / previous["state_weights"]).unlink(missing_ok=True)


def restore_state(train_model: keras.Model, checkpoint_dir: Path, state: dict[str, Any]) -> int:
    """Loads weights and optimizer state into ``train_model``; returns the epoch to start at."""
    train_model.optimizer.build(train_model.trainable_variables)
    train_model.load_weights(checkpoint_dir / state["state_weights"])
    return int(state["completed_epochs"])
