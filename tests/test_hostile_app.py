"""Hostile visitors (issue 13, items 2, 3, 4, 7, 8): a crafted canvas message, settings
that would take gigabytes, a run that would hold a slot for hours, evaluations outside
any cap, and a model whose outputs are NaN: each bounded, each one clear message."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
import tracemalloc

import numpy as np
import pytest
from app_support import (
    LEAD_IN_ONE,
    ONE,
    canvas_value,
    metric,
    run_crafted,
    start_fast,
    tiny_training_data,
    wait,
)
from craft import png_header_only
from PIL import Image

from digitnet import budget
from digitnet.app import jobs, link, models, state, streamlit_fixes, teach
from digitnet.evaluate import evaluate
from digitnet.model import MLP
from digitnet.preprocess import CanvasError, read_canvas_png
from digitnet.weights import load_model, model_bytes


def png(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, "PNG")
    return buf.getvalue()


# ---------------------------------------------------------------- item 2: the canvas
def test_a_canvas_picture_of_another_size_is_refused_before_decoding():
    tracemalloc.start()
    try:
        for side in (12_000, 20_000, 560, 279):  # 560: a device-scaled canvas is never sent
            with pytest.raises(CanvasError, match=f"is {side}×{side} pixels, not the canvas's"):
                read_canvas_png(png_header_only(side, side))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2e6  # nothing was decoded (12000² RGBA would be 576 MB)


def test_the_canvas_picture_is_read_as_sent():
    drawing = np.zeros((280, 280, 4), np.uint8)
    drawing[40:240, 130:150] = 255
    np.testing.assert_array_equal(read_canvas_png(png(drawing)), drawing)
    grey = np.zeros((280, 280), np.uint8)  # any PNG mode of the right size
    assert read_canvas_png(png(grey)).shape == (280, 280, 4)


@pytest.mark.parametrize(
    "data,message",
    [
        (b"GIF89a" + b"\0" * 40, "not a PNG"),
        (b"", "not a PNG"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 2_000_000, "too large"),
        (png_header_only(280, 280).replace(b"IDAT", b"IDAT\xff\xff"), "cannot be read"),
    ],
)
def test_what_is_not_the_canvas_picture_is_one_clear_error(data, message):
    with pytest.raises(CanvasError, match=message):
        read_canvas_png(data)


def test_the_draw_tab_quietly_refuses_a_crafted_canvas_message(apps):
    at = apps()
    url = "data:image/png;base64," + base64.b64encode(png_header_only(12_000, 12_000)).decode()
    at.session_state["canvas"] = {**canvas_value(ONE), "drawing": {
        "raw": {"objects": [{"type": "path"}]}, "data": url}}  # fmt: skip
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at).value == "–"  # nothing read: nothing answered
    assert any("This drawing could not be read" in c.value for c in at.caption)
    at.session_state["canvas"] = canvas_value(ONE)  # the next honest stroke is read again
    at.run()
    assert metric(at).value == "1"


_URL = canvas_value(ONE)["drawing"]["data"]


@pytest.mark.parametrize(
    "value",
    [
        {"drawing": "x"},
        {"drawing": [1, 2]},
        {"drawing": {"raw": [1], "data": _URL}},
        {"drawing": {"raw": [{"type": "path"}], "data": _URL}},
        {"drawing": {"raw": "abc", "data": _URL}},
        {"drawing": {"raw": {"objects": "abc"}, "data": _URL}},
        {"drawing": {"raw": {"objects": [1, 2]}, "data": _URL}},
        {"drawing": {"raw": {"objects": [{"type": "path"}] * 1001}, "data": _URL}},
        {"drawing": {"raw": {"objects": [{}]}, "data": "data:image/png,abc"}},
        {"drawing": {"raw": {"objects": [{}]}, "data": "data:image/png;base64,!!!*"}},
        {"drawing": {"raw": {"objects": [{}]}, "data": 5}},
        {**canvas_value(ONE), "backgroundFit": {"x": 1}},
        {**canvas_value(ONE), "backgroundFit": "x"},
    ],
    ids=[
        "drawing-text",
        "drawing-list",
        "raw-list",
        "raw-list-of-strokes",
        "raw-text",
        "objects-text",
        "objects-numbers",
        "1001-strokes",
        "url-not-base64",
        "bad-base64",
        "url-number",
        "fit-missing-keys",
        "fit-text",
    ],
)
def test_a_canvas_message_of_any_shape_is_one_quiet_sentence(apps, value):
    """Whatever arrives in the canvas's place (a crafted websocket message), the Draw tab
    says in one sentence that it was not read, answers nothing, and reads the next stroke."""
    at = apps()
    at.session_state["canvas"] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at).value == "–"
    said = [c.value for c in at.caption if "not a drawing" in c.value or "could not be" in c.value]
    assert len(said) == 1, [c.value for c in at.caption]
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    assert not at.exception
    assert metric(at).value == "1"


@pytest.mark.parametrize(
    ("tab", "key", "value"),
    [
        ("Train", "hp_fast_epochs", {"double_value": float("nan")}),  # a whole number
        ("Train", "hp_fast_batch_size", {"double_value": float("inf")}),
        ("Train", "hp_fast_eta", {"string_value": "fast"}),  # a number
        ("Train", "preset", {"string_value": "evil"}),  # a segmented control
        ("Train", "hp_fast_activation", {"string_value": "x" * 100_000}),  # a select box
        ("Draw", "lang_switch", {"int_value": 2**62}),
        ("Draw", "pen", {"double_value": 1e308}),  # a slider: a list of numbers
        ("Draw", "undo", {"json_value": "{not json"}),  # a button
        ("Draw", "clear", {"json_value": "[" * 5000 + "]" * 5000}),  # RecursionError
        ("Draw", "source_picker_0", {"string_value": "evil"}),  # a radio
        ("Draw", "upload_0", {"bool_value": True}),  # a file uploader
    ],
    ids=lambda v: v if isinstance(v, str) else next(iter(v)) if isinstance(v, dict) else None,
)
def test_a_crafted_widget_value_of_any_type_is_read_as_the_default(apps, tab, key, value):
    """A websocket message can give any widget a value of any type. Streamlit 1.67 raised
    on these before the script ran (digitnet/app/streamlit_fixes.py); now the page
    stays the app's, and the next honest stroke is read."""
    at = apps(tab)
    run_crafted(at, key, **value)
    assert not at.exception, [e.value for e in at.exception]
    at.run()  # and again: nothing stuck in the session
    assert not at.exception, [e.value for e in at.exception]
    at.session_state["tab"] = "Draw"
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at).value == "1"


