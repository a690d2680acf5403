"""The Explore tab: why the network answered, where it goes wrong, what its units look for.

Three sections, for the model answering on the Draw tab:

1. **Why this answer?** For the drawing on the Draw tab: the hidden layer's
   activations, and the units that pushed the answer hardest towards it and
   away from it -- each unit's activation times its weight to the answer's
   output unit (:func:`digitnet.explain.hidden_contributions`), with the
   picture of what the unit looks for.
2. **Its mistakes on the MNIST test set**: the confusion matrix as a heat map
   (click a cell: its digits are shown below), the accuracy per digit, and a
   gallery of the misread test digits, 25 a page, each with its true digit and
   what the network read (the article's 5×5 figure).
3. **What each hidden unit looks for**: the first hidden layer's incoming
   weights as 28×28 pictures, 25 a page, red where ink excites the unit and
   blue where it inhibits it.

The MNIST test set is loaded once per server, and each model is evaluated on
it once (:func:`state.test_evaluation`, cached by the weights' fingerprint).
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from .. import tta
from ..errors import DataError
from ..explain import hidden_contributions, incoming_weights
from ..model import MLP
from . import charts, pictures, state
from .charts import ALL

PER_PAGE = 25  #: digits and units per page (the article's 5×5 figure)
TOP_UNITS = 5  #: units shown with their pictures, each way
TOP_BARS = 8  #: units in the contributions chart, each way


def render() -> None:
    """The whole Explore tab (only run while it is the open tab)."""
    who = state.answering_model()
    if who.model is None:
        st.error(who.note or "No model to explore.")
        return
    st.caption(f"Exploring {who.description}.")
    why_section(who.model)
    data = test_data()
    if data is not None:
        mistakes_section(who.model, *data)
    units_section(who.model)


def test_data():
    """The MNIST test set (downloaded the first time, with a progress bar), or None."""
    bar = st.empty()
    try:
        data = state.test_data(state.download_progress(bar))
    except DataError as e:
        bar.empty()
        st.error(
            f"The MNIST test set is needed for this section: {str(e).splitlines()[0]}",
            icon=":material/cloud_off:",
        )
        return None
    bar.empty()
    return data


# ---------------------------------------------------------------- 1. why this answer
def why_section(model: MLP) -> None:
    st.markdown("#### Why this answer?")
    image = st.session_state.get(state.DRAWING_KEY)
    if image is None:
        st.info(
            "Draw a digit on the Draw tab: here you will see which hidden units pushed the "
            "network to its answer.",
            icon=":material/draw:",
        )
        return
    target = st.session_state.get(state.EXPLAIN_TARGET_KEY)
    c = hidden_contributions(model, image, target)
    answer = int(np.argmax(c.probabilities))
    units = len(c.activations)
    first_layer = c.layer == 1 and len(model.weights_) == 2
    pos, neg = (
        c.contributions[c.contributions > 0].sum(),
        c.contributions[c.contributions < 0].sum(),
    )

    left, right = st.columns([1, 2], gap="medium")
    left.image(pictures.big(image, 5), caption="your drawing, as the network sees it", width=140,
               alt="Your drawing, centred in 28 by 28 pixels, white on black")  # fmt: skip
    with right:
        asked = "" if target is None or target == answer else f" Why not a {target}?"
        drawn = tta.predict_proba(model, image)[0]
        if int(drawn.argmax()) != answer:  # the Draw tab averages seven views of it
            asked += (
                f" (The Draw tab says {int(drawn.argmax())}: it also reads the drawing "
                "slightly turned, scaled and sheared, and averages.)"
            )
        st.markdown(
            f"The network read **{answer}** ({c.probabilities[answer]:.0%}).{asked} "
            f"Output unit {c.target} adds up the {units} hidden units' activations, each "
            f"times its weight to it, plus a bias:"
        )
        st.latex(rf"z_{{{c.target}}} = \sum_j a_j W_{{j,{c.target}}} + b_{{{c.target}}}")
        st.markdown(
            f"Here: **{pos:+.1f}** from the units pushing towards {c.target}, **{neg:+.1f}** "
            f"from those pushing away, **{c.bias:+.1f}** of bias: z = **{c.logit:.1f}**."
        )
        st.segmented_control(
            "Explain the output unit of",
            list(range(10)),
            key=state.EXPLAIN_TARGET_KEY,
            wrap=True,
            help="By default the answer's. Pick another digit to see why the network "
            "did not answer it.",
        )
    left, right = st.columns(2, gap="medium")
    left.image(
        pictures.activation_picture(c.activations),
        caption=activation_caption(model, c.activations, c.layer),
        width="content",
        alt=f"A grid of {len(c.activations)} squares, one per hidden unit: the brighter "
        "the amber, the more active the unit for your drawing",
    )
    right.vega_lite_chart(*charts.contributions_chart(c, TOP_BARS), width="stretch")
    if not first_layer:
        st.caption(
            "With several hidden layers, the units that feed the output are in the last "
            "one, which does not look at the pixels directly: no pictures for them."
        )
        return
    for sign, title in ((1, f"Pushed hardest towards {c.target}"), (-1, "… and away from it")):
        top = c.top(TOP_UNITS, sign)
        if not len(top):
            continue
        st.markdown(f"**{title}**: what each of these units looks for")
        st.image(
            [pictures.tile(pictures.diverging(w)) for w in incoming_weights(model, top)],
            caption=[
                f"#{u}: {c.activations[u]:.2f} × {c.weights[u]:+.2f} = {c.contributions[u]:+.2f}"
                for u in top
            ],
            alt=[pictures.unit_alt(u) for u in top],
            width=pictures.TILE,
        )
    st.caption(
        "Under each unit: its activation × its weight to the output = its push. Red: ink "
        "there excites the unit; blue: ink there inhibits it."
    )


def activation_caption(model: MLP, a: np.ndarray, layer: int) -> str:
    where = "the hidden layer" if layer == 1 else f"the last hidden layer (layer {layer})"
    text = f"The {len(a)} units of {where}, in order, row by row: the brighter, the more active."
    if model.activation == "relu":
        text += f" {int((a > 0).sum())} of them are active (ReLU output above 0)."
    return text


# ---------------------------------------------------------------- 2. mistakes
def mistakes_section(model: MLP, X: np.ndarray, y: np.ndarray) -> None:
    st.markdown("#### Its mistakes on the MNIST test set")
    try:
        r = state.test_evaluation(model)
    except state.EvaluationBusy as e:
        st.info(str(e), icon=":material/hourglass_top:")
        st.button("Try again", key="evaluation_retry")
        return
    cm = np.asarray(r["confusion"])
    st.caption(
        f"{r['accuracy']:.2%} of the {r['n']:,} test digits read right: "
        f"{len(r['errors'])} mistakes{charts.most_confused(cm)}. Click a cell of the matrix to see "
        "its digits below (double-click: all mistakes)."
    )
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.vega_lite_chart(
            spec=charts.confusion_spec(tuple(map(tuple, cm.tolist())), _filters()),
            key=f"confusion_{st.session_state.get(state.CONFUSION_REVISION_KEY, 0)}",
            on_select=_cell_clicked,
            selection_mode="cell",
            width="stretch",
        )
    with right:
        st.vega_lite_chart(*charts.per_class_chart(r["per_class"]), width="stretch")
        st.caption(charts.per_class_summary(r["per_class"]))
    gallery(r, X, y)


def _filters() -> tuple:
    return st.session_state.get(state.GALLERY_TRUE_KEY, ALL), st.session_state.get(
        state.GALLERY_READ_KEY, ALL
    )


def _cell_clicked(key: str | None = None) -> None:
    """A cell of the heat map clicked (or the selection cleared): set the gallery's filters."""
    key = key or f"confusion_{st.session_state.get(state.CONFUSION_REVISION_KEY, 0)}"
    event = st.session_state.get(key) or {}
    chosen = selected_cell(event)
    st.session_state[state.GALLERY_TRUE_KEY], st.session_state[state.GALLERY_READ_KEY] = (
        chosen if chosen else (ALL, ALL)
    )
    st.session_state[state.GALLERY_PAGE_KEY] = 1


