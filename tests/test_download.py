"""Hostile download servers (issue 13, item 9): a gzip bomb, more bytes than expected, a
server sending one byte at a time, SIGTERM mid-download. Each ends in one DownloadError
(or a clean exit), within bounded memory and the deadline, leaving no ``.part`` file."""

from __future__ import annotations

import ast
import gzip
import hashlib
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import pytest
from conftest import ROOT
from craft import interrupted_at
from test_data import _offline, all_files, fake, serve_mirror, server

from digitnet import data
from digitnet.errors import DataError, DownloadError

__all__ = ["_offline", "fake", "server"]  # test_data.py's fixtures, used here

LABELS = "t10k-labels-idx1-ubyte"


def zeros_gz(n_bytes: int) -> bytes:
    """gzip of ``n_bytes`` zeros, made a MB at a time (20 MB of zeros: 20 kB)."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b"\0" * 1_000_000
    parts = [z.compress(block) for _ in range(n_bytes // len(block))]
    return b"".join(parts) + z.flush()


def peak_of(fn) -> tuple[int, object]:
    tracemalloc.start()
    try:
        try:
            result = fn()
        except Exception as e:  # returned, for the caller's assertions
            result = e
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def only_missing(directory, fake, missing=LABELS):
    """Put every MNIST file but ``missing`` in ``directory``; return their names."""
    others = [n for n in data.FILES.values() if n != missing]
    for name in others:
        (directory / name).write_bytes(fake.payloads[name])
    return others


def test_mirrors_are_https():
    """The module's own value (the tests' autouse fixture replaces it with a local one)."""
    tree = ast.parse(Path(data.__file__).read_text())
    (value,) = [
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "MIRRORS"
    ]
    mirrors = ast.literal_eval(value)
    assert mirrors and all(m.startswith("https://") for m in mirrors)


def test_a_gzip_bomb_is_refused_as_it_unpacks(tmp_path, server, fake):
    """20 MB of zeros (20 kB gzipped) instead of a 10 kB label file: main unpacked all of it
    in memory before the checksum refused it."""
    others = only_missing(tmp_path, fake)
    server.serve(f"/m/{LABELS}.gz", zeros_gz(20_000_000))
    peak, error = peak_of(lambda: data.download_mnist(tmp_path, mirrors=[server.base + "/m/"]))
    assert isinstance(error, DownloadError), error
    assert f"unpacks to more than the {data.SIZES[LABELS]:,} bytes expected" in str(error)
    assert peak < 2_000_000, f"{peak / 1e6:.1f} MB"
    assert sorted(all_files(tmp_path)) == sorted(others)


def test_a_local_gzip_bomb_is_refused_as_it_unpacks(tmp_path, fake):
    (tmp_path / f"{LABELS}.gz").write_bytes(zeros_gz(20_000_000))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(fake.payloads["t10k-images-idx3-ubyte"])
    peak, error = peak_of(lambda: data.load_mnist("test", tmp_path, download=False))
    assert isinstance(error, DataError) and "unpacks to more than the 10,008 bytes" in str(error)
    assert peak < 2_000_000, f"{peak / 1e6:.1f} MB"


def test_more_bytes_than_expected_are_refused(tmp_path, server, fake):
    others = only_missing(tmp_path, fake)
    big = os.urandom(200_000)  # the label file is 10 kB: at most 10 kB + 64 kB accepted
    server.serve(f"/m/{LABELS}.gz", big)
    with pytest.raises(DownloadError, match="offers 200,000 bytes, more than the 75,544"):
        data.download_mnist(tmp_path, mirrors=[server.base + "/m/"])
    assert sorted(all_files(tmp_path)) == sorted(others)


class _Trickle(http.server.BaseHTTPRequestHandler):
    """Sends a gzip file one byte every ``server.interval`` seconds (never a read timeout)."""

    def do_GET(self):
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(self.server.interval)
        except OSError:
            pass  # the client gave up

    def log_message(self, *args):
        pass


@pytest.fixture
def trickle():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    httpd.daemon_threads = True
    httpd.body, httpd.interval = gzip.compress(os.urandom(5000)), 0.02  # 100 s to send
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_a_server_sending_a_byte_at_a_time_meets_the_overall_deadline(tmp_path, trickle, fake):
    """Each read gets a byte well within its timeout: on main it went on for as long as the
    server liked (here 100 s), holding the app's download lock for everyone."""
    others = only_missing(tmp_path, fake)
    t0 = time.monotonic()
    with pytest.raises(DownloadError, match=r"too slow: .* bytes when the download's time ran"):
        data.download_mnist(tmp_path, mirrors=[trickle], timeout=5, deadline_s=0.6)
    assert time.monotonic() - t0 < 5
    assert sorted(all_files(tmp_path)) == sorted(others)  # no .part left


