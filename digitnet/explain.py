"""Why the network answered what it did, and whether its gradient is right (NumPy only).

Two questions a learner asks of a trained network:

- **Which hidden units pushed the answer?** The output unit of digit k
  computes ``z_k = Σⱼ aⱼ W[j, k] + b_k`` from the activations ``aⱼ`` of the last
  hidden layer. Each term ``aⱼ W[j, k]`` is unit j's *contribution*: positive
  terms push towards k, negative ones away from it, and with the bias they add
  up to ``z_k`` exactly. :func:`hidden_contributions` computes them for one image.
  A unit of the *first* hidden layer looks at the pixels directly: its incoming
  weights, one per pixel, are a 28×28 picture of what it responds to
  (:func:`incoming_weights`).
- **Does backpropagation compute the gradient of the cost?** :func:`gradient_check`
  compares :meth:`~digitnet.model.MLP.backward` with central finite differences
  of :meth:`~digitnet.model.MLP.cost` on a few weights of every layer, in
  float64 on a float64 copy of the model (in float32 the differences of the
  cost are mostly rounding error).

No Streamlit here: the app's Explore and "How it works" tabs show these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .functions import N_CLASSES, OUTPUTS, check_labels, data_loss
from .model import MLP


# --------------------------------------------------------------------------
# Which hidden units pushed the answer
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Contributions:
    """The last hidden layer's share in one output unit's pre-activation.

    Attributes
    ----------
    target : int
        The output unit (digit) explained: by default the network's answer.
    layer : int
        The hidden layer explained (the last), counting the first as 1: also the
        index in :attr:`MLP.weights_` of its weights to the outputs (1 for a
        784-h-10 network).
    activations : ndarray, shape (units,)
        ``aⱼ``: the last hidden layer's activations for the image.
    weights : ndarray, shape (units,)
        ``W[j, target]``: each unit's outgoing weight to the target output.
    contributions : ndarray, shape (units,)
        ``aⱼ · W[j, target]``, in float64.
    bias : float
        ``b_target``.
    logit : float
        ``z_target = Σⱼ contributions + bias`` (the forward pass's value).
    probabilities : ndarray, shape (10,)
        What :meth:`MLP.predict_proba` gives for the image.
    """

    target: int
    layer: int
    activations: np.ndarray
    weights: np.ndarray
    contributions: np.ndarray
    bias: float
    logit: float
    probabilities: np.ndarray

    def top(self, k: int = 8, sign: int = 1) -> np.ndarray:
        """Indices of the ``k`` units that pushed hardest towards (``sign=1``) or
        away from (``sign=-1``) the target; units that pushed the other way, or not
        at all, are left out, so fewer than ``k`` may come back."""
        c = self.contributions * sign
        order = np.argsort(-c, kind="stable")[:k]
        return order[c[order] > 0]


def hidden_contributions(model: MLP, image: np.ndarray, target: int | None = None) -> Contributions:
    """How much each unit of the last hidden layer pushed output ``target`` for ``image``.

    Parameters
    ----------
    model : MLP
        A trained model.
    image : ndarray
        One image, (28, 28) or (784,), uint8 or floats in [0, 1] (a drawing
        through :func:`digitnet.preprocess.canvas_to_mnist`).
    target : int, optional
        The digit whose output unit is explained; by default the network's answer
        (the largest output).

    Returns
    -------
    Contributions
        ``contributions.sum() + bias == logit`` (to rounding).
    """
    model._check_fitted()
    image = np.asarray(image)
    if image.size != 28 * 28:
        raise ValueError(f"one 28x28 image is needed, got shape {image.shape}")
    x = model.prepare(image.reshape(1, -1))
    activations = model.forward(x)
    out = activations[-1][0]
    if target is None:
        target = int(np.argmax(out))
    if not 0 <= int(target) < N_CLASSES:
        raise ValueError(f"target must be a digit 0-9, got {target!r}")
    target = int(target)
    layer = len(model.weights_) - 1
    a = activations[-2][0].astype(np.float64)
    w = model.weights_[-1][:, target].astype(np.float64)
    contributions = a * w
    bias = float(model.biases_[-1][target])
    probabilities = OUTPUTS[model.output].probabilities(out.astype(np.float64))  # as predict_proba
    return Contributions(
        target=target,
        layer=layer,
        activations=a,
        weights=w,
        contributions=contributions,
        bias=bias,
        logit=float(contributions.sum() + bias),
        probabilities=probabilities,
    )


def incoming_weights(model: MLP, units: np.ndarray | list[int] | None = None) -> np.ndarray:
    """The first hidden layer's incoming weights as pictures: float (k, 28, 28).

    Picture ``i`` is column ``units[i]`` of ``W⁽⁰⁾``: the weight of every pixel
    into that unit (all units when ``units`` is None). Where it is positive,
    ink excites the unit; where negative, ink inhibits it.
    """
    model._check_fitted()
    W = model.weights_[0]
    if units is None:
        units = np.arange(W.shape[1])
    units = np.asarray(units, dtype=np.int64)
    if units.size and (units.min() < 0 or units.max() >= W.shape[1]):
        raise ValueError(f"units must be between 0 and {W.shape[1] - 1}")
    return W[:, units].T.reshape(len(units), 28, 28)


# --------------------------------------------------------------------------
# Gradient check
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class GradientCheck:
    """One parameter checked: backpropagation's derivative against finite differences.

    ``param`` is ``"W"`` or ``"b"``, ``layer`` its index in ``weights_``/``biases_``
    (0 = input to first hidden layer), ``index`` its position in that array.
    ``relative_error`` is ``|analytic − numerical| / max(|analytic|, |numerical|)``
    (0 when both are 0).
    """

    layer: int
    param: str
    index: tuple[int, ...]
    analytic: float
    numerical: float
    relative_error: float


def gradient_check(
    model: MLP,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    per_layer: int = 3,
    eps: float = 1e-4,
    seed: int = 0,
    l2: float | None = None,
    cost_l2_factor: float = 0.5,
) -> list[GradientCheck]:
    """Compare :meth:`MLP.backward` with central differences of :meth:`MLP.cost`.

    For ``per_layer`` random weights and ``per_layer`` random biases of every
    layer, the derivative of the cost J on the batch (``images``, ``labels``) is
    computed twice: by backpropagation, and as
    ``(J(θ + ε) − J(θ − ε)) / 2ε``. Everything runs in float64 on a copy: the
    model is not changed.

    The parameters are drawn among those the batch moves: a gradient of the data
    term (without the penalty) at least 1% of the largest in the same array. A
    first-layer weight from a pixel that is blank in every image of the batch has
    the gradient ``λW`` or 0 on both sides, which checks little; and for a tiny
    gradient the relative error only measures the rounding of J in the finite
    difference (about 1e-13 · |J| / ε). Since λ plays no part in the draw, the
    same ``seed`` checks the same parameters whatever ``l2`` and
    ``cost_l2_factor``: the rows of two checks compare.

    Parameters
    ----------
    model : MLP
        A trained (or initialised) model.
    images, labels : ndarray
        A small batch: images as for :meth:`MLP.prepare`, digits 0-9. Keep it
        small (a few dozen): J is a sum over the batch.
    per_layer : int
        Weights, and as many biases, checked per layer.
    eps : float
        ε of the central difference.
    seed : int
        Chooses the weights checked.
    l2 : float, optional
        λ for the check, instead of the model's (the copy's only).
    cost_l2_factor : float
        The factor of λ·Σ‖W‖² in the cost that is differentiated: 0.5 is
        digitnet's cost (λ/2, whose gradient is the λW of ``backward``); 1.0 is the
        cost the article's *code* computes, whose gradient would be 2λW -- with
        λ > 0 the check then fails on the weights, which is the point of the option.

    Returns
    -------
    list of GradientCheck
        Layer by layer, the weights then the biases.
    """
    twin = model.copy("float64")
    if l2 is not None:
        twin.l2 = float(l2)
    X = twin.prepare(images)
    y = check_labels(labels, len(X))
    Y = np.eye(N_CLASSES)[y]
    grad_W, grad_b = twin.backward(twin.forward(X), Y)
    l2, twin.l2 = twin.l2, 0.0  # which parameters to check: the data term's gradient only
    movers_W, _ = twin.backward(twin.forward(X), Y)
    twin.l2 = l2

    def cost() -> float:
        return data_loss(twin.logits(X), y, twin.output) + cost_l2_factor * twin.l2 * sum(
            float(np.sum(W * W)) for W in twin.weights_
        )

    rng = np.random.default_rng(seed)
    results = []
    for layer in range(len(twin.weights_)):
        for param, arrays, grads, movers in (
            ("W", twin.weights_, grad_W, movers_W),
            ("b", twin.biases_, grad_b, grad_b),  # no penalty on the biases
        ):
            p, g = arrays[layer], grads[layer]
            pool = _movers(movers[layer], per_layer)
            for flat in rng.choice(pool, size=min(per_layer, pool.size), replace=False):
                index = np.unravel_index(int(flat), p.shape)
                original = p[index]
                p[index] = original + eps
                plus = cost()
                p[index] = original - eps
                minus = cost()
                p[index] = original
                numerical = (plus - minus) / (2 * eps)
                analytic = float(g[index])
                scale = max(abs(analytic), abs(numerical))
                rel = abs(analytic - numerical) / scale if scale > 0 else 0.0
                results.append(
                    GradientCheck(
                        layer, param, tuple(int(i) for i in index), analytic, numerical, rel
                    )
                )
    return results


def _movers(g: np.ndarray, k: int) -> np.ndarray:
    """Flat indices of the entries of ``g`` worth checking (see :func:`gradient_check`)."""
    size = np.abs(g.ravel())
    for pool in (np.flatnonzero(size >= 0.01 * size.max()), np.flatnonzero(size > 0)):
        if pool.size >= k:
            return pool
    return np.arange(size.size)
