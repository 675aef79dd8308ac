"""Shared fixtures: an isolated LOGSENTRY_HOME for every test, and the shared data.

Tests that need ../shared/data use the ``shared_data`` fixture (or
``data_path()``): they skip with a reason when it is absent, unless
``LOGSENTRY_REQUIRE_DATA=1`` (set by .ci/run), which turns the skip into a failure.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.datasets import DataMissing, data_dir


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    home = tmp_path_factory.mktemp("lshome")
    monkeypatch.setenv("LOGSENTRY_HOME", str(home))
    monkeypatch.delenv("LOGSENTRY_CONFIG", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name in list(os.environ):
        if name.startswith("LOGSENTRY_") and name not in {"LOGSENTRY_HOME", "LOGSENTRY_DATA",
                                                          "LOGSENTRY_REQUIRE_DATA"}:
            monkeypatch.delenv(name)
    # The LLM tier is off unless a test turns it on (tests/llm, the scan LLM tests):
    # a scan with it on spends seconds per escalated sequence.
    monkeypatch.setenv("LOGSENTRY_LLM", "0")
    return home


@pytest.fixture(scope="session")
def encoder_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir with the sentence encoder exported once for the whole run (~10 s)."""
    from logsentry.embed import ensure_encoder

    cache = tmp_path_factory.mktemp("encoder-cache")
    ensure_encoder(cache)
    return cache


@pytest.fixture(scope="session")
def shared_data() -> Path:
    try:
        return data_dir()
    except DataMissing as exc:
        if os.environ.get("LOGSENTRY_REQUIRE_DATA") == "1":
            pytest.fail(f"shared data required (LOGSENTRY_REQUIRE_DATA=1) but {exc}")
        pytest.skip(str(exc))
