"""The synthetic log-evolution scenario: deterministic, label-preserving, new to the parser."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from logsentry.config import load_settings
from logsentry.ml.labels import load_session_labels
from logsentry.pipeline import Pipeline
from tests.adapt import evolution
from tests.adapt.evolution import BLOCK, LINE, REWORDINGS, ROUTINE, Scenario, build

pytestmark = pytest.mark.data

BLOCKS = 300  # ~7,400 lines: enough of every frequent template, fast to parse


@pytest.fixture(scope="module")
def scenario(shared_data: Path) -> Scenario:
    return build(seed=0, blocks=BLOCKS)


def blocks_of(lines: list[str]) -> list[str]:
    return [ids.pop() for ids in ({m for m in BLOCK.findall(line)} for line in lines)]


def messages_by_block(lines: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for line, block in zip(lines, blocks_of(lines), strict=True):
        m = LINE.match(line)
        assert m is not None, line
        out[block].append(m.group(4))
    return out


def test_same_seed_same_scenario_other_seed_other_edits(shared_data: Path) -> None:
    a, b = build(seed=7, blocks=BLOCKS), build(seed=7, blocks=BLOCKS)
    c = build(seed=8, blocks=BLOCKS)
    assert (a.before, a.after, a.labels, a.edits) == (b.before, b.after, b.labels, b.edits)
    assert a.before == c.before and a.after != c.after


def test_every_block_keeps_its_id_and_label(scenario: Scenario, shared_data: Path) -> None:
    labels = load_session_labels(shared_data / "hdfs_loglead_2pct" / "anomaly_label.csv")
    assert len(scenario.labels) == BLOCKS
    assert all(scenario.labels[b] == bool(labels[b]) for b in scenario.labels)
    assert 0 < sum(scenario.labels.values()) < BLOCKS  # both classes present
    # One block id per line (HDFS "Deleting block" lines name it twice), none lost or new.
    before, after = set(blocks_of(scenario.before)), set(blocks_of(scenario.after))
    assert after == set(scenario.after_blocks)
    assert before.isdisjoint(after) and before | after == set(scenario.labels)
    # Label-file order is first-appearance order.
    assert list(scenario.labels) == [b for b in labels if b in scenario.labels]


def test_lines_stay_parseable_and_chronological(scenario: Scenario) -> None:
    for lines in (scenario.before, scenario.after):
        stamps = []
        for line in lines:
            m = LINE.match(line)
            assert m is not None, line
            stamps.append(m.group(1))
        assert stamps == sorted(stamps)


def test_rewritten_phrases_appear_only_after_the_cut(scenario: Scenario) -> None:
    assert list(scenario.rewritten) == [r.old for r in REWORDINGS[:4]]
    for rewording in REWORDINGS[:4]:
        assert not any(rewording.new in line for line in scenario.before)
        assert any(rewording.old in line for line in scenario.before)
        assert any(rewording.new in line for line in scenario.after)
        # No line of a reworded template is left in its old wording.
        messages = (m.group(4) for m in map(LINE.match, scenario.after) if m)
        assert not any(rewording.where.search(message) for message in messages)
    unused = REWORDINGS[4]
    assert unused.old not in scenario.rewritten
    assert any(unused.old in line for line in scenario.after)


def test_parser_sees_new_templates_after_the_cut(scenario: Scenario, tmp_path: Path) -> None:
    before_log, after_log, _labels = scenario.write(tmp_path)
    pipe = Pipeline(load_settings({"log_format": "hdfs"}), None)
    seen: dict[str, set[int]] = {"before.log": set(), "after.log": set()}
    texts: dict[int, str] = {}
    sessions: dict[str, set[str]] = {"before.log": set(), "after.log": set()}
    for seq in pipe.sequences([str(before_log), str(after_log)]):
        name = Path(seq.source).name
        assert seq.session is not None
        sessions[name].add(seq.session)
        for record in seq.records:
            seen[name].add(record.template_id)
            texts[record.template_id] = record.template
    assert sessions["after.log"] == set(scenario.after_blocks)
    assert sessions["before.log"] | sessions["after.log"] == set(scenario.labels)
    new = seen["after.log"] - seen["before.log"]
    new_texts = [texts[t] for t in new]
    for phrase in scenario.rewritten.values():
        assert any(phrase in text for text in new_texts), (phrase, new_texts)
    old_texts = [texts[t] for t in seen["before.log"]]
    assert not any(p in t for p in scenario.rewritten.values() for t in old_texts)
    # The old wordings' templates are gone from the after period.
    assert len(seen["before.log"] - seen["after.log"]) >= len(scenario.rewritten)


def test_line_counts_move_by_the_edit_probabilities(shared_data: Path) -> None:
    plain = build(seed=3, blocks=1000, rewrite=0, p_duplicate=0, p_remove=0, p_shuffle=0)
    edited = build(seed=3, blocks=1000, rewrite=0, p_duplicate=0.1, p_remove=0.1, p_shuffle=0.05)
    assert edited.before == plain.before
    routine = sum(1 for m in map(LINE.match, plain.after)
                  if m and m.group(3) == "INFO" and ROUTINE.match(m.group(4)))
    assert routine > 0.9 * len(plain.after)
    e = edited.edits
    assert len(edited.after) == len(plain.after) + e.duplicated - e.removed
    assert 0.08 < e.duplicated / routine < 0.12
    assert 0.08 < e.removed / routine < 0.12
    assert 0.02 < e.swapped / routine < 0.08


def test_shuffle_keeps_each_block_s_lines_and_the_timeline(shared_data: Path) -> None:
    plain = build(seed=4, blocks=BLOCKS, rewrite=0, p_duplicate=0, p_remove=0, p_shuffle=0)
    shuffled = build(seed=4, blocks=BLOCKS, rewrite=0, p_duplicate=0, p_remove=0, p_shuffle=0.3)
    assert shuffled.edits.swapped > 0
    assert [line[:13] for line in shuffled.after] == [line[:13] for line in plain.after]
    before, after = messages_by_block(plain.after), messages_by_block(shuffled.after)
    assert {b: Counter(m) for b, m in after.items()} == {b: Counter(m) for b, m in before.items()}
    assert after != before


def test_removal_spares_rare_templates_and_each_block_s_last_line(shared_data: Path) -> None:
    plain = build(seed=5, blocks=BLOCKS, rewrite=0, p_duplicate=0, p_remove=0, p_shuffle=0)
    gutted = build(seed=5, blocks=BLOCKS, rewrite=0, p_duplicate=0, p_remove=1.0, p_shuffle=0)
    assert set(blocks_of(gutted.after)) == set(plain.after_blocks)
    def untouchable(lines: list[str]) -> list[str]:
        return [line for line in lines
                if (m := LINE.match(line)) and not (m.group(3) == "INFO"
                                                    and ROUTINE.match(m.group(4)))]
    assert untouchable(gutted.after) == untouchable(plain.after)
    assert any(" WARN " in line for line in gutted.after)


def test_written_files_read_back(scenario: Scenario, tmp_path: Path) -> None:
    before_log, after_log, labels_csv = scenario.write(tmp_path)
    assert before_log.read_text(encoding="utf-8").splitlines() == scenario.before
    assert after_log.read_text(encoding="utf-8").splitlines() == scenario.after
    assert load_session_labels(labels_csv) == {b: int(v) for b, v in scenario.labels.items()}


def test_bad_arguments_are_refused(shared_data: Path) -> None:
    with pytest.raises(ValueError, match="cut"):
        build(cut=1.0)
    with pytest.raises(ValueError, match="rewrite"):
        build(rewrite=len(evolution.REWORDINGS) + 1)
    with pytest.raises(ValueError, match="probabilities"):
        build(p_duplicate=0.6, p_remove=0.6)
