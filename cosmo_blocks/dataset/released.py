"""The released Cosmopedia in and out: one reader for its parquet and for our output, one filter for both.

Released schemas (from the dataset cards' `dataset_info` features):
  v0.1, HuggingFaceTB/cosmopedia (data/<subset>/*.parquet):
      prompt, text_token_length (int64), text, seed_data, format, audience
  v0.2, HuggingFaceTB/smollm-corpus config cosmopedia-v2 (cosmopedia-v2/*.parquet):
      prompt, text, token_length (int64), audience, format, seed_data
Ours (cosmo_blocks/writers/cosmopedia.py, jsonl or parquet): the v0.2 columns plus id, seed_id, topic,
language, model, finish_reason, token_count, ...

`CosmopediaReader` reads any of them, from any fsspec path (`hf://datasets/HuggingFaceTB/cosmopedia/data/
stories`, `s3://...`, a local folder), into documents with the same metadata keys; `CosmopediaFilter`
selects by format, audience, seed_data and a topic keyword on whatever the reader produced.
"""

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase
from typing import Literal

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers import JsonlReader, ParquetReader
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError

# v0.1's name for the count: the reader renames it to keys.TOKEN_LENGTH
V01_TOKEN_LENGTH = "text_token_length"
_PARQUET = (".parquet",)
_JSONL = (".jsonl", ".jsonl.gz", ".jsonl.zst", ".json", ".json.gz", ".json.zst")


def _normalise(reader: BaseDiskReader, data: dict, path: str, id_in_file: int | str) -> dict:
    """datatrove's default adaptation (non text/id columns become metadata), then one token-length key."""
    parsed = reader._default_adapter(data, path, id_in_file)
    meta = parsed["metadata"]
    if V01_TOKEN_LENGTH in meta:
        v01 = meta.pop(V01_TOKEN_LENGTH)
        if meta.get(keys.TOKEN_LENGTH) is None:
            meta[keys.TOKEN_LENGTH] = v01
    if meta.get(keys.TOKEN_LENGTH) is None:
        meta.pop(keys.TOKEN_LENGTH, None)
        reader.stat_update("no_token_length")
    elif meta.get(keys.TOKEN_COUNT) is None:
        # the name datatrove's own stats read
        meta[keys.TOKEN_COUNT] = meta[keys.TOKEN_LENGTH]
    return parsed


class CosmopediaReader(BaseDiskReader):
    """Released Cosmopedia (v0.1 or v0.2) or our own output, parquet or jsonl, from any fsspec path.

    Each file is read by datatrove's ParquetReader or JsonlReader according to its name (`.parquet`;
    `.jsonl`/`.json`, optionally `.gz`/`.zst`); other files (a dataset repo's README.md,
    .gitattributes) are skipped and counted as `skipped_files`. `file_format` forces one of the two
    readers for every file instead. Columns other than `text` and `id` become metadata, as datatrove
    does; v0.1's `text_token_length` becomes `token_length` (and `token_count`, which datatrove's
    stats read). Released rows have no id: theirs is `<file>/<row>`, stable for a given file.
    Sharding is by file, like datatrove's readers: give at least as many files as tasks.

    A folder that does not exist is a ConfigError when the reader is built, unless
    `from_earlier_stage`: then an earlier stage of the run writes it, and if that stage kept nothing
    (no folder, no files) this reader yields nothing, counted as `no_input_files`, instead of failing.
    """

    name = "🌌 Cosmopedia"
    _requires_dependencies = ["pyarrow", "orjson"]

    def __init__(
        self,
        data_folder: DataFolderLike,
        file_format: Literal["parquet", "jsonl"] | None = None,
        limit: int = -1,
        skip: int = 0,
        glob_pattern: str | None = None,
        recursive: bool = True,
        batch_size: int = 1000,
        compression: Literal["infer", "gzip", "zstd"] | None = "infer",
        default_metadata: dict | None = None,
        shuffle_files: bool = False,
        from_earlier_stage: bool = False,
    ):
        if file_format not in (None, "parquet", "jsonl"):
            raise ConfigError(
                f"file_format must be 'parquet', 'jsonl' or None (by file name), got {file_format!r}"
            )
        super().__init__(
            data_folder,
            limit=limit,
            skip=skip,
            adapter=_normalise,
            default_metadata=default_metadata,
            recursive=recursive,
            glob_pattern=glob_pattern,
            shuffle_files=shuffle_files,
        )
        if not from_earlier_stage and not self.data_folder.exists(""):
            raise ConfigError(f"{self.data_folder.path} does not exist: give a folder or file of records")
        self.from_earlier_stage = from_earlier_stage
        self.file_format = file_format
        # what ParquetReader.read_file and JsonlReader.read_file read from their reader
        self.batch_size = batch_size
        self.read_metadata = True
        self.compression = compression

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if self.from_earlier_stage and not self._has_files():
            if data:
                yield from data
            logger.warning(f"{self.data_folder.path}: the earlier stage kept no records; nothing to read")
            self.stat_update("no_input_files")
            return
        yield from super().run(data, rank, world_size)

    def _has_files(self) -> bool:
        if not self.data_folder.exists(""):
            return False
        return bool(self.data_folder.list_files(recursive=self.recursive, glob_pattern=self.glob_pattern))

    def read_file(self, filepath: str):
        kind = self.file_format or _kind(filepath)
        if kind == "parquet":
            return ParquetReader.read_file(self, filepath)
        if kind == "jsonl":
            return JsonlReader.read_file(self, filepath)
        self.stat_update("skipped_files")
        return iter(())


