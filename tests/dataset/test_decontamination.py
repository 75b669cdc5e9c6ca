"""Benchmark decontamination on real generated documents with benchmark items planted in them.

The benchmark items under data/benchmarks/ are hand-written in the real Hugging Face shapes of the
eight benchmarks (no package on PyPI ships the real items, and the hub is not reachable here).
"""

import json
import random
import re
from pathlib import Path

import pytest
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks import keys
from cosmo_blocks.dataset.decontamination import (
    KNOWN_BENCHMARKS,
    BenchmarkDecontaminator,
    BenchmarkFile,
    parse_benchmarks,
)
from cosmo_blocks.errors import ConfigError

DATA = Path(__file__).parent / "data" / "benchmarks"
GENERATED = Path(__file__).parents[1] / "filters" / "data" / "smollm2" / "labelled.jsonl"
NAMES = list(KNOWN_BENCHMARKS)
WAYS = ("whole", "paraphrased", "split", "answered")
# a real generation that shares one 10-gram with a hand-written BoolQ passage, and no more
PYTHAGORAS = "t0.3-rp1.05/sample.jsonl@8394/0"


def values(record: dict, dotted: str) -> list[str]:
    value = record
    for part in dotted.split("."):
        value = value[part]
    return value if isinstance(value, list) else [value]


def item_parts(name: str, record: dict) -> tuple[list[str], list[str]]:
    prompt_fields, choice_fields = KNOWN_BENCHMARKS[name]
    prompt = [v for f in prompt_fields for v in values(record, f)]
    return prompt, [v for f in choice_fields for v in values(record, f)]


def benchmark_items() -> list[tuple[str, int, dict]]:
    """(benchmark, line number, record) of every hand-written item."""
    out = []
    for name in NAMES:
        for number, line in enumerate((DATA / f"{name}.jsonl").read_text().splitlines()):
            out.append((name, number, json.loads(line)))
    return out


def item_id(record: dict, number: int) -> str:
    return str(record.get("id", number))


def paragraphs(text: str) -> list[str]:
    return [p for p in text.split("\n\n") if p.strip()]


def plant(host: str, other: str, name: str, record: dict, way: str) -> str:
    """`host` with the item inserted mid-document: pasted whole (as a quiz), lightly paraphrased
    (two words changed, case and punctuation changed, options inline), split (the first half of its
    prompt in one paragraph, a paragraph of another document, then the rest), or answered (the
    prompt and one option only, as a worked example would quote it)."""
    prompt, choices = item_parts(name, record)
    options = [f"{letter}. {choice}" for letter, choice in zip("ABCDE", choices, strict=False)]
    if way == "whole":
        pasted = ["\n".join(prompt + options)]
    elif way == "answered":
        pasted = ["\n".join(prompt + choices[-1:])]
    elif way == "paraphrased":
        words = " ".join(prompt).split()
        words[2], words[-3] = "really", "certainly"
        text = re.sub(r"[?.,;]", "", " ".join(words)).upper()
        pasted = [text + " — options: " + "; ".join(f"({c.lower()})" for c in choices)]
    else:
        words = " ".join(prompt).split()
        half = len(words) // 2
        pasted = [
            " ".join(words[:half]) + "...",
            paragraphs(other)[0],
            " ".join(words[half:]) + "\n" + "\n".join(options),
        ]
    parts = paragraphs(host)
    middle = len(parts) // 2
    return "\n\n".join(parts[:middle] + pasted + parts[middle:])


def common_phrases(host: str, rng: random.Random) -> str:
    """`host` with quiz-like sentences that share only stock phrases (under 10 words in a row) with the
    benchmark items."""
    sentences = [
        "Which of the following is the main reason why this idea still matters today?",
        "Think about which of the following best explains the pattern you noticed above.",
        "The main reason why people disagree here is that they start from different assumptions.",
        "In other words, the same number of steps does not always mean the same amount of work.",
        "A student adds up the numbers and asks what the next step should be.",
    ]
    parts = paragraphs(host)
    parts.insert(rng.randrange(len(parts) + 1), " ".join(rng.sample(sentences, 3)))
    return "\n\n".join(parts)


@pytest.fixture(scope="module")
def generated() -> list[dict]:
    return [json.loads(line) for line in GENERATED.read_text().splitlines()]


