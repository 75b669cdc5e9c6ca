"""`cosmo run dataset`: the dataset end (MinHash dedup, decontamination, report, card) as a real run over
generated records, with paraphrased copies and benchmark items planted in real SmolLM2 generations.

The same run folder is what `pipelines/cosmopedia.py` leaves after its generate stage (OUTPUT/generated,
one parquet file per task); the SLURM test runs this recipe as arrays (tests/executors/test_slurm_dataset.py).
"""

import json
import random
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from datatrove.data import Document

from cosmo_blocks.dataset import mix_summary
from cosmo_blocks.writers import CosmopediaParquetWriter
from tests.conftest import read_jsonl, run_cli, write_jsonl
from tests.dataset.test_decontamination import DATA as BENCHMARKS
from tests.dataset.test_decontamination import plant
from tests.dataset.test_dedup import case_and_punctuation, substitute_words
from tests.topics.conftest import debian_builder, debian_corpus, debian_corpus_records  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
GENERATIONS = REPO / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"
COPIED = 12  # originals that get a paraphrased copy
PLANTED = {"mmlu": "whole", "arc": "split"}  # benchmark -> how its first item is pasted into a host


def light_edit(text: str, rng: random.Random) -> str:
    """A copy MinHash catches for sure (Jaccard ~0.95): this test is about the wiring; the recall on
    heavier paraphrases is tests/dataset/test_dedup.py's."""
    return case_and_punctuation(substitute_words(text, rng, count=1), rng)


def write_generated(folder: Path) -> dict:
    """OUTPUT/generated as a 2-task generate stage leaves it, from the long real generations: COPIED of
    them with a paraphrased copy, one host per PLANTED benchmark with its first item pasted in."""
    rng = random.Random(0)
    records = [json.loads(line) for line in GENERATIONS.read_text().splitlines()]
    long = [r for r in records if len(r["text"].split()) >= 200 and r["text"].count("\n\n") >= 2]
    docs = [(f"gen-{i}", r["text"], r["metadata"]) for i, r in enumerate(long)]
    copies = [(f"{doc_id}-copy", light_edit(text, rng), meta) for doc_id, text, meta in docs[:COPIED]]
    hosts = {}
    for offset, (name, way) in enumerate(PLANTED.items()):
        index = COPIED + offset
        item = json.loads((BENCHMARKS / f"{name}.jsonl").read_text().splitlines()[0])
        doc_id, text, meta = docs[index]
        docs[index] = (doc_id, plant(text, docs[-1][1], name, item, way), meta)
        hosts[doc_id] = name
    everything = docs + copies
    rng.shuffle(everything)
    for rank in (0, 1):
        with CosmopediaParquetWriter(str(folder)) as writer:
            for doc_id, text, meta in everything[rank::2]:
                writer.write(Document(text=text, id=doc_id, metadata=dict(meta)), rank=rank)
    return {"docs": [d[0] for d in docs], "copied": [d[0] for d in docs[:COPIED]], "hosts": hosts}


def benchmarks_param() -> str:
    return "benchmarks=" + ";".join(f"{name}={BENCHMARKS / name}.jsonl" for name in PLANTED)


