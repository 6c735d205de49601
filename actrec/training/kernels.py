"""Closed-form fitting of random-kernel models (`actrec.models.rocket`): no gradient steps.

1. biases from quantiles of training convolution outputs (inside each kernel bank);
2. features standardised on the training split;
3. ridge regression on one-vs-rest +-1 targets with the penalty picked by exact
   leave-one-out error (one eigendecomposition of the N x N Gram matrix serves every penalty:
   the features outnumber the samples), class-balanced sample weights;
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


def fit_ridge(X: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None, alphas: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted ridge with intercept in its dual form: coefficients `[F, C]`, intercept `[C]`
    and the penalty with the least leave-one-out squared error (the only one when one is given).

    scikit-learn's Ridge solves the primal F x F system here when given sample weights, ~10x
    slower for 10,000+ features; the dual costs one N x N Gram matrix and its eigenvectors."""
    weight = np.ones(len(X)) if sample_weight is None else sample_weight / sample_weight.mean()
    x_mean = weight @ X / weight.sum()
    y_mean = weight @ Y / weight.sum()
    root = np.sqrt(weight)[:, None]
    Xc, Yc = root * (X - x_mean), root * (Y - y_mean)
    eigenvalues, Q = np.linalg.eigh(Xc @ Xc.T)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    QtY = Q.T @ Yc
    best_alpha, best_error = float(alphas[0]), np.inf
    if len(alphas) > 1:
        for alpha in alphas:
            shrink = eigenvalues / (eigenvalues + alpha)
            fitted = Q @ (shrink[:, None] * QtY)
            leverage = np.clip((Q**2) @ shrink, None, 1 - 1e-9)
            error = float((((Yc - fitted) / (1 - leverage)[:, None]) ** 2).mean())
            if error < best_error:
                best_alpha, best_error = float(alpha), error
    coef = Xc.T @ (Q @ (QtY / (eigenvalues + best_alpha)[:, None]))
    return coef, y_mean - x_mean @ coef, best_alpha


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """Softmax temperature (as a multiplier) minimising the mean log-loss of `scores [N, C]`."""

    def loss(log_t: float) -> float:
        return float(-log_softmax(scores * np.exp(log_t), axis=1)[np.arange(len(y)), y].mean())

    return float(np.exp(minimize_scalar(loss, bounds=(-6.0, 6.0), method="bounded").x))


def fit_kernel_model(network: RocketNet, train: tuple[np.ndarray, np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray, np.ndarray], n_classes: int, class_weight: str | None, seed: int) -> np.ndarray:
    """Fit `network` in place from featurised `(X, lengths, y)` splits; return the validation
    probabilities `[N_val, C]` of the model fitted on the training split alone.

    NumPy's BLAS gets torch's thread count: left to itself, OpenBLAS spins as many threads as
    cores, and on a busy machine one 1400 x 1400 eigendecomposition took 19 s instead of 0.8 s."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=torch.get_num_threads(), user_api="blas"):
        return _fit_kernel_model(network, train, validation, n_classes, class_weight, seed)


def _fit_kernel_model(network: RocketNet, train: tuple[np.ndarray, np.ndarray, np.ndarray], validation: tuple[np.ndarray, np.ndarray, np.ndarray], n_classes: int, class_weight: str | None, seed: int) -> np.ndarray:
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
    coef, intercept, alpha = fit_ridge(standardise(raw_train, mean, scale, sparse), targets(y_train), weight(y_train), alphas)
    val_scores = standardise(raw_val, mean, scale, sparse) @ coef + intercept
    temperature = fit_temperature(val_scores, y_val) if len(y_val) else 1.0
    val_proba = np.exp(log_softmax(val_scores * temperature, axis=1))

    raw_all = np.concatenate([raw_train, raw_val])
    y_all = np.concatenate([y_train, y_val])
    mean, scale = fit_scaling(raw_all, sparse)
    coef, intercept, _ = fit_ridge(standardise(raw_all, mean, scale, sparse), targets(y_all), weight(y_all), np.array([alpha]))
    with torch.no_grad():
        network.mean.copy_(torch.from_numpy(mean))
        network.scale.copy_(torch.from_numpy(scale))
        network.head.weight.copy_(torch.from_numpy(coef.T * temperature))
        network.head.bias.copy_(torch.from_numpy(intercept * temperature))
    network.fitted_summary = {"alpha": alpha, "temperature": temperature, "features": int(raw_train.shape[1])}
    return val_proba.astype(np.float32)
