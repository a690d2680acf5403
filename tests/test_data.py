"""Tests for digitnet.data: IDX parsing, validation, data directory, downloads.

Everything runs offline on small generated files; downloads go to a local HTTP
server on 127.0.0.1. Tests marked ``mnist`` need the real files (DIGITNET_DATA).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import itertools
import os
import re
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from digitnet import data
from digitnet.errors import DataError, DownloadError

HOW_TO_FIX = "python -m digitnet download"


# --------------------------------------------------------------------------- #
# Helpers and fixtures
# --------------------------------------------------------------------------- #


def idx_bytes(array: np.ndarray, magic: int | None = None) -> bytes:
    """Encode a uint8 array as an IDX file (magic 0x08NN, NN = number of dimensions)."""
    array = np.asarray(array, dtype=np.uint8)
    magic = 0x0800 + array.ndim if magic is None else magic
    dims = b"".join(d.to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.tobytes()


def write(path: Path, payload: bytes, gz: bool = True) -> Path:
    """Write ``payload`` to ``path`` (+ ``.gz``, gzipped, if ``gz``); return the path written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        path = path.with_name(path.name + ".gz")
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path


def all_files(directory: Path) -> list[str]:
    """Everything in ``directory``, hidden files (such as .part files) included."""
    return sorted(os.listdir(directory)) if directory.exists() else []


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """Never reach the real mirrors or the real user cache from these tests."""
    monkeypatch.setattr(data, "MIRRORS", ("http://127.0.0.1:9/unreachable/",))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    # The local test server must not be reached through a proxy.
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def fake(monkeypatch):
    """Small generated MNIST-like payloads (7 train, 5 test); SHA256 patched to match them."""
    monkeypatch.delenv("DIGITNET_DATA", raising=False)
    rng = np.random.default_rng(0)
    arrays, payloads = {}, {}
    for split, n in (("train", 7), ("test", 5)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        arrays[split] = (images, labels)
        payloads[data.FILES[(split, "images")]] = idx_bytes(images)
        payloads[data.FILES[(split, "labels")]] = idx_bytes(labels)
    digests = {name: hashlib.sha256(p).hexdigest() for name, p in payloads.items()}
    monkeypatch.setattr(data, "SHA256", digests)
    return SimpleNamespace(arrays=arrays, payloads=payloads)


def write_split(directory: Path, payloads: dict[str, bytes], split: str, gz: bool = True) -> None:
    for kind in ("images", "labels"):
        name = data.FILES[(split, kind)]
        write(directory / name, payloads[name], gz=gz)


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``server.routes``: path -> (body, declared Content-Length, delay in seconds)."""

    def do_GET(self):
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body, length, delay = route
        time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)  # if length > len(body), the connection is closed early
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    """A local HTTP server; add routes with ``server.serve(path, body, ...)``."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes, httpd.requests = {}, []
    # A short poll interval makes shutdown() quick (the default waits up to 0.5 s).
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"

    def serve(path, body, length=None, delay=0.0):
        httpd.routes[path] = (body, len(body) if length is None else length, delay)

    yield SimpleNamespace(base=base, serve=serve, requests=httpd.requests)
    httpd.shutdown()
    httpd.server_close()


def serve_mirror(server, prefix: str, payloads: dict[str, bytes]) -> str:
    """Serve every payload gzipped under ``prefix``; return the mirror URL."""
    for name, payload in payloads.items():
        server.serve(f"{prefix}{name}.gz", gzip.compress(payload, mtime=0))
    return server.base + prefix


# --------------------------------------------------------------------------- #
# Reading IDX files
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
def test_read_idx_round_trip(tmp_path, gz):
    images = np.random.default_rng(1).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    payload = idx_bytes(images)
    path = write(tmp_path / "x-idx3-ubyte", payload, gz=gz)

    result = data.read_idx(path, expected_sha256=hashlib.sha256(payload).hexdigest())

    assert result.dtype == np.uint8
    assert result.shape == (7, 28, 28)
    np.testing.assert_array_equal(result, images)
    assert not result.flags.writeable  # documented: a read-only view, no copy


def test_read_idx_other_shapes(tmp_path):
    labels = np.arange(10, dtype=np.uint8)
    path = write(tmp_path / "labels", idx_bytes(labels), gz=False)
    np.testing.assert_array_equal(data.read_idx(path), labels)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>Not Found</html>", "not an IDX file"),
        (b"\x00\x00", "too short"),
        (idx_bytes(np.zeros((3, 4)))[:-1], "truncated"),
        (gzip.compress(idx_bytes(np.zeros((50, 28, 28))))[:-10], "truncated or corrupt"),
    ],
    ids=["html", "tiny", "truncated", "truncated-gzip"],
)
def test_read_idx_rejects_bad_files(tmp_path, content, message):
    path = tmp_path / "bad-file"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message) as info:
        data.read_idx(path)
    assert str(path) in str(info.value)
    assert HOW_TO_FIX in str(info.value)


