"""The GMM split of pseudo-labeled samples into clean and noisy by their losses."""

from __future__ import annotations

import numpy as np
import pytest

from logsentry.adapt.noise import MIN_FIT_SAMPLES, NoiseSplit, split_clean
from logsentry.errors import ConfigError

CLEAN, FLIPPED = 400, 100


def synthetic_losses(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """400 correctly labeled samples with small losses, 100 flipped with large ones.

    The two overlap: 6-16% of the flipped losses (seeds 0-4) lie below the largest
    clean loss, so no threshold separates them perfectly.
    """
    rng = np.random.default_rng(seed)
    losses = np.concatenate([rng.gamma(1.5, 0.1, CLEAN), np.abs(rng.normal(1.5, 0.6, FLIPPED))])
    flipped = np.r_[np.zeros(CLEAN, dtype=bool), np.ones(FLIPPED, dtype=bool)]
    return losses, flipped


def precision_recall(found: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    hits = int(np.count_nonzero(found & truth))
    return hits / max(int(found.sum()), 1), hits / int(truth.sum())


@pytest.mark.parametrize("seed", range(5))
def test_flipped_labels_land_in_the_noisy_set(seed: int) -> None:
    # Measured on seeds 0-4: precision 0.907-0.960, recall 0.95-0.97.
    losses, flipped = synthetic_losses(seed)
    split = split_clean(losses)
    precision, recall = precision_recall(~split.clean, flipped)
    assert precision >= 0.88
    assert recall >= 0.93
    clean_mean, noisy_mean = split.means
    assert 0.1 < clean_mean < 0.2 and 1.2 < noisy_mean < 1.6  # true means 0.15 and ~1.5


def test_clean_probability_never_rises_with_the_loss() -> None:
    losses, _ = synthetic_losses(0)
    split = split_clean(losses)
    w = split.clean_probability[np.argsort(losses)]
    assert np.all(np.diff(w) <= 1e-12)
    assert w[0] > 0.99 and w[-1] < 0.01


def test_one_extreme_loss_does_not_take_a_component_for_itself() -> None:
    # Seed 13 of a lognormal scenario has one loss of 16.7 (the rest < 5.6); fitted
    # on raw losses it gets its own component and every other flipped sample stays clean.
    rng = np.random.default_rng(13)
    losses = np.r_[rng.lognormal(np.log(0.05), 1.0, CLEAN),
                   rng.lognormal(np.log(1.5), 0.6, FLIPPED)]
    assert losses.max() > 3 * np.sort(losses)[-2]
    flipped = np.arange(losses.size) >= CLEAN
    _precision, recall = precision_recall(~split_clean(losses).clean, flipped)
    assert recall >= 0.9


def test_split_is_reproducible_for_a_seed() -> None:
    losses, _ = synthetic_losses(1)
    a, b = split_clean(losses, seed=3), split_clean(losses, seed=3)
    assert np.array_equal(a.clean_probability, b.clean_probability)


def test_forced_clean_samples_are_never_filtered() -> None:
    losses, flipped = synthetic_losses(0)
    forced = np.zeros(losses.size, dtype=bool)
    forced[CLEAN : CLEAN + 20] = True  # the operator confirmed 20 high-loss labels
    split = split_clean(losses, forced_clean=forced)
    assert split.clean[forced].all()
    assert np.all(split.clean_probability[forced] == 1.0)
    # The other flipped samples are still found.
    _precision, recall = precision_recall(~split.clean, flipped & ~forced)
    assert recall >= 0.9
    assert split.noisy_count == int(np.count_nonzero(~split.clean))


def test_threshold_trades_clean_for_noisy() -> None:
    losses, _ = synthetic_losses(0)
    strict, lax = split_clean(losses, tau=0.9), split_clean(losses, tau=0.1)
    assert strict.noisy_count >= lax.noisy_count
    assert np.array_equal(strict.clean, strict.clean_probability >= 0.9)


def test_non_finite_losses_count_as_noisy_and_leave_the_fit_alone() -> None:
    losses, _ = synthetic_losses(0)
    bad = losses.copy()
    bad[[3, 7, 11]] = [np.nan, np.inf, -np.inf]
    split = split_clean(bad)
    assert not split.clean[[3, 7, 11]].any()
    assert np.all(split.clean_probability[[3, 7, 11]] == 0.0)
    assert np.all(np.isfinite(split.means))
    forced = np.zeros(bad.size, dtype=bool)
    forced[3] = True
    assert split_clean(bad, forced_clean=forced).clean[3]


@pytest.mark.parametrize(
    "losses",
    [
        np.array([]),
        np.array([0.3]),
        np.linspace(0.1, 2.0, MIN_FIT_SAMPLES - 1),
        np.full(500, 0.25),
        np.array([1.0, np.nan, np.nan]),
    ],
    ids=["empty", "one", "too-few", "all-equal", "one-finite"],
)
def test_nothing_to_separate_keeps_every_finite_sample(losses: np.ndarray) -> None:
    split = split_clean(losses)
    finite = np.isfinite(losses)
    assert isinstance(split, NoiseSplit)
    assert split.clean.shape == losses.shape
    assert split.clean[finite].all() and not split.clean[~finite].any()
    assert np.all(split.clean_probability[finite] == 1.0)


def test_two_distinct_values_split_without_crashing() -> None:
    losses = np.r_[np.zeros(400), np.full(100, 3.0)]
    split = split_clean(losses)
    assert split.clean[:400].all() and not split.clean[400:].any()


def test_a_lone_large_loss_among_equal_ones_is_noisy() -> None:
    split = split_clean(np.r_[np.zeros(400), 5.0])
    assert split.noisy_count == 1 and not split.clean[-1]


@pytest.mark.parametrize("tau", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_tau_outside_the_open_unit_interval_is_a_config_error(tau: float) -> None:
    with pytest.raises(ConfigError, match="strictly between 0 and 1"):
        split_clean(np.ones(10), tau=tau)


def test_mask_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        split_clean(np.ones(10), forced_clean=np.ones(9, dtype=bool))
    with pytest.raises(ValueError, match="bool"):
        split_clean(np.ones(10), forced_clean=np.ones(10))
