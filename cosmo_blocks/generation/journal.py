"""Per-document generation journal: what a killed task already generated.

One append-only jsonl file per rank under the logging folder. Each finished
generation is flushed at once and fsynced at least every `fsync_interval` seconds,
so a kill -9 loses at most the documents still in flight. Entries are keyed by
document id and a hash of (prompt, model, sampling): change any of those and the
entry no longer matches, so the document is generated again.
"""

import os
import time

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


class GenerationJournal:
    def __init__(self, folder: DataFolderLike, rank: int, fsync_interval: float = 1.0):
        self.folder = get_datafolder(folder)
        self.path = f"{rank:05d}.jsonl"
        self.fsync_interval = fsync_interval
        self._file = None
        self._last_sync = 0.0

    def load(self) -> dict[str, dict]:
        """Entries by id; a torn last line (the process died mid-write) is ignored."""
        entries = {}
        if not self.folder.isfile(self.path):
            return entries
        with self.folder.open(self.path, "rb") as f:
            for line in f:
                try:
                    entry = orjson.loads(line)
                except orjson.JSONDecodeError:
                    continue
                entries[entry["id"]] = entry
        if entries:
            logger.info(
                f"journal {self.folder.resolve_paths(self.path)}: {len(entries)} finished generations"
            )
        return entries

    def append(self, entry: dict) -> None:
        if self._file is None:
            self._file = self.folder.open(self.path, "ab")
        self._file.write(orjson.dumps(entry, option=orjson.OPT_APPEND_NEWLINE))
        self._file.flush()
        if time.monotonic() - self._last_sync >= self.fsync_interval:
            self._sync()

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