def test_read_idx_checksum_mismatch(tmp_path):
    payload = idx_bytes(np.zeros((2, 28, 28)))
    path = write(tmp_path / "x", payload)
    wrong = "0" * 64
    with pytest.raises(DataError) as info:
        data.read_idx(path, expected_sha256=wrong)
    message = str(info.value)
    assert str(path) in message
    assert wrong in message
    assert hashlib.sha256(payload).hexdigest() in message


# --------------------------------------------------------------------------- #
# load_mnist on generated files
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("gz", [True, False], ids=["gzip", "raw"])
@pytest.mark.parametrize("split", ["train", "test"])
def test_load_mnist_round_trip(tmp_path, fake, gz, split):
    write_split(tmp_path, fake.payloads, split, gz=gz)

    images, labels = data.load_mnist(split, tmp_path, download=False)

    expected_images, expected_labels = fake.arrays[split]
    assert images.dtype == labels.dtype == np.uint8
    assert images.shape == expected_images.shape
    np.testing.assert_array_equal(images, expected_images)
    np.testing.assert_array_equal(labels, expected_labels)


def test_load_mnist_prefers_gz(tmp_path, fake):
    write_split(tmp_path, fake.payloads, "test", gz=True)
    name = data.FILES[("test", "images")]
    write(tmp_path / name, b"garbage that would fail", gz=False)

    images, _ = data.load_mnist("test", tmp_path, download=False)
    np.testing.assert_array_equal(images, fake.arrays["test"][0])


def test_load_mnist_uses_digitnet_data(tmp_path, fake, monkeypatch):
    write_split(tmp_path, fake.payloads, "test")
    monkeypatch.setenv("DIGITNET_DATA", str(tmp_path))
    images, _ = data.load_mnist("test", download=False)
    assert len(images) == 5


@pytest.mark.parametrize("split", ["validation", "Train", ""])
def test_load_mnist_rejects_unknown_split(split):
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        data.load_mnist(split, download=False)


def _truncated_gzip(payload: bytes) -> bytes:
    return gzip.compress(payload)[:-100]  # marker of a gzipped file whose end is missing


@pytest.mark.parametrize(
    ("kind", "corrupt", "message"),
    [
        ("images", lambda p: p[:-784], "truncated: the header says shape (7, 28, 28)"),
        ("images", lambda p: p + b"\x00" * 10, "too long"),
        ("images", lambda p: (0x0804).to_bytes(4, "big") + p[4:], "expected 0x00000803"),
        ("labels", lambda p: (0x0803).to_bytes(4, "big") + p[4:], "expected 0x00000801"),
        ("images", lambda p: idx_bytes(np.zeros((7, 28, 27))), "expected (28, 28)"),
        ("labels", lambda p: idx_bytes([1, 2, 10, 3, 4, 5, 6]), "label 10 at index 2"),
        ("images", _truncated_gzip, "truncated or corrupt"),
    ],
    ids=["truncated", "too-long", "magic-images", "magic-labels", "dims", "label-10", "gzip"],
)
def test_load_mnist_rejects_corrupt_file(tmp_path, fake, kind, corrupt, message):
    write_split(tmp_path, fake.payloads, "train", gz=False)
    name = data.FILES[("train", kind)]
    path = tmp_path / name
    path.write_bytes(corrupt(path.read_bytes()))

    with pytest.raises(DataError) as info:
        data.load_mnist("train", tmp_path, download=False)

    text = str(info.value)
    assert message in text
    assert str(path) in text
    assert HOW_TO_FIX in text


