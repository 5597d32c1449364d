"""A source checkout loads its published weights from its own ``hub/``; a wheel from the Hub."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from helpers.hub_stand_in import HubStandIn

from keras_cifar_zoo import HubError, load_model
from keras_cifar_zoo.cli import main
from keras_cifar_zoo.weights import hub, resolve_weights
from keras_cifar_zoo.weights.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
HUB = ROOT / "hub"
REPO = "keras-cifar-zoo/vgg_lite-improved"


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No mirror or manifest setting, downloads off, and no network at all: any connection
    fails the test. Returns the (unused) huggingface_hub cache folder."""
    for var in ("KERAS_CIFAR_ZOO_HUB", "KERAS_CIFAR_ZOO_MANIFEST", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))

    def refuse(*args, **kwargs):
        raise AssertionError("a network connection was attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return tmp_path / "hf-cache"


def test_a_checkout_loads_published_weights_from_its_hub_folder_offline(
    offline: Path, caplog: pytest.LogCaptureFixture, uint8_images: np.ndarray
):
    with caplog.at_level(logging.INFO, logger="keras_cifar_zoo"):
        model = load_model("vgg_lite", weights="cifar10")
    messages = [r.getMessage() for r in caplog.records]
    assert f"Using {REPO} from the checkout's hub/ mirror {HUB}" in messages
    assert (
        f"vgg_lite: loaded 7 layers, skipped 0 from cifar10:improved ({REPO}@main, float16, "
        f"from the checkout's hub/ mirror {HUB})"
    ) in messages
    explicit = load_model("vgg_lite", weights="cifar10", hub_dir=HUB)
    np.testing.assert_array_equal(
        model.predict(uint8_images, verbose=0), explicit.predict(uint8_images, verbose=0)
    )
    assert not offline.exists()  # nothing went through the huggingface_hub cache


def test_explicit_settings_come_before_the_checkout_mirror(
    offline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    assert resolve_weights("vgg_lite", "cifar10").where() == f"the checkout's hub/ mirror {HUB}"
    mirror = tmp_path / "mirror"
    shutil.copytree(HUB / REPO, mirror / REPO)
    assert resolve_weights("vgg_lite", "cifar10", hub_dir=mirror).where() == (
        f"the hub mirror {mirror}"
    )
    monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", str(mirror))
    assert hub.find_mirror(checkout=True) == hub.Mirror(mirror, "KERAS_CIFAR_ZOO_HUB")
    # An empty setting means no mirror at all: the Hub (here offline, so a miss).
    monkeypatch.setenv("KERAS_CIFAR_ZOO_HUB", "")
    with pytest.raises(HubError, match=r"is not in the cache .* and downloads are off"):
        load_model("vgg_lite", weights="cifar10")
    monkeypatch.delenv("KERAS_CIFAR_ZOO_HUB")
    with pytest.raises(HubError, match=r"is not in the cache .* and downloads are off"):
        load_model("vgg_lite", weights="cifar10", hub_dir="")
    # A manifest named explicitly lists its own checkpoints: they come from the Hub.
    with pytest.raises(HubError, match=r"is not in the cache .* and downloads are off"):
        load_model("vgg_lite", weights="cifar10", manifest=ROOT / "weights_manifest.json")


def test_a_checkout_mirror_lacking_a_file_names_the_fix(
    offline: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    checkout = tmp_path / "checkout"
    (checkout / "hub").mkdir(parents=True)
    shutil.copy(ROOT / "weights_manifest.json", checkout / "weights_manifest.json")
    monkeypatch.setattr(hub, "checkout_root", lambda package_dir=None: checkout)
    entry = load_manifest().find("vgg_lite")
    with pytest.raises(HubError) as caught:
        hub.fetch_repo_files(REPO, entry.files, checkout=True, local_files_only=True)
    message = str(caught.value)
    assert message.startswith(
        f"The checkout's hub/ mirror at {checkout / 'hub'} lacks {REPO}/model.weights.h5, and "
        "it is not in the cache"
    )
    assert (
        f"Restore {REPO}/ in the checkout (git restore hub/), or set KERAS_CIFAR_ZOO_HUB to an "
        "empty string (no mirror) and download it once with network access"
    ) in message


def test_the_checkout_is_the_folder_above_the_package_holding_hub_and_the_manifest(
    tmp_path: Path,
):
    assert hub.checkout_root() == ROOT
    package = tmp_path / "site" / "keras_cifar_zoo"
    package.mkdir(parents=True)
    assert hub.checkout_root(package) is None  # a wheel: the package alone
    (tmp_path / "site" / "hub").mkdir()
    assert hub.checkout_root(package) is None  # hub/ without the manifest is no checkout
    (tmp_path / "site" / "weights_manifest.json").write_text("{}")
    assert hub.checkout_root(package) == tmp_path / "site"


def test_download_in_a_checkout_prints_its_hub_folder(offline: Path, capsys):
    assert main(["download", "vgg_lite"]) == 0
    assert capsys.readouterr().out == f"{HUB / REPO}\n"


WHEEL_RUN = textwrap.dedent(
    """
    import json, keras_cifar_zoo
    from keras_cifar_zoo.weights import download_weights
    from keras_cifar_zoo.weights.hub import checkout_root

    print(json.dumps({
        "package": keras_cifar_zoo.__file__,
        "checkout": checkout_root() and str(checkout_root()),
        "folder": str(download_weights("vgg_lite")),
    }))
    """
)


@pytest.mark.slow
def test_a_wheel_layout_downloads_from_the_hub(tmp_path: Path):
    """The package copied alone (with the manifest inside it, as the wheel ships it) has no
    checkout above it: the weights come from the Hub (the stand-in serving ``hub/``)."""
    site = tmp_path / "site"
    shutil.copytree(
        ROOT / "keras_cifar_zoo", site / "keras_cifar_zoo", ignore=shutil.ignore_patterns("*.pyc")
    )
    shutil.copy(ROOT / "weights_manifest.json", site / "keras_cifar_zoo")
    server = HubStandIn(HUB).start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "KERAS_CIFAR_ZOO"))}
    env |= {
        "PYTHONPATH": str(site),
        "KERAS_BACKEND": "numpy",  # starts fastest; loading is not what is tested here
        "HF_ENDPOINT": server.endpoint,
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
    }
    try:
        done = subprocess.run(
            [sys.executable, "-c", WHEEL_RUN],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=300,
        )
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["package"] == str(site / "keras_cifar_zoo" / "__init__.py")
    assert report["checkout"] is None
    assert Path(report["folder"]).is_relative_to(tmp_path / "hf-cache")
    assert server.count("GET", "model.weights.h5") == 1
