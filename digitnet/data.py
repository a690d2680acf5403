"""Load MNIST from the four standard IDX files, downloading them if needed.

MNIST is stored as four files in the IDX format, a tiny binary format: a 4-byte
*magic number* (0x0803 for images, 0x0801 for labels), one 4-byte big-endian size
per dimension, then the raw bytes:

- ``train-images-idx3-ubyte``: 60,000 images of 28x28 pixels (0-255)
- ``train-labels-idx1-ubyte``: their 60,000 labels (0-9)
- ``t10k-images-idx3-ubyte``: 10,000 test images
- ``t10k-labels-idx1-ubyte``: their 10,000 labels

Each file may be gzipped (``name.gz``, as the mirrors serve them) or raw
(``name``); the ``.gz`` is preferred when both exist.  Every file is checked
before use: magic number, dimensions, length, label range and the SHA-256 of the
*decompressed* bytes (the gzip files differ between mirrors, their content does not).

Example
-------
>>> from digitnet.data import load_mnist
>>> images, labels = load_mnist("test")  # doctest: +SKIP
>>> images.shape, images.dtype, labels[:5]  # doctest: +SKIP
((10000, 28, 28), dtype('uint8'), array([7, 2, 1, 0, 4], dtype=uint8))
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import math
import os
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NoReturn

import numpy as np

from .errors import DataError, DownloadError

#: Base name of each MNIST file, by ``(split, kind)``.
FILES: dict[tuple[str, str], str] = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}

#: SHA-256 of each file's decompressed bytes.
SHA256: dict[str, str] = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: SHA-256 aside, each decompressed file's size in bytes: a download (or a local .gz)
#: that unpacks to more is refused as soon as it does (a gzip bomb never fills memory).
SIZES: dict[str, int] = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}
GZIP_SLACK = 65_536  #: gzip never makes a file longer by more than this (MNIST's, by far)

#: Public mirrors, tried in order (the ones torchvision and TensorFlow use), all HTTPS.
#: A file is fetched from ``mirror + name + ".gz"``. (LeCun's own page, plain HTTP, is
#: no longer one: it now asks for a login, and HTTP can be altered on the way.)
MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: Magic numbers: 0x08 = unsigned bytes, then the number of dimensions.
MAGIC: dict[str, int] = {"images": 0x00000803, "labels": 0x00000801}

IMAGE_SIZE = 28
ENV_VAR = "DIGITNET_DATA"
CHUNK_SIZE = 64 * 1024
USER_AGENT = "digitnet-mnist-downloader (Python urllib)"
#: All of a download (every missing file, every mirror tried) must end within this, however
#: the server sends its bytes (one a second never times out a read).
DOWNLOAD_DEADLINE_S = 600.0
#: A ``.part`` file left by a download that was killed (SIGKILL, a crashed server) is
#: removed by the next download into its directory once it is this old (a live download
#: writes to its file at least every ``timeout`` seconds).
STALE_PART_S = 900.0

#: ``progress(name, done_bytes, total_bytes)``; total is None when the server does not say.
ProgressCallback = Callable[[str, int, int | None], None]


class _BadFile(Exception):
    """What is wrong with a file's content (without the path or the advice)."""


# --------------------------------------------------------------------------- #
# Where the data lives
# --------------------------------------------------------------------------- #


