"""VLLMGenerator with the real engine: skips, metadata, journal, resume, engine kills, reproducibility.

Engine starts cost ~15-25 s on CPU, so each module fixture runs one pipeline and several tests
assert on it.
"""

import re
import shutil

import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.generation import VLLMGenerator
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.seeds import TopicExtractor
from tests.generation.gen_helpers import (
    ENGINE_KWARGS,
    documents,
    kill_engine_processes,
    prompt_records,
    read_jsonl,
    stats_of,
)

pytestmark = pytest.mark.engine

SAMPLING = {"max_tokens": 128}
N = 40


def generator(model, journal_dir, **kwargs) -> VLLMGenerator:
    options = {"sampling": SAMPLING, "engine_kwargs": ENGINE_KWARGS, "seed": 7, "progress_interval": 0.2}
    return VLLMGenerator(model, journal_dir=journal_dir, **(options | kwargs))


def long_seed_document() -> Document:
    """A seed ~100x the model's context, through topic extraction and prompt building."""
    text = " ".join(f"Sentence {i} explains how plants turn light into energy." for i in range(8000))
    seed = Document(text=text, id="longseed", metadata={keys.SEED_ID: "longseed", keys.SEED_DATA: "generic"})
    return next(iter(PromptBuilder()(TopicExtractor()([seed]))))


def collect(block, docs, kill_after: int | None = None) -> tuple[list[Document], int | None]:
    """Run the block over docs; kill the engine process once `kill_after` documents came out.

    Returns the documents and how many had come out at the kill. The block's generator is closed
    even when an assertion fails midway, so its engine does not outlive the test.
    """
    out, out_at_kill = [], None
    run = block(docs)
    try:
        for doc in run:
            out.append(doc)
            if len(out) == kill_after:
                assert kill_engine_processes(), "no engine process to kill"
                out_at_kill = len(out)
    finally:
        run.close()
    return out, out_at_kill


@pytest.fixture(scope="module")
def first(tiny_model, tmp_path_factory):
    """40 prompts plus one too long for the context, a duplicate id, one without prompt, a huge seed."""
    from datatrove.utils.logging import logger

    journal = tmp_path_factory.mktemp("first") / "journal"
    docs = documents(prompt_records(N))
    docs += [
        Document(text="", id="too_long", metadata={keys.PROMPT: "word " * 6000}),
        Document(text="", id="p0000", metadata={keys.PROMPT: "a second document with the same id"}),
        Document(text="", id="no_prompt", metadata={}),
        long_seed_document(),
    ]
    lines = []
    sink = logger.add(lambda m: lines.append(str(m)), level="INFO")
    block = generator(tiny_model, journal)
    try:
        out, _ = collect(block, docs)
    finally:
        logger.remove(sink)
    by_id = {d.id: d for d in out}
    by_id["longseed"] = next(d for d in out if d.metadata.get(keys.SEED_ID) == "longseed")
    return {"out": by_id, "stats": stats_of(block), "journal": journal, "logs": lines}


def test_skips_are_counted_and_the_rest_complete(first):
    stats = first["stats"]
    assert stats["skipped_prompt_too_long"] == 1
    assert stats["skipped_duplicate_id"] == 1
    assert stats["skipped_no_prompt"] == 1
    assert stats["generated"] == N + 1
    assert len(first["out"]) == N + 2  # the huge seed's document under its own id and "longseed"


def test_huge_seed_yields_a_prompt_within_context(first):
    doc = first["out"]["longseed"]
    assert len(doc.metadata[keys.PROMPT]) < 3000
    assert 0 < doc.metadata[keys.PROMPT_TOKENS] < ENGINE_KWARGS["max_model_len"]
    assert doc.metadata[keys.TOKEN_LENGTH] > 0


def test_metadata_and_stats(first, tiny_model):
    docs = {d.id: d for d in first["out"].values()}.values()
    for doc in docs:
        meta = doc.metadata
        assert meta[keys.MODEL] == tiny_model
        assert meta[keys.FINISH_REASON] in ("stop", "length")
        assert meta[keys.PROMPT_TOKENS] > 20
        assert 0 < meta[keys.TOKEN_LENGTH] <= SAMPLING["max_tokens"]
        assert doc.text
    stats = first["stats"]
    assert stats["finish_reason_stop"] + stats["finish_reason_length"] == N + 1
    assert stats["generated_tokens"] == sum(d.metadata[keys.TOKEN_LENGTH] for d in docs)
    assert stats["prompt_tokens"] == sum(d.metadata[keys.PROMPT_TOKENS] for d in docs)
    assert stats["generated_tokens_per_second"] > 0
    assert "engine_restarts" not in stats and "resumed_from_journal" not in stats


def test_journal_holds_every_generation_in_the_documented_format(first):
    entries = read_jsonl(first["journal"] / "00000.jsonl")
    assert len(entries) == N + 1
    for entry in entries:
        assert {"id", "key", "time", "text", "finish_reason", "prompt_tokens", "token_length"} <= set(entry)
        assert entry["text"] == first["out"][entry["id"]].text


