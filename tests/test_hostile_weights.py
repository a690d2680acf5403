"""Hostile weights files (issue 13, items 1, 6, 7): every one refused with one clear
WeightsError, before it costs memory, whatever its bytes; what the app and the CLI do."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tracemalloc
import zipfile

import numpy as np
import pytest
from conftest import ROOT
from craft import members_of, metadata, npy, npz, with_meta

from digitnet import MLP, WeightsError, load_model, save_model
from digitnet.app import models
from digitnet.metadata import MAX_METADATA_CHARS
from digitnet.model import MAX_HIDDEN_LAYERS
from digitnet.weights import model_bytes


@pytest.fixture(scope="module")
def good():
    """A small trained model and the bytes of its weights file."""
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (300, 784), dtype=np.uint8), rng.integers(0, 10, 300)
    model = MLP(hidden=(12, 8), activation="relu", output="softmax", epochs=1, eta=1e-4)
    model.fit(X, y)
    return model, model_bytes(model)


def load_bytes(data: bytes, name: str = "bad.npz"):
    return models.load_upload(io.BytesIO(data), name)


def refused(data: bytes, match: str, *, max_peak_mb: float = 20.0) -> str:
    """Load ``data`` as the app does: it must be refused with ``match``, within memory."""
    tracemalloc.start()
    try:
        with pytest.raises(WeightsError, match=match) as info:
            load_bytes(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < max_peak_mb * 1e6, f"refusing it took {peak / 1e6:.0f} MB"
    message = str(info.value)
    assert "\n" not in message and len(message) < 400, message
    return message


# ---------------------------------------------------------------- item 1: loaded size
def test_a_float16_file_that_would_grow_past_the_cap_is_refused_before_reading():
    # The audit's upload: 784-8192-5000-10, float16 zeros (94 kB) to run as float64:
    # 380 MB of weights in memory. Here only the headers are real: it is refused before any data.
    layers = (784, 8192, 5000, 10)
    members = {"metadata.npy": metadata(layers, precision="float64")}
    for i, (a, b) in enumerate(zip(layers, layers[1:])):
        members[f"W{i}.npy"] = npy(header={"descr": "<f2", "fortran_order": False, "shape": (a, b)})
        members[f"b{i}.npy"] = npy(header={"descr": "<f2", "fortran_order": False, "shape": (b,)})
    message = refused(npz(members), "would take 380 MB in memory as float64, more than the 20 MB")
    assert "784-8192-5000-10" in message


def test_the_cli_cap_is_larger_and_explicit(good):
    model, data = good
    with pytest.raises(WeightsError, match="more than the 0 MB allowed"):
        load_model(io.BytesIO(data), max_loaded_bytes=1000)
    assert load_model(io.BytesIO(data)).layer_sizes == model.layer_sizes  # default: 1 GB


def test_the_upload_cap_follows_its_environment_variable(good, monkeypatch):
    monkeypatch.setenv("DIGITNET_MAX_MODEL_MB", "0.01")
    with pytest.raises(WeightsError, match="more than the 0 MB allowed"):
        load_bytes(good[1])
    monkeypatch.setenv("DIGITNET_MAX_MODEL_MB", "not a number")  # logged, default used
    assert load_bytes(good[1]).layer_sizes == good[0].layer_sizes


def test_too_many_hidden_layers_are_refused(good):
    layers = [784] + [4] * (MAX_HIDDEN_LAYERS + 1) + [10]
    data = with_meta(good[1], lambda m: m["architecture"].update(layers=layers))
    refused(
        data, f"{MAX_HIDDEN_LAYERS + 1} hidden layers; digitnet reads at most {MAX_HIDDEN_LAYERS}"
    )
    with pytest.raises(ValueError, match=f"at most {MAX_HIDDEN_LAYERS} hidden layers"):
        MLP(hidden=[4] * (MAX_HIDDEN_LAYERS + 1))


# ---------------------------------------------------------------- item 6: the archive
def test_an_encrypted_member_is_refused(good):
    data = bytearray(good[1])
    for at in (0, data.find(b"PK\x01\x02")):  # the local header and the directory entry
        flags = 6 if at == 0 else 8
        data[at + flags] |= 0x1
    refused(bytes(data), "is encrypted")


def test_an_unknown_compression_is_refused(good):
    data = bytearray(good[1])
    at = 0
    while (at := data.find(b"PK\x03\x04", at)) >= 0:  # every local header...
        data[at + 8 : at + 10] = struct.pack("<H", 99)
        at += 4
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) >= 0:  # ...and directory entry
        data[at + 10 : at + 12] = struct.pack("<H", 99)
        at += 4
    refused(bytes(data), "compressed with method 99")


def test_an_npy_header_claiming_a_huge_shape_is_refused_before_allocating(good):
    members = members_of(good[1])
    members["W0.npy"] = npy(header={"descr": "<f4", "fortran_order": False, "shape": (10**11,)})
    refused(npz(members), r"W0 has shape \(100000000000,\), expected \(784, 12\)")


def test_an_npy_header_of_gigabytes_is_refused_unread(good):
    members = members_of(good[1])
    members["W0.npy"] = b"\x93NUMPY\x02\x00" + struct.pack("<I", 2**31) + b"{" * 1000
    refused(npz(members), "W0 has a 2,147,483,648-byte header")


@pytest.mark.parametrize(
    "header",
    [
        "{'descr': '<f4', 'fortran_order': False, 'shape': (784, 12), 'x': 1}",
        "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (784, 12)}",
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (784, 12)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': (784, -12)}",
        "{'descr': '<f4', 'fortran_order': False, 'shape': " + "(" * 300 + ")" * 300 + "}",
        "\"{'descr': '<f4'\" + 'x'",
        "{'descr': u'<f4', 'fortran_order': False, 'shape': (784L, 12L)}",  # Python 2
    ],
)
def test_odd_npy_headers_are_refused(good, header):
    members = members_of(good[1])
    text = header.encode("latin1") + b"\n"
    members["W0.npy"] = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text
    refused(npz(members), "W0 has an (unreadable )?.npy header")


def test_thousands_of_members_are_refused_with_a_short_message(good):
    members = members_of(good[1])
    members.update({f"x{i}.npy": b"" for i in range(20_000)})
    message = refused(npz(members, zipfile.ZIP_STORED), "20,007 members")
    assert len(message) < 200


def test_a_member_mismatch_lists_a_few_names(good):
    members = members_of(good[1])
    members.update({f"extra{i}.npy": npy(np.zeros(1)) for i in range(40)})
    message = refused(npz(members), r"unexpected \['extra0', .*\] and 34 more")
    assert len(message) < 400


def test_a_wrong_dtype_and_a_pickle_keep_their_messages(good):
    members = members_of(good[1])
    members["W0.npy"] = npy(np.zeros((784, 12), np.int32))
    refused(npz(members), "W0 has dtype int32, expected a float type")
    members["W0.npy"] = npy(header={"descr": "|O", "fortran_order": False, "shape": (1,)})
    refused(npz(members), "pickled Python object in 'W0'")


def test_trailing_bytes_after_an_array_are_refused(good):
    members = members_of(good[1])
    members["b0.npy"] += b"\0" * 8
    refused(npz(members), "b0 has bytes after its data")


def test_random_damage_only_ever_gives_a_weights_error(good):
    """1,500 mutated files gave zlib.error, TokenError, NotImplementedError on main."""
    data = good[1]
    rng = np.random.default_rng(13)
    outcomes: dict[str, int] = {}
    for _ in range(400):
        mutated = bytearray(data)
        for at in rng.integers(0, len(data), rng.integers(1, 6)):
            mutated[at] = rng.integers(0, 256)
        try:
            load_bytes(bytes(mutated))
            outcome = "loaded"
        except WeightsError:
            outcome = "WeightsError"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert set(outcomes) <= {"loaded", "WeightsError"}, outcomes
    assert outcomes.get("WeightsError", 0) > 200


# ---------------------------------------------------------------- item 6: the metadata
@pytest.mark.parametrize(
    "change,message",
    [
        (lambda m: "[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (
            lambda m: json.dumps({**m, "epochs_trained": 7}).replace(
                '"epochs_trained": 7', '"epochs_trained": ' + "9" * 5000
            ),
            "an integer of 5,000 digits",
        ),
        (lambda m: m.update(epochs_trained="abc"), "field epochs_trained must be an integer"),
        (lambda m: m.update(history=5), "field history must be a list of epochs"),
        (lambda m: m.update(hyperparameters=[1, 2]), "field hyperparameters must be an object"),
        (lambda m: m.update(metrics=[1]), "field metrics must be an object, got a list of 1 item"),
        (lambda m: m.update(metrics={"mnist_test_accuracy": 97}), "from 0 to 1, got 97"),
        (lambda m: m["history"][0].update(cost="x"), r"field history\[0\].cost must be a finite"),
        (lambda m: m["history"][0].update(cost=float("nan")), r"history\[0\].cost .* got nan"),
        (lambda m: m["history"][0].pop("elapsed") and None, r"history\[0\].elapsed is missing"),
        (lambda m: m.update(created=5), "field created must be a string"),
        (lambda m: m.update(preset="x" * 10_000), r"…' \(10,000 characters\)"),
        (lambda m: m["hyperparameters"].update(eta="0.1"), "hyperparameters.eta must be"),
        (lambda m: m["hyperparameters"].update(eta=99.0), "invalid hyperparameters.*eta"),
        (lambda m: m["hyperparameters"].update(augment={"spin": 1}), "unknown augmentation"),
        (lambda m: m["architecture"].update(layers=[784, 0, 10]), "from 1 to 8,192, got 0"),
        (lambda m: m["architecture"].update(layers=[784, 12.5, 8, 10]), "layers.1. must be an"),
        (lambda m: m["architecture"].pop("output") and None, "architecture.output is missing"),
        (lambda m: m.update(format_version=10**20), "version 100000000000000000000 is not"),
        (lambda m: m.update(format_version=True), "version true is not supported"),
        (lambda m: m.update(stored_dtype="int8"), "stored_dtype must be one of"),
        (lambda m: " " * (MAX_METADATA_CHARS + 1), "characters long, more than"),
    ],
)
def test_metadata_breaking_its_schema_is_refused(good, change, message):
    refused(with_meta(good[1], change), message, max_peak_mb=60)


def test_unknown_fields_are_dropped_and_threads_never_come_from_a_file(good):
    def change(meta):
        meta["mystery"] = {"deep": [[[[1]]]]}
        meta["history"][0]["spin"] = "x"
        meta["hyperparameters"]["threads"] = 64

    model = load_bytes(with_meta(good[1], change))
    assert "mystery" not in model.metadata_
    assert "spin" not in model.history_[0] and "elapsed" in model.history_[0]
    assert model.threads is None  # the file said 64
    assert model.metadata_["hyperparameters"].get("threads") is None


def test_metrics_of_the_wrong_type_cannot_break_the_draw_tab(good):
    """metrics: [1] loaded on main and then broke every rerun of the Draw tab."""
    refused(with_meta(good[1], lambda m: m.update(metrics=[1])), "field metrics")
    fine = load_bytes(with_meta(good[1], lambda m: m.update(metrics={"other": "x"})))
    assert models.describe(fine).startswith("784-12-8-10")


# ---------------------------------------------------------------- item 7: NaN outputs
def overflowing_model_bytes(good) -> bytes:
    """Finite weights whose outputs are NaN for ink: relu units of +inf, then inf − inf."""
    model = good[0]
    huge = MLP(**{**model.get_params(), "input_scaling": "unit"})
    huge.weights_ = [np.full_like(W, 1e38) for W in model.weights_]
    huge.weights_[-1][:, ::2] *= -1
    huge.biases_ = [np.zeros_like(b) for b in model.biases_]
    return model_bytes(huge)


def test_weights_whose_outputs_are_nan_are_refused_at_load(good, tmp_path):
    data = overflowing_model_bytes(good)
    refused(data, "outputs are NaN or infinite for ordinary digit images")
    path = tmp_path / "nan.npz"
    path.write_bytes(data)
    with pytest.raises(WeightsError, match="NaN"):
        load_model(path)


def test_the_cli_says_one_line_for_a_bad_file(good, tmp_path):
    path = tmp_path / "nan.npz"
    path.write_bytes(overflowing_model_bytes(good))
    deep = tmp_path / "deep.npz"
    deep.write_bytes(with_meta(good[1], lambda m: "[" * 100_000 + "]" * 100_000))
    for bad, words in ((path, "NaN or infinite"), (deep, "nested too deeply")):
        r = subprocess.run(
            [sys.executable, "-m", "digitnet", "info", "--weights", str(bad)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
        )
        assert r.returncode == 1, r.stderr
        assert r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_saved_models_still_load_everywhere(good, tmp_path):
    model, data = good
    path = save_model(model, tmp_path / "m.npz", dtype="float16")
    assert load_model(path).layer_sizes == model.layer_sizes
    again = load_bytes(data)
    np.testing.assert_array_equal(again.weights_[1], model.weights_[1])
