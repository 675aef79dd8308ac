"""train, scan, eval and models end to end, on the project's own generated HDFS sample."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from logsentry.embed.minilm import encoder_dir
from logsentry.sample import sample_labels, sample_lines
from tests.cli.conftest import CallMain

VERDICT_KEYS = {"sequence_id", "source", "lines", "session", "window", "verdict", "score",
                "routed", "decided_by", "explanation", "evidence", "model", "unseen_templates",
                "escalated", "llm_verdict", "reason", "llm"}


pytestmark = pytest.mark.usefixtures("warm_encoder")


def write_sample(path: Path, blocks: int, seed: int, rate: float) -> Path:
    path.write_text("\n".join(sample_lines(blocks, seed, rate)) + "\n", encoding="utf-8")
    labels = path.with_suffix(".csv")
    rows = sample_labels(blocks, seed, rate)
    labels.write_text("BlockId,Label\n" + "".join(
        f"{b},{'Anomaly' if bad else 'Normal'}\n" for b, bad in rows.items()), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, encoder_cache: Path) -> tuple[Path, Path]:
    """A supervised bundle trained on a generated sample (module-wide: ~15 s)."""
    home = tmp_path_factory.mktemp("train-home")
    target = encoder_dir(home / "cache")
    target.parent.mkdir(parents=True)
    target.symlink_to(encoder_dir(encoder_cache), target_is_directory=True)
    log = write_sample(tmp_path_factory.mktemp("data") / "train.log", 400, 21, 0.12)
    env = dict(os.environ, LOGSENTRY_HOME=str(home), OMP_WAIT_POLICY="PASSIVE")
    done = subprocess.run(
        [sys.executable, "-m", "logsentry", "train", str(log), "--labels",
         str(log.with_suffix(".csv")), "--name", "demo", "--split", "chrono:0.75",
         "--epochs", "12", "-q"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return home / "data" / "models" / "demo", log


def test_train_writes_a_bundle_with_held_out_metrics(trained: tuple[Path, Path],
                                                     call_main: CallMain) -> None:
    bundle, _log = trained
    result = call_main(["models", "show", str(bundle)])
    assert result.code == 0, result.err
    info = json.loads(result.out)[0]["info"]
    assert info["kind"] == "supervised" and info["data"]["split"] == "chrono:0.75"
    test = info["metrics"]["test"]
    assert test["sequences"] == 100 and test["tp"] + test["fn"] >= 1
    assert 0.0 <= info["logmoe"]["threshold"] <= 1.0
    assert set(json.loads((bundle / "manifest.json").read_text())["files"]) >= {
        "bundle.json", "logmoe.onnx", "router.onnx", "templates.json", "vectors.npy"}


def test_scan_finds_the_generated_anomalies(trained: tuple[Path, Path], tmp_path: Path,
                                            call_main: CallMain) -> None:
    bundle, _ = trained
    log = write_sample(tmp_path / "new.log", 150, 99, 0.1)
    result = call_main(["scan", str(log), "--model", str(bundle), "-o", "jsonl", "-q"])
    assert result.code == 1, result.err  # anomalies found, like grep
    verdicts = [json.loads(line) for line in result.out.splitlines()]
    assert len(verdicts) == 150 and all(set(v) == VERDICT_KEYS for v in verdicts)
    labels = sample_labels(150, 99, 0.1)
    flagged = {v["session"] for v in verdicts if v["verdict"] == "anomalous"}
    truly = {b for b, bad in labels.items() if bad}
    assert len(flagged & truly) >= len(truly) // 2  # most real anomalies are caught
    assert all(v["decided_by"] == "small_model" for v in verdicts)
    lines = sorted(n for v in verdicts for n in v["lines"])
    assert lines == list(range(1, len(lines) + 1))  # every line in exactly one verdict


def test_scan_text_and_only_anomalies(trained: tuple[Path, Path], tmp_path: Path,
                                      call_main: CallMain) -> None:
    bundle, _ = trained
    log = write_sample(tmp_path / "new.log", 120, 5, 0.1)
    text = call_main(["scan", str(log), "--model", str(bundle), "-q", "--color", "never"])
    assert "ANOMALY" in text.out and "sequences," in text.out and "anomalies over the input" \
        in text.out
    only = call_main(["scan", str(log), "--model", str(bundle), "-o", "jsonl",
                      "--only-anomalies", "-q"])
    assert only.out and all(json.loads(x)["verdict"] == "anomalous"
                            for x in only.out.splitlines())


def test_scan_of_clean_logs_exits_0(trained: tuple[Path, Path], tmp_path: Path,
                                    call_main: CallMain) -> None:
    bundle, _ = trained
    log = write_sample(tmp_path / "clean.log", 60, 3, 0.0)
    result = call_main(["scan", str(log), "--model", str(bundle), "-o", "jsonl", "-q"])
    flagged = [json.loads(x) for x in result.out.splitlines()
               if json.loads(x)["verdict"] == "anomalous"]
    assert result.code == (1 if flagged else 0)
    assert len(flagged) <= 6  # at most a few false alarms on normal blocks


def test_eval_reports_scores(trained: tuple[Path, Path], call_main: CallMain) -> None:
    bundle, log = trained
    result = call_main(["eval", str(log), "--labels", str(log.with_suffix(".csv")),
                        "--model", str(bundle), "--split", "chrono:0.75", "-o", "json", "-q"])
    assert result.code == 0, result.err
    report = json.loads(result.out)[0]
    assert report["test_sequences"] == 100
    assert {"precision", "recall", "f1", "tp", "fp", "fn", "tn", "evolved_fraction",
            "sequences_per_second", "test_in_train_verbatim"} <= set(report)


def test_eval_plot_draws_a_png(trained: tuple[Path, Path], tmp_path: Path,
                               call_main: CallMain) -> None:
    bundle, log = trained
    png = tmp_path / "report.png"
    result = call_main(["eval", str(log), "--labels", str(log.with_suffix(".csv")),
                        "--model", str(bundle), "--split", "chrono:0.75", "--plot", str(png),
                        "-q"])
    assert result.code == 0, result.err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_unlabeled_baseline_flags_unfamiliar_blocks(tmp_path: Path, call_main: CallMain) -> None:
    normal = write_sample(tmp_path / "normal.log", 300, 8, 0.0)
    trained = call_main(["train", str(normal), "--unlabeled", "--name", "base", "--split",
                         "chrono:0.9"])
    assert trained.code == 0, trained.err
    assert "held-out 30 sequences" in trained.err
    log = write_sample(tmp_path / "new.log", 100, 13, 0.15)
    result = call_main(["scan", str(log), "--model", "base", "-o", "jsonl", "-q"])
    verdicts = [json.loads(x) for x in result.out.splitlines()]
    flagged = {v["session"] for v in verdicts if v["verdict"] == "anomalous"}
    truly = {b for b, bad in sample_labels(100, 13, 0.15).items() if bad}
    assert truly and len(flagged & truly) >= len(truly) // 2
    assert len(flagged - truly) <= 10


def test_unlabeled_training_with_labels_uses_them_only_to_score(
        tmp_path: Path, call_main: CallMain) -> None:
    log = write_sample(tmp_path / "mixed.log", 200, 5, 0.1)
    plain = call_main(["train", str(log), "--unlabeled", "--name", "plain", "--split",
                       "chrono:0.8", "-q"])
    assert plain.code == 0, plain.err
    scored = call_main(["train", str(log), "--labels", str(log.with_suffix(".csv")),
                        "--unlabeled", "--name", "scored", "--split", "chrono:0.8"])
    assert scored.code == 0, scored.err
    assert "labels only score the held-out part" in scored.err
    assert "held-out 40 sequences: P " in scored.err and " F1 " in scored.err
    models = Path(os.environ["LOGSENTRY_HOME"]) / "data" / "models"
    info = json.loads((models / "scored" / "bundle.json").read_text())
    assert info["kind"] == "unlabeled" and "f1" in info["metrics"]["test"]
    # the same normal memory as without labels: training never read them
    assert (models / "scored" / "memory.npz").read_bytes() == \
        (models / "plain" / "memory.npz").read_bytes()


def test_auto_windows_hold_as_many_records_as_the_model_reads(
        tmp_path: Path, call_main: CallMain) -> None:
    log = tmp_path / "worker.log"
    log.write_text("".join(f"worker {i % 5} finished job {i} in {i % 13} ms\n"
                           if i % 7 else f"worker {i % 5} started job {i}\n"
                           for i in range(400)), encoding="utf-8")
    trained = call_main(["train", str(log), "--log-format", "raw", "--unlabeled",
                         "--max-len", "32", "--name", "short", "-q"])
    assert trained.code == 0, trained.err
    info = json.loads((Path(os.environ["LOGSENTRY_HOME"]) / "data" / "models" / "short" /
                       "bundle.json").read_text())
    assert info["window"] == "fixed:32"  # trained on the windows scan will cut
    result = call_main(["scan", str(log), "--log-format", "raw", "--model", "short",
                        "-o", "jsonl"])
    sizes = [len(json.loads(x)["lines"]) for x in result.out.splitlines()]
    assert sizes == [32] * 12 + [16], result.err
    assert "records the model reads" not in result.err
    wide = call_main(["scan", str(log), "--log-format", "raw", "--model", "short",
                      "--window", "fixed:100", "-o", "jsonl"])
    assert [len(json.loads(x)["lines"]) for x in wide.out.splitlines()] == [100] * 4
    assert "4 sequences hold more than the 32 records the model reads" in wide.err


def test_bad_requests_are_one_line_errors(trained: tuple[Path, Path], tmp_path: Path,
                                          call_main: CallMain) -> None:
    log = write_sample(tmp_path / "x.log", 20, 1, 0.0)
    no_name = call_main(["train", str(log), "--unlabeled"])
    assert no_name.code == 2 and "--name" in no_name.err
    no_labels = call_main(["train", str(log), "--name", "x"])
    assert no_labels.code == 2 and "--unlabeled" in no_labels.err
    unreadable = call_main(["scan", str(tmp_path / "absent.log")])
    assert unreadable.code == 2 and unreadable.out == ""  # no summary of nothing
    assert unreadable.err.count("\n") == 1 and "no such file" in unreadable.err
    missing = call_main(["scan", str(log), "--model", "nope"])
    assert missing.code == 3 and "no model named 'nope'" in missing.err
    assert len(missing.err.strip().splitlines()) == 1


def test_tampered_bundle_is_refused(trained: tuple[Path, Path], tmp_path: Path,
                                    call_main: CallMain) -> None:
    import shutil

    bundle, _ = trained
    copy = tmp_path / "copy"
    shutil.copytree(bundle, copy)
    (copy / "logmoe.onnx").write_bytes(b"not a model")
    log = write_sample(tmp_path / "x.log", 10, 1, 0.0)
    result = call_main(["scan", str(log), "--model", str(copy)])
    assert result.code == 3 and "sha256 mismatch" in result.err


def test_scan_does_not_import_torch(trained: tuple[Path, Path], tmp_path: Path,
                                    isolated_home: Path) -> None:
    bundle, _ = trained
    log = write_sample(tmp_path / "x.log", 30, 2, 0.1)
    code = (
        "import sys\n"
        "from logsentry.cli import main\n"
        "try:\n"
        f"    main(['scan', {str(log)!r}, '--model', {str(bundle)!r}, '-q', '-o', 'jsonl'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in {'torch', 'transformers'})\n"
        "sys.stderr.write(repr(heavy))\n"
    )
    env = dict(os.environ, LOGSENTRY_HOME=str(isolated_home), OMP_WAIT_POLICY="PASSIVE")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.stderr.strip().endswith("[]"), done.stderr[-500:]


def test_quick_start_scan_with_the_shipped_default_bundle(tmp_path: Path,
                                                          call_main: CallMain) -> None:
    """The README's first command: the generated sample, the shipped default model."""
    log = tmp_path / "sample.log"
    log.write_text("\n".join(sample_lines()) + "\n", encoding="utf-8")
    result = call_main(["scan", str(log), "-o", "jsonl", "-q"])
    assert result.code == 1, result.err
    verdicts = [json.loads(x) for x in result.out.splitlines()]
    assert len(verdicts) == 200 and {v["model"].split("@")[0] for v in verdicts} == {"default"}
    flagged = {v["session"] for v in verdicts if v["verdict"] == "anomalous"}
    truly = {b for b, bad in sample_labels().items() if bad}
    assert len(flagged & truly) >= 3 and len(flagged - truly) <= 2
    listing = call_main(["models", "list"])
    assert "* default" in listing.out and "shipped" in listing.out


