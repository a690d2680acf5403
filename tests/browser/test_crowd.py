"""A crowd of crafted pages against the real server (``conftest.py``), in Streamlit's own
protocol (``benchmarks/load.py``'s visitors): what one page sends stays its own problem.

No browser: websockets speaking the protocol a browser speaks.
"""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

from benchmarks import load


def _run(coro):
    with ThreadPoolExecutor(1) as pool:  # Playwright's fixtures may run a loop in this thread
        return pool.submit(asyncio.run, coro).result()


async def _closed_with(url: str, payload: bytes) -> int | None:
    """Open the page's websocket, send ``payload`` as one message: the close code the
    server answers with (None: the connection stayed open)."""
    ws = await connect(
        f"ws://{urlparse(url).netloc}/_stcore/stream",
        subprotocols=[Subprotocol("streamlit")],
        origin=Origin(url),
        max_size=None,
        compression=None,
        ping_interval=None,
    )
    try:
        await ws.send(payload)
        async with asyncio.timeout(20):
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
    config: 2 MB and 4 MB; the sender's connection is closed (1009: too big), and the
    other pages are answered as before."""
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
        canvas.json_value = json.dumps(
            {"drawing": {"raw": {"objects": []}, "data": "x" * 3_000_000}}
        )
        over_widget_limit = await _closed_with(server.url, crafted.SerializeToString())
        over_message_limit = await _closed_with(server.url, os.urandom(5_000_000))
        answered = await honest.stroke(1)
        await honest.close()
        return over_widget_limit, over_message_limit, answered, stats.errors

    over_widget_limit, over_message_limit, answered, errors = _run(go())
    assert over_widget_limit == 1009  # Streamlit's own check, at server.maxWidgetStateSize
    assert over_message_limit == 1009  # the websocket's, at server.maxMessageSize
    assert answered is not None and not errors, errors
