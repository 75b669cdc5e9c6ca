"""The writers emit the released Cosmopedia columns; `datasets` opens them unchanged."""

import datasets
import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.writers import CosmopediaJsonlWriter, CosmopediaParquetWriter

COLUMNS = [
    "prompt", "text", "token_length", "seed_data", "format", "audience",
    "id", "seed_id", "topic", "language", "model", "finish_reason",
    "token_count", "original_text", "code_unverified",
]  # fmt: skip


def docs():
    for i in range(5):
        yield Document(
            text=f"Generated text number {i}. 광합성.",
            id=f"seed-{i}/0",
            metadata={
                keys.PROMPT: f"Write about {i}",
                keys.TOKEN_LENGTH: 100 + i,
                keys.SEED_DATA: "wikipedia",
                keys.FORMAT: "textbook",
                keys.AUDIENCE: "college",
                keys.SEED_ID: f"seed-{i}",
                keys.TOPIC: "Photosynthesis",
                keys.LANGUAGE: "en",
                keys.MODEL: "tiny",
                keys.FINISH_REASON: "stop",
                keys.FILTER_REASON: "too_short_chars",
                "url": "not an output column",
            },
        )


@pytest.mark.parametrize("writer_cls,builder,pattern", [
    (CosmopediaJsonlWriter, "json", "*.jsonl"),
    (CosmopediaParquetWriter, "parquet", "*.parquet"),
])  # fmt: skip
def test_datasets_opens_the_output(tmp_path, writer_cls, builder, pattern):
    with writer_cls(str(tmp_path)) as writer:
        for doc in docs():
            writer.write(doc, rank=0)
    files = sorted(str(p) for p in tmp_path.glob(pattern))
    assert files
    ds = datasets.load_dataset(builder, data_files=files, split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.column_names == COLUMNS
    assert len(ds) == 5
    row = ds[3]
    assert row["text"] == "Generated text number 3. 광합성." and row["token_length"] == 103
    assert row["id"] == "seed-3/0" and row["format"] == "textbook"


def test_rejects_keep_their_reason(tmp_path):
    with CosmopediaJsonlWriter(str(tmp_path), rejects=True, compression="gzip") as writer:
        for doc in docs():
            writer.write(doc, rank=1)
    (path,) = tmp_path.glob("*.jsonl.gz")
    ds = datasets.load_dataset("json", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache"))
    assert ds.column_names == COLUMNS + ["filter_reason"]
    assert set(ds["filter_reason"]) == {"too_short_chars"}
