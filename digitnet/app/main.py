"""The page: a title and four tabs, Draw (:mod:`.draw`), Explore (:mod:`.explore`),
How it works (:mod:`.howitworks`) and Train (:mod:`.train_view`).

The page's words come from :mod:`.i18n` (English or Japanese: the browser's
language, the switch at the top, or ``?lang=``). Switching keeps the open tab, the
drawing, the runs and the taught model: only the words change.

The tabs are *lazy*: the content of Explore, How it works and Train (and the
Train tab's live view, that refreshes twice a second during a run) only runs
while that tab is open (``st.tabs(..., on_change="rerun")`` and ``tab.open``).
The Draw tab always runs: a canvas left out of a run would lose its drawing. While a run
goes on and the Train tab is closed, :func:`keepalive` tells the run that the
page is still there.
"""

from __future__ import annotations

import streamlit as st

from . import (
    draw,
    explore,
    howitworks,
    i18n,
    jobs,
    live,
    memory,
    models,
    state,
    streamlit_fixes,
    train_view,
)
from .i18n import t

streamlit_fixes.apply()  # before any visitor's message is read

KEEPALIVE_S = 10  #: heartbeat period while a run is active and the Train tab is closed
FULL_RETRY_S = 15  #: how often a page waiting for a place on a full server asks again
#: The whole page runs at most this often per visitor (a click on Explore, the model, a tab;
#: a stroke runs the Draw panel alone). A crafted page re-sending a full run 50 times a
#: second took 0.45 of a core with Explore open (each run stopped at its first element by
#: the next, the Draw panel's pace only halfway down); now each waits at the top, asleep,
#: and the newest is the one that runs.
PAGE_PACE_S = 0.25
TABS = ("draw", "explore", "how", "train")  #: the tabs' text keys (tab.draw, ...), in order
TAB_KEY = "tab"  #: the tabs' widget key: its value is the open tab's label

#: The charts' words (axes, legends, titles) in the theme's text colour. Streamlit's chart
#: theme writes them in a fixed grey, #808495 in the light theme: 3.6:1 on white, under
#: the 4.5:1 that text needs (tests/test_theme.py). The marks' colours are the theme's
#: palette (digitnet/app/charts.py).
PAGE_CSS = """
[data-testid="stVegaLiteChart"] :is(.role-axis-label, .role-axis-title, .role-legend-label,
  .role-legend-title, .role-title-text) text { fill: currentColor; }
"""


def main() -> None:
    state.keep_pace(state.PAGE_RUN_KEY, PAGE_PACE_S)
    jobs.log_to_stderr()
    i18n.setup()
    st.set_page_config(page_title=t("app.page_title"), page_icon="✍️", layout="centered")
    if not state.admitted():
        full()
        return
    state.watch_visitor()  # the memory comes back once the page has been gone a while
    # style only: takes no room on the page
    st.html(f"<style>{PAGE_CSS}{live.GRID_CSS}{i18n.streamlit_css(models.MAX_UPLOAD_MB)}</style>")
    head = st.container(horizontal=True, horizontal_alignment="distribute",
                        vertical_alignment="center")  # fmt: skip
    with head:
        st.subheader("✍️ digitnet", anchor=False)  # no link icon: one keyboard stop less
        i18n.mark_page()  # <html lang="ja">: takes no room
        i18n.switch(on_switch=_carry_over)
    st.caption(t("app.tagline"))
    opened = train_view.open_link()  # on the first run: the link this visit came with
    if opened is not None and opened.preset is not None:
        st.session_state[TAB_KEY] = t("tab.train")  # a link to a setting opens the Train tab
    tab_draw, tab_explore, tab_how, tab_train = st.tabs(
        [t(f"tab.{name}") for name in TABS], key=TAB_KEY, on_change="rerun"
    )
    with tab_draw:
        draw.render()
    with tab_explore:
        if tab_explore.open:
            explore.render()
    with tab_how:
        if tab_how.open:
            howitworks.render()
    with tab_train:
        if tab_train.open:
            train_view.render()
    if not tab_train.open and state.job().snapshot().active:
        keepalive()


def full() -> None:
    """The page of a visitor the server has no place for (``DIGITNET_MAX_SESSIONS``): one
    sentence, Try again, and the app opens by itself once a place is free."""
    st.subheader("✍️ digitnet", anchor=False)
    st.warning(t("app.full", most=memory.max_sessions()), icon=":material/group:")
    st.button(t("app.full_retry"), key="full_retry")  # a run: a place is taken if one is free
    wait_for_place()


@st.fragment(run_every=FULL_RETRY_S)
def wait_for_place() -> None:
    if state.admission().room(memory.max_sessions()):
        st.rerun()  # the whole page: admitted() takes the place


def _carry_over(old: str, new: str) -> None:
    """The language switched (a callback): keep the open tab, and the drawing on the canvas.

    The tabs' value is the open tab's label, which the new language renames. The tab
    bar is built anew under the new labels (its identity includes them), and so may be
    the canvas inside it: :func:`draw.keep_drawing` has it drawn again from its strokes.
    """
    labels = {i18n.translate(old, f"tab.{name}"): name for name in TABS}
    name = labels.get(st.session_state.get(TAB_KEY), TABS[0])
    st.session_state[TAB_KEY] = i18n.translate(new, f"tab.{name}")
    draw.keep_drawing()


@st.fragment(run_every=KEEPALIVE_S)
def keepalive() -> None:
    """Heartbeat for the worker while its live view is not on screen."""
    job = state.job()
    job.beat()
    if not job.snapshot().active:
        st.rerun()  # the run ended: refresh the page once (and stop this timer)
