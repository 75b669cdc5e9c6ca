"""Topic retrieval on the Debian-docs corpus: index build speed, query latency, precision@10.

    python benchmarks/retrieval.py [--corpus /work/corpus/debian-docs.jsonl] [--shards 4] [--pages 100]
                                   [--repeat 10]
    python benchmarks/retrieval.py --show-unjudged      # the top-10 pages no judgment covers yet

1. FtsIndexer under datatrove's LocalPipelineExecutor: 1 task, then `--shards` tasks on all cores;
   documents per second of wall time, index size; with `--repeat K`, also on the corpus written
   K times over (ids made distinct), for a build long enough to time.
2. FtsRetriever latency per topic (every subtopic of the shipped taxonomy, `--pages` pages each,
   fallback included) on both indexes: p50 / p95 / max.
3. precision@10 of the hand-labelled queries in benchmarks/data/retrieval_queries.jsonl, with the
   subtopic boost (x2), without it (x1), and with every word of the path required (Cosmopedia's
   query string), on the 1-task index. Each query's record holds its topic path and `judgments`:
   {page id: 1 relevant / 0 not} for every page any of these rankings puts in its top 10 (an agent judged them by reading each page's title and text).
"""

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import orjson

from cosmo_blocks.resources import bundled_dir
from cosmo_blocks.topics.retrieval import FtsIndexer, FtsRetriever
from cosmo_blocks.topics.taxonomy import TaxonomyReader, topic_document

QUERIES = Path(__file__).parent / "data" / "retrieval_queries.jsonl"
TAXONOMY = bundled_dir("pipelines") / "topics" / "taxonomy.txt"


def build(corpus: str, index_dir: Path, tasks: int, logs: Path) -> tuple[int, float]:
    from datatrove.executor import LocalPipelineExecutor

    from cosmo_blocks.seeds import SeedReader

    start = time.perf_counter()
    LocalPipelineExecutor(
        [SeedReader(corpus), FtsIndexer(index_dir)],
        tasks=tasks,
        workers=min(tasks, os.cpu_count() or 1),
        logging_dir=str(logs),
    ).run()
    seconds = time.perf_counter() - start
    size = sum(p.stat().st_size for p in index_dir.glob("*.sqlite"))
    return size, seconds


def repeated(corpus: str, times: int, folder: Path) -> Path:
    """The corpus `times` over, each copy's ids suffixed: a bigger build of the same text."""
    out = folder / "repeated.jsonl"
    lines = [orjson.loads(line) for line in Path(corpus).read_bytes().splitlines() if line.strip()]
    with open(out, "wb") as f:
        for copy in range(times):
            for record in lines:
                f.write(orjson.dumps(record | {"id": f"{record['id']}#{copy}"}) + b"\n")
    return out


def print_builds(corpus: str, shards: int, folder: Path, name: str) -> dict[int, Path]:
    docs = sum(1 for line in Path(corpus).read_bytes().splitlines() if line.strip())
    mb = os.path.getsize(corpus) / 1e6
    print(
        f"index build of {name}: {docs:,} documents, {mb:.1f} MB (LocalPipelineExecutor, SeedReader -> FtsIndexer)"
    )
    indexes = {}
    for tasks in (1, shards):
        index_dir = folder / f"{name}-index-{tasks}"
        size, seconds = build(corpus, index_dir, tasks, folder / f"{name}-logs-{tasks}")
        indexes[tasks] = index_dir
        workers = min(tasks, os.cpu_count() or 1)
        print(
            f"  {tasks:>2} task(s), {workers} worker(s): {seconds:6.2f} s  {docs / seconds:7.0f} docs/s  "
            f"{mb / seconds:5.2f} MB/s  index {size / 1e6:.1f} MB"
        )
    return indexes


