"""The library path: Pipeline over real and generated logs."""

from __future__ import annotations

import gzip
from pathlib import Path

from logsentry.config import dirs, load_settings
from logsentry.pipeline import Pipeline
from logsentry.sample import sample_labels, sample_lines
from tests.datasets import loghub2k


def _write_sample(path: Path, blocks: int = 60) -> list[str]:
    lines = list(sample_lines(blocks=blocks, seed=3))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def test_every_line_of_every_source_is_in_exactly_one_sequence(tmp_path: Path) -> None:
    a = tmp_path / "a.log"
    lines_a = _write_sample(a)
    b = tmp_path / "b.log.gz"
    lines_b = list(sample_lines(blocks=30, seed=4))
    b.write_bytes(gzip.compress(("\n".join(lines_b) + "\n").encode()))
    pipe = Pipeline(load_settings(), dirs())
    seen: dict[str, list[int]] = {str(a): [], str(b): []}
    for seq in pipe.sequences([str(a), str(b)]):
        seen[seq.source].extend(seq.owned_lines)
    pipe.close()
    assert sorted(seen[str(a)]) == list(range(1, len(lines_a) + 1))
    assert sorted(seen[str(b)]) == list(range(1, len(lines_b) + 1))
    assert pipe.format is not None and pipe.format.name == "hdfs"
    assert pipe.stats.lines == len(lines_a) + len(lines_b)


def test_sample_sessions_are_the_generated_blocks(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    _write_sample(path)
    pipe = Pipeline(load_settings(), dirs())
    sessions = {seq.session for seq in pipe.sequences([str(path)])}
    assert sessions == set(sample_labels(blocks=60, seed=3))


def test_template_ids_are_stable_across_runs_of_a_profile(shared_data: Path) -> None:
    log = loghub2k("HDFS")
    settings = load_settings({"log_format": "hdfs"})
    first = Pipeline(settings, dirs())
    ids_first = [r.template_id for r in first.records([str(log)])]
    first.close()
    second = Pipeline(settings, dirs())
    ids_second = [r.template_id for r in second.records([str(log)])]
    second.close()
    assert ids_first == ids_second
    assert second.parser is not None and second.parser.new_templates == 0


def test_unreadable_source_is_reported_and_the_rest_is_read(tmp_path: Path) -> None:
    good = tmp_path / "good.log"
    good.write_text("hello world\n", encoding="utf-8")
    problems: list[str] = []
    pipe = Pipeline(load_settings(), dirs(), on_problem=lambda p: problems.append(p.message))
    records = list(pipe.records([str(tmp_path / "missing.log"), str(good)]))
    assert [r.content for r in records] == ["hello world"]
    assert len(problems) == 1 and "no such file" in problems[0]


def test_records_are_parsed_without_persisting_when_no_dirs(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    path.write_text("a 1\na 2\nb c\n", encoding="utf-8")
    pipe = Pipeline(load_settings({"log_format": "raw"}), None)
    records = list(pipe.records([str(path)]))
    pipe.close()
    assert [r.template_id for r in records][:2] == [records[0].template_id] * 2
    assert records[2].template_id != records[0].template_id


def test_freeze_gc_freezes_while_reading_and_thaws_on_close(tmp_path: Path) -> None:
    import gc

    path = tmp_path / "s.log"
    lines = _write_sample(path)
    assert gc.get_freeze_count() == 0
    pipe = Pipeline(load_settings(), None, freeze_gc=True)
    owned: list[int] = []
    frozen_while_reading = 0
    for seq in pipe.sequences([str(path)]):
        owned.extend(seq.owned_lines)
        frozen_while_reading = max(frozen_while_reading, gc.get_freeze_count())
    pipe.close()
    assert frozen_while_reading > 0  # held records left out of every collection
    assert gc.get_freeze_count() == 0  # handed back to the collector
    assert sorted(owned) == list(range(1, len(lines) + 1))


def test_pipelines_do_not_freeze_by_default(tmp_path: Path) -> None:
    import gc

    path = tmp_path / "s.log"
    _write_sample(path)
    pipe = Pipeline(load_settings(), None)
    for _seq in pipe.sequences([str(path)]):
        assert gc.get_freeze_count() == 0  # tail runs for days: nothing may wait for close
    pipe.close()
