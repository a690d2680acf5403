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
import math
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

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

    ``limit``: refuse (``_BadFile``) content longer than this, as soon as it is.
    """
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
                max_bytes=SIZES[name] + 65_536,  # gzip never grows data by more
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
def _sigterm_unwinds():
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

    def terminate(signum, frame):
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
    sha256: str,
    max_bytes: int,
    unpacked_bytes: int | None = None,
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
    sha256 : str
        Hex SHA-256 of the content.
    max_bytes : int
        The most bytes accepted from a server.
    unpacked_bytes : int, optional
        The content is gzip data unpacking to at most this many bytes.
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
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(final)
    if deadline is None:
        deadline = time.monotonic() + DOWNLOAD_DEADLINE_S
    failures = []
    with _sigterm_unwinds():
        for url in urls:
            try:
                _download_to(url, final, sha256, max_bytes, unpacked_bytes, deadline, timeout,
                             progress)  # fmt: skip
                return final
            except (OSError, http.client.HTTPException, ValueError, zlib.error, _BadFile) as exc:
                failures.append(f"  - {url}: {_brief(exc)}")
    message = f"Could not download {final.name} from any mirror:\n" + "\n".join(failures)
    raise DownloadError(message, failures)


def _remove_stale_parts(final: Path) -> None:
    now = time.time()
    for part in final.parent.glob(f".{final.name}.part-*"):
        with contextlib.suppress(OSError):
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()


def _download_to(
    url: str,
    final: Path,
    sha256: str,
    max_bytes: int,
    unpacked_bytes: int | None,
    deadline: float,
    timeout: float,
    progress: ProgressCallback | None,
) -> None:
    """One attempt: ``url`` to ``final`` through a checked temporary file."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.name}.part-", dir=final.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            _stream(url, out, final.name, sha256, max_bytes, unpacked_bytes, deadline, timeout,
                    progress)  # fmt: skip
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, final)
    finally:  # including KeyboardInterrupt and SIGTERM: leave nothing half-written
        tmp.unlink(missing_ok=True)


def _stream(url, out, name, sha256, max_bytes, unpacked_bytes, deadline, timeout, progress):
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
                    if unpacked > unpacked_bytes:
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
    if hasher.hexdigest() != sha256:
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
    except (OSError, ValueError, EOFError, zlib.error, zipfile.BadZipFile) as exc:
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
