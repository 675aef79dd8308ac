"""A synthetic HDFS-style log, generated here, for the Quick start and demos.

Written by logsentry itself (nothing is copied from any data set): block
lifecycles as an HDFS DataNode/NameNode cluster logs them, interleaved in
time, with a few percent of blocks going wrong in the ways HDFS blocks do
(write pipeline exceptions, failed deletions, missing replicas, a Java stack
trace). Deterministic for a given seed. ``sample_labels`` says which block
ids are anomalous, so tests can check detectors against it.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

START = datetime(2026, 3, 14, 9, 0, 0)


@dataclass(frozen=True, slots=True)
class SampleBlock:
    block_id: str
    anomalous: bool
    kind: str  # "normal" or the anomaly it shows


def _ip(rng: random.Random) -> str:
    return f"10.{rng.choice((250, 251))}.{rng.randint(1, 254)}.{rng.randint(1, 254)}"


def _block_events(rng: random.Random, blk: str, kind: str) -> list[tuple[float, str, str, str]]:
    """(seconds after block start, level, component, message) for one block."""
    dn = "dfs.DataNode$DataXceiver"
    pr = "dfs.DataNode$PacketResponder"
    ns = "dfs.FSNamesystem"
    nodes = [_ip(rng) for _ in range(3)]
    task = rng.randint(0, 999)
    ev: list[tuple[float, str, str, str]] = []
    ev.append((0, "INFO", ns, f"BLOCK* NameSystem.allocateBlock: /user/root/rand/_temporary/"
                               f"_task_202603140900_0001_m_{task:06d}_0/part-{task:05d}. {blk}"))
    for ip in nodes:
        ev.append((rng.uniform(0, 2), "INFO", dn, f"Receiving block {blk} src: /{ip}:{rng.randint(30000, 60999)} dest: /{ip}:50010"))
    failed = kind == "write_exception"
    for i, ip in enumerate(nodes):
        t = rng.uniform(3, 40)
        if failed and i == 2:
            ev.append((t, "INFO", dn, f"writeBlock {blk} received exception java.io.IOException: Could not read from stream"))
            ev.append((t, "WARN", dn, f"{ip}:50010:Exception writing block {blk} to mirror {nodes[0]}:50010"))
            ev.append((t + 0.5, "INFO", dn, f"Exception in receiveBlock for block {blk} java.io.IOException: Connection reset by peer"))
            continue
        ev.append((t, "INFO", pr, f"PacketResponder {i} for block {blk} terminating"))
        ev.append((t, "INFO", pr, f"Received block {blk} of size 67108864 from /{ip}"))
    stored = nodes[:2] if kind == "missing_replica" else nodes
    for ip in stored:
        ev.append((rng.uniform(5, 45), "INFO", ns, f"BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip}:50010 is added to {blk} size 67108864"))
    if kind == "missing_replica":
        ev.append((50, "INFO", ns, f"BLOCK* ask {nodes[0]}:50010 to replicate {blk} to datanode(s) {_ip(rng)}:50010"))
        ev.append((55, "WARN", ns, f"PendingReplicationMonitor timed out block {blk}"))
    for _ in range(rng.randint(0, 2)):
        ev.append((rng.uniform(60, 600), "INFO", "dfs.DataBlockScanner", f"Verification succeeded for {blk}"))
    for _ in range(rng.randint(0, 2)):
        ip = rng.choice(stored)
        ev.append((rng.uniform(60, 600), "INFO", "dfs.DataNode", f"{ip}:50010 Served block {blk} to /{_ip(rng)}"))
    if kind == "serve_exception":
        t = rng.uniform(60, 600)
        ip = nodes[0]
        ev.append((t, "WARN", "dfs.DataNode", f"{ip}:50010:Got exception while serving {blk} to /{_ip(rng)}:"))
        ev.append((t, "INFO", "dfs.DataNode", "java.net.SocketTimeoutException: 480000 millis timeout while waiting for channel to be ready for write."))
        ev.append((t, "INFO", "dfs.DataNode", "\tat org.apache.hadoop.net.SocketIOWithTimeout.waitForIO(SocketIOWithTimeout.java:185)"))
        ev.append((t, "INFO", "dfs.DataNode", "\tat org.apache.hadoop.dfs.DataNode$BlockSender.sendChunks(DataNode.java:1850)"))
    t_del = rng.uniform(650, 900)
    for ip in stored:
        ev.append((t_del, "INFO", ns, f"BLOCK* NameSystem.delete: {blk} is added to invalidSet of {ip}:50010"))
    for i in range(len(stored)):
        if kind == "delete_error" and i == 0:
            ev.append((t_del + 3, "WARN", "dfs.FSDataset", f"Unexpected error trying to delete block {blk}. BlockInfo not found in volumeMap."))
            continue
        ev.append((t_del + rng.uniform(1, 5), "INFO", "dfs.FSDataset", f"Deleting block {blk} file /mnt/hadoop/dfs/data/current/{blk}"))
    return ev


ANOMALIES = ("write_exception", "missing_replica", "delete_error", "serve_exception")


def sample_blocks(blocks: int = 200, seed: int = 7, anomaly_rate: float = 0.04) -> list[SampleBlock]:
    rng = random.Random(seed)
    out = []
    for _ in range(blocks):
        blk = f"blk_{rng.choice(('', '-'))}{rng.randint(10**17, 10**19 - 1)}"
        kind = rng.choice(ANOMALIES) if rng.random() < anomaly_rate else "normal"
        out.append(SampleBlock(blk, kind != "normal", kind))
    return out


def sample_lines(blocks: int = 200, seed: int = 7, anomaly_rate: float = 0.04) -> Iterator[str]:
    """The sample log, line by line (HDFS format: yyMMdd HHmmss pid LEVEL component: message)."""
    rng = random.Random(seed + 1)
    events: list[tuple[float, int, str, str, str]] = []
    for n, block in enumerate(sample_blocks(blocks, seed, anomaly_rate)):
        start = n * 6.0 + rng.uniform(0, 5)
        for offset, level, component, message in _block_events(rng, block.block_id, block.kind):
            events.append((start + offset, len(events), level, component, message))
    events.sort()
    for at, _order, level, component, message in events:
        when = START + timedelta(seconds=at)
        pid = rng.randint(13, 35) if component == "dfs.FSNamesystem" else rng.randint(140, 180)
        if message.startswith(("java.", "\tat ")):
            yield message  # continuation lines of the exception above have no header
        else:
            yield f"{when:%y%m%d %H%M%S} {pid} {level} {component}: {message}"


def sample_labels(blocks: int = 200, seed: int = 7, anomaly_rate: float = 0.04) -> dict[str, bool]:
    return {b.block_id: b.anomalous for b in sample_blocks(blocks, seed, anomaly_rate)}