@pytest.mark.parametrize("gz", [False, True], ids=["raw", "gzip"])
def test_a_huge_file_in_mnists_place_is_refused_unread(tmp_path, fake, gz):
    """On main the whole file was read into memory before its size was looked at: a wrong
    file of gigabytes where MNIST's test images belong (a disk image, a video) took as much."""
    import tracemalloc

    write_split(tmp_path, fake.payloads, "test", gz=False)
    name = data.FILES[("test", "images")]
    (tmp_path / name).unlink()
    path = tmp_path / (f"{name}.gz" if gz else name)
    with open(path, "wb") as f:  # 1 GB, sparse: it takes no room on the disk
        f.write(b"\x1f\x8b\x08\x00" if gz else (0x0803).to_bytes(4, "big"))
        f.truncate(10**9)
    tracemalloc.start()
    try:
        with pytest.raises(DataError) as info:
            data.load_mnist("test", tmp_path, download=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20e6, f"{peak / 1e6:.0f} MB"
    assert f"1,000,000,000 bytes, more than the {data.SIZES[name]:,}" in str(info.value)
    assert str(path) in str(info.value) and HOW_TO_FIX in str(info.value)


def test_load_mnist_count_mismatch(tmp_path, fake, monkeypatch):
    write_split(tmp_path, fake.payloads, "train")
    labels = idx_bytes(fake.arrays["train"][1][:6])
    name = data.FILES[("train", "labels")]
    labels_path = write(tmp_path / name, labels)
    monkeypatch.setitem(data.SHA256, name, hashlib.sha256(labels).hexdigest())

    with pytest.raises(DataError, match=r"has 7 images but .* has 6 labels") as info:
        data.load_mnist("train", tmp_path, download=False)
    assert str(labels_path) in str(info.value)
    assert str(tmp_path / data.FILES[("train", "images")]) in str(info.value)


def test_load_mnist_checksum_mismatch(tmp_path, fake, monkeypatch):
    write_split(tmp_path, fake.payloads, "test")
    name = data.FILES[("test", "labels")]
    wrong = "ab" * 32
    monkeypatch.setitem(data.SHA256, name, wrong)

    with pytest.raises(DataError) as info:
        data.load_mnist("test", tmp_path, download=False)

    text = str(info.value)
    assert str(tmp_path / f"{name}.gz") in text
    assert f"expected SHA-256 {wrong}" in text
    assert hashlib.sha256(fake.payloads[name]).hexdigest() in text
    assert HOW_TO_FIX in text


def test_load_mnist_missing_without_download(tmp_path, fake):
    write(tmp_path / data.FILES[("train", "labels")], fake.payloads["train-labels-idx1-ubyte"])

    with pytest.raises(DataError) as info:
        data.load_mnist("train", tmp_path, download=False)

    text = str(info.value)
    assert "train-images-idx3-ubyte" in text
    assert "train-labels" not in text  # present, so not listed
    assert str(tmp_path) in text
    assert HOW_TO_FIX in text
    assert not isinstance(info.value, DownloadError)


def test_official_checksums():
    sums = data.mnist_checksums()
    assert set(sums) == set(data.FILES.values())
    assert sums["train-images-idx3-ubyte"].startswith("ba891046e6505d7a")
    assert sums["t10k-labels-idx1-ubyte"].endswith("222c34898ecbeaf847f06e48f7ec33f2")
    sums.clear()  # a copy: the module's table is untouched
    assert len(data.SHA256) == 4


# --------------------------------------------------------------------------- #
# Data directory
# --------------------------------------------------------------------------- #


def test_resolve_data_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA", str(tmp_path / "env"))
    assert data.resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert data.resolve_data_dir(str(tmp_path / "arg")) == tmp_path / "arg"
    assert data.resolve_data_dir() == tmp_path / "env"

    monkeypatch.delenv("DIGITNET_DATA")
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.resolve_data_dir() == tmp_path / "xdg" / "digitnet" / "mnist"


def test_resolve_data_dir_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert data.resolve_data_dir("rel") == tmp_path / "rel"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.resolve_data_dir("~/mnist") == tmp_path / "home" / "mnist"


@pytest.mark.parametrize(
    ("platform", "env", "expected"),
    [
        ("linux", {}, "home/.cache/digitnet/mnist"),
        ("linux", {"XDG_CACHE_HOME": "relative/ignored"}, "home/.cache/digitnet/mnist"),
        ("darwin", {}, "home/Library/Caches/digitnet/mnist"),
        ("win32", {"LOCALAPPDATA": "{tmp}/local"}, "local/digitnet/mnist"),
    ],
)
def test_resolve_data_dir_cache(tmp_path, monkeypatch, platform, env, expected):
    monkeypatch.delenv("DIGITNET_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for key, value in env.items():
        monkeypatch.setenv(key, value.format(tmp=tmp_path))
    with monkeypatch.context() as m:
        m.setattr(sys, "platform", platform)
        result = data.resolve_data_dir()
    assert result == tmp_path / expected


# --------------------------------------------------------------------------- #
# Downloading (from a local server)
# --------------------------------------------------------------------------- #


def test_download_mnist(tmp_path, fake, server, monkeypatch):
    monkeypatch.setattr(data, "CHUNK_SIZE", 1024)  # several chunks for a small file
    mirror = serve_mirror(server, "/m1/", fake.payloads)
    target = tmp_path / "new" / "dir"
    calls = []

    result = data.download_mnist(target, mirrors=[mirror], progress=lambda *a: calls.append(a))

    assert result == target
    assert all_files(target) == sorted(f"{name}.gz" for name in data.FILES.values())
    images, labels = data.load_mnist("train", target, download=False)
    np.testing.assert_array_equal(images, fake.arrays["train"][0])
    np.testing.assert_array_equal(labels, fake.arrays["train"][1])

    name = "train-images-idx3-ubyte.gz"
    counts = [done for n, done, _ in calls if n == name]
    totals = {total for n, _, total in calls if n == name}
    assert totals == {(target / name).stat().st_size}
    assert counts[0] == 0
    assert len(counts) > 3
    assert all(a < b for a, b in itertools.pairwise(counts))
    assert counts[-1] == totals.pop()

    # Everything is there: a second call downloads nothing.
    server.requests.clear()
    data.download_mnist(target, mirrors=[mirror])
    assert server.requests == []


def test_load_mnist_downloads_only_its_split(tmp_path, fake, server, monkeypatch):
    monkeypatch.setattr(data, "MIRRORS", (serve_mirror(server, "/m/", fake.payloads),))

    images, _ = data.load_mnist("test", tmp_path)

    np.testing.assert_array_equal(images, fake.arrays["test"][0])
    assert sorted(server.requests) == [
        "/m/t10k-images-idx3-ubyte.gz",
        "/m/t10k-labels-idx1-ubyte.gz",
    ]


def test_download_falls_back_to_next_mirror(tmp_path, fake, server):
    good = serve_mirror(server, "/good/", fake.payloads)
    missing = server.base + "/missing/"

    data.download_mnist(tmp_path, mirrors=[missing, good])

    assert all_files(tmp_path) == sorted(f"{name}.gz" for name in data.FILES.values())
    assert "/missing/train-images-idx3-ubyte.gz" in server.requests
    assert "/good/train-images-idx3-ubyte.gz" in server.requests


def test_download_timeout_falls_back(tmp_path, fake, server):
    name = "t10k-labels-idx1-ubyte"
    server.serve(f"/slow/{name}.gz", gzip.compress(fake.payloads[name]), delay=1.0)
    good = serve_mirror(server, "/good/", fake.payloads)

    start = time.monotonic()
    data.download_mnist(tmp_path, mirrors=[server.base + "/slow/", good], timeout=0.2)

    assert time.monotonic() - start < 5  # the other three files 404 on /slow/ at once
    assert (tmp_path / f"{name}.gz").is_file()


def test_download_corrupt_everywhere(tmp_path, fake, server):
    corrupt = dict(fake.payloads)
    corrupt["train-images-idx3-ubyte"] = idx_bytes(np.ones((7, 28, 28)))  # wrong checksum
    mirrors = [serve_mirror(server, "/a/", corrupt), serve_mirror(server, "/b/", corrupt)]
    target = tmp_path / "mnist"

    with pytest.raises(DownloadError) as info:
        data.download_mnist(target, mirrors=mirrors)

    text = str(info.value)
    assert "Could not download train-images-idx3-ubyte.gz" in text
    assert f"{mirrors[0]}train-images-idx3-ubyte.gz: checksum mismatch" in text
    assert f"{mirrors[1]}train-images-idx3-ubyte.gz: checksum mismatch" in text
    assert str(target) in text
    assert "DIGITNET_DATA" in text
    assert "--data-dir" in text
    assert "t10k-labels-idx1-ubyte.gz" in text  # lists the files to fetch by hand
    assert all_files(target) == []  # no final file, no .part file


def test_download_all_mirrors_fail_http(tmp_path, server):
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        data.download_mnist(tmp_path, mirrors=[server.base + "/x/", server.base + "/y/"])
    assert info.value.args[0].count("HTTP 404") == 2
    assert all_files(tmp_path) == []


def test_download_connection_dropped(tmp_path, fake, server):
    name = "train-images-idx3-ubyte"
    body = gzip.compress(fake.payloads[name])
    server.serve(f"/drop/{name}.gz", body[: len(body) // 2], length=len(body))

    with pytest.raises(DownloadError, match=r"connection dropped after \d+ of \d+ bytes"):
        data.download_mnist(tmp_path, mirrors=[server.base + "/drop/"])

    assert all_files(tmp_path) == []


def test_download_interrupted_leaves_nothing(tmp_path, fake, server, monkeypatch):
    monkeypatch.setattr(data, "CHUNK_SIZE", 1024)
    mirror = serve_mirror(server, "/m/", fake.payloads)

    def progress(name, done, total):
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        data.download_mnist(tmp_path, mirrors=[mirror], progress=progress)

    assert all_files(tmp_path) == []


# --------------------------------------------------------------------------- #
# The real MNIST (only where DIGITNET_DATA has it)
# --------------------------------------------------------------------------- #


# --------------------------------------------------------------------------- #
# The pen-drawn digits
# --------------------------------------------------------------------------- #
def write_pendigits(directory: Path, n: int = 6, **override) -> Path:
    """A small pendigits_canvas.npz: ``n`` 40x40 canvases with a white bar on black."""
    canvases = np.zeros((n, 40, 40, 4), np.uint8)
    canvases[..., 3] = 255
    canvases[:, 10:30, 18:22, :3] = 255
    arrays = {
        "images": canvases,
        "labels": np.arange(n, dtype=np.uint8) % 10,
        "writers": np.arange(n, dtype=np.int16) // 2,
        **override,
    }
    path = directory / data.PENDIGITS_FILE
    np.savez_compressed(path, **{k: v for k, v in arrays.items() if v is not None})
    return path


def test_load_pendigits_round_trip(tmp_path):
    write_pendigits(tmp_path, n=6)
    canvases, labels, writers = data.load_pendigits(tmp_path)
    assert canvases.shape == (6, 40, 40, 4) and canvases.dtype == np.uint8
    assert canvases[0, 20, 20].tolist() == [255, 255, 255, 255]
    assert labels.tolist() == [0, 1, 2, 3, 4, 5] and labels.dtype == np.int64
    assert writers.tolist() == [0, 0, 1, 1, 2, 2]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"writers": None}, "no writers in it"),
        ({"images": np.zeros((6, 40, 40), np.uint8)}, "expected uint8 (N, H, W, 4)"),
        ({"images": np.zeros((6, 40, 40, 4), np.float32)}, "expected uint8 (N, H, W, 4)"),
        ({"labels": np.zeros(5, np.uint8)}, "6 images but labels (5,)"),
        ({"labels": np.full(6, 10)}, "labels must be digits 0-9"),
        ({"labels": np.full(6, 0.5)}, "labels must be digits 0-9"),
        ({"labels": np.array([{"a": 1}] * 6, dtype=object)}, "not a readable .npz"),
    ],
)
def test_load_pendigits_rejects_bad_files(tmp_path, override, message):
    write_pendigits(tmp_path, n=6, **override)
    with pytest.raises(DataError, match=re.escape(message)):
        data.load_pendigits(tmp_path)


