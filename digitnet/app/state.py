"""What the app keeps between reruns: per server, and per visitor.

A Streamlit script runs from the top on every click, so anything that must
outlive a run lives in one of two places:

- **per server** (``st.cache_resource``): built once, shared by every visitor:
  the training slots, the shipped model, MNIST (uint8, about 55 MB; the test
  set alone, about 8 MB, for the Explore tab), and the evaluation of each model
  on the MNIST test set, by the model's :func:`model_key` (at most
  ``DIGITNET_MAX_EVALUATIONS`` at once, :func:`evaluation_slots`);
- **per visitor** (``st.session_state``): their :class:`~digitnet.app.jobs.TrainJob`,
  their uploaded model, the model taught their handwriting, which model answers
  on the Draw tab.

:func:`answering_model` decides which network reads the drawings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from .. import budget
from .. import data as mnist
from ..errors import DigitnetError, WeightsError
from ..evaluate import evaluate
from ..model import MLP
from ..presets import with_pen_strokes, with_styled_digits
from . import jobs, memory, models
from .i18n import Message, join, t

SOURCE_KEY = "model_source"  # which model answers on the Draw tab (see set_source)
UPLOADED_KEY = "uploaded_model"  # (file name, MLP) of a valid upload
TAUGHT_KEY = "taught_model"  # (facts, MLP): the model taught the visitor's drawings; facts
# = {"base": the source it was taught from, "count": drawings, "accuracy": MNIST test}
DRAWING_KEY = "drawing_input"  # the Draw tab's drawing as the network sees it, or None
#: The rest of a visitor's ``st.session_state``, by where it is used. A widget's key is
#: among them when the code reads the widget's value under it.
JOB_KEY = "job"  # their jobs.TrainJob (see job())
REAPER_WATCHING_KEY = "_reaper_watching"  # True once watch_visitor() has asked the reaper
ADMITTED_KEY = "_admitted"  # True once the session has its place among the server's (admitted())
SOURCE_REVISION_KEY = "source_revision"  # numbers the Model answering radio's key (set_source)
# the Draw tab
PEN_KEY = "pen"  # the pen width slider
CANVAS_OBJECTS_KEY = "canvas_objects"  # the canvas's strokes (Fabric.js objects)
CANVAS_INITIAL_KEY = "canvas_initial"  # what the canvas is asked to redraw (Undo, Clear)
CANVAS_REVISION_KEY = "canvas_revision"  # numbers those requests, so that each one is new
CANVAS_PENDING_KEY = "canvas_pending"  # True from Undo or Clear until the canvas has redrawn
DRAW_RUN_KEY = "draw_run_at"  # time.monotonic() of the Draw panel's last run (its pace)
TRAIN_RUN_KEY = "train_run_at"  # the same for the Train tab's panel (a fragment of its own)
WATCH_RUN_KEY = "watch_run_at"  # the same for the live view's pictures (a fragment of its own)
PAGE_RUN_KEY = "page_run_at"  # the same for the whole page's runs (main.PAGE_PACE_S)
UPLOAD_ERROR_KEY = "upload_error"  # why the last upload was refused, or ""
UPLOAD_REVISION_KEY = "upload_revision"  # numbers the uploader's key: a new one per good file
# Teach (under the Draw tab's answer)
TEACH_EXAMPLES_KEY = "teach_examples"  # list of teach.Example
TEACH_REPORT_KEY = "teach_report"  # the last teach.Report
TEACH_BASE_KEY = "teach_base"  # (source, description, MLP): what the taught model came from
TEACH_SAID_KEY = "teach_said"  # what the last correction did, in words
CORRECTION_KEY = "correct"  # the "Not a 7? It's a…" digits
TEACH_BUTTON_KEY = "teach"  # the Teach button
# the Explore tab
EXPLAIN_TARGET_KEY = "explain_target"  # the output unit explained (None: the answer's)
CONFUSION_REVISION_KEY = "confusion_rev"  # numbers the confusion matrix's key: new, unselected
GALLERY_TRUE_KEY = "ex_true"  # the gallery's filters: the true digit,
GALLERY_READ_KEY = "ex_read"  # what it was read as,
GALLERY_PAGE_KEY = "ex_page"  # and its page
# How it works
CHECK_SEED_KEY = "check_seed"  # the seed of the gradient check's weights
# the Train tab
START_REQUESTED_KEY = "start_requested"  # Start pressed: start once the form has been read
COMPARE_KEY = "compare"  # the earlier runs drawn on the charts
LINK_DISMISSED_KEY = "link_dismissed"  # the link's warning has been read (a run started)
COPY_LINK_KEY = "copy_link_nonce"  # counts the Copy link clicks: each one copies again
LIVE_FRAME_KEY = "live_frame"  # the first layer's grid last drawn: (what it shows, data URL,
#   units, epoch), made again only when the weights or the choice of units change
LIVE_READINGS_KEY = "live_readings"  # (what they show, live.ShownReadings): the readings
#   panel, made again only when there is a new reading
EVALUATIONS_KEPT = 8  #: models whose MNIST test evaluation is kept (about 0.5 MB each)
EVALUATION_WAIT_S = 60.0  #: how long an evaluation waits for its turn on the server


class EvaluationBusy(DigitnetError):
    """Every evaluation slot of the server stayed busy while this one waited."""


# ---------------------------------------------------------------- per server
@st.cache_resource(show_spinner=False)
def training_slots() -> jobs.Slots:
    """The server-wide cap on concurrent training runs."""
    return jobs.Slots(jobs.max_training_runs())


@st.cache_resource(show_spinner=False)
def shipped_model() -> MLP:
    """The shipped weights, loaded once (a failure is not cached: it is retried)."""
    return models.load_shipped()


@st.cache_resource(show_spinner=False)
def _download_lock() -> threading.Lock:
    return threading.Lock()


# The cached loaders show no spinner of their own (its words would be fixed at import, in
# English): the functions that call them show one in the page's language instead.
@st.cache_resource(show_spinner=False)
def _mnist() -> jobs.TrainingData:
    return jobs.TrainingData.from_mnist(mnist.load_mnist("train", download=False), _mnist_test())


@st.cache_resource(show_spinner=False)
def _mnist_test() -> tuple[np.ndarray, np.ndarray]:
    return mnist.load_mnist("test", download=False)


def download_progress(bar) -> mnist.ProgressCallback:
    """The ``progress`` for :func:`training_data`, :func:`test_data` and :func:`pen_strokes`:
    ``bar`` (an ``st.empty()``) shows the file being downloaded and its size so far, at
    most ten times a second (and at its end)."""
    last = [0.0]

    def progress(name: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - last[0] < 0.1 and done != total:
            return
        last[0] = now
        size = t("data.size_of", done=_size(done), total=_size(total)) if total else _size(done)
        bar.progress(
            min(1.0, done / total) if total else 0.0,
            text=t("data.downloading", name=name, size=size),
        )

    return progress


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 1e6 else f"{n_bytes / 1e3:.0f} kB"


def _download(progress: Callable[[str, int, int | None], None]) -> None:
    with _download_lock():  # two first visitors: one downloads, the other waits
        mnist.download_mnist(progress=progress)  # returns at once if the files are there


def training_data(progress: Callable[[str, int, int | None], None]) -> jobs.TrainingData:
    """MNIST for training, loaded once per server; downloaded first if it is missing.

    ``progress(name, done_bytes, total_bytes)`` is called while downloading.
    Raises :class:`digitnet.DataError` (or its subclass ``DownloadError``, e.g.
    offline) with a message that says what to do.
    """
    _download(progress)
    with st.spinner(t("data.loading")):
        return _mnist()


@st.cache_resource(show_spinner=False)
def _pen_strokes():
    return mnist.load_pen_strokes(download=False)


def pen_strokes(progress: Callable[[str, int, int | None], None]):
    """The pen-drawn digits' writers' file (7,494 digits as strokes), loaded once per server;
    downloaded into the cache first if missing, like MNIST (raises DataError, saying what
    to do, if it cannot be had)."""
    with _download_lock():
        mnist.download_pen_strokes(progress=progress)  # returns at once if the file is there
    return _pen_strokes()


def styled_training_data(fraction: float, pen_copies: int = 0) -> jobs.TrainingData:
    """The training data with styled digits appended, and ``pen_copies`` renders of each
    pen-drawn digit (call :func:`pen_strokes` first), as the shipped weights were trained
    (:func:`digitnet.presets.training_set`): made once per server, shared by every run."""
    with st.spinner(t("data.styling")):
        return _styled_training_data(fraction, pen_copies)


@st.cache_resource(show_spinner=False)
def _styled_training_data(fraction: float, pen_copies: int) -> jobs.TrainingData:
    data = _mnist()
    X, y = with_styled_digits(data.X_train, data.y_train, fraction)
    if pen_copies:
        X, y = with_pen_strokes(X, y, _pen_strokes(), pen_copies)
    X.flags.writeable = y.flags.writeable = False
    return dataclasses.replace(data, X_train=X, y_train=y)


def test_data(progress: Callable[[str, int, int | None], None]) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 MNIST test digits and labels (uint8, read-only), loaded once per server.

    Downloaded first if missing, as :func:`training_data`, which shares them.
    """
    _download(progress)
    with st.spinner(t("data.loading_test")):
        return _mnist_test()


