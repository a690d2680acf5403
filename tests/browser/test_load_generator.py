"""benchmarks/load.py: simulated visitors speaking Streamlit's protocol to the real app.

The visitors replay what a real Chromium sent (``benchmarks/load_recording.json``):
drawers get answers, a trainer's simulated page keeps its live view refreshing
(the fragment timers the server asks for), an explorer opens Explore. Needs the
app's server (``conftest.py``) and MNIST for the trainer and the explorer, not a browser.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))
import load  # noqa: E402


@pytest.mark.mnist
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("DIGITNET_DATA"), reason="needs MNIST (DIGITNET_DATA)")
def test_a_small_crowd_gets_answers(server):
    rec = load.Recording.load()
    plan = load.Plan(drawers=3, trainers=1, explorers=1, period=1.0, duration=6.0, warmup=15.0,
                     train_epochs=3, explore_period=2.0)  # fmt: skip
    with ThreadPoolExecutor(1) as pool:  # Playwright's fixtures may run a loop in this thread
        out = pool.submit(asyncio.run, load.run_plan(server.url, rec, plan, pids=[])).result()
    assert out["errors"] == 0, out["error_samples"]
    # about one a second from each drawer while measured on an idle machine, but only 7 in
    # the 6 s at a load average of 15; none at all, without errors, means the server
    # ignored the recorded drawings (see _for_url: widget ids, renamed by key).
    assert out["answers"] >= 3, out
    assert out["p50_ms"] < 5000
    assert out["fragment_reruns"] > 0  # the trainer's live view asked to be refreshed
    assert out["epochs_shown"], out  # and showed the run's progress bar ("Epoch n of 3")
    assert out["explore_p50_ms"] is not None, out
    # Explore's pictures, fetched from /media as a browser does (the Draw tab's come inline)
    assert out["media_fetched"] > 0, out
    assert len(out["server_rss_mb"]) == 0  # no pid given: no process measured


def _frame(payload: bytes, mask: bytes | None) -> bytes:
    """One websocket binary frame, masked as a client sends it, or not as a server does."""
    n = len(payload)
    head = bytes([0x82])
    bit = 0x80 if mask else 0
    if n < 126:
        head += bytes([bit | n])
    elif n < 65536:
        head += bytes([bit | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([bit | 127]) + n.to_bytes(8, "big")
    if not mask:
        return head + payload
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def test_wire_clock_tells_drawings_and_answers():
    """The kernel-clock check's packet reading: a stroke, not a click; a digit, not "–"."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    rec = load.Recording.load()
    mask = b"\x12\x34\x56\x78"
    assert all(load._is_drawing(_frame(m, mask)) for m in rec.messages["stroke"])
    assert not any(load._is_drawing(_frame(m, mask)) for m in rec.messages["clear"])
    assert not load._is_drawing(_frame(rec.messages["explore"][0], mask))
    strokes = [json.loads(w.json_value) for m in rec.messages["stroke"]
               for w in load._parse_back(m).rerun_script.widget_states.widgets
               if w.id.endswith(load.CANVAS_SUFFIX)]  # fmt: skip
    assert [len(s["drawing"]["raw"]["objects"]) for s in strokes] == [1, 1, 1]
    assert all(s["drawing"]["data"].startswith("data:image/png;base64,") for s in strokes)

    def metric(body: str) -> bytes:
        msg = ForwardMsg()
        msg.delta.new_element.metric.label = "Prediction"
        msg.delta.new_element.metric.body = body
        return msg.SerializeToString()

    other = ForwardMsg()
    other.delta.new_element.markdown.body = "x" * 300
    assert load._has_answer(_frame(other.SerializeToString(), None) + _frame(metric("7"), None))
    assert not load._has_answer(_frame(metric("–"), None))


def test_a_recording_made_in_another_checkout_names_this_servers_widgets():
    """Widget ids hash the main script's path: replayed elsewhere (CI's clone), a recorded
    drawing must be renamed to the ids the server gave its widgets, by their keys."""
    rec = load.Recording.load()
    raw = rec.messages["stroke"][0]
    recorded = load._parse_back(raw).rerun_script
    keys = [load._widget_key(w.id) for w in recorded.widget_states.widgets]
    assert "canvas" in keys and all(not k.startswith("$$ID") for k in keys)
    here = {k: f"$$ID-{'0' * 32}-{k}" for k in keys}
    msg = load._parse_back(load._for_url(raw, "http://127.0.0.1:1", here, "f" * 32))
    assert msg.rerun_script.page_script_hash == "f" * 32
    assert [w.id for w in msg.rerun_script.widget_states.widgets] == list(here.values())
    # the drawing itself is untouched
    canvas = next(w for w in msg.rerun_script.widget_states.widgets if w.id.endswith("-canvas"))
    before = next(w for w in recorded.widget_states.widgets if w.id.endswith("-canvas"))
    assert canvas.json_value == before.json_value and canvas.json_value
    # a key the server has not shown yet keeps its recorded id
    partial = load._parse_back(load._for_url(raw, "http://127.0.0.1:1", {"canvas": "x"}))
    ids = [w.id for w in partial.rerun_script.widget_states.widgets]
    assert "x" in ids and len(set(ids) & {w.id for w in recorded.widget_states.widgets}) == 2
