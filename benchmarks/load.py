#!/usr/bin/env python3
"""A crowd of visitors without a browser each: Streamlit's own protocol, many per process.

A visitor's browser talks to the app over one websocket (``/_stcore/stream``) in
protobufs that ship with Streamlit: it sends ``BackMsg`` (run the script, with the
values of the widgets) and receives ``ForwardMsg`` (the elements of the page).
This script plays that part for many visitors at once (asyncio), from messages a
real Chromium sent once:

- ``record``: drives Chromium through one visit (three digits drawn, a correction
  and Teach, the Explore tab, a ``fast`` run on the Train tab, back to Draw) and
  keeps every message the page sent, with the canvas's value for each drawing as
  the browser sends it (streamlit-drawable-canvas 0.13: its fabric.js objects and
  the PNG of the canvas), in ``benchmarks/load_recording.json``. It also measures,
  in that browser, where an answer's time goes (the canvas's wait before it sends
  the drawing, the server, the browser drawing the answer), then times the same
  strokes from one simulated visitor on the same server: the two server figures
  should agree within a few ms.
- ``run``: a number of visitors at once: *drawers* (one stroke every
  ``--period`` s each, the three recorded drawings in turn), *trainers* (open the
  Train tab, start ``fast`` with ``--train-epochs`` and watch the live view: their
  simulated page re-runs the fragments the server asks for, as a browser's timers
  do) and *explorers* (open Explore, and every ``--explore-period`` s go back to
  Draw and to Explore again). For each stroke: the time from sending the drawing
  to receiving the answer (the "Prediction" metric). Reports p50/p95/p99, errors,
  page loads, the server's CPU (training threads apart) and RSS, and this
  script's own CPU.
- ``sweep``: ``run`` for several numbers of drawers, on one server, alone and with
  trainers; writes the ``crowd`` section of ``benchmarks/RESULTS.md`` with
  ``--write``.

Loopback only, and bounded: at most :data:`MAX_VISITORS` visitors and
:data:`MAX_SECONDS` s per run. Without ``--url`` it starts its own server
(``streamlit run streamlit_app.py``) and stops it; ``--replicas 2`` starts two
behind nginx instead (``deploy/serve.py``).

Usage::

    python -m benchmarks.load record
    python -m benchmarks.load run --drawers 40 --trainers 2 --duration 40
    python -m benchmarks.load sweep --drawers 40,80,120,160 --trainers 0,2 --write
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import psutil
from websockets.asyncio.client import connect
from websockets.typing import Origin, Subprotocol

from tests.browser.harness import percentile

RECORDING = Path(__file__).resolve().parent / "load_recording.json"
MAX_VISITORS = 400  #: per run, all kinds together
MAX_SECONDS = 600  #: the longest run
ANSWER_TIMEOUT_S = 30  #: a stroke not answered within this is an error
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
CANVAS_SUFFIX = "-canvas"  #: the canvas widget's id ends with its key


def _messages():
    """Streamlit's protobuf classes (imported late: Streamlit is slow to import)."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    return BackMsg, ForwardMsg


# ---------------------------------------------------------------- the recorded messages
@dataclass
class Recording:
    """What a real browser sent, by action, as BackMsg bytes."""

    messages: dict[str, list[bytes]]
    browser: dict  # where the time of an answer went, measured in the browser

    @classmethod
    def load(cls, path: Path = RECORDING) -> Recording:
        if not path.exists():
            raise SystemExit(f"{path} is missing: run `python -m benchmarks.load record` first")
        raw = json.loads(path.read_text())
        messages = {k: [base64.b64decode(m) for m in v] for k, v in raw["messages"].items()}
        return cls(messages, raw.get("browser", {}))

    def save(self, path: Path, meta: dict) -> None:
        out = {
            **meta,
            "browser": self.browser,
            "messages": {
                k: [base64.b64encode(m).decode() for m in v] for k, v in self.messages.items()
            },
        }
        path.write_text(json.dumps(out, indent=1) + "\n")


def _parse_back(raw: bytes):
    BackMsg, _ = _messages()
    msg = BackMsg()
    msg.ParseFromString(raw)
    return msg


def _for_url(raw: bytes, url: str, ids: dict[str, str] | None = None,
             page_hash: str = "", **changes) -> bytes:  # fmt: skip
    """A recorded BackMsg for the server at ``url``; ``widget id suffix=value`` changes.

    A widget's id holds a hash of the app's main script's *path* (Streamlit adds the
    active page's hash, so that pages have distinct ids): a recording made in one checkout
    names widgets that do not exist in another, and the server would ignore its drawings.
    So every widget is renamed to the id the server gave the widget of the same key
    (``ids``: key -> id, learnt from the page; every widget of the app has a key), and the
    page's hash to the server's (``page_hash``).
    """
    msg = _parse_back(raw)
    msg.rerun_script.context_info.url = url.rstrip("/") + "/"
    if page_hash:
        msg.rerun_script.page_script_hash = page_hash
    for w in msg.rerun_script.widget_states.widgets:
        if ids and _widget_key(w.id) in ids:
            w.id = ids[_widget_key(w.id)]
        for suffix, value in changes.items():
            if w.id.endswith("-" + suffix):
                w.int_value = value
    return msg.SerializeToString()


def _widget_key(widget_id: str) -> str:
    """The key in a widget's id: ``$$ID-<hash>-<key>`` (the key may hold dashes)."""
    parts = widget_id.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[0] == "$$ID" else widget_id


def _without_triggers(raw: bytes) -> bytes:
    """The widget states a page keeps sending after a click: the click itself dropped."""
    msg = _parse_back(raw)
    keep = [
        w
        for w in msg.rerun_script.widget_states.widgets
        if w.WhichOneof("value") not in ("trigger_value", "string_trigger_value")
    ]
    del msg.rerun_script.widget_states.widgets[:]
    msg.rerun_script.widget_states.widgets.extend(keep)
    msg.rerun_script.ClearField("fragment_id")
    return msg.SerializeToString()


