#!/usr/bin/env python3
"""What each hostile input of issue 13 costs: peak memory, CPU, and how it ends.

Every case runs in a fresh Python process, against the digitnet checkout named
by ``--code`` (default: this one), so that an older checkout can be measured
the same way, e.g. ``git archive <commit> | tar -x -C /tmp/before`` and
``--code /tmp/before``. In the child, the input is built first; then the peak
resident memory is reset (``/proc/self/clear_refs``) and the case runs: its
memory is the peak above the resident size before it, its CPU the process's
CPU time (all threads), and its outcome the result or the exception's type
and first words. Linux only (``/proc``).

Usage::

    DIGITNET_DATA=/path/to/mnist python benchmarks/hostile.py [--code DIR] [--only NAME ...]

Prints a Markdown table (and ``--json`` the raw figures). The machine is shared:
memory figures are exact, CPU figures vary with its load. CPU includes the processes a
case starts (the CLI cases); their memory is not in the peak.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' file makers, whatever --code is
from craft import members_of, metadata, npy, npz, with_meta  # noqa: E402

CASES: dict[str, tuple[str, object]] = {}
CODE = str(HERE.parent)  #: the checkout measured (--code)


def case(name: str, what: str):
    def register(fn):
        CASES[name] = (what, fn)
        return fn

    return register


# ---------------------------------------------------------------- measuring (child)
def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(run) -> dict:
    """Run ``run()`` and report its peak memory above the resident size before it, and CPU."""
    import gc

    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current VmRSS
    before = _status("VmRSS")
    children0 = _children_cpu()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        outcome = run()
        outcome = "ok" if outcome is None else str(outcome)
    except BaseException as e:  # what escapes is the point of the measurement
        text = " ".join(str(e).split())
        outcome = f"{type(e).__module__}.{type(e).__name__}: {text[:150]}"
    return {
        "peak_mb": (_status("VmHWM") - before) / 1e6,
        "cpu_s": time.process_time() - cpu0 + _children_cpu() - children0,
        "wall_s": time.perf_counter() - wall0,
        "outcome": outcome.replace("builtins.", ""),
    }


# ---------------------------------------------------------------- inputs
def _small_model():
    import numpy as np

    from digitnet.model import MLP

    model = MLP(hidden=(12, 8), activation="relu", output="softmax", input_scaling="unit")
    model.initialize()
    model.history_ = [{"epoch": 1, "cost": 1.0, "loss": 0.1, "train_acc": 0.5, "valid_acc": 0.5,
                       "elapsed": 1.0}]  # fmt: skip
    return model, np


def _good_bytes() -> bytes:
    from digitnet.weights import model_bytes

    return model_bytes(_small_model()[0])


def _upload(data: bytes, name="bad.npz"):
    from digitnet.app import models

    def run():
        model = models.load_upload(io.BytesIO(data), name)
        return f"loaded {'-'.join(map(str, model.layer_sizes))} ({model.dtype})"

    return run


# ---------------------------------------------------------------- weights (items 1, 6, 7)
@case("weights-f16-huge", "upload: 784-8192-5000-10 float16 zeros, to run as float64 (item 1)")
def _():
    import numpy as np

    layers = (784, 8192, 5000, 10)
    members = {"metadata.npy": metadata(layers, "float64")}
    for i, (a, b) in enumerate(zip(layers, layers[1:])):
        members[f"W{i}.npy"] = npy(np.zeros((a, b), np.float16))
        members[f"b{i}.npy"] = npy(np.zeros(b, np.float16))
    data = npz(members)
    del members
    return _upload(data), f"{len(data) / 1e3:.0f} kB file"


@case("weights-npy-1e11", "upload: W0's .npy header claims shape (10^11,) (item 6)")
def _():
    members = members_of(_good_bytes())
    members["W0.npy"] = npy(header={"descr": "<f4", "fortran_order": False, "shape": (10**11,)})
    return _upload(npz(members)), ""


@case("weights-encrypted", "upload: a member flagged encrypted (item 6)")
def _():
    data = bytearray(_good_bytes())
    data[6] |= 1
    data[data.find(b"PK\x01\x02") + 8] |= 1
    return _upload(bytes(data)), ""


@case("weights-deep-json", "upload: metadata nested 100,000 deep (item 6)")
def _():
    return _upload(with_meta(_good_bytes(), lambda m: "[" * 100_000 + "]" * 100_000)), ""


@case("weights-bigint", "upload: a 5,000-digit integer in the metadata (item 6)")
def _():
    def change(m):
        return json.dumps({**m, "epochs_trained": 7}).replace(
            '"epochs_trained": 7', '"epochs_trained": ' + "9" * 5000
        )

    return _upload(with_meta(_good_bytes(), change)), ""


@case("weights-metrics-list", "upload: metrics: [1], then the Draw tab describes it (item 6)")
def _():
    data = with_meta(_good_bytes(), lambda m: m.update(metrics=[1]))
    from digitnet.app import models

    def run():
        model = models.load_upload(io.BytesIO(data), "bad.npz")
        return f"loaded; describe(): {models.describe(model)}"

    return run, ""


@case("weights-mutated", "upload: 300 randomly damaged copies of a good file (item 6)")
def _():
    import numpy as np

    from digitnet.app import models

    data = _good_bytes()
    rng = np.random.default_rng(13)
    files = []
    for _ in range(300):
        m = bytearray(data)
        for at in rng.integers(0, len(data), rng.integers(1, 6)):
            m[at] = rng.integers(0, 256)
        files.append(bytes(m))

    def run():
        counts: dict[str, int] = {}
        for f in files:
            try:
                models.load_upload(io.BytesIO(f), "bad.npz")
                kind = "loaded"
            except Exception as e:
                kind = type(e).__name__
            counts[kind] = counts.get(kind, 0) + 1
        return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))

    return run, "300 files"


@case("weights-20000-members", "CLI: a file of 20,000 extra members, message length (item 10)")
def _():
    members = members_of(_good_bytes())
    import numpy as np

    one = npy(np.zeros(1, np.float32))
    members.update({f"x{i}.npy": one for i in range(20_000)})
    path = Path(tempfile.mkdtemp()) / "many.npz"
    path.write_bytes(npz(members, zipfile.ZIP_STORED))
    from digitnet.weights import load_model

    def run():
        try:
            load_model(path)
        except Exception as e:
            return f"{type(e).__name__}, a message of {len(str(e)):,} characters"
        return "loaded"

    return run, f"{path.stat().st_size / 1e6:.1f} MB file"


@case("weights-nan-outputs", "upload: finite weights whose outputs are NaN (item 7)")
def _():
    from digitnet.app import models
    from digitnet.weights import model_bytes

    model, np = _small_model()
    model.weights_ = [np.full_like(W, 1e38) for W in model.weights_]
    model.weights_[-1][:, ::2] *= -1
    data = model_bytes(model)

    def run():
        m = models.load_upload(io.BytesIO(data), "nan.npz")
        p = m.predict_proba(np.full((1, 784), 255, np.uint8))
        return f"loaded; probabilities {p[0, :3]}..."

    return run, ""


@case("weights-metadata-objects", "upload: metadata of 4 million characters of empty objects")
def _():
    from digitnet.metadata import MAX_METADATA_CHARS

    text = "[" + ",".join(["{}"] * ((MAX_METADATA_CHARS - 2) // 3)) + "]"
    data = with_meta(_good_bytes(), lambda m: text)
    return _upload(data), f"{len(data) / 1e3:.0f} kB file"


@case("uploads-flood", "Streamlit: 40 files of 19 MB PUT to one page's upload address")
def _():
    import streamlit.runtime.memory_uploaded_file_manager as st_uploads
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    import digitnet.app.main  # noqa: F401  # what the app changes in Streamlit, as it does

    uploads = st_uploads.MemoryUploadedFileManager("/_stcore/upload_file")
    blob = os.urandom(19_000_000)

    def run():
        refused = 0
        for i in range(40):  # each upload a bytes object of its own, as each request's body
            try:
                uploads.add_file(
                    "crafty", UploadedFileRec(str(i), "x.npz", "x", bytes(bytearray(blob)))
                )
            except Exception:
                refused += 1
        held = sum(len(f.data) for f in uploads.file_storage["crafty"].values())
        return f"{held / 1e6:,.0f} MB held, {refused} refused"

    return run, ""


@case("widget-value-objects", "Streamlit: a canvas value of 1.9 MB of {} (under the message cap)")
def _():
    from streamlit.proto.WidgetStates_pb2 import WidgetState
    from streamlit.runtime.state.common import WidgetMetadata
    from streamlit.runtime.state.session_state import WStates

    import digitnet.app.main  # noqa: F401  # what the app changes in Streamlit, as it does

    wid = "$$ID-0-canvas"
    text = '{"drawing": {"raw": {"objects": [' + ",".join(["{}"] * 630_000) + "]}}}"
    kept = []

    def run():
        states = WStates()  # a session's widget values, as a rerun message sets them
        states.set_widget_metadata(WidgetMetadata(wid, lambda v: v, lambda v: v, "json_value"))
        states.set_widget_from_proto(WidgetState(id=wid, json_value=text))
        value = states[wid]  # read, as the script's st_canvas does
        kept.append(states)  # and kept, as the session keeps it
        objects = value.get("drawing", {}).get("raw", {}).get("objects", [])
        return f"read: {len(objects):,} objects; keys {sorted(value)}"

    return run, f"{len(text) / 1e6:.1f} MB message"


@case("download-flood", "Draw tab: 12 requests at once for the weights file's bytes")
def _():
    import threading

    from digitnet.app import models

    model = models.load_shipped()

    def run():
        files: list[bytes] = []
        flood = [
            threading.Thread(target=lambda: files.append(models.weights_file(model, "shipped")))
            for _ in range(12)
        ]
        for thread in flood:
            thread.start()
        for thread in flood:
            thread.join()
        return f"{len(files)} files of {len(files[0]) / 1e6:.1f} MB, {len(set(files))} distinct"

    return run, "the shipped network"


# ---------------------------------------------------------------- the canvas (item 2)
class CanvasResult:
    """streamlit-drawable-canvas 0.13's ``CanvasResult``, its two image properties copied
    as they are (the package cannot be imported outside a running app)."""

    def __init__(self, image_data_url: str) -> None:
        self._image_data_url = image_data_url

    @property
    def image_data(self):
        import numpy as np
        from PIL import Image

        _, encoded = self._image_data_url.split(";base64,", 1)
        img = Image.open(io.BytesIO(base64.b64decode(encoded)))
        return np.asarray(img)

    @property
    def image_bytes(self) -> bytes:
        _, encoded = self._image_data_url.split(";base64,", 1)
        return base64.b64decode(encoded)


def _canvas_case(side: int):
    from PIL import Image

    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    image.paste((255, 255, 255, 255), (side // 3, side // 4, side // 3 + side // 20, 3 * side // 4))
    buf = io.BytesIO()
    image.save(buf, "PNG", optimize=True)
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    del image
    from digitnet import preprocess

    def run():
        result = CanvasResult(url)
        reader = getattr(preprocess, "read_canvas_png", None)
        # before issue 13 the app used image_data as sent; now read_canvas_png checks it
        pixels = result.image_data if reader is None else reader(result.image_bytes)
        steps = preprocess.preprocess_steps(pixels, background="dark")
        return f"read: {pixels.shape}, status {steps.status}"

    return run, f"{len(url) / 1e6:.2f} MB message"


@case("canvas-12000", "canvas: a 12000×12000 PNG sent as the drawing (item 2)")
def _():
    return _canvas_case(12_000)


@case("canvas-20000", "canvas: a 20000×20000 PNG sent as the drawing (item 2)")
def _():
    return _canvas_case(20_000)


@case("canvas-280", "canvas: an honest 280×280 drawing (for comparison)")
def _():
    return _canvas_case(280)


# ---------------------------------------------------------------- training (item 3)
@case("train-60000x3000", "app: Start with batch 60000, hidden 3000, float64 (one minibatch)")
def _():
    import numpy as np

    from digitnet.app import train_view
    from digitnet.train import Trainer

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (55_000, 784), dtype=np.uint8)
    y = rng.integers(0, 10, 55_000)
    params = {"hidden": "3000", "batch_size": 60_000, "precision": "float64"}

    def run():
        model, error = train_view.check("fast", params)
        if model is None:
            return f"refused: {error}"
        Trainer(model, X, y, callback=lambda p: True, callback_every=1, overlap_eval=False).run()
        return "trained one minibatch"

    return run, ""


# ---------------------------------------------------------------- evaluation (item 4)
@case("explore-eval-upload", "Explore: the MNIST test evaluation of the largest upload")
def _():
    import numpy as np

    from digitnet import data
    from digitnet.app import models
    from digitnet.evaluate import evaluate
    from digitnet.model import MLP
    from digitnet.weights import model_bytes

    X, y = data.load_mnist("test", download=False)
    try:
        from digitnet import budget
    except ImportError:
        budget = None
    if budget is None:  # before: the audit's 784-8192-5000-10 float64 loaded
        hidden = [8192, 5000]
    else:  # after: the widest float64 784-h-10 under the upload cap
        per_unit = (784 + 10 + 1) * 8
        hidden = [int((budget.max_model_bytes() - 80) // per_unit)]
    model = MLP(hidden=hidden, precision="float64", activation="relu", output="softmax")
    model.weights_ = [np.zeros((a, b), np.float16) for a, b in
                      zip(model.layer_sizes, model.layer_sizes[1:])]  # fmt: skip
    model.biases_ = [np.zeros(b, np.float16) for b in model.layer_sizes[1:]]
    upload = models.load_upload(io.BytesIO(model_bytes(model, dtype="float16")), "big.npz")
    del model

    def run():
        r = evaluate(upload, X, y)
        return f"{'-'.join(map(str, upload.layer_sizes))}: accuracy {r['accuracy']:.3f}"

    return run, "-".join(map(str, (784, *hidden, 10)))


# ---------------------------------------------------------------- downloads (item 9)
class _Server:
    """A local HTTP server for one file: all at once, or one byte every ``interval`` s."""

    def __init__(self, body: bytes, interval: float = 0.0) -> None:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if not interval:
                        self.wfile.write(body)
                        return
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        time.sleep(interval)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"


def _zeros_gz(n_bytes: int) -> bytes:
    import zlib

    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * 1_000_000
    return b"".join(z.compress(block) for _ in range(n_bytes // len(block))) + z.flush()


LABELS = "t10k-labels-idx1-ubyte"


@case("download-gzip-bomb", "download: 300 MB of zeros, gzipped, as the 47 MB training images")
def _():
    from digitnet import data

    body = _zeros_gz(300_000_000)
    server = _Server(body)
    target = Path(tempfile.mkdtemp())

    def run():
        data._download_missing(target, ["train-images-idx3-ubyte"], [server.url], 30.0, None)

    return run, f"{len(body) / 1e6:.2f} MB served"


@case(
    "download-one-byte-a-second", "download: a server sending one byte every 0.5 s (deadline 20 s)"
)
def _():
    import gzip

    from digitnet import data

    server = _Server(gzip.compress(os.urandom(10_008)), interval=0.5)  # 10 kB: 84 minutes
    target = Path(tempfile.mkdtemp())
    data.DOWNLOAD_DEADLINE_S = 20.0  # after: the overall deadline, short for the benchmark

    def run():
        data._download_missing(target, [LABELS], [server.url], 30.0, None)

    return run, "10 kB, a byte every 0.5 s"


@case("download-sigterm", "download: SIGTERM to `python -m digitnet download` mid-file")
def _():
    import gzip
    import signal

    server = _Server(gzip.compress(b"\0" * 10_008), interval=0.2)
    target = Path(tempfile.mkdtemp())
    code = (
        "import sys; from digitnet import data; "
        f"data._download_missing(data.Path(sys.argv[1]), [{LABELS!r}], [{server.url!r}], "
        "30.0, None)"
    )

    def run():
        proc = subprocess.Popen([sys.executable, "-c", code, str(target)], cwd=CODE,
                                stderr=subprocess.DEVNULL)  # fmt: skip
        while not list(target.glob(".*part*")) and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        status = proc.wait(30)
        return f"exit {status}; files left: {[p.name[:30] for p in target.iterdir()]}"

    return run, ""


# ---------------------------------------------------------------- the CLI (item 10)
def _cli(*args) -> str:
    proc = subprocess.run([sys.executable, "-m", "digitnet", *args], capture_output=True,
                          text=True, cwd=CODE, timeout=600)  # fmt: skip
    last = proc.stdout.strip().splitlines()[-1:] or [""]
    err = " / ".join(line for line in proc.stderr.splitlines() if line.strip())[:160]
    return f"exit {proc.returncode}; stdout: {last[0][:140]}; stderr: {err}"


@case("cli-out-is-a-directory", "CLI: train --preset fast --out <an existing directory>")
def _():
    out = tempfile.mkdtemp()
    return (lambda: _cli("train", "--preset", "fast", "--out", out, "-q")), "(CPU: the CLI's)"


@case("cli-predict-one-unreadable", "CLI: predict broken.png good.png --json")
def _():
    import numpy as np
    from PIL import Image

    d = Path(tempfile.mkdtemp())
    (d / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    good = np.zeros((280, 280), np.uint8)
    good[40:240, 130:150] = 255
    Image.fromarray(good).save(d / "good.png")
    return (lambda: _cli("predict", str(d / "broken.png"), str(d / "good.png"), "--json")), ""


@case("cli-predict-nan-pixel", "CLI: predict a float TIFF of a 1 with one NaN pixel")
def _():
    import numpy as np
    from PIL import Image

    d = Path(tempfile.mkdtemp())
    a = np.zeros((100, 80), np.float32)
    a[20:80, 38:44] = 0.8
    a[5, 5] = np.nan
    Image.fromarray(a, mode="F").save(d / "one.tif")
    return (lambda: _cli("predict", str(d / "one.tif"), "--json")), ""


# ---------------------------------------------------------------- a crowd (a real server)
def _server_flood(action: str, seconds: float = 10.0, every: float = 0.02, make=None):
    """A real server of the checkout measured; one visitor draws, opens Explore, then sends
    ``action``'s recorded message (or the one ``await make(visitor, recording)`` returns)
    every ``every`` s for ``seconds`` s (a crafted page does not wait for the answers): the
    server's CPU in that window, in cores."""
    import asyncio

    import psutil

    from benchmarks.app_check import Server
    from benchmarks.load import Recording, Stats, Visitor, _for_url

    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    server = Server(log, root=Path(CODE), env={"PYTHONPATH": CODE})
    proc = psutil.Process(server.proc.pid)
    rec = Recording.load(HERE / "load_recording.json")

    def cpu() -> float:
        t = proc.cpu_times()
        return t.user + t.system

    async def visit():
        stats = Stats()
        honest = Visitor(1, server.url, rec, stats)  # another visitor, drawing after the flood
        await honest.open()
        v = Visitor(0, server.url, rec, stats)
        await v.open()
        await v.stroke(2)
        await v.act("explore")
        await v.act("explore")  # the evaluation and the pictures made once, before the flood
        if make is None:
            raw = _for_url(rec.messages[action][0], v.url, v.ids, v.page_hash)
        else:
            raw = await make(v, rec)
        t0, c0, sent = time.monotonic(), cpu(), 0
        try:
            while time.monotonic() - t0 < seconds:
                await v.ws.send(raw)
                sent += 1
                await asyncio.sleep(every)
        except Exception as e:  # the server closed the flooding page's connection
            stats.errors.append(f"the flooding page: {type(e).__name__} after {sent} messages")
        await asyncio.sleep(max(1.0, seconds - (time.monotonic() - t0)))  # the last run ends
        used = (cpu() - c0) / (time.monotonic() - t0)
        answered = await honest.stroke(0)
        await v.close()
        await honest.close()
        return used, answered, stats.errors

    def run():
        try:
            used, answered, errors = asyncio.run(visit())
        finally:
            server.stop()
        return (f"server: {used:.2f} cores while flooded; another visitor's stroke after it "
                f"answered in {answered:.0f} ms; {errors[:2]}")  # fmt: skip

    rate = f"{1 / every:.0f} messages/s" if every else "as fast as it can"
    return run, f"{rate} for {seconds:.0f} s"


