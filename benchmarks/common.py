"""Helpers shared by the benchmark scripts.

Nothing here imports :mod:`digitnet`, so the benchmarks can measure the package
without depending on it for their own plumbing.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import gzip
import hashlib
import os
import platform
import re
import statistics
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

#: Root of the repository (the parent of ``benchmarks/``).
REPO_ROOT = Path(__file__).resolve().parent.parent

#: The Markdown file in which every benchmark script owns one section.
RESULTS_MD = REPO_ROOT / "benchmarks" / "RESULTS.md"

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def default_data_dir() -> Path:
    """Return the directory holding the four MNIST ``.gz`` files.

    Returns
    -------
    pathlib.Path
        ``$DIGITNET_DATA`` if that variable is set and non-empty, otherwise
        ``../shared/data/mnist`` relative to the repository root.
    """
    env = os.environ.get("DIGITNET_DATA")
    if env:
        return Path(env)
    return (REPO_ROOT / ".." / "shared" / "data" / "mnist").resolve()


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Read one gzipped IDX file into a ``uint8`` array of its declared shape."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != expected_magic:
        raise ValueError(f"{path}: magic number {magic:#x}, expected {expected_magic:#x}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: {data.size} bytes of data for shape {dims}")
    return data.reshape(dims)


def load_mnist_u8(
    data_dir: str | os.PathLike[str] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load MNIST as raw ``uint8`` arrays straight from the gzipped IDX files.

    Parameters
    ----------
    data_dir : path-like, optional
        Directory with the four standard ``.gz`` files; defaults to
        :func:`default_data_dir`.

    Returns
    -------
    train_images : numpy.ndarray
        ``(60000, 784)`` ``uint8``, pixel values 0..255.
    train_labels : numpy.ndarray
        ``(60000,)`` ``uint8``, digits 0..9.
    test_images : numpy.ndarray
        ``(10000, 784)`` ``uint8``.
    test_labels : numpy.ndarray
        ``(10000,)`` ``uint8``.
    """
    d = Path(data_dir) if data_dir is not None else default_data_dir()
    train_images = _read_idx(d / MNIST_FILES["train_images"], 0x0803)
    train_labels = _read_idx(d / MNIST_FILES["train_labels"], 0x0801)
    test_images = _read_idx(d / MNIST_FILES["test_images"], 0x0803)
    test_labels = _read_idx(d / MNIST_FILES["test_labels"], 0x0801)
    return (
        train_images.reshape(len(train_images), -1),
        train_labels,
        test_images.reshape(len(test_images), -1),
        test_labels,
    )


def log(*args) -> None:
    """Progress for the person running a benchmark: on stderr, so stdout stays the report."""
    print(*args, file=sys.stderr, flush=True)


def pct(x: float, digits: int = 1) -> str:
    """A fraction as a percentage, "–" for NaN (nothing to measure)."""
    return "–" if x != x else f"{100 * x:.{digits}f}%"


def median(xs: Iterable[float]) -> float:
    """Return the median of ``xs`` (the mean of the two middle values if even).

    Parameters
    ----------
    xs : iterable of float
        At least one value.

    Returns
    -------
    float
    """
    return float(statistics.median(list(xs)))


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        text = ""
    m = re.search(r"^model name\s*:\s*(.+)$", text, flags=re.MULTILINE)
    if m:
        return m.group(1).strip()
    return platform.processor() or platform.machine() or "unknown"


def machine_info() -> dict:
    """Describe the machine and numerical stack the benchmarks run on.

    Returns
    -------
    dict
        Keys ``cpu``, ``logical_cores``, ``python``, ``numpy``, ``blas`` (a list
        of ``{"library", "version", "threads", "architecture"}`` from
        :func:`threadpoolctl.threadpool_info`, BLAS pools only), ``platform``
        and ``date`` (ISO 8601, UTC).
    """
    blas: list[dict] = []
    try:
        from threadpoolctl import threadpool_info

        for pool in threadpool_info():
            if pool.get("user_api") == "blas":
                blas.append(
                    {
                        "library": pool.get("internal_api"),
                        "version": pool.get("version"),
                        "threads": pool.get("num_threads"),
                        "architecture": pool.get("architecture"),
                    }
                )
    except ImportError:  # threadpoolctl is a project dependency, but be lenient
        pass
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "platform": platform.platform(),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "load": ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "",
    }


def machine_info_markdown(info: dict | None = None) -> str:
    """Format :func:`machine_info` as a short Markdown bullet list.

    Parameters
    ----------
    info : dict, optional
        A result of :func:`machine_info`; computed if omitted.

    Returns
    -------
    str
    """
    info = info if info is not None else machine_info()
    blas = (
        ", ".join(
            f"{b['library']} {b['version']} ({b['threads']} threads, {b['architecture']})"
            for b in info["blas"]
        )
        or "unknown"
    )
    return (
        f"- CPU: {info['cpu']}, {info['logical_cores']} logical cores\n"
        f"- Python {info['python']}, NumPy {info['numpy']}, BLAS: {blas}\n"
        f"- Platform: {info['platform']}\n"
        f"- Date: {info['date']}\n"
        + (
            f"- Load average (1, 5, 15 min) at the start: {info['load']} (the machine is shared)\n"
            if info.get("load")
            else ""
        )
    )


def _lock_path(path: Path) -> Path:
    """A lock file for ``path`` in the temp directory (keeps the repository clean)."""
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"digitnet-results-{digest}.lock"


@contextlib.contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_path`` (a no-op without fcntl)."""
    try:
        import fcntl
    except ImportError:  # not POSIX
        yield
        return
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def write_section(
    results_md_path: str | os.PathLike[str], section_name: str, markdown_text: str
) -> None:
    """Replace (or append) one named section of a shared results file.

    A section is everything between ``<!-- section:NAME -->`` and
    ``<!-- /section:NAME -->``. Text outside the markers, and other sections,
    are left untouched, so several scripts can each own a part of one file.

    Parameters
    ----------
    results_md_path : path-like
        The Markdown file; created if missing.
    section_name : str
        Section identifier (letters, digits, ``_``, ``-``, ``.``).
    markdown_text : str
        New body of the section, without the markers.
    """
    if not re.fullmatch(r"[\w.-]+", section_name):
        raise ValueError(f"invalid section name: {section_name!r}")
    path = Path(results_md_path)
    begin = f"<!-- section:{section_name} -->"
    end = f"<!-- /section:{section_name} -->"
    block = f"{begin}\n{markdown_text.strip()}\n{end}"
    path.parent.mkdir(parents=True, exist_ok=True)
    # Several scripts may update their own sections at the same time: serialize
    # the read-modify-write, and replace the file atomically.
    with _locked(_lock_path(path)):
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), flags=re.DOTALL)
        if pattern.search(text):
            # A function replacement keeps backslashes in ``block`` literal.
            text = pattern.sub(lambda _m: block, text, count=1)
        else:
            if text and not text.endswith("\n"):
                text += "\n"
            text += ("\n" if text else "") + block + "\n"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
