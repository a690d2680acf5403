"""Saving and loading trained models: one ``.npz`` file, never unpickled.

The file holds one array per weight matrix and bias vector (``W0``, ``b0``,
``W1``, ``b1``, ...) and ``metadata``, a JSON string with everything needed to
rebuild and trust the model: its architecture and input scaling, the preset and
hyperparameters it was trained with, its epochs, its accuracy on the MNIST test
set, the checksums of the data, the digitnet version and the date.

A weights file can come from anyone (the app takes uploads), so loading trusts
none of its bytes. It reads the archive with :mod:`zipfile` and each array's
.npy header itself, never through pickle, and checks, each with its own message
and before the next step costs anything: the file's size; the zip directory's
size; how each member is stored (encrypted or exotic compression: refused);
what the members unpack to; the metadata's length, JSON and schema
(:mod:`digitnet.metadata`); the members against the architecture; what the
network will take in memory once loaded; each header's shape and dtype before
its data is read; that every value is finite; and, last, that the network's
outputs are finite for a few ordinary digit images (:func:`probe_images`).
Whatever the bytes, the only exception is :class:`~digitnet.errors.WeightsError`.

Saving writes a temporary file beside the target and renames it into place, so
a crash never leaves half a file.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as _dt
import io
import json
import math
import os
import re
import secrets
import struct
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np

from .errors import WeightsError
from .metadata import FORMAT, FORMAT_VERSION, MAX_METADATA_CHARS, NEVER_FROM_A_FILE, STORED_DTYPES
from .metadata import parse as parse_metadata
from .model import MLP
from .version import __version__

SHIPPED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "digitnet.npz"

#: The most a loaded network may take in memory by default (the CLI's limit; the app
#: sets its own for uploads). 1 GB: 250 million float32 weights.
MAX_LOADED_BYTES = 1_000_000_000
#: Members of a weights file: the metadata and a W and b per layer (nine layers at most).
MAX_MEMBERS = 64
MAX_DIRECTORY_BYTES = 64 * 1024  #: a weights file's zip directory takes about 100 bytes a member
MAX_NPY_HEADER = 10_000  #: the longest .npy header read (numpy's own limit)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_LOADED_BYTES",
    "SHIPPED_WEIGHTS",
    "STORED_DTYPES",
    "load_model",
    "model_bytes",
    "model_metadata",
    "probe_images",
    "save_model",
]


def model_metadata(model: MLP, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The metadata saved with a model: its own, the model's ``metadata_``, then ``extra``."""
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "digitnet_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "architecture": {
            "layers": list(model.layer_sizes),
            "activation": model.activation,
            "output": model.output,
            "input_scaling": model.input_scaling,
        },
        "hyperparameters": model.get_params(),
        "epochs_trained": model.epochs_trained_,
        "history": model.history_,
    }
    for key, value in (getattr(model, "metadata_", None) or {}).items():
        meta.setdefault(key, value)  # carried over: preset, metrics, data, ...
    for key, value in (extra or {}).items():
        if key not in ("format", "format_version", "architecture", "hyperparameters"):
            meta[key] = value
    meta.pop("stored_dtype", None)
    return meta