def _parsed_bytes(text: str) -> int:
    """What ``json.loads(text)`` keeps, measured."""
    tracemalloc.start()
    try:
        value = json.loads(text)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del value
    return held


_POINT = '["Q", 139.9375, 139.5066, 140.0625, 140.2012]'
_STROKE = json.dumps({"type": "Path", "version": "7.4.0", "left": 139.9, "top": 139.5,
                      "stroke": "#FFFFFF", "strokeWidth": 18, "path": ["PATH"]})  # fmt: skip


@pytest.mark.parametrize(
    "text",
    [
        "[" + ",".join(["{}"] * 100_000) + "]",
        "[" + ",".join(["[]"] * 100_000) + "]",
        "[" + ",".join(["1.5"] * 100_000) + "]",
        "[" + ",".join(["123456"] * 100_000) + "]",
        "[" + ",".join(['"abcdef"'] * 100_000) + "]",
        "[" + ",".join(['"\\ud83d\\ude00"'] * 100_000) + "]",  # one emoji a string
        "{" + ",".join(f'"k{i}":1' for i in range(100_000)) + "}",
        "[" + ",".join([_STROKE.replace('"PATH"', ",".join([_POINT] * 145))] * 50) + "]",
    ],
    ids=["objects", "arrays", "floats", "ints", "strings", "emoji", "keys", "strokes"],
)
def test_a_json_values_cost_is_estimated_above_what_reading_it_takes(text):
    """streamlit_fixes decides whether to read a widget's JSON before reading it: its
    estimate must never be below what json.loads then keeps (else a crafted shape that
    the estimate underrates would slip through)."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    estimate = streamlit_fixes.value_cost(WidgetState(id="w", json_value=text))
    assert estimate >= _parsed_bytes(text), (estimate, _parsed_bytes(text))
    assert estimate < 4 * _parsed_bytes(text) + 2**16  # and not wildly above it


def test_a_canvas_value_too_large_once_read_is_not_read(apps):
    """A crafted canvas message of 0.9 MB of empty JSON objects took 22 MB once Streamlit
    had read it, and stayed in the session (20 MB messages: 500 MB a session on a real
    server). Now its cost is estimated first: not read, one sentence, the next stroke read."""
    at = apps()
    crafted = '{"drawing": {"raw": {"objects": [' + ",".join(["{}"] * 300_000) + "]}}}"
    tracemalloc.start()
    try:
        run_crafted(at, "canvas", json_value=crafted)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert not at.exception, [e.value for e in at.exception]
    assert peak < 8e6, peak  # the message itself (0.9 MB) and the page, never 22 MB of dicts
    assert metric(at).value == "–"
    said = [c.value for c in at.caption if "too large to read" in c.value]
    assert len(said) == 1, [c.value for c in at.caption]
    assert at.session_state["canvas"]["drawing"]["raw"]["objects"] == []  # nothing kept
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    assert metric(at).value == "1"


def test_a_large_drawing_waits_while_the_server_is_short_of_memory(apps, monkeypatch):
    """An honest drawing is read whatever the server's memory (about 0.1 MB once read); a
    value above SMALL_VALUE_BYTES only while it fits the server's budget."""
    from digitnet.app import memory

    at = apps()
    honest = canvas_value(ONE)
    long_stroke = {**json.loads(_STROKE), "path": [json.loads(_POINT)] * 145}
    honest["drawing"]["raw"]["objects"] = [long_stroke] * 20  # 20 long strokes: 0.6 MB read
    text = json.dumps(honest)
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    cost = streamlit_fixes.value_cost(WidgetState(id="x-canvas", json_value=text))
    assert streamlit_fixes.SMALL_VALUE_BYTES < cost < streamlit_fixes.CANVAS_VALUE_BYTES
    monkeypatch.setenv(memory.SERVER_MEMORY_ENV, "600")
    monkeypatch.setattr(memory, "rss_mb", lambda: 599.0)
    run_crafted(at, "canvas", json_value=text)
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at).value == "–"
    assert any("short of memory" in c.value for c in at.caption), [c.value for c in at.caption]
    run_crafted(at, "canvas", json_value=json.dumps(canvas_value(ONE)))  # a small one: read
    assert metric(at).value == "1"
    monkeypatch.setattr(memory, "rss_mb", lambda: 300.0)  # room again: the large one is read
    run_crafted(at, "canvas", json_value=text)
    assert metric(at).value == "1"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("compare", {"int_array_value": [0] * 1_000_000}),  # 1 MB: 8 MB of list once read
        ("explore_confusion_0", {"json_value": "[" + ",".join(["[]"] * 100_000) + "]"}),
        ("hp_fast_hidden", {"string_value": "1" * 1_000_000}),
    ],
    ids=["multiselect", "chart-selection", "text"],
)
def test_any_widgets_value_too_large_once_read_is_refused_before_it_is_read(key, value):
    """Any other widget's value is bounded by WIDGET_VALUE_BYTES before it is read."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    state_ = WidgetState(id=key)
    for field, v in value.items():
        getattr(state_, field).data.extend(v) if field.endswith("_array_value") else setattr(
            state_, field, v
        )
    assert streamlit_fixes.refusal(state_) == "size"


def test_drawings_sent_faster_than_a_hand_draws_wait_their_turn(apps):
    """A crafted page can send drawings as fast as the server answers; the Draw panel runs
    at most once per MIN_RUN_INTERVAL_S per visitor (benchmarks: a flooding visitor took
    0.45 of a core before, 0.2 after), and still answers the latest drawing."""
    from digitnet.app import draw

    at = apps()
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    first = at.session_state[state.DRAW_RUN_KEY]
    at.session_state["canvas"] = canvas_value(LEAD_IN_ONE)  # at once, as a flood does
    at.run()
    assert not at.exception
    assert at.session_state[state.DRAW_RUN_KEY] - first >= draw.MIN_RUN_INTERVAL_S
    assert metric(at).value in ("1", "7")  # answered all the same


def test_a_flood_of_download_requests_makes_a_weights_file_once(monkeypatch):
    """A page can ask for a download button's bytes again and again (a deferred-file request
    needs only the button's id; Streamlit runs the callable for each, on up to six threads).
    On main each request made the .npz anew, 0.4 s of a core each for the shipped network:
    one visitor could keep both cores busy. Now each model's file is made once."""
    made = []
    real = models.model_bytes
    monkeypatch.setattr(models, "model_bytes", lambda *a, **k: made.append(a[0]) or real(*a, **k))
    model = MLP(hidden=16).initialize()
    files: list[bytes] = []
    flood = [
        threading.Thread(target=lambda: files.append(models.weights_file(model, models.SHIPPED)))
        for _ in range(12)
    ]
    for thread in flood:
        thread.start()
    for thread in flood:
        thread.join(30)
    assert len(files) == 12 and len(set(files)) == 1 and made == [model]
    assert load_model(io.BytesIO(files[0])).metadata_["app_source"] == models.SHIPPED
    other = MLP(hidden=16).initialize()  # another network (a new epoch's copy): its own file
    assert models.weights_file(other, models.TRAINED) != files[0] and made == [model, other]
    assert models.weights_file(model, models.SHIPPED) == files[0] and len(made) == 2


