"""The page: a title and four tabs, Draw (:mod:`.draw`), Explore (:mod:`.explore`),
How it works (:mod:`.howitworks`) and Train (:mod:`.train_view`).

The tabs are *lazy*: the content of Explore, How it works and Train (and the
Train tab's live view, that refreshes twice a second during a run) only runs
while that tab is open (``st.tabs(..., on_change="rerun")`` and ``tab.open``).
The Draw tab always runs: a canvas left out of a run would lose its drawing. While a run
goes on and the Train tab is closed, :func:`keepalive` tells the run that the
page is still there.
"""

from __future__ import annotations

import streamlit as st

from . import draw, explore, howitworks, state, train_view

KEEPALIVE_S = 10  #: heartbeat period while a run is active and the Train tab is closed

#: The charts' words (axes, legends, titles) in the theme's text colour. Streamlit's chart
#: theme writes them in a fixed grey, #808495 in the light theme: 3.6:1 on white, under
#: the 4.5:1 that text needs (tests/test_theme.py). The marks' colours are the theme's
#: palette (digitnet/app/charts.py).
PAGE_CSS = """
[data-testid="stVegaLiteChart"] :is(.role-axis-label, .role-axis-title, .role-legend-label,
  .role-legend-title, .role-title-text) text { fill: currentColor; }
"""


def main() -> None:
    st.set_page_config(page_title="digitnet: draw a digit", page_icon="✍️", layout="centered")
    state.watch_visitor()  # the memory comes back once the page has been gone a while
    st.html(f"<style>{PAGE_CSS}</style>")  # style only: takes no room on the page
    st.subheader("✍️ digitnet", anchor=False)  # no link icon: one keyboard stop less
    st.caption("A neural network written from scratch in NumPy reads your handwriting.")
    opened = train_view.open_link()  # on the first run: the link this visit came with
    if opened is not None and opened.preset is not None:
        st.session_state["tab"] = "Train"  # a link to a setting opens the Train tab
    tab_draw, tab_explore, tab_how, tab_train = st.tabs(
        ["Draw", "Explore", "How it works", "Train"], key="tab", on_change="rerun"
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


@st.fragment(run_every=KEEPALIVE_S)
def keepalive() -> None:
    """Heartbeat for the worker while its live view is not on screen."""
    job = state.job()
    job.beat()
    if not job.snapshot().active:
        st.rerun()  # the run ended: refresh the page once (and stop this timer)