def selected_cell(event) -> tuple[int, int] | None:
    """``(true, read)`` of the clicked cell in an ``st.altair_chart`` selection event."""
    try:
        sel = event["selection"]["cell"]
    except (KeyError, TypeError):
        return None
    if isinstance(sel, dict):  # {"actual": [4], "read": [9]}
        sel = [{k: (v[0] if isinstance(v, list) and v else v) for k, v in sel.items()}]
    if not sel or not isinstance(sel, list) or not isinstance(sel[0], dict):
        return None
    try:
        return int(sel[0]["actual"]), int(sel[0]["read"])
    except (KeyError, TypeError, ValueError):
        return None


def _filters_changed() -> None:
    st.session_state[state.GALLERY_PAGE_KEY] = 1
    st.session_state[state.CONFUSION_REVISION_KEY] = (
        st.session_state.get(state.CONFUSION_REVISION_KEY, 0) + 1
    )  # unselect


def chosen_digits(r: dict, y: np.ndarray, true, read) -> np.ndarray:
    """Indices of the test digits the filters choose: mistakes unless a diagonal cell is."""
    pred = r["predictions"]
    keep = np.ones(len(y), bool) if (true != ALL and true == read) else pred != y
    if true != ALL:
        keep &= y == true
    if read != ALL:
        keep &= pred == read
    return np.flatnonzero(keep)