def test_load_pendigits_missing_or_truncated(tmp_path):
    with pytest.raises(DataError, match=r"no pendigits_canvas\.npz in"):
        data.load_pendigits(tmp_path)
    path = write_pendigits(tmp_path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DataError, match=r"not a readable \.npz"):
        data.load_pendigits(tmp_path)


def test_load_pendigits_refuses_a_header_claiming_more_than_memory(tmp_path):
    """On main numpy's MemoryError escaped (the command line printed a traceback)."""
    from craft import npy, npz

    huge = {"descr": "|u1", "fortran_order": False, "shape": (10**9, 280, 280, 4)}  # 300 TB
    members = {"images.npy": npy(header=huge)}
    members |= {f"{k}.npy": npy(np.zeros(3, np.int64)) for k in ("labels", "writers")}
    (tmp_path / data.PENDIGITS_FILE).write_bytes(npz(members))
    with pytest.raises(DataError, match=r"not a readable \.npz of plain arrays"):
        data.load_pendigits(tmp_path)


def _has_full_mnist() -> bool:
    directory = os.environ.get("DIGITNET_DATA")
    if not directory:
        return False
    path = Path(directory)
    return all(
        (path / name).is_file() or (path / f"{name}.gz").is_file() for name in data.FILES.values()
    )


needs_mnist = pytest.mark.skipif(
    not _has_full_mnist(),
    reason="full MNIST not found: set DIGITNET_DATA to a directory with the four IDX files",
)


@pytest.mark.mnist
@needs_mnist
@pytest.mark.parametrize(
    ("split", "counts"),
    [
        ("train", [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]),
        ("test", [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]),
    ],
)
def test_full_mnist(split, counts):
    images, labels = data.load_mnist(split, download=False)
    n = sum(counts)
    assert images.shape == (n, 28, 28)
    assert labels.shape == (n,)
    assert images.dtype == labels.dtype == np.uint8
    assert images.min() == 0
    assert images.max() == 255
    assert np.bincount(labels, minlength=10).tolist() == counts