#: model_key of each model object, made once: a model is never changed once it answers (the
#: trained one is published as a new copy every half second). Explore and How it works ask
#: on every run; hashing the shipped weights took 18 ms of each Explore run.
_KEYS: weakref.WeakKeyDictionary[MLP, str] = weakref.WeakKeyDictionary()
_KEYS_LOCK = threading.Lock()


def model_key(model: MLP) -> str:
    """A fingerprint of a model: its architecture, input scaling and every weight.

    Two models with the same key compute the same function, whichever object
    holds them (a new copy of the trained model is published every half second;
    hashing its few MB takes a few milliseconds, once per object).
    """
    with _KEYS_LOCK:
        key = _KEYS.get(model)
    if key is None:
        key = _model_key(model)
        with _KEYS_LOCK:
            _KEYS[model] = key
    return key


def _model_key(model: MLP) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(
        repr((model.layer_sizes, model.activation, model.output, model.input_scaling)).encode()
    )
    for array in (*model.weights_, *model.biases_):
        h.update(str(array.dtype).encode())
        h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


@st.cache_resource(show_spinner=False)
def evaluation_slots() -> jobs.Slots:
    """The server-wide cap on test-set evaluations at once (``DIGITNET_MAX_EVALUATIONS``).

    An evaluation is up to seconds of CPU (an uploaded network of the largest size
    allowed), outside the training slots: each new upload would be another.
    """
    return jobs.Slots(budget.max_evaluations())


