"""MinHash dedup stages: documents per second per task, and the duplicate rate they find.

    python benchmarks/dedup.py [--corpus /work/corpus/debian-docs.jsonl] [--tasks 1]
                               [--generations tests/filters/data/smollm2/labelled.jsonl]

1. Speed: the four stages of `minhash_stages` (Cosmopedia's config: 5-grams, 14 buckets x 8
   hashes, 64-bit SHA1) run one after another with datatrove's LocalPipelineExecutor, one worker,
   on the Debian corpus. Per stage: tasks, wall seconds, documents per second of one task (a
   signatures or dedup task handles its share of the documents, a bucket task every document's
   signature in its bucket, the cluster task the pairs of all documents). With spaCy installed, the
   signatures stage again on `--spacy-docs` documents, words split on spaces (our default) and by
   datatrove's spaCy tokenizer (`language="en"`).
2. Duplicate rate: documents removed / documents read, on the SmolLM2 generations, on the Debian
   corpus (real text, for reference), and on both together.
3. Planted copies: each SmolLM2 generation of >= 200 words copied once with a share of its words
   substituted; the share of copies removed at each share of substituted words (word 5-grams make
   a substituted word change up to 5 shingles, so the detection falls off fast).
"""

import argparse
import importlib.util
import random
import tempfile
import time
from pathlib import Path

import orjson
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks.dataset.dedup import dedup_summary, minhash_stages

REPO = Path(__file__).resolve().parents[1]
GENERATIONS = REPO / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"
CORPUS = "/work/corpus/debian-docs.jsonl"
SUBSTITUTED = (0.01, 0.02, 0.03, 0.05, 0.10)
FILLERS = ["very", "really", "often", "usually", "simply", "also", "quite", "mostly", "clearly", "truly"]


def run_stages(
    inputs: Path, work: Path, tasks: int, language: str | None = None, only: str | None = None
) -> tuple[list[tuple[str, int, float]], dict | None]:
    """Run the four stages (or the one named `only`) over the jsonl files in `inputs`; (name, tasks,
    seconds) per stage, and the dedup stage's counts."""
    stages = minhash_stages(
        JsonlReader(str(inputs)),
        str(work / "dedup"),
        then=[JsonlWriter(str(work / "data"), compression=None)],
        tasks=tasks,
        language=language,
    )
    timings = []
    for stage in stages:
        if only and stage.name != only:
            continue
        executor = LocalPipelineExecutor(
            stage.steps, tasks=stage.tasks, workers=1, logging_dir=str(work / "logs" / stage.name)
        )
        start = time.perf_counter()
        executor.run()
        timings.append((stage.name, stage.tasks, time.perf_counter() - start))
    return timings, (None if only else dedup_summary(work / "logs" / "dedup"))


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    return path.parent


def read_jsonl(path: str | Path) -> list[dict]:
    return [orjson.loads(line) for line in Path(path).read_bytes().splitlines() if line.strip()]


def substitute(text: str, share: float, rng: random.Random) -> str:
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 3 and w.isalpha()]
    for i in rng.sample(candidates, min(len(candidates), max(1, round(share * len(words))))):
        words[i] = rng.choice(FILLERS)
    return " ".join(words)


def per_task_rate(name: str, tasks: int, seconds: float, docs: int) -> float:
    """Documents per second of one task, the tasks having run one after another."""
    per_task_seconds = seconds / tasks
    handled = docs / tasks if name in ("signatures", "dedup") else docs
    return handled / per_task_seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", default=CORPUS)
    parser.add_argument("--generations", default=str(GENERATIONS))
    parser.add_argument("--tasks", type=int, default=1, help="tasks of the signatures and dedup stages")
    parser.add_argument("--spacy-docs", type=int, default=1000, help="documents for the spaCy comparison")
    args = parser.parse_args(argv)
    corpus = [{"id": r["id"], "text": r["text"]} for r in read_jsonl(args.corpus)]
    generations = [{"id": f"gen-{i}", "text": r["text"]} for i, r in enumerate(read_jsonl(args.generations))]

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        timings, debian = run_stages(
            write_jsonl(tmp / "debian" / "in" / "docs.jsonl", corpus), tmp / "debian", args.tasks
        )
        docs = len(corpus)
        print(
            f"MinHash stages on {docs} Debian documents ({sum(len(d['text']) for d in corpus):,} characters), 1 worker"
        )
        print(f"{'stage':<12}{'tasks':>6}{'seconds':>10}{'docs/s per task':>18}")
        for name, tasks, seconds in timings:
            print(f"{name:<12}{tasks:>6}{seconds:>10.1f}{per_task_rate(name, tasks, seconds, docs):>18,.0f}")
        total = sum(seconds for _, _, seconds in timings)
        print(f"{'all':<12}{'':>6}{total:>10.1f}{docs / total:>18,.0f}  (end to end, docs/s)")
        if importlib.util.find_spec("spacy"):
            sample = corpus[: args.spacy_docs]
            inputs = write_jsonl(tmp / "spacy" / "in" / "docs.jsonl", sample)
            for label, language in (("spaces", None), ("spaCy en", "en")):
                [(_, _, seconds)] = run_stages(inputs, tmp / "spacy" / label, 1, language, only="signatures")[
                    0
                ]
                print(
                    f"signatures, words split by {label:<9} on {len(sample)} docs: {len(sample) / seconds:,.0f} docs/s"
                )

        _, gen = run_stages(write_jsonl(tmp / "gen" / "in" / "docs.jsonl", generations), tmp / "gen", 1)
        _, both = run_stages(
            write_jsonl(tmp / "both" / "in" / "docs.jsonl", generations + corpus), tmp / "both", 1
        )
        print("\nduplicate rate (removed / read)")
        print(f"{'corpus':<28}{'docs':>7}{'removed':>9}{'rate':>8}  by cluster size")
        for label, summary in (("SmolLM2 generations", gen), ("Debian docs", debian), ("both", both)):
            sizes = ", ".join(f"{k}: {v}" for k, v in summary["removed_by_cluster_size"].items() if v) or "-"
            print(
                f"{label:<28}{summary['documents']:>7}{summary['removed']:>9}"
                f"{summary['duplicate_rate']:>8.2%}  {sizes}"
            )

        rng = random.Random(3)
        sources = [g for g in generations if len(g["text"].split()) >= 200]
        print(f"\nplanted copies of {len(sources)} generations of >= 200 words, one copy each")
        print(f"{'words substituted':<20}{'removed':>10}{'rate':>8}{'others removed':>16}")
        for share in SUBSTITUTED:
            copies = [{"id": f"{g['id']}-copy", "text": substitute(g["text"], share, rng)} for g in sources]
            folder = tmp / f"planted-{share}"
            _, summary = run_stages(
                write_jsonl(folder / "in" / "docs.jsonl", generations + copies), folder, 1
            )
            kept = {r["id"] for path in (folder / "data").glob("*") for r in read_jsonl(path)}
            found = sum(1 for g in sources if not ({g["id"], f"{g['id']}-copy"} <= kept))
            source_ids = {g["id"] for g in sources}
            others = sum(1 for g in generations if g["id"] not in kept and g["id"] not in source_ids)
            print(f"{share:<20.0%}{found:>6}/{len(sources):<3}{found / len(sources):>8.1%}{others:>16}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
