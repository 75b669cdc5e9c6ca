"""The MinHash dedup stages, run for real by `run_pipeline` (LocalExecutor) on real documents.

The corpus: SmolLM2-135M generations (tests/filters/data/smollm2) and sections of the Python
documentation (Debian's python3-doc, built by benchmarks/debian_corpus.py; left out with a warning
when missing), plus planted near-duplicates of the longer generations: a few words substituted, a
sentence dropped, two sentences swapped, case and punctuation changed, alone or together. Documents
of the real pool that are near-duplicates of each other (word 5-gram Jaccard >= 0.5, measured
exactly) are neither distinct nor planted, and are left out of both rates.
"""

import importlib.util
import random
import re
import warnings
from collections import defaultdict
from pathlib import Path

import orjson
import pytest
from datatrove.pipeline.readers import JsonlReader
from datatrove.utils.text import TextNormConfig, simplify_text

from cosmo_blocks.dataset.dedup import MinhashClusterFilter, dedup_summary, minhash_stages
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.run import RunOptions, run_pipeline
from cosmo_blocks.run.summary import load_stats, summarize
from cosmo_blocks.writers import CosmopediaJsonlWriter

REPO = Path(__file__).resolve().parents[2]
GENERATIONS = REPO / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"
PYTHON_GROUPS = ["Text Processing Services", "Concurrent Execution", "File and Directory Access", "tutorial"]
SOURCE_WORDS = 200  # planted copies are made of generations at least this long
# (copies of one generation, how many generations get that many): clusters of 2, 3, 4, 7, 12
PLANTS = ((1, 24), (2, 6), (3, 3), (6, 2), (11, 1))
SWAPS = ["very", "really", "often", "usually", "simply", "also", "quite", "mostly", "clearly", "truly"]


def load_debian_docs(folder: Path) -> list[dict]:
    spec = importlib.util.spec_from_file_location("debian_corpus", REPO / "benchmarks" / "debian_corpus.py")
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    try:
        builder.python_html_root()
    except builder.MissingSource as missing:
        warnings.warn(f"dedup test without Python documentation: {missing}", stacklevel=1)
        return []
    out = folder / "debian.jsonl"
    builder.build_corpus(out, ["python"], max_per_group=60, groups=PYTHON_GROUPS, workers=2)
    return [orjson.loads(line) for line in out.read_bytes().splitlines()]


def shingles(text: str) -> set:
    words = simplify_text(text, TextNormConfig()).split()
    return {" ".join(words[i : i + 5]) for i in range(len(words) - 4)}


def near_duplicate_ids(docs: list[dict], threshold: float = 0.5) -> set[str]:
    """Ids of documents with another at exact word 5-gram Jaccard >= threshold."""
    sets = [shingles(doc["text"]) for doc in docs]
    postings = defaultdict(list)
    for i, shingle_set in enumerate(sets):
        for shingle in shingle_set:
            postings[shingle].append(i)
    shared = defaultdict(int)
    for holders in postings.values():
        for a, i in enumerate(holders):
            for j in holders[a + 1 :]:
                shared[i, j] += 1
    found = set()
    for (i, j), common in shared.items():
        if common / (len(sets[i]) + len(sets[j]) - common) >= threshold:
            found |= {docs[i]["id"], docs[j]["id"]}
    return found


def sentences(text: str) -> list[str]:
    return re.split(r"(?<=[.!?])\s+", text)


def substitute_words(text: str, rng: random.Random, count: int = 3) -> str:
    words = text.split(" ")
    for i in rng.sample([i for i, w in enumerate(words) if len(w) > 3 and w.isalpha()], count):
        words[i] = rng.choice(SWAPS)
    return " ".join(words)


def drop_sentence(text: str, rng: random.Random) -> str:
    parts = sentences(text)
    del parts[rng.randrange(1, len(parts))]
    return " ".join(parts)


def swap_sentences(text: str, rng: random.Random) -> str:
    parts = sentences(text)
    i = rng.randrange(len(parts) - 1)
    parts[i], parts[i + 1] = parts[i + 1], parts[i]
    return " ".join(parts)


def case_and_punctuation(text: str, rng: random.Random) -> str:
    return text.upper() if rng.random() < 0.3 else text.replace(",", "").replace(".", "!").lower()


EDITS = (substitute_words, drop_sentence, swap_sentences, case_and_punctuation)


def paraphrase(text: str, rng: random.Random) -> str:
    for edit in rng.sample(EDITS, rng.choice([1, 2, 2, 3])):
        text = edit(text, rng)
    return text