@st.cache_resource(show_spinner=False, max_entries=EVALUATIONS_KEPT)
def _evaluation(key: str, _model: MLP) -> dict:
    X, y = _mnist_test()
    slots = evaluation_slots()
    if not slots.acquire(key, timeout=EVALUATION_WAIT_S):  # not cached: tried again next time
        raise EvaluationBusy(
            "This server is busy reading the test digits with other visitors' models: "
            "try again in a minute."
        )
    try:
        return evaluate(_model, X, y)
    finally:
        slots.release(key)


def test_evaluation(model: MLP) -> dict:
    """:func:`digitnet.evaluate.evaluate` of ``model`` on the MNIST test set, once per model.

    Cached on the server by :func:`model_key` (shared by every visitor: the same
    weights give the same figures); the arrays in it must not be changed. Call
    :func:`test_data` first (it downloads MNIST if needed). Raises
    :class:`EvaluationBusy` if it waited :data:`EVALUATION_WAIT_S` for its turn.
    """
    with st.spinner(t("data.evaluating")):
        return _evaluation(model_key(model), model)


# ---------------------------------------------------------------- per visitor
def session_alive(session_id: str) -> Callable[[], bool]:
    """A thread-safe ``alive()`` for the worker: is this visitor's page still connected?

    ``Runtime.is_active_session`` is documented as safe to call from any thread; it
    turns False as soon as the page is closed. Without a runtime (tests): alive.
    """

    def alive() -> bool:
        from streamlit import runtime

        if not runtime.exists():
            return True
        return bool(runtime.get_instance().is_active_session(session_id))

    return alive


