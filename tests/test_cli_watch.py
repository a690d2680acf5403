"""``train`` watched from a terminal: the progress bar, and ``--history FILE`` (CSV)."""

from __future__ import annotations

import csv
import io
import json
import sys

import pytest
from test_cli import assert_one_line_error, run, tiny_mnist  # noqa: F401 (a fixture)

from digitnet import cli


class FakeTTY(io.StringIO):
    """A terminal: what the bar writes, carriage returns included."""

    def isatty(self):
        return True


def train(tiny_mnist, *extra):  # noqa: F811
    return cli.main(
        ["train", "--epochs", "3", "--hidden", "16", "--data-dir", str(tiny_mnist), *extra]
    )


def test_the_bar_shows_epoch_cost_and_accuracies_on_a_terminal(tiny_mnist, monkeypatch):  # noqa: F811
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(cli.ProgressBar, "update", _unthrottled(cli.ProgressBar.update))
    assert train(tiny_mnist) == 0
    frames = [f for f in tty.getvalue().split("\r") if f.startswith("fast ")]
    assert frames and tty.getvalue().endswith("\n")
    # During the second epoch: where it is, and what the first epoch measured.
    during = [f for f in frames if "epoch 2/3 · cost" in f and "%" in f]
    assert during, frames
    assert " train " in during[0] and " valid " in during[0]
    last = frames[-1]
    assert "100%" in last and "epoch 3/3 · cost " in last
    assert "█" * 28 in last  # the bar full


def _unthrottled(update):
    """The bar draws at most every 0.1 s; a tiny run is quicker than that: draw every call."""

    def draw(self, done, info="", force=False):
        return update(self, done, info, force=True)

    return draw


def test_history_csv_has_a_row_per_epoch(tiny_mnist, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "history.csv"
    assert train(tiny_mnist, "--history", str(out), "--json", "--optimizer", "nesterov") == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["history_csv"] == str(out)
    rows = list(csv.DictReader(out.open()))
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert list(rows[0]) == list(cli.HistoryCSV.COLUMNS)
    for row, h in zip(rows, result["history"]):
        assert float(row["cost"]) == pytest.approx(h["cost"], rel=1e-9)
        assert float(row["train_acc"]) == pytest.approx(h["train_acc"], rel=1e-9)
        assert float(row["elapsed_s"]) == pytest.approx(h["elapsed"], rel=1e-9)
        assert float(row["eta"]) == pytest.approx(h["eta"], rel=1e-9)
        assert float(row["momentum"]) == 0.9  # nesterov's μ
        assert (row["valid_acc"] == "") == (h["valid_acc"] is None)


def test_history_rows_are_written_as_epochs_end(tiny_mnist, tmp_path, monkeypatch):  # noqa: F811
    """An interrupted run keeps the epochs it finished."""
    out = tmp_path / "history.csv"
    seen = []
    original = cli.HistoryCSV.write

    def write_then_interrupt(self, entry):
        original(self, entry)
        seen.append(len(out.read_text().splitlines()) - 1)  # rows on disk already
        if entry["epoch"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli.HistoryCSV, "write", write_then_interrupt)
    assert train(tiny_mnist, "--history", str(out)) == cli.EXIT_INTERRUPTED
    assert seen == [1, 2]
    assert [r["epoch"] for r in csv.DictReader(out.open())] == ["1", "2"]


def test_history_into_a_missing_directory_is_refused_before_training():
    proc = run("train", "--history", "/nonexistent/dir/h.csv")
    assert proc.returncode == cli.EXIT_ERROR
    assert_one_line_error(proc, "cannot write /nonexistent/dir/h.csv", "does not exist")