def record(doc_id: str, text: str) -> dict:
    return {"id": doc_id, "text": text, "metadata": {"format": "textbook", "audience": "general"}}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Input shards, the planted groups {original id: [copy ids]}, the distinct ids."""
    folder = tmp_path_factory.mktemp("dedup-corpus")
    generations = [orjson.loads(line) for line in GENERATIONS.read_bytes().splitlines()]
    pool = [record(f"gen-{i}", g["text"]) for i, g in enumerate(generations)]
    pool += [record(f"deb-{d['id']}", d["text"]) for d in load_debian_docs(folder)]
    related = near_duplicate_ids(pool)
    rng = random.Random(7)
    sources = [d for d in pool if d["id"].startswith("gen-") and len(d["text"].split()) >= SOURCE_WORDS]
    sources = [d for d in sources if d["id"] not in related]
    rng.shuffle(sources)
    planted, copies = {}, []
    for n_copies, n_groups in PLANTS:
        for _ in range(n_groups):
            original = sources.pop()
            planted[original["id"]] = []
            for c in range(n_copies):
                copy_id = f"{original['id']}-copy{c}"
                copies.append(record(copy_id, paraphrase(original["text"], rng)))
                planted[original["id"]].append(copy_id)
    rng.shuffle(copies)
    # four shards: each of the two tasks reads pool documents and copies
    shards = [pool[0::2], pool[1::2], copies[0::2], copies[1::2]]
    inputs = folder / "input"
    inputs.mkdir()
    for i, shard in enumerate(shards):
        (inputs / f"{i:02d}.jsonl").write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in shard))
    distinct = {d["id"] for d in pool} - related - set(planted)
    return {"inputs": inputs, "planted": planted, "distinct": distinct, "related": related}


def build_for(corpus):
    def build(opts):
        return minhash_stages(
            JsonlReader(str(corpus["inputs"])),
            f"{opts.output}/dedup",
            then=[CosmopediaJsonlWriter(f"{opts.output}/data")],
            tasks=2,
            removed_writer=CosmopediaJsonlWriter(f"{opts.output}/dedup/removed", rejects=True),
        )

    return build


def read_records(folder: Path) -> list[dict]:
    return [
        orjson.loads(line)
        for path in sorted(folder.glob("*.jsonl"))
        for line in path.read_bytes().splitlines()
    ]


@pytest.fixture(scope="module")
def deduped(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("dedup-run")
    opts = RunOptions(output=str(out), workers=1)
    run_pipeline(build_for(corpus), opts)
    return out, opts


def test_planted_near_duplicates_removed_distinct_kept(corpus, deduped):
    out, _ = deduped
    kept = {r["id"] for r in read_records(out / "data")}
    removed = read_records(out / "dedup" / "removed")
    planted, distinct = corpus["planted"], corpus["distinct"]
    # a planted group is resolved when exactly one of its documents survives
    extra = [len({o, *c} & kept) - 1 for o, c in planted.items()]
    found = sum(len(c) for c in planted.values()) - sum(max(e, 0) for e in extra)
    total_copies = sum(len(c) for c in planted.values())
    assert all(e >= 0 for e in extra), "a whole planted group was removed"
    assert found / total_copies >= 0.95, f"planted near-duplicates removed: {found}/{total_copies}"
    false_removals = distinct - kept
    assert len(distinct) >= 250
    assert len(false_removals) / len(distinct) < 0.01, sorted(false_removals)
    print(
        f"\nplanted copies removed {found}/{total_copies}; distinct removed {len(false_removals)}/{len(distinct)};"
        f" real near-duplicate documents in the pool: {len(corpus['related'])}"
    )
    assert {r["filter_reason"] for r in removed} == {"duplicate"}
    assert not kept & {r["id"] for r in removed}


def test_removed_counts_by_cluster_size(corpus, deduped):
    out, opts = deduped
    summary = dedup_summary(f"{opts.logging_dir}/dedup")
    removed = len(read_records(out / "dedup" / "removed"))
    # every planted group of n documents (no distinct document among the removed) removes n - 1
    expected = dict.fromkeys(["2", "3-5", "6-10", "11+"], 0)
    for copies in corpus["planted"].values():
        size = len(copies) + 1
        expected["2" if size == 2 else "3-5" if size <= 5 else "6-10" if size <= 10 else "11+"] += size - 1
    assert summary["removed_by_cluster_size"] == expected
    assert summary["removed"] == removed == sum(expected.values())
    assert summary["kept"] == len(read_records(out / "data"))
    assert summary["documents"] == summary["kept"] + summary["removed"]
    assert summary["duplicate_rate"] == pytest.approx(removed / summary["documents"])
    # the run summary lists the removals as a named drop
    run_summary = summarize(load_stats(f"{opts.logging_dir}/dedup"))
    assert run_summary["dropped"] == {"MinHash filter": {"duplicate": removed}}


def test_rerun_does_not_duplicate_output(corpus, deduped):
    out, opts = deduped
    before = sorted(r["id"] for r in read_records(out / "data"))
    removed_before = len(read_records(out / "dedup" / "removed"))
    # a finished run is skipped; a dedup task that must run again rewrites its files
    (Path(opts.logging_dir) / "dedup" / "completions" / "00001").unlink()
    run_pipeline(build_for(corpus), opts)
    assert sorted(r["id"] for r in read_records(out / "data")) == before
    assert len(read_records(out / "dedup" / "removed")) == removed_before
    # the counts still cover both tasks (datatrove's stats.json now holds the rerun task only)
    assert dedup_summary(f"{opts.logging_dir}/dedup")["removed"] == removed_before


def test_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="shuffle_files"):
        minhash_stages(JsonlReader(str(tmp_path), shuffle_files=True), str(tmp_path), then=[])
    with pytest.raises(ConfigError, match="tasks"):
        minhash_stages(JsonlReader(str(tmp_path)), str(tmp_path), then=[], tasks=0)
    with pytest.raises(ConfigError, match="language='nosuch'"):
        minhash_stages(JsonlReader(str(tmp_path)), str(tmp_path), then=[], language="nosuch")
    stages = minhash_stages(JsonlReader(str(tmp_path)), str(tmp_path), then=[], tasks=3)
    assert [(s.name, s.tasks) for s in stages] == [
        ("signatures", 3),
        ("buckets", 14),
        ("clusters", 1),
        ("dedup", 3),
    ]
    assert stages[0].steps[0] is stages[3].steps[0]
    assert isinstance(stages[3].steps[1], MinhashClusterFilter)
