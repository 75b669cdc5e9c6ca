"""SeedReader: seed records from jsonl/parquet files on any fsspec path.

Built on datatrove's BaseDiskReader (file listing, fsspec, limit, stats) with two
changes a synthetic-data run needs:

- a bad record is a counted skip (`skipped_<reason>`), never the end of the file:
  datatrove's JsonlReader stops reading a file at the first invalid UTF-8 byte;
- with fewer files than tasks, records are sharded instead of files, so 100 tasks
  over one seed file all get work. A big uncompressed jsonl file (at least
  BYTE_RANGE_MIN_BYTES per task) is split into byte ranges, so each task reads only
  its own share of it (a line belongs to the range it starts in). Smaller, compressed
  and parquet files are read whole and their records dealt out round-robin: that way
  every task gets a record whenever there are at least as many records as tasks,
  which ranges of a few lines' length cannot promise.

A seed without an `id` is named by where it is: `file@<byte offset of its line>` for
jsonl (stable whatever the number of tasks), `file#<row>` for parquet.
"""

import os
from glob import has_magic

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.seeds.sources import SOURCES, get_adapter, seed_data_of

JSONL_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".ndjson")
SEEKABLE_SUFFIXES = (".jsonl", ".json", ".ndjson")  # uncompressed: byte ranges can be read directly
BYTE_RANGE_MIN_BYTES = 1 << 20  # per task: a share this big holds many lines, so no task goes empty
PARQUET_SUFFIXES = (".parquet",)


class SeedReader(BaseDiskReader):
    """Read seed documents.

    Args:
        data_folder: a folder (all its seed files), one file (that file only), a glob
            (`dir/*.jsonl`), on any fsspec path (s3://, hf://datasets/...). A local path that
            does not exist is a ConfigError here, before anything runs.
        source: one of `SOURCES` ("generic", "wikipedia", "openwebmath", "automathtext",
            "khanacademy", "stanford"), or "auto" to use each record's own `source` field.
        seed_data: the `seed_data` value of every seed, e.g. "web_samples_v1" in a recipe that
            reproduces that subset of the released Cosmopedia. Default: per source, the released
            name of its kind of seed ("auto_math_text", "khanacademy"), else its own name
            (`sources.SEED_DATA`).
        limit: at most this many seeds per task.
        glob_pattern: which files of the folder to read (default: all jsonl/parquet files).
        from_earlier_stage: the folder is written by an earlier stage of the same run (topics,
            clusters): it need not exist when the pipeline is built, only when this stage runs.
    """

    name = "🌱 Seeds"

    def __init__(
        self,
        data_folder: DataFolderLike,
        source: str = "auto",
        limit: int = -1,
        glob_pattern: str | None = None,
        recursive: bool = True,
        from_earlier_stage: bool = False,
        seed_data: str | None = None,
    ):
        if source != "auto":
            get_adapter(source)  # fail fast on a typo
        if seed_data is not None and (not isinstance(seed_data, str) or not seed_data.strip()):
            raise ConfigError(
                f"seed_data must be a non-empty string such as 'web_samples_v1', got {seed_data!r}"
            )
        self.seed_data = seed_data
        self.from_earlier_stage = from_earlier_stage
        data_folder, glob_pattern, self._file = _locate(data_folder, glob_pattern, not from_earlier_stage)
        super().__init__(data_folder, limit=limit, glob_pattern=glob_pattern, recursive=recursive)
        self.source = source

    def _list_seed_files(self) -> list[str]:
        if self._file:
            return [self._file]
        files = self.data_folder.list_files(recursive=self.recursive, glob_pattern=self.glob_pattern)
        files = [f for f in files if f.endswith(JSONL_SUFFIXES + PARQUET_SUFFIXES)]
        if not files:
            where = f"{self.data_folder.path}/{self.glob_pattern or ''}".rstrip("/")
            raise ConfigError(f"no seed files (*.jsonl, *.jsonl.gz, *.parquet) found at {where}")
        return files

    def seed_files(self) -> list[tuple[str, int]]:
        """The files this reader reads, with their sizes in bytes; no record is read. Empty for a folder
        an earlier stage has yet to write."""
        if self.from_earlier_stage and not (
            self.data_folder.exists("") and self.data_folder.list_files(recursive=self.recursive)
        ):
            return []
        return [
            (self.data_folder.resolve_paths(f), self.data_folder.size(f)) for f in self._list_seed_files()
        ]

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        if self.from_earlier_stage and not self.seed_files():
            # every record of the earlier stage was dropped (or none came): nothing to do, said once
            self.stat_update("earlier_stage_wrote_nothing")
            logger.warning(
                f"{self.data_folder.path}: the earlier stage wrote no records, so this one reads none"
            )
            return
        files = self._list_seed_files()
        if len(files) >= world_size:
            shard, self._record_shard = files[rank::world_size], None
        else:
            shard, self._record_shard = files, (rank, world_size)
            if rank == 0:
                logger.info(f"{len(files)} seed file(s) for {world_size} tasks: sharding by record")
        self._record_index = 0
        self._log_limit_scope(rank, world_size)
        for doc in self.read_files_shard(shard):
            self.stat_update("seeds")
            self.update_doc_stats(doc)
            yield doc

    def read_file(self, filepath: str) -> DocumentsPipeline:
        for where, record in self._records(filepath):
            self.stat_update("records_read")
            if isinstance(record, str):  # a reason the record could not be parsed
                self._skip(record, where)
                continue
            doc = self._to_document(record, where)
            if doc is not None:
                yield doc

    def _records(self, filepath: str):
        """(where, record or the reason it cannot be read) for this task's records of one file."""
        if filepath.endswith(PARQUET_SUFFIXES):
            for row, record in _parquet_records(self.data_folder, filepath):
                if self._is_mine():
                    yield f"{filepath}#{row}", record
            return
        byte_range = self._byte_range(filepath)
        for offset, raw in _jsonl_lines(self.data_folder, filepath, byte_range):
            if byte_range or self._is_mine():  # before parsing: a task parses only its own lines
                yield f"{filepath}@{offset}", _parse_jsonl_line(raw)

    def _byte_range(self, filepath: str) -> tuple[int, int] | None:
        if self._record_shard is None or not filepath.endswith(SEEKABLE_SUFFIXES):
            return None
        rank, world_size = self._record_shard
        size = self.data_folder.size(filepath)
        if size < world_size * BYTE_RANGE_MIN_BYTES:
            return None
        return size * rank // world_size, size * (rank + 1) // world_size

    def _is_mine(self) -> bool:
        index, self._record_index = self._record_index, self._record_index + 1
        return self._record_shard is None or index % self._record_shard[1] == self._record_shard[0]

    def _skip(self, reason: str, where: str):
        self.stat_update(f"skipped_{reason}")
        logger.warning(f"skipped seed {where}: {reason}")

    def _to_document(self, record: dict, where: str) -> Document | None:
        source = record.get("source") if self.source == "auto" else self.source
        source = source if source in SOURCES else "generic"
        seed = get_adapter(source)(record)
        text = seed.get("text")
        if not isinstance(text, str):
            self._skip("no_text", where)
            return None
        if not text.strip():
            self._skip("empty_text", where)
            return None
        seed_id = str(seed["id"]) if seed.get("id") not in (None, "") else where
        seed_data = self.seed_data or seed_data_of(source)
        metadata = extra_metadata(record) | {keys.SEED_ID: seed_id, keys.SEED_DATA: seed_data}
        for key in (keys.TITLE, keys.URL):
            if seed.get(key):
                metadata[key] = str(seed[key])
        if isinstance(record.get(keys.LANGUAGE), str):
            metadata[keys.LANGUAGE] = record[keys.LANGUAGE]
        return Document(text=text, id=seed_id, metadata=metadata)


