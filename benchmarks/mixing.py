"""Mixing and the released-Cosmopedia reader/filter: speed, and how far the token estimate moves alpha.

    python benchmarks/mixing.py [--corpus /work/corpus/debian-docs.jsonl] [--repeat 20]
                                [--tokenizer ~/.cache/cosmo-blocks/smollm2-135m-instruct]
                                [--rows 100000]

1. Mixer, one task in-process: the Debian corpus (real, no token counts) against the 300 SmolLM2
   generations written `--repeat` times over with distinct ids (synthetic, SmolLM2's `token_length`),
   alpha 0.5. Counted three ways: metadata else characters / 4 (the default), and every document by
   the SmolLM2 tokenizer (`--tokenizer`, as `cosmo small-model` builds it). For each: documents/s,
   the alpha the Mixer reports, and the alpha of its output recounted with the SmolLM2 tokenizer
   (the true one, when one tokenizer counts both sides).
2. CosmopediaReader + CosmopediaFilter on a `--rows`-row parquet file in the released v0.1 schema
   (generations repeated, released vocabulary cycled): rows/s read alone, and read + filtered.
"""

import argparse
import itertools
import os
import tempfile
import time
from pathlib import Path

import orjson

from cosmo_blocks import keys

REPO = Path(__file__).resolve().parents[1]
GENERATIONS = REPO / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"
FORMATS = ["textbook_academic_tone", "blogpost", "story_children", "wikihow", "educational_piece"]
AUDIENCES = ["college_students", "general", "young_children", "high_school_studnets"]
SEEDS = ["web_samples_v1", "auto_math_text", "stanford", "stories", "khanacademy", "openstax", "wikihow"]


def synthetic_file(folder: Path, repeat: int) -> Path:
    records = [orjson.loads(line) for line in GENERATIONS.open("rb")]
    path = folder / "synthetic.jsonl"
    with path.open("wb") as f:
        for k, record in itertools.product(range(repeat), records):
            f.write(orjson.dumps(record | {"id": f"{record['id']}#{k}"}) + b"\n")
    return path


def mix(real: Path, synthetic: Path, tokenizer: str | None):
    from datatrove.pipeline.readers import JsonlReader

    from cosmo_blocks.dataset.mixing import SYNTHETIC, Mixer

    mixer = Mixer(
        JsonlReader(str(real)), JsonlReader(str(synthetic)), real_name="debian", tokenizer=tokenizer
    )
    start = time.perf_counter()
    docs = list(mixer.run())
    seconds = time.perf_counter() - start
    stats = mixer.stats.stats
    reported = stats[f"tokens_{SYNTHETIC}"].total / (
        stats[f"tokens_{SYNTHETIC}"].total + stats["tokens_debian"].total
    )
    return docs, seconds, reported


def true_alpha(docs, tokenizer) -> float:
    tokens = {"synthetic": 0, "debian": 0}
    for doc in docs:
        tokens[doc.metadata[keys.SOURCE]] += len(tokenizer.encode(doc.text, add_special_tokens=False).ids)
    return tokens["synthetic"] / sum(tokens.values())


def released_parquet(folder: Path, rows: int) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [orjson.loads(line) for line in GENERATIONS.open("rb")]
    cycle = list(itertools.islice(itertools.cycle(records), rows))
    table = pa.table(
        {
            "prompt": [r["metadata"]["prompt"] for r in cycle],
            "text_token_length": pa.array(
                [r["metadata"].get("token_length") or 0 for r in cycle], pa.int64()
            ),
            "text": [r["text"] for r in cycle],
            "seed_data": [SEEDS[i % len(SEEDS)] for i in range(rows)],
            "format": [FORMATS[i % len(FORMATS)] for i in range(rows)],
            "audience": [AUDIENCES[i % len(AUDIENCES)] for i in range(rows)],
        }
    )
    path = folder / "v01" / "train-00000-of-00001.parquet"
    path.parent.mkdir()
    pq.write_table(table, path)
    return path.parent


def read_and_filter(folder: Path) -> tuple[float, float, int]:
    from cosmo_blocks.dataset.released import CosmopediaFilter, CosmopediaReader

    start = time.perf_counter()
    n = sum(1 for _ in CosmopediaReader(str(folder)).run())
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    kept_filter = CosmopediaFilter(format="textbook*", audience="college_students", topic="learn")
    kept = sum(1 for _ in kept_filter.run(CosmopediaReader(str(folder)).run()))
    return n / read_s, n / (time.perf_counter() - start), kept


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="/work/corpus/debian-docs.jsonl")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--tokenizer", default=str(Path.home() / ".cache/cosmo-blocks/smollm2-135m-instruct"))
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores\n")
    with tempfile.TemporaryDirectory(prefix="cosmo-mixing-") as tmp:
        tmp = Path(tmp)
        real_dir, syn_dir = tmp / "real", tmp / "synthetic"
        real_dir.mkdir(), syn_dir.mkdir()
        (real_dir / "debian.jsonl").symlink_to(Path(args.corpus).resolve())
        synthetic_file(syn_dir, args.repeat)
        tokenizer = None
        if Path(args.tokenizer, "tokenizer.json").is_file():
            from tokenizers import Tokenizer

            tokenizer = Tokenizer.from_file(str(Path(args.tokenizer, "tokenizer.json")))
        print("Mixer, alpha 0.5, 1 task")
        print(f"{'counting':<28} {'docs':>7} {'docs/s':>8} {'alpha (Mixer)':>14} {'alpha (SmolLM2)':>16}")
        modes = [("metadata, else chars/4", None)] + (
            [("SmolLM2 tokenizer", args.tokenizer)] if tokenizer else []
        )
        for label, path in modes:
            docs, seconds, reported = mix(real_dir, syn_dir, path)
            true = f"{true_alpha(docs, tokenizer):.4f}" if tokenizer else "n/a"
            print(f"{label:<28} {len(docs):>7} {len(docs) / seconds:>8.0f} {reported:>14.4f} {true:>16}")
        folder = released_parquet(tmp, args.rows)
        read_rate, filter_rate, kept = read_and_filter(folder)
        print(f"\nCosmopediaReader, v0.1 parquet, {args.rows} rows: {read_rate:,.0f} rows/s read")
        print(
            f"  + CosmopediaFilter(format='textbook*', audience, topic='learn'): {filter_rate:,.0f} rows/s, {kept} kept"
        )


if __name__ == "__main__":
    main()
