"""The multilayer perceptron: forward pass, backward pass, cost, and the scikit-learn API.

Notation (the article's): a layer's weights ``W`` have shape (inputs, outputs),
a minibatch ``X`` has one image per row, and for every layer l::

    z⁽ˡ⁺¹⁾ = a⁽ˡ⁾ W⁽ˡ⁾ + b⁽ˡ⁾        a⁽ˡ⁺¹⁾ = φ(z⁽ˡ⁺¹⁾)        a⁽⁰⁾ = X

The cost of the article is the binary cross-entropy of the ten sigmoid outputs
against the one-hot label, summed over the examples, plus an L2 term::

    J(W) = −Σᵢ Σₖ [ yₖ⁽ⁱ⁾ log aₖ⁽ⁱ⁾ + (1 − yₖ⁽ⁱ⁾) log(1 − aₖ⁽ⁱ⁾) ] + λ/2 Σ ‖W‖²

With sigmoid outputs and that cost -- or softmax outputs and cross-entropy --
the error at the output is simply ``δ_out = a_out − y``; each hidden layer's is
``δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ W⁽ˡ⁾ᵀ) ⊙ φ'(z⁽ˡ⁾)``; the gradients are ``∂J/∂W⁽ˡ⁾ = a⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾ + λW⁽ˡ⁾``
and ``∂J/∂b⁽ˡ⁾ = Σᵢ δ⁽ˡ⁺¹⁾``. The activations φ, φ' and the losses it chains
are in :mod:`digitnet.functions`, the update rule in :mod:`digitnet.optimizers`,
the epochs and minibatches in :mod:`digitnet.train`.

Where the article's text and code differ, digitnet follows what makes the cost
and its gradient agree: the text's cost has λ/2, its code omits the ½ but
updates with λW, the gradient of λ/2‖W‖²; so digitnet's cost has the λ/2. One
printed formula writes the sigmoid as 1/(1 + exp(z)); it is 1/(1 + exp(−z)).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import functions
from .blas import blas_threads
from .functions import ACTIVATIONS, N_CLASSES, check_labels, data_loss
from .geometry import N_PIXELS
from .optimizers import OPTIMIZERS, SCHEDULES, Optimizer
from .train import TRAIN_METRICS, Progress, Trainer

if TYPE_CHECKING:
    import threading

__all__ = [
    "HIDDEN_ACTIVATIONS",
    "INITS",
    "INPUT_SCALINGS",
    "MAX_EPOCHS",
    "MAX_HIDDEN_LAYERS",
    "MAX_UNITS",
    "MLP",
    "N_CLASSES",
    "N_INPUTS",
    "OUTPUTS",
    "PARAMETERS",
    "PRECISIONS",
    "Param",
    "check_labels",
    "data_loss",
]

N_INPUTS = N_PIXELS  #: the network's inputs: the 784 pixels of a 28×28 image
MAX_EPOCHS = 10_000
MAX_UNITS = 8_192
MAX_HIDDEN_LAYERS = 8  #: deeper networks are refused (memory and time grow with each layer)


# --------------------------------------------------------------------------
# Initial weights: the standard deviation of the normal each layer is drawn from
# --------------------------------------------------------------------------
def _normal_std(n_in: int, n_out: int, scale: float) -> float:
    return scale  # the article: normal(0, init_scale)


def _xavier_std(n_in: int, n_out: int, scale: float) -> float:
    return float(np.sqrt(2.0 / (n_in + n_out)))  # Glorot & Bengio, 2010


def _he_std(n_in: int, n_out: int, scale: float) -> float:
    return float(np.sqrt(2.0 / n_in))  # He et al., 2015: for ReLU units


#: Initial weights by name: (units in, units out, ``init_scale``) -> standard deviation.
INITS: dict[str, Callable[[int, int, float], float]] = {
    "normal": _normal_std,
    "xavier": _xavier_std,
    "he": _he_std,
}
INPUT_SCALINGS = ("symmetric", "unit")
PRECISIONS = ("float32", "float64")


# --------------------------------------------------------------------------
# Hyperparameters: what each accepts, in one table
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """What one hyperparameter of :class:`MLP` accepts.

    A name among ``choices``; or a number between ``low`` and ``high``
    (``low`` excluded if ``low_open``; an int if ``integer``); or True/False
    (``flag``); or whatever ``check`` accepts. ``optional`` also accepts None.
    """

    name: str
    choices: tuple[str, ...] | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    integer: bool = False
    flag: bool = False
    optional: bool = False
    check: Callable[[Any], None] | None = None

    def validate(self, value: Any) -> None:
        """Raise ValueError, in one sentence naming the parameter, if ``value`` is refused."""
        if value is None and self.optional:
            return
        if self.check is not None:
            self.check(value)
        elif self.choices is not None:
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(
                    f"{self.name} must be one of {', '.join(self.choices)}; got {value!r}"
                )
        elif self.flag:
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{self.name} must be True or False, got {value!r}")
        else:
            self._validate_number(value)

    def _validate_number(self, value: Any) -> None:
        kind = "an integer" if self.integer else "a number"
        ok = (
            isinstance(value, (int, np.integer))
            if self.integer
            else isinstance(value, (int, float))
        )
        if isinstance(value, bool) or not ok or not np.isfinite(value):
            raise ValueError(f"{self.name} must be {kind}, got {value!r}")
        low, high = self.low, self.high
        if low is not None and (value <= low if self.low_open else value < low):
            raise ValueError(
                f"{self.name} must be {'>' if self.low_open else '>='} {low}, got {value!r}"
            )
        if high is not None and value > high:
            raise ValueError(f"{self.name} must be <= {high}, got {value!r}")


def _check_hidden(h: Any) -> None:
    if isinstance(h, bool) or not (
        isinstance(h, (int, np.integer))
        or (isinstance(h, (list, tuple)) and all(isinstance(u, (int, np.integer)) for u in h))
    ):
        raise ValueError(f"hidden must be an int or a list of ints, got {h!r}")
    sizes = (int(h),) if isinstance(h, (int, np.integer)) else tuple(int(u) for u in h)
    if not sizes:
        raise ValueError("hidden must name at least one hidden layer, e.g. hidden=100")
    if len(sizes) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(sizes):,}")
    for units in sizes:
        if units < 1 or units > MAX_UNITS:
            raise ValueError(
                f"hidden layer sizes must be between 1 and {MAX_UNITS} units, got {units}"
            )


def _check_augment(spec: Any) -> None:
    if not isinstance(spec, dict):
        raise ValueError(f"augment must be a dict of distortion sizes or None, got {spec!r}")
    if spec:
        from .augment import validate_augment  # Pillow is loaded only when distorting

        validate_augment(spec)


#: Every hyperparameter of :class:`MLP` and what it accepts, in the constructor's order.
#: The command line's and the Train tab's choices are read from here.
PARAMETERS: dict[str, Param] = {
    p.name: p
    for p in (
        Param("hidden", check=_check_hidden),
        Param("activation", choices=tuple(ACTIVATIONS)),
        Param("output", choices=tuple(functions.OUTPUTS)),
        Param("l2", low=0, high=1e3),
        Param("optimizer", choices=tuple(OPTIMIZERS)),
        Param("eta", low=0, high=10.0, low_open=True),
        Param("momentum", low=0, high=0.9999),
        Param("beta1", low=0, high=0.9999),
        Param("beta2", low=0, high=0.999999),
        Param("schedule", choices=tuple(SCHEDULES)),
        Param("warmup", low=0, high=0.9),
        Param("epochs", low=1, high=MAX_EPOCHS, integer=True),
        Param("batch_size", low=1, high=60_000, integer=True),
        Param("shuffle", flag=True),
        Param("seed", low=0, high=2**32 - 1, integer=True, optional=True),
        Param("init", choices=tuple(INITS)),
        Param("init_scale", low=0, high=10.0, low_open=True),
        Param("input_scaling", choices=INPUT_SCALINGS),
        Param("precision", choices=PRECISIONS),
        Param("augment", check=_check_augment, optional=True),
        Param("early_stopping", flag=True),
        Param("patience", low=1, high=MAX_EPOCHS, integer=True),
        Param("train_metrics", choices=TRAIN_METRICS),
        Param("threads", low=1, high=256, integer=True, optional=True),
    )
}

#: The names alone, for the weights files' checks.
HIDDEN_ACTIVATIONS = PARAMETERS["activation"].choices
OUTPUTS = PARAMETERS["output"].choices


class MLP:
    """A multilayer perceptron for 28×28 digit images, trained with backpropagation.

    The defaults are the article's network: 784-100-10, sigmoid hidden and output
    units, binary cross-entropy plus L2 (λ = 0.01), plain SGD (η = 0.0005) on
    minibatches of 100 for 100 epochs, seed 1, inputs scaled to [−1, 1].

    Parameters
    ----------
    hidden : int or sequence of int
        Units in each hidden layer, e.g. ``100`` or ``(512, 256)``.
    activation : str
        Hidden units' activation φ, a name in :data:`digitnet.functions.ACTIVATIONS`
        (``sigmoid``, the article's; ``relu``; ...).
    output : str
        The output layer, a name in :data:`digitnet.functions.OUTPUTS`: ``sigmoid``
        with binary cross-entropy summed over the ten outputs (the article), or
        ``softmax`` with cross-entropy.
    l2 : float
        λ of the L2 term λ/2·Σ‖W‖² (biases are not regularised).
    optimizer : str
        Update rule, a name in :data:`digitnet.optimizers.OPTIMIZERS` (``sgd``, the
        article's; ``momentum``, ``nesterov``, ``adam``, ...).
    eta : float
        Learning rate η. Gradients are *summed* over the minibatch, as in the article.
    momentum : float
        μ for ``momentum``/``nesterov``.
    beta1, beta2 : float
        Decay rates of the running averages of the gradient and of its square
        (Adam's; ``beta2`` is also RMSprop's).
    schedule : str
        The learning rate's schedule over the whole run, a name in
        :data:`digitnet.optimizers.SCHEDULES` (``constant``, ``cosine``); ``warmup`` is
        the fraction of the run spent rising linearly to η (cosine only).
    epochs : int
        Passes over the training set made by :meth:`fit`.
    batch_size : int
        Examples per minibatch.
    shuffle : bool
        Reshuffle the training set before every epoch.
    seed : int or None
        Seeds the one ``numpy.random.RandomState`` that draws the initial weights
        (layer by layer) and then every epoch's shuffle, as in the article.
    init : str
        Initial weights, a name in :data:`INITS`: ``normal`` draws normal(0,
        ``init_scale``) as in the article, ``xavier`` and ``he`` use Glorot's or He's
        standard deviation. Biases start at zero.
    init_scale : float
        Standard deviation for ``init="normal"``.
    input_scaling : str
        How pixel values 0..255 become inputs: ``symmetric`` is the article's
        ((x / 255) − 0.5)·2 in [−1, 1], ``unit`` is x / 255 in [0, 1]. It is part
        of the model (and its saved file): callers always pass raw images.
    precision : str
        Floating-point type of the weights and the arithmetic (:data:`PRECISIONS`).
    augment : dict or None
        Random distortions of the training images (see :mod:`digitnet.augment`),
        e.g. ``{"rotate": 12, "scale": 0.12, "shear": 0.2, "shift": 2, "thickness": 0.5}``.
    early_stopping : bool
        Stop when validation accuracy has not improved for ``patience`` epochs and
        restore the best weights (needs validation data).
    patience : int
        Epochs without improvement tolerated by early stopping.
    train_metrics : str
        How the per-epoch cost and training accuracy are measured: ``full`` runs
        the whole training set through the network after the epoch (the article);
        ``running`` averages them over the epoch's minibatches (free, as Keras does).
    threads : int or None
        BLAS threads while training and predicting; ``None`` picks for the batch size.

    Attributes
    ----------
    weights_, biases_ : list of ndarray
        ``weights_[l]`` has shape (units in layer l, units in layer l+1).
    history_ : list of dict
        One entry per epoch: ``epoch``, ``cost`` (J on the training set), ``loss``
        (mean data loss per example), ``train_acc``, ``valid_acc``, ``elapsed`` (s).
    epochs_trained_ : int
    """

    def __init__(
        self,
        hidden: int | Sequence[int] = 100,
        activation: str = "sigmoid",
        output: str = "sigmoid",
        l2: float = 0.01,
        optimizer: str = "sgd",
        eta: float = 0.0005,
        momentum: float = 0.9,
        beta1: float = 0.9,
        beta2: float = 0.999,
        schedule: str = "constant",
        warmup: float = 0.0,
        epochs: int = 100,
        batch_size: int = 100,
        shuffle: bool = True,
        seed: int | None = 1,
        init: str = "normal",
        init_scale: float = 0.1,
        input_scaling: str = "symmetric",
        precision: str = "float32",
        augment: dict[str, float] | None = None,
        early_stopping: bool = False,
        patience: int = 10,
        train_metrics: str = "full",
        threads: int | None = None,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.output = output
        self.l2 = l2
        self.optimizer = optimizer
        self.eta = eta
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.schedule = schedule
        self.warmup = warmup
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.init = init
        self.init_scale = init_scale
        self.input_scaling = input_scaling
        self.precision = precision
        self.augment = augment
        self.early_stopping = early_stopping
        self.patience = patience
        self.train_metrics = train_metrics
        self.threads = threads
        self._validate_params()
        self.weights_: list[np.ndarray] = []
        self.biases_: list[np.ndarray] = []
        self.history_: list[dict[str, Any]] = []
        self.epochs_trained_ = 0
        self.optimizer_: Optimizer | None = None
        self.random_state_: np.random.RandomState | None = None
        self.metadata_: dict[str, Any] = {}  # preset, metrics, ... (saved with the weights)

    # ------------------------------------------------------------ parameters
    def get_params(self) -> dict[str, Any]:
        """The hyperparameters, as passed to the constructor (scikit-learn style)."""
        names = [p for p in inspect.signature(MLP.__init__).parameters if p != "self"]
        params = {name: getattr(self, name) for name in names}
        params["hidden"] = list(self.hidden_layers)
        return params

    def set_params(self, **params: Any) -> MLP:
        """Change hyperparameters (validated); the weights are kept."""
        valid = self.get_params()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"unknown parameter {name!r}; valid: {', '.join(valid)}")
            setattr(self, name, value)
        self._validate_params()
        return self

    @property
    def hidden_layers(self) -> tuple[int, ...]:
        """Hidden layer sizes as a tuple, e.g. ``(100,)``."""
        h = self.hidden
        return (int(h),) if isinstance(h, (int, np.integer)) else tuple(int(u) for u in h)

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """All layer sizes, inputs to outputs: ``(784, 100, 10)`` for the article."""
        return (N_INPUTS, *self.hidden_layers, N_CLASSES)

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.precision)

    def _validate_params(self) -> None:
        for name, param in PARAMETERS.items():
            param.validate(getattr(self, name))

    # ------------------------------------------------------------ inputs
    def prepare(self, X: np.ndarray) -> np.ndarray:
        """Images → network inputs: shape (N, 784), this model's dtype and scaling.

        Accepts uint8 pixels 0..255 or floats in [0, 1], shaped (N, 28, 28) or
        (N, 784), or a single image shaped (28, 28) or (784,).
        """
        X = np.asarray(X)
        if X.ndim == 1 or X.shape == (28, 28):
            X = X.reshape(1, -1)
        if X.ndim == 3:
            X = X.reshape(len(X), -1)
        if X.ndim != 2 or X.shape[1] != N_INPUTS:
            raise ValueError(
                f"images must be shaped (N, 28, 28) or (N, 784), got {np.asarray(X).shape}"
            )
        if X.dtype == np.uint8:
            if len(X) <= 16:  # a few images: one lookup instead of four array operations
                return np.take(self._pixel_values(), X)
            return self._scale_pixels(X)
        if X.dtype == bool or not np.issubdtype(X.dtype, np.number):
            raise ValueError(f"images must be uint8 (0-255) or floats in [0, 1], got {X.dtype}")
        X = X.astype(self.dtype)
        if X.size and not (np.isfinite(X).all() and X.min() >= -1e-6 and X.max() <= 1 + 1e-6):
            found = (
                "NaN or infinite values"
                if not np.isfinite(X).all()
                else (f"values {X.min():.3g}..{X.max():.3g}")
            )
            raise ValueError(
                f"float images must hold values in [0, 1], got {found}; "
                "pass uint8 0-255 or divide by 255"
            )
        return (X - 0.5) * 2.0 if self.input_scaling == "symmetric" else X

    def _scale_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """uint8 pixels → inputs: the article's ((x / 255) − 0.5)·2, or x / 255."""
        x = pixels.astype(self.dtype)
        x /= 255.0
        if self.input_scaling == "symmetric":
            x -= 0.5
            x *= 2.0
        return x

    def _pixel_values(self) -> np.ndarray:
        """The 256 possible inputs, computed exactly as :meth:`_scale_pixels` does."""
        key = (self.dtype, self.input_scaling)
        if getattr(self, "_pixel_table", (None,))[0] != key:
            self._pixel_table = (key, self._scale_pixels(np.arange(256, dtype=np.uint8)))
        return self._pixel_table[1]

    # ------------------------------------------------------------ weights
    def initialize(self) -> MLP:
        """Draw fresh weights (zero biases) and restart the random stream from ``seed``."""
        self.random_state_ = np.random.RandomState(self.seed)
        self.weights_, self.biases_ = [], []
        sizes = self.layer_sizes
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            std = INITS[self.init](n_in, n_out, self.init_scale)
            W = self.random_state_.normal(loc=0.0, scale=std, size=(n_in, n_out))
            self.weights_.append(W.astype(self.dtype))
            self.biases_.append(np.zeros(n_out, dtype=self.dtype))
        self.history_, self.epochs_trained_, self.optimizer_ = [], 0, None
        return self

    def copy(
        self,
        dtype: str | None = None,
        *,
        weights: tuple[Sequence[np.ndarray], Sequence[np.ndarray]] | None = None,
    ) -> MLP:
        """An independent copy: the same hyperparameters, and copies of the weights,
        history, metadata, epochs trained and random stream; no optimizer state (it
        belongs to the run that trained this model).

        Parameters
        ----------
        dtype : {"float32", "float64"}, optional
            Compute in this precision instead (the weights are converted).
        weights : (W, b), optional
            Arrays to give the copy instead of copies of this model's own: e.g. a
            snapshot of an epoch's end while this model trains on. They are used as
            they are, not copied (converted if ``dtype`` differs).
        """
        params = self.get_params()
        if dtype is not None:
            params["precision"] = dtype
        twin = MLP(**params)
        own = weights is None
        W, b = (self.weights_, self.biases_) if weights is None else weights
        twin.weights_ = [w.astype(twin.dtype, copy=own) for w in W]
        twin.biases_ = [v.astype(twin.dtype, copy=own) for v in b]
        twin.history_ = [dict(h) for h in self.history_]
        twin.epochs_trained_ = self.epochs_trained_
        twin.metadata_ = dict(self.metadata_)
        if self.random_state_ is not None:
            twin.random_state_ = copy.deepcopy(self.random_state_)
        return twin

    @property
    def is_fitted(self) -> bool:
        return bool(self.weights_)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise ValueError("this MLP has no weights yet: call fit() or load a weights file")

    # ------------------------------------------------------------ forward pass
    def forward(self, X: np.ndarray) -> list[np.ndarray]:
        """The forward pass: the activations ``[a⁽⁰⁾ = X, a⁽¹⁾, ..., a_out]``.

        ``X`` must already be prepared (see :meth:`prepare`).
        """
        return self.forward_pass(X)[0]

    def forward_pass(
        self, X: np.ndarray, keep_z_out: bool = False
    ) -> tuple[list[np.ndarray], np.ndarray | None]:
        """The forward pass, layer by layer: the activations, and (if ``keep_z_out``) a
        copy of the output layer's z, from which the cost is computed."""
        activations = [X]
        last = len(self.weights_) - 1
        hidden_phi = ACTIVATIONS[self.activation].phi
        output_phi = functions.OUTPUTS[self.output].activation
        z_out = None
        for layer, (W, b) in enumerate(zip(self.weights_, self.biases_)):
            z = activations[-1] @ W  # z = a W + b
            z += b
            if layer == last and keep_z_out:
                z_out = z.copy()  # φ overwrites z
            phi = output_phi if layer == last else hidden_phi
            activations.append(phi(z))  # a = φ(z), computed in place
        return activations, z_out

    def logits(self, X: np.ndarray) -> np.ndarray:
        """The output layer's pre-activations z_out for prepared inputs ``X``."""
        a = X
        hidden_phi = ACTIVATIONS[self.activation].phi
        for W, b in zip(self.weights_[:-1], self.biases_[:-1]):
            z = a @ W
            z += b
            a = hidden_phi(z)
        z = a @ self.weights_[-1]
        z += self.biases_[-1]
        return z

    # ------------------------------------------------------------ backward pass
    def backward(
        self, activations: list[np.ndarray], Y: np.ndarray
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Backpropagation: ∂J/∂W and ∂J/∂b for a minibatch, summed over its examples.

        Parameters
        ----------
        activations : list of ndarray
            What :meth:`forward` returned for the minibatch.
        Y : ndarray, shape (n, 10)
            One-hot labels.

        Returns
        -------
        grad_W, grad_b : lists of ndarray, one per layer
            ``grad_W[l] = a⁽ˡ⁾ᵀ δ⁽ˡ⁺¹⁾ + λW⁽ˡ⁾`` and ``grad_b[l] = Σᵢ δ⁽ˡ⁺¹⁾``.
        """
        phi_derivative = ACTIVATIONS[self.activation].derivative
        output_error = functions.OUTPUTS[self.output].error
        n_layers = len(self.weights_)
        grad_W: list[np.ndarray] = [None] * n_layers  # type: ignore[list-item]
        grad_b: list[np.ndarray] = [None] * n_layers  # type: ignore[list-item]
        delta = output_error(activations[-1], Y)  # δ_out = a_out − y
        for layer in reversed(range(n_layers)):
            grad_W[layer] = activations[layer].T @ delta  # aᵀ δ
            if self.l2:
                grad_W[layer] += self.l2 * self.weights_[layer]  # + λW
            grad_b[layer] = delta.sum(axis=0)  # Σᵢ δ (biases: no L2)
            if layer > 0:  # δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾ Wᵀ) ⊙ φ'(z⁽ˡ⁾)
                delta = (delta @ self.weights_[layer].T) * phi_derivative(activations[layer])
        return grad_W, grad_b

    def cost(self, X: np.ndarray, y: np.ndarray) -> float:
        """J(W) on prepared inputs ``X`` with integer labels ``y``: data loss + λ/2·Σ‖W‖²."""
        return functions.OUTPUTS[self.output].loss(self.logits(X), y) + self.l2_term()

    def l2_term(self) -> float:
        """λ/2 · Σ‖W‖² over all weight matrices (not the biases)."""
        if not self.l2:
            return 0.0
        return 0.5 * self.l2 * float(sum(np.sum(W.astype(np.float64) ** 2) for W in self.weights_))

    # ------------------------------------------------------------ scikit-learn API
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        *,
        callback: Callable[[Progress], bool | None] | None = None,
        callback_every: int | None = None,
        stop_event: threading.Event | None = None,
    ) -> MLP:
        """Train from fresh weights for ``epochs`` epochs.

        Parameters
        ----------
        X : ndarray
            Training images, uint8 (N, 28, 28) or (N, 784), or floats in [0, 1].
        y : ndarray of int, shape (N,)
            Labels 0..9.
        validation_data : (X_valid, y_valid), optional
            Scored after every epoch (``valid_acc`` in :attr:`history_`).
        callback : callable, optional
            Called with a :class:`digitnet.train.Progress` after every epoch, and
            every ``callback_every`` minibatches if given. Return ``True`` to stop.
        stop_event : threading.Event, optional
            Checked before every minibatch; when set, training stops cleanly.

        Raises
        ------
        digitnet.errors.TrainingDiverged
            The cost became NaN or infinite; the model keeps its last good weights.
        """
        self.initialize()
        Trainer(
            self,
            X,
            y,
            validation_data,
            callback=callback,
            callback_every=callback_every,
            stop_event=stop_event,
        ).run()
        return self

    def partial_fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        validation_data: tuple[np.ndarray, np.ndarray] | None = None,
        *,
        epochs: int = 1,
        callback: Callable[[Progress], bool | None] | None = None,
    ) -> MLP:
        """Train for ``epochs`` more epochs (default one pass), keeping the current
        weights and optimizer state; starts from fresh weights if there are none."""
        if not self.is_fitted:
            self.initialize()
        Trainer(self, X, y, validation_data, epochs=epochs, callback=callback).run()
        return self

    def predict_proba(self, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Class probabilities, shape (N, 10), rows summing to 1.

        For softmax outputs these are the outputs; for the article's sigmoid
        outputs (ten independent yes/no units) they are the outputs normalised to
        sum to 1.
        """
        self._check_fitted()
        Xp = self.prepare(X)
        with self._threads(len(Xp)):
            if len(Xp) <= batch_size:
                out = self.forward(Xp)[-1]
            else:
                out = np.concatenate(
                    [
                        self.forward(Xp[i : i + batch_size])[-1]
                        for i in range(0, len(Xp), batch_size)
                    ]
                )
        return functions.OUTPUTS[self.output].probabilities(out)

    def predict(self, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Predicted digit for each image: the output unit with the largest z."""
        self._check_fitted()
        Xp = self.prepare(X)
        with self._threads(len(Xp)):
            preds = [
                self.logits(Xp[start : start + batch_size]).argmax(axis=1)
                for start in range(0, len(Xp), batch_size)
            ]
        return np.concatenate(preds) if preds else np.empty(0, dtype=np.int64)

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy: the fraction of images whose digit is predicted right."""
        predictions = self.predict(X)
        return float(np.mean(predictions == check_labels(y, len(predictions))))

    def _threads(self, batch_rows: int) -> AbstractContextManager[None]:
        """Context manager limiting BLAS threads (one thread for small batches).

        A few rows need no limit: BLAS runs such small products on one thread
        anyway, and setting the limit would cost more than the prediction.
        """
        if self.threads is None and batch_rows <= 64:
            return contextlib.nullcontext()
        return blas_threads(self.threads, batch_rows, self.layer_sizes)

    def __repr__(self) -> str:
        defaults = MLP.__init__.__defaults__ or ()
        names = [p for p in inspect.signature(MLP.__init__).parameters if p != "self"]
        changed = [
            f"{n}={getattr(self, n)!r}"
            for n, d in zip(names, defaults)
            if not _same(getattr(self, n), d)
        ]
        return f"MLP({', '.join(changed)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False
