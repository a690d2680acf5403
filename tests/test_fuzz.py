"""Fuzzing (issue 13): whatever bytes reach the weights loader, the metadata schema, the
canvas reader and the image reader, each ends in a result or one clear error (a
:class:`~digitnet.errors.DigitnetError`), never another exception, within a memory bound
(tracemalloc's peak) and a CPU bound (the process's CPU time, not the wall clock).

Hypothesis generates the inputs: raw bytes, damaged copies of good files, and files
built to be almost right (archives of .npy members with odd headers, JSON metadata with
random values where digitnet's fields go, PNGs claiming any size).

Example counts: small and derandomized by default, so that the suite stays fast and
repeatable (about 15 s); set ``DIGITNET_FUZZ=soak`` for a long random run (thousands of
examples per property, minutes), e.g.::

    DIGITNET_FUZZ=soak python -m pytest tests/test_fuzz.py -p no:cacheprovider
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from craft import npy, npz, png_chunk
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from digitnet import MLP, metadata
from digitnet.errors import DigitnetError, WeightsError
from digitnet.preprocess import (
    CanvasError,
    EmptyCanvas,
    ImageReadError,
    canvas_to_mnist,
    load_image,
    read_canvas_png,
)
from digitnet.weights import load_model, model_bytes

settings.register_profile(
    "ci",
    max_examples=100,
    derandomize=True,  # the same examples every run: no flaky CI
    deadline=None,  # the bounds below are on CPU time and memory, not on the wall clock
    database=None,  # writes nothing into the checkout
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "soak",
    max_examples=3000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
PROFILE = os.environ.get("DIGITNET_FUZZ", "ci")
FUZZ = settings(settings.get_profile(PROFILE))
pytestmark = pytest.mark.timeout(6 * 3600 if PROFILE == "soak" else 600)  # a soak takes long

MAX_PEAK_BYTES = 40_000_000  #: what any one input may cost in memory, at its peak
MAX_CPU_S = 5.0  #: and in CPU time


def bounded(fn, *args):
    """``fn(*args)``: its result, or the DigitnetError it raised; anything else fails the
    test, and so does a peak over MAX_PEAK_BYTES or CPU time over MAX_CPU_S."""
    tracemalloc.start()
    cpu = time.process_time()
    try:
        try:
            result = fn(*args)
        except DigitnetError as e:
            message = str(e)
            assert message and "\n" not in message.strip() and len(message) < 2000, message
            result = e
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    spent = time.process_time() - cpu
    assert peak < MAX_PEAK_BYTES, f"{peak / 1e6:.0f} MB"
    assert spent < MAX_CPU_S, f"{spent:.1f} s of CPU"
    return result


# ---------------------------------------------------------------- inputs
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=30,
)


def _good_model() -> MLP:
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (200, 784), dtype=np.uint8), rng.integers(0, 10, 200)
    return MLP(hidden=(6, 5), activation="relu", output="softmax", epochs=1, eta=1e-4).fit(X, y)


GOOD = _good_model()
GOOD_BYTES = model_bytes(GOOD, dtype="float16")
with zipfile.ZipFile(io.BytesIO(GOOD_BYTES)) as _z:
    GOOD_MEMBERS = {name: _z.read(name) for name in _z.namelist()}
GOOD_META = json.loads(str(np.load(io.BytesIO(GOOD_MEMBERS["metadata.npy"]))))


@st.composite
def damaged(draw, good: bytes) -> bytes:
    """``good`` with a few bytes changed, inserted or removed, or cut short."""
    data = bytearray(good)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["set", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(0, len(data) - 1)))
        if kind == "set" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 8))]
        else:
            del data[at:]
    return bytes(data)


SHAPES = (
    st.tuples()
    | st.tuples(st.integers(-3, 10**12))
    | st.tuples(st.integers(0, 2000), st.integers(0, 2000))
    | st.lists(st.integers(0, 5), max_size=4).map(tuple)
)
DESCRS = st.sampled_from(["<f2", "<f4", "<f8", ">f4", "<i4", "|u1", "|b1", "<U5", "|O", "<c8"])


@st.composite
def odd_npy(draw) -> bytes:
    """A .npy member whose header is almost right, with a little data."""
    header = {
        "descr": draw(DESCRS | st.text(max_size=6)),
        "fortran_order": draw(st.booleans() | st.integers(0, 2)),
        "shape": draw(SHAPES),
    }
    if draw(st.booleans()):
        header[draw(st.text(max_size=5))] = draw(JSON)
    text = repr(header) if draw(st.integers(0, 9)) else draw(st.text(max_size=60))
    data = draw(st.binary(max_size=64))
    return npy(header=text, data=data, version=draw(st.sampled_from([1, 2, 3])))


@st.composite
def meta_with_noise(draw) -> dict:
    """The good file's metadata with one field (anywhere in it) set to random JSON."""
    meta = json.loads(json.dumps(GOOD_META))
    node = meta
    for depth in range(4):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if depth < 3 and isinstance(child, (dict, list)) and child and draw(st.booleans()):
            node = child  # go deeper
            continue
        node[key] = draw(JSON)
        break
    return meta


