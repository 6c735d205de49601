"""Closed-form fitting of random-kernel models (`actrec.models.rocket`): no gradient steps.

1. biases from quantiles of training convolution outputs (inside each kernel bank);
2. features standardised on the training split;
3. ridge regression on one-vs-rest +-1 targets with the penalty picked by efficient
   leave-one-out cross-validation (scikit-learn's RidgeCV), class-balanced sample weights;
4. a softmax temperature fitted on the validation split by log-loss, so probabilities are
   calibrated and log-loss is honest (ridge scores are not probabilities);
5. the head refitted on train + validation with the chosen penalty and temperature, so no
   labelled sample is wasted; the validation probabilities returned come from step 4's model,
   which never saw them.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.linear_model import Ridge, RidgeCV

from actrec.models.rocket import RocketNet

DEFAULT_ALPHAS = np.logspace(-3, 3, 10)
BATCH = 64


@torch.no_grad()
def kernel_features(network: RocketNet, X: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Raw pooled features float64 `[N, n]` of featurised input `X [N, T, F]`, in batches."""
    out = []
    for start in range(0, len(X), BATCH):
        x = torch.from_numpy(np.ascontiguousarray(X[start : start + BATCH], dtype=np.float32))
        n = torch.from_numpy(np.asarray(lengths[start : start + BATCH], dtype=np.int64))
        out.append(network.raw_features(x, n).double().numpy())
    return np.concatenate(out)


def fit_scaling(raw: np.ndarray, sparse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale per feature; sparse (Hydra) features get the Hydra paper's epsilon."""
    mean = raw.mean(0)
    scale = raw.std(0)
    zero_share = (raw == 0).mean(0)
    scale = np.where(sparse, scale + zero_share**4 + 1e-8, np.where(scale > 1e-12, scale, 1.0))
    return mean, scale


def standardise(raw: np.ndarray, mean: np.ndarray, scale: np.ndarray, sparse: np.ndarray) -> np.ndarray:
    z = (raw - mean) / scale
    z[:, sparse] *= raw[:, sparse] != 0
    return z


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    per_class = np.zeros(n_classes)
    per_class[present] = counts[present].sum() / (present.sum() * counts[present])
    return per_class[y]


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """Softmax temperature (as a multiplier) minimising the mean log-loss of `scores [N, C]`."""

    def loss(log_t: float) -> float:
        return float(-log_softmax(scores * np.exp(log_t), axis=1)[np.arange(len(y)), y].mean())

    return float(np.exp(minimize_scalar(loss, bounds=(-6.0, 6.0), method="bounded").x))


def fit_kernel_model(network: RocketNet, train: tuple[np.ndarray, np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray, np.ndarray], n_classes: int, class_weight: str | None, seed: int) -> np.ndarray:
    """Fit `network` in place from featurised `(X, lengths, y)` splits; return the validation
    probabilities `[N_val, C]` of the model fitted on the training split alone."""
    generator = torch.Generator().manual_seed(seed)
    x_train = torch.from_numpy(np.ascontiguousarray(train[0], dtype=np.float32))
    len_train = torch.from_numpy(np.asarray(train[1], dtype=np.int64))
    representations = network._representations(x_train, len_train)
    for index, bank in enumerate(network.banks):
        bank.fit_biases(*representations[index], generator)
    sparse = network.sparse.numpy()
    raw_train = kernel_features(network, train[0], train[1])
    raw_val = kernel_features(network, validation[0], validation[1])
    y_train, y_val = np.asarray(train[2]), np.asarray(validation[2])
    weight = (lambda y: balanced_weights(y, n_classes)) if class_weight == "balanced" else (lambda y: None)
    targets = lambda y: np.where(np.eye(n_classes, dtype=bool)[y], 1.0, -1.0)  # noqa: E731

    mean, scale = fit_scaling(raw_train, sparse)
    alphas = np.asarray(network.config.alphas or DEFAULT_ALPHAS, dtype=np.float64)
    ridge = RidgeCV(alphas=alphas).fit(standardise(raw_train, mean, scale, sparse), targets(y_train), sample_weight=weight(y_train))
    val_scores = ridge.predict(standardise(raw_val, mean, scale, sparse))
    temperature = fit_temperature(val_scores, y_val) if len(y_val) else 1.0
    val_proba = np.exp(log_softmax(val_scores * temperature, axis=1))

    raw_all = np.concatenate([raw_train, raw_val])
    y_all = np.concatenate([y_train, y_val])
    mean, scale = fit_scaling(raw_all, sparse)
    final = Ridge(alpha=float(ridge.alpha_)).fit(standardise(raw_all, mean, scale, sparse), targets(y_all), sample_weight=weight(y_all))
    with torch.no_grad():
        network.mean.copy_(torch.from_numpy(mean))
        network.scale.copy_(torch.from_numpy(scale))
        network.head.weight.copy_(torch.from_numpy(final.coef_ * temperature))
        network.head.bias.copy_(torch.from_numpy(np.atleast_1d(final.intercept_) * temperature))
    network.fitted_summary = {"alpha": float(ridge.alpha_), "temperature": temperature, "features": int(raw_train.shape[1])}
    return val_proba.astype(np.float32)