def _with_fragment(raw: bytes, fragment_id: str) -> bytes:
    msg = _parse_back(raw)
    msg.rerun_script.fragment_id = fragment_id
    return msg.SerializeToString()


# ---------------------------------------------------------------- one simulated visitor
class VisitorError(Exception):
    pass


@dataclass
class Stats:
    """What the visitors measured (shared by all of them, one event loop)."""

    answers_ms: list[float] = field(default_factory=list)  # stroke sent -> answer received
    page_loads_ms: list[float] = field(default_factory=list)  # rerun sent -> script finished
    tab_ms: list[float] = field(default_factory=list)  # Explore opened -> script finished
    errors: list[str] = field(default_factory=list)
    strokes_sent: int = 0
    fragment_reruns: int = 0  # sent for the server's run_every timers
    media_fetched: int = 0  # pictures fetched from /media, as a browser does
    media_gone: int = 0  # ... that the next run had replaced already (404)
    epochs_seen: dict[int, int] = field(default_factory=dict)  # trainer -> last epoch shown
    measuring: bool = False  # only strokes sent while this is set count


class Visitor:
    """One page: a websocket, the widget states it last sent, the timers the server asked for."""

    def __init__(self, n: int, url: str, rec: Recording, stats: Stats) -> None:
        self.n, self.url, self.rec, self.stats = n, url.rstrip("/"), rec, stats
        self.ws = None
        self.state = b""  # the widget states the page sends with a timer's rerun
        self.timers: dict[str, asyncio.Task] = {}
        self.finished = asyncio.Event()
        self.answer = asyncio.Event()
        self.cookie = ""
        self._reader: asyncio.Task | None = None
        self._fetches: set[asyncio.Task] = set()
        self.closed = False
        self.ids: dict[str, str] = {}  # widget key -> its id on this server (see _for_url)
        self.page_hash = ""

    async def open(self) -> float:
        """Load the page (its HTML, as a browser does first) and run the script: ms."""
        t0 = time.perf_counter()
        self.cookie = await _http_get_cookie(self.url)
        host = urlparse(self.url).netloc
        ws_url = f"ws://{host}/_stcore/stream"
        self.ws = await connect(
            ws_url,
            subprotocols=[Subprotocol("streamlit")],
            origin=Origin(self.url),
            additional_headers={"Cookie": self.cookie} if self.cookie else None,
            max_size=None,
            compression=None,
            ping_interval=None,
            open_timeout=60,
        )
        self._reader = asyncio.create_task(self._read())
        BackMsg, _ = _messages()
        first = BackMsg()
        first.rerun_script.context_info.url = self.url + "/"
        first.rerun_script.context_info.timezone = "UTC"
        first.rerun_script.context_info.locale = "en-US"
        await self._run(first.SerializeToString())
        return (time.perf_counter() - t0) * 1000

    async def close(self) -> None:
        self.closed = True
        for t in [*self.timers.values(), *self._fetches]:
            t.cancel()
        self.timers.clear()
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()

    async def _run(self, raw: bytes, timeout: float = 120) -> None:
        """Send a rerun and wait for the script (or fragment) run it starts to finish."""
        self.finished.clear()
        await self.ws.send(raw)
        try:
            await asyncio.wait_for(self.finished.wait(), timeout)
        except TimeoutError:
            raise VisitorError(f"visitor {self.n}: no script_finished in {timeout} s") from None

    async def act(self, name: str, **changes) -> float:
        """Replay a recorded click or tab switch; ms to the end of its run."""
        raw = _for_url(self.rec.messages[name][0], self.url, self.ids, self.page_hash, **changes)
        self.state = _without_triggers(raw)
        t0 = time.perf_counter()
        await self._run(raw)
        return (time.perf_counter() - t0) * 1000

    async def clear(self) -> None:
        """Clear, and the canvas's empty value that follows (as recorded)."""
        for raw in self.rec.messages["clear"]:
            await self._run(_for_url(raw, self.url, self.ids, self.page_hash))

    async def stroke(self, i: int) -> float | None:
        """Send the ``i``-th recorded drawing; ms until the answer arrives (None: timeout)."""
        strokes = self.rec.messages["stroke"]
        raw = _for_url(strokes[i % len(strokes)], self.url, self.ids, self.page_hash)
        self.answer.clear()
        measured = self.stats.measuring
        t0 = time.perf_counter()
        await self.ws.send(raw)
        self.stats.strokes_sent += 1
        try:
            await asyncio.wait_for(self.answer.wait(), ANSWER_TIMEOUT_S)
        except TimeoutError:
            self.stats.errors.append(f"visitor {self.n}: no answer in {ANSWER_TIMEOUT_S} s")
            return None
        ms = (time.perf_counter() - t0) * 1000
        if measured and self.stats.measuring:
            self.stats.answers_ms.append(ms)
        return ms

    async def _read(self) -> None:
        _, ForwardMsg = _messages()
        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                kind = msg.WhichOneof("type")
                if kind == "delta":
                    self._delta(msg.delta)
                elif kind == "script_finished":
                    self.finished.set()
                elif kind == "new_session":
                    self.page_hash = msg.new_session.page_script_hash or self.page_hash
                    if not msg.metadata.run.fragment_ids:  # a full run: the page drops timers
                        for t in self.timers.values():
                            t.cancel()
                        self.timers.clear()
                elif kind == "auto_rerun":
                    fid = msg.auto_rerun.fragment_id
                    if fid not in self.timers:
                        self.timers[fid] = asyncio.create_task(
                            self._timer(fid, msg.auto_rerun.interval)
                        )
        except Exception as e:  # a dropped connection, a bad message
            if not self.closed:
                self.stats.errors.append(f"visitor {self.n}: {type(e).__name__}: {e}")
                self.finished.set()
                self.answer.set()

    def _delta(self, delta) -> None:
        what = delta.WhichOneof("type")
        if what not in ("new_element", "add_block"):  # a widget, or a block that is one (tabs)
            return
        el = getattr(delta, what)
        kind = el.WhichOneof("type")
        widget_id = getattr(getattr(el, kind), "id", "") if kind else ""
        if isinstance(widget_id, str) and widget_id.startswith("$$ID-"):
            self.ids[_widget_key(widget_id)] = widget_id
        if what != "new_element":
            return
        if kind == "metric" and el.metric.label == "Prediction" and el.metric.body != "–":
            self.answer.set()
        elif kind == "progress":
            m = re.match(r"Epoch (\d+) of", el.progress.text)
            if m:
                self.stats.epochs_seen[self.n] = int(m[1])
        elif kind == "exception":
            self.stats.errors.append(f"visitor {self.n}: the app raised {el.exception.message}")
        elif kind == "imgs":  # the browser then fetches the pictures from the server
            for img in el.imgs.imgs:
                if img.url.startswith("/"):
                    task = asyncio.get_running_loop().create_task(self._fetch(img.url))
                    self._fetches.add(task)  # a task nobody refers to may be collected
                    task.add_done_callback(self._fetches.discard)

    async def _fetch(self, path: str) -> None:
        try:
            status = await _http_get(self.url, path, self.cookie)
        except OSError as e:
            status = f"{type(e).__name__}: {e}"
        self.stats.media_fetched += 1
        if status == 404:  # already replaced by the next run's pictures: a browser
            self.stats.media_gone += 1  # would not ask for them any more either
        elif status != 200:
            self.stats.errors.append(f"visitor {self.n}: GET {path}: {status}")

    async def _timer(self, fragment_id: str, interval: float) -> None:
        """A browser's ``setInterval`` for a fragment's ``run_every``."""
        while not self.closed:
            await asyncio.sleep(interval)
            if self.state:
                await self.ws.send(_with_fragment(self.state, fragment_id))
                self.stats.fragment_reruns += 1


