"""What every generation block shares: the feed loop, per-document resume, metadata, stats, progress.

A block subclasses `GenerationBlock` and implements `open_backend(rank)`, returning a
`GenerationBackend`; the loop here does the rest, the same way for the in-process engine and for a
server.
"""

import os
import time
from collections import deque
from typing import Protocol

import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.journal import GenerationJournal, entry_key
from cosmo_blocks.generation.models import sampling_preset
from cosmo_blocks.generation.sampling import resolve_sampling, sampling_key


def chat_messages(doc: Document, prompt: str) -> list[dict]:
    """The chat a document's prompt is sent as: its system prompt first when it has one (metadata
    `system_prompt`, from a template's <format>.system.txt), then the prompt as the user's turn."""
    system = doc.metadata.get(keys.SYSTEM_PROMPT)
    user = {"role": "user", "content": prompt}
    return [{"role": "system", "content": system}, user] if system else [user]


class GenerationBackend(Protocol):
    """What generates: an in-process engine or a server, seen the same way by the feed loop."""

    @property
    def in_flight(self) -> int:
        """Requests submitted and not yet returned by `poll`."""

    def submit(self, doc: Document, prompt: str) -> str | None:
        """Queue one request; returns a skip reason when it cannot be served."""

    def poll(self) -> list[tuple[Document, dict]]:
        """Block until at least one request finishes. Each result is a dict of text, finish_reason,
        prompt_tokens and token_length, or {"skip": reason, "message": ...}."""

    def close(self) -> None: ...


class GenerationBlock(PipelineStep):
    """Generate `text` for each document from `metadata["prompt"]`, resumable per document.

    Args:
        model: what generates (a hub id, a local folder, or a server's model name); None lets
            `resolve_model` choose on the host where the task runs.
        sampling: a preset ("default": 0.8/0.95/2000/1.1; "cosmopedia": 0.6/0.95/top_k 50/1.2/2500;
            "small": for a 135M model on CPU), a dict of overrides (with an optional "preset" key,
            default "default"), or None: the model's preset, chosen once the task knows its model
            ("small" for SmolLM2-135M built here, "default" otherwise).
        journal_dir: where finished generations are journaled per rank; a rerun regenerates
            nothing the journal holds. None disables resume.
        seed: per-run seed; each request gets a seed derived from it and the document id, so a
            rerun of the same configuration samples the same way.
        max_in_flight: requests handed to the backend at once.
        read_ahead: input documents read beyond those in flight, so that a task's document count,
            and with it the progress line's ETA, is known early.
        progress_interval: seconds between progress lines in the task's log.
    """

    type = "🤖 - GENERATION"

    def __init__(
        self,
        model: str | None,
        sampling: str | dict | None = None,
        journal_dir: DataFolderLike | None = None,
        seed: int | None = None,
        max_in_flight: int = 512,
        progress_interval: float = 30.0,
        read_ahead: int = 10_000,
    ):
        super().__init__()
        self.model = model
        self.sampling = None if sampling is None else resolve_sampling(sampling)
        # datatrove's DataFolderLike takes no pathlib.Path
        self.journal_dir = os.fspath(journal_dir) if isinstance(journal_dir, os.PathLike) else journal_dir
        self.seed = seed
        self.max_in_flight = max_in_flight
        self.progress_interval = progress_interval
        self.read_ahead = read_ahead
        # vLLM's structured outputs for every request ({"json": schema}, {"regex": ...}); set by the
        # steps that need parseable answers (StructuredAnnotator), part of the sampling and its journal key
        self.structured_outputs: dict | None = None

    def open_backend(self, rank: int) -> GenerationBackend:
        raise NotImplementedError

    def resolve_model(self) -> str:
        """The model this task generates with; called once per task, on the host that runs it."""
        if self.model is None:
            raise ConfigError(f"{type(self).__name__} needs a model: give model=...")
        return self.model

    def request_seed(self, doc_id: str) -> int | None:
        if self.seed is None:
            return None
        return xxhash.xxh32_intdigest(f"{self.seed}:{doc_id}".encode()) & 0x7FFFFFFF

    def journal_key(self, prompt: str, system: str | None = None) -> str:
        # the key covers the system prompt, every sampling setting and the seed: change one, regenerate
        # (without a system prompt the key is what it was, so earlier journals still resume)
        text = f"{system}\x00{prompt}" if system else prompt
        return entry_key(text, self.model, sampling_key(self.sampling | {"seed": self.seed}))

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        # before any journal key is computed: the key and the `model` metadata name the model used
        self.model = self.resolve_model()
        if self.sampling is None:
            self.sampling = resolve_sampling(sampling_preset(self.model))
        if self.structured_outputs is not None:
            self.sampling = self.sampling | {"structured_outputs": self.structured_outputs}
        logger.info(f"task {rank}: generating with model {self.model}, sampling {self.sampling}")
        journal = GenerationJournal(self.journal_dir, rank) if self.journal_dir else None
        task = _Task(self, rank, journal)
        try:
            yield from task.drive(data if data is not None else ())
        finally:
            task.close()