@st.composite
def weights_files(draw) -> bytes:
    kind = draw(st.sampled_from(["bytes", "damaged", "members", "metadata"]))
    if kind == "bytes":
        return draw(st.binary(max_size=2000))
    if kind == "damaged":
        return draw(damaged(GOOD_BYTES))
    members = dict(GOOD_MEMBERS)
    if kind == "members":
        for name in draw(st.lists(st.sampled_from([*GOOD_MEMBERS, "x.npy", "W9.npy"]),
                                  min_size=1, max_size=3)):  # fmt: skip
            members[name] = draw(odd_npy())
    else:
        text = json.dumps(draw(meta_with_noise()))
        members["metadata.npy"] = npy(
            header={"descr": f"<U{len(text)}", "fortran_order": False, "shape": ()},
            data=text.encode("utf-32-le"),
        )
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    return npz(members, method)


@st.composite
def pngs(draw) -> bytes:
    """A PNG claiming any size, with made-up or real chunks, or a real small PNG."""
    kind = draw(st.sampled_from(["real", "claims", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=500))
    if kind == "real":
        side = draw(st.sampled_from([280, 280, 279, 1, 64]))
        mode = draw(st.sampled_from(["RGBA", "RGB", "L", "LA", "P", "1", "I;16"]))
        image = Image.new(mode, (side, side))
        buf = io.BytesIO()
        image.save(buf, "PNG")
        return draw(damaged(buf.getvalue())) if draw(st.booleans()) else buf.getvalue()

    def chunk(kind: bytes, data: bytes) -> bytes:  # now and then with a wrong CRC
        wrong = None if draw(st.integers(0, 5)) else draw(st.integers(0, 2**32 - 1))
        return png_chunk(kind, data, wrong)

    width = draw(st.sampled_from([280, 0, 2**31 - 1, 12_000]) | st.integers(0, 2**32 - 1))
    height = draw(st.sampled_from([280, 0, 20_000]) | st.integers(0, 2**32 - 1))
    ihdr = struct.pack(">II", width, height) + draw(st.binary(min_size=5, max_size=5))
    idat = draw(st.binary(max_size=200) | st.builds(zlib.compress, st.binary(max_size=2000)))
    body = chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


FORMATS = ["PNG", "JPEG", "BMP", "GIF", "TIFF", "WEBP", "PPM", "ICO", "TGA"]


@st.composite
def image_files(draw) -> bytes:
    """Bytes of an image file in one of Pillow's formats, perhaps damaged, or anything."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=1000))
    fmt = draw(st.sampled_from(FORMATS))
    mode = draw(st.sampled_from(["RGB", "L", "RGBA", "1", "F", "I", "P", "LA"]))
    w, h = draw(st.integers(1, 60)), draw(st.integers(1, 60))
    pixels = draw(st.integers(0, 255))
    try:
        image = Image.new(mode, (w, h), pixels if mode not in ("RGB", "RGBA") else (pixels,) * 3)
        buf = io.BytesIO()
        image.save(buf, fmt)
    except (OSError, ValueError, KeyError, TypeError):  # a mode the format cannot store
        image = Image.new("RGB", (w, h))
        buf = io.BytesIO()
        image.save(buf, "PNG")
    data = buf.getvalue()
    return draw(damaged(data)) if draw(st.booleans()) else data


# ---------------------------------------------------------------- the properties
def _load(data: bytes):
    model = load_model(io.BytesIO(data), max_loaded_bytes=20_000_000)
    assert np.isfinite(model.predict_proba(np.zeros((1, 784), np.uint8))).all()
    return model


@FUZZ
@given(weights_files())
def test_weights_loader_ends_in_a_model_or_a_weights_error(data):
    result = bounded(_load, data)
    assert isinstance(result, (MLP, WeightsError)), result


@FUZZ
@given(meta_with_noise() | JSON)
def test_metadata_schema_ends_in_known_fields_or_a_weights_error(meta):
    result = bounded(metadata.check, meta, "f.npz")
    if isinstance(result, dict):
        assert set(result) <= set(metadata.SCHEMA.fields)
        json.dumps(result)  # what is kept can be saved again


@FUZZ
@given(st.text(max_size=300) | JSON.map(json.dumps) | meta_with_noise().map(json.dumps))
def test_metadata_parser_ends_in_known_fields_or_a_weights_error(text):
    result = bounded(metadata.parse, text, "f.npz")
    assert isinstance(result, (dict, WeightsError))


@FUZZ
@given(pngs())
def test_canvas_reader_ends_in_the_canvas_picture_or_a_canvas_error(data):
    result = bounded(read_canvas_png, data)
    if isinstance(result, np.ndarray):
        assert result.shape == (280, 280, 4) and result.dtype == np.uint8
    else:
        assert isinstance(result, CanvasError)


def _read_and_preprocess(path: Path):
    pixels = load_image(path)
    try:
        return canvas_to_mnist(pixels)
    except EmptyCanvas:
        return pixels


@FUZZ
@given(image_files())
def test_image_reader_ends_in_an_image_or_an_image_read_error(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "image"
        path.write_bytes(data)
        result = bounded(_read_and_preprocess, path)
    assert isinstance(result, (np.ndarray, ImageReadError)), result
    if isinstance(result, np.ndarray):
        assert result.dtype in (np.uint8, np.float32)


def test_the_fuzzing_profile_is_chosen_by_an_environment_variable():
    assert PROFILE in ("ci", "soak"), "DIGITNET_FUZZ must be ci or soak"
    assert settings.get_profile("soak").max_examples > 10 * settings.get_profile("ci").max_examples