def job() -> jobs.TrainJob:
    """This visitor's training job (created on first use)."""
    if JOB_KEY not in st.session_state:
        ctx = get_script_run_ctx()
        sid = ctx.session_id if ctx is not None else "no-session"
        st.session_state[JOB_KEY] = jobs.TrainJob(sid, training_slots(), alive=session_alive(sid))
    return st.session_state[JOB_KEY]


# ---------------------------------------------------------------- memory
#: What a visitor's session keeps beyond the training job (released when the page is gone).
HELD_KEYS = (UPLOADED_KEY, TAUGHT_KEY, TEACH_BASE_KEY, TEACH_REPORT_KEY, TEACH_EXAMPLES_KEY)


@st.cache_resource(show_spinner=False)
def reaper() -> memory.Reaper | None:
    """The server's :class:`~digitnet.app.memory.Reaper` (None in AppTest: no real runtime).

    Also tunes glibc's allocator (:func:`memory.tune_malloc`), once per server.
    """
    from streamlit import config, runtime

    if config.get_option("global.appTest") or not runtime.exists():
        return None
    memory.tune_malloc()
    rt = runtime.get_instance()
    ttl = memory.setting(memory.SESSION_TTL_ENV, memory.DEFAULT_SESSION_TTL_S)
    # clear_user_info_for_session: "Threading: SAFE"; a disconnected session is closed on
    # the event loop (shut down: its media files, uploads and state are freed)
    return memory.Reaper(rt.is_active_session, rt.clear_user_info_for_session, ttl)


def session_exists(session_id: str) -> bool:
    """Whether a session still holds memory on the server: its page is connected, or the
    reaper has not closed it yet. Without a runtime (AppTest) no other session exists."""
    from streamlit import runtime

    r = reaper()
    if r is None or not runtime.exists():
        return False
    return runtime.get_instance().is_active_session(session_id) or r.watches(session_id)


@st.cache_resource(show_spinner=False)
def admission() -> memory.Admission:
    """The server's places for visitors (``DIGITNET_MAX_SESSIONS``)."""
    return memory.Admission(lambda sid: session_exists(sid))


def admitted() -> bool:
    """Whether this visitor has the app: a place among the server's sessions, kept for the
    session's life, or one free now (else the page asks them to come back in a minute)."""
    if st.session_state.get(ADMITTED_KEY):
        return True
    ctx = get_script_run_ctx()
    if ctx is None or not admission().admit(ctx.session_id, memory.max_sessions()):
        return ctx is None
    st.session_state[ADMITTED_KEY] = True
    return True


#: A panel that its own widgets rerun (the Draw panel, the Train panel, the live view's
#: pictures) runs at most this often per visitor. A page sends a drawing when the pen lifts:
#: a few a second at the fastest. A crafted page can send hundreds: Streamlit runs the panel
#: again as soon as the last run ends, so one such visitor took about 0.45 of a core (15
#: answers a second, each ~28 ms of server CPU, holding the GIL) and doubled the other
#: visitors' p95. Faster changes wait (the script thread sleeps, without the GIL) and
#: Streamlit keeps only the latest: at most 1/0.15 ≈ 7 runs a second. Each panel's module
#: names its own pace from this (``MIN_RUN_INTERVAL_S``).
PANEL_PACE_S = 0.15


def keep_pace(key: str, interval: float) -> None:
    """Wait until ``interval`` seconds have passed since this visitor's last run of the
    panel whose time is kept under ``key`` (see :data:`PANEL_PACE_S`).

    A crafted page can send a panel's widget changes as fast as the server answers, and
    Streamlit runs the panel again as soon as its last run ends. Here the script thread
    sleeps, without the GIL, and a newer change arriving meanwhile replaces this run.
    """
    wait = st.session_state.get(key, -np.inf) + interval - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    st.session_state[key] = time.monotonic()