@case(
    "explore-rerun-flood",
    "server: a page re-sends its Explore tab (a full rerun) 50 times a second",
)
def _():
    return _server_flood("explore")


@case("explore-rerun-flood-max", "server: the same, as fast as the page can send (no pause)")
def _():
    return _server_flood("explore", every=0.0)


async def _check_again(v, rec) -> bytes:
    """The How it works tab opened, then its "Check other weights" clicked (a new check)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from benchmarks.load import _for_url, _parse_back

    msg = _parse_back(_for_url(rec.messages["explore"][0], v.url, v.ids, v.page_hash))
    for w in msg.rerun_script.widget_states.widgets:
        if w.id.endswith("-tab"):
            w.string_value = "How it works"
    await v._run(msg.SerializeToString())  # the tab's widgets, and their ids, on the page
    await v._run(msg.SerializeToString())
    msg.rerun_script.widget_states.widgets.append(
        WidgetState(id=v.ids["check_again"], trigger_value=True)
    )
    return msg.SerializeToString()


@case(
    "check-again-flood", "server: a page clicks How it works' Check other weights 50 times a second"
)
def _():
    return _server_flood("", make=_check_again)


# ---------------------------------------------------------------- the parent
def child(name: str) -> None:
    _, build = CASES[name]
    run, note = build()
    result = measure(run)
    result["input"] = note
    print("RESULT " + json.dumps(result), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--code", default=str(HERE.parent), help="digitnet checkout to measure")
    parser.add_argument("--only", nargs="*", help="case names (default: all)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    global CODE
    CODE = args.code
    sys.path.insert(0, args.code)
    if args.child:
        child(args.child)
        return
    results = {}
    for name in args.only or CASES:
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "OPENBLAS_NUM_THREADS": "1"}
        cmd = [sys.executable, __file__, "--code", args.code, "--child", name]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout,
                                  env=env)  # fmt: skip
            lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
            if lines:
                results[name] = json.loads(lines[-1][7:])
            else:
                tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
                results[name] = {"outcome": f"process died ({proc.returncode}): {tail[:150]}"}
        except subprocess.TimeoutExpired:
            results[name] = {"outcome": f"still running after {args.timeout:.0f} s (killed)"}
        r = results[name]
        print(f"{name}: {r}", file=sys.stderr, flush=True)
    if args.json:
        print(json.dumps(results, indent=1))
        return
    print("| case | input | peak memory | CPU | outcome |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        peak = f"{r['peak_mb']:,.1f} MB" if "peak_mb" in r else ""
        cpu = f"{r['cpu_s']:.2f} s" if "cpu_s" in r else ""
        outcome = r["outcome"].replace("|", "\\|")
        print(f"| {name}: {CASES[name][0]} | {r.get('input', '')} | {peak} | {cpu} | {outcome} |")


if __name__ == "__main__":
    main()