def count_restart(
    block: PipelineStep,
    what: str,
    restarts: int,
    limit: int,
    error: Exception,
    in_flight: int,
    detail: str = "",
) -> None:
    """Count a backend restart, or give up past `limit`, saying that the journal keeps what finished."""
    block.stat_update("engine_restarts")
    if restarts > limit:
        raise RuntimeError(
            f"{what} died {restarts} times (last error: {error!r}); giving up with {in_flight} requests in "
            f"flight.{detail} Finished generations are in the journal and a rerun of this task resumes from there."
        ) from error
    logger.warning(f"{what} died ({error!r}); restart {restarts}/{limit}, resubmitting {in_flight} requests")


class _Task:
    """One task's pass over its documents: resume, feed, collect, journal, count."""

    def __init__(self, block: GenerationBlock, rank: int, journal: GenerationJournal | None):
        self.block = block
        self.rank = rank
        self.journal = journal
        self.done = journal.load() if journal else {}
        self.backend = None
        self.seen: set[str] = set()
        self.pending_keys: dict[str, str] = {}
        self.progress = Progress(block.progress_interval, f"{block.name} task {rank}")

    def stat(self, *labels, value: int = 1, unit: str | None = None):
        self.block.stat_update(*labels, value=value, unit=unit)

    def in_flight(self) -> int:
        return self.backend.in_flight if self.backend is not None else 0

    def drive(self, data) -> DocumentsPipeline:
        if hasattr(data, "__len__"):
            self.progress.total = len(data)
        source = iter(data)
        waiting: deque[Document] = deque()
        exhausted = False
        while True:
            # read ahead while the backend generates, so that the task's total (and with it the ETA)
            # is known early; before the backend starts, only what it takes first
            room = self.block.max_in_flight
            if self.backend is not None:
                room += self.block.read_ahead - len(waiting)
            for _ in range(room if not exhausted else 0):
                doc = next(source, None)
                if doc is None:
                    exhausted = True
                    self.progress.input_exhausted(len(waiting) + self.in_flight())
                    break
                waiting.append(doc)
            while waiting and self.in_flight() < self.block.max_in_flight:
                resumed = self.admit(waiting.popleft())
                if resumed is not None:
                    yield resumed
            if not self.in_flight():
                if exhausted and not waiting:
                    return
                continue
            with self.block.track_time():
                results = self.backend.poll()
            for doc, result in results:
                finished = self.complete(doc, result)
                if finished is not None:
                    yield finished
            self.progress.maybe_report(self.in_flight())

    def admit(self, doc: Document) -> Document | None:
        """Queue a document; returns it at once when the journal already holds its generation."""
        if doc.id in self.seen:
            self.skip(doc, "duplicate_id", "a document with this id was already generated in this task")
            return None
        self.seen.add(doc.id)
        prompt = doc.metadata.get(keys.PROMPT)
        if not prompt:
            self.skip(doc, "no_prompt", f"metadata has no {keys.PROMPT!r}")
            return None
        key = self.block.journal_key(prompt, doc.metadata.get(keys.SYSTEM_PROMPT))
        entry = self.done.pop(doc.id, None)
        if entry is not None and entry.get("key") == key:
            self.stat("resumed_from_journal")
            self.progress.resumed += 1
            return self.finish(doc, entry)
        if entry is not None:
            self.stat("journal_stale_regenerated")
        with self.block.track_time():
            if self.backend is None:
                self.backend = self.block.open_backend(self.rank)
                self.progress.restart_clock()
            self.pending_keys[doc.id] = key
            reason = self.backend.submit(doc, prompt)
        if reason is not None:
            del self.pending_keys[doc.id]
            self.skip(doc, reason)
        return None

    def complete(self, doc: Document, result: dict) -> Document | None:
        if "skip" in result:
            del self.pending_keys[doc.id]
            self.skip(doc, result["skip"], result.get("message", ""))
            return None
        # `time` (when it finished) gives the report its tokens/s over the run
        entry = {"id": doc.id, "key": self.pending_keys.pop(doc.id), "time": round(time.time(), 3)} | result
        if self.journal:
            self.journal.append(entry)
        self.stat("generated")
        self.stat("prompt_tokens", value=entry["prompt_tokens"], unit="doc")
        self.stat("generated_tokens", value=entry["token_length"], unit="doc")
        self.progress.add(entry["token_length"])
        return self.finish(doc, entry)

    def skip(self, doc: Document, reason: str, message: str = "") -> None:
        self.stat(f"skipped_{reason}")
        self.progress.skipped += 1
        logger.warning(f"skipped {doc.id} ({reason}){': ' + message if message else ''}")

    def finish(self, doc: Document, entry: dict) -> Document:
        doc.text = entry["text"]
        doc.metadata.update(
            {
                keys.MODEL: self.block.model,
                keys.FINISH_REASON: entry["finish_reason"],
                keys.PROMPT_TOKENS: entry["prompt_tokens"],
                keys.TOKEN_LENGTH: entry["token_length"],
                # datatrove's own stats and TokensCounter read this name
                keys.TOKEN_COUNT: entry["token_length"],
            }
        )
        self.stat(f"finish_reason_{entry['finish_reason']}")
        return doc

    def close(self) -> None:
        if self.progress.generated_docs:  # before the engine shuts down: its teardown is not generation
            self.progress.report(self.in_flight())
            self.stat("generation_seconds", value=round(self.progress.elapsed(), 1), unit="task")
            self.stat("generated_tokens_per_second", value=round(self.progress.rate()), unit="task")
        try:
            if self.backend is not None:
                with self.block.track_time():
                    self.backend.close()
        finally:
            if self.journal:
                self.journal.close()


