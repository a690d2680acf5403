"""Browser tests: a real ``streamlit run streamlit_app.py`` driven by headless Chromium.

The server starts once per test session on a free loopback port (headless, no
usage statistics, no file watcher) with the caller's environment, so
``DIGITNET_DATA`` reaches it. Chromium is ``$CHROMIUM``, else
``/usr/bin/chromium``, else Playwright's own browser (``playwright install
chromium``). ``BASE_URL=http://...`` reuses a server that is already running.
Screenshots go to ``tests/artifacts/screenshots/`` (ignored by git);
``make screenshots`` refreshes README's, in ``docs/screenshots/``
(``DIGITNET_SCREENSHOTS``).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from harness import CHROMIUM_FLAGS, chromium_path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"  #: ignored by git


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    args = {**browser_type_launch_args, "args": CHROMIUM_FLAGS}
    path = chromium_path()
    if path:
        args["executable_path"] = path
    return args


@dataclass
class Server:
    url: str
    log: Path | None  # the server's output (None when reusing BASE_URL)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log else ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _app_weights_env(tmp: Path) -> dict:
    """Until ``weights/digitnet.npz`` exists, a quick stand-in model (needs MNIST)."""
    from digitnet.weights import SHIPPED_WEIGHTS

    if os.environ.get("DIGITNET_APP_WEIGHTS") or SHIPPED_WEIGHTS.exists():
        return {}
    if not os.environ.get("DIGITNET_DATA"):
        pytest.skip("no shipped weights yet, and no MNIST (DIGITNET_DATA) to train stand-ins")
    from digitnet import load_mnist, presets, save_model

    X, y = load_mnist("train", os.environ["DIGITNET_DATA"], download=False)
    path = tmp / "quick.npz"
    save_model(presets.build("fast", epochs=3).fit(X, y), path)
    return {"DIGITNET_APP_WEIGHTS": str(path)}


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The app, served for the whole session; stopped by its process id."""
    if os.environ.get("BASE_URL"):
        yield Server(os.environ["BASE_URL"].rstrip("/"), None)
        return
    tmp = tmp_path_factory.mktemp("server")
    port = _free_port()
    env = {
        **os.environ,
        "OPENBLAS_NUM_THREADS": "1",
        "DIGITNET_SESSION_GRACE_S": "2",  # a closed page ends its run after 2 s
        **_app_weights_env(tmp),
    }
    log = tmp / "streamlit.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                "--server.headless", "true",
                "--server.address", "127.0.0.1",
                "--server.port", str(port),
                "--browser.gatherUsageStats", "false",
                "--server.fileWatcherType", "none",
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the app did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Server(url, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where the tests save their screenshots: an ignored folder, so that a test run never
    changes tracked files; ``make screenshots`` points it at README's (``docs/screenshots``)
    with ``DIGITNET_SCREENSHOTS``."""
    folder = ROOT / os.environ.get("DIGITNET_SCREENSHOTS", SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


#: What the browser tests measured (e.g. the answer's latency), shown at the end of the run.
_MEASURED: list[str] = []


@pytest.fixture(scope="session")
def measured():
    """``measured(line)`` reports a figure in the summary at the end of the test run."""
    return _MEASURED.append


def pytest_terminal_summary(terminalreporter):
    if _MEASURED:
        terminalreporter.section("measured in the browser")
        for line in _MEASURED:
            terminalreporter.write_line(line)
