"""Shared fixtures: where the full MNIST and the pen-drawn digits are, if anywhere."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # import digitnet from this checkout
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def full_mnist_dir() -> Path | None:
    """The directory DIGITNET_DATA names, if it holds the four MNIST files."""
    value = os.environ.get("DIGITNET_DATA")
    if not value:
        return None
    d = Path(value)
    if all((d / f"{n}.gz").exists() or (d / n).exists() for n in MNIST_FILES):
        return d
    return None


def pytest_collection_modifyitems(config, items):
    """Every test that reads a full data set (the ``mnist`` or ``pendigits`` fixture) is
    marked ``mnist``, whatever its author wrote: ``-m "not mnist and not browser"`` is
    then the fast lane of unit tests, and a test cannot slip out of it by accident."""
    for item in items:
        if {"mnist", "pendigits"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.mnist)


needs_mnist = pytest.mark.skipif(
    full_mnist_dir() is None,
    reason="full MNIST not found: set DIGITNET_DATA to a directory with the four IDX files",
)


@pytest.fixture(autouse=True)
def _a_roomy_server_budget(request, monkeypatch):
    """AppTest runs the app inside this pytest process, whose memory holds every fixture's
    data (MNIST, the pen-drawn digits) and grows over the suite: measured against a real
    server's budget (600 MB) it would refuse actions at random points of a full run. The
    budget's own tests set theirs; browser tests start real servers with the default."""
    if "browser" not in request.node.path.parts:
        from digitnet.app.memory import SERVER_MEMORY_ENV

        monkeypatch.setenv(SERVER_MEMORY_ENV, "100000")


@pytest.fixture(scope="session")
def mnist():
    """Full MNIST as uint8: dict with train/test images (N, 28, 28) and labels."""
    d = full_mnist_dir()
    if d is None:
        pytest.skip(
            "full MNIST not found: set DIGITNET_DATA to a directory with the four IDX files"
        )
    from digitnet.data import load_mnist

    X, y = load_mnist("train", d, download=False)
    Xt, yt = load_mnist("test", d, download=False)
    return {"X": X, "y": y, "X_test": Xt, "y_test": yt}


@pytest.fixture(scope="session")
def pendigits():
    """The real pen-drawn digits (pendigits-dev: 280×280 RGBA canvases, never trained on):
    dict with ``images``, ``labels`` (int) and ``writers``. DIGITNET_PENDIGITS names
    their directory; by default the one beside this checkout's parent."""
    value = os.environ.get("DIGITNET_PENDIGITS")
    d = Path(value) if value else ROOT.parent / "shared" / "data" / "pendigits-dev"
    from digitnet.data import PENDIGITS_FILE, load_pendigits

    if not (d / PENDIGITS_FILE).exists():
        pytest.skip(f"pen-drawn digits not found at {d / PENDIGITS_FILE} (set DIGITNET_PENDIGITS)")
    images, labels, writers = load_pendigits(d)
    return {"images": images, "labels": labels, "writers": writers}


@pytest.fixture
def tiny_data():
    """A small synthetic, learnable digit set: 10 blurry prototypes plus noise, uint8."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:28, 0:28]
    protos = np.zeros((10, 28, 28))
    for k in range(10):
        for cy, cx in rng.uniform(6, 22, size=(3, 2)):
            protos[k] += np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 12.0)
    protos /= protos.max(axis=(1, 2), keepdims=True)
    y = rng.integers(0, 10, 600)
    X = np.clip(protos[y] + 0.25 * rng.standard_normal((600, 28, 28)), 0, 1)
    return (X * 255).astype(np.uint8), y


# ---------------------------------------------------------------- the app (AppTest)
@pytest.fixture(scope="session")
def app_weights(request, tmp_path_factory):
    """The weights the app answers with: the shipped ones, or (until they exist) a quick
    model trained here on MNIST and passed through DIGITNET_APP_WEIGHTS."""
    from digitnet import presets
    from digitnet.app import models
    from digitnet.weights import SHIPPED_WEIGHTS, save_model

    if os.environ.get(models.WEIGHTS_ENV) or SHIPPED_WEIGHTS.exists():
        yield
        return
    mnist = request.getfixturevalue("mnist")  # skips without MNIST
    model = presets.build("fast", epochs=2).fit(mnist["X"][:30_000], mnist["y"][:30_000])
    path = tmp_path_factory.mktemp("weights") / "quick.npz"
    save_model(model, path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(models.WEIGHTS_ENV, str(path))
        yield


@pytest.fixture
def apps(app_weights):
    """Make AppTests of the real app; stop every worker they started afterwards."""
    from streamlit.testing.v1 import AppTest

    made = []

    def make(tab: str | None = "Draw", *, locale: str | None = None, query: dict | None = None):
        at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60)
        if tab is not None:
            at.session_state["tab"] = tab  # lazy tabs: choose the open one (its label)
        if locale:
            at.context = {"locale": locale}  # the browser's language (st.context.locale)
        at.query_params.update(query or {})
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        made.append(at)
        return at

    yield make
    for at in made:  # the slots are shared by the whole process: never leak a worker
        if "job" in at.session_state:
            at.session_state["job"].close()


@pytest.fixture
def new_jobs():
    """Make training jobs (:class:`digitnet.app.jobs.TrainJob`); close them afterwards."""
    from digitnet.app import jobs

    made = []

    def make(slots, name="s", **kw):
        job = jobs.TrainJob(name, slots, **kw)
        made.append(job)
        return job

    yield make
    for job in made:
        job.close()


@pytest.fixture
def small_model(tiny_data):
    """A tiny trained model (784-16-10, one epoch on ``tiny_data``)."""
    from digitnet import presets

    return presets.build("fast", epochs=1, hidden=16).fit(*tiny_data)


@pytest.fixture
def quick_teach(monkeypatch):
    """The app's fine-tuning with a smaller replay sample (the suite stays fast)."""
    from digitnet.app import teach

    monkeypatch.setitem(teach.TEACH_ARGS, "replay", 1000)
    monkeypatch.setitem(teach.TEACH_ARGS, "epochs", 2)
