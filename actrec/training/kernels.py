"""Closed-form fitting of random-kernel models (`actrec.models.rocket`): no gradient steps.

1. biases from quantiles of training convolution outputs (inside each kernel bank);
2. features standardised on the training split;
3. ridge regression on one-vs-rest +-1 targets with the penalty picked by exact
   leave-one-out error (one eigendecomposition of the N x N Gram matrix serves every penalty:
   the features outnumber the samples), or by out-of-fold error over folds of whole groups
   when the samples come in groups (`grouped_penalty`), class-balanced sample weights;
4. a softmax temperature fitted on the validation split by log-loss, so probabilities are
   calibrated and log-loss is honest (ridge scores are not probabilities);
5. the head refitted on train + validation with the chosen penalty and temperature, so no
   labelled sample is wasted; the validation probabilities returned come from step 4's model,
   which never saw them.

Above `DUAL_MAX_SAMPLES` training samples the N x N Gram matrix is the problem (for 20,000
windows and 22,560 MultiRocket features: 3.2 GB and about 10^13 multiply-adds), so the head is a
multinomial logistic regression trained by minibatch Adam on float32 features with early
stopping on validation log-loss, as the MiniRocket authors do for large sets; step 4 applies
as above, and the head is not refitted (validation decided when to stop).

Memory stays flat as N grows (`feature_store.py`): input is read and featurised a batch at a
time, biases come from the 84 examples per dilation they are drawn from, and the logistic head's
features live in memory up to the model's `memory_mb` and in a temporary file beyond it, read
back in shuffled blocks of rows (`FeatureStore.shuffled`); the ridge head is only used up to
`DUAL_MAX_SAMPLES`, where its N x N matrices are bounded by that constant.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import scipy.linalg
import torch
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax

from actrec.models.rocket import KernelBank, RocketNet
from actrec.training.feature_store import FeatureBatches, FeatureStore, raw_batches

DEFAULT_ALPHAS = np.logspace(-3, 3, 10)  # MiniRocket's grid, searched by leave-one-out
# chosen by cross-validation over groups: overlapping windows want far stronger penalties (1e4
# on generated keypoint windows), which MiniRocket's grid never reaches; half-decade steps, since
# a decade apart the best penalty's neighbours lost 1 to 2 points (generated sensor windows: 1e3
# gave top-1 0.805, 1e4 0.783)
VALIDATION_ALPHAS = np.logspace(-3, 6, 19)
GROUP_FOLDS = 5  # folds of the training split's groups the penalty is chosen on (`grouped_penalty`)
DUAL_MAX_SAMPLES = 6000  # above this, the logistic head (see the module docstring)
LOGISTIC_BATCH = 256
LOGISTIC_MAX_EPOCHS = 100
LOGISTIC_PATIENCE = 5


def kernel_features(network: RocketNet, batches: FeatureBatches) -> np.ndarray:
    """Raw pooled features `[N, n]` float64, computed in batches and written into one
    preallocated array (the ridge head's; bounded by `DUAL_MAX_SAMPLES`)."""
    out = np.empty((len(batches), network.sparse.numel()))
    start = 0
    for raw in raw_batches(network, batches):
        out[start : start + len(raw)] = raw
        start += len(raw)
    return out


def fit_scaling(raw: np.ndarray, sparse: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale per feature (accumulated in float64)."""
    return scales(raw.mean(0, dtype=np.float64), raw.std(0, dtype=np.float64), (raw == 0).mean(0), sparse)


def scales(
    mean: np.ndarray, std: np.ndarray, zero_share: np.ndarray, sparse: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and scale from per-feature moments; sparse (Hydra) features get the Hydra paper's
    epsilon, constant features a scale of 1."""
    return mean, np.where(sparse, std + zero_share**4 + 1e-8, np.where(std > 1e-12, std, 1.0))


def standardise(raw: np.ndarray, mean: np.ndarray, scale: np.ndarray, sparse: np.ndarray) -> np.ndarray:
    """Standardised copy of `raw`, in `raw`'s dtype. In place after the first operation, and the
    sparse columns only when there are any: the logistic head standardises every minibatch, and
    this takes 7.7 ms where the two-temporaries form with a mask over all columns took 15 ms
    (256 rows of 10,000 features, fetching them included)."""
    z = raw - mean.astype(raw.dtype)
    z /= scale.astype(raw.dtype)
    if sparse.any():
        columns = np.flatnonzero(sparse)
        z[:, columns] *= raw[:, columns] != 0
    return z


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    per_class = np.zeros(n_classes)
    per_class[present] = counts[present].sum() / (present.sum() * counts[present])
    return per_class[y]


def fit_ridge(
    X: np.ndarray,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    alphas: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted ridge with intercept in its dual form: coefficients `[F, C]`, intercept `[C]`
    and the penalty with the least leave-one-out squared error (the only one when one is given).

    With `validation = (X_val, y_val)` the penalty is the one with the least validation log-loss
    (after a fitted temperature) instead (the fallback of `grouped_penalty` when the training
    split has a single group). Leave-one-out assumes independent samples; overlapping windows cut
    from one recording are near copies, so leaving one out still leaves its neighbours in, and
    LOO then picks too weak a penalty (on generated keypoint windows: top-1 0.835 with LOO against
    0.885 for a head stopped on a group-aware validation split).

    scikit-learn's Ridge solves the primal F x F system here when given sample weights, ~10x
    slower for 10,000+ features; the dual costs one N x N Gram matrix and its eigenvectors (a
    Cholesky factor when the penalty is given)."""
    weight = np.ones(len(X)) if sample_weight is None else sample_weight / sample_weight.mean()
    x_mean = weight @ X / weight.sum()
    y_mean = weight @ Y / weight.sum()
    root = np.sqrt(weight)[:, None]
    intercept_leverage = weight / weight.sum()
    Xc, Yc = root * (X - x_mean), root * (Y - y_mean)
    gram = Xc @ Xc.T
    if len(alphas) == 1:  # nothing to choose: one Cholesky solve, several times cheaper than eigh
        gram[np.diag_indices_from(gram)] += alphas[0]
        coef = Xc.T @ scipy.linalg.solve(gram, Yc, assume_a="pos", overwrite_a=True)
        return coef, y_mean - x_mean @ coef, float(alphas[0])
    eigenvalues, Q = np.linalg.eigh(gram)
    del gram
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    QtY = Q.T @ Yc
    if validation is not None:
        val_projection = ((validation[0] - x_mean) @ Xc.T) @ Q  # [N_val, N]: val scores for any penalty
    best_alpha, best_error = float(alphas[0]), np.inf
    for alpha in alphas:
        if validation is not None:
            scores = val_projection @ (QtY / (eigenvalues + alpha)[:, None]) + y_mean
            error = log_loss_at(scores, validation[1], fit_temperature(scores, validation[1]))
        else:
            shrink = eigenvalues / (eigenvalues + alpha)
            fitted = Q @ (shrink[:, None] * QtY)
            # the unpenalised intercept is part of the fit: its leverage w_i / sum(w) comes on top
            # (without it, a vanishing penalty looked like a perfect leave-one-out fit, and LOO
            # chose the weakest penalty: on Covid3Month_disc 1e-3 and top-1 0.54, where 1e3 gives 0.69)
            leverage = np.clip(intercept_leverage + (Q**2) @ shrink, None, 1 - 1e-9)
            error = float((((Yc - fitted) / (1 - leverage)[:, None]) ** 2).mean())
        if error < best_error:
            best_alpha, best_error = float(alpha), error
    coef = Xc.T @ (Q @ (QtY / (eigenvalues + best_alpha)[:, None]))
    return coef, y_mean - x_mean @ coef, best_alpha


def ridge_path(
    X: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None, X_eval: np.ndarray, alphas: np.ndarray
) -> list[np.ndarray]:
    """Scores `[N_eval, C]` of `X_eval` under the weighted ridge fitted on (X, Y) with each
    penalty in `alphas`: one eigendecomposition of the N x N Gram matrix serves them all."""
    weight = np.ones(len(X)) if sample_weight is None else sample_weight / sample_weight.mean()
    x_mean = weight @ X / weight.sum()
    y_mean = weight @ Y / weight.sum()
    root = np.sqrt(weight)[:, None]
    Xc, Yc = root * (X - x_mean), root * (Y - y_mean)
    eigenvalues, Q = np.linalg.eigh(Xc @ Xc.T)
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    QtY = Q.T @ Yc
    projection = ((X_eval - x_mean) @ Xc.T) @ Q
    return [projection @ (QtY / (eigenvalues + alpha)[:, None]) + y_mean for alpha in alphas]


def grouped_penalty(
    X: np.ndarray,
    y: np.ndarray,
    Y: np.ndarray,
    groups: np.ndarray,
    sample_weight: np.ndarray | None,
    alphas: np.ndarray,
    seed: int,
) -> tuple[float, list[tuple[float, float]]]:
    """The penalty with the least out-of-fold error over `GROUP_FOLDS` stratified folds of whole
    groups (ties: the least out-of-fold log-loss after a fitted temperature), and the search as
    `[(penalty, out-of-fold error), ...]`.

    Why not one validation split's log-loss (the rule before): log-loss rewards smooth scores and
    picked a penalty ten times stronger than the most accurate one on generated sensor windows
    (1e4, test top-1 0.783, where 1e3 gave 0.805), and one split of a few subjects is a noisy
    judge. Out-of-fold error over five folds of the training groups picked the most accurate
    penalty on generated sensor windows (1e3) and on generated keypoint windows (3e4: 0.919,
    the best 0.920; leave-one-out there picks 1e3: 0.879), and on the short sensor windows 3e3
    (0.781, the best; the validation log-loss 1e4: 0.777): bench/accuracy.py's three grouped
    sets, seed 0, the test top-1 of every penalty beside each rule's choice. Over 3 seeds
    (`python bench/accuracy.py --models auto --seeds 3`, 2026-12-03, load ~5) the grouped sets
    went from 0.914 / 0.788 / 0.777 (5 seeds, the validation log-loss) to 0.919 / 0.798 / 0.781
    (keypoint, sensor, short sensor windows); the sets without groups are unchanged. The folds
    cost an eigendecomposition of their Gram matrix each: fit CPU 45.7 s against 19.1 s on the
    keypoint windows, 12.9 s against 10.5 s on the sensor windows (about 2.8x aeon MiniRocket's)."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    weight = np.ones(len(y)) if sample_weight is None else sample_weight
    folds = StratifiedGroupKFold(min(GROUP_FOLDS, len(np.unique(groups))), shuffle=True, random_state=seed)
    out_of_fold = np.zeros((len(alphas), *Y.shape))
    with warnings.catch_warnings():  # a class in fewer groups than folds: sklearn warns, the folds still hold
        warnings.simplefilter("ignore", UserWarning)
        splits = list(folds.split(X, y, groups))
    for fit_rows, eval_rows in splits:
        fold_weight = None if sample_weight is None else sample_weight[fit_rows]
        for i, scores in enumerate(ridge_path(X[fit_rows], Y[fit_rows], fold_weight, X[eval_rows], alphas)):
            out_of_fold[i, eval_rows] = scores
    errors = [float(weight @ (scores.argmax(1) != y) / weight.sum()) for scores in out_of_fold]
    losses = [log_loss_at(scores, y, fit_temperature(scores, y)) for scores in out_of_fold]
    best = min(range(len(alphas)), key=lambda i: (errors[i], losses[i]))
    return float(alphas[best]), [(float(a), e) for a, e in zip(alphas, errors)]


def fit_logistic(
    train: FeatureStore,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    validation: FeatureStore,
    y_val: np.ndarray,
    n_classes: int,
    seed: int,
    scaling: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression by minibatch Adam on the stores' features, standardised
    per minibatch with `scaling = (mean, scale, sparse)`: coefficients `[F, C]` and intercept `[C]`
    of the epoch with the least validation log-loss (training stops after `LOGISTIC_PATIENCE`
    epochs without improvement; without validation samples, after `LOGISTIC_PATIENCE` epochs
    without a lower training loss). Only a minibatch of standardised features exists at a time."""
    generator = torch.Generator().manual_seed(seed)
    z = lambda rows: torch.from_numpy(standardise(rows, *scaling))
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64))
    weight = (
        torch.ones(len(y))
        if sample_weight is None
        else torch.from_numpy((sample_weight / sample_weight.mean()).astype(np.float32))
    )
    val_labels = torch.from_numpy(np.asarray(y_val, dtype=np.int64))
    head = torch.nn.Linear(train.width, n_classes)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    best, waited = np.inf, 0
    best_state = (np.zeros((train.width, n_classes)), np.zeros(n_classes))  # if no epoch ever scores
    for _ in range(LOGISTIC_MAX_EPOCHS):
        total = 0.0
        for rows_index, rows in train.shuffled(generator, LOGISTIC_BATCH):
            index = torch.from_numpy(rows_index)
            loss = (
                torch.nn.functional.cross_entropy(head(z(rows)), labels[index], reduction="none") * weight[index]
            ).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(index)
        with torch.no_grad():
            if len(val_labels):
                val_loss, start = 0.0, 0
                for rows in validation.chunks():
                    stop = start + len(rows)
                    val_loss += float(
                        torch.nn.functional.cross_entropy(head(z(rows)), val_labels[start:stop], reduction="sum")
                    )
                    start = stop
                score = val_loss / len(val_labels)
            else:
                score = total / len(labels)
        scheduler.step(score)
        if score < best - 1e-4:
            best, waited = score, 0
            best_state = (head.weight.detach().T.double().numpy().copy(), head.bias.detach().double().numpy().copy())
        else:
            waited += 1
            if waited >= LOGISTIC_PATIENCE:
                break
    return best_state


def log_loss_at(scores: np.ndarray, y: np.ndarray, temperature: float) -> float:
    """Mean log-loss of softmax(`scores [N, C]` x temperature) against labels `y`."""
    return float(-log_softmax(scores * temperature, axis=1)[np.arange(len(y)), y].mean())


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """Softmax temperature (as a multiplier) minimising the mean log-loss of `scores [N, C]`."""
    best = minimize_scalar(lambda log_t: log_loss_at(scores, y, np.exp(log_t)), bounds=(-6.0, 6.0), method="bounded")
    return float(np.exp(best.x))


@torch.no_grad()
def set_head(
    network: RocketNet, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: np.ndarray, temperature: float
) -> None:
    """Write the fitted scaling and the temperature-scaled linear head into the network's buffers."""
    network.mean.copy_(torch.from_numpy(mean))
    network.scale.copy_(torch.from_numpy(scale))
    network.head.weight.copy_(torch.from_numpy(coef.T * temperature))
    network.head.bias.copy_(torch.from_numpy(intercept * temperature))


def fit_kernel_model(
    network: RocketNet,
    train: FeatureBatches,
    y_train: np.ndarray,
    validation: FeatureBatches,
    y_val: np.ndarray,
    n_classes: int,
    class_weight: str | None,
    seed: int,
    groups: np.ndarray | None = None,
    feature_directory: str | None = None,
) -> np.ndarray:
    """Fit `network` in place from featurised splits (read a batch at a time) and their labels;
    return the validation probabilities `[N_val, C]` of the model fitted on the training split alone.

    groups: the training samples' groups (recordings their windows were cut from), when they have
    them: the ridge penalty is then chosen by cross-validation over whole groups rather than by
    leave-one-out (`grouped_penalty`).
    feature_directory: where features beyond the model's `memory_mb` are written (the system's
    temporary directory when None).

    NumPy's BLAS gets torch's thread count: left to itself, OpenBLAS spins as many threads as
    cores, and on a busy machine one 1400 x 1400 eigendecomposition took 19 s instead of 0.8 s."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=torch.get_num_threads(), user_api="blas"):
        fit_biases(network, train, torch.Generator().manual_seed(seed))
        y_train, y_val = np.asarray(y_train), np.asarray(y_val)
        weight = (lambda y: balanced_weights(y, n_classes)) if class_weight == "balanced" else (lambda y: None)
        if len(y_train) > DUAL_MAX_SAMPLES:
            return _fit_logistic_head(
                network, train, y_train, validation, y_val, n_classes, weight, seed, feature_directory
            )
        return _fit_ridge_head(network, train, y_train, validation, y_val, n_classes, weight, groups, seed)


def fit_biases(network: RocketNet, train: FeatureBatches, generator: torch.Generator) -> None:
    """Each kernel bank's biases from the training examples it draws: only those are read and
    turned into series, so this costs the same for 1,000 samples as for 1,000,000."""
    lengths = torch.from_numpy(train.lengths)
    steps = network.padded_steps(train.n_steps) - network.config.skip_steps
    for which, (bank, bank_lengths) in enumerate(
        zip(cast(list[KernelBank], list(network.banks)), network.representation_lengths(lengths))
    ):

        def series_of(index: torch.Tensor, which: int = which) -> torch.Tensor:
            x = torch.from_numpy(train.rows(index.numpy()))
            return network.representations(x, lengths[index])[which][0]

        bank.fit_biases(bank_lengths, steps - which, series_of, generator)


def _fit_ridge_head(
    network: RocketNet,
    train: FeatureBatches,
    y_train: np.ndarray,
    validation: FeatureBatches,
    y_val: np.ndarray,
    n_classes: int,
    weight: Any,
    groups: np.ndarray | None,
    seed: int,
) -> np.ndarray:
    """The small-set head (module docstring): dual ridge, temperature, refit on train + validation."""
    sparse = network.sparse.numpy()
    raw_train = kernel_features(network, train)
    raw_val = kernel_features(network, validation)
    targets = lambda y: np.where(np.eye(n_classes, dtype=bool)[y], 1.0, -1.0)

    mean, scale = fit_scaling(raw_train, sparse)
    z_train, z_val = standardise(raw_train, mean, scale, sparse), standardise(raw_val, mean, scale, sparse)
    alphas = np.asarray(
        network.config.alphas or (DEFAULT_ALPHAS if groups is None else VALIDATION_ALPHAS), dtype=np.float64
    )
    search = None
    if groups is not None and len(np.unique(groups)) > 1 and len(alphas) > 1:
        alpha, search = grouped_penalty(z_train, y_train, targets(y_train), groups, weight(y_train), alphas, seed)
        alphas = np.array([alpha])
    on_validation = (z_val, y_val) if groups is not None and len(y_val) else None
    coef, intercept, alpha = fit_ridge(z_train, targets(y_train), weight(y_train), alphas, on_validation)
    val_scores = z_val @ coef + intercept
    temperature = fit_temperature(val_scores, y_val) if len(y_val) else 1.0
    val_proba = np.exp(log_softmax(val_scores * temperature, axis=1))

    raw_all = np.concatenate([raw_train, raw_val])
    y_all = np.concatenate([y_train, y_val])
    mean, scale = fit_scaling(raw_all, sparse)
    coef, intercept, _ = fit_ridge(
        standardise(raw_all, mean, scale, sparse), targets(y_all), weight(y_all), np.array([alpha])
    )
    set_head(network, mean, scale, coef, intercept, temperature)
    network.fitted_summary = {
        "head": "ridge",
        "alpha": alpha,
        "temperature": temperature,
        "features": int(raw_train.shape[1]),
    } | ({"penalty_search": search} if search else {})
    return val_proba.astype(np.float32)


def _fit_logistic_head(
    network: RocketNet,
    train: FeatureBatches,
    y_train: np.ndarray,
    validation: FeatureBatches,
    y_val: np.ndarray,
    n_classes: int,
    weight: Any,
    seed: int,
    directory: str | None,
) -> np.ndarray:
    """The large-set head (module docstring): features computed once into bounded stores (the
    validation split's first, since every epoch reads all of it), logistic regression, temperature."""
    sparse = network.sparse.numpy()
    budget = int(network.config.memory_mb) * 2**20
    with (
        FeatureStore(network, validation, budget, directory) as val_store,
        FeatureStore(network, train, budget - val_store.memory_bytes, directory) as train_store,
    ):
        moments = train_store.moments
        mean, scale = scales(moments.mean, moments.std, moments.zero_share, sparse)
        coef, intercept = fit_logistic(
            train_store, y_train, weight(y_train), val_store, y_val, n_classes, seed, (mean, scale, sparse)
        )
        val_scores = np.concatenate(
            [
                standardise(rows, mean, scale, sparse).astype(np.float64) @ coef + intercept
                for rows in val_store.chunks()
            ]
            or [np.zeros((0, n_classes))]
        )
        in_memory = train_store.in_memory and val_store.in_memory
    temperature = fit_temperature(val_scores, y_val) if len(y_val) else 1.0
    set_head(network, mean, scale, coef, intercept, temperature)
    network.fitted_summary = {
        "head": "logistic",
        "temperature": temperature,
        "features": int(len(mean)),
        "features_in_memory": in_memory,
    }
    return np.exp(log_softmax(val_scores * temperature, axis=1)).astype(np.float32)
