"""Run report build time for 100,000 records (`cosmo report OUTPUT`: page + dataset card).

    python benchmarks/report.py [--records 100000] [--ranks 8] [--keep /tmp/report-bench]

The dataset's 100,000 records are the 300 real SmolLM2 generations (tests/filters/data/smollm2/labelled.jsonl)
repeated with distinct ids, written by our writers into a run folder: `data/` (CosmopediaParquetWriter,
one file per rank; then the same as jsonl with CosmopediaJsonlWriter); `rejects/` gets 10% more (the
generations the labels reject, repeated, with their reason), and the generation journal holds every
record (GenerationJournal, one file per rank, full texts as a real journal holds them). Timed: reading the
folder (`collect_run`), the HTML page with its plots, the card, and `build_report` end to end.
"""

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import orjson
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.dataset.card import write_card
from cosmo_blocks.dataset.report import build_report, collect_run, render_html
from cosmo_blocks.generation.journal import GenerationJournal
from cosmo_blocks.writers import CosmopediaJsonlWriter, CosmopediaParquetWriter

GENERATIONS = (
    Path(__file__).resolve().parents[1] / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"
)
REJECTED = {"repetition", "degenerate", "too_short", "truncated"}


def synthesise(out: Path, records: int, ranks: int, data_writer) -> None:
    real = [orjson.loads(line) for line in GENERATIONS.read_bytes().splitlines()]
    rejected = [r for r in real if r["reason"] in REJECTED]
    writers = {
        "data": data_writer(str(out / "data")),
        "rejects": CosmopediaJsonlWriter(str(out / "rejects"), rejects=True),
    }
    journals = [
        GenerationJournal(str(out / "logs" / "journal"), rank, fsync_interval=3600) for rank in range(ranks)
    ]
    with writers["data"], writers["rejects"]:
        for i in range(records + records // 10):
            record = real[i % len(real)] if i < records else rejected[i % len(rejected)]
            meta = record["metadata"] | {keys.MODEL: "HuggingFaceTB/SmolLM2-135M-Instruct"}
            doc = Document(text=record["text"], id=f"{record['id']}#{i}", metadata=meta)
            rank = i % ranks
            entry = {"id": doc.id, "key": "", "text": doc.text, "finish_reason": meta["finish_reason"],
                     "prompt_tokens": 0, "token_length": meta["token_length"]}  # fmt: skip
            journals[rank].append(entry)
            if i >= records:
                doc.metadata[keys.FILTER_REASON] = record["reason"]
                writers["rejects"].write(doc, rank)
            else:
                writers["data"].write(doc, rank)
    for journal in journals:
        journal.close()


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000, help="records in the dataset (data/)")
    parser.add_argument("--ranks", type=int, default=8)
    parser.add_argument("--keep", help="write the run folders here and keep them")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="report-bench-"))
    print(
        f"{args.records:,} records in data/ + {args.records // 10:,} rejects, all journaled "
        f"({GENERATIONS.name} repeated, distinct ids), {args.ranks} ranks"
    )
    print(
        f"{'data':<8} {'kept':>7} {'MB on disk':>10} {'read s':>7} {'page s':>7} {'card s':>7} {'build_report s':>14}"
    )
    try:
        for name, writer in (("parquet", CosmopediaParquetWriter), ("jsonl", CosmopediaJsonlWriter)):
            out = root / name
            shutil.rmtree(out, ignore_errors=True)
            synthesise(out, args.records, args.ranks, writer)
            megabytes = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
            facts, read = timed(lambda out=out: collect_run(str(out)))
            _, page = timed(lambda facts=facts: render_html(facts))
            _, card = timed(lambda out=out, facts=facts: write_card(str(out), facts))
            _, total = timed(lambda out=out: build_report(str(out)))
            print(
                f"{name:<8} {facts.data.rows:>7,} {megabytes:>10.0f} {read:>7.2f} {page:>7.2f} {card:>7.2f} {total:>14.2f}"
            )
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
