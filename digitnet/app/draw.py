"""The Draw tab: a canvas, what the network answers, and how the drawing got there.

After every stroke the canvas sends its picture (a 280×280 PNG, as soon as the pen
lifts: :mod:`.pad`; checked by :func:`digitnet.preprocess.read_canvas_png` before it is
decoded) and :func:`draw_panel` runs again, on its own (an ``st.fragment``: the rest
of the page does not rerun):

1. :func:`digitnet.preprocess.preprocess_steps` makes the drawing look like an
   MNIST digit (crop, scale to 20 px, centre by the centre of mass);
2. the network answers (:func:`digitnet.tta.predict_proba`: the drawing as it
   is and six slightly turned, scaled and sheared copies, their probabilities
   averaged): the most probable digit as a metric, "not sure" when that
   probability is below :data:`NOT_SURE_THRESHOLD`, and all ten as bars;
3. the steps of 1 are shown as four small pictures;
4. under the answer, "Not a 7? It's a …" (the digit read) keeps a misread drawing
   with the right digit, and under the pictures, :mod:`.teach` fine-tunes the
   network on the drawings kept ("Teach it your handwriting").

The answer is written before anything slower, and given a head start
(:data:`ANSWER_HEADSTART_S`), so that it shows as soon as possible after the
pen lifts. Below: which network answers (the shipped
weights, the one trained on the Train tab, an uploaded file, or the one taught
the visitor's handwriting), and its weights to download.

The drawing as the network sees it is kept in ``st.session_state`` under
:data:`state.DRAWING_KEY` for the Explore tab and for teaching.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from .. import tta
from ..errors import WeightsError
from ..preprocess import CanvasError, preprocess_steps, read_canvas_png
from . import charts, live, memory, models, pad, pictures, state, teach

#: Below this top probability the answer is "not sure". From benchmarks/drawings.py, for
#: the app's probabilities (test-time augmentation): the largest threshold that flags at
#: most 1% of MNIST test digits (0.8% with the shipped weights; ECE there 0.007). On the
#: pen-drawn digits of writers never seen in training (writer-level cross-validation,
#: fold 1) it flags 1.4%, which are right only 49% of the time, against 98.9% for the rest.
NOT_SURE_THRESHOLD = 0.65
#: Pause after writing the answer, before the chart and the pictures. The browser redraws
#: the page for every element it receives: sent right behind the answer, the chart and the
#: pictures make the answer wait for their drawing too. With the pause (it costs the server
#: nothing: the script thread sleeps) the answer showed after a median 283 ms from the
#: mouse-up instead of 320, side by side in one run of 3 × 12 strokes each (15 ms gave
#: 286, 60 ms 276); benchmarks/app_check.py measures the app as it is.
ANSWER_HEADSTART_S = 0.03
CANVAS_PX = 280
DEFAULT_PEN = 18
PEN_RANGE = (6, 40)
CANVAS_KEY = "canvas"


def render() -> None:
    """The whole Draw tab (it runs on every full rerun: a canvas left out loses its drawing)."""
    draw_panel()
    model_panel()


# ---------------------------------------------------------------- canvas + answer
@st.fragment
def draw_panel() -> None:
    """Canvas, Undo/Clear, pen width; the answer; the preprocessing steps."""
    # Imported here: the component can only be declared inside a running app.
    from streamlit_drawable_canvas import st_canvas

    # The canvas's column just fits it (280 px); the answer's has room for the nine
    # "Not a 7? It's a…" buttons in one row.
    left, right = st.columns([0.46, 0.54], gap="small")
    with left:
        result = st_canvas(
            fill_color="rgba(0, 0, 0, 0)",
            stroke_width=st.session_state.get("pen", DEFAULT_PEN),  # the slider below
            stroke_color="#FFFFFF",
            background_color="#000000",
            update_streamlit=True,
            height=CANVAS_PX,
            width=CANVAS_PX,
            drawing_mode="freedraw",
            initial_drawing=st.session_state.get("canvas_initial"),
            return_image_data=True,
            key=CANVAS_KEY,
            on_change=_on_canvas_change,
        )
    # The answer first (the right column), then the rest: what is sent first shows first.
    image = _current_drawing(result)
    t0 = time.perf_counter()
    steps = preprocess_steps(image, background="dark") if image is not None else None
    drawing = steps.image if steps is not None else None
    st.session_state[state.DRAWING_KEY] = drawing
    live.follow_drawing(drawing)  # a run on the Train tab reads it after every epoch
    with right:
        read_as = answer(steps, preprocess_ms=(time.perf_counter() - t0) * 1000)
        teach.correction(drawing, read_as)
    with left:  # below the canvas
        bar = st.container(horizontal=True, gap="small")
        bar.button("Undo", key="undo", icon=":material/undo:", on_click=_undo,
                   help="Undo the last stroke (Ctrl+Z, ⌘Z)")  # fmt: skip
        bar.button("Clear", key="clear", icon=":material/delete:", on_click=_clear)
        with bar.popover("Pen", icon=":material/edit:"):
            st.slider("Pen width (px)", *PEN_RANGE, DEFAULT_PEN, key="pen")
        with bar:
            pad.attach(CANVAS_KEY, "undo")
    if drawing is not None:
        pics = pictures.step_pictures(steps, len(st.session_state.get("canvas_objects", [])))
        st.image([pictures.data_url(p) for p, _ in pics], caption=[c for _, c in pics], width=150,
                 alt=list(pictures.STEP_ALTS))  # fmt: skip
    teach.panel()


def answer(steps, preprocess_ms: float = 0.0) -> int | None:
    """The metric "Prediction", the bars of the ten probabilities, and who answered.

    Returns the digit read, or None (nothing drawn, no model).

    The bars are on the page from the start (all at 0 while nothing is drawn), in the
    same place whatever the answer says above them: the page does not jump when the
    first stroke's answer comes, and the browser updates the chart's data in place
    instead of drawing a new chart after every Clear.
    """
    who = state.answering_model()
    timing = ""
    top = probs = None
    if steps is None or steps.image is None:
        st.metric(
            "Prediction", "–", delta="nothing drawn yet", delta_color="off", delta_arrow="off"
        )
    elif who.model is None:
        st.metric("Prediction", "–", delta="no model", delta_color="off", delta_arrow="off")
    else:
        t0 = time.perf_counter()
        probs = tta.predict_proba(who.model, steps.image)[0]
        timing = (
            f" Preprocessing took {preprocess_ms:.1f} ms, the network "
            f"{(time.perf_counter() - t0) * 1000:.1f} ms (the drawing and six slightly "
            "turned, scaled and sheared copies, averaged)."
        )
        order = probs.argsort()[::-1]
        top, p = int(order[0]), float(probs[order[0]])
        if not np.isfinite(probs).all():  # loading refuses such weights; never answer "9?"
            top = None
            st.metric("Prediction", "–", delta="no answer", delta_color="off", delta_arrow="off")
        else:
            sure = p >= NOT_SURE_THRESHOLD
            st.metric("Prediction", str(top) if sure else f"{top}?",
                      delta=f"{p:.1%} sure" if sure else f"not sure: {p:.1%}",
                      delta_color="off", delta_arrow="off")  # fmt: skip
    notes = st.container()  # one slot, so that the chart below keeps its place
    if steps is None or steps.image is None:
        notes.info("Draw a digit from 0 to 9 in the black square, with the mouse or a finger.")
    elif probs is not None:
        if top is None:
            notes.error(
                "This network's outputs are NaN or infinite for this drawing (its weights "
                "overflow), so it cannot answer: choose another model below."
            )
        elif probs[top] < NOT_SURE_THRESHOLD:
            second = int(probs.argsort()[-2])
            notes.caption(
                f"Not sure: perhaps a {top} ({probs[top]:.0%}), or a {second} "
                f"({probs[second]:.0%}). Try drawing it larger, in the middle, in one go."
            )
        time.sleep(ANSWER_HEADSTART_S)
        if steps.status != "ok":
            notes.warning(steps.message)
    if who.model is not None:
        answered = probs is not None and top is not None
        bars = probs if answered else np.zeros(10)
        st.vega_lite_chart(*charts.probabilities(bars, NOT_SURE_THRESHOLD), width="stretch")
        st.caption(
            charts.probabilities_summary(probs, NOT_SURE_THRESHOLD)
            if answered
            else "The bars will show how probable the network finds each digit; it is "
            f"not sure below the dashed line, {NOT_SURE_THRESHOLD:.0%}."
        )
    if who.note:
        (st.error if who.model is None else st.caption)(who.note)
    if who.model is not None:
        st.caption(f"Answered by {who.description}.{timing}")
    return top


def _current_drawing(result):
    """The canvas picture (RGBA array), or None when nothing is drawn (or it cannot be read).

    After Undo or Clear the canvas redraws itself and sends its new picture a
    moment later; until then the old picture must not be read as current.
    """
    raw = result.json_data or {}
    if st.session_state.get("canvas_pending"):
        objects = st.session_state.get("canvas_objects", [])
    else:
        objects = raw.get("objects") or []
        st.session_state.canvas_objects = objects
    if not objects:
        return None
    try:
        # Checked before decoding: anyone can send a PNG of any size in its place.
        return read_canvas_png(result.image_bytes or b"", (CANVAS_PX, CANVAS_PX))
    except CanvasError as e:
        st.caption(f"This drawing could not be read: {e}. Clear the canvas and draw again.")
        return None


# ---------------------------------------------------------------- Undo / Clear
def _undo() -> None:
    _redraw(st.session_state.get("canvas_objects", [])[:-1])


def _clear() -> None:
    _redraw([])


def _redraw(objects: list) -> None:
    """Make the canvas redraw ``objects``: it does when its ``initial_drawing`` changes.

    The revision number makes every request new, so a second Clear also clears.
    """
    revision = st.session_state.get("canvas_revision", 0) + 1
    st.session_state.canvas_revision = revision
    st.session_state.canvas_initial = {"objects": objects, "digitnetRevision": revision}
    st.session_state.canvas_objects = objects
    st.session_state.canvas_pending = True


def _on_canvas_change() -> None:
    st.session_state.canvas_pending = False


# ---------------------------------------------------------------- which model
def model_panel() -> None:
    """Choose the model that answers; upload weights; download the current ones."""
    source = st.session_state.setdefault(state.SOURCE_KEY, models.SHIPPED)
    picker = _picker_key()
    st.radio(
        "Model answering",
        models.SOURCES,
        index=models.SOURCES.index(source),
        format_func=models.SOURCE_LABELS.get,
        key=picker,
        on_change=_picked,
        args=(picker,),
        horizontal=True,
        help="The shipped weights (the best preset: trained on MNIST's training digits and "
        "on 7,494 real pen-drawn digits by 30 writers, drawn on this canvas), the network "
        "trained on the Train tab (as it is right "
        "now, even mid-training), a weights file you upload, or the network taught your "
        "handwriting (correct a wrong answer, then Teach).",
    )
    with st.expander("Weights files: upload or download"):
        key = _uploader_key()
        st.file_uploader(
            f"Upload digitnet weights (.npz, at most {models.MAX_UPLOAD_MB} MB)",
            type=["npz"],
            key=key,
            on_change=_on_upload,
            args=(key,),
            max_upload_size=models.MAX_UPLOAD_MB,
            help="A file saved by `python -m digitnet train --out FILE` or downloaded here. "
            "It is checked and never unpickled.",
        )
        if st.session_state.get("upload_error"):
            st.error(st.session_state.upload_error)
        elif state.UPLOADED_KEY in st.session_state:
            name = st.session_state[state.UPLOADED_KEY][0]
            st.caption(f"Uploaded: {name} (“Uploaded” under Model answering).")
        who = state.answering_model()
        if who.model is not None:
            st.download_button(
                "Download the weights answering now (.npz)",
                data=_weights_later(who),
                file_name=f"digitnet-{who.source}.npz",
                mime="application/octet-stream",
                on_click="ignore",
                icon=":material/download:",
            )


def _picker_key() -> str:
    """The radio's key: it changes with every :func:`state.set_source`."""
    return f"source_picker_{st.session_state.get('source_revision', 0)}"


