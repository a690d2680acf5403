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
from streamlit.runtime.scriptrunner import get_script_run_ctx

from .. import tta
from ..errors import WeightsError
from ..preprocess import CanvasError, preprocess_steps, read_canvas_png
from . import charts, i18n, live, memory, models, pad, pictures, state, streamlit_fixes, teach
from .i18n import t

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
#: The Draw panel runs at most this often per visitor (why: :data:`state.PANEL_PACE_S`).
MIN_RUN_INTERVAL_S = state.PANEL_PACE_S
#: A download button's file is made again at most this often (a training run publishes a
#: new copy of its network every half second; a page can ask for the bytes again and again).
DOWNLOAD_FRESH_S = 5.0
CANVAS_PX = 280
DEFAULT_PEN = 18
PEN_RANGE = (6, 40)
CANVAS_KEY = streamlit_fixes.CANVAS_KEY  # streamlit_fixes reads its values with a larger limit
#: More strokes than this is not a drawing: the canvas's message is refused (its strokes
#: are kept in the session for Undo, so their number is bounded too).
MAX_STROKES = 1000


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
        try:
            result = st_canvas(
                fill_color="rgba(0, 0, 0, 0)",
                stroke_width=st.session_state.get(state.PEN_KEY, DEFAULT_PEN),  # the slider below
                stroke_color="#FFFFFF",
                background_color="#000000",
                update_streamlit=True,
                height=CANVAS_PX,
                width=CANVAS_PX,
                drawing_mode="freedraw",
                initial_drawing=st.session_state.get(state.CANVAS_INITIAL_KEY),
                return_image_data=True,
                key=CANVAS_KEY,
                on_change=_on_canvas_change,
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            # The component's own reading of its value failed: not what a canvas sends
            # (anyone can send a crafted message in its place). The canvas is on the page.
            result = None
    state.keep_pace(state.DRAW_RUN_KEY, MIN_RUN_INTERVAL_S)
    # The answer first (the right column), then the rest: what is sent first shows first.
    image = _current_drawing(result)
    t0 = time.perf_counter()
    steps = preprocess_steps(image, background="dark") if image is not None else None
    drawing = steps.image if steps is not None else None
    st.session_state[state.DRAWING_KEY] = drawing
    with right:
        read_as = answer(steps, preprocess_ms=(time.perf_counter() - t0) * 1000)
        teach.correction(drawing, read_as)
    # after the answer (which it must not delay): a run on the Train tab reads the drawing
    # at once (seven views through the network) and then after every epoch
    live.follow_drawing(drawing)
    with left:  # below the canvas
        bar = st.container(horizontal=True, gap="small")
        bar.button(t("draw.undo"), key="undo", icon=":material/undo:", on_click=_undo,
                   help=t("draw.undo_help"))  # fmt: skip
        bar.button(t("draw.clear"), key="clear", icon=":material/delete:", on_click=_clear)
        with bar.popover(t("draw.pen"), icon=":material/edit:"):
            st.slider(t("draw.pen_width"), *PEN_RANGE, DEFAULT_PEN, key=state.PEN_KEY)
        with bar:
            pad.attach(CANVAS_KEY, "undo", t("draw.pad_label"))
    if drawing is not None:
        pics = pictures.step_pictures(
            steps, len(st.session_state.get(state.CANVAS_OBJECTS_KEY, []))
        )
        st.image([pictures.data_url(p) for p, _ in pics], caption=[c for _, c in pics], width=150,
                 alt=pictures.step_alts())  # fmt: skip
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
    label = t("draw.prediction")
    if steps is None or steps.image is None:
        st.metric(label, "–", delta=t("draw.nothing_yet"), delta_color="off", delta_arrow="off")
    elif who.model is None:
        st.metric(label, "–", delta=t("draw.no_model"), delta_color="off", delta_arrow="off")
    else:
        t0 = time.perf_counter()
        probs = tta.predict_proba(who.model, steps.image)[0]
        timing = t("draw.timing", preprocess=preprocess_ms,
                   network=(time.perf_counter() - t0) * 1000)  # fmt: skip
        order = probs.argsort()[::-1]
        top, p = int(order[0]), float(probs[order[0]])
        if not np.isfinite(probs).all():  # loading refuses such weights; never answer "9?"
            top = None
            st.metric(label, "–", delta=t("draw.no_answer"), delta_color="off", delta_arrow="off")
        else:
            sure = p >= NOT_SURE_THRESHOLD
            st.metric(label, str(top) if sure else f"{top}?",
                      delta=t("draw.sure", p=p) if sure else t("draw.not_sure", p=p),
                      delta_color="off", delta_arrow="off")  # fmt: skip
    notes = st.container()  # one slot, so that the chart below keeps its place
    if steps is None or steps.image is None:
        notes.info(t("draw.invitation"))
    elif probs is not None:
        if top is None:
            notes.error(t("draw.not_finite"))
        elif probs[top] < NOT_SURE_THRESHOLD:
            second = int(probs.argsort()[-2])
            notes.caption(t("draw.perhaps", top=top, p=probs[top], second=second, q=probs[second]))
        time.sleep(ANSWER_HEADSTART_S)
        if steps.status != "ok":  # the library's status, in the page's words
            notes.warning(t(f"draw.status.{steps.status}"))
    if who.model is not None:
        answered = probs is not None and top is not None
        bars = probs if answered else np.zeros(10)
        st.vega_lite_chart(*charts.probabilities(bars, NOT_SURE_THRESHOLD), width="stretch")
        st.caption(
            charts.probabilities_summary(probs, NOT_SURE_THRESHOLD)
            if answered
            else t("draw.bars_waiting", threshold=NOT_SURE_THRESHOLD)
        )
    if who.note:
        (st.error if who.model is None else st.caption)(who.note)
    if who.model is not None:
        st.caption(i18n.join(t("draw.answered", model=who.description), timing))
    return top


def _current_drawing(result):
    """The canvas picture (RGBA array), or None when nothing is drawn (or it cannot be read).

    After Undo or Clear the canvas redraws itself and sends its new picture a
    moment later; until then the old picture must not be read as current.
    """
    if result is None:  # the component could not read its own value
        st.caption(t("draw.not_a_drawing", most=MAX_STROKES))
        return None
    if st.session_state.get(state.CANVAS_PENDING_KEY):
        objects = st.session_state.get(state.CANVAS_OBJECTS_KEY, [])
    elif _refused():
        return None
    else:
        raw = result.json_data  # the canvas sends {"objects": [...], ...} or nothing
        objects = raw.get("objects") if isinstance(raw, dict) else raw
        if objects and not (isinstance(raw, dict) and _strokes(objects)):  # a crafted message
            st.caption(t("draw.not_a_drawing", most=MAX_STROKES))
            return None
        objects = objects or []
        st.session_state[state.CANVAS_OBJECTS_KEY] = objects
    if not objects:
        return None
    try:
        # Checked before decoding: anyone can send a PNG of any size in its place.
        return read_canvas_png(_picture_bytes(result), (CANVAS_PX, CANVAS_PX))
    except CanvasError as e:
        st.caption(t("draw.unreadable", detail=e))
        return None


def _refused() -> bool:
    """Whether the server did not read the canvas's last message (and the page says why):
    too large once read, or the server short of memory (:mod:`.streamlit_fixes`)."""
    sent = st.session_state.get(CANVAS_KEY)
    why = sent.get(streamlit_fixes.REFUSED) if isinstance(sent, dict) else None
    if why == "memory":
        budget = memory.Budget.from_env()
        st.caption(t("memory.server", rss=memory.rss_mb() or 0, server_mb=budget.server_mb))
    elif why is not None:
        st.caption(t("draw.too_large", mb=streamlit_fixes.CANVAS_VALUE_BYTES / 2**20))
    return why is not None


def _strokes(objects) -> bool:
    """Whether ``objects`` is what the canvas sends: a list of at most MAX_STROKES objects."""
    return (
        isinstance(objects, list)
        and len(objects) <= MAX_STROKES
        and all(isinstance(o, dict) for o in objects)
    )


def _picture_bytes(result) -> bytes:
    """The PNG the canvas sent (its data: URL decoded); CanvasError if there is none."""
    try:
        return result.image_bytes or b""
    except (AttributeError, TypeError, ValueError):  # binascii.Error is a ValueError
        raise CanvasError("the drawing sent is not a canvas picture (not a data URL)") from None


# ---------------------------------------------------------------- Undo / Clear
def _undo() -> None:
    _redraw(st.session_state.get(state.CANVAS_OBJECTS_KEY, [])[:-1])


def _clear() -> None:
    _redraw([])


def _redraw(objects: list) -> None:
    """Make the canvas redraw ``objects``: it does when its ``initial_drawing`` changes.

    The revision number makes every request new, so a second Clear also clears.
    """
    revision = st.session_state.get(state.CANVAS_REVISION_KEY, 0) + 1
    st.session_state[state.CANVAS_REVISION_KEY] = revision
    st.session_state[state.CANVAS_INITIAL_KEY] = {"objects": objects, "digitnetRevision": revision}
    st.session_state[state.CANVAS_OBJECTS_KEY] = objects
    st.session_state[state.CANVAS_PENDING_KEY] = True


def keep_drawing() -> None:
    """Have the canvas draw its strokes again: it may be built anew (the language switched)."""
    objects = st.session_state.get(state.CANVAS_OBJECTS_KEY)
    if objects:
        _redraw(objects)


def _on_canvas_change() -> None:
    st.session_state[state.CANVAS_PENDING_KEY] = False


# ---------------------------------------------------------------- which model
def model_panel() -> None:
    """Choose the model that answers; upload weights; download the current ones."""
    source = st.session_state.setdefault(state.SOURCE_KEY, models.SHIPPED)
    if source not in models.SOURCES:  # never from the page; a crafted message at most
        source = st.session_state[state.SOURCE_KEY] = models.SHIPPED
    picker = _picker_key()
    st.radio(
        t("draw.model_answering"),
        models.SOURCES,
        index=models.SOURCES.index(source),
        format_func=i18n.labeller("model.source."),  # model.source.shipped, ...
        key=picker,
        on_change=_picked,
        args=(picker,),
        horizontal=True,
        help=t("draw.model_help"),
    )
    with st.expander(t("draw.weights_files")):
        key = _uploader_key()
        st.file_uploader(
            t("draw.upload", mb=models.MAX_UPLOAD_MB),
            type=["npz"],
            key=key,
            on_change=_on_upload,
            args=(key,),
            max_upload_size=models.MAX_UPLOAD_MB,
            help=t("draw.upload_help"),
        )
        if st.session_state.get(state.UPLOAD_ERROR_KEY):
            st.error(str(st.session_state[state.UPLOAD_ERROR_KEY]))
        elif state.UPLOADED_KEY in st.session_state:
            name = st.session_state[state.UPLOADED_KEY][0]
            st.caption(
                t("draw.uploaded", name=name, uploaded=t("model.source.uploaded"),
                  picker=t("draw.model_answering"))
            )  # fmt: skip
        who = state.answering_model()
        if who.model is not None:
            st.download_button(
                t("draw.download"),
                data=_weights_later(who),
                file_name=f"digitnet-{who.source}.npz",
                mime="application/octet-stream",
                on_click="ignore",
                icon=":material/download:",
            )


def _picker_key() -> str:
    """The radio's key: it changes with every :func:`state.set_source`."""
    return f"source_picker_{st.session_state.get(state.SOURCE_REVISION_KEY, 0)}"


def _picked(picker: str) -> None:
    # An older radio, gone from the page, can still report its value once from the
    # browser (e.g. in the next fragment run): only the current one decides.
    if picker == _picker_key() and st.session_state[picker] in models.SOURCES:
        st.session_state[state.SOURCE_KEY] = st.session_state[picker]


def _uploader_key() -> str:
    """The uploader's key: a new one (an empty uploader) after every good file.

    The uploader keeps the chips of the files it refused itself (wrong type, too big),
    red, even after a good file: only a new uploader is rid of them.
    """
    return f"upload_{st.session_state.get(state.UPLOAD_REVISION_KEY, 0)}"


def _on_upload(key: str) -> None:
    """Check an uploaded file; if it is good, let it answer."""
    file = st.session_state.get(key)
    st.session_state[state.UPLOAD_ERROR_KEY] = ""
    if file is None:  # removed
        st.session_state.pop(state.UPLOADED_KEY, None)
        if st.session_state.get(state.SOURCE_KEY) == models.UPLOADED:
            state.set_source(models.SHIPPED)
        return
    st.session_state.pop(state.UPLOADED_KEY, None)  # a new upload replaces the last one
    if getattr(file, "type", None) == streamlit_fixes.SERVER_FULL_TYPE:  # no bytes kept
        st.session_state[state.UPLOAD_ERROR_KEY] = i18n.message("draw.upload_server_full")
        _give_back(file)
        return
    try:
        model = models.load_upload(file)
    except WeightsError as e:
        st.session_state[state.UPLOAD_ERROR_KEY] = i18n.message("draw.upload_failed", detail=str(e))
        return
    except models.UploadBusy:
        st.session_state[state.UPLOAD_ERROR_KEY] = i18n.message("draw.upload_busy")
        return
    why = state.memory_refusal(0.0, memory.arrays_mb([model]))
    if why:
        st.session_state[state.UPLOAD_ERROR_KEY] = why
        return
    st.session_state[state.UPLOADED_KEY] = (file.name, model)
    _give_back(file)
    state.set_source(models.UPLOADED)
    st.session_state[state.UPLOAD_REVISION_KEY] = (
        st.session_state.get(state.UPLOAD_REVISION_KEY, 0) + 1
    )


def _give_back(file) -> None:
    """Have Streamlit drop an upload read into a network (it keeps the bytes until the page
    closes, counted in all pages' uploads, :data:`streamlit_fixes.SERVER_UPLOAD_BYTES`)."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    remove = getattr(ctx.uploaded_file_mgr, "remove_file", None)  # (not in its Protocol)
    if remove is not None and getattr(file, "file_id", None):
        remove(ctx.session_id, file.file_id)


def _weights_later(who: state.Answerer):
    """The download's bytes, made only when the button is clicked (in another thread).

    For the trained model, the latest copy at the time of the click, or the file made for
    a click less than :data:`DOWNLOAD_FRESH_S` ago: a page can ask for the bytes again and
    again, and a run publishes a new copy every half second.
    """
    job = state.job() if who.source == models.TRAINED else None
    last: list = []  # (when, bytes) of this button's last file

    def make() -> bytes:
        if last and time.monotonic() - last[0][0] < DOWNLOAD_FRESH_S:
            return last[0][1]
        model = who.model
        if job is not None and job.published() is not None:
            model = job.published().model
        file = models.weights_file(model, who.source)
        last[:] = [(time.monotonic(), file)]
        return file

    return make
