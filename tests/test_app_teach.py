"""Teach it my handwriting: keeping corrected drawings, teaching, and the Draw tab after.

The pure parts run without MNIST; the AppTests fine-tune the app's model on one
injected drawing with MNIST replay (skipped without MNIST), with a smaller
replay sample than the app's so that the suite stays fast.
"""

from __future__ import annotations

import io

import numpy as np
from app_support import LEAD_IN_ONE, ONE, canvas_value, metric, runner_up

from digitnet import MLP
from digitnet.app import models, state, teach
from digitnet.weights import load_model


# ---------------------------------------------------------------- pure parts
def test_keep_adds_relabels_and_caps():
    kept: list[teach.Example] = []
    a, b = np.zeros((28, 28), np.float32), np.ones((28, 28), np.float32) * 0.5
    assert str(teach.keep(kept, a, 7, 1)).startswith("Kept as a 7 (1 drawing to teach)")
    assert str(teach.keep(kept, b, 3, 5)).startswith("Kept as a 3 (2 drawings to teach)")
    assert str(teach.keep(kept, a.copy(), 4, 1)) == "This drawing is now kept as a 4."
    assert [(e.label, e.read_as) for e in kept] == [(4, 1), (3, 5)]
    kept.extend([kept[0]] * (teach.MAX_EXAMPLES - 2))
    assert "are kept already" in str(teach.keep(kept, np.full((28, 28), 0.2, np.float32), 1, 2))
    assert len(kept) == teach.MAX_EXAMPLES


def test_examples_npz_holds_the_drawings_and_labels():
    img = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    kept = [teach.Example(img, 7, 1), teach.Example(img * 0.5, 2, None)]
    with np.load(io.BytesIO(teach.examples_npz(kept)), allow_pickle=False) as z:
        assert z["images"].shape == (2, 28, 28) and z["images"].dtype == np.float32
        np.testing.assert_array_equal(z["images"][0], img)
        assert z["labels"].tolist() == [7, 2] and z["labels"].dtype == np.uint8


def test_teach_learns_the_drawings_and_reports(tiny_data):
    X, y = tiny_data
    model = MLP(hidden=32, activation="relu", output="softmax", optimizer="adam", eta=0.01,
                epochs=8, batch_size=50, input_scaling="unit", init="he").fit(X, y)  # fmt: skip
    yy, xx = np.mgrid[0:28, 0:28]
    ring = (np.abs(np.hypot(yy - 14, xx - 14) - 8) < 1.5).astype(np.float32)
    kept = [teach.Example(ring, 3, None)]
    accuracy = lambda m: m.score(X, y)  # noqa: E731
    tuned, report = teach.teach(model, kept, X, y, accuracy, replay=400, eta=1e-3, epochs=6)
    assert report.p_after[0] > 0.9 > report.p_before[0]
    assert report.read_after.tolist() == [3] and report.labels.tolist() == [3]
    assert report.acc_before == accuracy(model) and report.acc_after == accuracy(tuned)
    assert report.accepted == (report.drop <= teach.MAX_DROP) and report.seconds > 0
    assert tuned.metadata_["metrics"]["mnist_test_accuracy"] == report.acc_after
    assert tuned is not model and not np.array_equal(tuned.weights_[0], model.weights_[0])


# ---------------------------------------------------------------- AppTest
def _correct(at, label: int):
    at.segmented_control(key="correct").set_value(label).run()


def test_correcting_keeps_the_drawing_and_forgetting_drops_it(apps):
    at = apps()
    assert "correct" not in [w.key for w in at.segmented_control]  # nothing drawn yet
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    read = int(metric(at).value.rstrip("?"))
    offered = at.segmented_control(key="correct")
    assert offered.label == f"Not a {read}? It's a…"  # never offers the digit it read
    assert [int(o) for o in offered.options] == [d for d in range(10) if d != read]
    label = (read + 1) % 10
    _correct(at, label)
    assert not at.exception, [e.value for e in at.exception]
    (ex,) = at.session_state[state.TEACH_EXAMPLES_KEY]
    assert ex.label == label and ex.read_as == read and ex.image.shape == (28, 28)
    np.testing.assert_array_equal(ex.image, at.session_state[state.DRAWING_KEY])
    assert at.segmented_control(key="correct").value is None  # ready for the next drawing
    assert any(c.value.startswith(f"Kept as a {label} (1 drawing to teach)") for c in at.caption)
    assert any(m.value == "#### Teach it your handwriting" for m in at.markdown)
    assert at.button(key="teach") and at.get("download_button")
    _correct(at, (label + 1) % 10)  # the same drawing again: relabelled, not added
    assert [e.label for e in at.session_state[state.TEACH_EXAMPLES_KEY]] == [(label + 1) % 10]
    at.button(key="teach_undo").click().run()
    assert at.session_state[state.TEACH_EXAMPLES_KEY] == []
    assert not any(m.value == "#### Teach it your handwriting" for m in at.markdown)


def test_teach_answers_with_the_taught_model(apps, mnist, quick_teach, monkeypatch):
    monkeypatch.setattr(teach, "MAX_DROP", 1.0)  # this test is about the flow, not the figure
    at = apps()
    at.session_state["canvas"] = canvas_value(LEAD_IN_ONE)
    at.run()
    read, label = runner_up(at)  # a plausible correction, whatever the weights shipped
    assert metric(at).value.rstrip("?") == str(read)
    _correct(at, label)
    at.button(key="teach").click().run()
    assert not at.exception, [e.value for e in at.exception]
    report = at.session_state[state.TEACH_REPORT_KEY]
    assert report.accepted and report.read_after.tolist() == [label]
    assert report.p_after[0] > report.p_before[0]
    assert metric(at).value.rstrip("?") == str(label)  # the Draw tab answers with it
    assert at.radio[0].value == models.TAUGHT
    assert any(c.value.startswith("Answered by the shipped weights") and
               "taught 1 drawing of yours" in c.value for c in at.caption)  # fmt: skip
    (done,) = at.success
    assert "Your drawings read right: **0 of 1** before, **1 of 1** after" in done.value
    assert "MNIST test accuracy: **" in done.value and "now answers with the taught" in done.value
    labels = [d.proto.label for d in at.get("download_button")]
    assert "Taught weights (.npz)" in labels and "Drawings (.npz)" in labels
    taught = at.session_state[state.TAUGHT_KEY][1]
    again = load_model(io.BytesIO(models.weights_file(taught, models.TAUGHT)))
    np.testing.assert_array_equal(again.weights_[0], taught.weights_[0])

    # Teaching again starts from the same base (the shipped model), not the taught one.
    base = at.session_state[state.TEACH_BASE_KEY]
    assert base[0] == models.SHIPPED
    at.button(key="teach").click().run()
    assert at.session_state[state.TEACH_BASE_KEY][2] is base[2]


def test_teach_keeps_the_old_model_if_mnist_accuracy_drops(apps, mnist, quick_teach, monkeypatch):
    monkeypatch.setattr(teach, "MAX_DROP", -1.0)  # any result is "too much forgetting"
    at = apps()
    at.session_state["canvas"] = canvas_value(ONE)
    at.run()
    _correct(at, 7)
    at.button(key="teach").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.session_state[state.TEACH_REPORT_KEY].accepted
    assert any("so the old model is kept" in w.value for w in at.warning)
    assert at.radio[0].value == models.SHIPPED and state.TAUGHT_KEY not in at.session_state
    assert any(c.value.startswith("Answered by the shipped weights (") for c in at.caption)