def check_dataset(out: Path, planted: dict) -> None:
    """Every planted copy gone (one of each pair left), every planted item caught under its benchmark's
    name, under 1% of the distinct generations lost; the report and card written."""
    kept = [
        row["id"]
        for path in sorted((out / "data").glob("*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]
    assert len(kept) == len(set(kept))
    for original in planted["copied"]:
        assert (original in kept) + (f"{original}-copy" in kept) == 1, original
    contaminated = [r for path in (out / "contaminated").glob("*.jsonl") for r in read_jsonl(path)]
    assert {r["id"]: r["filter_reason"] for r in contaminated} == {
        doc_id: f"contaminated_{name}" for doc_id, name in planted["hosts"].items()
    }
    distinct_lost = set(planted["docs"]) - set(planted["hosts"]) - set(kept) - set(planted["copied"])
    assert len(distinct_lost) < 0.01 * len(planted["docs"]), distinct_lost
    removed = [r for path in (out / "dedup" / "removed").glob("*.jsonl") for r in read_jsonl(path)]
    assert Counter(r["filter_reason"] for r in removed) == {"duplicate": COPIED + len(distinct_lost)}
    page = (out / "report" / "index.html").read_text()
    checked = len(planted["docs"]) - len(distinct_lost)  # the dedup filter's survivors, then decontaminated
    assert f"Decontamination checked {checked:,} documents and dropped {len(planted['hosts'])}." in page
    assert '<img alt="contamination"' in page and f'removed_cluster_size_2</td><td class="n">{COPIED}' in page
    header = yaml.safe_load((out / "README.md").read_text().split("---")[1])
    assert header["dataset_info"]["splits"][0]["num_examples"] == len(kept)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("run") / "generated"
    return folder, write_generated(folder)


def test_dataset_recipe_locally(generated, tmp_path):
    folder, planted = generated
    out = tmp_path / "out"
    args = ["-m", "cosmo_blocks.cli", "run", "dataset", "--seeds", str(folder), "--output", str(out)]
    result = run_cli(*args, "--tasks", "2", "--workers", "2", "--param", benchmarks_param())
    assert result.returncode == 0, result.stderr[-3000:]
    check_dataset(out, planted)
    stages = [p.name for p in (out / "logs").iterdir() if (p / "stats.json").exists()]
    assert sorted(stages) == sorted(["signatures", "buckets", "clusters", "dedup", "report"])


def test_cosmopedia_recipe_appends_the_dataset_end(sample_seeds, tmp_path):
    out = tmp_path / "out"
    args = ["pipelines/cosmopedia.py", "--seeds", str(sample_seeds), "--output", str(out), "--dry-run"]
    result = run_cli(*args, "--executor", "slurm", "--param", benchmarks_param())
    assert result.returncode == 0, result.stderr[-3000:]
    stages = [
        line.split(":")[0].removeprefix("stage ")
        for line in result.stdout.splitlines()
        if line.startswith("stage ")
    ]
    assert stages == ["generate", "signatures", "buckets", "clusters", "dedup", "report"]
    assert f"reads: {out}/generated" in result.stdout and "BenchmarkDecontaminator" in result.stdout
    assert "partition=cpu" in result.stdout or "--partition=cpu" in result.stdout
    assert not out.exists()


def split_real(records: list[dict], folder: Path) -> Path:
    """The real corpus as two files, so each of two tasks has a shard."""
    for rank in (0, 1):
        write_jsonl(folder / f"{rank:05d}.jsonl", records[rank::2])
    return folder


def check_mix(out: Path, alpha: float) -> None:
    """Both sources in the mixed data, tagged; the achieved alpha (stats, and recounted from the
    records with the same chars/4 estimate the Mixer used for the real side) near the target."""
    rows = [
        row for path in sorted((out / "data").glob("*.parquet")) for row in pq.read_table(path).to_pylist()
    ]
    assert {row["source"] for row in rows} == {"synthetic", "debian"}
    summary = mix_summary(out / "logs")
    assert summary["docs"] == dict(Counter(row["source"] for row in rows))
    assert abs(summary["alpha"] - alpha) < 0.05, summary


def test_mix_recipe_locally(generated, debian_corpus_records, tmp_path):  # noqa: F811
    real = split_real(debian_corpus_records, tmp_path / "real")
    out = tmp_path / "mixed"
    args = [
        "-m",
        "cosmo_blocks.cli",
        "run",
        "mix",
        "--seeds",
        str(real),
        "--output",
        str(out),
        "--tasks",
        "2",
    ]
    params = ["--param", f"synthetic={generated[0]}", "--param", "alpha=0.3", "--param", "real_name=debian"]
    result = run_cli(*args, *params)
    assert result.returncode == 0, result.stderr[-3000:]
    check_mix(out, 0.3)


@pytest.mark.engine
def test_cosmopedia_recipe_runs_every_stage_with_the_tiny_model(tiny_model, sample_seeds, tmp_path):
    """The whole recipe for real: the tiny model's random text is dropped by the filters, so the dataset
    end reads an empty generated/ (no folder at all) and must finish anyway, with a report and no card."""
    out = tmp_path / "out"
    args = ["pipelines/cosmopedia.py", "--seeds", str(sample_seeds), "--limit", "2", "--model", tiny_model]
    result = run_cli(*args, "--output", str(out), "--param", benchmarks_param(), timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    stages = ["generate", "signatures", "buckets", "clusters", "dedup", "report"]
    assert all((out / "logs" / stage / "stats.json").exists() for stage in stages)
    rejected = [r for path in (out / "rejects").rglob("*.jsonl") for r in read_jsonl(path)]
    assert len(rejected) == 4 and not (out / "generated").exists()  # 2 seeds x 2 variants, all dropped
    assert (out / "report" / "index.html").exists() and not (out / "README.md").exists()


def test_subset_recipe_picks_the_same_values_from_the_release_and_our_prompts(sample_seeds, tmp_path):
    """`cosmo run subset` over a released v0.1 parquet file and records whose format and audience our
    PromptBuilder chose: one selection (blogpost for college students) takes from both."""
    from cosmo_blocks.prompts import PromptBuilder
    from cosmo_blocks.seeds import SeedReader, TopicExtractor
    from tests.conftest import run_steps
    from tests.dataset.test_released import released_table

    records = tmp_path / "records"
    (records / "released").mkdir(parents=True)
    table = released_table("v0.1")
    table = table.set_column(
        table.schema.get_field_index("format"), "format", [["blogpost"] * table.num_rows]
    )
    pq.write_table(table, records / "released" / "train-00000-of-00001.parquet")
    builder = PromptBuilder(mix={"blogpost": 0.5, "textbook": 0.5}, audiences=["college_students", "general"])
    ours = run_steps([SeedReader(str(sample_seeds)), TopicExtractor(), builder])
    with CosmopediaParquetWriter(str(records / "ours")) as writer:
        for doc in ours:
            doc.text = f"A generation for: {doc.metadata['topic']}"  # the selection reads the metadata only
            writer.write(doc, rank=0)
    out = tmp_path / "selected"
    args = ["-m", "cosmo_blocks.cli", "run", "subset", "--seeds", str(records), "--output", str(out)]
    result = run_cli(*args, "--param", "format=blogpost", "--param", "audience=college_students")
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [row for path in (out / "data").glob("*.parquet") for row in pq.read_table(path).to_pylist()]
    expected_ours = {
        d.id
        for d in ours
        if (d.metadata["format"], d.metadata["audience"]) == ("blogpost", "college_students")
    }
    released = sum(1 for audience in table.column("audience").to_pylist() if audience == "college_students")
    selected_ours = {r["id"] for r in rows if not r["id"].startswith("released/")}
    assert expected_ours and selected_ours == expected_ours
    assert len(rows) == len(expected_ours) + released
    assert all((r["format"], r["audience"]) == ("blogpost", "college_students") for r in rows)
