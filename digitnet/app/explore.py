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

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from .. import tta
from ..errors import DataError
from ..explain import hidden_contributions, incoming_weights
from ..model import MLP
from . import charts, state

PER_PAGE = 25  #: digits and units per page (the article's 5×5 figure)
TOP_UNITS = 5  #: units shown with their pictures, each way
TOP_BARS = 8  #: units in the contributions chart, each way
TILE = 128  #: px: a 28×28 picture enlarged 4× in a frame (five a row on a wide page)
ALL = "all"

POSITIVE = np.array([255, 99, 71], np.float64)  # ink here excites the unit / pushes towards
NEGATIVE = np.array([66, 155, 255], np.float64)  # ink here inhibits it / pushes away
ACTIVE = np.array([255, 189, 69], np.float64)  # amber: a hidden unit's activation
#: The confusion matrix is a dark panel of its own in both themes: its cells' colours and
#: the counts written on them (each pair contrasts 4.5:1 or more: tests/test_theme.py).
CELL_RIGHT, TEXT_RIGHT = "#20344a", "#9fb3c8"  # the diagonal: read right
CELL_NONE = "#1e2128"  # no mistake
CELL_MISTAKES = ("#3a1f24", "#c62828")  # one mistake ... the most, on a square-root scale
TEXT_OTHER = "#ffffff"  # the counts off the diagonal
CHOSEN = "#ffbd45"  # the frame of the chosen cell(s)


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

    def progress(name: str, done: int, total: int | None) -> None:
        bar.progress(min(1.0, done / total) if total else 0.0,
                     text=f"Downloading MNIST (once per server): {name}")  # fmt: skip

    try:
        data = state.test_data(progress)
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
    target = st.session_state.get("explain_target")
    c = hidden_contributions(model, image, target)
    answer = int(np.argmax(c.probabilities))
    units = len(c.activations)
    first_layer = c.layer == 1 and len(model.weights_) == 2
    pos, neg = (
        c.contributions[c.contributions > 0].sum(),
        c.contributions[c.contributions < 0].sum(),
    )

    left, right = st.columns([1, 2], gap="medium")
    left.image(big(image, 5), caption="your drawing, as the network sees it", width=140,
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
            key="explain_target",
            wrap=True,
            help="By default the answer's. Pick another digit to see why the network "
            "did not answer it.",
        )
    left, right = st.columns(2, gap="medium")
    left.image(
        activation_picture(c.activations),
        caption=activation_caption(model, c.activations, c.layer),
        width="content",
        alt=f"A grid of {len(c.activations)} squares, one per hidden unit: the brighter "
        "the amber, the more active the unit for your drawing",
    )
    right.vega_lite_chart(*contributions_chart(c, TOP_BARS), width="stretch")
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
            [tile(diverging(w)) for w in incoming_weights(model, top)],
            caption=[
                f"#{u}: {c.activations[u]:.2f} × {c.weights[u]:+.2f} = {c.contributions[u]:+.2f}"
                for u in top
            ],
            alt=[unit_alt(u) for u in top],
            width=TILE,
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


def contributions_chart(c, k: int) -> tuple[pd.DataFrame, dict]:
    """Horizontal bars: the k strongest pushes each way, largest at the top."""
    units = np.concatenate([c.top(k, 1), c.top(k, -1)[::-1]])
    data = pd.DataFrame(
        {
            "unit": [f"#{u}" for u in units],
            "push": c.contributions[units],
            "activation": c.activations[units],
            "weight": c.weights[units],
            "way": ["towards" if v > 0 else "away" for v in c.contributions[units]],
        }
    )
    spec = {
        "height": max(120, 22 * len(units)),
        "mark": {"type": "bar", "cornerRadiusEnd": 2},
        "encoding": {
            "y": {"field": "unit", "type": "nominal", "sort": None, "title": None,
                  "axis": {"labelOverlap": False}},
            "x": {"field": "push", "type": "quantitative",
                  "title": f"activation × weight to output {c.target}",
                  # a set domain: no extent computed from the empty data Vega starts with
                  "scale": {"domain": charts.nice_domain([0.0, *data["push"]])}},
            "color": {"field": "way", "type": "nominal", "legend": None,
                      "scale": {"domain": charts.palette_domain({charts.EXCITE: "towards",
                                                                charts.INHIBIT: "away"})}},
            "tooltip": [{"field": "unit"}, {"field": "activation", "format": ".3f"},
                        {"field": "weight", "format": "+.3f"}, {"field": "push", "format": "+.3f"}],
        },
    }  # fmt: skip
    return data, spec


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
        f"{len(r['errors'])} mistakes{_most_confused(cm)}. Click a cell of the matrix to see "
        "its digits below (double-click: all mistakes)."
    )
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.vega_lite_chart(
            spec=confusion_spec(tuple(map(tuple, cm.tolist())), _filters()),
            key=f"confusion_{st.session_state.get('confusion_rev', 0)}",
            on_select=_cell_clicked,
            selection_mode="cell",
            width="stretch",
        )
    with right:
        st.vega_lite_chart(*per_class_chart(r["per_class"]), width="stretch")
        st.caption(per_class_summary(r["per_class"]))
    gallery(r, X, y)


