"""The exceptions digitnet raises, so callers (the CLI, the app) can tell bad input
from bugs: everything the user can fix derives from :class:`DigitnetError`."""


class DigitnetError(Exception):
    """Base class: a problem the user can fix (bad input, missing data, bad file)."""


class DataError(DigitnetError):
    """A data file (MNIST, the pen-drawn digits) is missing, truncated, corrupt or fails
    its checksum."""


class DownloadError(DataError):
    """MNIST could not be downloaded (offline, mirror down, connection dropped)."""


class WeightsError(DigitnetError):
    """A weights file cannot be used: wrong format, shape, dtype, or non-finite values."""


class TrainingDiverged(DigitnetError):
    """The cost became NaN or infinite; the model keeps its last good weights."""


class EmptyCanvas(DigitnetError, ValueError):
    """Nothing is drawn: the image has no ink, so there is no digit to read."""


class ImageReadError(DigitnetError, ValueError):
    """An image file cannot be read (missing, not an image, or an unsupported format)."""
