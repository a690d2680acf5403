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
from . import charts, i18n, pictures, state
from .charts import ALL
from .i18n import t

PER_PAGE = 25  #: digits and units per page (the article's 5×5 figure)
TOP_UNITS = 5  #: units shown with their pictures, each way
TOP_BARS = 8  #: units in the contributions chart, each way


def render() -> None:
    """The whole Explore tab (only run while it is the open tab)."""
    who = state.answering_model()
    if who.model is None:
        st.error(who.note or t("explore.no_model"))
        return
    st.caption(t("explore.exploring", model=who.description))
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
            t("explore.no_test_set", detail=str(e).splitlines()[0]), icon=":material/cloud_off:"
        )
        return None
    bar.empty()
    return data


# ---------------------------------------------------------------- 1. why this answer
def why_section(model: MLP) -> None:
    st.markdown("#### " + t("explore.why.heading"))
    image = st.session_state.get(state.DRAWING_KEY)
    if image is None:
        st.info(t("explore.draw_first"), icon=":material/draw:")
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
    left.image(pictures.big(image, 5), caption=t("explore.your_drawing"), width=140,
               alt=t("explore.your_drawing_alt"))  # fmt: skip
    with right:
        said = [t("explore.read", answer=answer, p=c.probabilities[answer])]
        if target is not None and target != answer:
            said.append(t("explore.why_not", target=target))
        drawn = tta.predict_proba(model, image)[0]
        if int(drawn.argmax()) != answer:  # the Draw tab averages seven views of it
            said.append(t("explore.draw_tab_says", digit=int(drawn.argmax())))
        said.append(t("explore.sum", target=c.target, units=units))
        st.markdown(i18n.join(*said))
        st.latex(rf"z_{{{c.target}}} = \sum_j a_j W_{{j,{c.target}}} + b_{{{c.target}}}")
        st.markdown(
            t("explore.sum_here", target=c.target, pos=pos, neg=neg, bias=c.bias, logit=c.logit)
        )
        st.segmented_control(
            t("explore.target"),
            list(range(10)),
            key=state.EXPLAIN_TARGET_KEY,
            wrap=True,
            help=t("explore.target_help"),
        )
    left, right = st.columns(2, gap="medium")
    left.image(
        pictures.activation_picture(c.activations),
        caption=activation_caption(model, c.activations, c.layer),
        width="content",
        alt=t("explore.grid_alt", units=len(c.activations)),
    )
    right.vega_lite_chart(*charts.contributions_chart(c, TOP_BARS), width="stretch")
    if not first_layer:
        st.caption(t("explore.deep"))
        return
    for sign, title in ((1, t("explore.towards", target=c.target)), (-1, t("explore.away"))):
        top = c.top(TOP_UNITS, sign)
        if not len(top):
            continue
        st.markdown(t("explore.looks_for", title=title))
        st.image(
            [pictures.tile(pictures.diverging(w)) for w in incoming_weights(model, top)],
            caption=[
                f"#{u}: {c.activations[u]:.2f} × {c.weights[u]:+.2f} = {c.contributions[u]:+.2f}"
                for u in top
            ],
            alt=[pictures.unit_alt(u) for u in top],
            width=pictures.TILE,
        )
    st.caption(t("explore.push_caption"))


def activation_caption(model: MLP, a: np.ndarray, layer: int) -> str:
    where = t("explore.layer_one") if layer == 1 else t("explore.layer_last", layer=layer)
    text = t("explore.units_grid", where=where, units=len(a))
    if model.activation == "relu":
        text = i18n.join(text, t("explore.relu_active", active=int((a > 0).sum())))
    return text


# ---------------------------------------------------------------- 2. mistakes
def mistakes_section(model: MLP, X: np.ndarray, y: np.ndarray) -> None:
    st.markdown("#### " + t("explore.mistakes.heading"))
    try:
        r = state.test_evaluation(model)
    except state.EvaluationBusy:
        st.info(t("data.busy"), icon=":material/hourglass_top:")
        st.button(t("explore.try_again"), key="evaluation_retry")
        return
    cm = np.asarray(r["confusion"])
    st.caption(charts.mistakes_caption(r, cm))
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.vega_lite_chart(
            spec=charts.confusion_spec(tuple(map(tuple, cm.tolist())), _filters(), i18n.current()),
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
    bar = st.container(horizontal=True, gap="small")
    true, read = (
        bar.selectbox(t(text), [ALL, *range(10)], key=key, on_change=_filters_changed,
                      format_func=i18n.labeller("explore.digit."), width=140)
        for text, key in (("explore.true_digit", state.GALLERY_TRUE_KEY),
                          ("explore.read_as_digit", state.GALLERY_READ_KEY))
    )  # fmt: skip
    idx = chosen_digits(r, y, true, read)
    pages = max(1, math.ceil(len(idx) / PER_PAGE))
    if st.session_state.get(state.GALLERY_PAGE_KEY, 1) > pages:
        st.session_state[state.GALLERY_PAGE_KEY] = 1
    page = 1
    if pages > 1:
        page = bar.number_input(t("explore.page"), 1, pages, key=state.GALLERY_PAGE_KEY, width=140)
    what = describe_choice(true, read)
    if not len(idx):
        st.info(t("explore.none", what=what))
        return
    shown = idx[(page - 1) * PER_PAGE : page * PER_PAGE]
    if pages > 1:
        st.caption(t("explore.gallery_pages", count=len(idx), what=what, page=page, pages=pages))
    else:
        st.caption(t("explore.gallery", count=len(idx), what=what))
    probs = r["probabilities"]
    pred = r["predictions"]
    st.image(
        [pictures.tile(pictures.big(X[i], 4)) for i in shown],
        caption=[f"{y[i]} → {pred[i]} ({probs[i, pred[i]]:.0%})" for i in shown],
        alt=[t("explore.gallery_alt", index=i, true=y[i], read=pred[i]) for i in shown],
        width=pictures.TILE,
    )


def describe_choice(true, read) -> str:
    """What the gallery shows, as a noun phrase: "4s misread as 9", "mistakes", ..."""
    if true != ALL and true == read:
        return t("explore.choice.right", true=true)
    if true == ALL and read == ALL:
        return t("explore.choice.mistakes")
    if read == ALL:
        return t("explore.choice.true", true=true)
    if true == ALL:
        return t("explore.choice.read", read=read)
    return t("explore.choice.both", true=true, read=read)


# ---------------------------------------------------------------- 3. the units
def units_section(model: MLP) -> None:
    st.markdown("#### " + t("explore.units.heading"))
    n = model.weights_[0].shape[1]
    pages = max(1, math.ceil(n / PER_PAGE))
    image = st.session_state.get(state.DRAWING_KEY)
    orders = ["number", "active"] if image is not None else []
    bar = st.container(horizontal=True, gap="small")
    order = (
        bar.segmented_control(t("explore.units.order"), orders, default=orders[0],
                              format_func=i18n.labeller("explore.units.by_"),
                              key="units_order", required=True)
        if orders
        else "number"
    )  # fmt: skip
    page = (
        bar.number_input(t("explore.page"), 1, pages, key="units_page", width=140)
        if pages > 1
        else 1
    )
    if order == "number":
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
    text = t("explore.units.caption", shown=len(shown), units=n)
    if model.input_scaling == "unit":
        text = i18n.join(text, t("explore.units.speckle"))
    st.caption(text)
