"""What the AppTest-based tests share: drawings as the canvas sends them, and small helpers.

(Their fixtures -- the app's weights, AppTests of the app, training jobs, a small
model -- are in ``tests/conftest.py``.)
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from digitnet.app import jobs

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "streamlit_app.py")

ONE = [[(140, 40), (140, 240)]]
SEVEN = [[(70, 56), (210, 56), (126, 238)]]


def wait(cond: Callable[[], object], timeout: float = 60.0, every: float = 0.02) -> None:
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "timed out"
        time.sleep(every)


def canvas_png(lines, size=280, width=18) -> Image.Image:
    """A white-on-black RGBA drawing, as the canvas sends it; ``lines`` are polylines."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 255))
    draw = ImageDraw.Draw(img)
    for line in lines:
        draw.line(line, fill=(255, 255, 255, 255), width=width, joint="curve")
    return img


def canvas_value(lines) -> dict:
    """What the canvas component sends after a stroke: fabric JSON + a PNG data URL."""
    buf = io.BytesIO()
    canvas_png(lines).save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    objects = [{"type": "path"} for _ in lines]
    return {"drawing": {"raw": {"objects": objects}, "data": url}}


def tiny_training_data(tiny_data: tuple[np.ndarray, np.ndarray]) -> jobs.TrainingData:
    X, y = tiny_data
    return jobs.TrainingData(X[:500], y[:500], X[500:], y[500:], X[500:], y[500:])


def start_fast(at, epochs: int):
    """On the Train tab of ``at``: start ``fast`` for ``epochs`` epochs; its job."""
    at.number_input(key="hp_fast_epochs").set_value(epochs).run()
    at.button(key="start").click().run()
    return at.session_state["job"]


def two_quick_runs(at) -> None:
    """On the Train tab of ``at``: two one-epoch ``fast`` runs, 784-32-10 then 784-16-10
    ("#1 fast 32 …", "#2 fast 16 …"), each waited for to its end."""
    at.number_input(key="hp_fast_epochs").set_value(1).run()
    job = at.session_state["job"]
    for hidden in ("32", "16"):
        at.text_input(key="hp_fast_hidden").set_value(hidden).run()
        at.button(key="start").click().run()
        wait(lambda: job.snapshot().state == "done")
    at.run()


def metric(at):
    """The Draw tab's answer (the "Prediction" metric) in an AppTest."""
    (m,) = [m for m in at.metric if m.label == "Prediction"]
    return m


#: A continental "1" with a long lead-in stroke: MNIST-trained networks hesitate
#: between 1 and 7 on it.
LEAD_IN_ONE = [[(98, 84), (154, 42), (154, 238)]]


def runner_up(at) -> tuple[int, int]:
    """(the answer, the second most probable digit) for the drawing on the Draw tab."""
    from digitnet.app import models, state

    probs = models.load_shipped().predict_proba(at.session_state[state.DRAWING_KEY])[0]
    first, second = np.argsort(probs)[::-1][:2]
    return int(first), int(second)


def training_charts(at) -> list:
    """The Train tab's charts (the Draw tab's bars are always on the page too), in any
    language: the ones over the epochs."""
    return [c for c in at.get("vega_lite_chart") if '"field": "epoch"' in c.proto.spec]


def run_crafted(at, key: str, **value) -> None:
    """Rerun ``at`` as if its page had sent ``value`` (one WidgetState field, e.g.
    ``double_value=nan``) for the widget whose key is ``key`` (or whose id it is): a
    crafted websocket message, which can give any widget a value of any type."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
    from streamlit.testing.v1.element_tree import ElementTree

    honest = ElementTree.get_widget_states
    states = honest(at._tree)
    ids = [w.id for w in states.widgets] + _component_ids(at)  # AppTest omits components
    (wid,) = {i for i in ids if i == key or i.endswith(f"-{key}")}
    crafted = WidgetState(id=wid)
    for field, v in value.items():
        if field.endswith("_array_value"):
            getattr(crafted, field).data.extend(v)
        else:
            setattr(crafted, field, v)
    sent = WidgetStates(widgets=[*(w for w in states.widgets if w.id != wid), crafted])
    ElementTree.get_widget_states = lambda self: sent  # type: ignore[method-assign]
    try:
        at.run()
    finally:
        ElementTree.get_widget_states = honest  # type: ignore[method-assign]


def _component_ids(at) -> list[str]:
    """The widget ids of ``at``'s custom components (the canvas): AppTest's element tree
    does not list them, its session does."""
    session = object.__getattribute__(at._session_state, "_state")
    return [i for i in session._key_id_mapper.id_key_mapping if i.startswith("$$ID-")]


def widget_ids(at) -> list[str]:
    """The ids of the widgets on ``at``'s page (what a page may send values for)."""
    from streamlit.testing.v1.element_tree import ElementTree

    return [w.id for w in ElementTree.get_widget_states(at._tree).widgets]


#: One value of every kind a WidgetState can carry, several of them absurd: what a crafted
#: websocket message can send for any widget.
CRAFTED_VALUES: dict[str, dict] = {
    "text": {"string_value": "evil"},
    "long-text": {"string_value": "x" * 200_000},
    "negative-int": {"int_value": -1},
    "huge-int": {"int_value": 2**62},
    "nan": {"double_value": float("nan")},
    "infinity": {"double_value": float("inf")},
    "huge-double": {"double_value": 1e308},
    "nan-array": {"double_array_value": [float("nan")]},
    "three-doubles": {"double_array_value": [1e308, -1e308, 5]},
    "texts": {"string_array_value": ["evil", "evil2"]},
    "ints": {"int_array_value": [-5, 2**40]},
    "bool": {"bool_value": True},
    "trigger": {"trigger_value": True},
    "bad-json": {"json_value": "{bad"},
    "json-list": {"json_value": "[1,2,3]"},
    "deep-json": {"json_value": "[" * 5000 + "]" * 5000},
}
