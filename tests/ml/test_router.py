from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from logsentry.errors import ModelError
from logsentry.ml.features import DIM, sequence_arrays
from logsentry.ml.router import (
    RouterConfig,
    RouterScorer,
    export_router,
    torch_errors,
    train_router,
)


def _vectors(templates: list[str]) -> np.ndarray:
    rng = np.random.default_rng(abs(hash(tuple(templates))) % 2**32)
    return rng.normal(size=(len(templates), DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    rng = np.random.default_rng(0)
    mean = (rng.normal(size=(600, DIM)) * 0.1 + rng.normal(size=DIM)).astype(np.float32)
    config = RouterConfig(epochs=3, seed=1)
    model, threshold = train_router(mean, config)
    path = tmp_path_factory.mktemp("router") / "router.onnx"
    export_router(model, path)
    return model, threshold, path, mean, config


def test_onnx_matches_torch_within_1e5(trained):
    model, threshold, path, mean, _ = trained
    scorer = RouterScorer(path, threshold, [])
    for batch in (mean[:1], mean[:257]):  # dynamic batch size
        np.testing.assert_allclose(scorer.errors(batch), torch_errors(model, batch), atol=1e-5)


def test_threshold_is_the_configured_quantile_of_training_errors(trained):
    model, threshold, _, mean, config = trained
    expected = float(np.quantile(torch_errors(model, mean), config.quantile))
    assert threshold == pytest.approx(expected, rel=1e-5)
    assert np.mean(torch_errors(model, mean) > threshold) == pytest.approx(0.01, abs=0.005)


def test_unseen_template_makes_a_sequence_evolved_even_with_low_error(trained):
    _, _, path, _, _ = trained
    arrays = sequence_arrays([["a", "b"], ["a", "new", "new"], ["b"]], _vectors)
    scorer = RouterScorer(path, float("inf"), known_templates=["a", "b"])  # error never decides
    evolved, errors, unseen = scorer.route(arrays)
    assert unseen.tolist() == [0, 2, 0]
    assert evolved.tolist() == [False, True, False]
    assert errors.shape == (3,)


def test_high_error_makes_a_sequence_evolved(trained):
    _, threshold, path, mean, _ = trained
    scorer = RouterScorer(path, threshold, [])
    far = (mean[:2] + 50.0).astype(np.float32)
    assert (scorer.errors(far) > threshold).all()


def test_missing_or_corrupt_onnx_is_a_model_error(tmp_path: Path):
    with pytest.raises(ModelError, match="not found"):
        RouterScorer(tmp_path / "nope.onnx", 1.0, [])
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not onnx")
    with pytest.raises(ModelError, match="not a valid ONNX model") as info:
        RouterScorer(bad, 1.0, [])
    assert "\n" not in str(info.value)