def test_a_download_flood_during_training_makes_a_file_every_few_seconds(monkeypatch):
    """While a run trains, a new copy of its network is published every half second: a
    page asking for the trained weights' bytes again and again had one made for every
    copy (up to about one core). Now a button's file is made again only after
    DOWNLOAD_FRESH_S; the first click after that has the latest copy."""
    from types import SimpleNamespace

    from digitnet.app import draw

    made: list[MLP] = []
    monkeypatch.setattr(models, "weights_file", lambda model, source: made.append(model) or b"")

    class Training:
        def published(self):
            return SimpleNamespace(model=MLP(hidden=8))  # a new copy each time

    monkeypatch.setattr(state, "job", Training)
    make = draw._weights_later(state.Answerer(MLP(hidden=8), models.TRAINED, "your run"))
    for _ in range(20):
        make()
    assert len(made) == 1
    monkeypatch.setattr(draw, "DOWNLOAD_FRESH_S", 0.0)
    make()
    assert len(made) == 2 and made[1] is not made[0]  # the latest copy


def test_uploads_a_page_never_asked_for_are_bounded(monkeypatch):
    """Streamlit keeps every file a session PUTs to its upload address (any file id, each
    up to 20 MB) in memory until the session closes, whether or not a widget asks for it:
    on main a script sending files in a loop filled the server. Now a session keeps its
    newest upload, and all sessions' uploads together stay under SERVER_UPLOAD_BYTES (of one
    more, only its name is kept, for the page to say why) while everyone else's files stay."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    streamlit_fixes.apply()
    uploads = MemoryUploadedFileManager("/_stcore/upload_file")

    def put(session: str, file_id: str, n_bytes: int = 2**20) -> None:
        uploads.add_file(session, UploadedFileRec(file_id, "m.npz", "x", b"\0" * n_bytes))

    def held() -> int:
        return sum(s.byte_length for stats in uploads.get_stats().values() for s in stats)

    for i in range(30):
        put("crafty", f"f{i}")
    assert [f.file_id for f in uploads.get_files("crafty", [f"f{i}" for i in range(30)])] == ["f29"]
    assert held() == 2**20
    monkeypatch.setattr(streamlit_fixes, "SERVER_UPLOAD_BYTES", 3 * 2**20)
    put("honest", "a")
    put("crafty", "f30", 2 * 2**20)  # replaces f29: 3 MB in all
    put("third", "b")
    (refused,) = uploads.get_files("third", ["b"])
    assert refused.name == "m.npz" and refused.data == b""
    assert refused.type == streamlit_fixes.SERVER_FULL_TYPE
    assert held() == 3 * 2**20
    assert [f.file_id for f in uploads.get_files("honest", ["a"])] == ["a"]
    uploads.remove_session_files("crafty")  # the crafty page closes: room again
    put("third", "b")
    assert held() == 2 * 2**20 and uploads.get_files("third", ["b"])[0].type == "x"


def test_a_good_uploads_bytes_are_given_back_once_read(apps, monkeypatch):
    """Streamlit keeps an upload's bytes (up to 20 MB) until the page closes, and they count
    in every page's 100 MB together: five visitors' good uploads held them all, and nobody
    else could upload. Once the network is read, the bytes are given back."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    released: list[str] = []
    remove = MemoryUploadedFileManager.remove_file
    monkeypatch.setattr(MemoryUploadedFileManager, "remove_file",
                        lambda self, session, file_id: released.append(file_id)
                        or remove(self, session, file_id))  # fmt: skip
    at = apps()
    data = model_bytes(MLP(hidden=8).initialize())
    at.file_uploader(key="upload_0").set_value(("bad.npz", b"PK not weights", "x")).run()
    assert not at.exception and at.error and not released  # refused: shown in its uploader
    at.file_uploader(key="upload_0").set_value(("mine.npz", data, "x")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Uploaded: mine.npz" in c.value for c in at.caption)
    assert len(released) == 1
    assert at.session_state[state.UPLOADED_KEY][1].layer_sizes == (784, 8, 10)


@pytest.mark.parametrize(
    ("locale", "said"),
    [("en-US", "too many visitors' uploads"), ("ja-JP", "アップロードを多く抱えている")],
)
def test_an_upload_over_the_servers_uploads_is_refused_in_the_apps_words(apps, locale, said):
    """Over the server's uploads (SERVER_UPLOAD_BYTES), an upload keeps no bytes. It was an
    HTTP 503, shown by Streamlit's uploader as "AxiosError: Request failed with status code
    503"; now the page says why, in its language, and the next upload is read."""
    at = apps(locale=locale)
    at.file_uploader(key="upload_0").set_value(("mine.npz", b"", streamlit_fixes.SERVER_FULL_TYPE))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    assert said in error.value and state.UPLOADED_KEY not in at.session_state
    data = model_bytes(MLP(hidden=8).initialize())
    at.file_uploader(key="upload_0").set_value(("mine.npz", data, "x")).run()
    assert not at.error and at.session_state[state.UPLOADED_KEY][1].layer_sizes == (784, 8, 10)


def test_uploads_are_read_one_at_a_time_server_wide(monkeypatch):
    """Reading an upload can take about 90 MB for a moment (a crafted file's metadata: 4
    million characters of empty JSON objects, parsed before its schema refuses it). On
    main every visitor's upload was read at once: five would take the smallest host over
    its memory. Now they take turns."""
    inside, overlap = [0], [0]
    real = models.load_model

    def counting(*a, **k):
        inside[0] += 1
        overlap[0] = max(overlap[0], inside[0])
        time.sleep(0.1)
        try:
            return real(*a, **k)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(models, "load_model", counting)
    data = model_bytes(MLP(hidden=8).initialize())
    loaded: list[MLP] = []
    visitors = [
        threading.Thread(target=lambda i=i: loaded.append(
            models.load_upload(io.BytesIO(data), f"m{i}.npz")))
        for i in range(4)
    ]  # fmt: skip
    for visitor in visitors:
        visitor.start()
    for visitor in visitors:
        visitor.join(30)
    assert len(loaded) == 4 and overlap[0] == 1 and models.READING.in_use() == 0


def test_an_upload_that_waits_too_long_for_its_turn_says_so(monkeypatch):
    from streamlit.testing.v1 import AppTest

    def page():
        import io

        import streamlit as st

        from digitnet.app import draw, state
        from digitnet.app.i18n import setup

        setup()
        file = io.BytesIO(b"PK")
        file.name = "late.npz"
        st.session_state["upload_7"] = file
        draw._on_upload("upload_7")
        st.error(str(st.session_state[state.UPLOAD_ERROR_KEY]))

    monkeypatch.setattr(models, "UPLOAD_WAIT_S", 0.1)
    assert models.READING.acquire("someone", timeout=1)
    try:
        at = AppTest.from_function(page).run()
    finally:
        models.READING.release("someone")
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    assert error.value.startswith("This server is busy reading other visitors' weights files")


def test_train_settings_sent_faster_than_a_hand_types_wait_their_turn(apps, monkeypatch):
    """The Train tab's panel is a fragment: its widgets rerun it alone, outside the Draw
    panel's pace. A crafted page sending changes as fast as the server answers had it run
    back to back (about 45 ms of CPU each with two finished runs to compare: a core, holding
    the GIL). It keeps the same pace now, whatever the Draw panel does."""
    from digitnet.app import draw, train_view

    at = apps("Train")
    monkeypatch.setattr(draw, "MIN_RUN_INTERVAL_S", 0.0)  # the Draw panel no longer waits
    first = at.session_state[state.TRAIN_RUN_KEY]
    at.number_input(key="hp_fast_eta").set_value(0.002).run()  # at once, as a flood does
    assert not at.exception
    assert at.session_state[state.TRAIN_RUN_KEY] - first >= train_view.MIN_RUN_INTERVAL_S > 0
    assert at.number_input(key="hp_fast_eta").value == 0.002  # and the change is read


# ---------------------------------------------------------------- item 3: the budget
def test_the_train_tab_refuses_settings_over_the_budget_with_the_figure(apps):
    at = apps("Train")
    at.text_input(key="hp_fast_hidden").set_value("3000").run()
    at.number_input(key="hp_fast_batch_size").set_value(60_000).run()
    at.selectbox(key="hp_fast_precision").set_value("float64").run()
    (error,) = at.error
    assert "would take about" in error.value and "GB of memory at its peak" in error.value
    assert "more than the 160 MB allowed per run (DIGITNET_RUN_MEMORY_MB)" in error.value
    assert at.button(key="start").disabled is True
    at.number_input(key="hp_fast_batch_size").set_value(100).run()
    at.selectbox(key="hp_fast_precision").set_value("float32").run()
    assert not at.error and at.button(key="start").disabled is False


@pytest.mark.parametrize("text", ["x" * 200_000, "9" * 4000, "1," * 30_000])
def test_a_crafted_hidden_layers_text_is_cut_to_the_inputs_length(apps, text):
    """The hidden layers' text input is free text: a crafted message can send megabytes.
    On main all of it came back in the error (and into the page's address, each rerun):
    200,000 characters of "Cannot train this network: ... got 'xxx…'"."""
    at = apps("Train")
    default = at.text_input(key="hp_fast_hidden").value
    run_crafted(at, "hp_fast_hidden", string_value=text)
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.query_params.get("hidden", [""])[-1]) <= link.MAX_TEXT
    if len(text) > streamlit_fixes.WIDGET_VALUE_BYTES:  # not even read (streamlit_fixes)
        assert not at.error and at.text_input(key="hp_fast_hidden").value == default
    else:  # read, and cut by Streamlit to the input's max_chars
        (error,) = at.error
        assert error.value.startswith("Cannot train this network") and len(error.value) < 300
        assert at.button(key="start").disabled is True
    at.text_input(key="hp_fast_hidden").set_value("64, 32").run()  # an honest edit: read
    assert not at.error and at.button(key="start").disabled is False


