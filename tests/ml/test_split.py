from __future__ import annotations

import pytest

from logsentry.errors import ConfigError
from logsentry.ml.split import Split, verbatim_duplicates


def test_chronological_split_keeps_order() -> None:
    train, test = Split.parse("chrono:0.8").indices(10)
    assert train.tolist() == list(range(8)) and test.tolist() == [8, 9]


def test_random_split_is_seeded_and_disjoint() -> None:
    a = Split.parse("random:0.5,3").indices(20)
    b = Split.parse("random:0.5,3").indices(20)
    assert a[0].tolist() == b[0].tolist()
    assert not set(a[0]) & set(a[1]) and len(a[0]) + len(a[1]) == 20
    assert a[0].tolist() != list(range(10))


@pytest.mark.parametrize("bad", ["chrono:-0.1", "chrono:1.5", "random:x", "later:0.5", "chrono"])
def test_bad_split_specs(bad: str) -> None:
    with pytest.raises(ConfigError, match="--split"):
        Split.parse(bad)


def test_verbatim_duplicates() -> None:
    assert verbatim_duplicates([(1, 2), (3,)], [(1, 2), (2, 1), (3,)]) == 2


def test_validation_rows_are_the_end_of_each_data_set() -> None:
    import numpy as np

    from logsentry.ml.train import validation_rows

    fit, valid = validation_rows(30, np.array([0] * 20 + [1] * 10))
    assert valid.tolist() == [18, 19, 29]
    assert sorted(fit.tolist() + valid.tolist()) == list(range(30))
    fit, valid = validation_rows(10, None)
    assert valid.tolist() == [9]