def save_model(
    model: MLP,
    path: str | os.PathLike[str],
    metadata: dict[str, Any] | None = None,
    dtype: str = "float32",
) -> Path:
    """Write ``model`` to ``path`` (an .npz), atomically.

    Parameters
    ----------
    model : MLP
        A trained model.
    path : path-like
        Destination; its directory must exist.
    metadata : dict, optional
        Extra entries (e.g. ``{"preset": "best", "metrics": {...}}``) merged into
        the metadata.
    dtype : {"float16", "float32", "float64"}
        Storage precision of the arrays (the model is rebuilt in its own precision).
    """
    arrays = _arrays(model, metadata, dtype)
    path = Path(path)
    # Named before it exists and made inside the ``try`` (with the usual permissions): an
    # interruption at any moment after it is made removes it. (Made by mkstemp before the
    # ``try``, a second Ctrl-C landing between the two left it beside the weights.)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]  # numpy's stubs
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def model_bytes(
    model: MLP, metadata: dict[str, Any] | None = None, dtype: str = "float32"
) -> bytes:
    """The bytes of the .npz that :func:`save_model` would write (e.g. for a download button)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **_arrays(model, metadata, dtype))  # type: ignore[arg-type]
    return buffer.getvalue()


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in weights metadata")


def _arrays(model: MLP, metadata: dict[str, Any] | None, dtype: str) -> dict[str, np.ndarray]:
    if not model.is_fitted:
        raise ValueError("cannot save a model without weights: fit it first")
    if dtype not in STORED_DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(STORED_DTYPES)}, got {dtype!r}")
    meta = model_metadata(model, metadata)
    meta["stored_dtype"] = dtype
    arrays = {"metadata": np.array(json.dumps(meta, default=_json_default))}
    for layer, (W, b) in enumerate(zip(model.weights_, model.biases_)):
        arrays[f"W{layer}"] = W.astype(dtype)
        arrays[f"b{layer}"] = b.astype(dtype)
    return arrays


def load_model(
    path: str | os.PathLike[str] | BinaryIO | None = None,
    *,
    max_bytes: int | None = None,
    max_unpacked_bytes: int | None = None,
    max_loaded_bytes: int | None = MAX_LOADED_BYTES,
) -> MLP:
    """Load a model saved by :func:`save_model`; with no path, the shipped weights.

    Parameters
    ----------
    path : path-like or file-like, optional
        An .npz file (or an open binary file object, e.g. an upload).
    max_bytes : int, optional
        Refuse files larger than this (for uploads).
    max_unpacked_bytes : int, optional
        Refuse archives whose members would take more than this once unpacked (a
        small zip of zeros can unpack to gigabytes).
    max_loaded_bytes : int, optional
        Refuse networks whose weights would take more than this in memory once
        loaded, in the precision they run in (a float16 file of zeros takes four
        times its unpacked size as float64). Default :data:`MAX_LOADED_BYTES`;
        None: no limit but the architecture's own (:data:`MAX_UNITS` units per
        layer, :data:`MAX_HIDDEN_LAYERS` hidden layers).

    Raises
    ------
    WeightsError
        Whatever is wrong with the file, in one sentence: missing, too large, not
        an .npz, a damaged archive, encrypted or compressed in a way .npz files
        never are, a pickled object, metadata that breaks its schema, the wrong
        architecture, shapes or dtypes, non-finite values, too large once loaded,
        or a network whose outputs are NaN for ordinary digit images. Nothing
        else escapes, whatever the bytes.
    """
    if path is None:
        path = SHIPPED_WEIGHTS
        if not path.exists():
            raise WeightsError(
                f"the shipped weights are missing ({path}); reinstall digitnet or pass a "
                "weights file"
            )
    name = _short_name(path)
    if isinstance(path, (str, os.PathLike)):
        p = Path(path)
        if not p.is_file():
            what = (
                "is a directory, not a weights file"
                if p.is_dir()
                else "is not a regular file"
                if p.exists()
                else "no such weights file"
            )
            raise WeightsError(f"{name}: {what}")
        try:
            with open(p, "rb") as f:
                return _load(f, name, max_bytes, max_unpacked_bytes, max_loaded_bytes)
        except OSError as e:  # unreadable: permissions, a device error
            raise WeightsError(f"{name}: cannot read the file ({e.strerror or e})") from None
    try:
        return _load(path, name, max_bytes, max_unpacked_bytes, max_loaded_bytes)
    finally:
        with contextlib.suppress(OSError, ValueError):
            path.seek(0)


def _short_name(path: object) -> str:
    name = str(getattr(path, "name", path))
    return name if len(name) <= 200 else f"{name[:100]}…{name[-60:]}"


def _load(
    f: BinaryIO,
    name: str,
    max_bytes: int | None,
    max_unpacked_bytes: int | None,
    max_loaded_bytes: int | None,
) -> MLP:
    """Read an open .npz: its directory, metadata, and arrays, each checked before use."""
    f.seek(0, os.SEEK_END)
    size = f.tell()
    f.seek(0)
    if max_bytes is not None and size > max_bytes:
        raise WeightsError(
            f"{name}: {size / 1e6:.1f} MB is larger than the {max_bytes / 1e6:.1f} MB allowed"
        )
    if f.read(4) != b"PK\x03\x04":  # every .npz is a zip archive
        raise WeightsError(f"{name}: not a digitnet weights file (not an .npz archive)")
    _check_directory(f, size, name)
    try:
        with zipfile.ZipFile(f) as archive:
            members = _members(archive, name, max_unpacked_bytes)
            _refuse_objects(archive, members, name)
            if "metadata" not in members:
                raise WeightsError(f"{name}: not a digitnet weights file (no 'metadata' entry)")
            raw = _read_member(archive, members["metadata"], name, "metadata")
            meta = parse_metadata(str(raw[()]), name)
            arch = meta["architecture"]
            layers = arch["layers"]
            shapes = _expected_shapes(layers)
            _check_members(members, shapes, layers, name)
            hyper = meta.get("hyperparameters", {})
            dtype = np.dtype("float64" if hyper.get("precision") == "float64" else "float32")
            loaded = sum(math.prod(s) for s in shapes.values()) * dtype.itemsize
            if max_loaded_bytes is not None and loaded > max_loaded_bytes:
                raise WeightsError(
                    f"{name}: this {'-'.join(map(str, layers))} network would take "
                    f"{loaded / 1e6:,.0f} MB in memory as {dtype.name}, more than the "
                    f"{max_loaded_bytes / 1e6:,.0f} MB allowed"
                )
            arrays = {
                key: _read_member(archive, members[key], name, key, shape)
                for key, shape in shapes.items()
            }
    except WeightsError:
        raise
    except _CORRUPT as e:
        raise WeightsError(
            f"{name}: not a readable digitnet weights file (.npz): the file is truncated "
            f"or corrupt ({type(e).__name__}: {_brief(e)})"
        ) from None
    model = _build_model(meta, arrays, name)
    _check_outputs(model, name)
    return model


#: What a damaged archive can raise from zipfile, zlib and the .npy header's parser.
_CORRUPT = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    OverflowError,
    SyntaxError,
    MemoryError,
    RecursionError,
    NotImplementedError,
    RuntimeError,
    struct.error,
)


def _brief(e: BaseException, limit: int = 120) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _check_directory(f: BinaryIO, size: int, name: str) -> None:
    """Read the zip's end record: refuse archives whose directory alone is large.

    :class:`zipfile.ZipFile` builds an object per member from the central
    directory before anything can be checked: 20,000 members would take a
    second and tens of MB. The end record says how many and how large.
    """
    tail_len = min(size, 22 + 65_535)
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise WeightsError(f"{name}: the .npz archive is truncated or corrupt (no zip directory)")
    _, _, _, entries, directory_size, _ = struct.unpack("<HHHHII", tail[at + 4 : at + 20])
    if entries > MAX_MEMBERS or directory_size > MAX_DIRECTORY_BYTES:
        raise WeightsError(
            f"{name}: the archive holds {entries:,} members in a {directory_size:,}-byte "
            f"directory; a digitnet weights file holds at most {MAX_MEMBERS}"
        )
    f.seek(0)


def _members(
    archive: zipfile.ZipFile, name: str, max_unpacked_bytes: int | None
) -> dict[str, zipfile.ZipInfo]:
    """The archive's members by array name, after checking how they are stored."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise WeightsError(
            f"{name}: the archive holds {len(infos):,} members; a digitnet weights file "
            f"holds at most {MAX_MEMBERS}"
        )
    members: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
        if info.flag_bits & 0x1:
            raise WeightsError(f"{name}: member {key[:40]!r} is encrypted; .npz files never are")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise WeightsError(
                f"{name}: member {key[:40]!r} is compressed with method "
                f"{info.compress_type}; .npz files are stored or deflated"
            )
        if key in members:
            raise WeightsError(f"{name}: member {key[:40]!r} appears twice")
        members[key] = info
    unpacked = sum(info.file_size for info in infos)
    if max_unpacked_bytes is not None and unpacked > max_unpacked_bytes:
        raise WeightsError(
            f"{name}: its arrays would take {unpacked / 1e6:.0f} MB in memory, more than "
            f"the {max_unpacked_bytes / 1e6:.0f} MB allowed"
        )
    return members


