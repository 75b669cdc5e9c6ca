"""Per-document generation journal: what a killed task already generated.

One append-only jsonl file per rank under the logging folder. Each finished
generation is flushed at once and fsynced at least every `fsync_interval` seconds,
so a kill -9 loses at most the documents still in flight. Entries are keyed by
document id and a hash of (prompt, model, sampling): change any of those and the
entry no longer matches, so the document is generated again.

This module owns the file format: readers (the generator's resume, `cosmo status`) go
through `iter_journal`.
"""

import os
import time
from collections.abc import Iterable, Iterator

import fsspec
import orjson
import xxhash
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.utils.logging import logger


def entry_key(prompt: str, model: str, sampling: bytes) -> str:
    h = xxhash.xxh3_128()
    for part in (prompt.encode(), model.encode(), sampling):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def iter_journal(path: str | os.PathLike) -> Iterator[dict]:
    """The entries of one journal file (any fsspec path); torn or garbled lines are skipped.

    Each entry has `id`, `key`, `time` (unix seconds it finished; absent in older journals), `text`,
    `finish_reason`, `prompt_tokens` and `token_length`.
    """
    with fsspec.open(os.fspath(path), "rb") as f:
        yield from _entries(f)


def _entries(lines: Iterable[bytes]) -> Iterator[dict]:
    for line in lines:
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a line torn by a kill mid-write
        if isinstance(entry, dict) and "id" in entry:
            yield entry


class GenerationJournal:
    def __init__(self, folder: DataFolderLike, rank: int, fsync_interval: float = 1.0):
        self.folder = get_datafolder(os.fspath(folder) if isinstance(folder, os.PathLike) else folder)
        self.path = f"{rank:05d}.jsonl"
        self.fsync_interval = fsync_interval
        self._file = None
        self._last_sync = 0.0

    def load(self) -> dict[str, dict]:
        """Entries by id; a torn line (the process died mid-write) is ignored."""
        if not self.folder.isfile(self.path):
            return {}
        with self.folder.open(self.path, "rb") as f:
            entries = {entry["id"]: entry for entry in _entries(f)}
        if entries:
            logger.info(
                f"journal {self.folder.resolve_paths(self.path)}: {len(entries)} finished generations"
            )
        return entries

    def append(self, entry: dict) -> None:
        if self._file is None:
            self._open()
        self._file.write(orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))
        self._file.flush()
        if time.monotonic() - self._last_sync >= self.fsync_interval:
            self._sync()

    def _open(self) -> None:
        # a kill mid-write leaves a line without its newline: end it, or the next entry would
        # join it and both would be unreadable
        torn = self.folder.isfile(self.path) and not self._ends_with_newline()
        self._file = self.folder.open(self.path, "ab")
        if torn:
            self._file.write(b"\n")

    def _ends_with_newline(self) -> bool:
        size = self.folder.size(self.path)
        if not size:
            return True
        with self.folder.open(self.path, "rb") as f:
            f.seek(size - 1)
            return f.read(1) == b"\n"

    def _sync(self) -> None:
        self._last_sync = time.monotonic()
        try:
            os.fsync(self._file.fileno())
        except (AttributeError, OSError, ValueError):
            pass  # remote filesystems have no fsync; their close() is the commit

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            self._sync()
            self._file.close()
            self._file = None
