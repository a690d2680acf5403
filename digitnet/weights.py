"""Saving and loading trained models: one ``.npz`` file, never unpickled.

The file holds one array per weight matrix and bias vector (``W0``, ``b0``,
``W1``, ``b1``, ...) and ``metadata``, a JSON string with everything needed to
rebuild and trust the model: its architecture and input scaling, the preset and
hyperparameters it was trained with, its epochs, its accuracy on the MNIST test
set, the checksums of the data, the digitnet version and the date.

Loading reads with ``allow_pickle=False`` and checks, each with its own message:
that the file is an .npz archive, that it holds no pickled object, the format
and its version, the architecture, every array's shape and dtype, and that
every value is finite. Saving writes a temporary file beside the target and
renames it into place, so a crash never leaves half a file.
"""

from __future__ import annotations

import datetime as _dt
import io
import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from .errors import WeightsError
from .model import (
    HIDDEN_ACTIVATIONS,
    INPUT_SCALINGS,
    MAX_UNITS,
    MLP,
    N_CLASSES,
    N_INPUTS,
    OUTPUTS,
)
from .version import __version__

FORMAT = "digitnet-weights"
FORMAT_VERSION = 1
SHIPPED_WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "digitnet.npz"
STORED_DTYPES = ("float16", "float32", "float64")


def model_metadata(model: MLP, extra: dict | None = None) -> dict:
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
    model: MLP, path: str | os.PathLike, metadata: dict | None = None, dtype: str = "float32"
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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a weights file is not
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def model_bytes(model: MLP, metadata: dict | None = None, dtype: str = "float32") -> bytes:
    """The bytes of the .npz that :func:`save_model` would write (e.g. for a download button)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **_arrays(model, metadata, dtype))
    return buffer.getvalue()


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in weights metadata")


def _arrays(model: MLP, metadata: dict | None, dtype: str) -> dict[str, np.ndarray]:
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
    path: str | os.PathLike | None = None,
    *,
    max_bytes: int | None = None,
    max_unpacked_bytes: int | None = None,
) -> MLP:
    """Load a model saved by :func:`save_model`; with no path, the shipped weights.

    Parameters
    ----------
    path : path-like or file-like, optional
        An .npz file (or an open binary file object, e.g. an upload).
    max_bytes : int, optional
        Refuse files larger than this (for uploads).
    max_unpacked_bytes : int, optional
        Refuse archives whose arrays would take more than this once unpacked (a
        small zip of zeros can unpack to gigabytes).

    Raises
    ------
    WeightsError
        The file is missing, too large, not an .npz, holds a pickled object, or
        has the wrong format, architecture, shapes, dtypes or non-finite values.
    """
    if path is None:
        path = SHIPPED_WEIGHTS
        if not path.exists():
            raise WeightsError(
                f"the shipped weights are missing ({path}); reinstall digitnet or pass a "
                "weights file"
            )
    name = str(getattr(path, "name", path))
    if isinstance(path, (str, os.PathLike)):
        p = Path(path)
        if not p.is_file():
            raise WeightsError(f"{name}: no such weights file")
        size = p.stat().st_size
    else:
        path.seek(0, os.SEEK_END)
        size = path.tell()
        path.seek(0)
    if max_bytes is not None and size > max_bytes:
        raise WeightsError(
            f"{name}: {size / 1e6:.1f} MB is larger than the {max_bytes / 1e6:.1f} MB allowed"
        )
    if _first_bytes(path, 4) != b"PK\x03\x04":  # every .npz is a zip archive
        raise WeightsError(f"{name}: not a digitnet weights file (not an .npz archive)")
    if max_unpacked_bytes is not None:
        unpacked = _unpacked_size(path, name)
        if unpacked > max_unpacked_bytes:
            raise WeightsError(
                f"{name}: its arrays would take {unpacked / 1e6:.0f} MB in memory, more than "
                f"the {max_unpacked_bytes / 1e6:.0f} MB allowed"
            )
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = _read_arrays(npz, name)
    except WeightsError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        if "allow_pickle" in str(e) or "Object arrays" in str(e):
            raise WeightsError(
                f"{name}: holds a pickled Python object; digitnet never unpickles files "
                "(unpickling can run arbitrary code)"
            ) from None
        raise WeightsError(
            f"{name}: not a readable digitnet weights file (.npz): the file is truncated "
            f"or corrupt ({type(e).__name__}: {e})"
        ) from None
    return _build_model(arrays, name)


def _first_bytes(path, n: int) -> bytes:
    if isinstance(path, (str, os.PathLike)):
        with open(path, "rb") as f:
            return f.read(n)
    head = path.read(n)
    path.seek(0)
    return head


def _unpacked_size(path, name: str) -> int:
    """Total size of the archive's members once decompressed, from its directory."""
    try:
        with zipfile.ZipFile(path) as archive:
            size = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        raise WeightsError(f"{name}: the .npz archive is truncated or corrupt ({e})") from None
    finally:
        if not isinstance(path, (str, os.PathLike)):
            path.seek(0)
    return size


