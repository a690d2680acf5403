"""The metadata of a weights file, parsed and checked against a schema before any use.

A weights file carries a JSON string (see :mod:`digitnet.weights`): its
architecture, the hyperparameters it was trained with, its history and metrics.
A file can come from anyone (the app accepts uploads), so the JSON is parsed
with bounds -- its length, integers of at most :data:`MAX_INT_DIGITS` digits,
nesting as deep as the interpreter allows -- and then every field digitnet
reads is checked for its type and range (:data:`SCHEMA`). A field digitnet
does not know is dropped, not kept: it is never shown, used, or saved again.

Anything wrong is one :class:`~digitnet.errors.WeightsError` naming the field,
e.g. ``metadata field history[3].cost must be a finite number >= 0, got 'abc'``.

Pure Python, no NumPy: the schema can be read (and fuzzed) on its own.
"""

from __future__ import annotations

import json
import math
from typing import Any

from .errors import WeightsError
from .model import (
    HIDDEN_ACTIVATIONS,
    INPUT_SCALINGS,
    MAX_HIDDEN_LAYERS,
    MAX_UNITS,
    N_CLASSES,
    N_INPUTS,
    OUTPUTS,
)

FORMAT = "digitnet-weights"
FORMAT_VERSION = 1
STORED_DTYPES = ("float16", "float32", "float64")

#: The longest metadata accepted, in characters. A run of 10,000 epochs (the most
#: ``MLP`` allows) writes about 1.9 million; parsing the worst JSON of this length
#: (a list of a million empty objects) takes about 90 MB for a moment.
MAX_METADATA_CHARS = 4_000_000
MAX_INT_DIGITS = 30  #: longer integers are refused while parsing (no 5000-digit ints)
MAX_HISTORY = 100_000  #: epochs of history kept in a file
_BIG = 10**12  #: bound of counts (epochs, examples)

#: The hyperparameter a file never sets: BLAS thread counts are the host's business.
NEVER_FROM_A_FILE = ("threads",)


class _Invalid(Exception):
    """A field does not match its schema: ``path`` and what was expected."""

    def __init__(self, path: str, expected: str, value: Any = None, *, got: bool = True) -> None:
        message = f"must be {expected}, got {describe(value)}" if got else expected
        super().__init__(path, message)
        self.path, self.message = path, message


def describe(value: Any, limit: int = 40) -> str:
    """A short, bounded description of a JSON value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = repr(value)
        return text if len(text) <= limit else f"a number of {len(text)} characters"
    if isinstance(value, str):
        text = repr(value[: limit + 1])
        return (
            text
            if len(value) <= limit
            else f"{repr(value[:limit])[:-1]}…' ({len(value):,} characters)"
        )
    if isinstance(value, list):
        return f"a list of {len(value):,} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return f"an object with {len(value):,} field{'s' if len(value) != 1 else ''}"
    return type(value).__name__


# ---------------------------------------------------------------- the schema's types
class Spec:
    """One field's type and range; :meth:`check` returns the value as digitnet keeps it."""

    def check(self, value: Any, path: str) -> Any:
        raise NotImplementedError


class Str(Spec):
    def __init__(self, max_len: int = 64, choices: tuple[str, ...] | None = None) -> None:
        self.max_len, self.choices = max_len, choices

    def check(self, value: Any, path: str) -> Any:
        if self.choices is not None:
            if value not in self.choices or not isinstance(value, str):
                raise _Invalid(path, f"one of {', '.join(self.choices)}", value)
            return value
        if not isinstance(value, str) or len(value) > self.max_len:
            raise _Invalid(path, f"a string of at most {self.max_len} characters", value)
        return value


class Const(Spec):
    def __init__(self, value: Any) -> None:
        self.value = value

    def check(self, value: Any, path: str) -> Any:
        if value != self.value or type(value) is not type(self.value):
            raise _Invalid(path, repr(self.value), value)
        return value


class Bool(Spec):
    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, bool):
            raise _Invalid(path, "true or false", value)
        return value


class Int(Spec):
    def __init__(self, low: int = 0, high: int = _BIG) -> None:
        self.low, self.high = low, high

    def check(self, value: Any, path: str) -> Any:
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not (self.low <= value <= self.high)
        ):
            raise _Invalid(path, f"an integer from {self.low:,} to {self.high:,}", value)
        return value


class Num(Spec):
    """A finite number in [low, high] (an int is a number too)."""

    def __init__(self, low: float = -math.inf, high: float = math.inf) -> None:
        self.low, self.high = low, high

    def check(self, value: Any, path: str) -> Any:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
            or not (self.low <= value <= self.high)
        ):
            if math.isinf(self.low) and math.isinf(self.high):
                expected = "a finite number"
            elif math.isinf(self.high):
                expected = f"a finite number >= {self.low:g}"
            else:
                expected = f"a number from {self.low:g} to {self.high:g}"
            raise _Invalid(path, expected, value)
        return value