def test_progress_line(first):
    progress = [line for line in first["logs"] if "tok/s" in line and "docs" in line]
    assert progress, "no progress line logged"
    assert f"{N + 4}/{N + 4} docs" in progress[-1]
    assert "ETA" in progress[-1]


def test_rerun_with_changed_prompts_regenerates_only_those(first, tiny_model, tmp_path):
    journal = tmp_path / "journal"
    shutil.copytree(first["journal"], journal)
    records = prompt_records(N)
    records[1]["prompt"] += " (revised)"
    records[2]["prompt"] += " (revised)"
    block = generator(tiny_model, journal)
    out, _ = collect(block, documents(records[::-1]))  # another input order
    stats = stats_of(block)
    assert stats["resumed_from_journal"] == N - 2
    assert stats["journal_stale_regenerated"] == 2
    assert stats["generated"] == 2
    assert sorted(d.id for d in out) == sorted(r["id"] for r in records)
    for doc in out:
        if doc.id not in ("p0001", "p0002"):
            assert doc.text == first["out"][doc.id].text


def test_changed_sampling_regenerates_and_a_dying_engine_fails_clearly_keeping_the_journal(
    first, tiny_model, tmp_path
):
    """Every journaled prompt is regenerated under new sampling; the engine is killed and may not
    restart (max_engine_restarts=0): the task fails naming the cause, the journal keeps what finished."""
    journal = tmp_path / "journal"
    shutil.copytree(first["journal"], journal)
    block = generator(tiny_model, journal, sampling=SAMPLING | {"temperature": 0.5}, max_engine_restarts=0)
    with pytest.raises(RuntimeError, match=r"engine died 1 times.*rerun of this task resumes"):
        collect(block, documents(prompt_records(N)), kill_after=3)
    stats = stats_of(block)
    assert "resumed_from_journal" not in stats
    assert stats["journal_stale_regenerated"] == N
    assert stats["engine_restarts"] == 1
    entries = read_jsonl(journal / "00000.jsonl")
    assert len(entries) >= N + 1 + 3
    assert {e["key"] for e in entries[N + 1 :]}.isdisjoint({e["key"] for e in entries[: N + 1]})


def test_identical_rerun_resumes_everything_without_an_engine(first, tiny_model, tmp_path):
    journal = tmp_path / "journal"
    shutil.copytree(first["journal"], journal)
    block = generator(tiny_model, journal)
    out, _ = collect(block, documents(prompt_records(N)))
    stats = stats_of(block)
    assert stats["resumed_from_journal"] == N
    assert "generated" not in stats and "engine_start_seconds" not in stats
    assert {d.id: d.text for d in out} == {
        d: first["out"][d].text for d in (r["id"] for r in prompt_records(N))
    }


@pytest.fixture(scope="module")
def killed_engine(tiny_model, tmp_path_factory):
    """The first run's 40 prompts again, fresh journal, engine process killed after 3 documents."""
    from datatrove.utils.logging import logger

    lines = []
    sink = logger.add(lambda m: lines.append(str(m)), level="WARNING")
    block = generator(tiny_model, tmp_path_factory.mktemp("killed") / "journal")
    try:
        out, out_at_kill = collect(block, documents(prompt_records(N)), kill_after=3)
    finally:
        logger.remove(sink)
    resubmitted = [int(n) for line in lines for n in re.findall(r"resubmitting (\d+) requests", line)]
    return {"out": out, "stats": stats_of(block), "out_at_kill": out_at_kill, "resubmitted": resubmitted}


def test_killed_engine_restarts_and_the_rest_comes_out_after_the_kill(killed_engine):
    out, at_kill = killed_engine["out"], killed_engine["out_at_kill"]
    assert at_kill == 3
    before, after = {d.id for d in out[:at_kill]}, {d.id for d in out[at_kill:]}
    assert before.isdisjoint(after) and len(out) == N
    assert before | after == {r["id"] for r in prompt_records(N)}
    # what was in the dead engine went to the new one and came out of it
    assert len(killed_engine["resubmitted"]) == 1 and 0 < killed_engine["resubmitted"][0] <= len(after)
    stats = killed_engine["stats"]
    assert stats["engine_restarts"] == 1
    assert stats["generated"] == N


def test_seed_reproduces_generations_across_runs_and_restarts(first, killed_engine):
    """Same configuration and seed: identical text, also for requests resubmitted after the restart."""
    for doc in killed_engine["out"]:
        assert doc.text == first["out"][doc.id].text, doc.id


def test_seeded_prompts_too_long_for_one_prefill_batch_generate_on_cpu(tiny_model, tmp_path):
    """Prompts that together exceed one step's token budget are prefilled across steps; with a
    per-request seed, vLLM's CPU engine crashed on that (it rewinds the request's generator), three
    engine starts in a row, and the task failed."""
    records = [
        {"id": f"long{i}", "prompt": f"{i} " + "The cell is the unit of life. " * 120} for i in range(16)
    ]
    block = generator(tiny_model, None, sampling={"max_tokens": 4}, max_engine_restarts=0)
    out = list(block.run(documents(records)))
    assert sorted(doc.id for doc in out) == sorted(r["id"] for r in records)
    assert all(doc.metadata[keys.TOKEN_LENGTH] > 0 for doc in out)