def test_train_and_eval_on_several_data_sets(tmp_path: Path, call_main: CallMain,
                                             shared_data: Path) -> None:
    hdfs = write_sample(tmp_path / "a.log", 300, 4, 0.1)
    bgl = shared_data / "loghub2k" / "BGL" / "BGL_2k.log"
    sets = ["--dataset", f"path={hdfs},format=hdfs,labels={hdfs.with_suffix('.csv')}",
            "--dataset", f"path={bgl},format=bgl,window=fixed:20,label-field=label"]
    trained = call_main(["train", *sets, "--name", "two", "--epochs", "6", "--split",
                         "chrono:0.8", "-q"])
    assert trained.code == 0, trained.err
    shown = json.loads(call_main(["models", "show", "two"]).out)[0]["info"]
    assert [d["format"] for d in shown["data"]["datasets"]] == ["hdfs", "bgl"]
    assert [d["test"] for d in shown["data"]["datasets"]] == [60, 20]
    result = call_main(["eval", *sets, "--model", "two", "-o", "json", "-q"])
    assert result.code == 0, result.err
    report = json.loads(result.out)[0]
    assert [r["test_sequences"] for r in report["datasets"]] == [60, 20]
    assert report["overall"]["tp"] + report["overall"]["fn"] == sum(
        r["test_anomalous"] for r in report["datasets"])
    everything = call_main(["eval", "--dataset", sets[3], "--model", "two", "--split",
                            "chrono:0", "-o", "json", "-q"])
    assert json.loads(everything.out)[0]["test_sequences"] == 100


