"""The app without a browser: its pure parts, the training job, and both tabs in AppTest.

AppTest runs the real ``streamlit_app.py`` in this process, one script run at a
time, with fragments run inline; ``run_every`` timers never fire, so "live"
refreshes are one ``at.run()`` each. The canvas shows up as an opaque
``bidi_component``; a drawing is injected through ``at.session_state["canvas"]``,
in the shape the component sends (RECIPE.md §7). Worker threads really train;
``st.cache_resource`` (the training slots, MNIST, the shipped model) is shared
by every AppTest in the process, like visitors of one server.
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import time
import zipfile

import numpy as np
import pyarrow as pa
import pytest
from app_support import (
    ONE,
    ROOT,
    SEVEN,
    canvas_png,
    canvas_value,
    metric,
    tiny_training_data,
    training_charts,
    two_quick_runs,
    wait,
)
from PIL import Image

from digitnet import presets
from digitnet.app import charts, i18n, jobs, models, pictures
from digitnet.errors import DownloadError, WeightsError
from digitnet.preprocess import preprocess_steps
from digitnet.weights import model_bytes


# ---------------------------------------------------------------- jobs (no Streamlit)
def test_job_trains_publishes_copies_and_scores(new_jobs, tiny_data):
    slots = jobs.Slots(1)
    assert slots.acquire("another visitor", timeout=1)  # the run waits until it is released
    job = new_jobs(slots)
    assert job.snapshot().state == "idle" and job.published() is None
    model = presets.build("fast", epochs=3, hidden=32)
    job.start(model, tiny_training_data(tiny_data), preset="fast", label="tiny")
    first = job.published()  # the initial weights, at once: the Draw tab can use them
    assert first is not None and first.epoch == 0.0 and first.run == 1
    assert job.snapshot().state == "waiting"
    slots.release("another visitor")
    wait(lambda: job.snapshot().state == "done")
    s = job.snapshot()
    assert s.epoch == s.epochs == 3 and len(s.history) == 3 and s.fraction == 1.0
    assert 0.0 <= s.test_acc <= 1.0 and s.seconds_left is None
    pub = job.published()
    assert pub.epoch == 3.0 and pub.model.epochs_trained_ == 3
    assert pub.model.metadata_["metrics"]["mnist_test_accuracy"] == s.test_acc
    for mine, trained in zip(pub.model.weights_, model.weights_):  # a copy, equal values
        assert mine is not trained and np.array_equal(mine, trained)
    (run,) = job.runs()
    assert run.label == "#1 tiny" and run.state == "done" and len(run.history) == 3


def test_stop_takes_effect_within_a_minibatch_and_resume_continues(new_jobs, tiny_data):
    job = new_jobs(jobs.Slots(1))
    model = presets.build("fast", epochs=200, hidden=32, batch_size=5)  # 100 batches/epoch
    job.start(model, tiny_training_data(tiny_data), preset="fast", label="long")
    wait(lambda: job.snapshot().epoch >= 2)
    t0 = time.monotonic()
    job.stop()
    assert time.monotonic() - t0 < 1.0 and not job.is_alive()
    s = job.snapshot()
    assert s.state == "stopped" and s.can_resume and len(s.history) == s.epoch >= 2
    assert job.published().model.epochs_trained_ == s.epoch  # the partial model is kept
    job.resume()
    wait(lambda: job.snapshot().epoch >= s.epoch + 2)
    job.stop()
    epochs = [h["epoch"] for h in job.snapshot().history]
    assert epochs == list(range(1, len(epochs) + 1))  # continued, not restarted
    assert len(job.runs()) == 1


def test_cap_a_third_run_waits_for_a_free_slot(new_jobs, tiny_data):
    slots = jobs.Slots(2)
    data = tiny_training_data(tiny_data)
    a, b, c = (new_jobs(slots, name) for name in "abc")
    for job in (a, b, c):
        model = presets.build("fast", epochs=500, hidden=32, batch_size=5)  # minutes
        job.start(model, data, preset="fast", label="x")
    wait(lambda: [j.snapshot().state for j in (a, b, c)].count("running") == 2)
    waiting = next(j for j in (a, b, c) if j.snapshot().state == "waiting")
    time.sleep(0.3)
    s = waiting.snapshot()
    assert s.state == "waiting" and s.epoch == 0 and (s.slots_in_use, s.slots_cap) == (2, 2)
    next(j for j in (a, b, c) if j is not waiting).stop()
    wait(lambda: waiting.snapshot().state == "running")


def test_run_ends_and_frees_its_model_when_the_page_closes(new_jobs, tiny_data, monkeypatch):
    monkeypatch.setattr(jobs, "SESSION_GRACE_S", 0.2)
    monkeypatch.setattr(jobs, "ALIVE_EVERY_S", 0.02)
    page_open = {"v": True}
    slots = jobs.Slots(1)
    job = new_jobs(slots, alive=lambda: page_open["v"])
    model = presets.build("fast", epochs=500, hidden=32, batch_size=5)
    job.start(model, tiny_training_data(tiny_data), preset="fast", label="x")
    wait(lambda: job.snapshot().epoch >= 1)
    page_open["v"] = False  # what Runtime.is_active_session() says once the tab is closed
    t0 = time.monotonic()
    wait(lambda: not job.is_alive(), timeout=10)
    assert 0.2 <= time.monotonic() - t0 < 5.0
    s = job.snapshot()
    assert s.state == "ended" and "closed" in s.message
    assert job.published() is None and job._trainer is None  # memory freed
    assert slots.in_use() == 0


def test_run_ends_without_heartbeat(new_jobs, tiny_data, monkeypatch):
    monkeypatch.setattr(jobs, "HEARTBEAT_TIMEOUT_S", 0.3)
    job = new_jobs(jobs.Slots(1))
    model = presets.build("fast", epochs=500, hidden=32, batch_size=5)
    job.start(model, tiny_training_data(tiny_data), preset="fast", label="x")
    wait(lambda: not job.is_alive(), timeout=10)
    assert job.snapshot().state == "ended"


def test_divergence_is_reported_and_last_good_weights_kept(new_jobs, tiny_data):
    job = new_jobs(jobs.Slots(1))
    model = presets.build("fast", epochs=5, hidden=32, eta=1.0, l2=1000.0, optimizer="sgd")
    job.start(model, tiny_training_data(tiny_data), preset="fast", label="x")
    wait(lambda: not job.snapshot().active)
    s = job.snapshot()
    assert s.state == "diverged" and "smaller learning rate" in s.message
    pub = job.published()
    assert all(np.isfinite(W).all() for W in pub.model.weights_)


def test_importing_the_jobs_module_configures_no_logging():
    code = (
        "import logging, digitnet.app.jobs as jobs\n"
        "assert not jobs.log.handlers and not logging.getLogger().handlers\n"
        "jobs.log_to_stderr(); jobs.log_to_stderr()\n"
        "assert len(jobs.log.handlers) == 1 and not jobs.log.propagate\n"
        "jobs.log.info('hello from a worker')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("digitnet.jobs hello from a worker") == 1


def test_max_training_runs_from_the_environment():
    assert jobs.max_training_runs({}) == jobs.DEFAULT_MAX_RUNS
    assert jobs.max_training_runs({jobs.MAX_RUNS_ENV: "3"}) == 3
    assert jobs.max_training_runs({jobs.MAX_RUNS_ENV: "zero"}) == jobs.DEFAULT_MAX_RUNS
    assert jobs.max_training_runs({jobs.MAX_RUNS_ENV: "0"}) == jobs.DEFAULT_MAX_RUNS
    with pytest.raises(ValueError, match=">= 1"):
        jobs.Slots(0)


# ---------------------------------------------------------------- weights files
def test_upload_accepts_a_digitnet_file_and_rejects_others(small_model):
    good = models.load_upload(io.BytesIO(model_bytes(small_model)), "mine.npz")
    assert good.layer_sizes == (784, 16, 10)
    with pytest.raises(WeightsError, match=r"mine\.npz: not a digitnet weights file"):
        models.load_upload(io.BytesIO(b"hello, not a zip"), "mine.npz")
    pickled = io.BytesIO()
    np.savez(pickled, metadata=np.array(json.dumps({"format": "x"})), W0=np.array([{}], object))
    with pytest.raises(WeightsError, match="pickled"):
        models.load_upload(io.BytesIO(pickled.getvalue()), "evil.npz")


def test_upload_size_limits(monkeypatch, small_model):
    bomb = io.BytesIO()  # a few hundred kB that unpack to 400 MB of zeros
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("W0.npy", b"\0" * 400_000_000)
    with pytest.raises(WeightsError, match="400 MB in memory"):
        models.load_upload(io.BytesIO(bomb.getvalue()), "bomb.npz")
    monkeypatch.setattr(models, "MAX_UPLOAD_MB", 0.001)
    with pytest.raises(WeightsError, match="larger than"):
        models.load_upload(io.BytesIO(model_bytes(small_model)), "big.npz")


def test_describe_and_download_bytes(small_model):
    small_model.metadata_["metrics"] = {"mnist_test_accuracy": 0.9716}
    text = models.describe(small_model)
    assert text.startswith("784-16-10 · relu/softmax · 1 epoch") and "97.16%" in text
    again = models.load_upload(io.BytesIO(models.weights_file(small_model, "trained")), "x.npz")
    assert np.array_equal(again.weights_[0], small_model.weights_[0])
    assert again.metadata_["app_source"] == "trained"


# ---------------------------------------------------------------- pictures and charts
def test_step_pictures_show_the_box_and_the_centre_of_mass():
    steps = preprocess_steps(np.asarray(canvas_png(SEVEN)), background="dark")
    pics = pictures.step_pictures(steps)
    assert [c.split(" · ")[0] for _, c in pics] == ["1", "2", "3", "4"]
    for pic, _ in pics:
        assert pic.shape == (pictures.SIZE, pictures.SIZE, 3) and pic.dtype == np.uint8
    box = pics[1][0]
    assert (np.abs(box.astype(int) - pictures.BOX).sum(axis=2) < 30).sum() > 100  # a frame
    centred = pics[3][0]
    red = np.argwhere(np.abs(centred.astype(int) - pictures.MARK).sum(axis=2) < 30)
    middle = (pictures.MNIST_CENTER + 0.5) * pictures.SIZE / 28
    assert len(red) and np.abs(red.mean(axis=0) - middle).max() < 20  # the mark, near the centre
    assert pictures.step_pictures(preprocess_steps(np.zeros((280, 280), np.uint8))) == []


def test_inline_pictures_are_lossless_and_grey_ones_go_as_grey_pngs():
    steps = preprocess_steps(np.asarray(canvas_png(SEVEN)), background="dark")
    modes = []
    for pic, _ in pictures.step_pictures(steps):
        url = pictures.data_url(pic)
        assert url.startswith("data:image/png;base64,")
        png = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        modes.append(png.mode)
        assert np.array_equal(np.asarray(png.convert("RGB")), pic)  # the very same pixels
    assert modes == ["L", "RGB", "L", "RGB"]  # the canvas and the scaled digit have no colour


HEX_COLOR = re.compile(r'"#[0-9a-fA-F]{3,8}"')


def test_probability_chart_highlights_the_answer():
    probs = np.full(10, 0.01)
    probs[7] = 0.91
    data, spec = charts.probabilities(probs, 0.6)
    assert list(data["kind"]).count(charts.SURE) == 1 and data["kind"][7] == charts.SURE
    rule, bars = spec["layer"]  # the "not sure" line first: drawn behind the bars
    assert rule["mark"]["type"] == "rule" and rule["encoding"]["y"]["datum"] == 0.6
    assert bars["mark"]["type"] == "bar"
    # Colours come from the theme's palette, by position in the domain.
    domain = bars["encoding"]["color"]["scale"]["domain"]
    assert "range" not in bars["encoding"]["color"]["scale"]
    assert domain.index(charts.SURE) == charts.MAIN and domain.index(charts.OTHER) == charts.MUTED
    assert domain.index(rule["encoding"]["color"]["datum"]) == charts.GUIDE
    probs[7], probs[1] = 0.5, 0.42
    data, _ = charts.probabilities(probs, 0.6)
    assert data["kind"][7] == charts.UNSURE
    assert not HEX_COLOR.search(json.dumps(spec))  # no colour written: the theme's


def test_training_curves_data_and_spec():
    history = [
        {"epoch": 1, "cost": 12456.663, "train_acc": 0.9, "valid_acc": 0.91},
        {"epoch": 2, "cost": 5000.0, "train_acc": 0.95, "valid_acc": 0.94},
    ]
    data, spec = charts.curves([("#1", history), ("#2", history[:1])], "accuracy", x_max=5, now=2.4)
    assert len(data) == 2 * 2 + 2 + 1  # two series per epoch, plus the "now" row
    line, now = spec["layer"]
    enc = line["encoding"]
    assert enc["x"]["scale"]["domain"] == [0, 5.0]
    # training and validation in two colours of the theme's palette, named in a legend
    domain = enc["color"]["scale"]["domain"]
    assert domain.index("training") == charts.MAIN and domain.index("validation") == charts.SECOND
    assert enc["color"]["legend"]["values"] == ["training", "validation"]
    # the runs told apart by their dashes, in a legend of their own
    assert enc["strokeDash"]["scale"]["domain"] == ["#1", "#2"] and enc["strokeDash"]["legend"]
    assert enc["y"]["scale"]["domain"] == [0.9, 0.95] and enc["y"]["axis"]["format"] == ".1~%"
    assert now["mark"]["type"] == "rule" and now["encoding"]["color"]["datum"] == "now"
    assert not HEX_COLOR.search(json.dumps(spec))

    # The first epoch: one point; round ticks around it, no "12.456663k".
    data, spec = charts.curves([("#1", history[:1])], "cost", x_max=3)
    (line,) = spec["layer"]
    assert list(data["series"]) == ["cost"]
    assert line["encoding"]["y"]["scale"]["domain"] == [12400, 12600]
    assert line["encoding"]["y"]["axis"]["format"] == ",d"
    assert line["encoding"]["color"]["legend"]["values"] == ["cost"]  # as tall as accuracy's
    assert line["encoding"]["strokeDash"]["legend"] is None  # one run: nothing to tell apart
    assert "point" in line["mark"]
    _, spec = charts.curves([("#1", history)], "cost", x_max=100)
    assert "point" not in spec["layer"][0]["mark"]  # 100 points would hide the dashes


@pytest.mark.parametrize(
    ("values", "bounds", "expected"),
    [
        ([12456.663], {}, [12400, 12600]),
        ([12456.0, 3400.0], {}, [2000, 14000]),
        ([0.9123], {"lowest": 0, "highest": 1}, [0.91, 0.92]),
        ([0.85, 0.97], {"lowest": 0, "highest": 1}, [0.85, 1.0]),
        ([1.0], {"lowest": 0, "highest": 1}, [0.99, 1.0]),
        ([0.512], {}, [0.51, 0.52]),
        ([], {}, [0.0, 1.0]),
    ],
)
def test_nice_domain_rounds_outwards_to_a_few_steps(values, bounds, expected):
    low, high = charts.nice_domain(values, **bounds)
    assert [low, high] == pytest.approx(expected)
    assert all(low <= v <= high for v in values)


# ---------------------------------------------------------------- AppTest: Draw tab


def test_draw_tab_starts_with_a_prompt_and_no_prediction(apps):
    at = apps()
    assert [t.label for t in at.tabs] == ["Draw", "Explore", "How it works", "Train"]
    assert metric(at).value == "–"
    assert "Draw a digit" in at.info[0].value
    # the page's language (i18n.py), the canvas, and the pad's script (pad.py)
    lang, canvas, glue = at.get("bidi_component")
    assert lang.key == "page_lang" and json.loads(lang.proto.json) == {"lang": "en"}
    assert canvas.key == "canvas" and glue.key == "pad"
    assert json.loads(glue.proto.json) == {
        "canvasKey": "canvas", "undoKey": "undo", "sendOnPenUp": True,
        "label": i18n.translate("en", "draw.pad_label"),
    }  # fmt: skip
    assert not at.get("image")
    (chart,) = at.get("vega_lite_chart")  # the bars, all at 0: the page won't jump later
    bars = pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas()
    assert list(bars["p"]) == [0.0] * 10
    assert any(c.value.startswith("The bars will show") for c in at.caption)
    (picker,) = at.radio
    assert picker.label == "Model answering" and picker.value == models.SHIPPED
    assert any("Answered by the shipped weights (784-" in c.value for c in at.caption)
    assert "start" not in [b.key for b in at.button]  # lazy tabs: Train is not rendered


def test_draw_tab_predicts_an_injected_drawing(apps):
    at = apps()
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    m = metric(at)
    assert m.value == "1" and m.delta.endswith("% sure")
    (chart,) = at.get("vega_lite_chart")
    assert "probability" in chart.proto.spec
    assert any(c.value.startswith("The bars: 1 at ") for c in at.caption)  # in words too
    (imgs,) = at.get("image")  # the four preprocessing steps, in one list
    assert [i.caption.split(" · ")[0] for i in imgs.proto.imgs] == ["1", "2", "3", "4"]
    assert [i.alt for i in imgs.proto.imgs] == pictures.step_alts()  # for screen readers


def test_draw_tab_not_sure_below_the_threshold(apps, monkeypatch):
    from digitnet.app import draw

    monkeypatch.setattr(draw, "NOT_SURE_THRESHOLD", 1.01)  # nothing is ever sure enough
    at = apps()
    at.session_state["canvas"] = canvas_value(SEVEN)
    at.run()
    m = metric(at)
    assert m.value.endswith("?") and m.delta.startswith("not sure")
    assert any(c.value.startswith("Not sure: perhaps a") for c in at.caption)


def test_clear_and_undo_empty_the_answer_at_once(apps):
    at = apps()
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    assert metric(at).value == "1"
    at.button(key="clear").click().run()
    assert metric(at).value == "–"  # before the canvas has even answered
    initial = at.session_state["canvas_initial"]
    assert initial["objects"] == [] and initial["digitnetRevision"] == 1
    at.session_state["canvas"] = canvas_value(ONE + SEVEN)  # the canvas sends two strokes
    at.session_state["canvas_pending"] = False  # (its on_change; AppTest doesn't call it)
    at.run()
    assert metric(at).value != "–"
    at.button(key="undo").click().run()
    assert at.session_state["canvas_initial"]["objects"] == [{"type": "path"}]  # one left
    assert at.session_state["canvas_initial"]["digitnetRevision"] == 2


# ---------------------------------------------------------------- AppTest: Train tab
def test_train_tab_validates_hyperparameters(apps):
    at = apps("Train")
    assert at.button(key="start").disabled is False
    at.text_input(key="hp_fast_hidden").set_value("128, abc").run()
    assert "whole numbers separated by commas" in at.error[0].value
    assert at.button(key="start").disabled is True
    at.text_input(key="hp_fast_hidden").set_value("64").run()
    at.number_input(key="hp_fast_eta").set_value(0.0).run()
    assert "eta must be > 0" in at.error[0].value
    at.number_input(key="hp_fast_eta").set_value(0.002).run()
    at.text_input(key="hp_fast_hidden").set_value("8000, 8000").run()
    assert "this server trains at most" in at.error[0].value
    at.text_input(key="hp_fast_hidden").set_value("64").run()
    assert not at.error and at.button(key="start").disabled is False


def test_train_start_live_progress_stop_resume(apps, mnist):
    at = apps("Train")
    at.number_input(key="hp_fast_epochs").set_value(40).run()
    at.button(key="start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    job = at.session_state["job"]
    assert at.session_state["model_source"] == models.TRAINED  # the Draw tab follows
    wait(lambda: job.snapshot().epoch >= 1)
    at.run()  # what one refresh of the live view renders
    prog = at.get("progress")[0]
    assert 0 < prog.value < 100 and prog.proto.text.startswith("Epoch ")
    charts_ = training_charts(at)
    assert "cost J" in charts_[0].proto.spec and '"accuracy"' in charts_[1].proto.spec
    assert "p(right digit)" in charts_[2].proto.spec  # six validation digits (issue 16)
    assert any(c.value.startswith("run #1 · running") for c in at.caption)
    at.button(key="stop").click().run()
    s = job.snapshot()
    assert s.state == "stopped" and not job.is_alive()
    assert any("Stopped after" in i.value for i in at.info)
    at.button(key="resume").click().run()
    wait(lambda: job.snapshot().epoch > s.epoch)
    at.button(key="stop").click().run()
    assert job.snapshot().history[0]["epoch"] == 1  # resumed, not restarted

    at.session_state["tab"] = "Draw"  # the drawing is read by the model being trained
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    assert at.radio[0].value == models.TRAINED
    assert any(c.value.startswith("Answered by your run #1 (fast)") for c in at.caption)


def test_a_visitor_over_the_cap_waits(apps, mnist):
    ats = [apps("Train") for _ in range(jobs.DEFAULT_MAX_RUNS + 1)]
    for at in ats:
        at.number_input(key="hp_fast_epochs").set_value(40).run()
        at.button(key="start").click().run()
    states = lambda: [at.session_state["job"].snapshot().state for at in ats]  # noqa: E731
    wait(lambda: states().count("running") == jobs.DEFAULT_MAX_RUNS)
    waiting = ats[states().index("waiting")]
    waiting.run()
    assert any("Waiting for a free training slot" in i.value for i in waiting.info)


def test_offline_download_error_is_shown(apps, monkeypatch):
    from digitnet.app import state

    def offline(progress):
        raise DownloadError("Could not download train-images-idx3-ubyte.gz from any mirror")

    monkeypatch.setattr(state, "training_data", offline)
    at = apps("Train")
    at.button(key="start").click().run()
    assert "Could not download" in at.error[0].value
    assert at.session_state["job"].snapshot().state == "idle"


def test_download_progress_shows_the_file_and_its_size_ten_times_a_second(monkeypatch):
    """One progress bar for every download the app starts (Train, Explore, Teach)."""
    from digitnet.app import state

    class Bar:  # st.empty()'s progress, recorded
        def __init__(self):
            self.shown = []

        def progress(self, value, text):
            self.shown.append((value, text))

    clock = [100.0]
    monkeypatch.setattr(state.time, "monotonic", lambda: clock[0])
    bar = Bar()
    progress = state.download_progress(bar)
    progress("train-images-idx3-ubyte.gz", 0, 9_900_000)
    clock[0] += 0.05
    progress("train-images-idx3-ubyte.gz", 4_000_000, 9_900_000)  # too soon: not shown
    progress("train-images-idx3-ubyte.gz", 9_900_000, 9_900_000)  # the end always is
    clock[0] += 0.2
    progress("t10k-labels-idx1-ubyte.gz", 4_500, None)  # a server that does not say its size
    assert bar.shown == [
        (0.0, "Downloading train-images-idx3-ubyte.gz (once per server), 0 kB of 9.9 MB"),
        (1.0, "Downloading train-images-idx3-ubyte.gz (once per server), 9.9 MB of 9.9 MB"),
        (0.0, "Downloading t10k-labels-idx1-ubyte.gz (once per server), 4 kB"),
    ]


def test_upload_weights_answer_and_bad_file_error(apps, small_model):
    at = apps()
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    at.file_uploader(key="upload_0").set_value(
        ("mine.npz", model_bytes(small_model), "application/octet-stream")
    ).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.radio[0].value == models.UPLOADED
    assert any(
        c.value.startswith("Answered by the uploaded mine.npz (784-16-10") for c in at.caption
    )
    (download,) = at.get("download_button")
    assert "weights answering now" in download.proto.label
    # A new, empty uploader (rid of any chip it refused), and what was uploaded, in words.
    assert [u.key for u in at.get("file_uploader")] == ["upload_1"]
    assert any(c.value.startswith("Uploaded: mine.npz") for c in at.caption)
    at.file_uploader(key="upload_1").set_value(("junk.npz", b"not weights", "x")).run()
    assert "junk.npz: not a digitnet weights file" in at.error[0].value
    assert at.radio[0].value == models.UPLOADED  # still chosen: the shipped ones answer
    assert any(c.value.startswith("No usable weights file uploaded") for c in at.caption)


def test_runs_are_kept_and_can_be_overlaid(apps, mnist):
    at = apps("Train")
    two_quick_runs(at)
    first = "#1 fast 32 relu η=0.002"
    compare = at.multiselect(key="compare")
    assert compare.options == [first]
    compare.set_value([first]).run()
    accuracy = json.loads(training_charts(at)[1].proto.spec)
    assert accuracy["layer"][0]["encoding"]["strokeDash"]["scale"]["domain"] == [
        "#2 (this run)",
        first,
    ]
    table = next(m.value for m in at.markdown if m.value.startswith("| run |"))
    assert "| #2 fast 16 relu η=0.002 | 1/1 |" in table and f"| {first} | 1/1 |" in table
