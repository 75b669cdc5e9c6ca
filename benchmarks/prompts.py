"""Prompt rendering throughput: PromptBuilder prompts per second on one core, per recipe's builder.

    python benchmarks/prompts.py [--corpus /work/corpus/debian-docs.jsonl] [--repeat 5]
    PYTHONPATH=/path/to/other/checkout python benchmarks/prompts.py   # the same on other code

Seeds: the corpus's documents with their topic and a 1,000-character extract (TopicExtractor, as
Cosmopedia cut its web extracts), built before timing; each configuration then turns all of them
into prompts in this process (one core), `--repeat` times, and the best run counts. The enriched
configuration gives every seed related concepts, a difficulty and prerequisites, so the textbook's
enrichment clause is rendered. Rendering must never be the bottleneck: the target is >= 10,000
prompts/s per core (a GPU generates a few hundred documents per second).
"""

import argparse
import time
from pathlib import Path

CONFIGS = {
    # name: PromptBuilder arguments, whether the seeds are enriched
    "quickstart (5 formats, 2 variants)": ({"variants": 2}, False),
    "topics_v2 (textbook, weighted audiences)": (
        {"mix": {"textbook": 1}, "audiences": {"middle_school_students": 0.4, "college_students": 0.3}},
        False,
    ),
    "textbook, enriched seeds": ({"mix": {"textbook": 1}}, True),
    "korean (5 formats)": ({"language": "ko"}, False),
}


def seeds(corpus: str, limit: int | None) -> list:
    from cosmo_blocks.seeds import SeedReader, TopicExtractor

    docs = SeedReader(corpus, limit=-1 if limit is None else limit)(None)
    return list(TopicExtractor(context_chars=1000)(docs))


def enriched(docs: list) -> list:
    from datatrove.data import Document

    extra = {"related_concepts": ["a", "b", "c"], "difficulty": "college", "prerequisites": ["d"]}
    return [Document(text=d.text, id=d.id, metadata=d.metadata | extra) for d in docs]


def measure(docs: list, kwargs: dict, repeat: int) -> tuple[int, float]:
    from cosmo_blocks.prompts import PromptBuilder

    best = float("inf")
    for _ in range(repeat):
        builder = PromptBuilder(**kwargs)
        start = time.perf_counter()
        count = sum(1 for _ in builder.run(iter(docs)))
        best = min(best, time.perf_counter() - start)
    return count, best


def main():
    import cosmo_blocks

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="/work/corpus/debian-docs.jsonl")
    parser.add_argument("--limit", type=int, help="At most this many seeds.")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    plain = seeds(args.corpus, args.limit)
    rich = enriched(plain)
    print(f"code: {Path(cosmo_blocks.__file__).parent.parent}  seeds: {len(plain)} from {args.corpus}")
    print(f"{'configuration':44} {'prompts':>8} {'seconds':>8} {'prompts/s':>10}")
    for name, (kwargs, with_enrichment) in CONFIGS.items():
        count, seconds = measure(rich if with_enrichment else plain, kwargs, args.repeat)
        print(f"{name:44} {count:8d} {seconds:8.3f} {count / seconds:10,.0f}")


if __name__ == "__main__":
    main()