@pytest.fixture(scope="module")
def corpus(generated, tmp_path_factory) -> dict:
    """Every generated document clean, plus one host per (item, way) with the item planted, plus
    clean documents with stock quiz phrases; written as jsonl for a real datatrove run."""
    rng = random.Random(7)
    hosts = [d for d in generated if len(paragraphs(d["text"])) >= 3]
    planted, clean, records = {}, set(), []
    for d in generated:
        records.append({"id": d["id"], "text": d["text"]})
        clean.add(d["id"])
    for i, (name, number, record) in enumerate(benchmark_items()):
        for j, way in enumerate(WAYS):
            host, other = hosts[(4 * i + j) % len(hosts)], hosts[(4 * i + j + 1) % len(hosts)]
            doc_id = f"planted/{name}/{number}/{way}"
            records.append({"id": doc_id, "text": plant(host["text"], other["text"], name, record, way)})
            planted[doc_id] = (name, item_id(record, number))
    for i, host in enumerate(rng.sample(hosts, 30)):
        doc_id = f"phrases/{i}"
        records.append({"id": doc_id, "text": common_phrases(host["text"], rng)})
        clean.add(doc_id)
    folder = tmp_path_factory.mktemp("decont_docs")
    (folder / "docs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return {"folder": folder, "planted": planted, "clean": clean}


def benchmarks() -> dict[str, str]:
    return {name: str(DATA / f"{name}.jsonl") for name in NAMES}


def count(stats: dict, key: str) -> int:
    """A counter from datatrove's stats.json (a plain number, or a dict with its total)."""
    value = stats.get(key, 0)
    return value["total"] if isinstance(value, dict) else value


def run_pipeline(corpus: dict, out: Path, **options) -> tuple[dict, list[dict], set[str]]:
    """A real LocalPipelineExecutor run: reader -> decontaminator (rejects aside) -> writer."""
    LocalPipelineExecutor(
        [
            JsonlReader(str(corpus["folder"])),
            BenchmarkDecontaminator(
                benchmarks(),
                exclusion_writer=JsonlWriter(str(out / "contaminated"), compression=None),
                **options,
            ),
            JsonlWriter(str(out / "data"), compression=None),
        ],
        tasks=1,
        logging_dir=str(out / "logs"),
    ).run()
    stats = json.loads((out / "logs" / "stats.json").read_text())
    step = next(s for s in stats if "decontamination" in s["name"])["stats"]
    rejects = [
        json.loads(line)
        for f in (out / "contaminated").glob("*.jsonl")
        for line in f.read_text().splitlines()
    ]
    kept = {
        json.loads(line)["id"] for f in (out / "data").glob("*.jsonl") for line in f.read_text().splitlines()
    }
    return step, rejects, kept


def test_planted_items_are_caught_and_clean_documents_kept(corpus, tmp_path):
    stats, rejects, kept = run_pipeline(corpus, tmp_path)
    dropped = {r["id"]: r for r in rejects}
    # every planted item, in every way, in every benchmark
    assert set(dropped) == set(corpus["planted"]), sorted(set(corpus["planted"]) ^ set(dropped))
    assert kept == corpus["clean"]
    for doc_id, (name, item) in corpus["planted"].items():
        metadata = dropped[doc_id]["metadata"]
        assert metadata[keys.FILTER_REASON] == f"contaminated_{name}"
        assert (metadata[keys.CONTAMINATED_BENCHMARK], metadata[keys.CONTAMINATED_ITEM]) == (name, item), (
            doc_id
        )
        assert metadata[keys.CONTAMINATED_RATIO] > 0.5
    # counts per benchmark: 3 items x 4 ways each
    for name in NAMES:
        assert count(stats, f"dropped_contaminated_{name}") == 3 * len(WAYS), name
    assert count(stats, "dropped") == len(corpus["planted"])
    assert count(stats, "forwarded") == len(corpus["clean"])


def test_shared_ngram_alone_is_not_contamination(generated):
    """A real generated Pythagorean-theorem lesson shares one 10-gram ("the square of the length of
    the hypotenuse is equal to the sum of the ...") with a BoolQ passage: a candidate, but the diff
    ratio keeps it (datatrove's n-gram mode drops it: see the next test)."""
    doc = next(d for d in generated if d["id"] == PYTHAGORAS)
    block = BenchmarkDecontaminator(benchmarks())
    assert block.filter(Document(text=doc["text"], id=doc["id"])) is True
    assert block.stats["candidates"].total == 1


def test_datatrove_ngrams_mode(corpus, tmp_path):
    """datatrove's NGramsDecontFilter over the same files: pasted items are caught with a named
    reason; any shared 10-gram drops, so the Pythagorean lesson goes too."""
    whole = {doc_id for doc_id in corpus["planted"] if doc_id.endswith("/whole")}
    lines = (corpus["folder"] / "docs.jsonl").read_text().splitlines()
    subset = [line for line in lines if json.loads(line)["id"] in whole | {PYTHAGORAS}] + lines[:20]
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "docs.jsonl").write_text("\n".join(subset) + "\n")
    stats, rejects, _ = run_pipeline({"folder": folder}, tmp_path, method="ngrams")
    dropped = {r["id"]: r["metadata"] for r in rejects}
    assert set(dropped) == whole | {PYTHAGORAS}
    assert dropped[PYTHAGORAS][keys.FILTER_REASON] == "contaminated_boolq"
    for doc_id in whole:
        name = corpus["planted"][doc_id][0]
        assert dropped[doc_id][keys.FILTER_REASON] == f"contaminated_{name}"
        assert dropped[doc_id]["contaminated_task"] == name
    for name in NAMES:
        assert count(stats, f"dropped_contaminated_{name}") == 3 + (name == "boolq"), name


