"""The one place that finds the shared, labeled log data (never copied into the repo).

``$LOGSENTRY_DATA`` if set, else ``../shared/data`` next to the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class DataMissing(Exception):
    pass


def data_dir() -> Path:
    explicit = os.environ.get("LOGSENTRY_DATA")
    candidates = [Path(explicit)] if explicit else [REPO.parent / "shared" / "data"]
    for path in candidates:
        if (path / "loghub2k").is_dir():
            return path
    where = explicit or str(candidates[0])
    raise DataMissing(f"shared log data not found at {where} (set LOGSENTRY_DATA to its path)")


def loghub2k(system: str) -> Path:
    return data_dir() / "loghub2k" / system / f"{system}_2k.log"


LOGHUB2K_SYSTEMS = ("Apache", "BGL", "HDFS", "HPC", "HealthApp", "Linux", "Mac", "OpenSSH",
                    "Proxifier", "Spark", "Thunderbird", "Zookeeper")
