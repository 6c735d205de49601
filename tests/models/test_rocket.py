"""Random-kernel models: the pooling definitions, valid convolutions only, a learned and calibrated
head, the default `auto`, and agreement with aeon's MiniRocket (the reference)."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from actrec.data.dataset import SequenceDataset, as_dataset
from actrec.errors import ConfigError
from actrec.evaluation.metrics import compute_metrics
from actrec.models import build_model
from actrec.models.rocket import (
    INPUT_GRID,
    LEVEL_KERNELS,
    N_KERNELS,
    UNIVARIATE_LEVEL_KERNELS,
    KernelBank,
    MultiRocketConfig,
    RocketConfig,
    binned_pool,
    fit_dilations,
    input_grid,
    longest_run,
    on_input_grid,
    pool,
)
from actrec.recognizers import Recognizer
from actrec.training import kernels
from tests.helpers.waves import make_waves

SMALL = {
    "minirocket": {"num_features": 840},
    "multirocket": {"num_features": 420, "hydra_groups": 8},
}


def reference_pools(
    conv: np.ndarray, bias: float, mask: np.ndarray, first_centre: int
) -> tuple[float, float, float, float]:
    """PPV, MPV, MIPV and LSPV of one convolution output, written from the papers' definitions
    (MIPV: the mean centre step of the positive outputs, output t centred on first_centre + t)."""
    steps = [t for t in range(len(conv)) if mask[t]]
    positive = [t for t in steps if conv[t] > bias]
    ppv = len(positive) / len(steps)
    mpv = sum(conv[t] - bias for t in positive) / len(positive) if positive else 0.0
    mipv = sum(first_centre + t for t in positive) / len(positive) if positive else -1.0
    longest = run = 0
    for t in range(len(conv)):
        run = run + 1 if (mask[t] and conv[t] > bias) else 0
        longest = max(longest, run)
    return ppv, mpv, mipv, float(longest)


def test_pooling_matches_the_definitions_step_by_step():
    rng = np.random.default_rng(0)
    conv = torch.from_numpy(rng.normal(size=(3, 84, 20)))
    bias = torch.from_numpy(rng.normal(scale=0.5, size=(84, 2)))
    mask = torch.arange(20)[None, :] < torch.tensor([[20], [13], [7]])
    got = pool(conv, bias, mask, ["ppv", "mpv", "mipv", "lspv"], first_centre=8)
    for b, k, j in [(0, 0, 0), (1, 5, 1), (2, 83, 0), (2, 40, 1)]:
        expected = reference_pools(conv[b, k].numpy(), float(bias[k, j]), mask[b].numpy(), 8)
        assert [float(values[b, k, j]) for values in got] == pytest.approx(expected, abs=1e-5)


def test_binned_pooling_gives_exactly_the_numbers_of_the_comparison_pooling():
    """On the input grid (outputs and biases multiples of 2^-8), with ties between outputs and
    biases, repeated biases and ragged masks: the same float64 values, not merely close ones."""
    generator = torch.Generator().manual_seed(3)
    conv = (torch.randint(-300, 300, (5, 84, 40), generator=generator) / 256.0).float()
    bias = (torch.randint(-100, 100, (84, 17), generator=generator) / 256.0).float()
    bias[:, 1] = bias[:, 0]
    conv[:, :, 3] = bias[None, :, 2]
    mask = torch.arange(40)[None, :] < torch.tensor([[40], [31], [9], [1], [0]])
    pools = ["ppv", "mpv", "mipv"]
    for binned, compared in zip(binned_pool(conv, bias, mask, pools, 12), pool(conv, bias, mask, pools, 12)):
        assert binned.dtype == torch.float64 and torch.equal(binned, compared)


def test_longest_run_in_export_mode_gives_the_same_integers(monkeypatch):
    positive = (torch.rand(4, 6, 37, generator=torch.Generator().manual_seed(1)) > 0.4).float()
    eager = longest_run(positive)
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: True)
    assert torch.equal(longest_run(positive), eager)
    assert (
        torch.equal(longest_run(torch.ones(1, 5)), torch.tensor([5.0])) and float(longest_run(torch.zeros(1, 5))) == 0
    )


def test_dilations_spread_up_to_the_length_and_share_the_features():
    dilations, counts = fit_dilations(150, 119, 32)
    assert dilations[0] == 1 and dilations[-1] * 8 <= 149 and sum(counts) == 119
    assert fit_dilations(5, 4, 32) == ([1], [4])  # shorter than a kernel: dilation 1 only


def test_kernels_reach_half_a_long_window_and_the_whole_of_a_short_one():
    # valid outputs of the widest kernel: at least half of a long window
    long_dilations, _ = fit_dilations(1460, 119, 32, reach=0.5)
    assert 1460 - 8 * long_dilations[-1] >= 730 and 8 * long_dilations[-1] > 1460 // 4
    assert fit_dilations(30, 119, 32, reach=0.5) == fit_dilations(30, 119, 32)
    assert 8 * fit_dilations(100, 119, 32, reach=0.5)[0][-1] <= 64 < 8 * fit_dilations(100, 119, 32)[0][-1]


@pytest.mark.parametrize("name", list(SMALL))
def test_extra_padding_never_changes_a_sample(name):
    data = make_waves(n=24, steps=30, ragged=True, seed=3)
    recognizer = Recognizer(name, model_options=SMALL[name], seed=0).fit(data)
    X, lengths = data.X, data.lengths
    padded = np.concatenate([X, np.full((len(X), 9, X.shape[2]), 0.0, np.float32)], axis=1)
    np.testing.assert_allclose(
        recognizer.predict_proba(padded, lengths), recognizer.predict_proba(X, lengths), atol=1e-6
    )


@pytest.mark.parametrize("name", list(SMALL))
@pytest.mark.parametrize("head", ["ridge", "logistic"])
def test_kernel_models_learn_in_closed_form_with_calibrated_probabilities(name, head, monkeypatch):
    # the logistic head is what sets larger than DUAL_MAX_SAMPLES get; forced here on a small one
    monkeypatch.setattr(kernels, "DUAL_MAX_SAMPLES", 10_000 if head == "ridge" else 10)
    train, test = make_waves(n=90, seed=0), make_waves(n=60, seed=1)
    recognizer = Recognizer(name, model_options=SMALL[name], seed=0).fit(train)
    assert recognizer.network.fitted_summary["head"] == head
    proba = recognizer.predict_proba(test)
    metrics = compute_metrics(test.y, proba, recognizer.label_names)
    assert metrics["top1"] > 0.9
    np.testing.assert_allclose(proba.sum(1), 1.0, atol=1e-5)
    # a temperature-scaled head: probabilities are graded, not one-hot votes
    assert 0.05 < np.median(proba.max(1)) < 0.999 or metrics["log_loss"] < 0.3
    # one history row kept: the chosen penalty (a grouped penalty search adds a row per penalty tried)
    assert recognizer.history["chosen"].sum() == 1 and recognizer.validation_proba_ is not None
    assert recognizer.network.head.weight.abs().sum() > 0


def level_classes(n: int, seed: int) -> SequenceDataset:
    """Two classes with the same random walks, one of them lifted by a constant on channel 0 (a wrist
    held up or down): only a channel's level tells them apart."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = np.cumsum(rng.normal(scale=0.2, size=(n, 40, 3)), axis=1) + rng.normal(size=(n, 1, 3))
    X[:, :, 0] += np.where(y == 1, 2.5, -2.5)[:, None]
    return as_dataset(X.astype(np.float32), y)


