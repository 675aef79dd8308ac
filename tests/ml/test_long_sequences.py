"""Sequences longer than the records the model reads (its max_len)."""

from __future__ import annotations

from pathlib import Path

from logsentry.types import LogRecord, Sequence

KNOWN = ["Receiving block <BLK> src: /<IP> dest: /<IP>",
         "PacketResponder <NUM> for block <BLK> terminating",
         "Received block <BLK> of size <NUM> from /<IP>"]


def _sequence(templates: list[str]) -> Sequence:
    records = [LogRecord("x.log", i, i, i * 80, t, t, None, None, template_id=0, template=t)
               for i, t in enumerate(templates, 1)]
    return Sequence(f"s{len(templates)}", "x.log", "blk_1", "session", records)


def test_a_new_template_past_max_len_still_routes_the_sequence_evolved(
        encoder_cache: Path) -> None:
    from logsentry.detect import SmallModelDetector
    from logsentry.embed import TemplateVectors
    from logsentry.ml import registry

    detector = SmallModelDetector(registry.open_bundle(registry.SHIPPED / "default"),
                                  TemplateVectors(encoder_cache))
    assert detector.max_len == 64 and set(KNOWN) <= set(detector.known)
    familiar = (KNOWN * 27)[:80]
    novel = list(familiar)
    novel[70] = "Kernel panic - not syncing: Fatal exception in interrupt"
    assert novel[70] not in detector.known
    seqs = [_sequence(familiar), _sequence(novel), _sequence(KNOWN)]
    verdicts = detector.judge(seqs, texts_of=[tuple(s.records[i].template
                                                    for i in range(len(s.records)))
                                              for s in seqs])
    assert [v.unseen_templates for v in verdicts] == [0, 1, 0]
    assert verdicts[1].routed == "evolved"  # the model never read record 71; the router did
    assert detector.longer == 2  # two of the three hold more than 64 records
