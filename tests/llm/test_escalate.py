"""The escalator: which sequences go to the LLM, the cache, fallbacks, how verdicts combine.

The success paths run the real packaged SmolLM2-135M through llama.cpp; fakes are
used only to make a backend fail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from logsentry.llm.backend import LlamaBackend, LLMError
from logsentry.llm.escalate import (
    GIVE_UP_AFTER,
    STRONG,
    Escalator,
    LLMOptions,
    should_escalate,
)
from logsentry.llm.models import resolve
from logsentry.llm.prompts import LINE_PROMPT, Prompt
from logsentry.llm.store import Answer, VerdictStore
from tests.llm.conftest import make_sequence, make_verdict, templates_of

FAILING = ["Receiving block blk_1 src: /10.0.0.1:5 dest: /10.0.0.2:5",
           "writeBlock blk_1 received exception java.io.IOException: Connection reset by peer"]


@pytest.fixture(scope="module")
def smollm(tmp_path_factory: pytest.TempPathFactory) -> LlamaBackend:
    backend = LlamaBackend(resolve("smollm2-135m", tmp_path_factory.mktemp("llm-cache")),
                           threads=2)
    backend.load()
    return backend


def escalator(backend: Any, store_path: Path, **options: Any) -> Escalator:
    return Escalator(backend, VerdictStore(store_path), bundle="m@1", prompt=Prompt.load(),
                     options=LLMOptions(**options), system="hdfs")


class Failing:
    label = "failing"

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.calls = 0

    def complete(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        raise self.error


class Garbage(Failing):
    def complete(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        return '{"explanation": "cut off in the mid'


def test_escalation_rule() -> None:
    seq = make_sequence(["a"])
    assert should_escalate(make_verdict(seq, score=0.7), tau=0.9)  # anomalous
    assert should_escalate(make_verdict(seq, score=0.2), tau=0.9)  # confidence 0.8 < tau
    assert not should_escalate(make_verdict(seq, score=0.05), tau=0.9)  # confident normal
    assert should_escalate(make_verdict(seq, score=0.0, routed="evolved"), tau=0.9)
    assert not should_escalate(make_verdict(seq, score=0.2), tau=0.5)
    # An unlabeled baseline's score is a distance scaled to its threshold, not p(anomalous):
    # no "unsure" escalation from it, only evolved or anomalous.
    unscaled = make_verdict(seq, score=0.3)
    unscaled.calibrated = False
    assert not should_escalate(unscaled, tau=0.9)
    unscaled.routed = "evolved"
    assert should_escalate(unscaled, tau=0.9)


def test_real_llm_answers_once_then_the_cache_answers(smollm: LlamaBackend,
                                                      tmp_path: Path) -> None:
    seq = make_sequence(FAILING)
    verdicts = [make_verdict(seq, score=0.97, evidence=[2]),
                make_verdict(make_sequence(["all good 1"], seq_id="s2"), score=0.01)]
    first = escalator(smollm, tmp_path / "v.sqlite")
    out = first.review(verdicts, templates_of)
    assert first.stats.calls == 1 and first.stats.escalated == 1
    v = out[0]
    assert v.escalated and v.llm == smollm.label and v.llm_verdict in {"anomalous", "normal"}
    assert v.decided_by == "small_model" and v.verdict == "anomalous"  # role explain
    assert 2 in v.evidence
    assert out[1] is verdicts[1]  # not escalated: untouched
    again = escalator(smollm, tmp_path / "v.sqlite")  # a new run: same store
    repeat = again.review([make_verdict(make_sequence(FAILING, seq_id="s9", first=500),
                                        score=0.97, evidence=[501])], templates_of)
    assert again.stats.calls == 0 and again.stats.cache_hits == 1
    assert repeat[0].explanation == v.explanation and repeat[0].answered_by == "cache"
    row = again.store.escalation("s9")
    assert row is not None and row["lines"] == [500, 501] and row["llm"] == smollm.label


def test_same_shape_twice_in_a_batch_is_one_call(smollm: LlamaBackend, tmp_path: Path) -> None:
    batch = [make_verdict(make_sequence(FAILING, seq_id=f"s{i}", first=10 * i), score=0.9)
             for i in range(3)]
    esc = escalator(smollm, tmp_path / "v.sqlite")
    out = esc.review(batch, templates_of)
    assert esc.stats.calls == 1 and esc.stats.cache_hits == 2
    assert len({v.explanation for v in out}) == 1


def test_a_slow_llm_times_out_into_a_fallback(smollm: LlamaBackend, tmp_path: Path) -> None:
    esc = escalator(smollm, tmp_path / "v.sqlite", timeout=0.001)
    out = esc.review([make_verdict(make_sequence(FAILING), score=0.97)], templates_of)
    assert out[0].decided_by == "small_model_fallback" and out[0].verdict == "anomalous"
    assert "timed out" in (out[0].reason or "")
    assert esc.store.count("llm_answers_v2") == 0 and esc.store.count("escalations") == 1


@pytest.mark.parametrize("backend", [Failing(LLMError("endpoint unreachable (refused)")),
                                     Garbage(LLMError("unused"))])
def test_failing_backend_falls_back_and_the_run_goes_on(backend: Failing,
                                                        tmp_path: Path) -> None:
    verdicts = [make_verdict(make_sequence([f"odd event {i} x{i}" * (i + 1)], seq_id=f"s{i}"),
                             score=0.8) for i in range(3)]
    esc = escalator(backend, tmp_path / "v.sqlite")
    out = esc.review(verdicts, templates_of)
    assert [v.decided_by for v in out] == ["small_model_fallback"] * 3
    assert [v.verdict for v in out] == ["anomalous"] * 3
    assert all(v.reason and "\n" not in v.reason for v in out)
    assert sum(esc.stats.fallbacks.values()) == 3


def test_a_dead_llm_is_given_up_after_a_few_failures(tmp_path: Path) -> None:
    backend = Failing(LLMError("timed out after 60 s"))
    verdicts = [make_verdict(make_sequence([f"kind{'x' * i} event"], seq_id=f"s{i}"), score=0.8)
                for i in range(6)]
    esc = escalator(backend, tmp_path / "v.sqlite")
    out = esc.review(verdicts, templates_of)
    assert backend.calls == GIVE_UP_AFTER  # not one timeout per sequence
    assert all(v.decided_by == "small_model_fallback" for v in out)
    assert "not asked again this run" in (out[-1].reason or "")


def test_budget_of_calls_is_kept(tmp_path: Path) -> None:
    backend = Failing(LLMError("down"))
    verdicts = [make_verdict(make_sequence([f"kind{'x' * i} event"], seq_id=f"s{i}"), score=0.8)
                for i in range(4)]
    esc = escalator(backend, tmp_path / "v.sqlite", budget_calls=2)
    out = esc.review(verdicts, templates_of)
    assert backend.calls == 2
    assert [v.reason for v in out][2:] == ["LLM budget of 2 calls spent"] * 2


def test_no_backend_is_a_fallback_with_the_reason(tmp_path: Path) -> None:
    esc = Escalator(None, VerdictStore(tmp_path / "v.sqlite"), bundle="m@1",
                    prompt=Prompt.load(), options=LLMOptions(),
                    unavailable="LLM unavailable: no model")
    out = esc.review([make_verdict(make_sequence(["x"]), score=0.9)], templates_of)
    assert out[0].decided_by == "small_model_fallback"
    assert out[0].reason == "LLM unavailable: no model"


@pytest.mark.parametrize(("role", "score", "llm_says", "final", "decided_by"), [
    # explain: the small model keeps its verdict whatever the LLM says
    ("explain", 0.97, False, "anomalous", "small_model"),
    ("explain", 0.30, True, "normal", "small_model"),
    # judge: the LLM decides ...
    ("judge", 0.30, True, "anomalous", "llm"),
    ("judge", 0.60, False, "normal", "llm"),
    # ... but never overturns a confident small-model "anomalous"
    ("judge", STRONG, False, "anomalous", "small_model"),
])
def test_how_verdicts_combine(role: str, score: float, llm_says: bool, final: str,
                              decided_by: str, tmp_path: Path) -> None:
    esc = escalator(None, tmp_path / "v.sqlite", role=role)
    v = make_verdict(make_sequence(FAILING), score=score)
    out = esc._combine(v, Answer(llm_says, "because", (v.sequence.records[1].template,)), "llm",
                       templates_of(v.sequence))
    assert out.evidence == ([2] if final == "anomalous" else [])
    assert (out.verdict, out.decided_by) == (final, decided_by)
    assert out.llm_verdict == ("anomalous" if llm_says else "normal")
    assert out.explanation == "because"
    assert (out.reason is None) == (out.llm_verdict == v.verdict)


def line_escalator(backend: Any, store_path: Path, **options: Any) -> Escalator:
    return Escalator(backend, VerdictStore(store_path), bundle="m@1", prompt=Prompt.load(),
                     options=LLMOptions(role="explain", **options), system="hdfs",
                     line_prompt=Prompt.load(LINE_PROMPT))


def test_explain_role_describes_the_telling_lines_once_per_kind(smollm: LlamaBackend,
                                                                tmp_path: Path) -> None:
    lines = [*FAILING, "PacketResponder 1 for block blk_1 terminating"]
    seq = make_sequence(lines)
    esc = line_escalator(smollm, tmp_path / "v.sqlite")
    out = esc.review([make_verdict(seq, score=0.97, evidence=[2])], templates_of)
    v = out[0]
    # One call: the evidence line's kind only; the sentence names the line it describes.
    assert esc.stats.calls == 1 and v.explanation
    assert v.explanation.startswith('"writeBlock blk_<*> received exception java.io.I…": ')
    assert v.llm_verdict is None and v.verdict == "anomalous" and v.reason is None
    row = esc.store.escalation("s1")
    assert row is not None and row["prompt"] == LINE_PROMPT
    # Another sequence whose telling line is of the same kind: no new call for it.
    other = make_sequence(["Receiving block blk_7 src: /10.0.0.9:5 dest: /10.0.0.8:5",
                           "something else 4",
                           "writeBlock blk_7 received exception java.io.IOException: "
                           "Connection reset by peer"],
                          seq_id="s2", first=50)
    again = line_escalator(smollm, tmp_path / "v.sqlite")
    got = again.review([make_verdict(other, score=0.95, evidence=[52])], templates_of)
    assert again.stats.calls == 0, "the meaning of that kind of line is cached"
    assert got[0].explanation == v.explanation
    # An escalated "normal" (evolved): its rarest kinds of line are described.
    evolved = make_sequence(["open file 1", "open file 2", "a new kind of line 3"], seq_id="s3")
    third = line_escalator(smollm, tmp_path / "v.sqlite")
    done = third.review([make_verdict(evolved, score=0.01, routed="evolved")], templates_of)
    assert done[0].explanation and done[0].explanation.startswith('"a new kind of line <*>": ')
    assert third.stats.calls == 2  # two kinds of line: the rare one first, then "open file"


def test_explain_role_over_budget_mid_explanation_is_partial_and_not_cached(
        smollm: LlamaBackend, tmp_path: Path) -> None:
    seq = make_sequence(["alpha event 1", "beta event 2", "gamma event 3"])
    esc = line_escalator(smollm, tmp_path / "v.sqlite", budget_calls=1)
    v = esc.review([make_verdict(seq, score=0.97, evidence=[1, 2, 3])], templates_of)[0]
    assert esc.stats.calls == 1 and v.decided_by == "small_model"
    assert v.explanation and v.explanation.startswith('"alpha event <*>": ')
    assert "beta" not in v.explanation
    again = line_escalator(smollm, tmp_path / "v.sqlite")
    full = again.review([make_verdict(seq, score=0.97, evidence=[1, 2, 3])], templates_of)[0]
    assert again.stats.cache_hits == 0 and again.stats.calls == 2  # line 1's meaning is kept
    assert full.explanation and '"gamma event <*>": ' in full.explanation