def _picked(picker: str) -> None:
    # An older radio, gone from the page, can still report its value once from the
    # browser (e.g. in the next fragment run): only the current one decides.
    if picker == _picker_key():
        st.session_state[state.SOURCE_KEY] = st.session_state[picker]


def _uploader_key() -> str:
    """The uploader's key: a new one (an empty uploader) after every good file.

    The uploader keeps the chips of the files it refused itself (wrong type, too big),
    red, even after a good file: only a new uploader is rid of them.
    """
    return f"upload_{st.session_state.get('upload_revision', 0)}"


def _on_upload(key: str) -> None:
    """Check an uploaded file; if it is good, let it answer."""
    file = st.session_state.get(key)
    st.session_state.upload_error = ""
    if file is None:  # removed
        st.session_state.pop(state.UPLOADED_KEY, None)
        if st.session_state.get(state.SOURCE_KEY) == models.UPLOADED:
            state.set_source(models.SHIPPED)
        return
    st.session_state.pop(state.UPLOADED_KEY, None)  # a new upload replaces the last one
    try:
        model = models.load_upload(file)
    except WeightsError as e:
        st.session_state.upload_error = str(e)
        return
    why = state.memory_refusal(0.0, memory.arrays_mb([model]))
    if why:
        st.session_state.upload_error = why
        return
    st.session_state[state.UPLOADED_KEY] = (file.name, model)
    state.set_source(models.UPLOADED)
    st.session_state.upload_revision = st.session_state.get("upload_revision", 0) + 1


def _weights_later(who: state.Answerer):
    """The download's bytes, made only when the button is clicked (in another thread).

    For the trained model, the latest copy at the time of the click.
    """
    job = state.job() if who.source == models.TRAINED else None

    def make() -> bytes:
        model = who.model
        if job is not None and job.published() is not None:
            model = job.published().model
        return models.weights_file(model, who.source)

    return make