def test_a_run_stops_for_good_at_its_wall_clock_budget(new_jobs, tiny_data):
    slots = jobs.Slots(1)
    job = new_jobs(slots, time_limit=0.3)
    model = MLP(hidden=16, epochs=10_000, batch_size=50)
    job.start(model, tiny_training_data(tiny_data), preset="fast", label="forever")
    deadline = time.monotonic() + 30
    while job.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    s = job.snapshot()
    assert s.state == "timeout" and not s.can_resume and not s.active
    assert "limit of 0.3 s of training per run (DIGITNET_RUN_MINUTES)" in s.message
    assert job.published() is not None and 0 < s.epoch < 10_000  # its network is kept
    assert slots.in_use() == 0
    job.resume()  # no effect: the budget is spent
    assert not job.is_alive() and job.snapshot().state == "timeout"


def test_the_wall_clock_budget_counts_resumes_but_not_waiting(new_jobs, tiny_data):
    slots = jobs.Slots(1)
    blocker = new_jobs(slots, "blocker", time_limit=0.4)
    blocker.start(MLP(hidden=8, epochs=10_000), tiny_training_data(tiny_data), preset="fast",
                  label="a")  # fmt: skip
    deadline = time.monotonic() + 30  # its thread takes the slot first, not the waiter's
    while blocker.snapshot().state != "running" and time.monotonic() < deadline:
        time.sleep(0.01)
    job = new_jobs(slots, "waiter", time_limit=0.6)
    job.start(MLP(hidden=8, epochs=10_000), tiny_training_data(tiny_data), preset="fast",
              label="b")  # fmt: skip
    time.sleep(0.2)
    assert job.snapshot().state == "waiting"
    for j in (blocker, job):
        deadline = time.monotonic() + 30
        while j.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert blocker.snapshot().state == job.snapshot().state == "timeout"
    assert job.snapshot().elapsed >= 0.3  # it trained after its wait, not during it


