"""Speed and false drops of the domain checks (not part of the test run).

    flock /tmp/cosmo-bench.lock python benchmarks/domain_checks.py [--repeat 5]
                                        [--corpus /work/corpus/debian-docs.jsonl]

For MathAnswerFilter, ScienceExperimentFilter and HistoricalDatesFilter, on the 300 real SmolLM2
generations (tests/filters/data/smollm2/labelled.jsonl; none is of these formats):
- "gated": documents/s with the default `formats`, i.e. what each costs a pipeline whose other
  formats pass through it;
- "checked": documents/s with `formats=None`, every document checked as if it were of the format:
  the cost per document of the format itself;
- the drops when checked, by reason: on ordinary texts the arithmetic and date checks should drop
  (almost) nothing, while the science check drops what simply is no experiment.
With --corpus, the checked drops also on a real corpus (the Debian documentation pages).
One process, one core; the best of `--repeat` passes.
"""

import argparse
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from datatrove.data import Document  # noqa: E402

from cosmo_blocks.filters.math_answer import MathAnswerFilter  # noqa: E402
from cosmo_blocks.filters.structure import HistoricalDatesFilter, ScienceExperimentFilter  # noqa: E402

SMOLLM2 = Path(__file__).resolve().parents[1] / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"


def load(path: Path, limit: int | None = None) -> list[Document]:
    docs = []
    for line in path.read_bytes().splitlines()[:limit]:
        row = orjson.loads(line)
        docs.append(Document(text=row["text"], id=row["id"], metadata=row.get("metadata") or {}))
    return docs


def filters(checked: bool) -> dict[str, object]:
    every = {"formats": None} if checked else {}
    return {
        "math_answer": MathAnswerFilter(require_answer=False, **every),
        "science_experiment": ScienceExperimentFilter(**every),
        "historical_dates": HistoricalDatesFilter(**every),
    }


def timed(make, docs: list[Document], repeat: int) -> tuple[float, Counter]:
    """Best documents/s over `repeat` passes with a fresh filter each, and the drops by reason."""
    best, reasons = 0.0, Counter()
    for _ in range(repeat):
        block = make()
        reasons = Counter()
        start = time.perf_counter()
        for doc in docs:
            result = block.filter(doc)
            if result is not True:
                reasons[result[1]] += 1
        best = max(best, len(docs) / (time.perf_counter() - start))
    return best, reasons


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--corpus", help="a JSONL corpus (id, text) to count checked drops on")
    parser.add_argument("--corpus-limit", type=int, default=None)
    args = parser.parse_args()

    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.1f}"
    )
    docs = load(SMOLLM2)
    MathAnswerFilter(formats=None).filter(
        Document(text="The answer is 1 + 1 = 2.", id="warm")
    )  # sympy import
    print(f"\n## {len(docs)} SmolLM2-135M generations, {sum(len(d.text) for d in docs) / 1e6:.2f} MB")
    print(f"{'filter':<20} {'gated docs/s':>13} {'checked docs/s':>15}  checked drops")
    for name in filters(False):
        gated, _ = timed(lambda n=name: filters(False)[n], docs, args.repeat)
        checked, reasons = timed(lambda n=name: filters(True)[n], docs, args.repeat)
        drops = ", ".join(f"{r} {c}" for r, c in reasons.most_common()) or "none"
        print(f"{name:<20} {gated:>13,.0f} {checked:>15,.0f}  {drops}")
    if args.corpus:
        corpus = load(Path(args.corpus), args.corpus_limit)
        print(f"\n## {args.corpus}: {len(corpus)} documents, checked")
        print(f"{'filter':<20} {'docs/s':>13}  drops")
        for name in filters(True):
            speed, reasons = timed(lambda n=name: filters(True)[n], corpus, 1)
            drops = ", ".join(f"{r} {c}" for r, c in reasons.most_common()) or "none"
            print(f"{name:<20} {speed:>13,.0f}  {drops}")


if __name__ == "__main__":
    main()
