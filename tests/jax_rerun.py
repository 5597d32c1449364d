"""Reruns a test file under the JAX backend in its own process (the backend is fixed at import).

Test modules import it directly: ``from jax_rerun import JAX_MISSING, pytest_under_jax``.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

JAX_MISSING = importlib.util.find_spec("jax") is None
"""True when JAX is not installed (the reruns then skip)."""


def pytest_under_jax(test_file: str | Path, *pytest_args: str, timeout: int = 600) -> int:
    """Runs pytest on ``test_file`` with ``KERAS_BACKEND=jax`` on the CPU.

    Returns:
        The number of tests that passed.

    Raises:
        AssertionError: If pytest failed (with the end of its output) or nothing passed.
    """
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", str(test_file),
         *pytest_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert "failed" not in done.stdout, done.stdout[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed, done.stdout[-2000:]
    return int(passed[1])