def test_level_kernels_see_a_channel_level_that_minirocket_kernels_cannot():
    train, test = level_classes(80, 0), level_classes(80, 1)
    top1 = {}
    for levels in (0, LEVEL_KERNELS):
        recognizer = Recognizer("minirocket", model_options={"num_features": 840, "level_kernels": levels}, seed=0).fit(
            train
        )
        top1[levels] = float((recognizer.predict_proba(test.X).argmax(1) == test.y).mean())
    # weights that sum to zero give the same outputs for both classes: chance
    assert top1[0] < 0.7 and top1[LEVEL_KERNELS] > 0.85, top1


@pytest.mark.parametrize("channels, expected", [(1, UNIVARIATE_LEVEL_KERNELS), (3, LEVEL_KERNELS)])
def test_a_new_fit_takes_fewer_level_kernels_on_one_channel(channels, expected):
    train = level_classes(40, 0)
    train = as_dataset(np.ascontiguousarray(train.X[:, :, :channels]), train.y)
    recognizer = Recognizer("minirocket", model_options={"num_features": 840}, seed=0).fit(train)
    assert recognizer.network.config.level_kernels == expected
    assert recognizer.config.model_options["level_kernels"] == expected  # saved with the model


@pytest.mark.parametrize("channels, signed", [(1, False), (6, True), (9, True), (12, False)])
def test_level_kernels_subtract_channels_only_when_a_mix_can_hold_a_sensors_axes(channels, signed):
    config = RocketConfig(num_features=840, input_length=40, level_kernels=8)
    bank = build_model("minirocket", channels, 3, vars(config)).banks[0]
    combination = bank.get_buffer("combination_0")
    minirocket, level = combination[:N_KERNELS], combination[N_KERNELS:]
    assert (minirocket >= 0).all()  # MiniRocket's kernels sum their channels, as aeon's do
    assert bool((level < 0).any()) == signed
    assert (level[::2] >= 0).all()  # every other level kernel still sums all its channels