def _locate(data_folder: DataFolderLike, glob_pattern: str | None, must_exist: bool = True):
    """(folder, glob pattern, the one file to read or None) for what the user named.

    A file is read alone: its name never becomes a pattern, which would also match its
    neighbours. Local paths are made absolute, so tasks started elsewhere read the same files.
    """
    if not isinstance(data_folder, str | os.PathLike):
        return data_folder, glob_pattern, None
    path = os.fspath(data_folder)
    local = "://" not in path or path.startswith("file://")
    if local:
        path = os.path.abspath(path.removeprefix("file://"))
    if glob_pattern is None and has_magic(path):
        return (*_split_glob(path), None)
    if local and must_exist and not os.path.exists(path):
        raise ConfigError(f"seeds path {os.fspath(data_folder)!r} does not exist")
    is_file = os.path.isfile(path) if local else path.endswith(JSONL_SUFFIXES + PARQUET_SUFFIXES)
    if not is_file:
        return path, glob_pattern, None
    if not path.endswith(JSONL_SUFFIXES + PARQUET_SUFFIXES):
        raise ConfigError(f"seeds file {os.fspath(data_folder)!r} is not jsonl[.gz|.zst] or parquet")
    folder, name = path.rsplit("/", 1)
    return folder or "/", None, name


def _split_glob(path: str) -> tuple[str, str]:
    """`dir/sub/*.jsonl` -> (`dir/sub`, `*.jsonl`): the folder before the first wildcard, and the rest."""
    parts = path.split("/")
    first = next(i for i, part in enumerate(parts) if has_magic(part))
    return "/".join(parts[:first]) or "/", "/".join(parts[first:])


# record fields that become the document itself, not its metadata
_DOCUMENT_FIELDS = {"text", "id", "source", "metadata", "meta", "content"}


def extra_metadata(record: dict) -> dict:
    """What else a record carries, kept with the seed: a datatrove-written record's `metadata` dict
    (a topic, a cluster, a taxonomy path) and the record's other fields (a corpus's `group`, a
    course's `chapters`)."""
    nested = record.get("metadata")
    extra = dict(nested) if isinstance(nested, dict) else {}
    for key, value in record.items():
        if key not in _DOCUMENT_FIELDS and isinstance(value, str | int | float | bool | list | dict):
            extra.setdefault(key, value)
    return extra


def _jsonl_lines(folder, filepath: str, byte_range: tuple[int, int] | None = None):
    """Yield (byte offset, raw line) for every non-blank line; with `byte_range` (start, end) of an
    uncompressed file, only the lines that start inside it, reading little more than the range."""
    start, end = byte_range or (0, None)
    with folder.open(filepath, "rb", compression=None if byte_range else "infer") as f:
        offset = start
        if start:
            f.seek(start - 1)
            offset += len(f.readline()) - 1  # the rest of a line that started before the range
        while end is None or offset < end:
            raw = f.readline()
            if not raw:
                break
            if raw.strip():
                yield offset, raw
            offset += len(raw)


def _parse_jsonl_line(raw: bytes) -> dict | str:
    """The record, or the reason it cannot be read; a bad line never ends the file."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return "malformed_json"
    return record if isinstance(record, dict) else "not_an_object"


def _parquet_records(folder, filepath: str):
    import pyarrow.parquet as pq

    with folder.open(filepath, "rb") as f:
        index = 0
        for batch in pq.ParquetFile(f).iter_batches(batch_size=1024):
            for record in batch.to_pylist():
                yield index, record
                index += 1
