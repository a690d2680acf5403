"""The exceptions digitnet raises, so callers (the CLI, the app) can tell bad input
from bugs: everything the user can fix derives from :class:`DigitnetError`."""


class DigitnetError(Exception):
    """Base class: a problem the user can fix (bad input, missing data, bad file)."""


class DataError(DigitnetError):
    """A data file (MNIST, the pen-drawn digits) is missing, truncated, corrupt or fails
    its checksum."""


class DownloadError(DataError):
    """MNIST could not be downloaded (offline, mirror down, connection dropped).

    ``failures``: one line per URL tried, saying why it failed.
    """

    def __init__(self, message: str = "", failures: list[str] | None = None) -> None:
        super().__init__(message)
        self.failures = list(failures or [])


class WeightsError(DigitnetError):
    """A weights file cannot be used: wrong format, shape, dtype, or non-finite values."""


class TrainingDiverged(DigitnetError):
    """The cost became NaN or infinite; the model keeps its last good weights."""
