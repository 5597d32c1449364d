"""The per-epoch CSV log of a run, ``history.csv`` in its checkpoint folder by default.

Written by one callback (Keras's ``CSVLogger``), read back only by a resume whose state file
holds no history, and cut back to the checkpointed epochs before a resumed run appends to it.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import os
from pathlib import Path

import keras

from keras_cifar_zoo.training.checkpoints import atomic_write, write_error

HISTORY_FILE = "history.csv"
"""The CSV log's name in a checkpoint folder when ``csv_log`` is left out."""


@dataclasses.dataclass(frozen=True)
class HistoryLog:
    """Where a run's CSV log goes.

    Attributes:
        path: The CSV file.
        arg: The argument a write error names: ``csv_log``, or ``checkpoint_dir`` for the
            default file in the checkpoint folder.
    """

    path: Path
    arg: str

    @classmethod
    def for_run(
        cls, csv_log: str | os.PathLike | None, directory: Path | None
    ) -> HistoryLog | None:
        """The log at ``csv_log``, else ``history.csv`` in the checkpoint folder, else None."""
        if csv_log is not None:
            return cls(Path(csv_log), "csv_log")
        if directory is not None:
            return cls(directory / HISTORY_FILE, "checkpoint_dir")
        return None

    def read(self) -> dict[str, list[float]]:
        """The metrics the log holds, one value per epoch: the fallback when a state file
        holds no history."""
        if not self.path.is_file():
            return {}
        with self.path.open() as f:
            rows = list(csv.DictReader(f))
        columns = [k for k in (rows[0] if rows else {}) if k != "epoch"]
        # CSVLogger writes "NA" for a metric an epoch did not log
        return {
            k: [float(r[k]) if r[k] not in ("", "NA") else math.nan for r in rows] for k in columns
        }

    def callback(self, initial_epoch: int) -> keras.callbacks.Callback:
        """The callback writing the log: a fresh file for a new run; for a resumed one, the
        log cut back to its ``initial_epoch`` checkpointed epochs and appended to."""
        if initial_epoch:
            self._truncate(initial_epoch)
        return _CSVLog(self.path, initial_epoch > 0, self.arg)

    def _truncate(self, epochs: int) -> None:
        """Keeps the header and the rows of the first ``epochs`` epochs (a killed run may have
        logged an epoch it did not checkpoint)."""
        if not self.path.is_file():
            return
        with self.path.open(newline="") as f:
            rows = list(csv.reader(f))
        if not rows or "epoch" not in rows[0]:
            return
        column = rows[0].index("epoch")
        kept = [rows[0]] + [
            r for r in rows[1:] if r and r[column].isdigit() and int(r[column]) < epochs
        ]
        if len(kept) == len(rows):
            return

        def write(tmp: Path) -> None:
            with tmp.open("w", newline="") as f:
                csv.writer(f).writerows(kept)

        atomic_write(self.path, write, self.arg)


class _CSVLog(keras.callbacks.CSVLogger):
    """Keras's CSV log, with write errors (disk full, read-only folder) that name the folder
    and the fix."""

    def __init__(self, path: Path, append: bool, arg: str) -> None:
        super().__init__(str(path), append=append)
        self.path, self.arg = path, arg

    def on_train_begin(self, logs: dict | None = None) -> None:
        try:
            super().on_train_begin(logs)
        except OSError as exc:
            raise write_error(self.path, exc, self.arg) from exc

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        try:
            super().on_epoch_end(epoch, logs)
        except OSError as exc:
            raise write_error(self.path, exc, self.arg) from exc
