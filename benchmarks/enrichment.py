"""Topic enrichment: HeuristicEnricher throughput and what it finds; TopicEnricher (SmolLM2-135M on CPU)
with and without structured outputs.

    flock /tmp/cosmo-bench.lock python benchmarks/enrichment.py heuristic \\
        [--corpus /work/corpus/debian-docs.jsonl] [--limit N]
    flock /tmp/cosmo-engine.lock python benchmarks/enrichment.py llm \\
        [--seeds pipelines/seeds/sample.jsonl] [--topics 30] [--max-tokens 512]

heuristic: HeuristicEnricher on every page of a corpus jsonl ({"id", "text", "title"} per line), in
  one process, timed without reading the file:
  - text: the page's own text (its first `max_chars`=5000 characters), the title as topic;
  - context: SeedReader's view after TopicExtractor (the ~1000-character extract a prompt shows).
  Prints docs/s, k chars read/s, the difficulty level distribution, the share of enriched pages
  with prerequisites and with related concepts, and the skips.
llm: TopicEnricher on N topics of a seeds jsonl (evenly spaced), once with vLLM's structured
  outputs forcing the answer into the enrichment schema and once free (the same prompt), each with
  keep_unanswered=True. A topic counts when all three fields parsed: related_concepts and
  prerequisites non-empty lists of strings, difficulty one of DIFFICULTY_LEVELS.

Both modes also print how many documents would get the textbook template's enrichment sentence
(full: all three fields; short: no prerequisites; none).
"""

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SEEDS = ROOT / "pipelines" / "seeds" / "sample.jsonl"
ENGINE_KWARGS = {"gpu_memory_utilization": 0.1, "max_model_len": 4096}


def stats_of(step) -> dict:
    return {name: metric.total for name, metric in step.stats.stats.items()}


def read_corpus(path: str, limit: int | None) -> list[dict]:
    records = []
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                records.append(orjson.loads(line))
            if limit and len(records) >= limit:
                break
    return records


def corpus_docs(records: list[dict], mode: str) -> list:
    from datatrove.data import Document

    from cosmo_blocks import keys
    from cosmo_blocks.seeds import TopicExtractor

    docs = [Document(text=r["text"], id=r["id"], metadata={keys.TITLE: r.get("title", "")}) for r in records]
    if mode == "context":
        return list(TopicExtractor().run(iter(docs)))
    for doc in docs:
        doc.metadata[keys.TOPIC] = doc.metadata[keys.TITLE]
    return docs


def clause_shares(docs: list) -> dict:
    """How many documents get the full, the short or no enrichment clause in the textbook prompt."""
    from cosmo_blocks import keys

    def kind(meta):
        if not meta.get(keys.DIFFICULTY) or not meta.get(keys.RELATED_CONCEPTS):
            return "none"
        return "full" if meta.get(keys.PREREQUISITES) else "short"

    return dict(Counter(kind(d.metadata) for d in docs))


def heuristic(corpus: str, limit: int | None) -> list[dict]:
    from cosmo_blocks.topics.enrichment import HeuristicEnricher

    records = read_corpus(corpus, limit)
    rows = []
    for mode in ("text", "context"):
        docs = corpus_docs(records, mode)
        list(HeuristicEnricher().run(iter(corpus_docs(records[:5], mode))))  # loads YAKE, textstat
        enricher = HeuristicEnricher()
        chars = sum(len(enricher.source_text(d)) for d in docs)
        start = time.perf_counter()
        out = list(enricher.run(iter(docs)))
        seconds = time.perf_counter() - start
        stats = stats_of(enricher)
        enriched = stats.get("enriched", 0)
        rows.append(
            {
                "mode": mode,
                "docs": len(out),
                "seconds": round(seconds, 1),
                "docs_per_s": round(len(out) / seconds, 1),
                "kchars_per_s": round(chars / seconds / 1e3),
                "enriched": enriched,
                "with_prerequisites": round(
                    (enriched - stats.get("no_prerequisites", 0)) / max(enriched, 1), 3
                ),
                "with_related": round((enriched - stats.get("no_related_concepts", 0)) / max(enriched, 1), 3),
                "levels": {
                    k.removeprefix("difficulty_"): v for k, v in stats.items() if k.startswith("difficulty_")
                },
                "skipped": {k: v for k, v in stats.items() if k.startswith("skipped_")},
                "clause": clause_shares(out),
            }
        )
    return rows