class Nullable(Spec):
    def __init__(self, inner: Spec) -> None:
        self.inner = inner

    def check(self, value: Any, path: str) -> Any:
        return None if value is None else self.inner.check(value, path)


class AnyOf(Spec):
    def __init__(self, *options: Spec, expected: str) -> None:
        self.options, self.expected = options, expected

    def check(self, value: Any, path: str) -> Any:
        for option in self.options:
            try:
                return option.check(value, path)
            except _Invalid:
                continue
        raise _Invalid(path, self.expected, value)


class ListOf(Spec):
    def __init__(self, item: Spec, max_len: int, min_len: int = 0, what: str = "") -> None:
        self.item, self.max_len, self.min_len, self.what = item, max_len, min_len, what

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, list) or not (self.min_len <= len(value) <= self.max_len):
            what = f" of {self.what}" if self.what else ""
            raise _Invalid(path, f"a list{what} of {self.min_len} to {self.max_len:,} items", value)
        return [self.item.check(v, f"{path}[{i}]") for i, v in enumerate(value)]


class DictOf(Spec):
    """An object with any keys (strings up to ``key_len``), each value of one type."""

    def __init__(self, value: Spec, max_len: int = 64, key_len: int = 64) -> None:
        self.value, self.max_len, self.key_len = value, max_len, key_len

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict) or len(value) > self.max_len:
            raise _Invalid(path, f"an object of at most {self.max_len} fields", value)
        out = {}
        for key, v in value.items():
            if len(key) > self.key_len:
                raise _Invalid(f"{path}", f"has a field name of {len(key):,} characters", got=False)
            out[key] = self.value.check(v, f"{path}.{key}")
        return out