# ---------------------------------------------------------------- item 4: evaluations
def test_evaluating_a_wide_network_stays_within_its_chunk_budget(monkeypatch):
    """On main, evaluate() prepared every image at once and ran 4096 rows through every
    layer: the audit's upload took +422 MB. Now a chunk's inputs and activations take at
    most budget.EVAL_BYTES (64 MB; 8 MB here, to keep the test small)."""
    monkeypatch.setattr(budget, "EVAL_BYTES", 8_000_000)
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (1500, 784), dtype=np.uint8), rng.integers(0, 10, 1500)
    model = MLP(hidden=1000, precision="float64").initialize()
    assert budget.eval_rows(model.layer_sizes, 8) < 500  # four chunks or more
    tracemalloc.start()
    try:
        r = evaluate(model, X, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    outputs = 1500 * 10 * 8 * 4  # the probabilities, their chunks, predictions
    assert peak < budget.EVAL_BYTES + outputs + 1e6, f"{peak / 1e6:.1f} MB"
    np.testing.assert_allclose(r["probabilities"], model.predict_proba(X))


@pytest.fixture
def tiny_mnist_in_the_app(monkeypatch, tiny_data):
    """The app's MNIST replaced by a small synthetic set (no download, no full MNIST)."""
    data = tiny_training_data(tiny_data)
    monkeypatch.setattr(state, "training_data", lambda progress: data)
    monkeypatch.setattr(state, "test_data", lambda progress: (data.X_test, data.y_test))
    monkeypatch.setattr(state, "_mnist_test", lambda: (data.X_test, data.y_test))
    return data


def _upload(at, model, name="mine.npz"):
    at.session_state[state.UPLOADED_KEY] = (name, model)
    at.session_state[state.SOURCE_KEY] = models.UPLOADED


def test_explore_waits_politely_when_the_evaluations_are_busy(
    apps, tiny_mnist_in_the_app, monkeypatch, tiny_data
):
    monkeypatch.setattr(state, "EVALUATION_WAIT_S", 0.2)
    model = MLP(hidden=24, epochs=1).fit(*tiny_data)
    model.weights_[0][0, 0] += np.random.default_rng().random()  # evaluated by no one yet
    at = apps("Draw")  # (Explore would evaluate the shipped model on the tiny test set,
    _upload(at, model)  # and leave that in the server-wide cache for other tests)
    at.session_state["tab"] = "Explore"
    slots = state.evaluation_slots()
    held = [slots.acquire(f"someone-{i}", timeout=1) for i in range(slots.n)]
    try:
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("busy reading the test digits" in i.value for i in at.info)
    finally:
        for i, ok in enumerate(held):
            if ok:
                slots.release(f"someone-{i}")
    at.button(key="evaluation_retry").click().run()
    assert not at.exception and not any("busy" in i.value for i in at.info)
    assert any("test digits read right" in c.value for c in at.caption)


def test_evaluations_take_turns_server_wide(monkeypatch, tiny_data):
    """Two visitors' uploads evaluated at once: the second waits for the first."""
    X, y = tiny_data
    slots = jobs.Slots(1)
    monkeypatch.setattr(state, "evaluation_slots", lambda: slots)
    monkeypatch.setattr(state, "_mnist_test", lambda: (X, y))
    inside, overlap = [0], [0]
    real = state.evaluate

    def counting(*a):
        inside[0] += 1
        overlap[0] = max(overlap[0], inside[0])
        time.sleep(0.2)
        try:
            return real(*a)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(state, "evaluate", counting)
    compute = state._evaluation.__wrapped__ if hasattr(state._evaluation, "__wrapped__") else None
    assert compute is not None
    models_ = [MLP(hidden=8 + i).initialize() for i in range(2)]
    threads = [threading.Thread(target=compute, args=(f"k{i}", m)) for i, m in enumerate(models_)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert overlap[0] == 1 and slots.in_use() == 0


# ---------------------------------------------------------------- items 7, 8: NaN outputs
def nan_model(tiny_data) -> MLP:
    """Finite weights whose outputs are NaN for ink (loading refuses them: here it is put
    straight into the session, as a model that got past every check would be)."""
    model = MLP(hidden=16, activation="relu", output="softmax", input_scaling="unit")
    model.fit(*tiny_data)
    model.weights_ = [np.full_like(W, 1e38) for W in model.weights_]
    model.weights_[-1][:, ::2] *= -1
    return model


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_the_draw_tab_does_not_answer_with_nan(apps, tiny_data):
    at = apps()
    _upload(at, nan_model(tiny_data), "nan.npz")
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert metric(at).value == "–"  # not "9?"
    assert any("outputs are NaN" in e.value for e in at.error)


def press_teach(apps, model: MLP, name: str):
    """A visitor with ``model`` uploaded and one drawing kept presses Teach."""
    at = apps()
    _upload(at, model, name)
    at.session_state[state.TEACH_EXAMPLES_KEY] = [
        teach.Example(np.zeros((28, 28), np.float32), 3, 9)
    ]
    at.run()
    at.button(key="teach").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_teach_on_a_model_that_cannot_learn_says_so(apps, tiny_mnist_in_the_app, tiny_data):
    model = nan_model(tiny_data)
    at = press_teach(apps, model, "nan.npz")
    (error,) = [e for e in at.error if "cannot be taught" in e.value]
    assert "NaN or infinite" in error.value and "smaller learning rate" not in error.value
    assert at.session_state[state.UPLOADED_KEY][1] is model  # left as it was
    assert state.TAUGHT_KEY not in at.session_state


def test_teach_refuses_a_network_too_large_to_fine_tune_here(apps, tiny_mnist_in_the_app):
    wide = MLP(hidden=3000, precision="float64", batch_size=4000).initialize()  # 19 MB
    at = press_teach(apps, wide, "wide.npz")
    (warning,) = [w for w in at.warning if "too large to teach" in w.value]
    assert "more than the 160 MB allowed per run" in warning.value
    assert state.TEACH_REPORT_KEY not in at.session_state


# ---------------------------------------------------------------- round 2: floods
def test_whole_page_runs_sent_faster_than_a_hand_clicks_wait_their_turn(apps, monkeypatch):
    """A crafted page re-sending a full run 50 times a second (Explore open) took 0.45 of a
    core (benchmarks/hostile.py explore-rerun-flood): each run got halfway before the next
    stopped it, the Draw panel's pace being only halfway down. The page now keeps its own
    pace from its first line, whatever the Draw panel does."""
    from digitnet.app import draw, main

    monkeypatch.setattr(draw, "MIN_RUN_INTERVAL_S", 0.0)
    at = apps("Explore")
    first = at.session_state[state.PAGE_RUN_KEY]
    at.run()  # at once, as a flood does
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state[state.PAGE_RUN_KEY] - first >= main.PAGE_PACE_S > 0


def test_the_live_views_choice_sent_faster_than_a_hand_clicks_waits_its_turn(
    apps, tiny_mnist_in_the_app, monkeypatch
):
    """The live view's pictures are a fragment: its choice of units reruns it alone, outside
    every other pace. It keeps the Draw panel's pace too."""
    from digitnet.app import draw, live, main, train_view

    at = apps("Train")
    job = start_fast(at, 200)
    wait(lambda: job.published() is not None)
    at.run()
    first = at.session_state[state.WATCH_RUN_KEY]
    for module in (draw, train_view):
        monkeypatch.setattr(module, "MIN_RUN_INTERVAL_S", 0.0)
    monkeypatch.setattr(main, "PAGE_PACE_S", 0.0)
    at.segmented_control(key=live.UNITS_KEY).set_value(live.CHANGED).run()
    assert not at.exception, [e.value for e in at.exception]
    assert job.snapshot().active  # (the live view was on the page)
    assert at.session_state[state.WATCH_RUN_KEY] - first >= live.MIN_RUN_INTERVAL_S > 0
    job.stop()


def test_a_models_fingerprint_is_made_once_per_model(apps, tiny_mnist_in_the_app, monkeypatch):
    """Explore fingerprints the model answering on every run (its evaluation is cached by
    it): hashing the shipped weights took 18 ms of each run. Once per model object now."""
    made = []
    real = state._model_key
    monkeypatch.setattr(state, "_model_key", lambda model: made.append(model) or real(model))
    model = MLP(hidden=24, epochs=1).initialize()
    model.weights_[0][0, 0] += np.random.default_rng().random()  # evaluated by no one yet
    at = apps("Draw")
    _upload(at, model)  # (not the shipped model: its evaluation may be cached on full MNIST)
    at.session_state["tab"] = "Explore"
    at.run()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert made == [model]
    copy = MLP(hidden=8).initialize()
    assert state.model_key(copy) == real(copy) != state.model_key(MLP(hidden=9).initialize())


def test_clicking_check_other_weights_again_and_again_checks_a_few_draws_once(
    apps, tiny_mnist_in_the_app, monkeypatch
):
    """Each "Check other weights" was a new gradient check (finite differences in float64):
    a page clicking it 50 times a second had one made every run. It draws among CHECK_DRAWS
    draws now, each checked once per model (a learner sees other weights at every click)."""
    from digitnet.app import howitworks, main

    monkeypatch.setattr(main, "PAGE_PACE_S", 0.0)
    checked = []
    real = howitworks.gradient_check

    def counting(model, *args, seed, **kwargs):
        checked.append(seed)
        return real(model, *args, seed=seed, **kwargs)

    monkeypatch.setattr(howitworks, "gradient_check", counting)
    model = MLP(hidden=12, epochs=1).initialize()
    model.weights_[0][0, 0] += np.random.default_rng().random()  # checked by no one yet
    at = apps("Draw")
    _upload(at, model)
    at.session_state["tab"] = "How it works"
    at.run()
    tables, draws = set(), 16  # howitworks.CHECK_DRAWS
    for _ in range(draws + 4):
        at.button(key="check_again").click().run()
        assert not at.exception, [e.value for e in at.exception]
        tables.add(at.dataframe[0].value.to_csv())
    assert sorted(checked) == list(range(draws))
    assert len(tables) == draws == howitworks.CHECK_DRAWS  # other weights at every click


def test_a_warning_a_page_can_have_written_per_message_is_logged_once_in_a_while():
    """A message naming a fragment that is gone has Streamlit log a line, for every message:
    a crafted page at 100 messages a second (60 of them) would write megabytes of log a
    second. The same warning now passes once in LOG_REPEAT_S; errors always."""
    import logging

    from streamlit.runtime import app_session

    streamlit_fixes.apply()
    written: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            written.append(record.getMessage())

    log = app_session._LOGGER
    keep, level = Keep(), log.level
    log.addHandler(keep)
    log.setLevel(logging.INFO)
    try:
        for i in range(1000):
            log.info("The fragment with id %s does not exist anymore - it might have been "
                     "removed during a preceding full-app rerun.", f"crafted{i}")  # fmt: skip
        log.error("An error: %s", "always written")
        log.error("An error: %s", "always written")
    finally:
        log.removeHandler(keep)
        log.setLevel(level)
    assert len(written) == 3 and written[0].endswith("preceding full-app rerun."), written[:5]