@st.cache_data(show_spinner=False, max_entries=64)
def confusion_spec(cm: tuple, chosen: tuple) -> dict:
    """:func:`confusion_chart` as a Vega-Lite spec, made once per matrix and choice.

    Building the Altair chart and validating it takes about 0.25 s, most of a
    rerun of this tab; the spec it gives is drawn by ``st.vega_lite_chart``.
    """
    return confusion_chart(np.asarray(cm), chosen).to_dict()


def confusion_chart(cm: np.ndarray, chosen: tuple) -> alt.LayerChart:
    """10×10 heat map: rows the true digit, columns what was read; mistakes in red.

    Layers: the cells (right answers dark blue, no mistake dark grey), the
    mistakes coloured by their count, the counts, and on top an invisible layer
    that takes the clicks (the ``cell`` selection) and frames the chosen cell(s).
    """
    rows = [
        {"actual": t, "read": p, "count": int(cm[t, p]), "right": t == p,
         "chosen": (chosen[0] in (ALL, t)) and (chosen[1] in (ALL, p)) and chosen != (ALL, ALL)}
        for t in range(10)
        for p in range(10)
    ]  # fmt: skip
    df = pd.DataFrame(rows)
    df["label"] = [str(c) if c else "" for c in df["count"]]
    worst = max(1, int(cm[~np.eye(10, dtype=bool)].max()))
    base = alt.Chart(df).encode(
        x=alt.X("read:O", title="read as", axis=alt.Axis(labelAngle=0, orient="top")),
        y=alt.Y("actual:O", title="true digit"),
    )
    cells = base.mark_rect().encode(
        color=alt.condition("datum.right", alt.value(CELL_RIGHT), alt.value(CELL_NONE))
    )
    mistakes = (
        base.transform_filter("!datum.right && datum.count > 0")
        .mark_rect()
        .encode(
            color=alt.Color(
                "count:Q",
                scale=alt.Scale(type="sqrt", domain=[0, worst], range=list(CELL_MISTAKES)),
                legend=None,
            )
        )
    )
    text = base.mark_text(fontSize=11).encode(
        text="label:N",
        color=alt.condition("datum.right", alt.value(TEXT_RIGHT), alt.value(TEXT_OTHER)),
    )
    cell = alt.selection_point(name="cell", fields=["actual", "read"], on="click", clear="dblclick")
    clicks = (
        base.mark_rect(fill="transparent", cursor="pointer")
        .encode(
            stroke=alt.condition("datum.chosen", alt.value(CHOSEN), alt.value("transparent")),
            strokeWidth=alt.condition("datum.chosen", alt.value(2.5), alt.value(0)),
            tooltip=[
                alt.Tooltip("actual:O", title="true digit"),
                alt.Tooltip("read:O", title="read as"),
                alt.Tooltip("count:Q", title="test digits"),
            ],
        )
        .add_params(cell)
    )
    return (cells + mistakes + text + clicks).properties(height=330)


def _most_confused(cm: np.ndarray) -> str:
    """ ", the most: 4s read as 9 (12)": the matrix's message in words ("" if no mistake)."""
    off = cm * (1 - np.eye(len(cm), dtype=cm.dtype))
    if not off.any():
        return ""
    true, read = np.unravel_index(int(off.argmax()), off.shape)
    return f", the most: {true}s read as {read} ({off[true, read]})"


def per_class_summary(per_class) -> str:
    """The per-digit accuracy chart in one line of words."""
    acc = np.asarray(per_class)
    low, high = int(acc.argmin()), int(acc.argmax())
    return (
        f"Accuracy per true digit: from {acc[low]:.1%} for the {low}s to "
        f"{acc[high]:.1%} for the {high}s."
    )


def per_class_chart(per_class) -> tuple[pd.DataFrame, dict]:
    """Accuracy per true digit, as points (the axis does not start at 0: they are all high)."""
    data = pd.DataFrame({"digit": [str(d) for d in range(10)], "accuracy": np.asarray(per_class)})
    # the theme's colours (digitnet/app/charts.py): the points in the main one, the labels
    # in the guides'
    colors = {"scale": {"domain": charts.palette_domain({charts.MAIN: "accuracy",
                                                         charts.GUIDE: "label"})},
              "legend": None}  # fmt: skip
    spec = {
        "height": 330,
        "title": {"text": "accuracy per digit", "fontSize": 13, "fontWeight": "normal"},
        "encoding": {
            "x": {"field": "digit", "type": "nominal", "title": None, "axis": {"labelAngle": 0}},
            "y": {"field": "accuracy", "type": "quantitative", "title": None,
                  "scale": {"domain": charts.nice_domain(data["accuracy"], lowest=0, highest=1),
                            "nice": False, "padding": 24},
                  "axis": {"format": ".1%", "tickCount": 5}},
            "tooltip": [{"field": "digit"}, {"field": "accuracy", "format": ".2%"}],
        },
        "layer": [
            {"mark": {"type": "point", "filled": True, "size": 70},
             "encoding": {"color": {"datum": "accuracy", **colors}}},
            {"mark": {"type": "text", "dy": -11, "fontSize": 10},
             "encoding": {"text": {"field": "accuracy", "format": ".1%"},
                          "color": {"datum": "label", **colors}}},
        ],
    }  # fmt: skip
    return data, spec