def complete(meta: dict) -> bool:
    from cosmo_blocks import keys
    from cosmo_blocks.topics.enrichment import DIFFICULTY_LEVELS

    def strings(value):
        return isinstance(value, list) and bool(value) and all(isinstance(x, str) for x in value)

    return (
        strings(meta.get(keys.RELATED_CONCEPTS))
        and strings(meta.get(keys.PREREQUISITES))
        and meta.get(keys.DIFFICULTY) in DIFFICULTY_LEVELS
    )


def pick_topics(seeds: str, n: int) -> list:
    from cosmo_blocks.seeds import SeedReader, TopicExtractor

    docs = list(TopicExtractor()(SeedReader(seeds)(None, 0, 1), 0, 1))
    if len(docs) > n:
        docs = docs[:: len(docs) // n][:n]
    return docs


def llm(seeds: str, n: int, structured: bool, max_tokens: int, model: str) -> dict:
    from cosmo_blocks import keys
    from cosmo_blocks.generation import VLLMGenerator
    from cosmo_blocks.topics.enrichment import TopicEnricher

    docs = pick_topics(seeds, n)
    generator = VLLMGenerator(
        model=model,
        sampling={"preset": "small", "max_tokens": max_tokens},
        engine_kwargs=ENGINE_KWARGS,
        journal_dir=tempfile.mkdtemp(prefix="enrichment-bench-"),
        seed=0,
    )
    enricher = TopicEnricher(generator, structured=structured, keep_unanswered=True)
    start = time.perf_counter()
    out = list(enricher.run(iter(docs)))
    seconds = time.perf_counter() - start
    stats = stats_of(enricher)
    parsed = sum(complete(d.metadata) for d in out)
    return {
        "structured": structured,
        "topics": len(docs),
        "all_three_parsed": parsed,
        "share": round(parsed / max(len(docs), 1), 3),
        "seconds_incl_engine_start": round(seconds, 1),
        "unparsed": {k: v for k, v in stats.items() if k.startswith("unparsed")},
        "empty": {k: v for k, v in stats.items() if k.startswith("empty_")},
        "levels": {k.removeprefix("difficulty_"): v for k, v in stats.items() if k.startswith("difficulty_")},
        "finish_length": stats.get("finish_reason_length", 0),
        "clause": clause_shares(out),
        "examples": [
            f"{d.metadata[keys.TOPIC][:40]} | {d.metadata.get(keys.DIFFICULTY)} | "
            f"{d.metadata.get(keys.RELATED_CONCEPTS)} | {d.metadata.get(keys.PREREQUISITES)}"
            for d in out[:5]
        ],
    }


def print_table(rows: list[dict], columns: list[str]) -> None:
    widths = [max(len(c), *(len(str(r[c])) for r in rows)) for c in columns]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for row in rows:
        print("  ".join(str(row[c]).ljust(w) for c, w in zip(columns, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    h = sub.add_parser("heuristic", help="HeuristicEnricher on a corpus jsonl")
    h.add_argument("--corpus", default="/work/corpus/debian-docs.jsonl")
    h.add_argument("--limit", type=int, help="first N pages only")
    m = sub.add_parser("llm", help="TopicEnricher with and without structured outputs")
    m.add_argument("--seeds", default=str(SAMPLE_SEEDS))
    m.add_argument("--topics", type=int, default=30)
    m.add_argument(
        "--max-tokens", type=int, default=512, help="room for the longest answer the schema allows"
    )
    m.add_argument("--model", default="smollm2-135m")
    m.add_argument("--only", choices=["structured", "free"], help="one setting only (default: both)")
    for p in (h, m):
        p.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()

    if args.mode == "heuristic":
        rows = heuristic(args.corpus, args.limit)
        columns = ["mode", "docs", "seconds", "docs_per_s", "kchars_per_s", "enriched"]
        columns += ["with_prerequisites", "with_related"]
    else:
        settings = {"structured": [True], "free": [False], None: [True, False]}[args.only]
        rows = [llm(args.seeds, args.topics, s, args.max_tokens, args.model) for s in settings]
        columns = ["structured", "topics", "all_three_parsed", "share", "seconds_incl_engine_start"]
        columns += ["finish_length"]
    print()
    print_table(rows, columns)
    for row in rows:
        details = {k: v for k, v in row.items() if k not in columns and k != "examples"}
        print(f"{row[columns[0]]}: {json.dumps(details, ensure_ascii=False)}")
        for example in row.get("examples", []):
            print(f"    {example}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
