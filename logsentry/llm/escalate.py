"""Collaborative detection: which sequences go to the LLM, and what comes back.

Escalation (CoLA Algorithm 1 + CollaborLog routing): a sequence goes to the LLM
when the router says ``evolved``, or the small model says anomalous, or its
confidence in "normal" (1 - score) is below ``tau``. Everything else keeps
the small model's verdict.

Before a call, the knowledge-reuse cache is asked (see ``store``); sequences of
one batch with the same key share one call. A failed, late or over-budget call
leaves the small model's verdict, with ``decided_by: small_model_fallback`` and
the reason.

How the two verdicts combine (``role``):

* ``explain``: the small model keeps the verdict; the LLM explains it. With the
  line prompt (``line-v1``, the default for this role) the LLM says in one
  sentence what each telling line reports (the small model's evidence lines,
  else the rarest kinds of line), cached per template, and gives no verdict of
  its own (``llm_verdict`` null). The default for the packaged tiny models,
  which measurably cannot tell normal from anomalous sequences and, asked to
  explain whole sequences, echoed the prompt (see README "LLM tier").
* ``judge``: the LLM's verdict decides, except that it never overturns a
  confident small-model "anomalous" (score >= ``STRONG``): log text can talk
  to the LLM, not to the small model. The disagreement is shown. The default
  for a model given with ``--llm-model`` or ``--llm-endpoint``.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from dataclasses import replace as copy_with
from typing import Any

from logsentry.errors import ModelError
from logsentry.llm.backend import Backend, LLMError
from logsentry.llm.prompts import (
    LINE_SCHEMA,
    SCHEMA,
    Prompt,
    parse_answer,
    parse_meaning,
    render_line,
    telling_records,
)
from logsentry.llm.store import Answer, VerdictStore, sequence_key
from logsentry.types import Sequence, Verdict

STRONG = 0.9  # a small-model score the LLM cannot overturn
GIVE_UP_AFTER = 3  # consecutive failed calls (errors, timeouts) before the run stops asking
BAD_ANSWER = "LLM answer was not the expected JSON"


@dataclass(slots=True)
class Ask:
    """One LLM question: a sequence, and later sequences of the same shape riding along."""

    index: int
    verdict: Verdict
    templates: list[str]
    key: str
    examples: list[tuple[str, list[str]]]
    riders: list[tuple[int, Verdict, list[str]]] = field(default_factory=list)
    telling: list[int] = field(default_factory=list)  # role explain: records to describe
    meanings: dict[str, str] = field(default_factory=dict)  # their templates' known meanings
    fresh: dict[str, str] = field(default_factory=dict)  # meanings asked by this ask
    partial: bool = False  # some telling lines could not be described: do not cache


@dataclass(frozen=True, slots=True)
class LLMOptions:
    tau: float = 0.9  # escalate when confidence in normal (1 - score) is below this
    role: str = "explain"  # "explain" or "judge"
    timeout: float = 60.0  # seconds per call
    budget_calls: int = 0  # 0 = unlimited
    budget_seconds: float = 0.0  # 0 = unlimited
    max_tokens: int = 200  # room for a 240-character explanation and the closing JSON


@dataclass(slots=True)
class LLMStats:
    escalated: int = 0
    cache_hits: int = 0
    calls: int = 0
    seconds: float = 0.0
    fallbacks: Counter[str] = field(default_factory=Counter)
    disagreements: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"escalated": self.escalated, "cache_hits": self.cache_hits,
                "llm_calls": self.calls, "llm_seconds": round(self.seconds, 3),
                "fallbacks": sum(self.fallbacks.values()),
                "fallback_reasons": dict(self.fallbacks), "disagreements": self.disagreements}


def _excerpt(template: str, width: int = 48) -> str:
    """A kind of line as a short quoted label: '"Unexpected error trying to delete…"'."""
    text = " ".join(template.split())
    return json.dumps(text if len(text) <= width else text[: width - 1] + "…",
                      ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class _Got:
    value: Any


def should_escalate(v: Verdict, tau: float) -> bool:
    """Evolved, or anomalous, or not confident of "normal" (1 - p(anomalous) < tau). The
    last needs a probability: an unlabeled baseline's score is a distance scaled to its
    threshold, and reading it as one sent nearly every sequence to the LLM."""
    return (v.routed == "evolved" or v.anomalous
            or (v.calibrated and (1.0 - min(float(v.score), 1.0)) < tau))


class Escalator:
    def __init__(self, backend: Backend | None, store: VerdictStore, *, bundle: str,
                 prompt: Prompt, options: LLMOptions, system: str = "logs",
                 unavailable: str = "", strict: bool = False,
                 notice: Callable[[str], None] | None = None,
                 examples: Callable[[list[str]], list[tuple[str, list[str]]]] | None = None,
                 line_prompt: Prompt | None = None) -> None:
        self.backend = backend
        self.line_prompt = line_prompt  # role explain: what each telling line reports
        self._recent: dict[str, str] = {}  # meanings asked this run (only call() touches it)
        self.store = store
        self.bundle = bundle
        self.prompt = prompt
        self.options = options
        self.system = system
        self.unavailable = unavailable  # why there is no backend (fallback reason)
        self.strict = strict  # a model the operator named: failing to load it is an error
        self.notice = notice or (lambda _message: None)
        self.examples = examples  # nearest labeled sequences from the bundle (in-context)
        self.stats = LLMStats()
        self._failures = 0  # consecutive failed calls
        self._gave_up = ""
        self._started = time.monotonic()

    @property
    def by_lines(self) -> bool:
        """Role explain with the line prompt: the LLM describes the telling lines."""
        return self.options.role == "explain" and self.line_prompt is not None

    @property
    def answer_prompt(self) -> str:
        """The prompt version the cached answers are keyed by."""
        return self.line_prompt.version if self.by_lines and self.line_prompt else \
            self.prompt.version

    @property
    def llm_label(self) -> str:
        return self.backend.label if self.backend is not None else "none"

    def _over_budget(self) -> str | None:
        o = self.options
        if o.budget_calls and self.stats.calls >= o.budget_calls:
            return f"LLM budget of {o.budget_calls} call{'s' * (o.budget_calls != 1)} spent"
        if o.budget_seconds and self.stats.seconds >= o.budget_seconds:
            return f"LLM budget of {o.budget_seconds:g} s spent"
        return None

    def review(self, verdicts: list[Verdict], templates_of: Callable[[Sequence], list[str]],
               system: str | None = None) -> list[Verdict]:
        """The verdicts after escalation, in order (``system``: the log format, if known
        only now, e.g. auto-detected). Calls the LLM in this thread, one after another."""
        out, asks = self.plan(verdicts, templates_of, system)
        for ask in asks:
            for index, verdict in self.settle(ask, self.call(ask)):
                out[index] = verdict
        return out

    def plan(self, verdicts: list[Verdict], templates_of: Callable[[Sequence], list[str]],
             system: str | None = None) -> tuple[list[Verdict], list[Ask]]:
        """Decide what needs the LLM (in the caller's thread). Returns the verdicts, final
        except at the indexes of the asks, and the asks (one per shape of sequence; a
        later sequence of the same shape rides along with the first)."""
        if system:
            self.system = system
        out = list(verdicts)
        asks: dict[str, Ask] = {}
        rows: list[dict[str, Any]] = []
        for i, v in enumerate(verdicts):
            if not should_escalate(v, self.options.tau):
                continue
            self.stats.escalated += 1
            templates = templates_of(v.sequence)
            key = sequence_key(templates)
            if key in asks:
                asks[key].riders.append((i, v, templates))
                continue
            cached = self.store.answer(key, self.bundle, self.llm_label, self.answer_prompt)
            if cached is not None:
                self.stats.cache_hits += 1
                out[i] = self._combine(v, cached, "cache", templates)
                rows.append(self._row(v, out[i], templates, key, cached))
                continue
            if self.by_lines:
                assert self.line_prompt is not None
                telling = telling_records(v.sequence, v.evidence, templates)
                known = self.store.meanings([templates[j] for j in telling], self.llm_label,
                                            self.line_prompt.version)
                asks[key] = Ask(i, v, templates, key, [], telling=telling, meanings=known)
                continue
            examples = self.examples(templates) if self.examples is not None else []
            asks[key] = Ask(i, v, templates, key, examples)
        self.store.put_escalations(rows)
        return out, list(asks.values())

    def call(self, ask: Ask) -> Answer | str:
        """Ask the LLM (safe in one worker thread: touches only the backend, the stats
        and ``ask``)."""
        if self.by_lines:
            return self._explain_lines(ask)
        return self._ask(ask.verdict, ask.templates, ask.examples)

    def settle(self, ask: Ask, result: Answer | str) -> list[tuple[int, Verdict]]:
        """The final verdicts of an ask and its riders (in the caller's thread: stores
        the answer and the escalations)."""
        if ask.fresh and self.line_prompt is not None:  # kept even when a later line failed
            self.store.put_meanings(ask.fresh, self.llm_label, self.line_prompt.version)
        if isinstance(result, Answer) and not ask.partial:
            self.store.put_answer(ask.key, self.bundle, self.llm_label, self.answer_prompt,
                                  result)
        out = [(ask.index, self._combine(ask.verdict, result, "llm", ask.templates))]
        for index, verdict, templates in ask.riders:
            if isinstance(result, Answer):
                self.stats.cache_hits += 1  # a repeat within the batch: one call for both
            out.append((index, self._combine(verdict, result, "cache", templates)))
        self.store.put_escalations([
            self._row(before, after, templates, ask.key, result)
            for (before, templates), (_i, after) in zip(
                [(ask.verdict, ask.templates)] + [(v, t) for _i, v, t in ask.riders], out,
                strict=True)])
        return out

    def _explain_lines(self, ask: Ask) -> Answer | str:
        """Role explain: one sentence per telling kind of line (cached per template), put
        together as the explanation of the small model's verdict."""
        assert self.line_prompt is not None
        v = ask.verdict
        parts: list[str] = []
        failed = BAD_ANSWER
        for i in ask.telling:
            template = ask.templates[i]
            meaning = (ask.meanings.get(template) or ask.fresh.get(template)
                       or self._recent.get(template))
            if meaning is None:
                record = v.sequence.records[i]
                system, user = render_line(self.line_prompt, record, self.system)
                got = self._complete(system, user, LINE_SCHEMA, parse_meaning)
                if not isinstance(got, _Got):
                    failed = got
                    if got == BAD_ANSWER:
                        # Unusable, and it would be again (the model is deterministic
                        # here): skip that line, keep the rest, cache the answer.
                        continue
                    ask.partial = True  # out of budget or time: show what was described,
                    break  # and ask again next time
                meaning = ask.fresh[template] = str(got.value)
                if len(self._recent) >= 10_000:
                    self._recent.clear()
                self._recent[template] = meaning
            # Named by its kind, not its line number: the answer is cached and reused for
            # other sequences of the same shape, whose lines have other numbers.
            parts.append(f"{_excerpt(template)}: {meaning}")
        if not parts:
            return failed
        return Answer(v.anomalous, " ".join(parts),
                      tuple(dict.fromkeys(ask.templates[i] for i in ask.telling)))

    def _ask(self, v: Verdict, templates: list[str],
             examples: list[tuple[str, list[str]]]) -> Answer | str:
        system, user, shown = self.prompt.render(v.sequence, focus=v.evidence, system=self.system,
                                                 examples=examples)
        got = self._complete(system, user, SCHEMA, parse_answer)
        if not isinstance(got, _Got):
            return got
        anomalous, explanation, lines = got.value
        index = {r.line: j for j, r in enumerate(v.sequence.records)}
        named = [templates[index[n]] for n in lines if n in index and n in shown]
        return Answer(anomalous, explanation, tuple(dict.fromkeys(named)))

    def _complete(self, system: str, user: str, schema: dict[str, Any],
                  parse: Callable[[str], Any]) -> _Got | str:
        """One LLM call, parsed; or the reason there is no answer (a fallback)."""
        if self.backend is None:
            return self.unavailable or "no LLM"
        if self._failures >= GIVE_UP_AFTER:
            return self._gave_up
        over = self._over_budget()
        if over:
            return over
        started = time.monotonic()
        self.stats.calls += 1
        try:
            raw = self.backend.complete(system, user, schema, max_tokens=self.options.max_tokens,
                                        timeout=self.options.timeout)
            value = parse(raw)
        except LLMError as exc:
            # A dead or hung LLM costs at most GIVE_UP_AFTER timeouts per run, not one per
            # escalated sequence: after that the rest fall back at once.
            self._failures += 1
            if self._failures >= GIVE_UP_AFTER:
                self._gave_up = (f"LLM failed {GIVE_UP_AFTER} times in a row (last: {exc}); "
                                 f"not asked again this run")
                self.notice(self._gave_up)
            return f"LLM failed: {exc}"
        except ModelError as exc:  # the (lazily loaded) default model cannot load
            if self.strict:
                raise
            self.stats.calls -= 1  # nothing was asked
            self.backend = None
            self.unavailable = f"LLM unavailable: {exc}"
            self.notice(f"{self.unavailable}; using the small model's verdicts")
            return self.unavailable
        except ValueError:
            return BAD_ANSWER
        finally:
            self.stats.seconds += time.monotonic() - started
        self._failures = 0
        return _Got(value)

    def _combine(self, v: Verdict, result: Answer | str, source: str,
                 templates: list[str]) -> Verdict:
        if isinstance(result, str):
            self.stats.fallbacks[result] += 1
            return copy_with(v, decided_by="small_model_fallback", escalated=True, reason=result,
                             llm=self.llm_label)
        records = v.sequence.records
        first_line: dict[str, int] = {}
        for record, template in zip(records, templates, strict=False):
            first_line.setdefault(template, record.line)
        llm_lines = sorted({first_line[t] for t in result.evidence if t in first_line})
        if self.by_lines:  # the LLM described lines; it gave no verdict of its own
            return copy_with(v, escalated=True, explanation=result.explanation or None,
                             llm=self.llm_label, answered_by=source,
                             evidence=sorted(set(v.evidence) | set(llm_lines))
                             if v.anomalous else v.evidence)
        llm_verdict = "anomalous" if result.anomalous else "normal"
        agree = llm_verdict == v.verdict
        if not agree:
            self.stats.disagreements += 1
        if self.options.role == "judge" and not (v.anomalous and not result.anomalous
                                                 and v.score >= STRONG):
            verdict = llm_verdict
            decided_by = source
            reason = None if agree else f"LLM overruled the small model ({v.verdict})"
            evidence = (llm_lines or v.evidence) if verdict == "anomalous" else []
        else:
            verdict = v.verdict
            decided_by = "small_model"
            reason = None if agree else (
                "confident small-model verdict kept; the LLM disagreed"
                if self.options.role == "judge" else "the LLM disagreed (it explains only)")
            evidence = sorted(set(v.evidence) | set(llm_lines)) if verdict == "anomalous" \
                else v.evidence
        return copy_with(v, verdict=verdict, decided_by=decided_by, escalated=True,
                         explanation=result.explanation or None, llm_verdict=llm_verdict,
                         reason=reason, evidence=evidence, llm=self.llm_label,
                         answered_by=source)

    def _row(self, before: Verdict, after: Verdict, templates: list[str], key: str,
             result: Answer | str) -> dict[str, Any]:
        seq = before.sequence
        shown = self.prompt.render(seq, focus=before.evidence, system=self.system)[2]
        by_line = {r.line: r for r in seq.records}
        return {
            "sequence_id": seq.sequence_id, "created": time.time(), "source": seq.source,
            "session": seq.session, "window": seq.window, "lines": seq.lines,
            "shown": [[n, by_line[n].content] for n in shown],
            "templates": templates, "cache_key": key, "small_score": float(before.score),
            "small_verdict": before.verdict, "routed": before.routed,
            "llm_anomalous": result.anomalous if isinstance(result, Answer) else None,
            "explanation": after.explanation, "evidence": after.evidence,
            "verdict": after.verdict, "decided_by": after.decided_by, "reason": after.reason,
            "bundle": self.bundle, "llm": self.llm_label, "prompt": self.answer_prompt,
        }
