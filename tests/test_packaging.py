"""The distribution: sdist and wheel contents, and a wheel installed away from the source tree.

Builds without network access (``--no-isolation``, with the ``test`` extra's build and
hatchling), installs the wheel with ``pip --target`` and imports it in a subprocess whose
``sys.path`` holds that folder and the environment's site-packages, never the source tree.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from keras_cifar_zoo import list_models

ROOT = Path(__file__).resolve().parent.parent
KEPT_OUT = ("hub/", "benchmarks/", ".data/", ".whl/", "runs/")

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("build") is None or importlib.util.find_spec("hatchling") is None,
    reason="needs the build and hatchling packages (pip install -e '.[test]')",
)


def sysconfig_site_packages() -> list[str]:
    return sorted({sysconfig.get_paths()[key] for key in ("purelib", "platlib")})


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """Builds the sdist, then the wheel from the sdist (as ``python -m build`` does)."""
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (wheel,) = out.glob("keras_cifar_zoo-*.whl")
    (sdist,) = out.glob("keras_cifar_zoo-*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_wheel_ships_the_manifest_inside_the_package(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        packaged = json.loads(wheel.read("keras_cifar_zoo/weights_manifest.json"))
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        scripts = wheel.read(entry_points).decode()
    assert packaged == json.loads((ROOT / "weights_manifest.json").read_text(encoding="utf-8"))
    assert "weights_manifest.json" not in names  # only the copy inside the package
    for module in ("__init__.py", "__main__.py", "registry.py", "cli/__init__.py", "models/vgg.py"):
        assert f"keras_cifar_zoo/{module}" in names
    assert all(n.startswith(("keras_cifar_zoo/", "keras_cifar_zoo-")) for n in names), names
    assert not [n for n in names if n.startswith(KEPT_OUT) or "__pycache__" in n]
    assert "keras-cifar-zoo = keras_cifar_zoo.cli:main" in scripts


def test_wheel_declares_its_license_and_types(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        headers = wheel.read(metadata).decode().split("\n\n", 1)[0].splitlines()
        (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        license_text = wheel.read(license_file).decode()
    assert "License-Expression: Apache-2.0" in headers
    assert "Classifier: Typing :: Typed" in headers
    assert "Classifier: Programming Language :: Python :: 3.12" in headers
    assert license_text == (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text
    assert "keras_cifar_zoo/py.typed" in names


def test_wheel_embeds_the_demo_checkpoint_and_sample(dist):
    source = ROOT / "keras_cifar_zoo" / "embedded"
    described = json.loads((source / "embedded.json").read_text(encoding="utf-8"))
    files = ["embedded.json", described["weights"], described["sample"]["file"]]
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        for name in files:
            assert wheel.read(f"keras_cifar_zoo/embedded/{name}") == (source / name).read_bytes()
        embedded = [n for n in wheel.namelist() if n.startswith("keras_cifar_zoo/embedded/")]
    assert sorted(embedded) == sorted(f"keras_cifar_zoo/embedded/{n}" for n in files)
    size = sum((source / n).stat().st_size for n in files)
    assert size < 3 * 2**20  # "a few MB at most"


def test_sdist_leaves_out_hub_benchmarks_and_data(dist):
    with tarfile.open(dist["sdist"]) as sdist:
        names = [name.split("/", 1)[1] for name in sdist.getnames() if "/" in name]
    for required in (
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "weights_manifest.json",
        "mkdocs.yml",
    ):
        assert required in names
    assert "keras_cifar_zoo/registry.py" in names
    assert not [n for n in names if n.startswith(KEPT_OUT)]


@pytest.mark.extended  # a virtual environment and a pip install, about 20 s
def test_installed_wheel_reads_its_manifest_and_lists_the_zoo(dist, tmp_path):
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
         "--target", str(site), str(dist["wheel"])],
        check=True,
        capture_output=True,
        timeout=300,
    )  # fmt: skip
    assert (site / "keras_cifar_zoo" / "weights_manifest.json").is_file()
    # -S skips site-packages' .pth files, which put the source tree on sys.path after an
    # editable install; the dependencies come from site-packages through PYTHONPATH instead.
    path = os.pathsep.join([str(site), *sysconfig_site_packages()])
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_CIFAR_ZOO")}
    env |= {"PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONNOUSERSITE": "1"}
    code = """
import importlib.resources, json, sys
import keras_cifar_zoo
from keras_cifar_zoo.weights import load_manifest
from keras_cifar_zoo.weights.manifest import find_manifest
packaged = importlib.resources.files("keras_cifar_zoo") / "weights_manifest.json"
print(json.dumps({
    "package": keras_cifar_zoo.__file__,
    "source_on_path": any(p.rstrip("/") == sys.argv[1] for p in sys.path),
    "manifest": json.loads(packaged.read_text(encoding="utf-8")),
    "found": str(find_manifest()),
    "entries": len(load_manifest().entries),
    "models": keras_cifar_zoo.list_models(),
}))
"""
    done = subprocess.run(
        [sys.executable, "-S", "-c", code, str(ROOT)],
        cwd=tmp_path,  # not the source tree, so `import keras_cifar_zoo` cannot find it
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(report["package"]).is_relative_to(site)
    assert not report["source_on_path"]
    assert Path(report["found"]).is_relative_to(site)
    assert report["manifest"]["manifest_version"] == 1
    assert report["entries"] == len(report["manifest"]["checkpoints"])
    assert report["models"] == list_models()  # the installed registry is the source tree's

    # The console script pip wrote runs the installed package too.
    script = site / "bin" / "keras-cifar-zoo"
    done = subprocess.run(
        [sys.executable, "-S", str(script), "info", "resnet20_v1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "274,442" in done.stdout

    # The main job runs from the installed wheel alone: no network, no dataset, no source tree.
    offline = env | {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9"}
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    plot = ["--out", str(tmp_path / "grid.png")] if has_matplotlib else ["--no-plot"]
    done = subprocess.run(
        [sys.executable, "-S", str(script), "demo", *plot],
        cwd=tmp_path,
        env=offline,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "no network used" in done.stdout and "\naccuracy 0." in done.stdout
    assert str(site / "keras_cifar_zoo" / "embedded") in done.stderr  # loaded from the wheel
    if has_matplotlib:
        assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"