async def _http_get(url: str, path: str, cookie: str) -> int:
    """GET ``path`` (with the visitor's cookies); its status."""
    u = urlparse(url)
    reader, writer = await asyncio.open_connection(u.hostname, u.port or 80)
    head = f"GET {path} HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n"
    writer.write((head + (f"Cookie: {cookie}\r\n" if cookie else "") + "\r\n").encode())
    await writer.drain()
    status = (await reader.readline()).split()[1:2]
    await reader.read()
    writer.close()
    return int(status[0]) if status else 0


async def _http_get_cookie(url: str) -> str:
    """GET the page, as a browser does before it opens the websocket; its cookies.

    Behind the proxy, the ``digitnet_replica`` cookie pins the websocket to a replica.
    """
    u = urlparse(url)
    reader, writer = await asyncio.open_connection(u.hostname, u.port or 80)
    writer.write(f"GET / HTTP/1.1\r\nHost: {u.netloc}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    head = (await reader.read()).split(b"\r\n\r\n", 1)[0].decode("latin-1")
    writer.close()
    if not head.startswith("HTTP/1.1 200"):
        raise VisitorError(f"GET {url}/: {head.splitlines()[0] if head else 'no answer'}")
    cookies = re.findall(r"(?im)^set-cookie:\s*([^;\r\n]+)", head)
    return "; ".join(cookies)


# ---------------------------------------------------------------- the kinds of visitors
async def drawer(v: Visitor, period: float, stop: float) -> None:
    i = v.n  # each starts on another drawing
    await asyncio.sleep(random.uniform(0, period))  # spread the strokes over the period
    while time.monotonic() < stop:
        t0 = time.monotonic()
        await v.stroke(i)
        i += 1
        await asyncio.sleep(max(0.0, period - (time.monotonic() - t0)))


async def trainer(v: Visitor, epochs: int, stop: float) -> None:
    """Train tab open, ``fast`` started with ``epochs``, its live view on screen."""
    await v.act("train_tab")
    await v.act("start", hp_fast_epochs=epochs)
    while time.monotonic() < stop:
        await asyncio.sleep(0.5)
        if not v.timers:  # the run ended (the live view went away): start another
            await v.act("start", hp_fast_epochs=epochs)


async def explorer(v: Visitor, period: float, stop: float) -> None:
    while time.monotonic() < stop:
        v.stats.tab_ms.append(await v.act("explore"))
        await asyncio.sleep(period)
        await v.act("draw_tab")


@dataclass
class Plan:
    drawers: int = 10
    trainers: int = 0
    explorers: int = 0
    period: float = 3.0
    duration: float = 30.0
    warmup: float = 5.0
    train_epochs: int = 200
    explore_period: float = 15.0
    arrival_s: float = 0.05  #: between two visitors' page loads


async def run_plan(url: str, rec: Recording, plan: Plan, pids: list[int]) -> dict:
    """Open every visitor, let them act for ``plan.duration`` s, measure, close them."""
    total = plan.drawers + plan.trainers + plan.explorers
    if total > MAX_VISITORS:
        raise SystemExit(f"at most {MAX_VISITORS} visitors per run")
    if plan.duration + plan.warmup > MAX_SECONDS:
        raise SystemExit(f"at most {MAX_SECONDS} s per run")
    stats = Stats()
    visitors = [Visitor(i, url, rec, stats) for i in range(total)]
    for v in visitors:
        try:
            stats.page_loads_ms.append(await v.open())
        except (VisitorError, OSError) as e:
            stats.errors.append(f"visitor {v.n}: page load: {e}")
        await asyncio.sleep(plan.arrival_s)
    stop = time.monotonic() + plan.warmup + plan.duration
    kinds = (
        [drawer(v, plan.period, stop) for v in visitors[: plan.drawers]]
        + [trainer(v, plan.train_epochs, stop) for v in
           visitors[plan.drawers : plan.drawers + plan.trainers]]
        + [explorer(v, plan.explore_period, stop) for v in
           visitors[plan.drawers + plan.trainers :]]
    )  # fmt: skip
    tasks = [asyncio.create_task(k) for k in kinds]
    await asyncio.sleep(plan.warmup)
    monitor = Monitor(pids)
    stats.measuring = True
    strokes0 = stats.strokes_sent
    await asyncio.sleep(plan.duration)
    stats.measuring = False
    usage = monitor.usage()
    strokes = stats.strokes_sent - strokes0
    for t in tasks:
        t.cancel()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    for r in results:
        if isinstance(r, Exception) and not isinstance(r, asyncio.CancelledError):
            stats.errors.append(f"{type(r).__name__}: {r}")
    for v in visitors:
        await v.close()
    a = stats.answers_ms
    return {
        "drawers": plan.drawers,
        "trainers": plan.trainers,
        "explorers": plan.explorers,
        "period_s": plan.period,
        "duration_s": plan.duration,
        "strokes": strokes,
        "answers": len(a),
        "p50_ms": round(statistics.median(a), 1) if a else None,
        "p95_ms": round(percentile(a, 95), 1) if a else None,
        "p99_ms": round(percentile(a, 99), 1) if a else None,
        "max_ms": round(max(a), 1) if a else None,
        "errors": len(stats.errors),
        "error_samples": stats.errors[:5],
        "page_load_p50_ms": round(statistics.median(stats.page_loads_ms), 1)
        if stats.page_loads_ms
        else None,
        "page_load_max_ms": round(max(stats.page_loads_ms), 1) if stats.page_loads_ms else None,
        "explore_p50_ms": round(statistics.median(stats.tab_ms), 1) if stats.tab_ms else None,
        "fragment_reruns": stats.fragment_reruns,
        "media_fetched": stats.media_fetched,
        "media_gone": stats.media_gone,
        "epochs_shown": sorted(stats.epochs_seen.values()),
        **usage,
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


class Monitor:
    """CPU and memory of the server processes (and of this script) over a window."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = [psutil.Process(p) for p in pids]
        self.me = psutil.Process()
        self.t0 = time.monotonic()
        self.cpu0 = [self._cpu(p) for p in self.procs]
        self.train0 = [_train_cpu(p) for p in self.procs]
        self.me0 = sum(self.me.cpu_times()[:2])

    @staticmethod
    def _cpu(p: psutil.Process) -> float:
        t = p.cpu_times()
        return t.user + t.system

    def usage(self) -> dict:
        wall = time.monotonic() - self.t0
        cpu = [self._cpu(p) - c0 for p, c0 in zip(self.procs, self.cpu0)]
        train = [_train_cpu(p) - t0 for p, t0 in zip(self.procs, self.train0)]
        return {
            "server_cores": round(sum(cpu) / wall, 2),
            "server_cores_training": round(sum(train) / wall, 2),
            "server_cores_per_process": [round(c / wall, 2) for c in cpu],
            "server_rss_mb": [round(p.memory_info().rss / 2**20) for p in self.procs],
            "generator_cores": round((sum(self.me.cpu_times()[:2]) - self.me0) / wall, 2),
        }


def _train_cpu(p: psutil.Process) -> float:
    """CPU seconds of a server's training threads (they name themselves ``train-*``)."""
    total = 0.0
    for t in p.threads():
        try:
            name = Path(f"/proc/{p.pid}/task/{t.id}/comm").read_text().strip()
        except OSError:
            continue
        if name.startswith("train-"):
            total += t.user_time + t.system_time
    return total


# ---------------------------------------------------------------- servers
class Target:
    """The server(s) the visitors talk to: given (``--url``), one started, or N behind nginx."""

    def __init__(self, args) -> None:
        self.url = args.url
        self.pids: list[int] = args.pid or []
        self._stop = None
        # The server's capacity is measured, not the app's cap on visitors (its default, 40
        # pages, is below the crowds measured here): --env DIGITNET_MAX_SESSIONS=40 for it.
        env = {
            "DIGITNET_SESSION_GRACE_S": "2",
            "DIGITNET_MAX_SESSIONS": str(MAX_VISITORS + 10),
            **dict(e.split("=", 1) for e in args.env),
        }
        extra = list(args.streamlit_arg)
        if self.url:
            host = urlparse(self.url).hostname
            if host not in LOOPBACK:
                raise SystemExit(f"loopback only: {host} is not this machine")
            return
        if args.replicas > 1:
            from deploy import serve

            dep = serve.start(args.replicas, port=None, env=env, streamlit_args=extra)
            self.url, self.pids, self._stop = dep.url, [p.pid for p in dep.procs[:-1]], dep.stop
            self.log = dep.replica_log(0)
            return
        from benchmarks.app_check import Server

        log = Path(tempfile.mkdtemp(prefix="digitnet-load-")) / "streamlit.log"
        srv = Server(log, env=env, args=extra)
        self.url, self.pids, self._stop, self.log = srv.url, [srv.proc.pid], srv.stop, log

    def stop(self) -> None:
        if self._stop:
            self._stop()


def _warm(url: str, rec: Recording) -> None:
    """One visitor draws, explores and trains once: the server's first-time costs
    (imports, MNIST, the evaluations) are not the crowd's."""

    async def go() -> None:
        stats = Stats()
        v = Visitor(-1, url, rec, stats)
        await v.open()
        for i in range(3):
            await v.stroke(i)
        await v.act("explore")
        await v.act("train_tab")
        await v.act("start", hp_fast_epochs=1)
        for _ in range(120):
            await asyncio.sleep(0.5)
            if not v.timers:
                break
        await v.act("draw_tab")
        await v.close()
        if stats.errors:
            raise SystemExit(f"warm-up failed: {stats.errors}")

    asyncio.run(go())


# ---------------------------------------------------------------- record (with Chromium)
def record(args) -> int:
    """Drive Chromium through one visit and keep what it sent; measure the browser's part."""
    from playwright.sync_api import expect, sync_playwright

    from benchmarks.app_check import SHAPES, Server, answer_timing
    from benchmarks.app_check import Visitor as Page
    from tests.browser.harness import CHROMIUM_FLAGS, chromium_path

    BackMsg, ForwardMsg = _messages()
    log = Path(tempfile.mkdtemp(prefix="digitnet-record-")) / "streamlit.log"
    sent: list[tuple[float, bytes]] = []
    errors: list[str] = []
    messages: dict[str, list[bytes]] = {"stroke": []}
    stages = []
    pinned = args.pin and len(os.sched_getaffinity(0)) >= 2
    if pinned:  # this script, Playwright and Chromium on one core, the server on another
        cores = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cores[1]})
    with sync_playwright() as p:
        chromium = chromium_path()
        browser = p.chromium.launch(
            args=CHROMIUM_FLAGS, **({"executable_path": chromium} if chromium else {})
        )
        srv = Server(log, env={"DIGITNET_SESSION_GRACE_S": "2"})
        if pinned:
            _pin(srv.proc.pid, {cores[0]})
        try:
            # the page's websocket frames: their bytes (Playwright), and when the network
            # stack sent or received them (Chrome DevTools Protocol; the JS clock of an
            # arriving message waits for the page's main thread, this one does not)
            wire: list[tuple[str, float, bytes]] = []

            def hook(ctx, pg) -> None:
                pg.on("websocket", lambda ws: ws.on(
                    "framesent", lambda f: sent.append((time.monotonic(), f))))  # fmt: skip
                cdp = ctx.new_cdp_session(pg)
                for event, way in (("webSocketFrameSent", "sent"),
                                   ("webSocketFrameReceived", "received")):  # fmt: skip
                    cdp.on(f"Network.{event}", lambda e, way=way: wire.append(
                        (way, e["timestamp"], base64.b64decode(e["response"]["payloadData"]))
                    ))  # fmt: skip
                cdp.send("Network.enable")

            page = Page(browser, srv.url, errors, before_goto=hook)
            pg = page.page
            try:
                clock = WireClock(int(urlparse(srv.url).port))
            except PermissionError:
                clock = None  # not root: the kernel's clock is not available

            def after(n: int) -> list[BackMsg]:
                out = []
                for _, raw in sent[n:]:
                    m = BackMsg()
                    m.ParseFromString(raw)
                    if m.WhichOneof("type") == "rerun_script":
                        out.append((m, raw))
                return out

            def canvas_objects(m) -> int:
                for w in m.rerun_script.widget_states.widgets:
                    if w.id.endswith(CANVAS_SUFFIX) and w.json_value:
                        return len(json.loads(w.json_value)["drawing"]["raw"]["objects"])
                return 0

            def on_the_wire_ms(k: int) -> float | None:
                """Drawing frame sent -> answer frame received, on the network's clock."""
                t_sent = None
                for way, t, data in wire[k:]:
                    if way == "sent" and t_sent is None:
                        m = BackMsg()
                        m.ParseFromString(data)
                        if canvas_objects(m) == 1:
                            t_sent = t
                    elif way == "received" and t_sent is not None and b"Prediction" in data:
                        f = ForwardMsg()
                        f.ParseFromString(data)
                        el = f.delta.new_element
                        if el.metric.label == "Prediction" and el.metric.body != "–":
                            return (t - t_sent) * 1000
                return None

            # strokes: the recorded drawings, and where an answer's time goes
            t_browser = time.time()
            for i in range(args.strokes + 1):
                n_sent, n_wire = len(sent), len(wire)
                n_up, n_m = pg.evaluate("[window.__lat.ups.length, window.__lat.metric.length]")
                page.stroke(SHAPES[i % 3])
                pg.wait_for_function(
                    "([nu, nm]) => window.__lat.ups.length > nu && window.__lat.metric.slice(nm)"
                    ".some(([t, m]) => t > window.__lat.ups[nu] && !m.includes('–'))",
                    arg=[n_up, n_m],
                    timeout=20_000,
                )
                shown, st = answer_timing(pg.evaluate("window.__lat"), n_up, n_m)
                pg.wait_for_timeout(100)  # the DevTools events of those frames
                server = on_the_wire_ms(n_wire)
                drawn = [raw for m, raw in after(n_sent) if canvas_objects(m) == 1]
                if i < 3:
                    messages["stroke"].append(drawn[-1])
                if i and st is not None and server is not None:
                    stages.append((st[0], server, shown - st[0] - server, shown))
                if i < args.strokes:
                    n = len(sent)
                    page.clear()
                    if "clear" not in messages:  # Clear, then the canvas's empty value
                        messages["clear"] = [raw for _, raw in after(n)]

            t_strokes_end = time.time()
            # a correction and Teach (the drawing on the canvas is a 1, 7 or 0)
            n = len(sent)
            pg.locator(".st-key-correct button", has_text=re.compile(r"^3$")).click()
            expect(pg.get_by_text(re.compile(r"^Kept as a 3"))).to_be_visible(timeout=20_000)
            messages["correct"] = [after(n)[0][1]]
            n = len(sent)
            pg.locator(".st-key-teach button").click()
            expect(pg.get_by_text(re.compile(r"MNIST test accuracy: .* before"))).to_be_visible(
                timeout=120_000
            )
            messages["teach"] = [after(n)[0][1]]

            for name, tab, done in (
                ("explore", "Explore", "What each hidden unit looks for"),
                ("train_tab", "Train", "Start training"),
            ):
                n = len(sent)
                pg.get_by_role("tab", name=tab).click()
                expect(pg.get_by_text(done).first).to_be_visible(timeout=60_000)
                messages[name] = [after(n)[0][1]]
            n = len(sent)
            pg.get_by_role("button", name="Start training").click()
            expect(pg.get_by_text(re.compile(r"^Done"))).to_be_visible(timeout=120_000)
            messages["start"] = [after(n)[0][1]]
            n = len(sent)
            pg.get_by_role("tab", name="Draw").click()
            expect(page.metric()).to_be_visible(timeout=20_000)
            messages["draw_tab"] = [after(n)[0][1]]
            page.ctx.close()

            def med(i: int) -> float:
                return round(statistics.median(s[i] for s in stages), 1)

            browser_part = {
                "strokes": len(stages),
                "canvas_sends_after_ms": med(0),
                # drawing frame sent -> answer frame received, on Chromium's network clock
                # (it waits for Chromium's processes to be scheduled: see the kernel's below)
                "server_and_network_ms": med(1),
                "browser_draws_answer_ms": med(2),
                "mouse_up_to_answer_shown_ms": med(3),
                "all": [[round(x, 1) for x in s] for s in stages],
            }
            rec = Recording(messages, browser_part)
            # the same server, the same strokes, from one simulated visitor
            t_sim = time.time()
            with ThreadPoolExecutor(1) as pool:  # Playwright's loop runs in this thread
                sim = pool.submit(asyncio.run, _one_visitor_strokes(srv.url, rec, len(stages)))
                sim = sim.result()
            rec.browser["simulated_visitor_server_ms"] = round(statistics.median(sim), 1)
            rec.browser["simulated_all"] = [round(x, 1) for x in sim]
            if clock is not None:
                time.sleep(0.5)
                clock.close()
                on_lo = {
                    "browser": clock.answers_ms(t_browser, t_strokes_end)[1:],
                    "simulated": clock.answers_ms(t_sim, time.time())[1:],
                }
                rec.browser["kernel_clock_server_ms"] = {
                    k: round(statistics.median(v), 1) if v else None for k, v in on_lo.items()
                }
                rec.browser["kernel_clock_all"] = {
                    k: [round(x, 1) for x in v] for k, v in on_lo.items()
                }
                if len(on_lo["browser"]) == len(stages):  # the browser's part, stroke by stroke
                    rec.browser["browser_part_ms"] = round(statistics.median(
                        shown - canvas - server
                        for (canvas, _, _, shown), server in zip(stages, on_lo["browser"])
                    ), 1)  # fmt: skip
        finally:
            srv.stop()
        browser.close()
    if errors:
        print("console errors:", errors, file=sys.stderr)
    import streamlit

    rec.save(
        args.out,
        {
            "what": "BackMsgs a real Chromium sent to digitnet's app (benchmarks.load record)",
            "streamlit": streamlit.__version__,
            "recorded": time.strftime("%Y-%m-%d %H:%M"),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "pinned": pinned,
        },
    )
    b = rec.browser
    print(
        f"recorded {sum(len(v) for v in messages.values())} messages -> {args.out}\n"
        f"browser, median of {b['strokes']} strokes: canvas sends the drawing "
        f"{b['canvas_sends_after_ms']} ms after the mouse-up; server+network "
        f"{b['server_and_network_ms']} ms; the browser draws the answer in "
        f"{b['browser_draws_answer_ms']} ms; mouse-up to answer shown "
        f"{b['mouse_up_to_answer_shown_ms']} ms\n"
        f"simulated visitor, same server: stroke sent -> answer received "
        f"{b['simulated_visitor_server_ms']} ms (median of {len(sim)})\n"
        f"on the kernel's clock (loopback packets: drawing in -> answer out): "
        f"{b.get('kernel_clock_server_ms', 'not available (needs root)')}; the browser's "
        f"part (mouse-up to shown, less the canvas's wait and the server): "
        f"{b.get('browser_part_ms')} ms"
    )
    return 0


