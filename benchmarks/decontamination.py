"""Benchmark decontamination speed: index build time and memory, documents/s, both methods.

    python benchmarks/decontamination.py [--corpus /work/corpus/debian-docs.jsonl] [--items 12000]
                                         [--repeat 10] [--methods difflib ngrams]

No real benchmark is reachable here (no Hugging Face hub; no PyPI package ships MMLU & co.), so the
benchmark file is built from real text: `--items` sentences of 12-60 normalised words from every other Debian
document, each made an MMLU-shaped item (`question` = the sentence, `choices` = the first 8 words of
four other sentences), so each item is indexed as 4 texts, as MMLU's are.

Documents filtered, one process (one datatrove task), single core:
- generated: the 300 real SmolLM2 generations, `--repeat` times over (ids made distinct);
- debian held-out: the Debian documents no item came from (they share boilerplate with the items, so
  many are candidates: the diff path is exercised for real);
- planted: the 300 generations, each with one benchmark item pasted in (every one must be dropped).
"""

import argparse
import gc
import json
import random
import re
import tempfile
import time
from pathlib import Path

from datatrove.data import Document

from cosmo_blocks.dataset.decontamination import BenchmarkDecontaminator, BenchmarkFile, normalise

GENERATED = Path(__file__).parents[1] / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sentences(text: str) -> list[str]:
    """Sentences of 12 to 60 normalised words (a prompt under 10 words is found only through n-grams
    running on into an answer, which a pasted quiz's "A." label breaks)."""
    parts = (s.strip() for s in re.split(r"(?<=[.!?])\s+|\n+", text))
    return [s for s in parts if 12 <= len(normalise(s)) <= 60]


def build_items(corpus: list[dict], count: int, path: Path) -> list[dict]:
    """MMLU-shaped items from the sentences of every other Debian document."""
    rng = random.Random(0)
    pool = [s for doc in corpus[::2] for s in sentences(doc["text"])]
    unique = list(dict.fromkeys(pool))
    rng.shuffle(unique)
    if len(unique) < count:
        raise SystemExit(f"only {len(unique)} distinct sentences in the corpus; ask for fewer --items")
    items = []
    for i, question in enumerate(unique[:count]):
        choices = [" ".join(rng.choice(unique).split()[:8]) for _ in range(4)]
        items.append({"id": f"deb-{i}", "question": question, "choices": choices, "answer": 0})
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return items


def doc_sets(corpus: list[dict], items: list[dict], repeat: int) -> dict[str, list[Document]]:
    generated = [json.loads(line) for line in GENERATED.read_text().splitlines()]
    rng = random.Random(1)
    planted = []
    for doc in generated:
        item = rng.choice(items)
        parts = doc["text"].split("\n\n")
        quiz = (
            item["question"]
            + "\n"
            + "\n".join(f"{c}. {x}" for c, x in zip("ABCD", item["choices"], strict=True))
        )
        parts.insert(len(parts) // 2, quiz)
        planted.append(Document(text="\n\n".join(parts), id=f"planted/{doc['id']}"))
    return {
        f"generated x{repeat}": [
            Document(text=d["text"], id=f"{d['id']}#{k}") for k in range(repeat) for d in generated
        ],
        "debian held-out": [Document(text=d["text"], id=d["id"]) for d in corpus[1::2]],
        "planted": planted,
    }


def measure(method: str, bench_path: Path, docs: dict[str, list[Document]]) -> list[tuple]:
    gc.collect()
    before = rss_mib()
    start = time.perf_counter()
    block = BenchmarkDecontaminator(
        {"debian": BenchmarkFile(str(bench_path), ["question"], ["choices"])}, method=method
    )
    checked = time.perf_counter() - start
    start = time.perf_counter()
    block.load()
    built = time.perf_counter() - start
    gc.collect()
    memory = rss_mib() - before
    print(
        f"{method:8} check files {checked:5.2f} s   index build {built:6.2f} s   index memory (RSS delta) {memory:6.0f} MiB"
    )
    rows = []
    for name, documents in docs.items():
        dropped = 0
        start = time.perf_counter()
        for doc in documents:
            doc = Document(text=doc.text, id=doc.id)
            dropped += block.filter(doc) is not True
        seconds = time.perf_counter() - start
        rows.append((method, name, len(documents), dropped, seconds))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/work/corpus/debian-docs.jsonl")
    parser.add_argument("--items", type=int, default=12000)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--methods", nargs="+", default=["difflib", "ngrams"])
    args = parser.parse_args()
    corpus = [json.loads(line) for line in Path(args.corpus).read_text().splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        bench_path = Path(tmp) / "debian_items.jsonl"
        items = build_items(corpus, args.items, bench_path)
        docs = doc_sets(corpus, items, args.repeat)
        print(
            f"benchmark file: {len(items)} items x 4 choices (from Debian docs), {bench_path.stat().st_size >> 10} KiB\n"
        )
        rows = [row for method in args.methods for row in measure(method, bench_path, docs)]
    print(f"\n{'method':8} {'documents':18} {'docs':>6} {'dropped':>8} {'seconds':>8} {'docs/s':>8}")
    for method, name, n, dropped, seconds in rows:
        print(f"{method:8} {name:18} {n:6d} {dropped:8d} {seconds:8.2f} {n / seconds:8.0f}")


if __name__ == "__main__":
    main()
