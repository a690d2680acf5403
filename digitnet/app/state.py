"""What the app keeps between reruns: per server, and per visitor.

A Streamlit script runs from the top on every click, so anything that must
outlive a run lives in one of two places:

- **per server** (``st.cache_resource``): built once, shared by every visitor:
  the training slots, the shipped model, MNIST (uint8, about 55 MB);
- **per visitor** (``st.session_state``): their :class:`~digitnet.app.jobs.TrainJob`,
  their uploaded model, which model answers on the Draw tab.

:func:`answering_model` decides which network reads the drawings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from .. import data as mnist
from ..errors import WeightsError
from ..model import MLP
from . import jobs, models

SOURCE_KEY = "model_source"  # which model answers on the Draw tab (see set_source)
UPLOADED_KEY = "uploaded_model"  # (file name, MLP) of a valid upload


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


@st.cache_resource(show_spinner="Loading MNIST…")
def _mnist() -> jobs.TrainingData:
    return jobs.TrainingData.from_mnist(
        mnist.load_mnist("train", download=False), mnist.load_mnist("test", download=False)
    )


def training_data(progress: Callable[[str, int, int | None], None]) -> jobs.TrainingData:
    """MNIST for training, loaded once per server; downloaded first if it is missing.

    ``progress(name, done_bytes, total_bytes)`` is called while downloading.
    Raises :class:`digitnet.DataError` (or its subclass ``DownloadError``, e.g.
    offline) with a message that says what to do.
    """
    with _download_lock():  # two first visitors: one downloads, the other waits
        mnist.download_mnist(progress=progress)  # returns at once if the files are there
    return _mnist()


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
    if "job" not in st.session_state:
        ctx = get_script_run_ctx()
        sid = ctx.session_id if ctx is not None else "no-session"
        st.session_state.job = jobs.TrainJob(sid, training_slots(), alive=session_alive(sid))
    return st.session_state.job


def set_source(source: str) -> None:
    """Make ``source`` answer on the Draw tab (from a callback: upload, Start training).

    The Draw tab's radio shows it: it is rebuilt under a new key, because a
    widget's own value, set from code, would be overwritten by the browser's
    on the next run if the widget was not on screen in between (e.g. when Start
    is clicked on the Train tab).
    """
    st.session_state[SOURCE_KEY] = source
    st.session_state.source_revision = st.session_state.get("source_revision", 0) + 1


@dataclass(frozen=True)
class Answerer:
    """The network that reads the drawings, and how to describe it."""

    model: MLP | None  # None: no model at all (shipped weights missing, nothing else)
    source: str  # what actually answers: shipped | trained | uploaded
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
            status = " (training)" if s.active and s.run == pub.run else ""
            return Answerer(
                pub.model,
                models.TRAINED,
                f"your run #{pub.run} ({pub.preset}) after {pub.epoch:.1f} of {pub.epochs} "
                f"epochs{status}",
            )
        note = "No model trained here yet (start one on the Train tab): the shipped one answers."
    elif chosen == models.UPLOADED:
        uploaded = st.session_state.get(UPLOADED_KEY)
        if uploaded is not None:
            name, model = uploaded
            return Answerer(
                model, models.UPLOADED, f"the uploaded {name} ({models.describe(model)})"
            )
        note = "No usable weights file uploaded: the shipped weights answer."
    try:
        model = shipped_model()
    except WeightsError as e:
        return Answerer(None, models.SHIPPED, "", f"{note} {e}".strip())
    return Answerer(model, models.SHIPPED, f"the shipped weights ({models.describe(model)})", note)