class WireClock:
    """Packets to and from a loopback port, with the kernel's timestamps (needs CAP_NET_RAW).

    A browser's own clock of when its frames left and arrived waits for its processes to
    be scheduled; the kernel stamps each packet as it crosses the loopback interface, the
    same way for a browser and for a simulated visitor. A drawing is the first packet to
    the server larger than :data:`DRAWING_BYTES` (the client's frames are masked: only their
    size shows); its answer, the first packet back holding the "Prediction" metric with a
    digit (not "–").
    """

    DRAWING_BYTES = 4000  #: smaller client packets are not looked into

    def __init__(self, port: int) -> None:
        import socket

        self.port = port
        self.packets: list[tuple[float, bool, int, bool]] = []  # (t, to server, size, answer)
        self._sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
        self._sock.bind(("lo", 0))
        self._sock.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 << 20)
        self._filter_port(port)  # in the kernel: the machine's other loopback traffic is dropped
        self._sock.settimeout(0.2)
        self._stop = False
        self._thread = __import__("threading").Thread(target=self._sniff, daemon=True)
        self._thread.start()

    def _filter_port(self, port: int) -> None:
        """Attach a classic BPF program: IPv4 TCP packets from or to ``port`` only."""
        import ctypes
        import struct

        program = [  # (code, jt, jf, k), as `tcpdump -dd "ip and tcp port N"` has it
            (0x28, 0, 0, 12), (0x15, 0, 10, 0x800),  # ethertype IPv4
            (0x30, 0, 0, 23), (0x15, 0, 8, 6),  # TCP
            (0x28, 0, 0, 20), (0x45, 6, 0, 0x1FFF),  # not a fragment
            (0xB1, 0, 0, 14),  # x = IP header length
            (0x48, 0, 0, 14), (0x15, 2, 0, port),  # source port
            (0x48, 0, 0, 16), (0x15, 0, 1, port),  # destination port
            (0x06, 0, 0, 262144), (0x06, 0, 0, 0),  # accept / drop
        ]  # fmt: skip
        code = b"".join(struct.pack("HBBI", *ins) for ins in program)
        self._bpf = ctypes.create_string_buffer(code)
        fprog = struct.pack("HL", len(program), ctypes.addressof(self._bpf))
        self._sock.setsockopt(1, 26, fprog)  # SOL_SOCKET, SO_ATTACH_FILTER

    def _sniff(self) -> None:
        import socket
        import struct

        while not self._stop:
            try:
                data, anc, _, addr = self._sock.recvmsg(262144, 64)
            except TimeoutError:
                continue
            if addr[2] == socket.PACKET_OUTGOING or len(data) < 34 or data[14] >> 4 != 4:
                continue  # the loopback shows every packet twice; IPv4 only
            ip = data[14:]
            if ip[9] != 6:  # TCP
                continue
            tcp = ip[(ip[0] & 15) * 4 :]
            sport, dport = struct.unpack("!HH", tcp[:4])
            payload = tcp[(tcp[12] >> 4) * 4 :]
            if self.port not in (sport, dport) or not payload:
                continue
            sec, ns = struct.unpack("qq", anc[0][2][:16])
            if dport == self.port:
                event = len(payload) > self.DRAWING_BYTES and _is_drawing(payload)
            else:
                event = b"Prediction" in payload and _has_answer(payload)
            self.packets.append((sec + ns / 1e9, dport == self.port, len(payload), event))

    def answers_ms(self, t0: float, t1: float) -> list[float]:
        """Drawing in -> answer out, for the answers between wall times t0 and t1.

        The drawing of an answer is the last large packet the client sent before it.
        """
        out, sent = [], None
        for t, to_server, _, event in self.packets:
            if t < t0 or t > t1 or not event:
                continue
            if to_server:
                sent = t
            elif sent is not None:
                out.append((t - sent) * 1000)
                sent = None
        return out

    def close(self) -> None:
        self._stop = True
        self._thread.join()
        self._sock.close()


