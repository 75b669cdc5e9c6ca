"""The quickstart end to end: real CLI, real engine (tiny model), LocalPipelineExecutor with 2 tasks
(and with 1, through `cosmo run`).

The default model on CPU (SmolLM2-135M) writes real text much slower: test_quickstart_smollm2.py runs
it on a few seeds.
"""

import json
from pathlib import Path

import datasets
import orjson
import pytest
from datatrove.data import Document

from cosmo_blocks.filters import quality_filters
from cosmo_blocks.keys import OUTPUT_COLUMNS
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.seeds.sources import seed_data_of
from tests.conftest import SAMPLE_SEEDS, read_jsonl, run_quickstart, run_steps

pytestmark = pytest.mark.engine
FORMATS = {"textbook", "blogpost", "story", "wikihow", "forum_qa"}
# the chain's rejects folders, in order
FILTERS = ("length", "language", "completeness", "repetition", "degeneration", "meta", "code")


def load_stats(output: Path) -> list[dict]:
    return json.loads((output / "logs" / "stats.json").read_text())


def totals(step: dict) -> dict:
    return {k: v["total"] if isinstance(v, dict) else v for k, v in step["stats"].items()}


@pytest.fixture
def runs(quickstart_runs):
    """The quickstart twice (tests/conftest.py): 2 tasks as a script with the model's short name, and
    1 task through `cosmo run` with a model folder."""
    return quickstart_runs


def records(output: Path, kind: str) -> list[dict]:
    return [r for path in sorted((output / kind).rglob("*.jsonl")) for r in read_jsonl(path)]


def raw_seeds() -> dict[str, dict]:
    """The bundled seeds file as written, keyed as SeedReader names seeds (`id`, else file@offset)."""
    seeds, offset = {}, 0
    for line in SAMPLE_SEEDS.read_bytes().splitlines(keepends=True):
        if line.strip():
            record = orjson.loads(line)
            seeds[record.get("id") or f"{SAMPLE_SEEDS.name}@{offset}"] = record
        offset += len(line)
    return seeds


def built_prompts() -> dict[str, dict]:
    """The quickstart's seed, topic and prompt steps run here without an engine: what each record's
    prompt-side fields must be."""
    docs = run_steps([SeedReader(str(SAMPLE_SEEDS)), TopicExtractor(), PromptBuilder(variants=2)])
    return {doc.id: doc.metadata for doc in docs}


def test_it_says_where_output_and_stats_are(runs):
    first, _, result = runs
    assert f"output: {first}" in result.stderr and "stats.json" in result.stderr


def test_schema_ids_and_formats(runs):
    first, second, _ = runs
    kept, rejected = records(first, "data"), records(first, "rejects")
    # the tiny model writes noise, which the filters drop nearly whole; the records show the schema
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
    assert len(filters) == len(FILTERS)
    for stats in filters:  # what came in went on, or was dropped with a named reason
        assert stats.get("total", 0) == flowing  # datatrove writes no total for a step nothing reached
        assert stats.get("dropped", 0) == sum(v for k, v in stats.items() if k.startswith("dropped_"))
        assert stats.get("forwarded", 0) + stats.get("dropped", 0) == flowing
        flowing, dropped = stats.get("forwarded", 0), dropped + stats.get("dropped", 0)
    writer = totals(steps[-1])
    assert len(records(first, "data")) == flowing == writer.get("total", 0)
    assert len(records(first, "rejects")) == dropped


def test_datasets_opens_the_output(runs, tmp_path):
    """Kept records and rejects alike (the tiny model's noise is mostly rejected)."""
    first, _, _ = runs
    for kind, columns in (("data", list(OUTPUT_COLUMNS)), ("rejects", [*OUTPUT_COLUMNS, "filter_reason"])):
        files = sorted(str(p) for p in (first / kind).rglob("*.jsonl"))
        if not files:
            continue
        ds = datasets.load_dataset("json", data_files=files, split="train", cache_dir=str(tmp_path / kind))
        assert ds.column_names == columns
        assert len(ds) == len(records(first, kind))
    assert len(records(first, "data")) + len(records(first, "rejects")) == 60


def test_rerun_skips_completed_tasks(runs):
    first, _, _ = runs
    outputs = [p for kind in ("data", "rejects") for p in (first / kind).rglob("*.jsonl")]
    assert outputs
    before = {p: p.stat().st_mtime_ns for p in outputs}
    result = run_quickstart(first, "--model", "tiny")
    assert "already been completed" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in outputs} == before


def test_records_match_their_seeds_and_the_prompts_built_for_them(runs):
    first, _, _ = runs
    seeds, prompts = raw_seeds(), built_prompts()
    everything = records(first, "data") + records(first, "rejects")
    assert sorted(r["id"] for r in everything) == sorted(prompts)
    for record in everything:
        built, seed = prompts[record["id"]], seeds[record["seed_id"]]
        assert record["seed_id"] == built["seed_id"] == record["id"].rsplit("/", 1)[0]
        assert record["seed_data"] == seed_data_of(seed["source"])
        assert record["topic"] == built["topic"] == (seed.get("title") or built["topic"])
        assert record["language"] == "en"
        for field in ("format", "audience", "prompt"):
            assert record[field] == built[field], (record["id"], field)


def test_rejects_carry_the_reason_their_filter_gives(runs):
    """Each reject, fed again to a fresh copy of the filter that dropped it, is dropped for the same
    reason; per filter, the reasons in its folder add up to its dropped_<reason> stats."""
    first, _, _ = runs
    filters = dict(zip(FILTERS, quality_filters()[1:], strict=True))
    stats = [totals(s) for s in load_stats(first) if "FILTER" in s["name"]]
    for (name, block), step_stats in zip(filters.items(), stats, strict=True):
        rejected = records(first / "rejects", name)
        reasons = {}
        for record in rejected:
            metadata = {k: v for k, v in record.items() if k not in ("text", "id")}
            verdict = block.filter(Document(text=record["text"], id=record["id"], metadata=metadata))
            assert verdict == (False, record["filter_reason"]), (name, record["id"])
            reasons[record["filter_reason"]] = reasons.get(record["filter_reason"], 0) + 1
        dropped = {k.removeprefix("dropped_"): v for k, v in step_stats.items() if k.startswith("dropped_")}
        assert reasons == dropped, name