def test_sigterm_mid_download_leaves_no_part_file(tmp_path, trickle):
    code = (
        "import sys; from digitnet import data; "
        f"data.download_mnist(sys.argv[1], mirrors=[{trickle!r}], timeout=5)"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "no_proxy": "*", "NO_PROXY": "*"}
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=env,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not any(".part-" in f for f in all_files(tmp_path)):
            assert time.monotonic() < deadline and proc.poll() is None, "no download started"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 128 + signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert all_files(tmp_path) == [], proc.stderr.read()


def test_an_interruption_at_any_line_of_a_download_leaves_no_part_file(tmp_path, server, fake):
    """SIGTERM (as an exception, see data._sigterm_unwinds) or Ctrl-C can land at any line
    of a download. Here it is raised at every line of the attempt in turn: no ``.part``
    file stays, whichever line it was. (main made the file before its ``try``: a signal
    right after, which test_sigterm_mid_download_leaves_no_part_file met under load, left
    it.)"""
    only_missing(tmp_path, fake)
    mirror = serve_mirror(server, "/m/", {LABELS: fake.payloads[LABELS]})
    code = data._download_to.__code__
    for at_line in range(1, 200):
        download = lambda: data.download_mnist(tmp_path, mirrors=[mirror])  # noqa: E731
        interrupted = interrupted_at(code, at_line, download)
        assert not [f for f in all_files(tmp_path) if ".part-" in f], at_line
        if not interrupted:  # past the last line: downloaded
            break
        for done in tmp_path.glob(LABELS + "*"):  # a line after the file was in place
            done.unlink()
    assert (
        not interrupted
        and gzip.decompress((tmp_path / f"{LABELS}.gz").read_bytes()) == (fake.payloads[LABELS])
    )
    assert at_line > 5  # the attempt's lines were each interrupted in turn


def test_a_killed_downloads_part_file_is_swept_later(tmp_path, server, fake):
    stale, fresh = tmp_path / f".{LABELS}.gz.part-old", tmp_path / f".{LABELS}.gz.part-new"
    for part in (stale, fresh):
        part.write_bytes(b"half")
    old = time.time() - data.STALE_PART_S - 60
    os.utime(stale, (old, old))
    mirror = serve_mirror(server, "/m/", fake.payloads)
    data.download_mnist(tmp_path, mirrors=[mirror])
    assert not stale.exists() and fresh.exists()  # a live download's file is left alone


def test_download_is_reusable_for_any_file(tmp_path, server):
    """What the pen-stroke download (issue 10) reuses: URLs, a byte cap, a checksum."""
    body = b"8, 1, 2, 3\n" * 1000
    server.serve("/pen/file.tra", body)
    digest = hashlib.sha256(body).hexdigest()
    urls = [server.base + "/missing/file.tra", server.base + "/pen/file.tra"]
    path = data.download(urls, tmp_path / "pen" / "file.tra", sha256=digest, max_bytes=20_000)
    assert path.read_bytes() == body
    with pytest.raises(DownloadError) as info:
        data.download(urls, tmp_path / "other.tra", sha256="0" * 64, max_bytes=20_000)
    assert len(info.value.failures) == 2 and "checksum mismatch" in info.value.failures[1]
    assert all_files(tmp_path) == ["pen"]