@pytest.mark.parametrize("channels, differences", [(1, False), (6, False), (12, False), (1, True)])
def test_the_fine_input_grid_keeps_every_convolution_output_exact_in_float32(channels, differences):
    config = RocketConfig(num_features=168, input_length=40, fine_grid=True, differences=differences, level_kernels=1)
    grid = input_grid(channels, config)
    assert grid > INPUT_GRID  # finer than older files' 2^-8 grid
    bank = KernelBank(channels, 40, config, torch.Generator().manual_seed(0), level_kernels=1, grid=grid)
    # the largest inputs, with signs that make kernels' outputs as large as they get, plus fine detail
    rng = np.random.default_rng(0)
    limit = 64.0 if differences else 32.0
    extreme = np.where(rng.random((4, channels, 40)) < 0.5, -limit, limit)
    series = torch.from_numpy(extreme - np.sign(extreme) * rng.integers(0, 8, extreme.shape) / grid)
    series[:2] = on_input_grid(torch.from_numpy(rng.normal(scale=8.0, size=(2, channels, 40))), grid)
    for i, d in enumerate(bank.dilations):
        weight = bank.weights[:, None, :] * bank.get_buffer(f"combination_{i}")[:, :, None]
        exact = torch.nn.functional.conv1d(series.double(), weight.double(), dilation=d)
        assert torch.equal(bank.convolve(series.float(), i).double(), exact)
        # and an output minus a bias on the grid (MPV's excess) too
        bias = torch.round(exact.flip(-1) * grid) / grid
        assert torch.equal((exact.float() - bias.float()).double(), exact - bias)
    # Hydra's responses need the coarse grid, as do files from before the fine one
    assert input_grid(channels, MultiRocketConfig(input_length=40, fine_grid=True)) == INPUT_GRID
    assert input_grid(channels, RocketConfig(input_length=40)) == INPUT_GRID


def test_ridge_with_a_given_penalty_solves_the_same_system_as_the_penalty_search():
    rng = np.random.default_rng(0)
    X, Y, weight = rng.normal(size=(40, 200)), np.sign(rng.normal(size=(40, 3))), rng.uniform(0.5, 2.0, 40)
    searched, intercept, alpha = kernels.fit_ridge(X, Y, weight, np.array([0.1, 0.7, 5.0]))
    given, given_intercept, _ = kernels.fit_ridge(X, Y, weight, np.array([alpha]))
    np.testing.assert_allclose(given, searched, atol=1e-10)
    np.testing.assert_allclose(given_intercept, intercept, atol=1e-10)
    # and it is the weighted ridge solution: the gradient of the penalised loss vanishes
    mean = weight @ X / weight.sum()
    residual = (Y - weight @ Y / weight.sum()) - (X - mean) @ given
    gradient = -(X - mean).T @ (weight[:, None] * residual) / weight.mean() + alpha * given
    assert np.abs(gradient).max() < 1e-8


