"""`cosmo status` and stages on local runs (the SLURM side is in tests/executors/test_slurm.py)."""

import os
import sys
from datetime import datetime
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner
from datatrove.utils.stats import PipelineStats, Stats

sys.path.insert(0, str(Path(__file__).parent / "executors"))

from steps import FailOnRank  # noqa: E402

from cosmo_blocks.cli import main  # noqa: E402
from cosmo_blocks.run import RunOptions, Stage, run_pipeline  # noqa: E402
from cosmo_blocks.run.summary import LOG_TIME_FORMAT  # noqa: E402
from cosmo_blocks.status import render  # noqa: E402


def two_stages(fail_rank):
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    from cosmo_blocks.seeds import SeedReader

    def build(opts):
        return [
            Stage(
                "copy",
                [
                    SeedReader(opts.seeds),
                    FailOnRank(fail_rank),
                    JsonlWriter(f"{opts.output}/copy", compression=None),
                ],
                tasks=3,
            ),
            Stage(
                "merge", [JsonlReader(f"{opts.output}/copy"), JsonlWriter(f"{opts.output}/merged")], tasks=1
            ),
        ]

    return build


def test_local_stages_run_in_order_and_status(tmp_path, sample_seeds):
    opts = RunOptions(seeds=str(sample_seeds), output=str(tmp_path / "o"), workers=1)
    run_pipeline(two_stages(None), opts)
    assert list((tmp_path / "o" / "merged").glob("*"))
    text = render(opts.logging_dir)
    assert "stage copy: 3 tasks: 3 completed, 0 failed" in text
    assert "stage merge: 1 tasks: 1 completed" in text


def test_failed_local_stage_stops_the_run_and_is_reported(tmp_path, sample_seeds):
    opts = RunOptions(seeds=str(sample_seeds), output=str(tmp_path / "o"), workers=1)
    with pytest.raises(Exception, match="injected failure in rank 1"):
        run_pipeline(two_stages(1), opts)
    assert not (tmp_path / "o" / "merged").exists()
    result = CliRunner().invoke(main, ["status", opts.logging_dir])
    assert result.exit_code == 0, result.output
    assert "stage copy: 3 tasks: 1 completed, 1 failed" in result.output  # workers=1: rank 2 never ran
    assert "1 not started" in result.output
    assert "injected failure in rank 1" in result.output


T0 = 1_764_240_000.0  # when the hand-made runs below started


def log_line(when: float, message: str) -> str:
    stamp = datetime.fromtimestamp(when).strftime(LOG_TIME_FORMAT)[:-3]
    return f"{stamp} | INFO     | cosmo_blocks.generation - {message}\n"


def write_journal(logdir: Path, rank: int, docs: int, mtime: float, torn: bool = False) -> None:
    lines = b"".join(
        orjson.dumps({"id": f"{rank}-{i}", "token_length": 100, "prompt_tokens": 20}) + b"\n"
        for i in range(docs)
    )
    path = logdir / "journal" / f"{rank:05d}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lines + (b'{"id": "torn' if torn else b""))
    os.utime(path, (mtime, mtime))


def local_run(tmp_path: Path, tasks: int) -> Path:
    logdir = tmp_path / "logs"
    for sub in ("completions", "logs", "stats"):
        (logdir / sub).mkdir(parents=True)
    (logdir / "executor.json").write_text(f'{{"world_size": {tasks}}}')
    return logdir


def test_status_counts_journals_and_estimates_eta(tmp_path):
    """Journals (with a torn last line) and completion markers as a generation run leaves them."""
    logdir = local_run(tmp_path, 4)
    for rank, docs in ((0, 10), (1, 4)):
        write_journal(logdir, rank, docs, mtime=T0 + 14, torn=rank == 1)
        (logdir / "logs" / f"task_{rank:05d}.log").write_text(log_line(T0, "Launching pipeline"))
    (logdir / "completions" / "00000").touch()
    text = render(logdir)
    assert "stage main: 4 tasks: 1 completed, 0 failed" in text
    assert "1 started" in text and "2 not started" in text
    assert "generated: 14 documents, 1400 tokens (280 prompt tokens) in 2 task journal(s)" in text
    # 14 documents in the 14 s from the first task's start to the newest journal write
    assert "progress: 14/40 documents (estimated from completed tasks), 1.00 documents/s" in text
    assert "ETA 26s" in text
    assert "progress: 14/100 documents, 1.00 documents/s since the run started; ETA 1m26s" in render(
        logdir, total=100
    )


