"""Vega-Lite charts for the app: the ten probabilities, and the training curves.

Each function returns ``(data, spec)`` for ``st.vega_lite_chart(data, spec)``.
The specs are written by hand rather than built with ``st.line_chart`` or
Altair: the live training view redraws its charts twice a second, and a
hand-written spec costs about 3 ms a call where ``st.line_chart`` costs about
50. A spec that stays the same between refreshes also lets the browser update
the chart's data in place instead of rebuilding it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

PALETTE = ["#ff4b4b", "#1c83e1", "#21c354", "#ffbd45", "#a66ee0", "#2cc5c5", "#ff8c42"]
SURE, UNSURE, OTHER = "answer", "answer (not sure)", "other digits"
BAR_COLORS = {SURE: "#ff4b4b", UNSURE: "#ffbd45", OTHER: "#6b7b8c"}


# ---------------------------------------------------------------- Draw tab
def probabilities(probs: np.ndarray, threshold: float) -> tuple[pd.DataFrame, dict]:
    """Bars of the ten probabilities; the answer highlighted, the "not sure" line dashed."""
    top = int(np.argmax(probs))
    kind = SURE if probs[top] >= threshold else UNSURE
    data = pd.DataFrame(
        {
            "digit": [str(d) for d in range(10)],
            "p": np.asarray(probs, dtype=float),
            "kind": [kind if d == top else OTHER for d in range(10)],
        }
    )
    spec = {
        "height": 170,
        "layer": [
            {
                "mark": {"type": "bar", "cornerRadiusEnd": 2},
                "encoding": {
                    "x": {"field": "digit", "type": "nominal", "sort": None, "title": None,
                          "axis": {"labelAngle": 0, "labelFontSize": 13}},
                    "y": {"field": "p", "type": "quantitative", "title": "probability",
                          "scale": {"domain": [0, 1]}, "axis": {"format": "%", "tickCount": 5}},
                    "color": {"field": "kind", "type": "nominal", "legend": None,
                              "scale": {"domain": list(BAR_COLORS),
                                        "range": list(BAR_COLORS.values())}},
                    "tooltip": [{"field": "digit", "type": "nominal"},
                                {"field": "p", "type": "quantitative", "format": ".1%"}],
                },
            },
            {
                "mark": {"type": "rule", "strokeDash": [4, 4], "opacity": 0.7},
                "encoding": {"y": {"datum": threshold}},
            },
        ],
    }  # fmt: skip
    return data, spec


# ---------------------------------------------------------------- Train tab
def curves(
    runs: Sequence[tuple[str, Sequence[dict]]],
    metric: str,
    *,
    x_max: float,
    now: float | None = None,
    height: int = 210,
) -> tuple[pd.DataFrame, dict]:
    """Per-epoch curves of several runs, one colour per run.

    Parameters
    ----------
    runs : sequence of (label, history)
        ``history`` is :attr:`MLP.history_`: one dict per epoch.
    metric : {"cost", "accuracy"}
        ``cost``: J on the training set. ``accuracy``: training (solid) and
        validation (dashed) accuracy, as in the article's figure. The runs are
        named in a legend when there are several.
    x_max : float
        The x axis runs from 0 to ``x_max`` epochs (fixed, so the chart doesn't jump).
    now : float, optional
        Where the current run is, in epochs (2.4 = 40% into epoch 3): a dotted line.
    """
    series = (
        [("cost", "cost")]
        if metric == "cost"
        else [("train_acc", "training"), ("valid_acc", "validation")]
    )
    rows = []
    for label, history in runs:
        for h in history:
            for key, name in series:
                value = h.get(key)
                if value is not None:
                    rows.append((label, float(h["epoch"]), name, float(value)))
    if now is not None:
        rows.append(("", float(now), "now", None))
    data = pd.DataFrame(rows, columns=["run", "epoch", "series", "value"])
    labels = [label for label, _ in runs]
    y = (
        {"title": "cost J", "scale": {"zero": False}, "axis": {"format": "~s"}}
        if metric == "cost"
        else {"title": "accuracy", "scale": {"zero": False}, "axis": {"format": ".1%"}}
    )
    line = {
        "transform": [{"filter": "datum.series != 'now'"}],
        "mark": {"type": "line", "point": {"size": 28}, "strokeWidth": 2},
        "encoding": {
            "x": {
                "field": "epoch",
                "type": "quantitative",
                "title": "epoch",
                "scale": {"domain": [0, max(1.0, float(x_max))]},
                "axis": {"tickMinStep": 1},
            },
            "y": {"field": "value", "type": "quantitative", **y},
            "color": {
                "field": "run",
                "type": "nominal",
                "scale": {"domain": labels, "range": PALETTE},
                "legend": (
                    {"orient": "bottom", "title": None, "labelLimit": 320}
                    if len(labels) > 1
                    else None
                ),
            },
            "tooltip": [
                {"field": "run", "type": "nominal"},
                {"field": "epoch", "type": "quantitative"},
                {"field": "series", "type": "nominal"},
                {"field": "value", "type": "quantitative", "format": ".4~g"},
            ],
        },
    }
    if metric != "cost":
        line["encoding"]["strokeDash"] = {
            "field": "series",
            "type": "nominal",
            "scale": {"domain": ["training", "validation"], "range": [[1, 0], [5, 3]]},
            "legend": None,  # said in words under the chart: solid training, dashed validation
        }
    layers = [line]
    if now is not None:
        layers.append(
            {
                "transform": [{"filter": "datum.series == 'now'"}],
                "mark": {"type": "rule", "strokeDash": [2, 3], "color": "#8a8f9c"},
                "encoding": {"x": {"field": "epoch", "type": "quantitative"}},
            }
        )
    return data, {"height": height, "layer": layers}