def test_user_files_with_own_fields_jsonl_gz_and_parquet(tmp_path):
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [
        {
            "qid": "q1",
            "prompt": {"text": "Explain why the printing press lowered the price of books in Europe"},
        },
        {"qid": "q2", "prompt": {"text": "Describe how a seismograph records the shaking of the ground"}},
    ]
    with gzip.open(tmp_path / "mine.jsonl.gz", "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "mine.parquet")
    for path in (tmp_path / "mine.jsonl.gz", tmp_path / "mine.parquet"):
        block = BenchmarkDecontaminator(
            {"mine": BenchmarkFile(str(path), fields=["prompt.text"], id_field="qid")}
        )
        doc = Document(
            text="Notes.\n\nDescribe how a seismograph records the shaking of the ground.\n\nEnd.", id="d"
        )
        assert block.filter(doc) == (False, "contaminated_mine")
        assert doc.metadata[keys.CONTAMINATED_ITEM] == "q2"


def test_bad_benchmark_files_fail_before_any_document(tmp_path):
    good = str(DATA / "mmlu.jsonl")
    (tmp_path / "broken.jsonl").write_text('{"question": "fine"}\n{not json\n')
    (tmp_path / "empty.jsonl").write_text("")
    cases = {
        "missing file": {"mmlu": str(tmp_path / "nope.jsonl")},
        "field in no record": {"mmlu": BenchmarkFile(good, fields=["question", "options"])},
        "bad line": {"x": BenchmarkFile(str(tmp_path / "broken.jsonl"))},
        "no records": {"x": BenchmarkFile(str(tmp_path / "empty.jsonl"))},
        "unknown name without fields": {"gsm8k": good},
    }
    for case, spec in cases.items():
        with pytest.raises(ConfigError):
            BenchmarkDecontaminator(spec)
            pytest.fail(case)
    with pytest.raises(ConfigError, match="options"):
        BenchmarkDecontaminator({"mmlu": BenchmarkFile(good, fields=["question", "options"])})
    with pytest.raises(ConfigError, match="method"):
        BenchmarkDecontaminator({"mmlu": good}, method="exact")
    with pytest.raises(ConfigError, match="word tokenizer"):
        BenchmarkDecontaminator({"mmlu": good}, method="ngrams", language="xx")


def test_parse_benchmarks():
    parsed = parse_benchmarks(
        "mmlu=/data/mmlu.jsonl; arc_easy=s3://b/arc.parquet;mine[q,ctx|opts]=hf://datasets/x/y.jsonl"
    )
    assert parsed["mmlu"] == BenchmarkFile("/data/mmlu.jsonl", fields=["question"], choices=["choices"])
    assert parsed["arc_easy"].choices == ("choices.text",)
    assert parsed["mine"] == BenchmarkFile("hf://datasets/x/y.jsonl", fields=["q", "ctx"], choices=["opts"])
    assert parse_benchmarks(["mmlu=/a.jsonl", "boolq=/b.jsonl"]).keys() == {"mmlu", "boolq"}
    with pytest.raises(ConfigError):
        parse_benchmarks("mmlu")
