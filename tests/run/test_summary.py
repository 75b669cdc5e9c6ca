"""The run summary: from hand-made stats with known totals, and from a real quickstart run."""

import json
from collections import Counter
from pathlib import Path

import orjson
import pytest
from datatrove.utils.stats import PipelineStats, Stats

from cosmo_blocks.run.summary import SUMMARY_FILE, format_summary, load_stats, write_summary
from cosmo_blocks.status import engine_ready
from tests.conftest import read_jsonl

STEPS = (
    "📖 - READER: 🌱 Seeds",
    "📝 - PROMPTS: 📝 Prompts",
    "🤖 - GENERATION: 🤖 vLLM",
    "🔻 - FILTER: 📏 Length",
    "🔻 - FILTER: 🔁 Repetition",
    "💽 - WRITER: 🐿 Cosmopedia jsonl",
)


def task_stats(prompts, generated, resumed, no_prompt, engine_start, generation_seconds, short, looped):
    """One task's stats as datatrove writes them, with every document 100 tokens long, prompts 30."""
    steps = {name: Stats(name) for name in STEPS}
    reader, builder, gen, length, repetition, writer = steps.values()
    reader.stats["skipped_bad_json"].update(1)
    builder.stats["prompts"].update(prompts)
    gen.stats["generated"].update(generated)
    gen.stats["resumed_from_journal"].update(resumed)
    gen.stats["skipped_no_prompt"].update(no_prompt)
    for _ in range(generated):
        gen.stats["prompt_tokens"].update(30)
        gen.stats["generated_tokens"].update(100)
    gen.stats["engine_start_seconds"].update(engine_start, unit="task")
    gen.stats["generation_seconds"].update(generation_seconds, unit="task")
    length.stats["dropped_too_short_chars"].update(short)
    repetition.stats["dropped_top_2_gram"].update(looped)
    writer.stats["total"].update(generated + resumed - short - looped)
    return PipelineStats(list(steps.values()))


def write_task(folder: Path, rank: int, stats: PipelineStats):
    (folder / "stats").mkdir(parents=True, exist_ok=True)
    (folder / "stats" / f"{rank:05d}.json").write_text(stats.to_json())
    (folder / "executor.json").write_text(json.dumps({"world_size": 2}))


def test_hand_checked_totals_from_merged_stats(tmp_path):
    # task 0: 10 prompts, 1 without a prompt, 7 generated + 2 from its journal; 3 too short, 1 looped
    # task 1: 6 prompts, 6 generated; 2 too short
    first = task_stats(10, 7, 2, 1, engine_start=20.0, generation_seconds=3.5, short=3, looped=1)
    second = task_stats(6, 6, 0, 0, engine_start=10.0, generation_seconds=3.0, short=2, looped=0)
    write_task(tmp_path, 0, first)
    write_task(tmp_path, 1, second)
    (tmp_path / "stats.json").write_text((first + second).to_json())  # as datatrove merges them

    summary = write_summary(tmp_path, wall_seconds=61.25)
    assert summary == {
        "stages": ["main"],
        "prompts": 16,
        "generated": 13,
        "resumed_from_journal": 2,
        "kept": 9,  # 15 generated or resumed, 5 too short, 1 looped
        "dropped": {"Length": {"too_short_chars": 5}, "Repetition": {"top_2_gram": 1}},
        "skipped": {"Seeds": {"bad_json": 2}, "vLLM": {"no_prompt": 1}},
        "tokens": {"prompt": 390, "generated": 1300},
        "engine_starts": 2,
        "engine_start_seconds": 30.0,
        "generation_seconds": 6.5,
        "generated_tokens_per_second": 200.0,  # 1300 tokens in 6.5 s of generation, start-up apart
        "wall_seconds": 61.2,
    }
    assert orjson.loads((tmp_path / SUMMARY_FILE).read_bytes()) == summary
    text = format_summary(summary)
    assert "prompts: 16  generated: 13 (+2 from the journal)  kept: 9  dropped: 6  skipped: 3" in text
    assert "dropped by filter: Length: too_short_chars 5; Repetition: top_2_gram 1" in text
    assert "skipped: Seeds: bad_json 2; vLLM: no_prompt 1" in text
    assert "engine start: 30.0s (2 engine(s)); generation: 6.5s, 200 generated tokens/s per engine" in text
    assert "wall time: 1m01.2s" in text

    # the completed tasks alone (no stats.json yet): only task 1
    only_second = json.loads(second.to_json())
    assert load_stats(tmp_path, ranks=[1]) == only_second
    (tmp_path / "stats.json").unlink()
    assert write_summary(tmp_path, wall_seconds=1)["kept"] == 9  # merged from the per-task files


