"""The command line: exit codes, one-line errors, --json output."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from conftest import ROOT
from test_pen_strokes import SAMPLE, as_json

from digitnet import cli, data
from digitnet.weights import load_model


def run(*args, env=None, **kw):
    """Run ``python -m digitnet ARGS`` in a fresh process."""
    return subprocess.run(
        [sys.executable, "-m", "digitnet", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        **kw,
    )


def assert_one_line_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_help_and_version():
    assert run("--help").returncode == 0
    proc = run("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("digitnet ")


@pytest.mark.parametrize(
    "args,fragments",
    [
        (["train", "--eta", "0"], ["eta must be > 0"]),
        (["train", "--hidden", "0"], ["hidden layer sizes must be between 1 and"]),
        (["train", "--epochs", "1000000"], ["epochs must be <="]),
        (["train", "--batch", "0"], ["batch_size must be >= 1"]),
        (["train", "--out", "/nonexistent/dir/m.npz"], ["directory /nonexistent/dir"]),
        (["evaluate", "--weights", "missing.npz"], ["no such weights file"]),
        (["info", "--weights", "pyproject.toml"], ["not an .npz archive"]),
    ],
)
def test_bad_input_exits_with_a_one_line_message(args, fragments):
    proc = run(*args)
    assert proc.returncode == cli.EXIT_ERROR
    assert_one_line_error(proc, *fragments)


def test_usage_errors_exit_2():
    proc = run("train", "--epochs", "many")
    assert proc.returncode == cli.EXIT_USAGE
    assert "invalid int value" in proc.stderr


def test_missing_data_offline_says_what_to_do(tmp_path):
    """download=True against unreachable mirrors: a clear one-line error, nothing written."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "no_proxy": "*"}
    code = (
        "import sys, digitnet.data as d; d.MIRRORS = ('http://127.0.0.1:9/',); "
        "from digitnet.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, "download", "--data-dir", str(tmp_path / "mnist")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert_one_line_error(proc, "DIGITNET_DATA", "--data-dir")
    assert not any((tmp_path / "mnist").iterdir())


# ---------------------------------------------------------------- a tiny MNIST
def write_idx(path, array, magic):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(payload)
    return hashlib.sha256(payload).hexdigest()


@pytest.fixture
def tiny_mnist(tmp_path, tiny_data, monkeypatch):
    """A 600/200-image MNIST lookalike, with its checksums registered."""
    X, y = tiny_data
    d = tmp_path / "mnist"
    d.mkdir()
    sums = {}
    for split, (images, labels) in {"train": (X, y), "test": (X[:200], y[:200])}.items():
        name_i, name_l = data.FILES[(split, "images")], data.FILES[(split, "labels")]
        sums[name_i] = write_idx(d / f"{name_i}.gz", images, 0x803)
        sums[name_l] = write_idx(d / f"{name_l}.gz", labels, 0x801)
    monkeypatch.setattr(data, "SHA256", sums)
    return d


def last_json(capsys):
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


def test_train_then_evaluate_json(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "m.npz"
    args = [
        "train",
        "--preset",
        "fast",
        "--epochs",
        "4",
        "--hidden",
        "32",
        "--data-dir",
        str(tiny_mnist),
        "--out",
        str(out),
        "--json",
    ]
    assert cli.main(args) == 0
    result = last_json(capsys)
    assert result["epochs"] == 4 and len(result["history"]) == 4
    assert result["test_accuracy"] > 0.8  # the tiny set is easy
    assert result["train_seconds"] > 0
    assert {"cost", "train_acc", "valid_acc", "elapsed"} <= set(result["history"][0])
    assert out.exists()

    assert (
        cli.main(["evaluate", "--weights", str(out), "--data-dir", str(tiny_mnist), "--json"]) == 0
    )
    ev = last_json(capsys)
    assert ev["test_accuracy"] == pytest.approx(result["test_accuracy"])
    assert len(ev["per_class"]) == 10
    assert np.array(ev["confusion"]).shape == (10, 10)
    assert np.array(ev["confusion"]).sum() == 200

    assert cli.main(["info", "--weights", str(out), "--json"]) == 0
    info = last_json(capsys)
    assert info["architecture"] == "784-32-10" and info["preset"] == "fast"


def test_train_measures_pen_drawings(tiny_mnist, tmp_path, capsys):
    """--pendigits is checked before training, and its figures reach the result and the
    weights' metadata."""
    missing = tmp_path / "nowhere"
    proc = run("train", "--data-dir", str(tiny_mnist), "--pendigits", str(missing))
    assert_one_line_error(proc, "no pendigits_canvas.npz in", str(missing))
    assert "training" not in proc.stderr  # it stopped before loading MNIST

    drawn = tmp_path / "drawn"
    drawn.mkdir()
    X, y = data.load_mnist("test", tiny_mnist, download=False)
    canvases = np.zeros((20, 280, 280, 4), np.uint8)  # tiny-MNIST digits drawn 10x larger
    canvases[..., :3] = np.kron(X[:20], np.ones((10, 10), np.uint8))[..., None]
    canvases[..., 3] = 255
    np.savez(drawn / data.PENDIGITS_FILE, images=canvases, labels=y[:20], writers=np.zeros(20))
    out = tmp_path / "m.npz"
    args = ["train", "--preset", "fast", "--epochs", "2", "--hidden", "16"]
    args += ["--data-dir", str(tiny_mnist), "--pendigits", str(drawn), "--out", str(out)]
    assert cli.main([*args, "--json"]) == 0
    result = last_json(capsys)
    assert 0 <= result["drawings_accuracy"] <= 1
    assert 0 <= result["drawings_accuracy_one_view"] <= 1
    metrics = load_model(out).metadata_["metrics"]
    assert metrics["drawings_accuracy"] == pytest.approx(result["drawings_accuracy"])
    assert metrics["mnist_test_accuracy"] == pytest.approx(result["test_accuracy"])


def training_command(tiny_mnist, *args) -> list[str]:
    """``train`` on the tiny MNIST (its checksums registered) in a process of its own."""
    return [
        sys.executable,
        "-c",
        "import sys, json, digitnet.data as d; d.SHA256 = json.loads(sys.argv[1]); "
        "from digitnet.cli import main; sys.exit(main(sys.argv[2:]))",
        json.dumps(data.SHA256),
        "train",
        "--hidden",
        "16",
        "--data-dir",
        str(tiny_mnist),
        *args,
    ]


def test_piped_output_has_no_progress_bar(tiny_mnist, tmp_path):
    proc = subprocess.run(
        training_command(tiny_mnist, "--epochs", "2", "--json"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "█" not in proc.stderr
    assert "epoch 2/2" in proc.stderr  # a plain log line per epoch instead
    assert json.loads(proc.stdout.strip().splitlines()[-1])["epochs"] == 2


def test_progress_bar_draws_on_a_terminal():
    class FakeTTY:
        def __init__(self):
            self.text = ""

        def isatty(self):
            return True

        def write(self, s):
            self.text += s

        def flush(self):
            pass

    tty = FakeTTY()
    bar = cli.ProgressBar(10, "train", stream=tty)
    bar.update(5, "half", force=True)
    bar.update(10, "done", force=True)
    bar.close()
    assert " 50% " in tty.text and "100%" in tty.text and tty.text.endswith("\n")


def _digit_file(path, strokes, *, dark_on_light=False, size=(400, 300), width=22):
    """A photo-like picture of a digit: strokes in unit coordinates, any canvas size."""
    from PIL import Image, ImageDraw

    ink, paper = (30, 255) if dark_on_light else (255, 0)
    im = Image.new("L", size, paper)
    w, h = size
    if strokes:
        ImageDraw.Draw(im).line(
            [(x * w, y * h) for x, y in strokes], fill=ink, width=width, joint="curve"
        )
    im.convert("RGB").save(path)
    return str(path)


def test_predict_reads_image_files(tmp_path):
    seven = _digit_file(tmp_path / "seven.png", [(0.35, 0.2), (0.65, 0.2), (0.45, 0.85)])
    zero = _digit_file(
        tmp_path / "zero.jpg",
        [(0.5 + 0.12 * np.sin(t), 0.5 - 0.3 * np.cos(t)) for t in np.linspace(0, 6.3, 40)],
        dark_on_light=True,  # pencil on paper
    )
    blank = _digit_file(tmp_path / "blank.png", [])
    proc = run("predict", seven, zero, blank, "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])["predictions"]
    assert [p["image"] for p in out] == [seven, zero, blank]
    assert [p["prediction"] for p in out] == [7, 0, None]
    assert "message" in out[2]
    for p in out[:2]:
        assert abs(sum(p["probabilities"]) - 1) < 1e-4
        assert p["probability"] == pytest.approx(max(p["probabilities"]), abs=1e-6)
        assert p["probability"] > 0.5
    # The drawing alone (no averaged copies) reads the same digits, with other figures.
    alone = json.loads(run("predict", seven, zero, "--json", "--no-tta").stdout.splitlines()[-1])
    assert [p["prediction"] for p in alone["predictions"]] == [7, 0]
    assert alone["predictions"][0]["probabilities"] != out[0]["probabilities"]
    text = run("predict", seven, blank)
    assert text.returncode == 0 and f"{seven}: 7 (" in text.stdout and "no digit" in text.stdout


def test_predict_refuses_what_is_not_an_image(tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not a picture")
    proc = run("predict", str(bad))
    assert proc.returncode == cli.EXIT_ERROR
    assert_one_line_error(proc, "notes.png")


def test_best_needs_the_pen_drawn_strokes(tiny_mnist, tmp_path):
    """best trains on the writers' strokes: a wrong file stops it before training, saying
    how to get the right one."""
    (tmp_path / "strokes.json").write_text(json.dumps(as_json(data.parse_unipen(SAMPLE))))
    proc = run(
        "train", "--preset", "best", "--data-dir", str(tiny_mnist), "--pen-strokes", str(tmp_path)
    )
    assert_one_line_error(
        proc, "its digits are not the expected ones", "python -m digitnet download pen-strokes"
    )
    assert "training" not in proc.stderr


def test_best_trains_on_rendered_pen_strokes(tiny_mnist, tmp_path, capsys, monkeypatch):
    pen = data.parse_unipen(SAMPLE)
    monkeypatch.setattr(data, "PEN_STROKES_SHA256", data.pen_strokes_sha256(pen))
    (tmp_path / "strokes.json").write_text(json.dumps(as_json(pen)))
    out = tmp_path / "best.npz"
    args = ["train", "--preset", "best", "--epochs", "1", "--hidden", "16", "--json"]
    args += ["--data-dir", str(tiny_mnist), "--pen-strokes", str(tmp_path), "--out", str(out)]
    assert cli.main(args) == 0
    assert last_json(capsys)["preset"] == "best"
    meta = load_model(out).metadata_
    assert meta["data"]["pen_strokes"] == {
        "digits": 3,
        "writers": 2,
        "copies": 2,
        "restyled": 4,  # renders of each 1, 7 and 9 redrawn in other writers' styles
        "content_sha256": data.pen_strokes_sha256(pen),
    }


# ---------------------------------------------------------------- train watched from a terminal
# the progress bar, and ``--history FILE`` (CSV)
class FakeTTY(io.StringIO):
    """A terminal: what the bar writes, carriage returns included."""

    def isatty(self):
        return True


def train(tiny_mnist, *extra):
    return cli.main(
        ["train", "--epochs", "3", "--hidden", "16", "--data-dir", str(tiny_mnist), *extra]
    )


def test_the_bar_shows_epoch_cost_and_accuracies_on_a_terminal(tiny_mnist, monkeypatch):
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


def test_history_csv_has_a_row_per_epoch(tiny_mnist, tmp_path, capsys):
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


def test_history_rows_are_written_as_epochs_end(tiny_mnist, tmp_path, monkeypatch):
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


def _training_process(tiny_mnist, *args):
    """``train`` on the tiny MNIST in a process of its own (stderr piped: a log line per epoch)."""
    return subprocess.Popen(
        training_command(tiny_mnist, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        # Ctrl-C as in a terminal, even when the tests run as a background job (which
        # ignores SIGINT, and so would the child)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _after_first_epoch(proc) -> list[str]:
    """Read the process's log up to its first epoch's line."""
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "epoch 1/" in line:
            return lines
    raise AssertionError("no epoch finished: " + "".join(lines))


def test_ctrl_c_stops_the_run_and_saves_what_was_trained(tiny_mnist, tmp_path):
    out = tmp_path / "m.npz"
    proc = _training_process(tiny_mnist, "--epochs", "10000", "--out", str(out), "--json")
    try:
        _after_first_epoch(proc)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == cli.EXIT_INTERRUPTED, stderr
    assert "Traceback" not in stderr
    assert "stopping after this minibatch" in stderr and "Ctrl-C again" in stderr
    model = load_model(out)  # saved, with what it is
    assert 1 <= model.epochs_trained_ < 10000 and len(model.history_) == model.epochs_trained_
    stopped = model.metadata_["stopped"]
    assert stopped == f"stopped by Ctrl-C after {model.epochs_trained_} of 10000 epochs"
    result = json.loads(stdout.strip().splitlines()[-1])
    assert result["interrupted"] is True and result["out"] == str(out)
    assert result["test_accuracy"] > 0.5  # tested as a finished run is


@pytest.fixture
def sigint(request):
    """SIGINT handled as ``request.param`` for the test (Python's own handler: a terminal)."""
    previous = signal.signal(signal.SIGINT, request.param)
    yield request.param
    signal.signal(signal.SIGINT, previous)


@pytest.mark.parametrize("sigint", [signal.default_int_handler], indirect=True)
def test_a_second_ctrl_c_quits_without_saving(tiny_mnist, tmp_path, monkeypatch, capsys, sigint):
    out = tmp_path / "m.npz"
    out.write_bytes(b"an earlier file, kept")
    original = cli.HistoryCSV.write

    def press_ctrl_c_twice(self, entry):  # at the end of epoch 2, in the training's thread
        original(self, entry)
        if entry["epoch"] == 2:
            os.kill(os.getpid(), signal.SIGINT)  # the first: stop and save ...
            # Two signals sent at once can arrive as one: wait for the first's handler to run
            # (it puts Python's own handler back).
            deadline = time.monotonic() + 5
            while signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
                assert time.monotonic() < deadline
                time.sleep(0.001)
            os.kill(os.getpid(), signal.SIGINT)  # ... the second, before that: quit

    monkeypatch.setattr(cli.HistoryCSV, "write", press_ctrl_c_twice)
    history = tmp_path / "h.csv"
    assert train(tiny_mnist, "--out", str(out), "--history", str(history)) == cli.EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "Ctrl-C again" in err and "digitnet: interrupted" in err and "saved" not in err
    assert out.read_bytes() == b"an earlier file, kept"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back


@pytest.mark.parametrize("sigint", [signal.SIG_IGN], indirect=True)
def test_a_run_that_ignores_ctrl_c_goes_on_ignoring_it(tiny_mnist, tmp_path, monkeypatch, sigint):
    seen = []
    original = cli.HistoryCSV.write

    def look(self, entry):
        original(self, entry)
        seen.append(signal.getsignal(signal.SIGINT))

    monkeypatch.setattr(cli.HistoryCSV, "write", look)
    assert train(tiny_mnist, "--history", str(tmp_path / "h.csv")) == 0
    assert seen == [signal.SIG_IGN] * 3  # a background job's Ctrl-C is not taken up


def _gradients_overflow_from_epoch(monkeypatch, epoch: int) -> None:
    """Training's gradients become infinite once ``epoch`` epochs are done."""
    from digitnet.model import MLP

    backward = MLP.backward

    def poisoned(self, *a, **kw):
        grad_W, grad_b = backward(self, *a, **kw)
        if self.epochs_trained_ >= epoch:
            grad_W[-1][...] = np.inf
        return grad_W, grad_b

    monkeypatch.setattr(MLP, "backward", poisoned)


def test_a_run_that_diverges_saves_its_last_finite_epoch(tiny_mnist, tmp_path, monkeypatch, capsys):
    out = tmp_path / "m.npz"
    _gradients_overflow_from_epoch(monkeypatch, 2)  # in the third epoch
    assert train(tiny_mnist, "--out", str(out), "--epochs", "5") == cli.EXIT_ERROR
    err = capsys.readouterr().err
    message = [line for line in err.splitlines() if "error:" in line]
    assert len(message) == 1 and "diverged" in message[0] and f"saved in {out}" in message[0]
    model = load_model(out)
    assert model.epochs_trained_ == 2 and len(model.history_) == 2
    assert model.metadata_["stopped"] == "diverged; the weights from the end of epoch 2"
    assert all(np.isfinite(W).all() for W in model.weights_)


def test_a_run_that_diverges_in_its_first_epoch_saves_nothing(
    tiny_mnist, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "m.npz"
    _gradients_overflow_from_epoch(monkeypatch, 0)
    assert train(tiny_mnist, "--out", str(out)) == cli.EXIT_ERROR
    err = capsys.readouterr().err
    assert "diverged" in err and "saved" not in err and not out.exists()
