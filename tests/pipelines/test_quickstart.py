"""The quickstart end to end: real CLI, real engine (tiny model), LocalPipelineExecutor with 2 tasks."""

import json
from pathlib import Path

import datasets
import pytest

from cosmo_blocks.keys import OUTPUT_COLUMNS
from tests.conftest import read_jsonl, run_cli

pytestmark = pytest.mark.engine
FORMATS = {"textbook", "blog_post", "story", "wikihow", "forum_qa"}


def run_quickstart(output: Path, *extra: str, via_cosmo_run: bool = False):
    command = ("-m", "cosmo_blocks.cli", "run") if via_cosmo_run else ()
    result = run_cli(
        *command, "pipelines/quickstart.py", "--output", str(output), "--tasks", "2", *extra, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def load_stats(output: Path) -> list[dict]:
    return json.loads((output / "logs" / "stats.json").read_text())


def totals(step: dict) -> dict:
    return {k: v["total"] if isinstance(v, dict) else v for k, v in step["stats"].items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_model):
    """The quickstart twice, in separate folders: once as a script choosing its own model, once
    through `cosmo run` with a model given."""
    first = tmp_path_factory.mktemp("qs1")
    result = run_quickstart(first)
    second = tmp_path_factory.mktemp("qs2")
    run_quickstart(second, "--model", tiny_model, via_cosmo_run=True)
    return first, second, result


def records(output: Path, kind: str) -> list[dict]:
    return [r for path in sorted((output / kind).rglob("*.jsonl")) for r in read_jsonl(path)]


def test_no_gpu_means_the_tiny_model_said_loudly(runs):
    _, _, result = runs
    assert "No GPU found" in result.stderr and "TINY" in result.stderr
    assert "stats.json" in result.stderr  # it tells where output and stats are


def test_schema_ids_and_formats(runs):
    first, second, _ = runs
    kept, rejected = records(first, "data"), records(first, "rejects")
    assert kept, "the length filter kept nothing"
    for record in kept:
        assert list(record) == list(OUTPUT_COLUMNS)
        assert record["text"] and record["prompt"] and record["token_length"] > 0
        assert record["finish_reason"] in {"stop", "length"}
    for record in rejected:
        assert list(record) == list(OUTPUT_COLUMNS) + ["filter_reason"]
    everything = kept + rejected
    ids = [r["id"] for r in everything]
    assert len(ids) == len(set(ids)) == 60  # 30 bundled seeds x 2 variants, each exactly once
    assert {r["format"] for r in everything} == FORMATS
    second_ids = [r["id"] for r in records(second, "data") + records(second, "rejects")]
    assert sorted(second_ids) == sorted(ids)


def test_stats_add_up(runs):
    first, _, _ = runs
    steps = load_stats(first)
    reader, _topics, prompts, generation = (totals(s) for s in steps[:4])
    skipped = sum(v for k, v in reader.items() if k.startswith("skipped_"))
    assert reader["records_read"] == reader["seeds"] + skipped == 30
    assert prompts["prompts"] == 2 * reader["seeds"]
    gen_skipped = sum(v for k, v in generation.items() if k.startswith("skipped_"))
    assert generation.get("generated", 0) + generation.get("resumed_from_journal", 0) + gen_skipped == 60
    flowing, dropped = 60 - gen_skipped, 0
    filters = [totals(s) for s in steps if "FILTER" in s["name"]]
    assert len(filters) == 4  # length, completeness, repetition, code execution
    for stats in filters:  # what came in went on, or was dropped with a named reason
        assert stats["total"] == flowing
        assert stats.get("dropped", 0) == sum(v for k, v in stats.items() if k.startswith("dropped_"))
        assert stats.get("forwarded", 0) + stats.get("dropped", 0) == flowing
        flowing, dropped = stats.get("forwarded", 0), dropped + stats.get("dropped", 0)
    writer = totals(steps[-1])
    assert len(records(first, "data")) == flowing == writer["total"]
    assert len(records(first, "rejects")) == dropped


def test_datasets_opens_the_output(runs, tmp_path):
    first, _, _ = runs
    files = sorted(str(p) for p in (first / "data").rglob("*.jsonl"))
    ds = datasets.load_dataset("json", data_files=files, split="train", cache_dir=str(tmp_path))
    assert ds.column_names == list(OUTPUT_COLUMNS)
    assert len(ds) == len(records(first, "data"))


def test_rerun_skips_completed_tasks(runs):
    first, _, _ = runs
    before = {p: p.stat().st_mtime_ns for p in (first / "data").glob("*.jsonl")}
    result = run_quickstart(first)
    assert "already been completed" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in (first / "data").glob("*.jsonl")} == before