def _kind(filepath: str) -> str | None:
    name = filepath.lower()
    if name.endswith(_PARQUET):
        return "parquet"
    return "jsonl" if name.endswith(_JSONL) else None


def _patterns(name: str, value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    values = (value,) if isinstance(value, str) else tuple(value)
    if not values or not all(isinstance(v, str) and v for v in values):
        raise ConfigError(f"{name} must be a non-empty string or list of strings, got {value!r}")
    return values


class CosmopediaFilter(BaseFilter):
    """Keep the records whose format, audience and seed_data match, and whose topic has a keyword.

    Each criterion is one value or a list (a record matches if any entry does); unset criteria are
    not checked. format, audience and seed_data entries are shell-style patterns matched
    case-sensitively against the whole value, so "blogpost" is exact and "textbook*" selects
    `textbook_academic_tone` and `textbook_narrative` alike (an exact `format == "textbook"` matches
    no v0.1 row). The vocabulary is whatever the data holds.

    `topic` entries are keywords matched case-insensitively at the start of a word ("math" finds
    "Mathematics" and "math," but not "aftermath") in the record's `topic`, or, when a record has no
    topic (the released dataset has no such column), in its `prompt`, which holds the seed extract
    and, for web samples, "within the context of <topic>". The generated text is not searched: a
    passing mention would select it.

    Dropped records are counted per first failing criterion: `dropped_not_format`,
    `dropped_not_audience`, `dropped_not_seed_data`, `dropped_not_topic`.
    """

    name = "🔭 Cosmopedia filter"

    def __init__(
        self,
        format: str | Iterable[str] | None = None,
        audience: str | Iterable[str] | None = None,
        seed_data: str | Iterable[str] | None = None,
        topic: str | Iterable[str] | None = None,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        self.criteria = {
            key: values
            for key, values in (
                (keys.FORMAT, _patterns("format", format)),
                (keys.AUDIENCE, _patterns("audience", audience)),
                (keys.SEED_DATA, _patterns("seed_data", seed_data)),
            )
            if values is not None
        }
        topics = _patterns("topic", topic)
        self.topic_re = (
            re.compile(r"\b(?:" + "|".join(re.escape(t) for t in topics) + ")", re.IGNORECASE)
            if topics
            else None
        )
        if not self.criteria and self.topic_re is None:
            raise ConfigError("CosmopediaFilter needs at least one of format, audience, seed_data, topic")

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        meta = doc.metadata
        for key, patterns in self.criteria.items():
            value = meta.get(key)
            if not isinstance(value, str) or not any(fnmatchcase(value, p) for p in patterns):
                return False, f"not_{key}"
        if self.topic_re is not None:
            where = meta.get(keys.TOPIC) or meta.get(keys.PROMPT) or ""
            if not isinstance(where, str) or not self.topic_re.search(where):
                return False, "not_topic"
        return True