def test_status_keeps_engine_start_apart_from_generation_and_counts_kept(tmp_path):
    """Task 0 completed (its stats say 20 s start, 1000 tokens in 10 s); task 1 runs: its engine was
    ready 30 s after it started and its journal's newest write 10 s later holds 500 tokens."""
    logdir = local_run(tmp_path, 2)
    gen, length, writer = (
        Stats(n) for n in ("🤖 - GENERATION: 🤖 vLLM", "🔻 - FILTER: 📏 Length", "💽 - WRITER: 🐿 Jsonl")
    )
    gen.stats["generated"].update(10)
    gen.stats["generated_tokens"].update(1000)
    gen.stats["engine_start_seconds"].update(20.0, unit="task")
    gen.stats["generation_seconds"].update(10.0, unit="task")
    length.stats["dropped_too_short_chars"].update(2)
    writer.stats["total"].update(8)
    (logdir / "stats" / "00000.json").write_text(PipelineStats([gen, length, writer]).to_json())
    (logdir / "completions" / "00000").touch()
    (logdir / "logs" / "task_00000.log").write_text(log_line(T0 - 100, "Launching pipeline"))
    write_journal(logdir, 0, 10, mtime=T0 - 70)
    (logdir / "logs" / "task_00001.log").write_text(
        log_line(T0, "Launching pipeline")
        + log_line(T0 + 0.5, "starting vLLM engine for tiny")
        + log_line(T0 + 30, "engine ready in 29.5s (context 4096 tokens)")
    )
    write_journal(logdir, 1, 5, mtime=T0 + 40)

    text = render(logdir)
    assert "stage main: 2 tasks: 1 completed, 0 failed, 0 running, 0 pending, 1 started" in text
    assert (
        "kept: 8, dropped: 2 (Length: too_short_chars 2), skipped: 0 (stats of 1 completed task(s))" in text
    )
    assert "engine start: 24.8s per engine (2 engine(s))" in text  # (20 + 29.5) / 2
    # (1000 + 500) tokens in (10 + 10) s of generation
    assert "generation: 75 generated tokens/s per engine, start-up excluded" in text


def test_a_finished_run_without_summary_gets_one(tmp_path):
    """A SLURM run ends in datatrove's merge_stats job, not in our process: status writes summary.json."""
    logdir = local_run(tmp_path, 1)
    writer = Stats("💽 - WRITER: 🐿 Jsonl")
    writer.stats["total"].update(3)
    (logdir / "stats" / "00000.json").write_text(PipelineStats([writer]).to_json())
    (logdir / "logs" / "task_00000.log").write_text(log_line(T0, "Launching pipeline"))
    (logdir / "completions" / "00000").touch()
    assert "summary" not in render(logdir)  # not finished until datatrove merged the stats
    (logdir / "stats.json").write_text(PipelineStats([writer]).to_json())

    assert f"summary: {logdir / 'summary.json'} (written now" in render(logdir)
    assert orjson.loads((logdir / "summary.json").read_bytes())["kept"] == 3
    (logdir / "summary.json").write_text('{"kept": 3, "as": "the run wrote it"}')
    assert f"summary: {logdir / 'summary.json'}\n" in render(logdir) + "\n"
    assert orjson.loads((logdir / "summary.json").read_bytes())["as"] == "the run wrote it"


def test_a_started_task_is_running_while_its_command_lives_and_interrupted_after(tmp_path):
    """A blocking run (local, Ray) records its command's pid: a task with a log and no completion is
    running while that process lives, and interrupted (rerun to resume) once it is gone."""
    import subprocess

    from cosmo_blocks.run.record import RunRecord, StageRecord, process_start

    logdir = local_run(tmp_path, 2)
    (logdir / "logs" / "task_00000.log").write_text(log_line(T0, "Launching pipeline"))
    command = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    driver = {"host": os.uname().nodename, "pid": command.pid, "start": process_start(command.pid)}
    RunRecord("ray", T0, [StageRecord("main", str(logdir), 2)], driver=driver).write(logdir)
    assert "stage main: 2 tasks: 0 completed, 0 failed, 1 running, 0 pending, 1 not started" in render(logdir)
    command.kill()
    command.wait()
    text = render(logdir)
    assert "0 running, 0 pending, 1 interrupted, 1 not started" in text
    assert "the command that ran these tasks is gone: run the same command again" in text
