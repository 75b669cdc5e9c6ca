"""Writers of the released Cosmopedia record, plus our provenance columns.

`prompt, text, token_length, seed_data, format, audience` come first, so tools made for
Cosmopedia read our output unchanged; `id, seed_id, topic, language, model, finish_reason,
token_count, original_text, code_unverified, source` follow (`source`: which corpus a record of a
mixed dataset came from, `Mixer`; empty otherwise). Every column is in every record, with a
typed empty value when unset, because `datasets` refuses jsonl files whose columns or types
differ. Rejected documents keep their `filter_reason`.

One writer object may be shared by several steps (the usual case: one rejects writer for
every filter): it counts its users and closes its files when the last one is done.
"""

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.pipeline.writers import JsonlWriter, ParquetWriter

from cosmo_blocks import keys

_INT_COLUMNS = {keys.TOKEN_LENGTH, keys.TOKEN_COUNT}
_BOOL_COLUMNS = {keys.CODE_UNVERIFIED}


def cosmopedia_record(doc: Document, with_reason: bool = False) -> dict:
    meta = doc.metadata
    record = {}
    for column in keys.OUTPUT_COLUMNS:
        if column == "text":
            record[column] = doc.text
        elif column == "id":
            record[column] = doc.id
        else:
            record[column] = _value(meta, column)
    if with_reason:
        record[keys.FILTER_REASON] = meta.get(keys.FILTER_REASON, "")
    return record


def _value(meta: dict, column: str):
    value = meta.get(column)
    if value is None and column == keys.TOKEN_COUNT:
        value = meta.get(keys.TOKEN_LENGTH)  # the same count, from a step that set only Cosmopedia's name
    if value is not None or column in _INT_COLUMNS:
        return value
    return False if column in _BOOL_COLUMNS else ""


def _schema(with_reason: bool):
    import pyarrow as pa

    def arrow_type(column: str):
        if column in _INT_COLUMNS:
            return pa.int64()
        return pa.bool_() if column in _BOOL_COLUMNS else pa.string()

    columns = list(keys.OUTPUT_COLUMNS) + ([keys.FILTER_REASON] if with_reason else [])
    return pa.schema([(c, arrow_type(c)) for c in columns])


def _adapter(with_reason: bool):
    def adapt(_writer, doc: Document) -> dict:
        return cosmopedia_record(doc, with_reason)

    return adapt


class _SharedWriter:
    """Enter/exit counted, so several steps can hold one writer.

    datatrove's filters enter their exclusion writer for as long as their input lasts and close
    it on exit; a writer closed by the first filter to finish would be reopened (truncating its
    file) by the next one that writes. Here only the last user to exit closes the files.
    """

    shareable = True
    _users = 0

    def __enter__(self):
        self._users += 1
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self._users -= 1
        if self._users <= 0:
            self._users = 0
            self.close()


class CosmopediaJsonlWriter(_SharedWriter, JsonlWriter):
    """Cosmopedia records as jsonl (orjson), `${rank}.jsonl[.gz]` per task, on any fsspec path.

    One writer may be shared by several filters as their `exclusion_writer`.
    """

    name = "🐿 Cosmopedia jsonl"

    def __init__(
        self,
        output_folder: DataFolderLike,
        output_filename: str | None = None,
        compression: str | None = None,
        rejects: bool = False,
    ):
        super().__init__(output_folder, output_filename, compression=compression, adapter=_adapter(rejects))


class CosmopediaParquetWriter(_SharedWriter, ParquetWriter):
    """Cosmopedia records as parquet with a fixed schema, `${rank}.parquet` per task.

    One writer may be shared by several filters as their `exclusion_writer`.
    """

    name = "📒 Cosmopedia parquet"

    def __init__(
        self, output_folder: DataFolderLike, output_filename: str | None = None, rejects: bool = False
    ):
        super().__init__(output_folder, output_filename, adapter=_adapter(rejects), schema=_schema(rejects))