def test_dataset_option_errors(call_main: CallMain, tmp_path: Path) -> None:
    bad = call_main(["train", "--dataset", "format=hdfs", "--name", "x"])
    assert bad.code == 2 and "path=FILE is required" in bad.err
    odd = call_main(["train", "--dataset", "path=x.log,colour=red", "--name", "x"])
    assert odd.code == 2 and "--dataset" in odd.err
    mixed = call_main(["train", str(tmp_path / "x.log"), "--dataset", "path=y.log",
                       "--name", "x", "--unlabeled"])
    assert mixed.code == 2 and "inside each --dataset" in mixed.err


def test_template_sequence_files_train_and_eval(tmp_path: Path, call_main: CallMain) -> None:
    rows = []
    for i in range(200):
        bad = i % 10 == 0
        templates = ["Receiving block <*>", "Received block <*>", "PacketResponder <*> terminating"]
        if bad:
            templates.append("Exception in receiveBlock for block <*>")
        rows.append(json.dumps({"block_id": f"blk_{i}", "label": int(bad), "templates": templates}))
    path = tmp_path / "seqs.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    trained = call_main(["train", "--dataset", f"sequences={path}", "--name", "seq",
                         "--epochs", "8", "--split", "chrono:0.8", "-q"])
    assert trained.code == 0, trained.err
    result = call_main(["eval", "--dataset", f"sequences={path}", "--model", "seq",
                        "-o", "json", "-q"])
    report = json.loads(result.out)[0]
    assert report["test_sequences"] == 40 and report["f1"] == 1.0
    path.write_text('{"templates": "not a list"\n', encoding="utf-8")
    broken = call_main(["eval", "--dataset", f"sequences={path}", "--model", "seq"])
    assert broken.code == 2 and "seqs.jsonl:1" in broken.err


