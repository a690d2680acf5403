"""Which network answers on the Draw tab, and the weights files it comes from.

Four sources, chosen on the Draw tab:

- ``shipped``: the weights that come with digitnet (``weights/digitnet.npz``),
  loaded once per server. ``DIGITNET_APP_WEIGHTS`` can point the app at
  another file (for development, or to host your own model).
- ``trained``: the latest copy of the model trained on the Train tab, even
  while it is still training.
- ``taught``: a copy of one of the others fine-tuned on the visitor's own
  corrected drawings (:mod:`digitnet.app.teach`).
- ``uploaded``: an ``.npz`` weights file the visitor uploads. It is read with
  :func:`digitnet.weights.load_model`, which never unpickles and checks every
  array, after two size checks of its own: the file (:data:`MAX_UPLOAD_MB`)
  and what it unpacks to (:data:`MAX_UNPACKED_MB`: a small zip of zeros can
  unpack to gigabytes); and the network must take at most
  ``DIGITNET_MAX_MODEL_MB`` (:func:`digitnet.budget.max_model_bytes`, 20 MB)
  in memory once loaded (a float16 file runs as float32 or float64). One upload is
  read at a time on the server (:data:`READING`).

No Streamlit in here; :mod:`digitnet.app.draw` shows these.
"""

from __future__ import annotations

import io
import os
import threading
import weakref
from collections import OrderedDict
from typing import BinaryIO

from .. import budget
from ..errors import WeightsError
from ..model import MLP
from ..weights import load_model, model_bytes
from .i18n import t
from .jobs import Slots

SHIPPED, TRAINED, UPLOADED, TAUGHT = "shipped", "trained", "uploaded", "taught"
SOURCES = (SHIPPED, TRAINED, UPLOADED, TAUGHT)

WEIGHTS_ENV = "DIGITNET_APP_WEIGHTS"
MAX_UPLOAD_MB = 20  #: largest .npz accepted (the shipped one is a few MB)
MAX_UNPACKED_MB = 100  #: largest total size of the arrays inside it
#: Uploads read at once on the server. Reading one can take about 90 MB for a moment (a
#: crafted file's metadata, 4 million characters of empty JSON objects, parsed before its
#: schema refuses it), so a few visitors' uploads read at once could take the smallest
#: host over its memory. Reading one takes a second or two at most.
READING = Slots(1)
UPLOAD_WAIT_S = 20.0  #: how long an upload waits for the ones before it to be read


class UploadBusy(Exception):
    """Other visitors' uploads were being read for all of :data:`UPLOAD_WAIT_S`."""


def shipped_weights_path() -> str | None:
    """The weights the app starts with: ``$DIGITNET_APP_WEIGHTS``, or None for digitnet's own."""
    return os.environ.get(WEIGHTS_ENV) or None


def load_shipped() -> MLP:
    """Load the shipped weights (raises :class:`WeightsError` with a clear message)."""
    return load_model(shipped_weights_path())


def load_upload(file: BinaryIO, name: str | None = None, wait: float | None = None) -> MLP:
    """Read an uploaded weights file, checking its size before anything else.

    ``file`` is a binary file object (Streamlit's ``UploadedFile`` is one);
    its ``name`` is used in error messages. One upload is read at a time on the
    server (:data:`READING`); this one waits at most ``wait`` seconds for its turn
    (default :data:`UPLOAD_WAIT_S`).

    Raises
    ------
    WeightsError
        Too large, unpacks to too much, too large once loaded, or not a valid
        digitnet weights file (the only exception, whatever the bytes).
    UploadBusy
        Its turn did not come within ``wait`` seconds.
    """
    name = name or getattr(file, "name", "upload")
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(0)
    if size > MAX_UPLOAD_MB * 1_000_000:
        raise WeightsError(
            f"{name}: {size / 1e6:.1f} MB is larger than the {MAX_UPLOAD_MB} MB allowed"
        )
    if not hasattr(file, "name"):
        file = _Named(file.read(), name)
    if not READING.acquire(name, timeout=UPLOAD_WAIT_S if wait is None else wait):
        raise UploadBusy(name)
    try:
        return load_model(
            file,
            max_bytes=MAX_UPLOAD_MB * 1_000_000,
            max_unpacked_bytes=MAX_UNPACKED_MB * 1_000_000,
            max_loaded_bytes=budget.max_model_bytes(),
        )
    finally:
        READING.release(name)


class _Named(io.BytesIO):
    """Bytes with a file name, for the error messages of :func:`load_model`."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def describe(model: MLP) -> str:
    """One line about a model: architecture, epochs, MNIST test accuracy if known."""
    parts = [
        "-".join(map(str, model.layer_sizes)),
        f"{model.activation}/{model.output}",
        t("model.epochs", count=model.epochs_trained_),
    ]
    accuracy = (model.metadata_.get("metrics") or {}).get("mnist_test_accuracy")
    if isinstance(accuracy, (int, float)):
        parts.append(t("model.accuracy", accuracy=accuracy))
    return " · ".join(parts)


#: Weights files made for download buttons, the latest first: ``(model, source)`` → bytes.
_FILES: OrderedDict[tuple[int, str], tuple[weakref.ref[MLP], bytes]] = OrderedDict()
_FILES_LOCK = threading.Lock()
FILES_KEPT = 4  #: the most recent weights files kept for downloading again


def weights_file(model: MLP, source: str) -> bytes:
    """The .npz bytes of ``model`` for a download button, tagged with where it came from.

    Made once per model, one at a time server-wide. A page can ask for a download's bytes
    again and again (Streamlit runs the button's callable for each request, on up to six
    threads at once): a crafted page asking as fast as the server answers took about 0.4
    s of a core per request for the shipped network, both cores in all.
    """
    key = (id(model), source)
    with _FILES_LOCK:
        kept = _FILES.get(key)
        if kept is None or kept[0]() is not model:  # (an id is reused once its model is gone)
            kept = (weakref.ref(model), model_bytes(model, {"app_source": source}))
            _FILES[key] = kept
        _FILES.move_to_end(key, last=False)
        while len(_FILES) > FILES_KEPT:
            _FILES.popitem()
        return kept[1]