def test_stages_are_summed_and_the_last_writer_is_kept(tmp_path):
    logdir = tmp_path / "logs"
    generate = task_stats(4, 4, 0, 0, engine_start=5.0, generation_seconds=2.0, short=1, looped=0)
    write_task(logdir / "generate", 0, generate)
    (logdir / "generate" / "stats.json").write_text(generate.to_json())
    dedup = Stats("🔻 - FILTER: 🎯 MinHash")
    dedup.stats["dropped_duplicate"].update(1)
    writer = Stats("💽 - WRITER: 🐿 Jsonl")
    writer.stats["total"].update(2)
    write_task(logdir / "dedup", 0, PipelineStats([dedup, writer]))
    (logdir / "dedup" / "stats.json").write_text(PipelineStats([dedup, writer]).to_json())

    summary = write_summary(logdir, wall_seconds=None)
    assert summary["stages"] == ["generate", "dedup"]
    assert summary["kept"] == 2
    assert summary["dropped"] == {"Length": {"too_short_chars": 1}, "MinHash": {"duplicate": 1}}
    assert (logdir / SUMMARY_FILE).is_file()


@pytest.mark.engine
def test_summary_of_a_real_quickstart_run(quickstart_runs):
    """One task, one engine, 30 seeds x 2 variants (tests/conftest.py's `cosmo run` of the
    quickstart): the summary agrees with the files the run wrote."""
    _, out, _ = quickstart_runs
    summary = write_summary(out / "logs")
    journal = read_jsonl(out / "logs" / "journal" / "00000.jsonl")
    kept = [r for p in (out / "data").rglob("*.jsonl") for r in read_jsonl(p)]
    rejects = [r for p in (out / "rejects").rglob("*.jsonl") for r in read_jsonl(p)]

    assert summary["prompts"] == 60
    assert summary["generated"] == len(journal) == 60
    assert summary["kept"] == len(kept)
    dropped = Counter()
    for reasons in summary["dropped"].values():
        dropped.update(reasons)
    assert dropped == Counter(r["filter_reason"] for r in rejects)
    assert summary["kept"] + sum(dropped.values()) == 60
    assert summary["tokens"] == {
        "prompt": sum(e["prompt_tokens"] for e in journal),
        "generated": sum(e["token_length"] for e in journal),
    }
    assert summary["engine_starts"] == 1 and summary["engine_start_seconds"] > 1
    rate = summary["generated_tokens_per_second"]
    assert rate == pytest.approx(summary["tokens"]["generated"] / summary["generation_seconds"], rel=0.01)
    # start-up is not in the generation time: both fit in the task's wall time, one after the other
    assert summary["engine_start_seconds"] + summary["generation_seconds"] <= summary["wall_seconds"]
    # what `cosmo status` reads from a running task's log is the same start-up
    _, seconds = engine_ready(out / "logs" / "logs" / "task_00000.log")
    assert seconds == pytest.approx(summary["engine_start_seconds"], abs=0.1)


def test_a_resumed_stage_counts_every_task_not_only_those_that_ran_again(tmp_path):
    first = task_stats(10, 7, 2, 1, engine_start=20.0, generation_seconds=3.5, short=3, looped=1)
    second = task_stats(6, 6, 0, 0, engine_start=10.0, generation_seconds=3.0, short=2, looped=0)
    write_task(tmp_path, 0, first)
    write_task(tmp_path, 1, second)
    # a rerun after task 1 failed: datatrove rewrites stats.json with the tasks it ran, task 1 only
    (tmp_path / "stats.json").write_text(second.to_json())
    assert write_summary(tmp_path)["prompts"] == 16
