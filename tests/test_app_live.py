"""Watch it learn: the first layer's pictures, the per-epoch readings, a change of course.

The parts without Streamlit (digitnet.app.watch, the job), then the Train tab in AppTest.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pytest
from app_support import SEVEN, canvas_value, start_fast, tiny_training_data, wait
from PIL import Image

from digitnet import presets, tta
from digitnet.app import charts, jobs, live, models, watch
from digitnet.train import CHANGES_KEY
from digitnet.weights import load_model


@pytest.fixture
def new_jobs():
    made = []

    def make(slots=None, name="s", **kw):
        job = jobs.TrainJob(name, slots or jobs.Slots(1), **kw)
        made.append(job)
        return job

    yield make
    for job in made:
        job.close()


def chart_rows(chart) -> pa.Table:
    """The data of a vega_lite_chart element (inline Arrow IPC)."""
    return pa.ipc.open_stream(chart.proto.data.data).read_all()


# ---------------------------------------------------------------- readings (no Streamlit)
def test_readings_every_epoch_and_a_drawing_read_from_when_it_is_drawn(tiny_data):
    X, y = tiny_data
    model = presets.build("fast", hidden=16, epochs=3).fit(X[:300], y[:300])
    readings = watch.Readings(X[500:], y[500:])
    assert len(readings.digits) == len(watch.VALIDATION_DIGITS)  # the first few of a tiny set
    readings.record(0, model)
    readings.record(1, model)
    readings.record(1, model)  # the same epoch again (e.g. published at a stop): once
    drawing = X[0] / 255.0
    readings.set_drawing(drawing, (1.4, model))  # read at once, with the weights of now
    readings.record(2, model)
    readings.set_drawing(drawing.copy(), (2.5, model))  # the same drawing: readings kept
    view = readings.view()
    assert view.epochs == (0, 1, 2) and view.probs.shape == (3, 6, 10)
    np.testing.assert_allclose(view.probs[2], model.predict_proba(view.images), atol=1e-6)
    assert view.drawing_epochs == (1.4, 2)
    np.testing.assert_allclose(view.drawing_probs[1], tta.predict_proba(model, drawing)[0], 1e-5)
    readings.set_drawing(X[1] / 255.0, (2.5, model))  # another drawing: its readings restart
    assert readings.view().drawing_epochs == (2.5,)
    readings.set_drawing(None)
    assert readings.view().drawing is None and readings.view().drawing_epochs == ()


def test_units_to_picture():
    rng = np.random.default_rng(0)
    W0 = rng.normal(size=(784, 40))
    W = W0.copy()
    W[:, [7, 3, 30]] += np.array([3.0, 2.0, 1.0])  # units 7, 3, 30 moved, most first
    assert list(watch.most_changed(W, W0, 3)) == [7, 3, 30]
    sample = watch.fixed_sample(40)
    assert len(sample) == watch.UNITS_SHOWN and list(sample) == sorted(set(sample))
    assert np.array_equal(sample, watch.fixed_sample(40))  # fixed: the same every time
    assert len(watch.fixed_sample(5)) == 5
    # a frame per epoch, and more within long epochs
    assert [watch.frame(e, 100) for e in (0.0, 0.99, 1.0, 2.5)] == [0, 0, 1, 2]
    assert watch.frames_per_epoch(550) == 2 and watch.frame(2.5, 550) == 5


def test_units_most_active_for_a_drawing(tiny_data):
    X, y = tiny_data
    model = presets.build("fast", hidden=32, epochs=1).fit(X, y)
    units = watch.most_active(model, X[0])
    a = model.forward(model.prepare(X[:1].reshape(1, -1)))[1][0]
    assert list(units) == list(np.argsort(-a, kind="stable")[: watch.UNITS_SHOWN])


def test_grid_picture_is_one_png_of_red_and_blue_pictures():
    W = np.zeros((784, 16))
    W[:392, 0], W[392:, 0] = 1.0, -1.0  # unit 0: top half excites, bottom half inhibits
    png = live.grid_png(W)
    grid = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    side = 28
    assert grid.shape == (4 * side + 5 * live.GAP, 4 * side + 5 * live.GAP, 3)
    assert len(png) < 8000  # a few kB: one px per weight, enlarged by the browser
    first = grid[live.GAP : live.GAP + side, live.GAP : live.GAP + side].astype(int)
    top, bottom = first[: side // 2 - 2], first[side // 2 + 2 :]
    assert (top[..., 0] > top[..., 2]).all() and (bottom[..., 2] > bottom[..., 0]).all()
    assert live.grid_png(W * 0.5) == png  # each picture on its own scale
    W[:, 5] = 1.0
    assert live.grid_png(W) != png


# ---------------------------------------------------------------- the job
def test_the_job_reads_every_epoch_even_unwatched(new_jobs, tiny_data):
    job = new_jobs()
    job.set_drawing(tiny_data[0][0] / 255.0)  # drawn before the run starts
    model = presets.build("fast", epochs=5, hidden=16, batch_size=5)
    job.start(model, tiny_training_data(tiny_data), preset="fast", label="x")
    wait(lambda: job.snapshot().state == "done")
    view = job.readings()
    assert view.epochs == (0, 1, 2, 3, 4, 5)  # the starting weights, then every epoch
    assert view.drawing_epochs == (0, 1, 2, 3, 4, 5)
    final = job.published().model
    np.testing.assert_allclose(view.probs[-1], final.predict_proba(view.images), atol=1e-6)
    assert not np.allclose(view.probs[0], view.probs[-1])  # it learned
    start = job.start_weights()
    assert start.shape == final.weights_[0].shape and not np.array_equal(start, final.weights_[0])


def test_a_change_of_course_through_the_job(new_jobs, tiny_data):
    job = new_jobs()
    with pytest.raises(ValueError, match="no run going on"):
        job.change_course(eta=0.001)
    model = presets.build("fast", epochs=300, hidden=16, batch_size=5)  # nesterov
    job.start(model, tiny_training_data(tiny_data), preset="fast", label="x")
    assert job.course() == {"eta": 0.002, "momentum": 0.9}
    wait(lambda: job.snapshot().epoch >= 1)
    with pytest.raises(ValueError, match="eta must be a number > 0"):
        job.change_course(eta=-1.0)
    job.change_course(eta=0.0005, momentum=0.5)
    assert job.course() == {"eta": 0.0005, "momentum": 0.5}  # asked for, even if pending
    wait(lambda: job.snapshot().changes)
    (change,) = job.snapshot().changes
    assert change["eta"] == 0.0005 and change["momentum_before"] == 0.9 and change["epoch"] >= 1
    assert job.pending_change() is None
    wait(lambda: job.snapshot().history[-1]["epoch"] > change["epoch"] + 1)
    job.stop()
    assert job.snapshot().history[-1]["momentum"] == 0.5
    assert job.runs()[-1].changes == [change]
    # kept in the weights the visitor downloads
    saved = load_model(io.BytesIO(models.weights_file(job.published().model, "trained")))
    assert saved.metadata_[CHANGES_KEY] == [change]
    job.change_course(eta=0.001)  # stopped: the change waits for Resume
    assert job.pending_change() == {"eta": 0.001}


# ---------------------------------------------------------------- the curves' marks
def test_a_change_of_course_is_marked_on_the_curves():
    history = [{"epoch": e, "cost": 10.0 - e, "train_acc": 0.9, "valid_acc": 0.9} for e in (1, 2)]
    change = {"epoch": 1.25, "eta": 0.0005, "eta_before": 0.002}
    data, spec = charts.curves([("#1", history)], "cost", x_max=5, changes=[change])
    line, rule, text = spec["layer"]
    assert charts.COURSE in line["transform"][0]["filter"]  # not drawn as a line
    assert rule["mark"]["type"] == "rule" and text["mark"]["type"] == "text"
    marks = data[data["series"] == charts.COURSE]
    assert list(marks["epoch"]) == [1.25] and list(marks["run"]) == ["η→0.0005"]
    domain = rule["encoding"]["color"]["scale"]["domain"]
    assert domain.index(charts.COURSE) == charts.CHANGE  # the theme's colour for it
    assert live.changes_caption([change]).startswith("Course changed: η 0.002 → 0.0005 at epoch")


def test_summaries_in_words():
    probs = np.full((4, 10), 0.02)
    probs[:, 1] = [0.3, 0.5, 0.6, 0.3]
    probs[:, 7] = [0.1, 0.3, 0.7, 0.9]
    text = live.drawing_summary((0, 1, 2, 3), probs)
    assert text == "After epoch 3 it reads 7 (90%), sure of it (65% or more) since epoch 2."
    assert "not sure yet" in live.drawing_summary((0, 1), probs[:2])
    from digitnet.app import draw

    assert live.SURE == draw.NOT_SURE_THRESHOLD


# ---------------------------------------------------------------- the Train tab (AppTest)
def grid_image(at):
    (grid,) = [i for i in at.get("image") if "units after" in i.proto.imgs[0].caption]
    return grid.proto.imgs[0]


def test_live_pictures_change_between_two_refreshes(apps, mnist):
    at = apps("Train")
    job = start_fast(at, 30)
    wait(lambda: job.snapshot().epoch >= 1)
    at.run()  # a refresh of the live view
    first = grid_image(at)
    assert first.caption.startswith("16 of the 128 units after ")
    assert "red where ink excites" in first.alt
    at.run()  # a refresh with no new picture: the same one, not made again
    assert grid_image(at).url == first.url
    epoch = job.published().epoch
    wait(lambda: watch.frame(job.published().epoch, job.snapshot().n_batches)
         > watch.frame(epoch, job.snapshot().n_batches))  # fmt: skip
    at.run()
    second = grid_image(at)
    assert second.url != first.url and second.caption != first.caption
    # the units most changed since the start
    at.segmented_control(key=live.UNITS_KEY).set_value(live.CHANGED).run()
    assert "(most changed)" in grid_image(at).caption
    job.stop()


def test_the_drawings_probabilities_are_charted_every_epoch(apps, mnist):
    at = apps("Draw")
    at.session_state["canvas"] = canvas_value(SEVEN)
    at.run()
    at.session_state["tab"] = "Train"
    at.run()
    assert not any("Your drawing, re-read" in m.value for m in at.markdown)  # no run yet
    job = start_fast(at, 2)
    wait(lambda: job.snapshot().state == "done")
    at.run()
    assert any(m.value == "**Your drawing, re-read every epoch**" for m in at.markdown)
    drawing, digits = [
        c for c in at.get("vega_lite_chart") if '"detail"' in c.proto.spec
    ]  # the ten probabilities, and the validation digits
    rows = chart_rows(drawing).to_pandas()
    assert sorted(set(rows["epoch"])) == [0.0, 1.0, 2.0] and len(rows) == 3 * 10
    assert json.loads(drawing.proto.spec)["encoding"]["y"]["title"] == "probability"
    assert rows[rows["kind"] == live.READ_NOW]["digit"].iloc[0] == "7"
    assert any(c.value.startswith("After epoch 2 it reads 7") for c in at.caption)
    digit_rows = chart_rows(digits).to_pandas()
    assert len(digit_rows) == 3 * 6 and set(digit_rows["kind"]) == {live.CLEAR, live.HARD}
    assert any(c.value.startswith("After epoch 2: ") for c in at.caption)
    (thumbs,) = [i for i in at.get("image") if i.proto.imgs[0].caption == "0 · clear"]
    assert [i.caption for i in thumbs.proto.imgs] == [
        "0 · clear", "1 · clear", "6 · clear", "7 · hard", "3 · hard", "9 · hard",
    ]  # fmt: skip


def test_a_change_of_course_mid_run_is_marked(apps, mnist):
    at = apps("Train")
    job = start_fast(at, 30)
    wait(lambda: job.snapshot().epoch >= 1)
    at.run()
    at.number_input(key="course_eta_1").set_value(0.0005)
    at.number_input(key="course_momentum_1").set_value(0.5)
    at.button(key="course_apply").click().run()
    assert not at.exception and not at.error
    wait(lambda: job.snapshot().changes)
    wait(lambda: job.snapshot().history[-1]["epoch"] > job.snapshot().changes[0]["epoch"])
    at.run()
    curves = [c for c in at.get("vega_lite_chart")
              if '"cost J"' in c.proto.spec or '"title": "accuracy"' in c.proto.spec]  # fmt: skip
    assert len(curves) == 2  # (the Draw tab's bars are on the page too)
    for chart in curves:
        spec = json.loads(chart.proto.spec)
        assert [layer["mark"]["type"] for layer in spec["layer"][-2:]] == ["rule", "text"]
        marks = chart_rows(chart).to_pandas().query("series == @charts.COURSE")
        assert list(marks["run"]) == ["η→0.0005 μ→0.5"]
    assert any("Course changed: η 0.002 → 0.0005, μ 0.9 → 0.5 at epoch" in c.value
               for c in at.caption)  # fmt: skip
    assert job.snapshot().history[-1]["eta"] < 0.0005 + 1e-12  # cosine goes on from there
    job.stop()


def test_the_validation_digits_are_the_ones_chosen(mnist):
    """The indices still name the digits they were chosen as, in the article's split, and
    they are what watch.VALIDATION_DIGITS says: the hard ones read wrong by the Train tab's
    default run (right digit second), right by the shipped weights; the clear ones by both."""
    (X_train, y_train), (X_valid, y_valid) = presets.split(mnist["X"], mnist["y"])
    readings = watch.Readings(X_valid, y_valid)
    assert readings.digits == watch.VALIDATION_DIGITS
    digits = np.array([d for _, d, _ in readings.digits])
    hard = np.array([k == "hard" for _, _, k in readings.digits])
    default_run = presets.build("fast").fit(X_train, y_train)
    shipped = load_model()
    for model, clear_min in ((default_run, 0.99), (shipped, 0.99)):
        p = model.predict_proba(readings.images)
        assert (p[~hard, digits[~hard]] > clear_min).all()
    p = default_run.predict_proba(readings.images)[hard]
    assert (p.argmax(axis=1) != digits[hard]).all()  # read wrong...
    assert (np.argsort(-p, axis=1)[:, 1] == digits[hard]).all()  # ...the right digit second
    assert (shipped.predict(readings.images[hard]) == digits[hard]).all()
