"""`cosmo status` and stages on local runs (the SLURM side is in tests/executors/test_slurm.py)."""

import sys
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent / "executors"))

from steps import FailOnRank  # noqa: E402

from cosmo_blocks.cli import main  # noqa: E402
from cosmo_blocks.run import RunOptions, Stage, run_pipeline  # noqa: E402
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


def test_status_counts_journals_and_estimates_eta(tmp_path):
    """Journals (with a torn last line) and completion markers as a generation run leaves them."""
    logdir = tmp_path / "logs"
    (logdir / "completions").mkdir(parents=True)
    (logdir / "logs").mkdir()
    (logdir / "journal").mkdir()
    (logdir / "executor.json").write_text('{"world_size": 4}')
    for rank, docs in ((0, 10), (1, 4)):
        lines = b"".join(
            orjson.dumps({"id": f"{rank}-{i}", "token_length": 100, "prompt_tokens": 20}) + b"\n"
            for i in range(docs)
        )
        (logdir / "journal" / f"{rank:05d}.jsonl").write_bytes(lines + (b'{"id": "torn' if rank else b""))
        (logdir / "logs" / f"task_{rank:05d}.log").write_text(
            "2020-01-01 12:00:00.000 | INFO     | datatrove - Launching pipeline for rank=0\n"
        )
    (logdir / "completions" / "00000").touch()
    text = render(logdir)
    assert "stage main: 4 tasks: 1 completed, 0 failed" in text
    assert "1 started" in text and "2 not started" in text
    assert "generated: 14 documents, 1400 tokens (280 prompt tokens) in 2 task journal(s)" in text
    assert "progress: 14/40 documents (estimated from completed tasks)" in text
    assert "progress: 14/100 documents; ETA" in render(logdir, total=100)