def test_models_use_switches_the_active_bundle(tmp_path: Path, call_main: CallMain,
                                               isolated_home: Path) -> None:
    normal = write_sample(tmp_path / "n.log", 60, 2, 0.0)
    assert call_main(["train", str(normal), "--unlabeled", "--name", "mine", "-q"]).code == 0
    assert call_main(["models", "use", "mine"]).code == 0
    assert (isolated_home / "data" / "models" / "ACTIVE").read_text().strip() == "mine"
    listing = call_main(["models", "list", "-o", "jsonl"]).out
    active = [json.loads(x)["name"] for x in listing.splitlines() if json.loads(x)["active"]]
    assert active == ["mine"]
    scanned = call_main(["scan", str(normal), "-o", "jsonl", "-q"])
    assert all(json.loads(x)["model"].startswith("mine@") for x in scanned.out.splitlines())
    (isolated_home / "data" / "models" / "mine" / "templates.json").write_text("[]")
    refused = call_main(["models", "use", "mine"])
    assert refused.code == 3 and "sha256 mismatch" in refused.err


def test_cross_system_eval_trains_on_some_and_scores_another(tmp_path: Path,
                                                             call_main: CallMain) -> None:
    train = write_sample(tmp_path / "train.log", 200, 31, 0.15)
    other = write_sample(tmp_path / "other.log", 80, 32, 0.15)
    result = call_main([
        "eval", "--train-on", f"path={train},format=hdfs,labels={train.with_suffix('.csv')}",
        "--test-on", f"path={other},format=hdfs,labels={other.with_suffix('.csv')}",
        "-o", "json", "-q"])
    assert result.code == 0, result.err
    report = json.loads(result.out)[0]
    assert report["model"] == "cross-system" and report["split"] == "chrono:0"
    assert report["test_sequences"] == 80
    alone = call_main(["eval", "--train-on", f"path={train},format=hdfs"])
    assert alone.code == 2 and "--test-on" in alone.err
