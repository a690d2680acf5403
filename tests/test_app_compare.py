"""Two runs side by side: curves, test accuracy, the confusion matrices' difference, and
how each reads the drawing."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
from app_support import SEVEN, canvas_value, tiny_training_data, two_quick_runs, wait

from digitnet import presets
from digitnet.app import compare, i18n, jobs


def rows(chart):
    return pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas()


def test_a_finished_run_keeps_its_confusion_and_weights_within_a_cap(tiny_data, monkeypatch):
    job = jobs.TrainJob("s", jobs.Slots(1))
    data = tiny_training_data(tiny_data)
    try:
        for hidden in (16, 24, 32):
            job.start(presets.build("fast", epochs=2, hidden=hidden, precision="float64"),
                      data, preset="fast", label=str(hidden))  # fmt: skip
            wait(lambda: job.snapshot().state == "done")
            if hidden == 24:  # room for about one and a half of them from now on
                size = sum(a.nbytes for a in (*job.runs()[-1].model.weights_,
                                              *job.runs()[-1].model.biases_))  # fmt: skip
                monkeypatch.setattr(jobs, "KEPT_WEIGHTS_BYTES", int(size * 1.5))
        runs = job.runs()
        for run in runs:
            assert run.confusion.shape == (10, 10) and run.confusion.sum() == len(data.y_test)
            assert np.trace(run.confusion) / run.confusion.sum() == run.test_acc
        assert runs[-1].model is not None and runs[-1].model.weights_[0].dtype == np.float32
        assert runs[0].model is None  # the oldest dropped its weights, kept the rest
        np.testing.assert_array_equal(
            runs[-1].model.predict(data.X_test), job.published().model.predict(data.X_test)
        )
        job.close()
        assert all(r.model is None for r in job.runs())  # the memory comes back
    finally:
        job.close()


def test_difference_chart_and_words():
    first = np.diag([100] * 10)
    second = first.copy()
    first[4, 9], second[4, 9] = 12, 4  # the second reads fewer 4s as 9
    second[7, 2] = 3  # and more 7s as 2
    diff = second - first
    data, spec = compare.difference_chart(diff)
    cell = data[(data["actual"] == 4) & (data["read"] == 9)].iloc[0]
    assert (
        cell["change"] == -8
        and cell["way"] == i18n.translate("en", compare.FEWER)
        and cell["label"] == "-8"
    )
    cell = data[(data["actual"] == 7) & (data["read"] == 2)].iloc[0]
    assert cell["way"] == i18n.translate("en", compare.MORE) and cell["size"] == 3
    assert spec["layer"][0]["encoding"]["opacity"]["scale"]["domain"] == [0, 8]
    text = compare.difference_summary(diff, "#1", "#2")
    assert "8 fewer here, 3 more there, 5 fewer in all" in text
    assert (
        "the most fewer: 4s read as 9 (-8)" in text and "the most more: 7s read as 2 (+3)" in text
    )
    assert "#" not in json.dumps(spec)  # the theme's colours only


def test_two_runs_and_the_shipped_weights_side_by_side(apps, mnist):
    at = apps("Draw")
    at.session_state["canvas"] = canvas_value(SEVEN)
    at.run()
    at.session_state["tab"] = "Train"
    at.run()
    two_quick_runs(at)
    assert any(m.value == "#### Compare two runs side by side" for m in at.markdown)
    first, second = at.selectbox(key=f"{compare.FIRST}_2"), at.selectbox(key=f"{compare.SECOND}_2")
    runs = at.session_state["job"].runs()
    assert (first.value, second.value) == (runs[0].label, runs[1].label)
    assert first.options[-1] == compare.SHIPPED
    metrics = {m.label: m for m in at.metric}
    b = metrics[f"Test accuracy · {runs[1].label}"]
    assert b.value == f"{runs[1].test_acc:.2%}"
    assert b.delta == f"{(runs[1].test_acc - runs[0].test_acc) * 100:+.2f} points"
    charts = at.get("vega_lite_chart")
    curves = [rows(c) for c in charts if '"cost J"' in c.proto.spec]
    assert any(set(r["run"]) == {runs[0].label, runs[1].label} for r in curves)
    (diff,) = [c for c in charts if '"read as"' in c.proto.spec]
    d = rows(diff)
    expected = runs[1].confusion - runs[0].confusion
    assert sorted(d["change"]) == sorted(expected.ravel().tolist())
    (reads,) = [c for c in charts if '"xOffset"' in c.proto.spec]
    r = rows(reads)
    assert set(r["run"]) == {runs[0].label, runs[1].label} and len(r) == 20
    assert any(
        c.value.startswith("Your drawing: #1 fast 32 relu η=0.002 reads ") for c in at.caption
    )

    second.set_value(compare.SHIPPED).run()  # a run against the shipped weights
    metrics = {m.label: m for m in at.metric}
    assert f"Test accuracy · {compare.SHIPPED}" in metrics
    assert not at.exception and not at.error