def _filters() -> tuple:
    return st.session_state.get("ex_true", ALL), st.session_state.get("ex_read", ALL)


def _cell_clicked(key: str | None = None) -> None:
    """A cell of the heat map clicked (or the selection cleared): set the gallery's filters."""
    key = key or f"confusion_{st.session_state.get('confusion_rev', 0)}"
    event = st.session_state.get(key) or {}
    chosen = selected_cell(event)
    st.session_state.ex_true, st.session_state.ex_read = chosen if chosen else (ALL, ALL)
    st.session_state.ex_page = 1


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
    st.session_state.ex_page = 1
    st.session_state.confusion_rev = st.session_state.get("confusion_rev", 0) + 1  # unselect


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
    true = bar.selectbox("True digit", options, key="ex_true", on_change=_filters_changed,
                         format_func=_digit_label, width=140)  # fmt: skip
    read = bar.selectbox("Read as", options, key="ex_read", on_change=_filters_changed,
                         format_func=_digit_label, width=140)  # fmt: skip
    idx = chosen_digits(r, y, true, read)
    pages = max(1, math.ceil(len(idx) / PER_PAGE))
    if st.session_state.get("ex_page", 1) > pages:
        st.session_state.ex_page = 1
    page = 1
    if pages > 1:
        page = bar.number_input("Page", 1, pages, key="ex_page", width=140)
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
        [tile(big(X[i], 4)) for i in shown],
        caption=[f"{y[i]} → {pred[i]} ({probs[i, pred[i]]:.0%})" for i in shown],
        alt=[f"MNIST test digit {i}, a {y[i]}, read as {pred[i]}" for i in shown],
        width=TILE,
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
        [tile(diverging(w)) for w in incoming_weights(model, shown)],
        caption=[f"#{u}" for u in shown],
        alt=[unit_alt(u) for u in shown],
        width=TILE,
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


# ---------------------------------------------------------------- pictures
def big(image: np.ndarray, k: int) -> np.ndarray:
    """A 28×28 image (uint8, or floats in [0, 1]) as uint8, enlarged k× (nearest)."""
    a = np.asarray(image).reshape(28, 28)
    if a.dtype != np.uint8:
        a = np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)
    return np.repeat(np.repeat(a, k, axis=0), k, axis=1)


def tile(picture: np.ndarray, side: int = TILE, frame=(70, 70, 80)) -> np.ndarray:
    """A picture centred on a black square of ``side`` px with a 1-px frame (RGB uint8)."""
    if picture.ndim == 2:
        picture = np.repeat(picture[..., None], 3, axis=2)
    h, w = picture.shape[:2]
    out = np.zeros((side, side, 3), np.uint8)
    top, left = (side - h) // 2, (side - w) // 2
    out[top : top + h, left : left + w] = picture
    out[[0, -1], :] = frame
    out[:, [0, -1]] = frame
    return out


def diverging(w: np.ndarray, k: int = 4) -> np.ndarray:
    """Weights as RGB: red positive, blue negative, black 0; scaled by their largest |w|."""
    w = np.asarray(w, np.float64).reshape(28, 28)
    scale = float(np.abs(w).max()) or 1.0
    t = np.clip(w / scale, -1.0, 1.0)[..., None]
    rgb = np.where(t >= 0, POSITIVE, NEGATIVE) * np.abs(t) ** 0.75
    out = np.round(rgb).astype(np.uint8)
    return np.repeat(np.repeat(out, k, axis=0), k, axis=1)


def unit_alt(unit: int) -> str:
    """The alt text of a hidden unit's picture (:func:`diverging` of its weights)."""
    return (
        f"What hidden unit {unit} looks for: its weight per pixel, red where ink excites "
        "it, blue where ink inhibits it"
    )


def activation_picture(a: np.ndarray, square: int = 8) -> np.ndarray:
    """The activations as a grid of squares (row by row), amber brightness by activation."""
    n = len(a)
    cols = min(n, max(10, math.ceil(math.sqrt(2 * n))))
    rows = math.ceil(n / cols)
    scale = float(np.abs(a).max()) or 1.0
    level = np.zeros(rows * cols)
    level[:n] = a / scale
    grid = level.reshape(rows, cols)[..., None]
    rgb = np.where(grid >= 0, ACTIVE, NEGATIVE) * np.abs(grid) ** 0.6
    rgb[np.arange(rows * cols).reshape(rows, cols) >= n] = (14, 17, 23)  # past the last unit
    big_ = np.repeat(np.repeat(np.round(rgb).astype(np.uint8), square, 0), square, 1)
    big_[::square, :] = (30, 34, 44)  # a thin grid, so that dark units still show
    big_[:, ::square] = (30, 34, 44)
    return big_