class Progress:
    """The live line: docs done (of total when known), generated tokens/s, ETA."""

    def __init__(self, interval: float, label: str):
        self.interval = interval
        self.label = label
        self.total: int | None = None
        self.resumed = self.skipped = self.generated_docs = self.generated_tokens = 0
        self.started = self.last_report = time.monotonic()

    def restart_clock(self) -> None:
        """Rates count from the first request, not from reading journaled documents."""
        self.started = self.last_report = time.monotonic()

    def input_exhausted(self, in_flight: int) -> None:
        if self.total is None:
            self.total = self.done + in_flight

    @property
    def done(self) -> int:
        return self.resumed + self.skipped + self.generated_docs

    def add(self, tokens: int) -> None:
        self.generated_docs += 1
        self.generated_tokens += tokens

    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-9)

    def rate(self) -> float:
        return self.generated_tokens / self.elapsed()

    def maybe_report(self, in_flight: int) -> None:
        if time.monotonic() - self.last_report >= self.interval:
            self.report(in_flight)

    def report(self, in_flight: int) -> None:
        self.last_report = time.monotonic()
        of_total = f"/{self.total}" if self.total is not None else ""
        line = (
            f"{self.label}: {self.done}{of_total} docs ({self.generated_docs} generated, {self.resumed} "
            f"from journal, {self.skipped} skipped), {in_flight} in flight, {self.rate():.0f} tok/s"
        )
        if self.total is not None and self.generated_docs:
            left = self.total - self.done
            line += f", ETA {duration(left * self.elapsed() / self.generated_docs)}"
        logger.info(line)


def duration(seconds: float) -> str:
    """42s, 12m05s, 3h07m"""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
