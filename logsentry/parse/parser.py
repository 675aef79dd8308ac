"""The template parser: masking + Drain3, with a cache of what repeats.

Drain3's ``TemplateMiner`` holds the Drain tree and its configuration; we
call its ``drain.add_log_message`` on text masked by our single-pass masker.
What Drain sees is a function of the message with its digit runs collapsed
(see masks.py), so a collapsed message seen before maps to the same cluster
without masking or a tree search: adding an identical message to its own
cluster cannot change the template. It is bounded (cleared when full). One
consequence: a repeated message keeps the template id it first got, even if
a better-fitting cluster appears later; the most recent 50,000 of these pins
are saved with the parser state, so that holds across restarts too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from logsentry.config import MaskSpec
from logsentry.errors import StateError
from logsentry.parse.masks import DEFAULT_MASKS, Masker, collapse_digits
from logsentry.parse.state import dump_drain, load_state, restore_drain, save_state
from logsentry.types import LogRecord

if TYPE_CHECKING:
    from drain3.drain import LogCluster

CACHE_LIMIT = 200_000
PERSISTED_CACHE = 50_000  # collapsed-message -> template id pins kept in the state file
_DIGITS_TO_ZERO = str.maketrans("123456789", "000000000")


@dataclass(frozen=True, slots=True)
class Template:
    template_id: int
    template: str
    size: int  # messages ever added (across runs of this profile)


class TemplateParser:
    def __init__(
        self,
        *,
        masks: Iterable[MaskSpec] = DEFAULT_MASKS,
        sim_th: float = 0.4,
        depth: int = 4,
        state_file: Path | None = None,
    ) -> None:
        # Imported here: drain3 (and the jsonpickle it pulls in) costs ~40 ms of start-up.
        from drain3 import TemplateMiner
        from drain3.template_miner_config import TemplateMinerConfig

        config = TemplateMinerConfig()
        config.drain_sim_th = sim_th
        config.drain_depth = depth
        config.masking_instructions = []  # masking is ours (one pass), see masks.py
        config.parametrize_numeric_tokens = True
        self.miner = TemplateMiner(config=config)
        self.drain = self.miner.drain
        self.masker = Masker(masks)
        self.state_file = state_file
        self.warnings: list[str] = []
        self._settings = {
            "sim_th": sim_th,
            "depth": depth,
            "masks": [[m.name, m.regex] for m in self.masker.specs],
        }
        self._cache: dict[str, LogCluster] = {}  # digit-collapsed message -> cluster
        self._fine: dict[str, LogCluster] = {}  # message with digits as 0 -> cluster
        self._rendered: dict[int, tuple[tuple[str, ...], str]] = {}
        self.new_templates = 0
        self.records = 0  # records parsed by parse_batch
        self.generation = 0  # bumped whenever a template is created or changes
        if state_file is not None:
            self._load(state_file)

    def _load(self, path: Path) -> None:
        data, warning = load_state(path)
        if warning:
            self.warnings.append(warning)
        if data is None:
            return
        try:
            restore_drain(self.drain, data)
        except StateError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            from logsentry.parse.state import _move_aside

            self.drain.id_to_cluster.clear()
            self.drain.clusters_counter = 0
            self.warnings.append(_move_aside(path, f"is corrupt ({exc})"))
            return
        self._restore_cache(data.get("cache"))
        if data.get("settings") != self._settings:
            self.warnings.append(
                f"parser state {path.name} was built with other masks or Drain settings; "
                "its template ids are kept, new templates may overlap old ones "
                "(use another --profile to start fresh)"
            )

    def _restore_cache(self, entries: object) -> None:
        """Repeated messages keep the cluster they got before the restart.

        Without this, a restarted parser would let Drain search again, and a
        message could move to a cluster created after it was first seen.
        Malformed entries are skipped: the cache only pins, it never decides.
        """
        if not isinstance(entries, list):
            return
        clusters = self.drain.id_to_cluster
        for entry in entries:
            if (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                    and isinstance(entry[1], int)):
                cluster = clusters.get(entry[1])
                if cluster is not None:
                    self._cache[entry[0]] = cluster

    def _render(self, cluster: LogCluster) -> str:
        tokens = cluster.log_template_tokens
        hit = self._rendered.get(cluster.cluster_id)
        if hit is not None and hit[0] is tokens:
            return hit[1]
        text = " ".join(tokens)
        self._rendered[cluster.cluster_id] = (tokens, text)
        return text

    def add(self, message: str) -> tuple[int, str]:
        """Mine one message; returns (template id, template text)."""
        cluster = self._lookup(message)
        return cluster.cluster_id, self._render(cluster)

    def _mine(self, key: str) -> LogCluster:
        before = self.drain.clusters_counter
        cluster, change = self.drain.add_log_message(self.masker.mask(key))
        self.new_templates += self.drain.clusters_counter - before
        if change != "none":
            self.generation += 1
        if len(self._cache) >= CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = cluster
        return cluster

    def parse(self, record: LogRecord) -> LogRecord:
        record.template_id, record.template = self.add(record.headline)
        return record

    def parse_all(self, records: Iterable[LogRecord]) -> Iterator[LogRecord]:
        """Fill in each record's template, in order (a generator: streams)."""
        for record in records:
            record.template_id, record.template = self.add(record.headline)
            yield record

    def parse_batch(self, records: list[LogRecord]) -> None:
        """Fill in the templates of a list of records (the fast path).

        A first, finer cache is keyed by the message with every ASCII digit
        turned into ``0`` (lengths kept), computed for the whole batch with
        one ``str.translate`` call, which is far cheaper than a regex per
        message. Equal fine keys imply equal collapsed keys, so it is exact.
        """
        if not records:
            return
        fine_get = self._fine.get
        fine = self._fine
        rendered = self._rendered
        lookup = self._lookup
        joined = "\n".join([r.headline for r in records])
        keys = joined.translate(_DIGITS_TO_ZERO).split("\n")
        if len(keys) != len(records):  # a headline held a newline: no batch keys
            keys = [r.headline.translate(_DIGITS_TO_ZERO) for r in records]
        for record, key in zip(records, keys, strict=True):
            cluster = fine_get(key)
            if cluster is None:
                cluster = lookup(record.headline)
                if len(fine) >= CACHE_LIMIT:
                    fine.clear()
                fine[key] = cluster
            else:
                cluster.size += 1
            cluster_id = cluster.cluster_id
            hit = rendered.get(cluster_id)
            if hit is None or hit[0] is not cluster.log_template_tokens:
                hit = (cluster.log_template_tokens, " ".join(cluster.log_template_tokens))
                rendered[cluster_id] = hit
            record.template_id = cluster_id
            record.template = hit[1]
        self.records += len(records)

    def _lookup(self, message: str) -> LogCluster:
        key = collapse_digits("0", message)
        cluster = self._cache.get(key)
        if cluster is not None:
            cluster.size += 1
            return cluster
        return self._mine(key)

    def template(self, template_id: int) -> str | None:
        cluster = self.drain.id_to_cluster.get(template_id)
        return None if cluster is None else self._render(cluster)

    def templates(self) -> list[Template]:
        return sorted(
            (Template(c.cluster_id, self._render(c), c.size) for c in self.drain.clusters),
            key=lambda t: t.template_id,
        )

    def save(self) -> None:
        if self.state_file is not None:
            data = dump_drain(self.drain, self._settings)
            # The most recent entries (dicts keep insertion order), bounded.
            recent = list(self._cache.items())[-PERSISTED_CACHE:]
            data["cache"] = [[key, cluster.cluster_id] for key, cluster in recent]
            save_state(self.state_file, data)


_WILD = re.compile(r"<[A-Za-z*][\w*-]*>")
_TOKEN_RE_CACHE: dict[str, re.Pattern[str]] = {}


def _token_regex(template_token: str) -> re.Pattern[str]:
    pattern = _TOKEN_RE_CACHE.get(template_token)
    if pattern is None:
        parts = _WILD.split(template_token)
        literal = [re.escape(p).replace("0", r"\d+") for p in parts]
        pattern = re.compile("(.*?)".join(literal) + r"\Z", re.DOTALL)
        if len(_TOKEN_RE_CACHE) < 10_000:
            _TOKEN_RE_CACHE[template_token] = pattern
    return pattern


def extract_params(message: str, template: str) -> list[str]:
    """The values the template's wildcards and masks stand for, in order."""
    tokens = message.split()
    template_tokens = template.split()
    if len(tokens) != len(template_tokens):
        return []
    params: list[str] = []
    for token, template_token in zip(tokens, template_tokens, strict=True):
        if token == template_token:
            continue
        m = _token_regex(template_token).match(token)
        if m is None:
            params.append(token)
        elif not m.groups():
            continue  # a literal word whose digits differ (10000ms vs the template's 0ms)
        else:
            params.extend(g for g in m.groups() if g)
    return params
