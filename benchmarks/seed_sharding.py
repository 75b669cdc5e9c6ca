"""One big seed file, many tasks: what a single task reads, side by side.

    python benchmarks/seed_sharding.py [--records 200000] [--tasks 100] [--out DIR]

One jsonl file (and the same records gzipped), one task of `--tasks` (the middle rank), timed:
SeedReader on the plain file (byte ranges: the task reads only its share), SeedReader on the gzip
(not seekable: read whole, records dealt round-robin), and datatrove's JsonlReader (shards by file:
with one file, every task but rank 0 gets nothing).
"""

import argparse
import gzip
import os
import shutil
import tempfile
import time
from pathlib import Path

import orjson
from datatrove.pipeline.readers import JsonlReader
from datatrove.utils.logging import logger

from cosmo_blocks.seeds import SeedReader


def write_seeds(folder: Path, n: int) -> tuple[Path, Path]:
    plain, zipped = folder / "plain" / "seeds.jsonl", folder / "zipped" / "seeds.jsonl.gz"
    plain.parent.mkdir(parents=True)
    zipped.parent.mkdir(parents=True)
    text = "Plants turn light into chemical energy in their leaves. " * 18
    with open(plain, "wb") as f:
        for i in range(n):
            f.write(orjson.dumps({"id": f"s{i}", "title": f"Seed {i}", "text": text}) + b"\n")
    with open(plain, "rb") as src, gzip.open(zipped, "wb", compresslevel=1) as dst:
        shutil.copyfileobj(src, dst)
    return plain, zipped


def timed(reader, rank: int, tasks: int) -> tuple[int, float]:
    start = time.perf_counter()
    n = sum(1 for _ in reader.run(None, rank, tasks))
    return n, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--out", default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    logger.remove()
    folder = Path(tempfile.mkdtemp(dir=args.out))
    try:
        plain, zipped = write_seeds(folder, args.records)
        rank = args.tasks // 2
        size_mb = os.path.getsize(plain) / 1e6
        print(
            f"{args.records:,} seeds, {size_mb:.0f} MB jsonl; task {rank} of {args.tasks}, {os.cpu_count()} cores\n"
        )
        rows = [
            ("SeedReader, jsonl (byte range)", SeedReader(str(plain))),
            ("SeedReader, jsonl.gz (whole file)", SeedReader(str(zipped))),
            ("datatrove JsonlReader, jsonl", JsonlReader(str(plain.parent))),
        ]
        for label, reader in rows:
            n, seconds = timed(reader, rank, args.tasks)
            print(f"{label:36s} {n:>6,} seeds  {seconds:7.3f} s")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