@pytest.mark.parametrize("signal", [0.0, 0.3, 3.0])
def test_leave_one_out_picks_the_penalty_scikit_learn_picks(signal: float):
    """More features than samples (every kernel fit): the intercept's leverage counts, or a vanishing
    penalty looks like a perfect leave-one-out fit."""
    from sklearn.linear_model import RidgeCV

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 400))
    Y = np.sign(signal * X[:, :3] + rng.normal(size=(60, 3)))
    alphas = kernels.DEFAULT_ALPHAS
    _, _, alpha = kernels.fit_ridge(X, Y, None, alphas)
    assert alpha == pytest.approx(RidgeCV(alphas=alphas).fit(X, Y).alpha_)


def test_with_groups_the_penalty_is_the_one_with_the_least_validation_log_loss():
    # near copies inside each group (overlapping windows): leave-one-out would see its neighbours
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(16), 8)
    y = np.repeat(np.arange(16) % 3, 8)
    patterns = rng.normal(size=(3, 300))
    X = 2.0 * rng.normal(size=(16, 300))[groups] + 0.05 * rng.normal(size=(128, 300)) + 0.5 * patterns[y]
    train, val = groups < 10, groups >= 10
    Y = np.where(np.eye(3, dtype=bool)[y], 1.0, -1.0)
    alphas = np.logspace(-3, 6, 10)
    _, _, chosen = kernels.fit_ridge(X[train], Y[train], None, alphas, (X[val], y[val]))

    def validation_loss(alpha: float) -> float:
        coef, intercept, _ = kernels.fit_ridge(X[train], Y[train], None, np.array([alpha]))
        scores = X[val] @ coef + intercept
        return kernels.log_loss_at(scores, y[val], kernels.fit_temperature(scores, y[val]))

    losses = [validation_loss(alpha) for alpha in alphas]
    assert chosen == alphas[int(np.argmin(losses))]
    _, _, by_loo = kernels.fit_ridge(X[train], Y[train], None, alphas)
    assert validation_loss(chosen) < validation_loss(by_loo)


def test_with_groups_the_penalty_is_the_one_with_the_least_error_on_folds_of_whole_groups():
    # groups of near copies (overlapping windows of one recording) whose labels carry no pattern:
    # a fold that split a group would find each sample's copy and score near 0 error
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(30), 6)
    y = np.repeat(np.arange(30) % 3, 6)
    X = rng.normal(size=(30, 300))[groups] + 0.01 * rng.normal(size=(180, 300))
    Y = np.where(np.eye(3, dtype=bool)[y], 1.0, -1.0)
    alphas = kernels.VALIDATION_ALPHAS
    chosen, search = kernels.grouped_penalty(X, y, Y, groups, None, alphas, 0)
    assert [penalty for penalty, _ in search] == list(alphas)
    errors = dict(search)
    assert errors[chosen] == min(errors.values())
    assert min(errors.values()) > 0.3, errors  # about chance (2/3): no group was seen from both sides
    # the same rows without their groups: leave-one-out sees the copies
    _, _, by_loo = kernels.fit_ridge(X, Y, None, alphas)
    coef, intercept, _ = kernels.fit_ridge(X[1:], Y[1:], None, np.array([by_loo]))
    assert (X[:1] @ coef + intercept).argmax(1)[0] == y[0]


def test_same_seed_same_model_other_seed_other_kernels():
    data = make_waves(n=30, seed=0)
    first, again = (Recognizer("minirocket", model_options=SMALL["minirocket"], seed=4).fit(data) for _ in range(2))
    other = Recognizer("minirocket", model_options=SMALL["minirocket"], seed=5).fit(data)
    assert torch.equal(first.network.banks[0].bias_0, again.network.banks[0].bias_0)
    assert not torch.equal(first.network.banks[0].combination_0, other.network.banks[0].combination_0)