def latencies(index_dir: Path, pages: int) -> tuple[list[float], dict]:
    topics = list(TaxonomyReader(TAXONOMY).run(None, 0, 1))
    retriever = FtsRetriever(index_dir, pages_per_topic=pages)
    retriever.open_shards()
    times = []
    for topic in topics:
        start = time.perf_counter()
        retriever.retrieve(topic)
        times.append(time.perf_counter() - start)
    stats = {k: v.total for k, v in retriever.stats.stats.items()}
    retriever.close()
    return times, stats


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def read_queries() -> list[dict]:
    return [orjson.loads(line) for line in QUERIES.read_bytes().splitlines() if line.strip()]


# the retriever settings compared: ours, without the boost, and Cosmopedia's AND of every word
SETTINGS = {
    "subtopic boost x2 (default)": {"boost": 2},
    "no boost (x1)": {"boost": 1},
    "every word required, x2": {"boost": 2, "match_all": True},
}


def top10(index_dir: Path, query: dict, settings: dict) -> list:
    topic = topic_document(query["category"], query["subcategory"], query["subtopic"])
    return FtsRetriever(index_dir, pages_per_topic=10, **settings).retrieve(topic)


def page_id(seed) -> str:
    return seed.id.split("/", 1)[1]


def precision(index_dir: Path) -> dict[str, list[float]]:
    scores: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for query in read_queries():
        for name in scores:
            ids = [page_id(s) for s in top10(index_dir, query, SETTINGS[name])]
            unjudged = [p for p in ids if p not in query["judgments"]]
            if unjudged:
                raise SystemExit(f"{query['subtopic']!r}: unjudged pages {unjudged}; run --show-unjudged")
            scores[name].append(sum(query["judgments"][p] for p in ids) / 10)
    return scores


def show_unjudged(index_dir: Path):
    for query in read_queries():
        seen = set()
        for settings in SETTINGS.values():
            for seed in top10(index_dir, query, settings):
                pid = page_id(seed)
                if pid in query["judgments"] or pid in seen:
                    continue
                seen.add(pid)
                text = " ".join(seed.text.split())[:400]
                print(f"[{query['subtopic']}] {pid} | {seed.metadata.get('title', '')}\n    {text}\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/work/corpus/debian-docs.jsonl")
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--pages", type=int, default=100, help="pages per topic in the latency run")
    parser.add_argument(
        "--repeat", type=int, default=1, help="also time the build on the corpus K times over"
    )
    parser.add_argument("--out", default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--show-unjudged", action="store_true")
    args = parser.parse_args()
    from datatrove.utils.logging import logger

    logger.remove()
    folder = Path(tempfile.mkdtemp(dir=args.out))
    try:
        print(f"{os.cpu_count()} cores\n")
        indexes = print_builds(args.corpus, args.shards, folder, "corpus")
        if args.repeat > 1:
            big = repeated(args.corpus, args.repeat, folder)
            for index_dir in print_builds(str(big), args.shards, folder, f"corpus x{args.repeat}").values():
                shutil.rmtree(index_dir)
        if args.show_unjudged:
            show_unjudged(indexes[1])
            return
        print(f"\nquery latency per topic ({args.pages} pages, fallback included), shipped taxonomy")
        for tasks, index_dir in indexes.items():
            times, stats = latencies(index_dir, args.pages)
            ms = [t * 1000 for t in times]
            print(
                f"  {tasks:>2} shard(s): {len(ms)} topics  p50 {percentile(ms, 50):6.1f} ms  "
                f"p95 {percentile(ms, 95):6.1f} ms  max {max(ms):6.1f} ms  "
                f"(fallback {stats.get('fallback_queries', 0)}, pages {stats.get('pages', 0)}, "
                f"duplicates {stats.get('duplicate_id', 0) + stats.get('duplicate_text', 0)})"
            )
        scores = precision(indexes[1])
        print(f"\nprecision@10 over {len(read_queries())} hand-labelled queries (1-task index)")
        for name, values in scores.items():
            print(
                f"  {name:<28}: mean {statistics.mean(values):.3f}  per query {[round(v, 1) for v in values]}"
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
