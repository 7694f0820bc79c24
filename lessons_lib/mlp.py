"""A small multilayer perceptron in numpy, with its backpropagation written out by hand.

::

    from lessons_lib.mlp import MLP
    model = MLP(sizes=(64, 32, 10))     # 64 inputs, one hidden layer of 32, 10 classes
    theta = model.init(seed=0)          # ONE flat vector of all weights and biases
    loss, grad = model.loss_and_grad(theta, X, y)

The network, for a batch X of n examples (one per row) and layers l = 1 … L::

    h₀ = X
    z_l = h_{l−1} W_l + b_l
    h_l = relu(z_l) = max(z_l, 0)          (hidden layers, l < L)
    p = softmax(z_L)                        (the last layer gives class probabilities)
    loss = −(1/n) Σ_i log p[i, y_i]         (mean cross-entropy)

Backpropagation, from the loss back to the first layer::

    ∂loss/∂z_L = (p − onehot(y)) / n
    ∂loss/∂W_l = h_{l−1}ᵀ ∂loss/∂z_l,   ∂loss/∂b_l = Σ_i ∂loss/∂z_l[i]
    ∂loss/∂h_{l−1} = ∂loss/∂z_l W_lᵀ
    ∂loss/∂z_{l−1} = ∂loss/∂h_{l−1} · [z_{l−1} > 0]

Every weight and bias lives in one flat float64 vector θ, so that every
rule of ``lessons_lib.optim`` trains the network unchanged: an optimizer
never needs to know about layers. ``model.layers(theta)`` shows θ as the
(W_l, b_l) of each layer (views: no copy). No regularisation here: L2 and
weight decay are the optimizer's business (lesson 07).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lessons_lib.checks import as_float_array


@dataclass(frozen=True)
class MLP:
    """A fully connected network with ReLU hidden layers and a softmax output.

    ``sizes`` lists the width of every layer, inputs first and classes last:
    ``(64, 32, 10)`` has one hidden layer of 32 units. Parameters: for each
    layer a weight matrix W (fan_in × fan_out) and a bias b (fan_out), in
    that order, flattened into one vector.
    """

    sizes: tuple[int, ...] = (64, 32, 10)

    def __post_init__(self) -> None:
        sizes = tuple(self.sizes) if isinstance(self.sizes, (tuple, list)) else None
        if (
            sizes is None
            or len(sizes) < 2
            or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in sizes)
        ):
            raise ValueError(f"sizes must list at least two layer widths, whole numbers >= 1, e.g. (64, 32, 10); got {self.sizes!r}")
        if sizes[-1] < 2:
            raise ValueError(f"the last size is the number of classes and must be at least 2, got {sizes[-1]}")
        object.__setattr__(self, "sizes", tuple(int(s) for s in sizes))
        slices, start = [], 0  # where each layer's W and b sit in θ: asked for at every step, so kept
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            w = slice(start, start + fan_in * fan_out)
            slices.append((w, slice(w.stop, w.stop + fan_out)))
            start = w.stop + fan_out
        object.__setattr__(self, "_slices", tuple(slices))

    @property
    def n_params(self) -> int:
        """How many numbers θ holds: Σ_l (fan_in + 1) · fan_out."""
        return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]))

    def layer_slices(self) -> list[tuple[slice, slice]]:
        """Where each layer's W and b sit in θ: one (W slice, b slice) pair per layer."""
        return list(self._slices)

    def weight_mask(self) -> np.ndarray:
        """A boolean vector like θ: True for weights, False for biases."""
        mask = np.zeros(self.n_params, dtype=bool)
        for w, _ in self.layer_slices():
            mask[w] = True
        return mask

    def layers(self, theta: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """θ seen as one (W, b) pair per layer; W has shape (fan_in, fan_out). Views, not copies."""
        theta = self.check_theta(theta)
        pairs = []
        for (w, b), fan_in, fan_out in zip(self._slices, self.sizes[:-1], self.sizes[1:]):
            pairs.append((theta[w].reshape(fan_in, fan_out), theta[b]))
        return pairs

    def init(self, seed: int = 0) -> np.ndarray:
        """Starting parameters: He-normal weights W ~ N(0, 2/fan_in), zero biases (seeded).

        The 2/fan_in variance keeps the size of the activations about the
        same from layer to layer with ReLU. (PyTorch's ``nn.Linear`` draws
        from a uniform distribution instead; any sensible start will do here.)
        """
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
        rng = np.random.default_rng(int(seed))
        theta = np.zeros(self.n_params)
        for (w, _), fan_in, fan_out in zip(self.layer_slices(), self.sizes[:-1], self.sizes[1:]):
            theta[w] = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=fan_in * fan_out)
        return theta

    def logits(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """z_L, the last layer's outputs before the softmax: shape (n, classes)."""
        X = self._check_inputs(X)
        return self._forward(self.layers(theta), X)[-1]

    def predict(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """The most probable class of each example."""
        return np.argmax(self.logits(theta, X), axis=1)

    def accuracy(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """The fraction of examples whose predicted class is right."""
        y = self._check_labels(y, len(X))
        return float(np.mean(self.predict(theta, X) == y))

    def loss(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> float:
        """The mean cross-entropy −(1/n) Σ_i log p[i, y_i]."""
        return self.loss_and_accuracy(theta, X, y)[0]

    def loss_and_accuracy(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        """The mean cross-entropy and the fraction of examples predicted right, from one forward pass."""
        X = self._check_inputs(X)
        y = self._check_labels(y, len(X))
        z_last = self._forward(self.layers(theta), X)[-1]
        loss = float(np.mean(_log_sum_exp(z_last) - z_last[np.arange(len(y)), y]))
        return loss, float(np.mean(np.argmax(z_last, axis=1) == y))

    def loss_and_grad(self, theta: np.ndarray, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The mean cross-entropy and its gradient with respect to θ (a flat vector like θ)."""
        X = self._check_inputs(X)
        y = self._check_labels(y, len(X))
        layers = self.layers(theta)
        zs = self._forward(layers, X)  # z_1 … z_L
        n = len(y)
        rows = np.arange(n)

        z_last = zs[-1]
        log_norm = _log_sum_exp(z_last)
        loss = float((log_norm - z_last[rows, y]).sum() / n)  # −(1/n) Σ_i log p[i, y_i]
        p = np.exp(z_last - log_norm[:, None])  # softmax

        grad = np.empty_like(theta)
        dz = p
        dz[rows, y] -= 1.0
        dz /= n  # ∂loss/∂z_L = (p − onehot(y)) / n
        for l in range(len(layers) - 1, -1, -1):
            h_prev = X if l == 0 else np.maximum(zs[l - 1], 0.0)
            w_slice, b_slice = self._slices[l]
            grad[w_slice] = (h_prev.T @ dz).ravel()  # ∂loss/∂W_l = h_{l−1}ᵀ dz
            grad[b_slice] = dz.sum(axis=0)  # ∂loss/∂b_l = Σ_i dz[i]
            if l > 0:
                dh = dz @ layers[l][0].T  # ∂loss/∂h_{l−1} = dz W_lᵀ
                dz = dh * (zs[l - 1] > 0)  # through the ReLU
        return loss, grad

    def _forward(self, layers: list[tuple[np.ndarray, np.ndarray]], X: np.ndarray) -> list[np.ndarray]:
        """z_1 … z_L for the batch X (the hidden h_l = relu(z_l) are recomputed where needed)."""
        zs = []
        h = X
        for l, (W, b) in enumerate(layers):
            z = h @ W + b
            zs.append(z)
            if l < len(layers) - 1:
                h = np.maximum(z, 0.0)
        return zs

    def check_theta(self, theta: object, name: str = "theta") -> np.ndarray:
        """``theta`` as a float64 vector of this model's parameters, or a ValueError saying what is wrong."""
        theta = as_float_array(theta, name)
        if theta.shape != (self.n_params,):
            raise ValueError(
                f"{name} must be a flat vector of the {self.n_params} parameters of an MLP{self.sizes} "
                f"(make one with model.init()), got shape {theta.shape}"
            )
        return theta

    def _check_inputs(self, X: object) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.sizes[0] or len(X) == 0:
            raise ValueError(
                f"X must be a non-empty batch of shape (n, {self.sizes[0]}): one example of "
                f"{self.sizes[0]} features per row; got shape {X.shape}"
            )
        return X

    def _check_labels(self, y: object, n: int) -> np.ndarray:
        y = np.asarray(y)
        classes = self.sizes[-1]
        if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= classes:
            raise ValueError(
                f"y must hold one whole-number class label 0 … {classes - 1} per example ({n} of them), "
                f"got shape {y.shape} and dtype {y.dtype}"
            )
        return y


def _log_sum_exp(z: np.ndarray) -> np.ndarray:
    """log Σ_k exp(z[i, k]) for each row i, computed without overflow (the largest z is taken out first)."""
    z_max = z.max(axis=1)
    return z_max + np.log(np.exp(z - z_max[:, None]).sum(axis=1))
