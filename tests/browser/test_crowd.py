"""A crowd of crafted pages against the real server (``conftest.py``), in Streamlit's own
protocol (``benchmarks/load.py``'s visitors): what one page sends stays its own problem.

No browser: websockets speaking the protocol a browser speaks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

from benchmarks import load


def _run(coro):
    with ThreadPoolExecutor(1) as pool:  # Playwright's fixtures may run a loop in this thread
        return pool.submit(asyncio.run, coro).result()


async def _closed_with(url: str, payload: bytes, times: int = 1) -> int | None:
    """Open the page's websocket, send ``payload`` as one message ``times`` times: the close
    code the server answers with (1006: closed without one; None: it stayed open)."""
    ws = await connect(
        f"ws://{urlparse(url).netloc}/_stcore/stream",
        subprotocols=[Subprotocol("streamlit")],
        origin=Origin(url),
        max_size=None,
        compression=None,
        ping_interval=None,
    )
    try:
        for _ in range(times):
            await ws.send(payload)
        async with asyncio.timeout(5):  # (a page that stays open is waited for this long)
            async for _ in ws:  # the server's answers, until it closes
                pass
    except ConnectionClosed:
        pass
    except TimeoutError:
        await ws.close()
        return None
    return ws.close_code


def test_a_message_over_the_limits_closes_its_own_connection_only(server):
    """Streamlit's defaults take a message of up to 25 MB from a page, and hold up to
    200 MB of one before looking at it (measured: a page's 20 MB of JSON kept 57-500 MB
    in its session; four 150 MB messages took the server 540 MB up). With the app's
    config, 1 MB: the sender's connection is closed (1009: too big), a message under it
    is taken, and the other pages are answered as before."""
    rec = load.Recording.load()

    async def go():
        stats = load.Stats()
        honest = load.Visitor(0, server.url, rec, stats)
        await honest.open()
        assert await honest.stroke(0) is not None, stats.errors
        crafted = load._parse_back(
            load._for_url(rec.messages["stroke"][0], server.url, honest.ids, honest.page_hash)
        )
        (canvas,) = [w for w in crafted.rerun_script.widget_states.widgets
                     if w.id.endswith(load.CANVAS_SUFFIX)]  # fmt: skip
        sizes = {}
        for mb in (0.9, 1.5):
            canvas.json_value = json.dumps({"drawing": {"raw": {}, "data": "x" * int(mb * 1e6)}})
            sizes[mb] = await _closed_with(server.url, crafted.SerializeToString())
        not_a_message = await _closed_with(server.url, os.urandom(5_000_000))
        answered = await honest.stroke(1)
        await honest.close()
        return sizes, not_a_message, answered, stats.errors

    sizes, not_a_message, answered, errors = _run(go())
    assert sizes == {0.9: None, 1.5: 1009}  # server.maxWidgetStateSize and maxMessageSize
    assert not_a_message == 1009  # closed before the server holds more than 1 MB of it
    assert answered is not None and not errors, errors


class _Page(load.Visitor):
    """A simulated page that also keeps the alerts and the metrics it was sent."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.alerts: list[str] = []
        self.metrics: list[str] = []

    def _delta(self, delta) -> None:
        super()._delta(delta)
        if delta.WhichOneof("type") == "new_element":
            el = delta.new_element
            if el.WhichOneof("type") == "alert":
                self.alerts.append(el.alert.body)
            elif el.WhichOneof("type") == "metric":
                self.metrics.append(el.metric.label)

    async def open(self) -> float:
        try:
            return await super().open()
        except ConnectionClosed:  # closed by the server before the page's first message
            self.stats.errors.append(f"visitor {self.n}: closed as it opened")
            return 0.0

    async def close(self) -> None:
        with contextlib.suppress(ConnectionClosed):  # closed by the server as it opened
            await super().close()

    async def rerun(self) -> None:
        """What Try again sends: run the page again."""
        self.alerts.clear()
        self.metrics.clear()
        msg = load._messages()[0]()
        msg.rerun_script.context_info.url = self.url + "/"
        msg.rerun_script.page_script_hash = self.page_hash
        await self._run(msg.SerializeToString())


@pytest.mark.slow
def test_a_full_server_keeps_the_visitors_it_has_and_lets_the_next_in_once_one_leaves(tmp_path):
    """With DIGITNET_MAX_SESSIONS=2: two pages have the app, the next one is asked to come
    back in a minute (and holds nothing of the app), more connections (over 1.5 × 2) are
    closed as they open; once a visitor has left (their session closed a TTL later), the
    waiting page gets the app."""
    from benchmarks.app_check import Server

    srv = Server(tmp_path / "streamlit.log",
                 env={"DIGITNET_MAX_SESSIONS": "2", "DIGITNET_SESSION_TTL_S": "1"})  # fmt: skip
    rec = load.Recording.load()

    async def go():
        stats = load.Stats()
        pages = [_Page(i, srv.url, rec, stats) for i in range(5)]
        for page in pages:
            await page.open()
        seen = [(p.metrics[:1], p.alerts[:1]) for p in pages]
        assert await pages[1].stroke(0) is not None  # the app answers its visitors
        errors = list(stats.errors)
        await pages[0].close()  # a visitor leaves: their place is free once they are gone
        for _ in range(40):
            await asyncio.sleep(1)
            await pages[2].rerun()
            if pages[2].metrics:
                break
        let_in = pages[2].metrics[:1]
        for page in pages[1:]:
            await page.close()
        return seen, errors, let_in

    try:
        seen, errors, let_in = _run(go())
    finally:
        srv.stop()
    for metrics, alerts in seen[:2]:  # the app, and its invitation to draw
        assert metrics == ["Prediction"] and alerts[0].startswith("Draw a digit"), alerts
    metrics, alerts = seen[2]  # waiting: one sentence, no app
    assert not metrics and alerts and alerts[0].startswith("The server is full: 2 visitors")
    assert seen[3:] == [([], [])] * 2  # closed as they opened
    assert {e.split(":")[0] for e in errors} == {"visitor 3", "visitor 4"}, errors
    assert let_in == ["Prediction"]


def test_a_page_sending_more_messages_than_a_browser_would_is_disconnected(server):
    """Every message is handled on the server's one event loop: a crafted page sending them
    as fast as it could took a whole core (benchmarks/hostile.py explore-rerun-flood-max:
    1.04 cores, another visitor's stroke then answered in 1.2 s). Over
    streamlit_fixes.MESSAGES_PER_S (100) in a second, it is disconnected; other pages are
    answered as before."""
    rec = load.Recording.load()

    async def go():
        stats = load.Stats()
        honest = load.Visitor(0, server.url, rec, stats)
        await honest.open()
        rerun = load._for_url(rec.messages["draw_tab"][0], server.url, honest.ids,
                              honest.page_hash)  # fmt: skip
        browser_like = await _closed_with(server.url, rerun, times=10)
        flood = await _closed_with(server.url, rerun, times=300)
        answered = await honest.stroke(0)
        await honest.close()
        return browser_like, flood, answered, stats.errors

    browser_like, flood, answered, errors = _run(go())
    assert browser_like is None  # ten messages at once: taken
    assert flood is not None  # three hundred: disconnected
    assert answered is not None and not errors, errors