def _refuse_objects(
    archive: zipfile.ZipFile, members: dict[str, zipfile.ZipInfo], name: str
) -> None:
    """Say first if any member is a pickled object (only the headers are read)."""
    for key, info in members.items():
        with archive.open(info) as member:
            try:
                dtype = _read_npy_header(member, name, key)[2]
            except WeightsError:
                continue  # reported later, in its turn
        if dtype.hasobject:
            raise WeightsError(f"{name}: holds a pickled Python object in {key[:40]!r}")


def _names(names: Iterable[str], limit: int = 6) -> str:
    """Member names for a message: at most ``limit`` of them, each at most 40 characters."""
    names = sorted(names)
    shown = [n if len(n) <= 40 else n[:40] + "…" for n in names[:limit]]
    more = f" and {len(names) - limit:,} more" if len(names) > limit else ""
    return f"{shown}{more}"


def _expected_shapes(layers: list[int]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for i, (n_in, n_out) in enumerate(zip(layers, layers[1:])):
        shapes[f"W{i}"], shapes[f"b{i}"] = (n_in, n_out), (n_out,)
    return shapes


def _check_members(
    members: dict[str, zipfile.ZipInfo],
    shapes: dict[str, tuple[int, ...]],
    layers: list[int],
    name: str,
) -> None:
    expected = {"metadata", *shapes}
    if set(members) != expected:
        missing, extra = expected - set(members), set(members) - expected
        raise WeightsError(
            f"{name}: arrays do not match the architecture {'-'.join(map(str, layers))}"
            + (f"; missing {_names(missing)}" if missing else "")
            + (f"; unexpected {_names(extra)}" if extra else "")
        )


def _read_member(
    archive: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    name: str,
    key: str,
    shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """One .npy member, its header checked before its data is read (never unpickled).

    ``shape`` given: a weight array, which must have that shape and a float dtype.
    Otherwise the metadata: a string of at most :data:`MAX_METADATA_CHARS`.
    """
    with archive.open(info) as member:
        stored_shape, fortran, dtype = _read_npy_header(member, name, key)
        if shape is None:
            if dtype.kind != "U" or stored_shape != ():
                raise WeightsError(f"{name}: 'metadata' must be a JSON string")
            if dtype.itemsize // 4 > MAX_METADATA_CHARS:
                raise WeightsError(
                    f"{name}: its metadata is {dtype.itemsize // 4:,} characters long, more "
                    f"than the {MAX_METADATA_CHARS:,} allowed"
                )
        else:
            if stored_shape != shape:
                raise WeightsError(
                    f"{name}: {key} has shape {_shape(stored_shape)}, expected {shape} for "
                    f"that network"
                )
            if dtype.name not in STORED_DTYPES:
                raise WeightsError(f"{name}: {key} has dtype {dtype}, expected a float type")
        n_bytes = math.prod(stored_shape) * dtype.itemsize
        data = member.read(n_bytes)
        if len(data) != n_bytes:
            raise WeightsError(f"{name}: {key} is truncated ({len(data):,} of {n_bytes:,} bytes)")
        if member.read(1):  # also reaches the end, where zipfile checks the CRC
            raise WeightsError(f"{name}: {key} has bytes after its data")
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(stored_shape, order="F" if fortran else "C")


def _shape(shape: tuple[int, ...]) -> str:
    text = str(shape)
    return text if len(text) <= 60 else f"{text[:60]}…"


_NPY_MAGIC = b"\x93NUMPY"
_NPY_HEADER_LENGTH = {1: "<H", 2: "<I", 3: "<I"}
#: The dtypes a header may name: plain numbers, a string (the metadata), objects (refused).
_NPY_DTYPE = re.compile(r"[<>|=]?([biufc]\d{1,2}|U\d{1,9}|O)")


def _read_npy_header(
    member: IO[bytes], name: str, key: str
) -> tuple[tuple[int, ...], bool, np.dtype[Any]]:
    """The shape, order and dtype a .npy header claims, read with every length bounded.

    numpy's own reader would read a header of up to 4 GB before checking its length,
    and allocate the array the header claims before reading its data.
    """
    head = member.read(len(_NPY_MAGIC) + 2)
    if len(head) < 8 or head[:6] != _NPY_MAGIC or head[6] not in _NPY_HEADER_LENGTH:
        raise WeightsError(f"{name}: {key} is not a NumPy array (.npy)")
    fmt = _NPY_HEADER_LENGTH[head[6]]
    size_bytes = member.read(struct.calcsize(fmt))
    if len(size_bytes) != struct.calcsize(fmt):
        raise WeightsError(f"{name}: {key} is truncated in its header")
    length = struct.unpack(fmt, size_bytes)[0]
    if length > MAX_NPY_HEADER:
        raise WeightsError(f"{name}: {key} has a {length:,}-byte header; .npy headers are short")
    text = member.read(length)
    try:
        header = ast.literal_eval(text.decode("utf8" if head[6] == 3 else "latin1"))
        descr, fortran, shape = header["descr"], header["fortran_order"], header["shape"]
    except (ValueError, TypeError, SyntaxError, KeyError, MemoryError, RecursionError):
        raise WeightsError(f"{name}: {key} has an unreadable .npy header") from None
    if (
        not isinstance(header, dict)
        or len(header) != 3
        or not isinstance(descr, str)
        or not _NPY_DTYPE.fullmatch(descr)
        or not isinstance(fortran, bool)
        or not isinstance(shape, tuple)
        or len(shape) > 2
        or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
    ):
        raise WeightsError(f"{name}: {key} has an .npy header digitnet does not read")
    return shape, fortran, np.dtype(descr)


def _build_model(meta: dict[str, Any], arrays: dict[str, np.ndarray], name: str) -> MLP:
    arch = meta["architecture"]
    layers = arch["layers"]
    n_layers = len(layers) - 1
    for key, a in arrays.items():
        if not np.isfinite(a).all():
            raise WeightsError(f"{name}: {key} contains NaN or infinite values")
    params = {
        k: v for k, v in meta.get("hyperparameters", {}).items() if k not in NEVER_FROM_A_FILE
    }
    params.update(
        hidden=layers[1:-1],
        activation=arch["activation"],
        output=arch["output"],
        input_scaling=arch["input_scaling"],
    )
    params["precision"] = params.get("precision", "float32")
    try:
        model = MLP(**params)
    except (TypeError, ValueError) as e:
        raise WeightsError(f"{name}: invalid hyperparameters in metadata: {_brief(e)}") from None
    dtype = model.dtype
    model.weights_ = [arrays[f"W{i}"].astype(dtype) for i in range(n_layers)]
    model.biases_ = [arrays[f"b{i}"].astype(dtype) for i in range(n_layers)]
    model.epochs_trained_ = meta.get("epochs_trained", 0)
    model.history_ = meta.get("history", [])
    model.metadata_ = meta
    model.random_state_ = np.random.RandomState(model.seed)
    return model


def probe_images() -> np.ndarray:
    """A few MNIST-like uint8 digits (a 0, a 1, a 7, a blank, full ink, noise) to try a model on."""
    images = np.zeros((6, 28, 28), np.uint8)
    yy, xx = np.mgrid[0:28, 0:28]
    r = np.hypot(yy - 14, xx - 14)
    images[0][(r > 6) & (r < 9)] = 255  # a 0
    images[1][4:24, 13:16] = 255  # a 1
    images[2][5:8, 7:21] = 255  # a 7: the bar...
    for row in range(8, 24):  # ...and the stroke down
        col = 20 - (row - 8) * 8 // 16
        images[2][row, col - 1 : col + 2] = 255
    images[4][:] = 255  # full ink (images[3] stays blank)
    images[5] = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)
    return images


def _check_outputs(model: MLP, name: str) -> None:
    """Refuse a network whose outputs are not finite for ordinary digit images."""
    with np.errstate(all="ignore"):
        probabilities = model.predict_proba(probe_images())
    if not np.isfinite(probabilities).all():
        raise WeightsError(
            f"{name}: the network's outputs are NaN or infinite for ordinary digit images "
            "(its weights overflow), so it cannot read digits"
        )
