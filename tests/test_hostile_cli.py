"""The command line against bad input (issue 13, items 3 and 10): a run over the memory
budget, an ``--out`` that cannot be written (checked before training), unreadable images
in a ``predict`` batch, NaN pixels, huge images."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from test_cli import _digit_file, assert_one_line_error, run

from digitnet.preprocess import ImageReadError, load_image

SEVEN = [(0.35, 0.2), (0.65, 0.2), (0.45, 0.85)]


def test_a_run_over_the_memory_budget_is_refused_before_loading_data(tmp_path):
    no_data = str(tmp_path / "no-data-here")  # the refusal comes first: no MNIST needed
    args = ["--hidden", "3000", "--batch", "60000", "--precision", "float64"]
    env = {"DIGITNET_RUN_MEMORY_MB": "500", "PATH": ""}
    proc = run("train", *args, "--data-dir", no_data, env=env)
    assert_one_line_error(proc, "would take about", "GB of memory", "500 MB allowed per run")


@pytest.mark.parametrize("kind", ["directory", "missing parent", "not writable"])
def test_an_out_that_cannot_be_written_is_refused_before_training(tmp_path, kind):
    out = {
        "directory": tmp_path,
        "missing parent": tmp_path / "nope" / "m.npz",
        "not writable": "/proc/digitnet-m.npz",  # even root cannot create files there
    }[kind]
    data_dir = tmp_path / "no-mnist"  # training never starts: no data is looked for
    proc = run("train", "--out", str(out), "--data-dir", str(data_dir), env={"PATH": ""})
    assert_one_line_error(proc, f"cannot write {out}")
    assert "MNIST" not in proc.stderr


def test_predict_reports_an_unreadable_image_and_reads_the_others(tmp_path):
    seven = _digit_file(tmp_path / "seven.png", SEVEN)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    missing = tmp_path / "missing.png"
    proc = run("predict", str(bad), seven, str(missing), "--json")
    assert proc.returncode == 1  # something could not be read...
    out = json.loads(proc.stdout.splitlines()[-1])  # ...and the JSON is still there
    preds = out["predictions"]
    assert [p["image"] for p in preds] == [str(bad), seven, str(missing)]
    assert preds[1]["prediction"] == 7 and out["unreadable"] == 2
    assert "cannot read the image" in preds[0]["error"] and "no such file" in preds[2]["error"]
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 2 and all(e.startswith("digitnet predict: error: ") for e in errors)


def float_image(path, pixels: np.ndarray) -> str:
    Image.fromarray(pixels.astype(np.float32), mode="F").save(path)
    return str(path)


def test_nan_pixels_in_a_float_image_are_no_ink(tmp_path):
    """On main one NaN pixel made the whole image blank (0 / NaN everywhere)."""
    a = np.zeros((100, 80), np.float32)
    a[20:80, 38:44] = 0.8  # a "1"
    a[5, 5], a[6, 6], a[7, 7] = np.nan, np.inf, -np.inf
    pixels = load_image(float_image(tmp_path / "one.tif", a))
    assert pixels.dtype == np.uint8 and pixels[50, 40] == 255 and pixels[5, 5] == 0
    assert pixels.sum() == 255 * 60 * 6
    with pytest.raises(ImageReadError, match="no pixel of this image is a finite number"):
        load_image(float_image(tmp_path / "nan.tif", np.full((10, 10), np.nan)))
    proc = run("predict", str(tmp_path / "one.tif"), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout.splitlines()[-1])["predictions"][0][
        "prediction"
    ] in range(10)


def test_an_image_too_large_is_refused_before_decoding(tmp_path):
    path = tmp_path / "huge.png"  # 10000×5000 of one colour: 50 megapixels in a few kB
    Image.new("L", (10_000, 5_000)).save(path, optimize=True)
    with pytest.raises(ImageReadError, match="10000×5000 pixels is more than the 40 megapixels"):
        load_image(path)
    with pytest.raises(ImageReadError, match="is a directory"):
        load_image(tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        ["evaluate", "--data-dir", "{file}"],
        ["download", "--data-dir", "{file}/mnist"],
        ["download", "pen-strokes", "--pen-strokes", "{file}"],
    ],
    ids=["data-dir", "data-dir-below-a-file", "pen-strokes"],
)
def test_a_data_directory_that_is_a_file_is_one_clear_line(tmp_path, args):
    """On main: "[Errno 17] File exists: '.../notes.txt'" (and no word of which setting)."""
    file = tmp_path / "notes.txt"
    file.write_text("mine")
    proc = run(*(a.format(file=file) for a in args), env={"PATH": ""})
    assert_one_line_error(proc, f"cannot store data in {file}", "a file, not a directory")
    assert file.read_text() == "mine"


@pytest.mark.parametrize(
    ("weights", "words"),
    [("{dir}", "is a directory, not a weights file"), ("/dev/zero", "is not a regular file")],
    ids=["directory", "device"],
)
def test_weights_that_are_not_a_file_say_what_they_are(tmp_path, weights, words):
    """On main: "no such weights file" for a directory that is there."""
    proc = run("info", "--weights", weights.format(dir=tmp_path))
    assert_one_line_error(proc, words)


def test_history_and_out_naming_one_file_is_refused_before_training(tmp_path):
    """On main the run wrote its history into the file, then its weights over it: the history
    was lost, and the JSON still named the file as the history."""
    both = tmp_path / "mine.npz"
    both.write_bytes(b"an earlier file")
    same = str(tmp_path / "." / "mine.npz")
    proc = run("train", "--out", str(both), "--history", same, "--data-dir",
               str(tmp_path / "no-mnist"), env={"PATH": ""})  # fmt: skip
    assert_one_line_error(proc, "--history and --out name the same file")
    assert both.read_bytes() == b"an earlier file"
