"""Where a training run starts: a fresh checkpoint folder, or the last epoch saved in it."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import random
from pathlib import Path
from typing import Any

import keras
import numpy as np

from keras_cifar_zoo.errors import InvalidArgumentError
from keras_cifar_zoo.training.checkpoints import (
    make_folder,
    read_state,
    remove_stale_temporaries,
    restore_state,
    write_state,
)
from keras_cifar_zoo.training.history_log import HistoryLog
from keras_cifar_zoo.training.recipes import Augmentation, Recipe

# Recipe fields a resume does not compare: names and prose, or overridden by fit's arguments.
_RECIPE_FIELDS_NOT_COMPARED = ("name", "article", "description", "epochs", "batch_size")
# A setting added to a nested record after a run started trained at its default then.
_NESTED_DEFAULTS = {"augmentation": dataclasses.asdict(Augmentation())}


@dataclasses.dataclass(frozen=True)
class RunStart:
    """What a run starts from, so that a resumed run continues exactly where it stopped.

    Attributes:
        directory: The checkpoint folder, or None when nothing is saved.
        history_log: Where the per-epoch CSV log goes (``directory/history.csv`` by
            default), or None when there is none.
        rng_seed: The seed every epoch's randomness derives from: ``seed``, or one drawn for
            an unseeded run and kept in its state so that its resume is exact too.
        run_info: The settings stored with every checkpoint (None without a folder).
        initial_epoch: The number of epochs already completed.
        finished: Whether the folder holds a run that ended.
        previous: The metrics of the completed epochs, one value per epoch.
        wall_time_s: Seconds the completed epochs took, over every earlier call (0.0 for a
            state written before it was recorded).
    """

    directory: Path | None
    history_log: HistoryLog | None
    rng_seed: int
    run_info: dict[str, Any] | None
    initial_epoch: int
    finished: bool
    previous: dict[str, list[float]]
    wall_time_s: float = 0.0


def open_run(
    *,
    checkpoint_dir: str | os.PathLike | None,
    csv_log: str | os.PathLike | None,
    train_model: keras.Model,
    model_name: str,
    recipe: Recipe,
    epochs: int,
    batch_size: int,
    x: np.ndarray,
    y: np.ndarray,
    seed: int | None,
) -> RunStart:
    """Claims ``checkpoint_dir`` for a new run, or restores ``train_model`` from the run it
    holds when that run has the same settings. The caller holds the folder
    (:func:`~keras_cifar_zoo.training.checkpoints.hold_folder`) until the run ends.

    Raises:
        CheckpointWriteError: If the folder cannot be created or written.
        CorruptCheckpointError: If the folder holds a damaged checkpoint.
        InvalidArgumentError: If the folder holds a run with other settings.
    """
    rng_seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
    if checkpoint_dir is None:
        return RunStart(None, HistoryLog.for_run(csv_log, None), rng_seed, None, 0, False, {})
    directory = Path(checkpoint_dir)
    _make_folder(directory)
    history_log = HistoryLog.for_run(csv_log, directory)
    settings = {
        "model": model_name,
        "recipe": recipe.name,
        "recipe_settings": _recipe_settings(recipe),
        "epochs": epochs,
        "batch_size": batch_size,
        "train_images": len(x),
        "data_sha1": _fingerprint(x, y),
        "seed": seed,
    }
    state = _resumable_state(directory, settings)
    if state is not None and isinstance(state.get("rng_seed"), int):
        rng_seed = state["rng_seed"]
    run_info = {**settings, "rng_seed": rng_seed}
    if state is None:
        # Claims the folder before any weights are written: weights without a state.json
        # then always mean a damaged checkpoint.
        write_state(
            directory,
            {
                **run_info,
                "completed_epochs": 0,
                "state_weights": None,
                "finished": False,
                "history": {},
            },
        )
        return RunStart(directory, history_log, rng_seed, run_info, 0, False, {})
    initial_epoch = restore_state(train_model, directory, state)
    previous = state.get("history") or history_log.read()
    previous = {
        k: list(v[:initial_epoch]) + [math.nan] * (initial_epoch - len(v))
        for k, v in previous.items()
    }
    finished = bool(state.get("finished"))
    wall_time_s = state.get("wall_time_s")
    if isinstance(wall_time_s, bool) or not isinstance(wall_time_s, (int, float)):
        wall_time_s = 0.0
    return RunStart(
        directory,
        history_log,
        rng_seed,
        run_info,
        initial_epoch,
        finished,
        previous,
        float(wall_time_s),
    )


def _make_folder(directory: Path) -> None:
    """Creates the checkpoint folder and clears the temporaries a killed run left there."""
    make_folder(directory)
    remove_stale_temporaries(directory)


def _resumable_state(directory: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state to resume from, or None when no epoch completed (a new run takes
    over); refuses a run with other settings, whose weights would not fit or mean another
    experiment."""
    state = read_state(directory)
    if state is None or not state["completed_epochs"]:
        return None
    there, here = _differences(state, settings)
    if there:
        raise InvalidArgumentError(
            f"{directory} holds a run with other settings ({', '.join(there)}); "
            "resume it with the same settings or pass another folder as checkpoint_dir=. "
            f"Received: {', '.join(here)}"
        )
    return state


def _fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """A sha1 of the training images and labels (about 0.1 s for CIFAR-10's 150 MB)."""
    digest = hashlib.sha1(usedforsecurity=False)
    for array in (images, labels):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.reshape(-1).view(np.uint8))
    return digest.hexdigest()


def _recipe_settings(recipe: Recipe) -> dict[str, Any]:
    """The recipe's training settings as JSON values (names, prose and the epochs and batch
    size that fit's arguments override left out)."""
    config = json.loads(json.dumps(recipe.to_config()))
    return {k: v for k, v in config.items() if k not in _RECIPE_FIELDS_NOT_COMPARED}


def _differences(saved: dict[str, Any], settings: dict[str, Any]) -> tuple[list[str], list[str]]:
    """``key=value`` descriptions of the settings that differ, saved and new; keys an older
    state file lacks are not compared, and an augmentation setting it lacks counts as the
    default it trained with."""
    there, here = [], []
    for key, value in settings.items():
        if key not in saved or saved[key] == value:
            continue
        if key == "recipe_settings" and isinstance(saved[key], dict):
            old = {
                field: _NESTED_DEFAULTS[field] | setting
                if field in _NESTED_DEFAULTS and isinstance(setting, dict)
                else setting
                for field, setting in saved[key].items()
            }
            for field in sorted(set(old) | set(value)):
                if old.get(field) != value.get(field):
                    there.append(f"recipe.{field}={old.get(field)!r}")
                    here.append(f"recipe.{field}={value.get(field)!r}")
        else:
            there.append(f"{key}={saved[key]!r}")
            here.append(f"{key}={value!r}")
    return there, here


def merge_history(
    previous: dict[str, list[float]], new: dict[str, list[float]], done: int
) -> dict[str, list[float]]:
    """Joins the metrics of ``done`` earlier epochs with this run's, key by key."""
    ran = max((len(v) for v in new.values()), default=0)
    return {
        key: list(previous.get(key, [math.nan] * done)) + list(new.get(key, [math.nan] * ran))
        for key in sorted(set(previous) | set(new))
    }