def _read_arrays(npz, name: str) -> dict:
    if "metadata" not in npz.files:
        raise WeightsError(f"{name}: not a digitnet weights file (no 'metadata' entry)")
    arrays = {key: npz[key] for key in npz.files}  # reads (and CRC-checks) every member
    for key, value in arrays.items():
        if value.dtype == object:
            raise WeightsError(f"{name}: holds a pickled Python object in {key!r}")
    return arrays


def read_metadata(arrays: dict, name: str) -> dict:
    raw = arrays["metadata"]
    if raw.dtype.kind != "U" or raw.shape != ():
        raise WeightsError(f"{name}: 'metadata' must be a JSON string")
    try:
        meta = json.loads(str(raw))
    except json.JSONDecodeError as e:
        raise WeightsError(f"{name}: metadata is not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightsError(f"{name}: not a digitnet weights file (format is not {FORMAT!r})")
    version = meta.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise WeightsError(
            f"{name}: weights format version {version!r} is not supported by this digitnet "
            f"(it reads version {FORMAT_VERSION}); upgrade digitnet"
        )
    return meta


def _build_model(arrays: dict, name: str) -> MLP:
    meta = read_metadata(arrays, name)
    arch = meta.get("architecture")
    if not isinstance(arch, dict):
        raise WeightsError(f"{name}: metadata has no architecture")
    layers = arch.get("layers")
    if (
        not isinstance(layers, list)
        or len(layers) < 3
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in layers)
    ):
        raise WeightsError(f"{name}: architecture layers must be a list of ints, got {layers!r}")
    if layers[0] != N_INPUTS or layers[-1] != N_CLASSES:
        raise WeightsError(
            f"{name}: the network must take {N_INPUTS} inputs and give {N_CLASSES} outputs, "
            f"this one is {'-'.join(map(str, layers))}"
        )
    if not all(1 <= n <= MAX_UNITS for n in layers[1:-1]):
        raise WeightsError(f"{name}: hidden layers must have 1..{MAX_UNITS} units, got {layers}")
    for key, choices in (
        ("activation", HIDDEN_ACTIVATIONS),
        ("output", OUTPUTS),
        ("input_scaling", INPUT_SCALINGS),
    ):
        if arch.get(key) not in choices:
            raise WeightsError(f"{name}: {key} must be one of {choices}, got {arch.get(key)!r}")
    n_layers = len(layers) - 1
    expected = {"metadata"} | {f"{k}{i}" for i in range(n_layers) for k in "Wb"}
    if set(arrays) != expected:
        missing, extra = sorted(expected - set(arrays)), sorted(set(arrays) - expected)
        raise WeightsError(
            f"{name}: arrays do not match the architecture {'-'.join(map(str, layers))}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {extra}" if extra else "")
        )
    for i in range(n_layers):
        for key, shape in ((f"W{i}", (layers[i], layers[i + 1])), (f"b{i}", (layers[i + 1],))):
            a = arrays[key]
            if a.shape != shape:
                raise WeightsError(
                    f"{name}: {key} has shape {a.shape}, expected {shape} for a "
                    f"{'-'.join(map(str, layers))} network"
                )
            if a.dtype.name not in STORED_DTYPES:
                raise WeightsError(f"{name}: {key} has dtype {a.dtype}, expected a float type")
            if not np.isfinite(a).all():
                raise WeightsError(f"{name}: {key} contains NaN or infinite values")
    hyper = dict(meta.get("hyperparameters") or {})
    known = set(MLP().get_params())
    # never a thread count from a file: BLAS threads are the process's, not the model's
    params = {k: v for k, v in hyper.items() if k in known and k != "threads"}
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
        raise WeightsError(f"{name}: invalid hyperparameters in metadata: {e}") from None
    dtype = model.dtype
    model.weights_ = [arrays[f"W{i}"].astype(dtype) for i in range(n_layers)]
    model.biases_ = [arrays[f"b{i}"].astype(dtype) for i in range(n_layers)]
    model.epochs_trained_ = int(meta.get("epochs_trained") or 0)
    model.history_ = list(meta.get("history") or [])
    model.metadata_ = meta
    model.random_state_ = np.random.RandomState(model.seed)
    return model
