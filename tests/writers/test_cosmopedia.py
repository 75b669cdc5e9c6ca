"""The writers emit the released Cosmopedia columns; `datasets` opens them unchanged."""

import datasets
import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.writers import CosmopediaJsonlWriter, CosmopediaParquetWriter

COLUMNS = [
    "prompt", "text", "token_length", "seed_data", "format", "audience",
    "id", "seed_id", "topic", "language", "model", "finish_reason",
    "token_count", "original_text", "code_unverified", "source",
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


def promised_fields_docs() -> list[Document]:
    base = {keys.PROMPT: "Write", keys.MODEL: "/no/such/model", keys.FINISH_REASON: "stop"}
    return [
        Document(text="Sure! Here is the post:\nBees are busy.", id="opener", metadata=dict(base)),
        Document(
            text="Tensors:\n\n```python\nimport torch\nprint(torch.zeros(2))\n```\n\nThat is all.",
            id="torch",
            metadata=dict(base),
        ),
        Document(text="Plain text that stays as it is.", id="plain", metadata=dict(base)),
    ]


@pytest.mark.parametrize("writer_cls,builder,pattern", [
    (CosmopediaJsonlWriter, "json", "*.jsonl"),
    (CosmopediaParquetWriter, "parquet", "*.parquet"),
])  # fmt: skip
def test_original_text_and_code_unverified_reach_the_dataset(tmp_path, writer_cls, builder, pattern):
    """The cleaner's original_text and the code filter's code_unverified are columns; a task file in
    which neither was set still has them, typed, so `datasets` opens the files together."""
    from cosmo_blocks.filters import BoilerplateCleaner, CodeExecutionFilter

    cleaner = BoilerplateCleaner()
    code = CodeExecutionFilter(on_missing_sandbox="mark", missing_module="mark", workers=1)
    writer = writer_cls(str(tmp_path))
    for rank, docs in enumerate([promised_fields_docs(), promised_fields_docs()[2:]]):
        list(writer.run(code.run(cleaner.run(iter(docs), rank), rank), rank))
    files = sorted(str(p) for p in tmp_path.rglob(pattern))
    assert len(files) == 2
    ds = datasets.load_dataset(builder, data_files=files, split="train", cache_dir=str(tmp_path / "cache"))
    by_id = {row["id"]: row for row in ds}
    assert by_id["opener"]["text"] == "Bees are busy."
    assert by_id["opener"]["original_text"] == "Sure! Here is the post:\nBees are busy."
    assert by_id["torch"]["code_unverified"] is True and by_id["torch"]["original_text"] == ""
    assert [row["code_unverified"] for row in ds if row["id"] == "plain"] == [False, False]
    assert ds.features["code_unverified"].dtype == "bool"


def test_token_count_is_written_and_datatrove_reads_it(tmp_path):
    """datatrove's doc stats and LengthCounter read `token_count`; our output carries it, also for a
    document that set only Cosmopedia's `token_length`."""
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.tokens import LengthCounter

    written = list(docs())
    for doc in written[:3]:
        doc.metadata[keys.TOKEN_COUNT] = doc.metadata[keys.TOKEN_LENGTH]
    writer = CosmopediaJsonlWriter(str(tmp_path / "out"))
    list(writer.run(iter(written)))
    assert writer.stats.stats["doc_len_tokens"].total == sum(100 + i for i in range(3))
    read_back = list(JsonlReader(str(tmp_path / "out"))())
    assert [d.metadata["token_count"] for d in read_back] == [100, 101, 102, 103, 104]
    counter = LengthCounter()
    list(counter.run(iter(read_back)))
    assert {k: v.total for k, v in counter.stats.stats.items()} == {100 + i: 1 for i in range(5)}
