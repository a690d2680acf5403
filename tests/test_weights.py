"""Weights files: round trip, metadata, and every bad file refused with its own message."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest

from digitnet import MLP, WeightsError, load_model, save_model
from digitnet.weights import SHIPPED_WEIGHTS, model_bytes


@pytest.fixture
def model(tiny_data):
    X, y = tiny_data
    m = MLP(hidden=(12, 8), activation="tanh", output="softmax", epochs=2, eta=0.01)
    return m.fit(X, y)


def write_npz(path, arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def arrays_of(path):
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def test_round_trip_keeps_predictions_and_metadata(model, tiny_data, tmp_path):
    X, _ = tiny_data
    path = save_model(model, tmp_path / "m.npz", metadata={"preset": "custom"})
    loaded = load_model(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    assert loaded.layer_sizes == (784, 12, 8, 10)
    assert (loaded.activation, loaded.output, loaded.input_scaling) == (
        "tanh",
        "softmax",
        "symmetric",
    )
    meta = loaded.metadata_
    assert meta["format"] == "digitnet-weights" and meta["format_version"] == 1
    assert meta["preset"] == "custom" and meta["epochs_trained"] == 2
    assert meta["hyperparameters"]["eta"] == 0.01 and meta["digitnet_version"]
    assert len(meta["history"]) == 2 and "created" in meta
    assert not list(tmp_path.glob(".*tmp"))  # no temporary file left behind


def test_float16_storage_is_smaller_and_close(model, tiny_data, tmp_path):
    X, _ = tiny_data
    full = save_model(model, tmp_path / "a.npz")
    half = save_model(model, tmp_path / "b.npz", dtype="float16")
    assert half.stat().st_size < full.stat().st_size
    loaded = load_model(half)
    assert loaded.weights_[0].dtype == np.float32  # rebuilt in the model's precision
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X), atol=2e-2)


def test_save_is_atomic_when_writing_fails(model, tmp_path, monkeypatch):
    target = tmp_path / "m.npz"
    save_model(model, target)
    before = target.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", boom)
    with pytest.raises(OSError, match="disk full"):
        save_model(model, target)
    assert target.read_bytes() == before  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_file_object_upload_and_download_bytes(model, tiny_data, tmp_path):
    path = save_model(model, tmp_path / "m.npz")
    loaded = load_model(io.BytesIO(path.read_bytes()))
    assert loaded.layer_sizes == model.layer_sizes
    again = load_model(io.BytesIO(model_bytes(model)))
    np.testing.assert_array_equal(again.predict(tiny_data[0]), model.predict(tiny_data[0]))


def corrupt(tmp_path, model, change):
    """Save ``model``, let ``change`` edit its arrays, and write them back."""
    path = save_model(model, tmp_path / "good.npz")
    arrays = arrays_of(path)
    change(arrays)
    return write_npz(tmp_path / "bad.npz", arrays)


def set_meta(arrays, **changes):
    meta = json.loads(str(arrays["metadata"]))
    meta.update(changes)
    arrays["metadata"] = np.array(json.dumps(meta))


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda a: a.update(W0=np.zeros((784, 13), np.float32)), r"W0 has shape \(784, 13\)"),
        (lambda a: a.update(b1=np.zeros(9, np.float32)), r"b1 has shape \(9,\)"),
        (lambda a: a["W1"].__setitem__((0, 0), np.nan), "W1 contains NaN"),
        (lambda a: a["b2"].__setitem__(0, np.inf), "b2 contains NaN or infinite"),
        (lambda a: a.update(W0=a["W0"].astype(np.int32)), "W0 has dtype int32"),
        (lambda a: a.pop("b2"), r"missing \['b2'\]"),
        (lambda a: a.update(extra=np.zeros(3)), r"unexpected \['extra'\]"),
        (lambda a: a.pop("metadata"), "no 'metadata' entry"),
        (lambda a: a.update(metadata=np.array("{not json")), "not valid JSON"),
        (lambda a: set_meta(a, format="keras"), "format is not 'digitnet-weights'"),
        (lambda a: set_meta(a, format_version=99), "version 99 is not supported"),
        (
            lambda a: set_meta(
                a,
                architecture={
                    "layers": [784, 12, 8, 11],
                    "activation": "tanh",
                    "output": "softmax",
                    "input_scaling": "unit",
                },
            ),
            "784 inputs and give 10 outputs",
        ),
        (
            lambda a: set_meta(
                a,
                architecture={
                    "layers": [784, 12, 8, 10],
                    "activation": "gelu",
                    "output": "softmax",
                    "input_scaling": "unit",
                },
            ),
            "activation must be one of",
        ),
    ],
)
def test_bad_weights_are_refused_with_their_message(model, tmp_path, change, message):
    path = corrupt(tmp_path, model, change)
    with pytest.raises(WeightsError, match=message):
        load_model(path)


def test_pickled_object_is_refused_not_unpickled(model, tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    def add_object(arrays):
        arrays["W0"] = np.array([Evil()], dtype=object)

    path = corrupt(tmp_path, model, add_object)
    with pytest.raises(WeightsError, match="pickled Python object"):
        load_model(path)


def test_truncated_file_is_refused(model, tmp_path):
    path = save_model(model, tmp_path / "m.npz")
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match="truncated or corrupt"):
        load_model(tmp_path / "cut.npz")


def test_not_an_npz_is_refused(tmp_path):
    (tmp_path / "x.npz").write_text("hello")
    with pytest.raises(WeightsError, match=r"not an \.npz archive"):
        load_model(tmp_path / "x.npz")
    with pytest.raises(WeightsError, match="no such weights file"):
        load_model(tmp_path / "missing.npz")


def test_zip_with_a_broken_member_is_refused(model, tmp_path):
    path = save_model(model, tmp_path / "m.npz")
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    members["W0.npy"] = members["W0.npy"][:100]
    with zipfile.ZipFile(tmp_path / "broken.npz", "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(WeightsError):
        load_model(tmp_path / "broken.npz")


def test_size_cap_for_uploads(model, tmp_path):
    path = save_model(model, tmp_path / "m.npz")
    with pytest.raises(WeightsError, match="larger than"):
        load_model(path, max_bytes=1000)


def test_zip_bomb_is_refused_before_unpacking(model, tmp_path):
    path = save_model(model, tmp_path / "m.npz")
    arrays = arrays_of(path)
    arrays["W0"] = np.zeros((784, 40_000), np.float32)  # 125 MB of zeros, a small file
    bomb = tmp_path / "bomb.npz"
    with open(bomb, "wb") as f:
        np.savez_compressed(f, **arrays)
    assert bomb.stat().st_size < 1_000_000
    with pytest.raises(WeightsError, match="would take 125 MB in memory"):
        load_model(bomb, max_unpacked_bytes=100_000_000)
    assert load_model(path, max_unpacked_bytes=100_000_000).layer_sizes == model.layer_sizes


def test_unfitted_model_cannot_be_saved(tmp_path):
    with pytest.raises(ValueError, match="without weights"):
        save_model(MLP(), tmp_path / "m.npz")


@pytest.mark.skipif(not SHIPPED_WEIGHTS.exists(), reason="shipped weights not built yet")
def test_shipped_weights_load_and_fit_the_budget():
    model = load_model()
    assert SHIPPED_WEIGHTS.stat().st_size <= 3_000_000
    meta = model.metadata_
    assert meta["metrics"]["mnist_test_accuracy"] >= 0.985
    assert meta["preset"] == "best"


def test_an_interruption_at_any_line_of_a_save_leaves_the_old_file_and_no_other(model, tmp_path):
    """A second Ctrl-C (or SIGTERM as an exception) can land at any line of save_model.
    Here it is raised at every line in turn: the weights file is the old one or the new
    one, whole, and no temporary file stays beside it, whichever line it was. (main made
    the temporary file before its ``try``: an interruption right after left it.)"""
    import os

    from craft import interrupted_at

    from digitnet import weights

    path = tmp_path / "w.npz"
    save_model(model, path, dtype="float16")
    old = path.read_bytes()
    code = weights.save_model.__code__
    for at_line in range(1, 200):
        save = lambda: save_model(model, path, dtype="float64")  # noqa: E731
        interrupted = interrupted_at(code, at_line, save)
        assert sorted(os.listdir(tmp_path)) == ["w.npz"], at_line
        saved = load_model(path)  # whole: the old file (float16) or the new one (float64)
        if not interrupted:
            break
        assert path.read_bytes() == old or saved.metadata_["stored_dtype"] == "float64", at_line
        path.write_bytes(old)
    assert not interrupted and at_line > 5
