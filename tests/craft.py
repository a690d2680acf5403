"""Hand-made files for the hostile-input tests and ``benchmarks/hostile.py``: .npy members
with any header, .npz archives of any members, digitnet metadata, PNGs claiming any size;
and an interruption (Ctrl-C) raised at any line of a function."""

from __future__ import annotations

import io
import json
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable
from types import CodeType

import numpy as np


def npy(array: np.ndarray | None = None, *, header: dict | str | None = None,
        data: bytes = b"", version: int = 1) -> bytes:  # fmt: skip
    """The bytes of a .npy file: of ``array``, or a hand-written ``header`` (a dict, or any
    text) followed by ``data``; ``version`` 1 has a 2-byte header length, 2 and 3 four."""
    if array is not None:
        buf = io.BytesIO()
        np.save(buf, array, allow_pickle=False)
        return buf.getvalue()
    text = (header if isinstance(header, str) else repr(header)).encode("latin1", "replace")
    text += b" " * (-(10 + len(text) + 1) % 64) + b"\n"
    size = struct.pack("<H" if version == 1 else "<I", len(text))
    return b"\x93NUMPY" + bytes([version, 0]) + size + text + data


def npz(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip archive of ``members`` (name -> bytes), as ``np.savez`` would write them."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return {n: z.read(n) for n in z.namelist()}


def metadata(layers, precision: str = "float32", **extra) -> bytes:
    """The ``metadata.npy`` member of a relu/softmax network with these layer sizes."""
    meta = {
        "format": "digitnet-weights",
        "format_version": 1,
        "architecture": {
            "layers": list(layers),
            "activation": "relu",
            "output": "softmax",
            "input_scaling": "unit",
        },
        "hyperparameters": {"precision": precision},
        **extra,
    }
    return npy(np.array(json.dumps(meta)))


def with_meta(good: bytes, change) -> bytes:
    """The weights file ``good`` with its metadata changed by ``change(meta_dict)``; if that
    returns a string, the string is the new metadata text."""
    members = members_of(good)
    meta = json.loads(str(np.load(io.BytesIO(members["metadata.npy"]))))
    new = change(meta)
    text = new if isinstance(new, str) else json.dumps(meta)
    members["metadata.npy"] = npy(np.array(text))
    return npz(members)


def png_chunk(kind: bytes, data: bytes, crc: int | None = None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that says it is ``width``×``height`` RGBA, with one row of data: 0.1 kB."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    idat = zlib.compress(b"\0" * (1 + 4 * min(width, 1000)))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def interrupted_at(code: CodeType, at_line: int, call: Callable[[], object]) -> bool:
    """Run ``call()`` with KeyboardInterrupt raised at the ``at_line``-th line that ``code``
    (a function's ``__code__``) executes; whether it was raised (False: ``code`` ran fewer
    lines, and ``call`` ended normally)."""
    seen = [0]

    def trace(frame, event, arg):
        if frame.f_code is not code:
            return None
        if event == "line":
            seen[0] += 1
            if seen[0] == at_line:
                raise KeyboardInterrupt
        return trace

    sys.settrace(trace)
    try:
        call()
        return False
    except KeyboardInterrupt:
        return True
    finally:
        sys.settrace(None)
