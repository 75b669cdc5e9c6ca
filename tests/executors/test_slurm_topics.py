"""The topic-discovery recipes as SLURM arrays on the live one-node cluster: one-task stages (fit, label,
topics, enrich) and sharded ones (index, generate) chained with afterok, on real Debian documentation.

The tiny model answers: its JSON is forced into shape by structured outputs, which is what these runs
check (stages, sharding, artefacts handed from stage to stage); the labels' sense and the subtopics
the LLM adds are SmolLM2's test (tests/pipelines/test_topic_recipes.py), so topics_v2 here grows no
subtopics: its topics stage starts no engine, and every engine start costs tens of seconds.
"""

import json
from pathlib import Path

import pytest

from cosmo_blocks.run.record import RunRecord
from tests.executors.conftest import cosmo, queue_empty, wait_for
from tests.executors.test_slurm import read_jsonl_dir
from tests.topics.conftest import debian_builder, debian_corpus  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slurm


def run_array(pipeline: str, out: Path, tiny_model: str, *args: str) -> list:
    """Submit the recipe as a 2-task array with the tiny model; wait until every stage has left the queue."""
    cmd = ["run", pipeline, "--executor", "slurm-local", "--tasks", "2", "--model", tiny_model]
    res = cosmo(*cmd, "--output", str(out), *args)
    assert res.returncode == 0, res.stderr
    stages = RunRecord.read(out / "logs").stages
    ids = [job for stage in stages for job in stage.job_ids]
    wait_for(lambda: queue_empty(ids), 900, f"the {pipeline} stages")
    for stage in stages:
        done = len(list((Path(stage.logging_dir) / "completions").glob("*")))
        logs = sorted((out / "logs").rglob("slurm_logs/*"))
        assert done == (1 if stage.name in ("fit", "label", "topics", "enrich") else 2), (stage.name, logs)
    return stages


def test_web_topics_as_a_slurm_array(slurm_cluster, tiny_model, debian_corpus, tmp_path):  # noqa: F811
    out = tmp_path / "web"
    params = ["--param", "fit_sample=120", "--param", "min_score=0", "--param", "deny=[]"]
    stages = run_array("web_topics", out, tiny_model, "--seeds", str(debian_corpus), "--limit", "3", *params)
    assert [s.name for s in stages] == ["fit", "label", "generate"]
    fit = json.loads((out / "topics" / "clusters" / "fit.json").read_text())
    labels = json.loads((out / "topics" / "clusters" / "labels.json").read_text())["labels"]
    # a random model's answer may run out of tokens before its JSON closes: that cluster stays unlabelled
    assert fit["n_docs"] == 120 and 1 <= len(labels) <= fit["n_clusters"]
    written = read_jsonl_dir(out / "data") + read_jsonl_dir(out / "rejects")
    topics = {label["topic"] for label in labels.values()}
    assert written and all(r["topic"] in topics for r in written)
    assert len({r["id"] for r in written}) == len(written) <= 6  # 3 seeds per task, 2 tasks


def test_topics_v2_as_a_slurm_array(slurm_cluster, tiny_model, debian_corpus, tmp_path):  # noqa: F811
    taxonomy = tmp_path / "taxonomy.txt"
    taxonomy.write_text(
        "Networking > Internet Protocols > HTTP requests and responses\n"
        "Python Programming > Concurrency > Threads and locks\n"
        "Operating Systems > File Systems > File permissions and ownership\n"
    )
    out = tmp_path / "v2"
    params = ["--param", f"taxonomy={taxonomy}", "--param", "expand=0", "--param", "pages_per_topic=1"]
    stages = run_array("topics_v2", out, tiny_model, "--seeds", str(debian_corpus), *params)
    assert [s.name for s in stages] == ["index", "topics", "enrich", "generate"]
    assert sorted(p.name for p in (out / "topics" / "index").iterdir()) == ["00000.sqlite", "00001.sqlite"]
    topics = read_jsonl_dir(out / "topics" / "enriched")
    assert len(topics) == 3  # the taxonomy's, each through the enrich stage
    written = read_jsonl_dir(out / "data") + read_jsonl_dir(out / "rejects")
    assert len(written) >= 3 and {r["format"] for r in written} == {"textbook"}
    assert len({r["seed_id"] for r in written}) == len(written)  # a page per topic, named by topic and page
