"""Reruns tests under the JAX backend in one process of their own (the backend is fixed at
import, so the TensorFlow run cannot switch it).

Test modules import it directly: ``from helpers.jax_rerun import JAX_MISSING, pytest_under_jax``.
"""

from __future__ import annotations

import collections
import importlib.util
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

JAX_MISSING = importlib.util.find_spec("jax") is None
"""True when JAX is not installed (the reruns then skip)."""

# Runs pytest after checking that Keras really started on JAX (a rerun that silently fell
# back to TensorFlow would pass and prove nothing).
_RUNNER = (
    "import sys, keras, pytest\n"
    "assert keras.backend.backend() == 'jax', keras.backend.backend()\n"
    "sys.exit(pytest.main(sys.argv[1:]))\n"
)


def pytest_under_jax(*targets: str, timeout: int = 900) -> collections.Counter[str]:
    """Runs pytest on ``targets`` (files or node ids under ``tests/``) with
    ``KERAS_BACKEND=jax`` on the CPU, all in one process.

    Returns:
        The number of tests that passed per test file (e.g. ``{"test_augment.py": 14}``; 0 for
        a file none of whose tests passed).

    Raises:
        AssertionError: If pytest failed or errored (with the end of its output).
    """
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.xml"
        done = subprocess.run(
            [sys.executable, "-c", _RUNNER, "-q", "-p", "no:cacheprovider",
             f"--junitxml={report}", *(f"tests/{t}" for t in targets)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
        passed: collections.Counter[str] = collections.Counter()
        for case in ET.parse(report).iter("testcase"):
            if not any(child.tag in ("skipped", "failure", "error") for child in case):
                module = case.get("classname", "").split(".")[-1]
                passed[f"{module}.py"] += 1
    return passed
