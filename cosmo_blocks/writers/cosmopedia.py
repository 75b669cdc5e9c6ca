"""Writers of the released Cosmopedia record, plus our provenance columns.

`prompt, text, token_length, seed_data, format, audience` come first, so tools made for
Cosmopedia read our output unchanged; `id, seed_id, topic, language, model, finish_reason`
follow. Rejected documents keep their `filter_reason`.
"""

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

from cosmo_blocks import keys

_INT_COLUMNS = {keys.TOKEN_LENGTH}


def cosmopedia_record(doc: Document, with_reason: bool = False) -> dict:
    meta = doc.metadata
    record = {}
    for column in keys.OUTPUT_COLUMNS:
        if column == "text":
            record[column] = doc.text
        elif column == "id":
            record[column] = doc.id
        else:
            value = meta.get(column)
            record[column] = value if value is not None or column in _INT_COLUMNS else ""
    if with_reason:
        record[keys.FILTER_REASON] = meta.get(keys.FILTER_REASON, "")
    return record


def _schema(with_reason: bool):
    import pyarrow as pa

    columns = list(keys.OUTPUT_COLUMNS) + ([keys.FILTER_REASON] if with_reason else [])
    return pa.schema([(c, pa.int64() if c in _INT_COLUMNS else pa.string()) for c in columns])


def _adapter(with_reason: bool):
    def adapt(_writer, doc: Document) -> dict:
        return cosmopedia_record(doc, with_reason)

    return adapt


class CosmopediaJsonlWriter(JsonlWriter):
    """Cosmopedia records as jsonl (orjson), `${rank}.jsonl[.gz]` per task, on any fsspec path."""

    name = "🐿 Cosmopedia jsonl"

    def __init__(
        self,
        output_folder: DataFolderLike,
        output_filename: str | None = None,
        compression: str | None = None,
        rejects: bool = False,
    ):
        super().__init__(output_folder, output_filename, compression=compression, adapter=_adapter(rejects))


class CosmopediaParquetWriter(ParquetWriter):
    """Cosmopedia records as parquet with a fixed schema, `${rank}.parquet` per task."""

    name = "📒 Cosmopedia parquet"

    def __init__(
        self, output_folder: DataFolderLike, output_filename: str | None = None, rejects: bool = False
    ):
        super().__init__(output_folder, output_filename, adapter=_adapter(rejects), schema=_schema(rejects))