class Record(Spec):
    """An object with known fields (unknown ones are dropped); ``required`` must be there."""

    def __init__(self, fields: dict[str, Spec], required: tuple[str, ...] = ()) -> None:
        self.fields, self.required = fields, required

    def check(self, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise _Invalid(path, "an object", value)
        for key in self.required:
            if key not in value:
                raise _Invalid(f"{path}.{key}" if path else key, "is missing", got=False)
        return {
            key: spec.check(value[key], f"{path}.{key}" if path else key)
            for key, spec in self.fields.items()
            if key in value
        }


# ---------------------------------------------------------------- digitnet's metadata
LAYERS = ListOf(Int(1, MAX_UNITS), MAX_HIDDEN_LAYERS + 2, min_len=3, what="layer sizes")
ARCHITECTURE = Record(
    {
        "layers": LAYERS,
        "activation": Str(choices=HIDDEN_ACTIVATIONS),
        "output": Str(choices=OUTPUTS),
        "input_scaling": Str(choices=INPUT_SCALINGS),
    },
    required=("layers", "activation", "output", "input_scaling"),
)
AUGMENT = Nullable(DictOf(Num(0, 1e6), max_len=16, key_len=32))
#: The hyperparameters' types; their ranges are MLP's own checks (``MLP(**params)``).
#: ``hidden``, ``activation``, ``output`` and ``input_scaling`` come from the
#: architecture; ``threads`` never comes from a file (:data:`NEVER_FROM_A_FILE`).
HYPERPARAMETERS = Record(
    {
        "l2": Num(0),
        "optimizer": Str(32),
        "eta": Num(0),
        "momentum": Num(0),
        "beta1": Num(0),
        "beta2": Num(0),
        "schedule": Str(32),
        "warmup": Num(0),
        "epochs": Int(1),
        "batch_size": Int(1),
        "shuffle": Bool(),
        "seed": Nullable(Int(0, 2**32 - 1)),
        "init": Str(32),
        "init_scale": Num(0),
        "precision": Str(32),
        "augment": AUGMENT,
        "early_stopping": Bool(),
        "patience": Int(1),
        "train_metrics": Str(32),
    }
)
FRACTION = Nullable(Num(0, 1))
EPOCH = Record(
    {
        "epoch": Int(0),
        "cost": Num(0),
        "loss": Num(0),
        "train_acc": Num(0, 1),
        "valid_acc": FRACTION,
        "elapsed": Num(0),
        "eta": Nullable(Num(0)),
        "momentum": Nullable(Num(0, 1)),
    },
    required=("epoch", "cost", "loss", "train_acc", "elapsed"),
)
HISTORY = ListOf(EPOCH, MAX_HISTORY, what="epochs")
MAX_CHANGES = 10_000  #: mid-run changes of course kept in a file
#: A change of course made while the model trained (:meth:`digitnet.train.Trainer.change`):
#: where it took effect (epochs done, 2.5 = halfway through the third; and the optimizer's
#: update count), and the learning rate and momentum before and after.
CHANGE = Record(
    {
        "epoch": Num(0),
        "step": Int(0),
        "eta": Num(0),
        "eta_before": Num(0),
        "momentum": Num(0, 1),
        "momentum_before": Num(0, 1),
    },
    required=("epoch",),
)
CHANGES = ListOf(CHANGE, MAX_CHANGES, what="changes")
METRICS = Record(
    {
        "mnist_test_accuracy": Num(0, 1),
        "mnist_test_ece": Num(0, 1),
        "drawings_accuracy": Num(0, 1),
        "drawings_accuracy_one_view": Num(0, 1),
    }
)
FINETUNE = Record(
    {
        "examples": Int(0),
        "replay": Int(0),
        "repeats": Int(0),
        "epochs": Int(0),
        "eta": Num(0),
        "augment": AUGMENT,
        "history": HISTORY,
    }
)

#: The data a model was trained on: MNIST's checksums, and the pen strokes' writers' file.
DATA = Record(
    {
        "mnist_sha256": DictOf(Str(256), max_len=64, key_len=256),
        "pen_strokes": Record(
            {
                "digits": Int(0),
                "writers": Int(0),
                "copies": Int(0),
                "restyled": Int(0),
                "content_sha256": Str(256),
            }
        ),
    }
)

#: Every field digitnet reads from a file's metadata (anything else is dropped).
SCHEMA = Record(
    {
        "format": Const(FORMAT),
        "format_version": Int(1, FORMAT_VERSION),
        "digitnet_version": Str(64),
        "created": Str(64),
        "architecture": ARCHITECTURE,
        "hyperparameters": HYPERPARAMETERS,
        "epochs_trained": Int(0),
        "history": HISTORY,
        "changes": CHANGES,
        "preset": Str(64),
        "metrics": METRICS,
        "data": DATA,
        "train_seconds": Num(0),
        "command": Str(4096),
        "stopped": Str(512),
        "app_source": Str(64),
        "finetune": FINETUNE,
        "stored_dtype": Str(choices=STORED_DTYPES),
    },
    required=("format", "format_version", "architecture"),
)


# ---------------------------------------------------------------- parsing
def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise _Invalid("", f"holds an integer of {digits:,} digits", got=False)
    return int(text)


def parse(text: str, name: str) -> dict[str, Any]:
    """Parse and check a file's metadata: the fields digitnet knows, checked.

    Raises
    ------
    WeightsError
        Too long, not JSON, nested too deep, an integer too long, not a digitnet
        weights file, an unsupported format version, or any field of the wrong
        type or out of its range.
    """
    if not isinstance(text, str):
        raise WeightsError(f"{name}: 'metadata' must be a JSON string")
    if len(text) > MAX_METADATA_CHARS:
        raise WeightsError(
            f"{name}: its metadata is {len(text):,} characters long, more than the "
            f"{MAX_METADATA_CHARS:,} allowed"
        )
    try:
        meta = json.loads(text, parse_int=_parse_int)
    except _Invalid as e:
        raise WeightsError(f"{name}: metadata {e.message}") from None
    except json.JSONDecodeError as e:
        raise WeightsError(f"{name}: metadata is not valid JSON ({e})") from None
    except RecursionError:
        raise WeightsError(f"{name}: metadata is nested too deeply to be read") from None
    except (ValueError, MemoryError) as e:  # e.g. a float too long
        raise WeightsError(f"{name}: metadata cannot be read ({describe(str(e), 80)})") from None
    return check(meta, name)


def check(meta: Any, name: str) -> dict[str, Any]:
    """Check parsed metadata against :data:`SCHEMA`; return the known fields only."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightsError(f"{name}: not a digitnet weights file (format is not {FORMAT!r})")
    version = meta.get("format_version")
    if (
        isinstance(version, bool)
        or not isinstance(version, int)
        or not (1 <= version <= FORMAT_VERSION)
    ):
        raise WeightsError(
            f"{name}: weights format version {describe(version)} is not supported by this "
            f"digitnet (it reads version {FORMAT_VERSION}); upgrade digitnet"
        )
    arch = meta.get("architecture")
    layers = arch.get("layers") if isinstance(arch, dict) else None
    if isinstance(layers, list) and 3 <= len(layers) <= MAX_HIDDEN_LAYERS + 2:
        if layers[0] != N_INPUTS or layers[-1] != N_CLASSES:
            raise WeightsError(
                f"{name}: the network must take {N_INPUTS} inputs and give {N_CLASSES} "
                f"outputs, this one is {'-'.join(describe(n, 12) for n in layers)}"
            )
    elif isinstance(layers, list) and len(layers) > MAX_HIDDEN_LAYERS + 2:
        raise WeightsError(
            f"{name}: the network has {len(layers) - 2:,} hidden layers; digitnet reads "
            f"at most {MAX_HIDDEN_LAYERS}"
        )
    try:
        return SCHEMA.check(meta, "")
    except _Invalid as e:
        raise WeightsError(f"{name}: metadata field {e.path} {e.message}") from None