def _frame_length(payload: bytes, i: int) -> tuple[int, int]:
    """The payload length of the websocket frame at ``i``, and where its next part starts."""
    n, i = payload[i + 1] & 127, i + 2
    if n == 126:
        return int.from_bytes(payload[i : i + 2], "big"), i + 2
    if n == 127:
        return int.from_bytes(payload[i : i + 8], "big"), i + 8
    return n, i


def _is_drawing(payload: bytes) -> bool:
    """Is this client-to-server websocket frame a stroke: one object on the canvas, no click?"""
    BackMsg, _ = _messages()
    n, i = _frame_length(payload, 0)
    mask, body = payload[i : i + 4], payload[i + 4 : i + 4 + n]
    key = int.from_bytes((mask * (len(body) // 4 + 1))[: len(body)], "big")
    raw = (int.from_bytes(body, "big") ^ key).to_bytes(len(body), "big")
    msg = BackMsg()
    try:
        msg.ParseFromString(raw)
    except Exception:  # a frame cut by the segment's end
        return False
    widgets = msg.rerun_script.widget_states.widgets
    if not msg.rerun_script.fragment_id:  # a stroke reruns the Draw tab's fragment only
        return False
    if any(w.WhichOneof("value") in ("trigger_value", "string_trigger_value") for w in widgets):
        return False
    return any(
        w.id.endswith(CANVAS_SUFFIX)
        and w.json_value
        and len(json.loads(w.json_value)["drawing"]["raw"]["objects"]) == 1
        for w in widgets
    )


def _has_answer(payload: bytes) -> bool:
    """Do these server-to-client websocket frames hold the "Prediction" metric with a digit?"""
    _, ForwardMsg = _messages()
    i = 0
    while i + 2 <= len(payload):
        n, i = _frame_length(payload, i)
        frame, i = payload[i : i + n], i + n
        if b"Prediction" in frame:
            msg = ForwardMsg()
            try:
                msg.ParseFromString(frame)
            except Exception:  # a frame cut by the segment's end
                return False
            metric = msg.delta.new_element.metric
            return metric.label == "Prediction" and metric.body != "–"
    return False


def _pin(pid: int, cpus: set[int]) -> None:
    """Every thread of process ``pid`` (and so the threads they start) on ``cpus``."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        os.sched_setaffinity(int(task.name), cpus)


async def _one_visitor_strokes(url: str, rec: Recording, n: int) -> list[float]:
    """As the browser did: ``n`` strokes after a warm-up one, each on a cleared canvas."""
    stats = Stats(measuring=True)
    v = Visitor(0, url, rec, stats)
    await v.open()
    for i in range(n + 1):
        await v.stroke(i)
        await v.clear()
        await asyncio.sleep(0.3)
    await v.close()
    if stats.errors:
        raise SystemExit(f"simulated visitor failed: {stats.errors}")
    return stats.answers_ms[1:]


# ---------------------------------------------------------------- run / sweep
def _plan(args, drawers: int, trainers: int) -> Plan:
    return Plan(
        drawers=drawers,
        trainers=trainers,
        explorers=args.explorers,
        period=args.period,
        duration=args.duration,
        warmup=args.warmup,
        train_epochs=args.train_epochs,
        explore_period=args.explore_period,
    )


def run(args) -> int:
    rec = Recording.load(args.recording)
    target = Target(args)
    try:
        _warm(target.url, rec)
        out = asyncio.run(run_plan(target.url, rec, _plan(args, args.drawers, args.trainers),
                                   target.pids))  # fmt: skip
    finally:
        target.stop()
    print(json.dumps(out, indent=1))
    return 0


def sweep(args) -> int:
    rec = Recording.load(args.recording)
    rows = []
    target = Target(args)
    try:
        _warm(target.url, rec)
        for trainers in [int(t) for t in args.trainers_list.split(",")]:
            for drawers in [int(d) for d in args.drawers_list.split(",")]:
                out = asyncio.run(run_plan(target.url, rec, _plan(args, drawers, trainers),
                                           target.pids))  # fmt: skip
                rows.append(out)
                print(json.dumps({k: v for k, v in out.items() if k != "error_samples"}),
                      flush=True)  # fmt: skip
                time.sleep(args.pause)  # the sessions of this level end (grace, TTL)
    finally:
        target.stop()
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


# ---------------------------------------------------------------- memory
async def visit(v: Visitor, rss: Callable[[], float] | None = None) -> dict:
    """A whole visit: page loaded, three drawings, a correction and Teach, Explore, a
    ``fast`` run on the Train tab to its end; the server's RSS after each step."""
    out = {}

    def note(step: str) -> None:
        if rss is not None:
            out[step] = rss()

    await v.open()
    note("loaded")
    for i in range(3):
        await v.stroke(i)
    note("drew")
    await v.act("correct")
    await v.act("teach")
    note("taught")
    await v.act("explore")
    note("explored")
    await v.act("train_tab")
    await v.act("start")
    for _ in range(600):  # the live view's timers stop when the run is done
        await asyncio.sleep(0.2)
        if not v.timers:
            break
    note("trained")
    await v.close()
    return out


async def _visit_or_note(n: int, url: str, rec: Recording, stats: Stats) -> None:
    """A whole visit; one that fails (e.g. a step that never ends) is noted, not fatal."""
    v = Visitor(n, url, rec, stats)
    try:
        await visit(v)
    except (VisitorError, OSError) as e:
        stats.errors.append(f"visitor {n}: {type(e).__name__}: {e}")
        await v.close()


def memory(args) -> int:
    """RSS idle, through a first visit, after many visits, and after their sessions expired."""
    rec = Recording.load(args.recording)
    target = Target(args)
    proc = psutil.Process(target.pids[0])

    def rss() -> float:
        return round(proc.memory_info().rss / 2**20, 1)

    report: dict = {"visitors": args.visitors, "settings": args.env + args.streamlit_arg}
    try:
        report["idle"] = rss()

        async def go() -> None:
            stats = Stats()
            report["first_visit"] = await visit(Visitor(0, target.url, rec, stats), rss)
            report["after_first_left"] = rss()
            after = []
            for start in range(1, args.visitors, args.concurrency):
                group = range(start, min(args.visitors, start + args.concurrency))
                await asyncio.gather(*[_visit_or_note(n, target.url, rec, stats) for n in group])
                after.append(rss())
                print(f"{group[-1] + 1} visitors: {after[-1]} MB", flush=True)
            report["after_each"] = after
            report["errors"] = stats.errors[:5]
            report["n_errors"] = len(stats.errors)
            await asyncio.sleep(args.expire_wait)
            report["all_left_and_waited"] = rss()
            # a new visitor's page closing makes Streamlit drop the expired sessions it kept
            await visit(Visitor(args.visitors, target.url, rec, stats))
            await asyncio.sleep(5)
            report["after_one_more_visit"] = rss()

        asyncio.run(go())
    finally:
        target.stop()
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=1))
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(report, indent=1) + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("record", help="record a real browser's messages (Chromium)")
    p.add_argument("--out", type=Path, default=RECORDING)
    p.add_argument("--strokes", type=int, default=15, help="strokes timed in the browser")
    p.add_argument("--no-pin", dest="pin", action="store_false",
                   help="don't give the server a core and the browser the other")  # fmt: skip
    p.set_defaults(func=record)

    for name, func in (("run", run), ("sweep", sweep), ("memory", memory)):
        p = sub.add_parser(name)
        p.add_argument("--url", help="a running server (loopback only); default: start one")
        p.add_argument("--pid", type=int, action="append", help="its process id(s), for CPU/RSS")
        p.add_argument("--replicas", type=int, default=1, help=">1: that many behind nginx")
        p.add_argument("--env", action="append", default=[], help="NAME=VALUE for the server")
        p.add_argument("--streamlit-arg", action="append", default=[],
                       help="e.g. --streamlit-arg=--server.fileWatcherType=auto")  # fmt: skip
        p.add_argument("--recording", type=Path, default=RECORDING)
        p.add_argument("--explorers", type=int, default=0)
        p.add_argument("--period", type=float, default=3.0, help="s between a drawer's strokes")
        p.add_argument("--duration", type=float, default=30.0, help="s measured per level")
        p.add_argument("--warmup", type=float, default=5.0, help="s before measuring")
        p.add_argument("--train-epochs", type=int, default=200)
        p.add_argument("--explore-period", type=float, default=15.0)
        if name == "run":
            p.add_argument("--drawers", type=int, default=10)
            p.add_argument("--trainers", type=int, default=0)
        elif name == "memory":
            p.add_argument("--visitors", type=int, default=50)
            p.add_argument("--concurrency", type=int, default=2, help="visitors at a time")
            p.add_argument("--expire-wait", type=float, default=30.0,
                           help="s to wait after the last visitor left")  # fmt: skip
            p.add_argument("--json-out")
        else:
            p.add_argument("--drawers", dest="drawers_list", default="20,40,80,120")
            p.add_argument("--trainers", dest="trainers_list", default="0,2")
            p.add_argument("--pause", type=float, default=5.0, help="s between levels")
            p.add_argument("--json-out", help="write every level's figures here")
        p.set_defaults(func=func)
    args = parser.parse_args()
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