def resolve_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Return the directory that holds (or will hold) the MNIST files.

    Parameters
    ----------
    data_dir : str or path-like, optional
        An explicit directory (the CLI's ``--data-dir``). Wins over everything else.

    Returns
    -------
    pathlib.Path
        The absolute directory, in this order of preference: ``data_dir``, the
        ``DIGITNET_DATA`` environment variable, then a per-user cache directory:
        ``$XDG_CACHE_HOME/digitnet/mnist`` or ``~/.cache/digitnet/mnist`` (Linux),
        ``~/Library/Caches/digitnet/mnist`` (macOS),
        ``%LOCALAPPDATA%\\digitnet\\mnist`` (Windows). It may not exist yet.
    """
    if data_dir is not None:
        return Path(data_dir).expanduser().absolute()
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser().absolute()
    return _user_cache_dir() / "digitnet" / "mnist"


def _user_cache_dir() -> Path:
    """The per-user cache directory of this platform."""
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA")
        return Path(local) if local else Path.home() / "AppData" / "Local"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches"
    xdg = os.environ.get("XDG_CACHE_HOME")
    # The XDG spec says to ignore relative paths.
    if xdg and Path(xdg).is_absolute():
        return Path(xdg)
    return Path.home() / ".cache"


def _find(directory: Path, name: str) -> Path | None:
    """The file for ``name`` in ``directory``: ``name.gz`` if present, else ``name``, else None."""
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def mnist_checksums() -> dict[str, str]:
    """Return a copy of the expected SHA-256 of each decompressed MNIST file (by base name)."""
    return dict(SHA256)


# --------------------------------------------------------------------------- #
# Reading and checking IDX files
# --------------------------------------------------------------------------- #


def _payload(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes, gunzipped if they are gzip data (recognised by content, not name).

    ``limit``: refuse (``_BadFile``) content longer than this, as soon as it is (a file
    longer than that, even gzipped, before reading it).
    """
    if limit is not None and (size := path.stat().st_size) > limit + GZIP_SLACK:
        raise _BadFile(f"{size:,} bytes, more than the {limit:,} of this file")
    raw = path.read_bytes()
    if not raw.startswith(b"\x1f\x8b"):
        if limit is not None and len(raw) > limit:
            raise _BadFile(f"{len(raw):,} bytes, more than the {limit:,} of this file")
        return raw
    out = bytearray()
    try:
        while raw:  # gzip allows several members one after the other
            inflate, tail = zlib.decompressobj(wbits=31), raw
            while not inflate.eof:
                room = CHUNK_SIZE * 16 if limit is None else limit + 1 - len(out)
                piece = inflate.decompress(tail, max(room, 1))
                out += piece
                if limit is not None and len(out) > limit:
                    raise _BadFile(f"it unpacks to more than the {limit:,} bytes of this file")
                tail = inflate.unconsumed_tail
                if not piece and not tail:
                    break
            if not inflate.eof:
                raise _BadFile("the gzip stream is truncated or corrupt (it ends too soon)")
            raw = inflate.unused_data
    except zlib.error as exc:
        raise _BadFile(f"the gzip stream is truncated or corrupt ({exc})") from None
    return bytes(out)


def _parse_idx(data: bytes, magic: int | None = None) -> np.ndarray:
    """Check an IDX header against the data length and return a read-only uint8 view."""
    if len(data) < 4:
        raise _BadFile(f"only {len(data)} bytes, too short to be an IDX file")
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise _BadFile(f"wrong magic number 0x{found:08X}, expected 0x{magic:08X}")
    ndim = data[3]
    if found >> 8 != 0x08 or ndim == 0:
        raise _BadFile(f"wrong magic number 0x{found:08X}: not an IDX file of unsigned bytes")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise _BadFile("truncated inside the IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size, found_size = math.prod(shape), len(data) - header
    if found_size != size:
        problem = "truncated" if found_size < size else "too long"
        raise _BadFile(
            f"{problem}: the header says shape {shape} ({size} bytes of data), "
            f"the file has {found_size} bytes of data"
        )
    # A view into `data`, not a copy: read-only because bytes are immutable.
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _check_sha256(data: bytes, expected: str | None) -> None:
    if expected is None:
        return
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise _BadFile(f"checksum mismatch: expected SHA-256 {expected}, got {actual}")


def _bad_file(path: Path, problem: str) -> DataError:
    return DataError(
        f"{path.absolute()}: {problem}. Delete this file and run `python -m digitnet download`, "
        "or copy a good copy of it in place by hand."
    )


def read_idx(path: str | os.PathLike[str], expected_sha256: str | None = None) -> np.ndarray:
    """Read an IDX file of unsigned bytes, gzipped or raw.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip data is recognised by its content, whatever the file name.
    expected_sha256 : str, optional
        Hex SHA-256 of the decompressed bytes; not checked when None.

    Returns
    -------
    numpy.ndarray
        A **read-only** uint8 array with the shape given in the header (a view into
        the decompressed bytes, so no extra copy is made). Use ``.copy()`` to modify it.

    Raises
    ------
    DataError
        If the gzip stream is truncated or corrupt, the magic number is not that of
        an unsigned-byte IDX file, the data is shorter or longer than the header
        says, or the checksum differs. The message names the file.
    """
    path = Path(path)
    try:
        data = _payload(path)
        array = _parse_idx(data)
        _check_sha256(data, expected_sha256)
    except _BadFile as exc:
        raise _bad_file(path, str(exc)) from None
    return array


def _kind(name: str) -> str:
    """``"images"`` or ``"labels"`` for an MNIST base name."""
    return next(kind for (_, kind), base in FILES.items() if base == name)


def _read_mnist_file(name: str, path: Path) -> np.ndarray:
    """Read MNIST file ``name`` from ``path`` and check it fully; raise _BadFile if bad.

    The structure is checked before the checksum: its messages say more.
    """
    kind = _kind(name)
    data = _payload(path, SIZES.get(name))
    array = _parse_idx(data, MAGIC[kind])
    if kind == "images" and array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise _BadFile(f"images are {array.shape[1:]}, expected ({IMAGE_SIZE}, {IMAGE_SIZE})")
    if kind == "labels" and array.size and array.max() > 9:
        index = int(np.argmax(array > 9))
        raise _BadFile(f"label {array[index]} at index {index} is not a digit 0-9")
    _check_sha256(data, SHA256.get(name))
    return array


# --------------------------------------------------------------------------- #
# Loading
# --------------------------------------------------------------------------- #


def load_mnist(
    split: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Load the MNIST training or test set.

    Parameters
    ----------
    split : {"train", "test"}
        ``"train"`` (60,000 examples) or ``"test"`` (10,000 examples).
    data_dir : str or path-like, optional
        Where the IDX files are; see :func:`resolve_data_dir` for the default.
    download : bool, default True
        Download missing files from :data:`MIRRORS`. If False, missing files raise DataError.
    progress : callable, optional
        ``progress(name, done_bytes, total_bytes)``, called while downloading.

    Returns
    -------
    images : numpy.ndarray
        uint8, shape ``(N, 28, 28)``, pixel values 0 (background) to 255 (ink).
    labels : numpy.ndarray
        uint8, shape ``(N,)``, digits 0-9.

    Both arrays are **read-only** views of the decompressed files (no extra copy;
    about 47 MB for the training images). Convert them, e.g.
    ``images.astype(np.float32) / 255``, or ``.copy()`` them, to get a writable array.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``.
    DataError
        If a file is missing (and ``download`` is False), truncated, corrupt or fails
        its checksum, or the image and label counts differ.
    DownloadError
        If a missing file could not be downloaded from any mirror.
    """
    if (split, "images") not in FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    directory = resolve_data_dir(data_dir)
    names = [FILES[(split, "images")], FILES[(split, "labels")]]
    missing = [name for name in names if _find(directory, name) is None]
    if missing and not download:
        raise DataError(
            f"MNIST files missing from {directory}: {', '.join(missing)} (gzipped or not). "
            "Run `python -m digitnet download`, or copy the files there by hand "
            f"(or point {ENV_VAR} or --data-dir at a directory that has them)."
        )
    if missing:
        _download_missing(directory, missing, MIRRORS, 30.0, progress)

    paths = [_find(directory, name) for name in names]
    arrays = []
    for name, path in zip(names, paths, strict=True):
        assert path is not None  # found, or just downloaded
        try:
            arrays.append(_read_mnist_file(name, path))
        except _BadFile as exc:
            raise _bad_file(path, str(exc)) from None
    images, labels = arrays
    if len(images) != len(labels):
        raise DataError(
            f"{paths[0]} has {len(images)} images but {paths[1]} has {len(labels)} labels. "
            "Delete both files and run `python -m digitnet download`, "
            "or copy good copies of them in place by hand."
        )
    return images, labels


# --------------------------------------------------------------------------- #
# Downloading
# --------------------------------------------------------------------------- #


def download_mnist(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    progress: ProgressCallback | None = None,
    mirrors: Sequence[str] | None = None,
    timeout: float = 30.0,
    deadline_s: float | None = None,
) -> Path:
    """Download whichever of the four MNIST files are missing.

    Each file goes through :func:`download`: streamed to a temporary
    ``.<name>.gz.part-*`` file in the target directory, gunzipped and hashed as
    it arrives (never more than its known size, :data:`SIZES`), checked against
    its SHA-256, and only then renamed into place, so an interrupted or failed
    download leaves nothing behind.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Target directory (created if needed); see :func:`resolve_data_dir`.
    progress : callable, optional
        ``progress(name, done_bytes, total_bytes)`` with ``name`` like
        ``"train-images-idx3-ubyte.gz"``; ``total_bytes`` is None if unknown.
    mirrors : sequence of str, optional
        Base URLs (ending in ``/``) tried in order; default :data:`MIRRORS`.
    timeout : float, default 30.0
        Socket timeout in seconds, for connecting and for each read.
    deadline_s : float, optional
        Everything must be done within this many seconds (default
        :data:`DOWNLOAD_DEADLINE_S`), however slowly a server sends.

    Returns
    -------
    pathlib.Path
        The data directory.

    Raises
    ------
    DownloadError
        If a file could not be fetched from any mirror; lists each mirror's failure.
    """
    directory = resolve_data_dir(data_dir)
    missing = [name for name in FILES.values() if _find(directory, name) is None]
    _download_missing(
        directory, missing, MIRRORS if mirrors is None else mirrors, timeout, progress, deadline_s
    )
    return directory


def _download_missing(
    directory: Path,
    names: Iterable[str],
    mirrors: Sequence[str],
    timeout: float,
    progress: ProgressCallback | None,
    deadline_s: float | None = None,
) -> None:
    """Download each of ``names`` into ``directory``, trying the mirrors in order."""
    deadline = time.monotonic() + (DOWNLOAD_DEADLINE_S if deadline_s is None else deadline_s)
    for name in names:
        try:
            download(
                [f"{mirror}{name}.gz" for mirror in mirrors],
                directory / f"{name}.gz",
                sha256=SHA256[name],
                max_bytes=SIZES[name] + GZIP_SLACK,
                unpacked_bytes=SIZES[name],
                deadline=deadline,
                timeout=timeout,
                progress=progress,
            )
        except DownloadError as exc:
            raise DownloadError(_download_failed_message(name, directory, exc.failures)) from None


class _Terminated(SystemExit):
    """SIGTERM arrived during a download: unwinds (removing the .part file), then exits."""


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """In the main thread, make SIGTERM unwind like an exception while downloading.

    Python's default SIGTERM ends the process at once, leaving the ``.part`` file
    behind; as an exception, every ``finally`` runs first. Only where it is safe:
    in the main thread (the only one signals reach) and if nobody else handles
    SIGTERM; the previous handler is restored afterwards. Elsewhere (the app's
    script threads) a killed download's file is removed by the next download
    into the directory (:data:`STALE_PART_S`).
    """
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def terminate(signum: int, frame: object) -> NoReturn:
        raise _Terminated(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def download(
    urls: Sequence[str],
    destination: str | os.PathLike[str],
    *,
    sha256: str | None,
    max_bytes: int,
    unpacked_bytes: int | None = None,
    check: Callable[[Path], object] | None = None,
    deadline: float | None = None,
    timeout: float = 30.0,
    progress: ProgressCallback | None = None,
) -> Path:
    """Download a file from the first of ``urls`` that works, verified, atomically.

    Reusable for any file digitnet fetches: the bytes are streamed to a
    temporary ``.<name>.part-*`` file beside ``destination`` and checked as they
    arrive -- never more than ``max_bytes`` (nor than a Content-Length over it),
    gunzipped on the fly if ``unpacked_bytes`` is given (never more than that:
    no gzip bomb fills memory or disk), their SHA-256 (of the content: the
    gunzipped bytes, if gunzipped) compared at the end -- and only then renamed
    to ``destination``. Whatever happens (an error, Ctrl-C, SIGTERM in the main
    thread) the temporary file is removed; ones left by a killed process are
    removed by the next download once :data:`STALE_PART_S` old.

    Parameters
    ----------
    urls : sequence of str
        Tried in order; the first complete, verified download wins.
    destination : path-like
        The file to create (its directory is created if needed). The bytes are
        stored as downloaded (still gzipped, if they were).
    sha256 : str or None
        Hex SHA-256 of the content; None when ``check`` verifies it instead.
    max_bytes : int
        The most bytes accepted from a server.
    unpacked_bytes : int, optional
        The content is gzip data unpacking to at most this many bytes.
    check : callable, optional
        ``check(path)`` of the complete temporary file, before it is renamed; it
        raises (``ValueError``, ``OSError``, :class:`DataError`) if the file is bad.
    deadline : float, optional
        A :func:`time.monotonic` time by which the download must be done, whatever
        the server's pace (default: :data:`DOWNLOAD_DEADLINE_S` from now).
    timeout : float
        Socket timeout for connecting and for each read, seconds.
    progress : callable, optional
        ``progress(name, done_bytes, total_bytes)``; ``name`` is the destination's.

    Returns
    -------
    pathlib.Path
        ``destination``.

    Raises
    ------
    DownloadError
        Every URL failed; ``.failures`` has one line per URL, saying why.
    """
    final = Path(destination)
    _make_dir(final.parent)
    _remove_stale_parts(final)
    if deadline is None:
        deadline = time.monotonic() + DOWNLOAD_DEADLINE_S
    failures = []
    with _sigterm_unwinds():
        for url in urls:
            try:
                _download_to(url, final, sha256, max_bytes, unpacked_bytes, deadline, timeout,
                             progress, check)  # fmt: skip
                return final
            except (OSError, http.client.HTTPException, ValueError, zlib.error, DataError,
                    _BadFile) as exc:  # fmt: skip
                failures.append(f"  - {url}: {_brief(exc)}")
    message = f"Could not download {final.name} from any mirror:\n" + "\n".join(failures)
    raise DownloadError(message, failures)


def _make_dir(directory: Path) -> None:
    """Create ``directory`` and its parents, or raise DataError saying in one line why not."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        file = next((p for p in (directory, *directory.parents) if p.is_file()), None)
        why = f"{file} is a file, not a directory" if file else (e.strerror or str(e))
        raise DataError(f"cannot store data in {directory}: {why}") from None


def _remove_stale_parts(final: Path) -> None:
    now = time.time()
    for part in final.parent.glob(f".{final.name}.part-*"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()


def _download_to(
    url: str,
    final: Path,
    sha256: str | None,
    max_bytes: int,
    unpacked_bytes: int | None,
    deadline: float,
    timeout: float,
    progress: ProgressCallback | None,
    check: Callable[[Path], object] | None = None,
) -> None:
    """One attempt: ``url`` to ``final`` through a checked temporary file."""
    # Named before it exists and made inside the ``try``: an interruption at any moment
    # after it is made removes it. (Made by mkstemp before the ``try``, a SIGTERM landing
    # between the two, as it did under load, left it behind.)
    tmp = final.parent / f".{final.name}.part-{secrets.token_hex(6)}"
    try:
        with open(tmp, "xb") as out:
            _stream(url, out, final.name, sha256, max_bytes, unpacked_bytes, deadline, timeout,
                    progress)  # fmt: skip
            out.flush()
            os.fsync(out.fileno())
        if check is not None:
            check(tmp)  # raises if the download is bad
        os.replace(tmp, final)
    finally:  # including KeyboardInterrupt and SIGTERM: leave nothing half-written
        tmp.unlink(missing_ok=True)


def _stream(
    url: str,
    out: BinaryIO,
    name: str,
    sha256: str | None,
    max_bytes: int,
    unpacked_bytes: int | None,
    deadline: float,
    timeout: float,
    progress: ProgressCallback | None,
) -> None:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _BadFile("no time left (the download's deadline has passed)")
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=min(timeout, remaining)) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if total is not None and total > max_bytes:
            raise _BadFile(
                f"the server offers {total:,} bytes, more than the {max_bytes:,} expected"
            )
        hasher = hashlib.sha256()
        inflate = zlib.decompressobj(wbits=31) if unpacked_bytes is not None else None
        done = unpacked = 0
        if progress:
            progress(name, done, total)
        while True:
            if time.monotonic() > deadline:
                raise _BadFile(f"too slow: {done:,} bytes when the download's time ran out")
            chunk = response.read1(CHUNK_SIZE)  # returns what has arrived, never waits for more
            if not chunk:
                break
            done += len(chunk)
            if done > max_bytes:
                raise _BadFile(f"the server sends more than the {max_bytes:,} bytes expected")
            out.write(chunk)
            if inflate is None:
                hasher.update(chunk)
            else:  # gunzip as it comes, a bounded piece at a time
                tail = chunk
                while tail and not inflate.eof:
                    piece = inflate.decompress(tail, CHUNK_SIZE * 4)
                    unpacked += len(piece)
                    if unpacked_bytes is not None and unpacked > unpacked_bytes:
                        raise _BadFile(
                            f"it unpacks to more than the {unpacked_bytes:,} bytes expected"
                        )
                    hasher.update(piece)
                    tail = inflate.unconsumed_tail
                if inflate.eof and (tail or inflate.unused_data):
                    raise _BadFile("there are bytes after the end of its gzip data")
            if progress:
                progress(name, done, total)
    if total is not None and done != total:
        raise _BadFile(f"connection dropped after {done} of {total} bytes")
    if inflate is not None and not inflate.eof:
        raise _BadFile("its gzip data is truncated")
    if sha256 is not None and hasher.hexdigest() != sha256:
        raise _BadFile(f"checksum mismatch: expected SHA-256 {sha256}, got {hasher.hexdigest()}")


def _brief(exc: BaseException) -> str:
    """A one-line reason for a failed download."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _download_failed_message(name: str, directory: Path, failures: list[str]) -> str:
    files = "\n".join(f"  {base}.gz" for base in FILES.values())
    return (
        f"Could not download {name}.gz from any mirror:\n"
        + "\n".join(failures)
        + f"\nTo install MNIST by hand, get these four files (gzipped or not):\n{files}\n"
        f"and put them in {directory}, or point {ENV_VAR} or --data-dir at a directory "
        "that has them."
    )


# --------------------------------------------------------------------------- #
# Pen-drawn digits (for measuring how the app reads drawings; never trained on)
# --------------------------------------------------------------------------- #

#: The file of pen-drawn digits rendered like the app's canvas.
PENDIGITS_FILE = "pendigits_canvas.npz"


def load_pendigits(directory: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pen-drawn digits, rendered exactly like the app's canvas.

    Parameters
    ----------
    directory : str or path-like
        A directory holding :data:`PENDIGITS_FILE`, an ``.npz`` with ``images`` (N
        canvases, N×H×W×4 uint8 RGBA, white ink on black), ``labels`` (N digits 0-9)
        and ``writers`` (N writer ids).

    Returns
    -------
    canvases : numpy.ndarray
        uint8, shape (N, H, W, 4).
    labels : numpy.ndarray
        int64, shape (N,).
    writers : numpy.ndarray
        int64, shape (N,).

    Raises
    ------
    DataError
        If the file is missing, is not an ``.npz`` of plain arrays (nothing is
        unpickled), or its arrays do not have these shapes and values.
    """
    path = Path(directory) / PENDIGITS_FILE
    if not path.is_file():
        raise DataError(f"no {PENDIGITS_FILE} in {Path(directory).absolute()}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = {"images", "labels", "writers"} - set(npz.files)
            if missing:
                raise DataError(f"{path}: no {', '.join(sorted(missing))} in it")
            canvases, labels, writers = npz["images"], npz["labels"], npz["writers"]
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile, MemoryError) as exc:
        # (MemoryError: an array's header claims more than memory holds)
        raise DataError(f"{path}: not a readable .npz of plain arrays ({exc})") from None
    n = len(canvases)
    if canvases.dtype != np.uint8 or canvases.ndim != 4 or canvases.shape[-1] != 4:
        raise DataError(
            f"{path}: images are {canvases.dtype} {canvases.shape}, expected uint8 (N, H, W, 4)"
        )
    if labels.shape != (n,) or writers.shape != (n,):
        raise DataError(f"{path}: {n} images but labels {labels.shape} and writers {writers.shape}")
    if (
        not np.issubdtype(labels.dtype, np.integer)
        or labels.min(initial=0) < 0
        or labels.max(initial=0) > 9
    ):
        raise DataError(f"{path}: labels must be digits 0-9")
    return canvases, labels.astype(np.int64), writers.astype(np.int64)


# --------------------------------------------------------------------------- #
# Pen-drawn digits as strokes: the 30 development writers' file (for training)
# --------------------------------------------------------------------------- #

#: Environment variable naming the directory of the writers' strokes (the CLI's --pen-strokes).
PEN_STROKES_ENV = "DIGITNET_PENDIGITS_TRAIN"
PEN_STROKES_JSON = "strokes.json"  #: the shared form: ``{"digits": [{label, writer, ...}]}``
PEN_STROKES_FILE = "pendigits-orig.tra"  #: the data set's own file (UNIPEN text), or ``.Z``
#: Where the data set's own file is published (UCI, "Pen-Based Recognition of Handwritten
#: Digits", Alpaydin & Alimoglu, CC BY 4.0): the 30 writers' file alone, ``compress``-ed.
#: UCI's newer site serves the data set only as one zip that also holds the 14 test
#: writers (``pendigits-orig.tes.Z``), which digitnet never downloads.
PEN_STROKES_URLS: tuple[str, ...] = (
    "https://archive.ics.uci.edu/ml/machine-learning-databases/pendigits/pendigits-orig.tra.Z",
)
#: SHA-256 of the digits' content in canonical form (:func:`pen_strokes_sha256`), whichever
#: file they come from: the same 7,494 digits in the shared strokes.json and in the
#: data set's ``pendigits-orig.tra``.
PEN_STROKES_SHA256 = "8ea3772a1f97accfe0b8b299c64bf17fa172bf51471343bf69d65e34d528e855"
PEN_STROKES_COUNT = 7494  #: digits in the 30 writers' file
MAX_PEN_FILE_BYTES = 64 * 1024 * 1024  #: a writers' file larger than this is refused unread
MAX_COORDINATE = 100_000  #: tablet coordinates beyond ±this are refused
TABLET_SIDE = 500  #: the tablet's writing box: 0..500 in x and y, y growing upwards


@dataclass(frozen=True)
class PenStrokes:
    """Digits written with a pen, as strokes (pen-down trajectories), in file order.

    The points of every stroke of every digit are stored end to end (``points``);
    ``stroke_start`` and ``digit_start`` say where each stroke and each digit
    begins (compressed-row offsets: stroke ``s`` is ``points[stroke_start[s] :
    stroke_start[s + 1]]``, digit ``i`` is strokes ``digit_start[i]`` to
    ``digit_start[i + 1] - 1``).

    Attributes
    ----------
    points : ndarray
        int32 (P, 2): tablet coordinates x, y (y grows *upwards*, 0..500).
    stroke_start : ndarray
        int64 (S + 1,).
    digit_start : ndarray
        int64 (N + 1,).
    labels, writers, sample_no : ndarray
        int64 (N,): the digit, the writer (1..30), the digit's number in the
        writer's session.
    """

    points: np.ndarray
    stroke_start: np.ndarray
    digit_start: np.ndarray
    labels: np.ndarray
    writers: np.ndarray
    sample_no: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def strokes(self, i: int) -> list[np.ndarray]:
        """Digit ``i``'s strokes: a list of int32 (n, 2) arrays of tablet coordinates."""
        first, last = self.digit_start[i], self.digit_start[i + 1]
        bounds = self.stroke_start[first : last + 1]
        return [self.points[a:b] for a, b in zip(bounds[:-1], bounds[1:])]

    def select(self, index: np.ndarray) -> PenStrokes:
        """The digits picked by ``index`` (a boolean mask or integer indices), in that order."""
        picked = np.arange(len(self))[index]
        digits = [self.strokes(int(i)) for i in picked]
        return _pack(digits, self.labels[picked], self.writers[picked], self.sample_no[picked])


def _pack(
    digits: list[list[np.ndarray]],
    labels: np.ndarray | list[int],
    writers: np.ndarray | list[int],
    sample_no: np.ndarray | list[int],
) -> PenStrokes:
    """Build a :class:`PenStrokes` from each digit's list of (n, 2) stroke arrays."""
    strokes = [s for d in digits for s in d]
    stroke_lengths = np.array([len(s) for s in strokes], np.int64)
    digit_lengths = np.array([len(d) for d in digits], np.int64)
    points = np.concatenate(strokes).astype(np.int32) if strokes else np.zeros((0, 2), np.int32)
    return PenStrokes(
        points=points.reshape(-1, 2),
        stroke_start=np.concatenate([[0], np.cumsum(stroke_lengths)]).astype(np.int64),
        digit_start=np.concatenate([[0], np.cumsum(digit_lengths)]).astype(np.int64),
        labels=np.asarray(labels, np.int64),
        writers=np.asarray(writers, np.int64),
        sample_no=np.asarray(sample_no, np.int64),
    )


def pen_strokes_sha256(pen: PenStrokes) -> str:
    """SHA-256 of the digits' content in a canonical form, whatever file held them.

    The form: for each digit in order, the int32 little-endian numbers
    ``label, writer, sample_no, number of strokes``, then for each stroke its
    number of points and its points ``x0, y0, x1, y1, ...`` (tablet coordinates).
    """
    h = hashlib.sha256()
    for i in range(len(pen)):
        strokes = pen.strokes(i)
        head = [pen.labels[i], pen.writers[i], pen.sample_no[i], len(strokes)]
        h.update(np.array(head, "<i4").tobytes())
        for s in strokes:
            h.update(np.array([len(s)], "<i4").tobytes())
            h.update(np.ascontiguousarray(s, "<i4").tobytes())
    return h.hexdigest()


def resolve_pen_strokes_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    """The directory of the writers' strokes: ``directory`` (the CLI's ``--pen-strokes``),
    else ``$DIGITNET_PENDIGITS_TRAIN``, else the per-user cache
    (``~/.cache/digitnet/pendigits`` on Linux; see :func:`resolve_data_dir`)."""
    if directory is not None:
        return Path(directory).expanduser().absolute()
    if os.environ.get(PEN_STROKES_ENV):
        return Path(os.environ[PEN_STROKES_ENV]).expanduser().absolute()
    return _user_cache_dir() / "digitnet" / "pendigits"


def find_pen_strokes_file(directory: Path) -> Path | None:
    """The writers' file in ``directory``: strokes.json, else pendigits-orig.tra(.Z), else None."""
    for name in (PEN_STROKES_JSON, PEN_STROKES_FILE, f"{PEN_STROKES_FILE}.Z"):
        if (directory / name).is_file():
            return directory / name
    return None


def pen_strokes_help(directory: Path) -> str:
    """How to get the writers' file, for error messages."""
    return (
        f"Run `python -m digitnet download pen-strokes` to download {PEN_STROKES_FILE} "
        f"(about 1 MB, from {PEN_STROKES_URLS[0]}) into {directory}, or put {PEN_STROKES_JSON} "
        f"or {PEN_STROKES_FILE} there by hand, or point {PEN_STROKES_ENV} (the CLI's "
        "--pen-strokes) at a directory that has one."
    )


def load_pen_strokes(
    directory: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progress: ProgressCallback | None = None,
    expected_sha256: str | None = "official",
) -> PenStrokes:
    """The 7,494 digits of the pen-drawn data set's 30 development writers, as strokes.

    Read from ``strokes.json`` (the shared form) or from the data set's own
    ``pendigits-orig.tra`` (UNIPEN text, plain or ``.Z``) in ``directory``
    (:func:`resolve_pen_strokes_dir`), downloaded there first if neither is
    present and ``download`` is true. Everything in the file is checked: its
    size, its structure, the types and ranges of every field, and the content's
    canonical SHA-256 (:func:`pen_strokes_sha256`: by default
    :data:`PEN_STROKES_SHA256`; pass ``expected_sha256=None`` for another set of digits).

    Raises
    ------
    DataError
        The file is missing (and not downloaded), unreadable, malformed, or
        its content is not the expected one. The message says what to do.
    DownloadError
        It could not be downloaded.
    """
    if expected_sha256 == "official":
        expected_sha256 = PEN_STROKES_SHA256
    folder = resolve_pen_strokes_dir(directory)
    path = find_pen_strokes_file(folder)
    if path is None:
        if not download:
            raise DataError(
                f"The pen-drawn digits' writers' file is missing from {folder}. "
                + pen_strokes_help(folder)
            )
        path = download_pen_strokes(folder, progress=progress, expected_sha256=expected_sha256)
    try:
        pen = read_pen_strokes(path)
        if expected_sha256 is not None:
            actual = pen_strokes_sha256(pen)
            if actual != expected_sha256:
                raise _BadFile(
                    f"its digits are not the expected ones (content SHA-256 {actual}, "
                    f"expected {expected_sha256})"
                )
    except _BadFile as exc:
        raise DataError(
            f"{path}: {exc}. Delete it and run `python -m digitnet download pen-strokes`, "
            "or put a good copy in place by hand."
        ) from None
    return pen


def read_pen_strokes(path: str | os.PathLike[str]) -> PenStrokes:
    """Parse a writers' file: ``*.json`` in the shared form, else UNIPEN text (plain or
    ``.Z``, recognised by content). Raises ``_BadFile`` (inside the module) or
    :class:`DataError` (from outside: see :func:`load_pen_strokes`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_PEN_FILE_BYTES:
            raise _BadFile(f"{size:,} bytes, more than the {MAX_PEN_FILE_BYTES:,} allowed")
        raw = path.read_bytes()
    except OSError as exc:
        raise _BadFile(f"cannot be read ({exc.strerror or exc})") from None
    from . import lzw

    if lzw.is_compressed(raw):
        try:
            raw = lzw.decompress(raw, max_size=MAX_PEN_FILE_BYTES)
        except lzw.ZError as exc:
            raise _BadFile(str(exc)) from None
    if path.suffix == ".json":
        return _parse_strokes_json(raw)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise _BadFile(f"not UNIPEN text: a non-ASCII byte at offset {exc.start}") from None
    return parse_unipen(text)


def _parse_strokes_json(raw: bytes) -> PenStrokes:
    """The shared form: ``{"digits": [{"label", "writer", "sample_no", "index_in_file"
    (optional: the file's order), "strokes": [[[x, y], ...], ...]}, ...]}``."""
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise _BadFile(f"not valid JSON ({exc})") from None
    digits = doc.get("digits") if isinstance(doc, dict) else None
    if not isinstance(digits, list) or not digits:
        raise _BadFile('no "digits" list in it')
    fields: dict[str, list[int]] = {"label": [], "writer": [], "sample_no": [], "index": []}
    all_strokes = []
    for i, d in enumerate(digits):
        if not isinstance(d, dict):
            raise _BadFile(f"digit #{i} is not an object")
        for key in ("label", "writer", "sample_no"):
            fields[key].append(_json_int(d.get(key), f"digit #{i}: {key!r}"))
        fields["index"].append(_json_int(d.get("index_in_file", i), f"digit #{i}: 'index_in_file'"))
        strokes = d.get("strokes")
        if not isinstance(strokes, list) or not strokes:
            raise _BadFile(f"digit #{i}: 'strokes' must be a non-empty list of strokes")
        all_strokes.append(
            [_json_stroke(s, f"digit #{i}, stroke #{k}") for k, s in enumerate(strokes)]
        )
    order = np.argsort(fields["index"], kind="stable")
    if len(set(fields["index"])) != len(digits):
        raise _BadFile("two digits have the same 'index_in_file'")
    pen = _pack(
        [all_strokes[i] for i in order],
        *(np.array(fields[k], np.int64)[order] for k in ("label", "writer", "sample_no")),
    )
    _check_pen(pen)
    return pen


def _json_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _BadFile(f"{where} must be an integer, got {value!r:.40}")
    return value


def _json_stroke(stroke: object, where: str) -> np.ndarray:
    """A stroke ``[[x, y], ...]`` of integers as an int32 (n, 2) array."""
    if not isinstance(stroke, list) or not stroke:
        raise _BadFile(f"{where} must be a non-empty list of [x, y] points")
    try:
        a = np.array(stroke)
    except (ValueError, TypeError, OverflowError):
        a = None
    if a is None or a.ndim != 2 or a.shape[1] != 2 or a.dtype.kind not in "iu":
        raise _BadFile(f"{where} must be a list of [x, y] integer points")
    if np.abs(a).max() > MAX_COORDINATE:
        raise _BadFile(f"{where} has a coordinate beyond ±{MAX_COORDINATE:,}")
    return a.astype(np.int32)


def _check_pen(pen: PenStrokes) -> None:
    """Labels are digits, writers positive."""
    bad = np.flatnonzero((pen.labels < 0) | (pen.labels > 9))
    if bad.size:
        raise _BadFile(f"digit #{bad[0]} has label {pen.labels[bad[0]]}, not a digit 0-9")
    bad = np.flatnonzero(pen.writers < 1)
    if bad.size:
        raise _BadFile(f"digit #{bad[0]} has writer {pen.writers[bad[0]]}, not a positive id")


def parse_unipen(text: str) -> PenStrokes:
    """Parse the pen-drawn data set's UNIPEN text (``pendigits-orig.tra``).

    UNIPEN 1.0 (Guyon et al., 1994) is line based: a line starting with ``.`` in
    the first column is a *keyword* with its arguments (which may go on over the
    next lines, up to the next keyword); the lines after ``.PEN_DOWN`` up to
    ``.PEN_UP`` are the points of one pen-down *component*, one point a line, the
    values named by ``.COORD`` (default ``X Y``). The pen-down components are
    numbered from 0 in file order; ``.SEGMENT DIGIT <components> <quality>
    "<label>"`` says which of them make up one digit (``3``, ``4-5``, or a comma
    list of these). This data set follows each ``.SEGMENT`` with ``.COMMENT
    <label> <writer> <sample number>``. Other keywords (``.INCLUDE``,
    ``.LEXICON``, ``.HIERARCHY``, ``.DT``, ...) carry nothing digitnet needs.

    Checked: every component is in exactly one digit, every digit has its
    comment and the labels agree, points are integers inside the pen-down
    components only, nothing is left open. Raises ``_BadFile`` saying where.
    """
    components: list[np.ndarray] = []
    segments: list[tuple[int, str, str | None]] = []  # (line number, delineation, label)
    comments: dict[int, tuple[int, ...]] = {}  # segment index -> (label, writer, sample_no)
    coord: tuple[str, ...] = ("X", "Y")
    current: list[str] | None = None  # the lines of the pen-down component being read
    keyword = ""
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("."):
            keyword, *rest = line.split(None, 1)
            args = rest[0] if rest else ""
            if keyword == ".PEN_DOWN":
                if current is not None:
                    raise _BadFile(f"line {number}: .PEN_DOWN inside a pen-down component")
                current = []
            elif keyword == ".PEN_UP":
                if current is None:
                    raise _BadFile(f"line {number}: .PEN_UP without a .PEN_DOWN")
                components.append(_points(current, coord, number))
                current = None
            elif current is not None:
                raise _BadFile(f"line {number}: {keyword} inside a pen-down component")
            elif keyword == ".COORD":
                coord = tuple(args.split())
                if "X" not in coord or "Y" not in coord:
                    raise _BadFile(f"line {number}: .COORD names no X and Y")
            elif keyword == ".SEGMENT":
                segments.append((number, *_segment(args, number)))
            elif keyword == ".COMMENT" and segments and segments[-1][2] is not None:
                # the first comment after a digit's .SEGMENT is the digit's
                comments.setdefault(len(segments) - 1, _comment(args, number))
        elif current is not None:
            if line.strip():
                current.append(line)
        elif line.strip() and keyword in (".PEN_UP", ".DT"):  # pen-up points: not in this set
            raise _BadFile(f"line {number}: points outside a pen-down component")
    if current is not None:
        raise _BadFile("the file ends inside a pen-down component (truncated?)")
    return _assemble(components, segments, comments)


def _points(lines: list[str], coord: tuple[str, ...], number: int) -> np.ndarray:
    """The (x, y) integer points of one component's lines."""
    ix, iy, n = coord.index("X"), coord.index("Y"), len(coord)
    if not lines:
        raise _BadFile(f"line {number}: a pen-down component with no points")
    try:
        values = [line.split() for line in lines]
        if any(len(v) != n for v in values):
            raise ValueError
        a = np.array([(int(v[ix]), int(v[iy])) for v in values], np.int64)
    except ValueError:
        raise _BadFile(
            f"before line {number}: a point is not {n} integers ({' '.join(coord)})"
        ) from None
    if np.abs(a).max() > MAX_COORDINATE:
        raise _BadFile(f"before line {number}: a coordinate beyond ±{MAX_COORDINATE:,}")
    return a.astype(np.int32)


def _segment(args: str, number: int) -> tuple[str, str | None]:
    """``DIGIT 0-1 ? "7"`` -> (delineation, label); the label is None for other levels."""
    head, quote, rest = args.partition('"')
    parts = head.split()
    label = rest[:-1] if rest.endswith('"') else None
    if not quote or len(parts) < 2 or label is None:
        raise _BadFile(f'line {number}: a .SEGMENT must read: level components quality "label"')
    if parts[0] != "DIGIT":
        return parts[1], None
    if len(label) != 1 or not label.isdigit():
        raise _BadFile(f"line {number}: the digit's label {label!r} is not a digit 0-9")
    return parts[1], label


def _comment(args: str, number: int) -> tuple[int, ...]:
    """``<label> <writer> <sample number>``, this data set's comment after each digit."""
    parts = args.split()
    try:
        if len(parts) != 3:
            raise ValueError
        return tuple(int(p) for p in parts)
    except ValueError:
        raise _BadFile(
            f"line {number}: the digit's .COMMENT must be '<label> <writer> <sample number>'"
        ) from None


def _components(delineation: str, number: int) -> list[int]:
    """``"3"``, ``"4-5"`` or ``"0-2,7"`` as the list of component numbers."""
    out: list[int] = []
    try:
        for part in delineation.split(","):
            first, _, last = part.partition("-")
            a, b = int(first), int(last or first)
            if a < 0 or b < a or b - a > 1000:
                raise ValueError
            out.extend(range(a, b + 1))
    except ValueError:
        raise _BadFile(f"line {number}: unreadable components {delineation!r}") from None
    return out


def _assemble(
    components: list[np.ndarray],
    segments: list[tuple[int, str, str | None]],
    comments: dict[int, tuple[int, ...]],
) -> PenStrokes:
    """The digits from the components each DIGIT segment names; checks the cover."""
    owner = np.full(len(components), -1)
    digits, labels, writers, sample_no = [], [], [], []
    for k, (number, delineation, label) in enumerate(segments):
        if label is None:
            continue
        ids = _components(delineation, number)
        for c in ids:
            if c >= len(components):
                raise _BadFile(f"line {number}: component {c} does not exist")
            if owner[c] >= 0:
                raise _BadFile(f"line {number}: component {c} is already in another digit")
            owner[c] = k
        if k not in comments:
            raise _BadFile(f"line {number}: the digit has no '.COMMENT <label> <writer> <sample>'")
        c_label, writer, sample = comments[k]
        if c_label != int(label):
            raise _BadFile(f"line {number}: the .SEGMENT says {label}, its .COMMENT {c_label}")
        digits.append([components[c] for c in ids])
        labels.append(c_label)
        writers.append(writer)
        sample_no.append(sample)
    if not digits:
        raise _BadFile("no digit in it (no .SEGMENT DIGIT)")
    orphans = np.flatnonzero(owner < 0)
    if orphans.size:
        raise _BadFile(f"pen-down component {orphans[0]} belongs to no digit")
    pen = _pack(digits, labels, writers, sample_no)
    _check_pen(pen)
    return pen


def download_pen_strokes(
    directory: str | os.PathLike[str] | None = None,
    *,
    progress: ProgressCallback | None = None,
    urls: Sequence[str] | None = None,
    timeout: float = 30.0,
    expected_sha256: str | None = "official",
) -> Path:
    """Download the writers' file (``pendigits-orig.tra.Z``) into ``directory``, unless it
    holds one already; return its path.

    The download is parsed and its content checked (:func:`pen_strokes_sha256`)
    before it is moved into place. Only the 30 development writers' file is
    fetched, never the data set's test writers.

    Raises
    ------
    DownloadError
        From no URL could a good file be fetched; lists each one's failure.
    """
    if expected_sha256 == "official":
        expected_sha256 = PEN_STROKES_SHA256
    folder = resolve_pen_strokes_dir(directory)
    existing = find_pen_strokes_file(folder)
    if existing is not None:
        return existing
    _make_dir(folder)
    final = folder / f"{PEN_STROKES_FILE}.Z"

    def check(tmp: Path) -> None:
        pen = read_pen_strokes(tmp)
        if expected_sha256 is not None and pen_strokes_sha256(pen) != expected_sha256:
            raise _BadFile("its digits are not the expected ones (content checksum)")

    try:  # streamed, capped, under a deadline, no .part left (see download)
        return download(
            PEN_STROKES_URLS if urls is None else urls,
            final,
            sha256=None,  # the content checksum is computed by `check`, from the digits
            max_bytes=MAX_PEN_FILE_BYTES,
            check=check,
            timeout=timeout,
            progress=progress,
        )
    except DownloadError as exc:
        raise DownloadError(
            f"Could not download {final.name}:\n"
            + "\n".join(exc.failures)
            + "\n"
            + pen_strokes_help(folder),
            exc.failures,
        ) from None
