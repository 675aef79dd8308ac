from __future__ import annotations

from pathlib import Path

import pytest

from logsentry.embed import ensure_encoder


@pytest.fixture(scope="session")
def encoder_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir with the encoder exported once for the whole test session (~10 s)."""
    cache = tmp_path_factory.mktemp("embed-cache")
    ensure_encoder(cache)
    return cache
