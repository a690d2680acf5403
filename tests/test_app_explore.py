"""The Explore and "How it works" tabs: their pure parts, and both tabs in AppTest.

The AppTests use the app's model (the shipped weights, or the stand-in of the
``app_weights`` fixture in ``conftest.py``) and the full MNIST test set (skipped
without it); drawings are injected as in ``test_app.py`` (``app_support.py``).
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from app_support import ONE, canvas_value

from digitnet.app import explore, howitworks, i18n, models, pictures, state

# ---------------------------------------------------------------- pure parts


def test_every_formula_finds_its_lines():
    """Renaming a comment in the code breaks this test, not the page."""
    for formula in howitworks.FORMULAS + howitworks.OTHER_FORMULAS:
        for source in formula.sources:
            s = howitworks.find_lines(source)
            first = s.code.splitlines()[0]
            assert source.start in first, (formula.title, s)
            if source.end is not None:
                assert source.end in s.code.splitlines()[-1 - source.extra], (formula.title, s)
            assert s.path.startswith("digitnet/") and s.path.endswith(".py")
            assert 1 <= s.first <= s.last
            with open(howitworks.ROOT / s.path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            assert first.strip() == lines[s.first - 1].strip()  # the line numbers are right


def test_the_formulas_cover_the_article():
    titles = [i18n.translate("en", f.title) for f in howitworks.FORMULAS]
    for needed in ("forward", "sigmoid", "derivative", "cost", "output", "hidden", "weights",
                   "biases", "update"):  # fmt: skip
        assert any(needed in t.lower() for t in titles), needed
    backward = {s.start for f in howitworks.FORMULAS for s in f.sources
                if s.where.__qualname__ == "MLP.backward"}  # fmt: skip
    assert backward == {"# δ_out = a_out − y", "# δ⁽ˡ⁾ = ", "# aᵀ δ", "# Σᵢ δ (biases: no L2)"}
    assert sum(bool(f.differs) for f in howitworks.FORMULAS) == 2  # λ/2, and exp(z)


def test_a_renamed_comment_is_reported():
    source = howitworks.FORMULAS[4].sources[0]
    with pytest.raises(LookupError, match="no line contains"):
        howitworks.find_lines(dataclasses.replace(source, start="# δ_output = a − y"))
    with pytest.raises(LookupError, match="no line after"):
        howitworks.find_lines(dataclasses.replace(source, end="# nowhere"))


def test_selected_cell_reads_altair_selection_events():
    assert explore.selected_cell({"selection": {"cell": [{"actual": 4, "read": 9}]}}) == (4, 9)
    assert explore.selected_cell({"selection": {"cell": {"actual": [3], "read": [5]}}}) == (3, 5)
    assert explore.selected_cell({"selection": {"cell": []}}) is None
    assert explore.selected_cell({"selection": {"cell": {}}}) is None
    assert explore.selected_cell({}) is None


def test_chosen_digits_mistakes_cells_and_the_diagonal():
    y = np.array([1, 1, 2, 2, 3, 4])
    pred = np.array([1, 7, 2, 3, 3, 9])
    r = {"predictions": pred}
    all_ = explore.ALL
    assert list(explore.chosen_digits(r, y, all_, all_)) == [1, 3, 5]
    assert list(explore.chosen_digits(r, y, 1, all_)) == [1]
    assert list(explore.chosen_digits(r, y, all_, 3)) == [3]
    assert list(explore.chosen_digits(r, y, 2, 3)) == [3]
    assert list(explore.chosen_digits(r, y, 2, 2)) == [2]  # a diagonal cell: read right
    assert explore.describe_choice(2, 2) == "2s read right"
    assert explore.describe_choice(4, 9) == "4s misread as 9"


def test_pictures():
    w = np.zeros((28, 28))
    w[0, 0], w[0, 1] = 1.0, -0.5
    rgb = pictures.diverging(w, k=1)
    assert rgb.shape == (28, 28, 3) and tuple(rgb[5, 5]) == (0, 0, 0)
    assert tuple(rgb[0, 0]) == tuple(pictures.POSITIVE.astype(int))
    assert rgb[0, 1, 2] > rgb[0, 1, 0]  # negative: blue
    t = pictures.tile(pictures.big(np.ones((28, 28), np.float32), 4))
    assert t.shape == (pictures.TILE, pictures.TILE, 3) and t[64, 64].tolist() == [255] * 3
    grid = pictures.activation_picture(np.linspace(0, 1, 800), square=8)
    assert grid.shape == (20 * 8, 40 * 8, 3)
    # big: one square of k×k px per pixel, levels in [0, 1] rounded to 8 bits, uint8 as is
    half = pictures.big(np.full((28, 28), 0.5, np.float32), 3)
    assert half.shape == (84, 84) and half.dtype == np.uint8 and (half == 128).all()
    ink = np.zeros((28, 28), np.uint8)
    ink[3, 4] = 200
    enlarged = pictures.big(ink, 3)
    assert (enlarged[9:12, 12:15] == 200).all() and enlarged.sum() == 200 * 9


# ---------------------------------------------------------------- AppTest: Explore
def test_explore_evaluates_each_model_once_and_pages_the_mistakes(apps, small_model, mnist,
                                                                   monkeypatch):  # fmt: skip
    at = apps("Explore")  # the app's own model
    calls = []
    real = state.evaluate
    monkeypatch.setattr(state, "evaluate", lambda *a: calls.append(1) or real(*a))
    at.session_state[state.UPLOADED_KEY] = ("mine.npz", small_model)
    at.session_state[state.SOURCE_KEY] = models.UPLOADED
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Draw a digit on the Draw tab" in i.value for i in at.info)
    r = state.test_evaluation(small_model)
    n_err = len(r["errors"])
    assert any(c.value.startswith(f"{r['accuracy']:.2%} of the 10,000 test digits read right: "
                                  f"{n_err} mistakes") for c in at.caption)  # fmt: skip
    gallery = _gallery(at)
    assert len(gallery) == min(25, n_err)
    first = r["errors"][0]
    _, y = state._mnist_test()
    assert gallery[0].caption == f"{y[first]} → {r['predictions'][first]} " + (
        f"({r['probabilities'][first, r['predictions'][first]]:.0%})"
    )
    at.number_input(key="ex_page").set_value(2).run()
    assert any(c.value.startswith(f"{n_err} mistakes, page 2 of") for c in at.caption)
    at.run()
    other = apps("Explore")  # another visitor, the same weights: no new evaluation
    other.session_state[state.UPLOADED_KEY] = ("same.npz", small_model)
    other.session_state[state.SOURCE_KEY] = models.UPLOADED
    other.run()
    assert len(calls) == 1

    # A cell of the confusion matrix (set through its filters, as a click does).
    cm = np.asarray(r["confusion"])
    t, p = np.unravel_index(np.argmax(cm * (1 - np.eye(10))), cm.shape)
    at.selectbox(key="ex_true").set_value(int(t)).run()
    at.selectbox(key="ex_read").set_value(int(p)).run()
    assert any(c.value.startswith(f"{cm[t, p]} {t}s misread as {p}") for c in at.caption)
    assert len(_gallery(at)) == min(25, cm[t, p])
    at.selectbox(key="ex_read").set_value(int(t)).run()  # the diagonal: read right
    assert any(c.value.startswith(f"{cm[t, t]} {t}s read right") for c in at.caption)


def test_explore_why_this_answer_for_the_drawing(apps, mnist):
    at = apps("Explore")
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    read = next(m.value for m in at.markdown if m.value.startswith("The network read **"))
    digit = int(read.split("**")[1])
    assert any(m.value.startswith("Here: **") for m in at.markdown)
    assert rf"z_{{{digit}}} = \sum_j a_j W_{{j,{digit}}}" in at.latex[0].value
    titles = [json.loads(c.proto.spec).get("encoding", {}).get("x", {}).get("title", "")
              for c in at.get("vega_lite_chart")]  # fmt: skip
    assert f"activation × weight to output {digit}" in titles
    if len(state.shipped_model().weights_) == 2:  # one hidden layer: its units have pictures
        towards = next(m for m in at.markdown if m.value.startswith("**Pushed hardest towards"))
        assert f"towards {digit}" in towards.value
    else:  # the units feeding the output do not look at pixels
        assert any("With several hidden layers" in c.value for c in at.caption)
    other = (digit + 3) % 10
    at.segmented_control(key="explain_target").set_value(other).run()
    assert any(f"Why not a {other}?" in m.value for m in at.markdown)
    assert rf"z_{{{other}}} = " in at.latex[0].value

    # What each unit looks for: 25 a page; ordered by activation for the drawing.
    units = _images(at, lambda c: c.startswith("#") and ":" not in c)
    assert [i.caption for i in units] == [f"#{u}" for u in range(25)]
    at.number_input(key="units_page").set_value(2).run()
    units = _images(at, lambda c: c.startswith("#") and ":" not in c)
    assert [i.caption for i in units] == [f"#{u}" for u in range(25, 50)]


def _images(at, caption_test):
    return [img for el in at.get("image") for img in el.proto.imgs if caption_test(img.caption)]


def _gallery(at):
    return _images(at, lambda c: " → " in c)


# ---------------------------------------------------------------- AppTest: How it works
def test_how_it_works_formulas_and_gradient_check(apps, mnist):
    at = apps("How it works")
    assert not at.exception, [e.value for e in at.exception]
    assert not at.warning  # every formula found its code
    n = len(howitworks.FORMULAS) + len(howitworks.OTHER_FORMULAS)
    assert len(at.latex) == n
    codes = [c.value for c in at.code]
    assert "delta = output_error(activations[-1], Y)  # δ_out = a_out − y" in codes
    assert "return a_out - Y" in codes
    assert "p -= eta * g" in codes
    assert any("λ/2 in the cost" in i.value for i in at.info)
    assert any("1 / (1 + e^z)" in i.value for i in at.info)
    assert at.success and "backpropagation computes the gradient of J" in at.success[0].value
    (table,) = at.dataframe
    first = table.value.copy()
    assert list(first.columns) == ["parameter", "backpropagation", "finite differences",
                                   "relative error"]  # fmt: skip
    layers = len(state.shipped_model().weights_)
    assert len(first) == 2 * layers * howitworks.CHECK_PER_LAYER  # weights and biases of each
    assert max(float(v) for v in first["relative error"]) < 1e-5
    at.button(key="check_again").click().run()
    again = at.dataframe[0].value.copy()
    assert not again.equals(first)  # other weights
    at.toggle(key="check_article_cost").set_value(True).run()
    assert at.error and "not what the backward pass computes" in at.error[0].value
    article = at.dataframe[0].value
    assert list(article["parameter"]) == list(again["parameter"])  # the same weights: comparable
    assert max(float(v) for v in article["relative error"]) > 1e-3