def gallery(r: dict, X: np.ndarray, y: np.ndarray) -> None:
    """The misread digits (or those of the chosen cell), PER_PAGE a page."""
    options = [ALL, *range(10)]
    bar = st.container(horizontal=True, gap="small")
    true = bar.selectbox("True digit", options, key=state.GALLERY_TRUE_KEY, width=140,
                         on_change=_filters_changed, format_func=_digit_label)  # fmt: skip
    read = bar.selectbox("Read as", options, key=state.GALLERY_READ_KEY, width=140,
                         on_change=_filters_changed, format_func=_digit_label)  # fmt: skip
    idx = chosen_digits(r, y, true, read)
    pages = max(1, math.ceil(len(idx) / PER_PAGE))
    if st.session_state.get(state.GALLERY_PAGE_KEY, 1) > pages:
        st.session_state[state.GALLERY_PAGE_KEY] = 1
    page = 1
    if pages > 1:
        page = bar.number_input("Page", 1, pages, key=state.GALLERY_PAGE_KEY, width=140)
    what = describe_choice(true, read)
    if not len(idx):
        st.info(f"No {what} in the test set.")
        return
    shown = idx[(page - 1) * PER_PAGE : page * PER_PAGE]
    st.caption(
        f"{len(idx)} {what}"
        + (f", page {page} of {pages}" if pages > 1 else "")
        + ". Under each: the true digit → what the network read (its probability)."
    )
    probs = r["probabilities"]
    pred = r["predictions"]
    st.image(
        [pictures.tile(pictures.big(X[i], 4)) for i in shown],
        caption=[f"{y[i]} → {pred[i]} ({probs[i, pred[i]]:.0%})" for i in shown],
        alt=[f"MNIST test digit {i}, a {y[i]}, read as {pred[i]}" for i in shown],
        width=pictures.TILE,
    )


def describe_choice(true, read) -> str:
    if true != ALL and true == read:
        return f"{true}s read right"
    if true == ALL and read == ALL:
        return "mistakes"
    if read == ALL:
        return f"{true}s misread"
    if true == ALL:
        return f"digits misread as {read}"
    return f"{true}s misread as {read}"


def _digit_label(v) -> str:
    return "any" if v == ALL else str(v)


# ---------------------------------------------------------------- 3. the units
def units_section(model: MLP) -> None:
    st.markdown("#### What each hidden unit looks for")
    n = model.weights_[0].shape[1]
    pages = max(1, math.ceil(n / PER_PAGE))
    image = st.session_state.get(state.DRAWING_KEY)
    orders = ["unit number", "most active for your drawing"] if image is not None else []
    bar = st.container(horizontal=True, gap="small")
    order = (
        bar.segmented_control("Order", orders, default=orders[0], key="units_order", required=True)
        if orders
        else "unit number"
    )
    page = bar.number_input("Page", 1, pages, key="units_page", width=140) if pages > 1 else 1
    if order == "unit number":
        units = np.arange(n)
    else:
        a = model.forward(model.prepare(np.asarray(image).reshape(1, -1)))[1][0]
        units = np.argsort(-a, kind="stable")
    shown = units[(page - 1) * PER_PAGE : page * PER_PAGE]
    st.image(
        [pictures.tile(pictures.diverging(w)) for w in incoming_weights(model, shown)],
        caption=[f"#{u}" for u in shown],
        alt=[pictures.unit_alt(u) for u in shown],
        width=pictures.TILE,
    )
    text = (
        f"The incoming weights of {len(shown)} of the first hidden layer's {n} units, one "
        "per pixel: red where ink excites the unit (positive weight), blue where ink "
        "inhibits it (negative), black where the pixel hardly matters. Each picture has "
        "its own scale, its largest weight."
    )
    if model.input_scaling == "unit":
        text += (
            " The speckle, mostly near the edges, is where no training digit ever had "
            "ink: a blank pixel is a 0 input, so its weights never moved from their "
            "random start."
        )
    st.caption(text)
