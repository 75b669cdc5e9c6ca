"""The topic-discovery recipes end to end on real Debian documentation, with SmolLM2-135M on CPU.

web_topics: fit clusters -> the LLM labels them -> seeds assigned and written about.
topics_v2: an FTS index -> a taxonomy grown and enriched by the LLM -> pages retrieved per topic ->
textbooks. A few seeds and topics only: the real model writes a few hundred tokens/s on two cores.
"""

import json
from pathlib import Path

import pytest

from tests.conftest import read_jsonl, run_cli
from tests.topics.conftest import debian_builder, debian_corpus  # noqa: F401  (fixtures)

pytestmark = pytest.mark.engine


# The recipe scripts themselves, run by a wrapper that stops the generate stage's documents at SHORT
# tokens instead of the small preset's 768: SmolLM2 decodes ~6 steps/s on two loaded cores, so full
# length cost over two minutes a run, and no check here reads a text beyond its start. The stages
# that answer in JSON keep the preset; that a run without --model gets SmolLM2 and its small preset
# is tests/pipelines/test_quickstart_smollm2.py's check.
SHORT = 128
SHORT_GENERATION = f"""
import sys

from cosmo_blocks.cli import pipeline_main
from cosmo_blocks.generation.base import GenerationBlock
from cosmo_blocks.generation.sampling import SMALL_MODEL_PRESET, resolve_sampling
from cosmo_blocks.run import load_build


def build(opts):
    stages = load_build(RECIPE)(opts)
    (generate,) = [stage for stage in stages if stage.name == "generate"]
    (generator,) = [step for step in generate.steps if isinstance(step, GenerationBlock)]
    generator.sampling = resolve_sampling({{"preset": SMALL_MODEL_PRESET, "max_tokens": {SHORT}}})
    return stages


# vLLM's engine core starts by spawn, which imports this script again: only the first run parses argv
if __name__ == "__main__":
    RECIPE = sys.argv.pop(1)
    pipeline_main(build)
"""


def run_recipe(script: str, tmp_path: Path, *args: str):
    wrapper = tmp_path / "short_generation.py"
    wrapper.write_text(SHORT_GENERATION)
    result = run_cli(str(wrapper), script, *args, timeout=1500)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def records(folder: Path) -> list[dict]:
    return [r for path in sorted(folder.rglob("*.jsonl")) for r in read_jsonl(path)]


def stage_stats(logdir: Path, stage: str) -> dict:
    """{step name: {stat: total}} of a stage's task 0."""
    steps = json.loads((logdir / stage / "stats" / "00000.json").read_text())
    return {
        step["name"]: {k: v["total"] if isinstance(v, dict) else v for k, v in step["stats"].items()}
        for step in steps
    }


def step(stats: dict, name: str) -> dict:
    (found,) = [v for k, v in stats.items() if name in k]
    return found


def test_web_topics_clusters_labels_and_writes_within_the_topics(debian_corpus, tmp_path):  # noqa: F811
    out = tmp_path / "web"
    args = ["--seeds", str(debian_corpus), "--output", str(out), "--limit", "6"]
    run_recipe("pipelines/web_topics.py", tmp_path, *args, "--param", "min_score=0", "--param", "deny=[]")

    labels = json.loads((out / "topics" / "clusters" / "labels.json").read_text())
    fit = json.loads((out / "topics" / "clusters" / "fit.json").read_text())
    assert fit["n_clusters"] >= 3
    label_stats = step(stage_stats(out / "logs", "label"), "labeller")
    assert label_stats["asked"] == label_stats["answered"] == fit["n_clusters"]  # structured: all parse
    topics = {entry["topic"] for entry in labels["labels"].values()}
    assign = step(stage_stats(out / "logs", "generate"), "assign")
    dropped = sum(v for k, v in assign.items() if k.startswith("dropped_"))
    assert assign.get("assigned", 0) + dropped == 6
    written = records(out / "data") + records(out / "rejects")
    assert len(written) == assign.get("assigned", 0)
    for record in written:
        assert record["text"] and record["seed_id"] and record["topic"] in topics


def test_topics_v2_grows_retrieves_and_writes_textbooks(debian_corpus, tmp_path):  # noqa: F811
    taxonomy = tmp_path / "taxonomy.txt"
    taxonomy.write_text(
        "Operating Systems > Processes > Creating processes with fork and exec\n"
        "Python Programming > Text Processing > Regular expressions\n"
    )
    out = tmp_path / "v2"
    params = [f"taxonomy={taxonomy}", "expand=1", "pages_per_topic=1"]
    args = ["--seeds", str(debian_corpus), "--output", str(out)]
    run_recipe("pipelines/topics_v2.py", tmp_path, *args, *[a for p in params for a in ("--param", p)])

    topics = records(out / "topics" / "enriched")
    assert 2 <= len(topics) <= 4  # the two given, and at most one new subtopic each
    for topic in topics:
        meta = topic["metadata"]
        assert meta["related_concepts"] and meta["difficulty"] and isinstance(meta["prerequisites"], list)
    # a model that names only the topic itself as its prerequisite leaves the list empty, counted
    enrich = step(stage_stats(out / "logs", "enrich"), "enrichment (LLM)")
    empty = sum(not t["metadata"]["prerequisites"] for t in topics)
    assert empty == enrich.get("empty_prerequisites", 0) < len(topics)
    retrieval = step(stage_stats(out / "logs", "generate"), "retrieval")
    assert retrieval["topics"] == len(topics) and retrieval["pages"] >= 2
    written = records(out / "data") + records(out / "rejects")
    assert len(written) == retrieval["pages"]
    given = {line.split(" > ")[-1] for line in taxonomy.read_text().splitlines()}
    assert {r["format"] for r in written} == {"textbook"}
    assert given <= {r["topic"].split(" > ")[-1] for r in written} | {
        t["metadata"]["subtopic"] for t in topics
    }