def watch_visitor() -> None:
    """Have the reaper give this visitor's memory back once their page has been gone a while
    (called on every run; does something once per session)."""
    ctx = get_script_run_ctx()
    r = reaper()
    if r is None or ctx is None or st.session_state.get(REAPER_WATCHING_KEY):
        return
    ss = ctx.session_state  # thread-safe, unlike st.session_state outside the script thread

    def release() -> None:
        if JOB_KEY in ss:
            ss[JOB_KEY].close()
        for key in HELD_KEYS:
            if key in ss:
                del ss[key]

    r.watch(ctx.session_id, release)
    st.session_state[REAPER_WATCHING_KEY] = True


def held_mb(*, with_job: bool = True) -> float:
    """MB of arrays this visitor's session keeps: their models, their run's state."""
    held = [st.session_state.get(k) for k in HELD_KEYS]
    if with_job and JOB_KEY in st.session_state:
        held.append(st.session_state[JOB_KEY])
    return memory.arrays_mb(held)


def memory_refusal(need_mb: float, keep_mb: float, *, with_job: bool = True) -> Message | None:
    """Why an action must wait (the server's or the visitor's memory budget), or None.

    ``need_mb``: its peak; ``keep_mb``: what the session keeps afterwards.
    """
    budget = memory.Budget.from_env()
    return memory.refusal(need_mb, keep_mb, held_mb(with_job=with_job), budget, memory.rss_mb())


def set_source(source: str) -> None:
    """Make ``source`` answer on the Draw tab (from a callback: upload, Start training).

    The Draw tab's radio shows it: it is rebuilt under a new key, because a
    widget's own value, set from code, would be overwritten by the browser's
    on the next run if the widget was not on screen in between (e.g. when Start
    is clicked on the Train tab).
    """
    st.session_state[SOURCE_KEY] = source
    st.session_state[SOURCE_REVISION_KEY] = st.session_state.get(SOURCE_REVISION_KEY, 0) + 1


@dataclass(frozen=True)
class Answerer:
    """The network that reads the drawings, and how to describe it."""

    model: MLP | None  # None: no model at all (shipped weights missing, nothing else)
    source: str  # what actually answers: shipped | trained | uploaded | taught
    description: str  # "the shipped weights (...)", "your run #2 (fast) after ...", ...
    note: str = ""  # why the chosen source is not the one answering, if so


def answering_model() -> Answerer:
    """The model the visitor chose on the Draw tab, or the shipped one if it isn't there."""
    chosen = st.session_state.get(SOURCE_KEY, models.SHIPPED)
    note = ""
    if chosen == models.TRAINED:
        pub = job().published()
        if pub is not None:
            s = job().snapshot()
            training = s.active and s.run == pub.run
            return Answerer(
                pub.model,
                models.TRAINED,
                t("model.run_training" if training else "model.run", run=pub.run,
                  preset=pub.preset, epoch=pub.epoch, epochs=pub.epochs),
            )  # fmt: skip
        note = t("model.no_trained")
    elif chosen == models.TAUGHT:
        taught = st.session_state.get(TAUGHT_KEY)
        if taught is not None:
            facts, model = taught
            return Answerer(model, models.TAUGHT, describe_taught(**facts))
        note = t("model.no_taught")
    elif chosen == models.UPLOADED:
        uploaded = st.session_state.get(UPLOADED_KEY)
        if uploaded is not None:
            name, model = uploaded
            return Answerer(
                model, models.UPLOADED, t("model.uploaded", name=name, facts=models.describe(model))
            )
        note = t("model.no_uploaded")
    try:
        model = shipped_model()
    except WeightsError as e:
        return Answerer(None, models.SHIPPED, "", join(note, t("model.shipped_failed", detail=e)))
    return Answerer(model, models.SHIPPED, t("model.shipped", facts=models.describe(model)), note)


def describe_taught(base: str, count: int, accuracy: float) -> str:
    """The taught model, in the page's language: what it was taught from, how much."""
    return t("model.taught", base=t(f"model.base.{base}"), count=count, accuracy=accuracy)