def test_kernel_options_are_checked_before_any_work():
    with pytest.raises(ConfigError, match="unknown pooling"):
        _ = Recognizer("multirocket", model_options={"pooling": "ppv,maxx"}).config  # checked when read, or by fit
    with pytest.raises(ConfigError, match="has no option 'kernels'"):
        _ = Recognizer("minirocket", model_options={"kernels": 3}).config
    with pytest.raises(ConfigError, match="input_length"):
        build_model("minirocket", 3, 2, {})


LOAD_IN_FRESH_PROCESS = textwrap.dedent(
    """
    import sys
    import numpy as np
    from actrec.recognizers import Recognizer
    data = np.load(sys.argv[2])
    np.save(sys.argv[3], Recognizer.load(sys.argv[1]).predict_proba(data["X"], data["lengths"]))
    """
)


def test_auto_ensemble_saves_as_one_file_and_reloads_identically_in_a_fresh_process(tmp_path):
    train, test = make_waves(n=60, seed=0, ragged=True), make_waves(n=20, seed=1, ragged=True)
    recognizer = Recognizer("auto", seed=0).fit(train)
    members = [m["model"] for m in recognizer.config.model_options["members"]]
    assert members == ["minirocket"] and recognizer.config.model_options["weights"] == [1.0]
    assert "streams frame by frame" in recognizer.notes[0]
    path = recognizer.save(tmp_path / "model.actrec")
    assert [p.name for p in tmp_path.iterdir()] == ["model.actrec"]
    np.savez(tmp_path / "test.npz", X=test.X, lengths=test.lengths)
    subprocess.run(
        [sys.executable, "-c", LOAD_IN_FRESH_PROCESS, str(path), str(tmp_path / "test.npz"), str(tmp_path / "p.npy")],
        check=True,
    )
    np.testing.assert_array_equal(np.load(tmp_path / "p.npy"), recognizer.predict_proba(test))


def test_auto_fits_the_same_weights_when_the_clock_runs_ten_times_faster(monkeypatch):
    """The default decides nothing from elapsed time: a machine ten times busier (every clock
    reading ten times further on) gets the same model."""
    import time

    data = make_waves(n=40, seed=0, ragged=True)
    straight = Recognizer("auto", seed=0).fit(data)
    for name in ("perf_counter", "monotonic", "time"):
        real = getattr(time, name)
        origin = real()
        monkeypatch.setattr(time, name, lambda real=real, origin=origin: origin + 10 * (real() - origin))
    hurried = Recognizer("auto", seed=0).fit(data)
    monkeypatch.undo()
    for key, value in straight.network.state_dict().items():
        assert torch.equal(value, hurried.network.state_dict()[key]), key
    assert hurried.notes == straight.notes and not hurried.cut_by_time_budget_


def test_accuracy_within_noise_of_aeon_minirocket_on_shipped_datasets():
    pytest.importorskip("aeon", reason="aeon (the tests' extra) is the reference implementation")
    from aeon.classification.convolution_based import MiniRocketClassifier

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    from accuracy import as_series_list, load_split

    torch.set_num_threads(1)
    for name in ("BasicMotions", "GunPoint"):
        train, test = load_split(name)
        ours = [
            np.mean(Recognizer("minirocket", seed=s).fit(train).predict_proba(test).argmax(1) == test.y)
            for s in range(2)
        ]
        theirs = [
            np.mean(
                MiniRocketClassifier(random_state=s)
                .fit(np.stack(as_series_list(train)), train.y)
                .predict(np.stack(as_series_list(test)))
                == test.y
            )
            for s in range(2)
        ]
        # within noise: 2 test samples or 2 points, whichever is more
        assert np.mean(ours) >= np.mean(theirs) - max(2 / test.n_samples, 0.02), (name, ours, theirs)
