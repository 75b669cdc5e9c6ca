"""VLLMGenerator: an in-process vLLM engine kept full, resumable per document."""

import itertools
import time

import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.generation import engine as eng
from cosmo_blocks.generation.journal import GenerationJournal, entry_key
from cosmo_blocks.generation.sampling import resolve_sampling, sampling_key


class VLLMGenerator(PipelineStep):
    """Generate `text` for each document from `metadata["prompt"]` with the model's chat template.

    Requests are fed to the engine continuously (at most `max_in_flight` at once) and every
    document is yielded as soon as its generation finishes, so the engine never idles on the
    slowest request of a batch while later steps filter and write.

    Args:
        model: hub id or local folder.
        sampling: "seed" (0.8/0.95/2000/1.1), "cosmopedia" (0.6/0.95/top_k 50/1.2/2500), or a dict
            of overrides (with an optional "preset" key).
        engine_kwargs: passed to vllm's EngineArgs (tensor_parallel_size, dtype, max_model_len,
            gpu_memory_utilization, enforce_eager, ...).
        journal_dir: where finished generations are journaled per rank; a rerun regenerates
            nothing the journal holds. None disables resume.
        seed: per-run seed; each request gets a seed derived from it and the document id.
        max_in_flight: requests handed to the engine at once (keep it above max_num_seqs).
        max_engine_restarts: how often a dead engine is restarted before the task fails.
    """

    name = "🤖 vLLM"
    type = "🤖 - GENERATION"

    def __init__(
        self,
        model: str = eng.DEFAULT_MODEL,
        sampling: str | dict = "seed",
        engine_kwargs: dict | None = None,
        journal_dir: DataFolderLike | None = None,
        seed: int | None = None,
        max_in_flight: int = 512,
        max_engine_restarts: int = 2,
        progress_interval: float = 30.0,
    ):
        super().__init__()
        eng.check_model(model)
        self.model = model
        self.sampling = resolve_sampling(sampling)
        self._check_sampling()
        self.engine_kwargs = dict(engine_kwargs or {})
        self.journal_dir = journal_dir
        self.seed = seed
        self.max_in_flight = max_in_flight
        self.max_engine_restarts = max_engine_restarts
        self.progress_interval = progress_interval
        self._key_suffix = sampling_key(self.sampling | {"seed": seed})

    def _check_sampling(self):
        """Bad sampling settings fail here, in the launching process, before any engine starts."""
        try:
            eng.import_vllm().SamplingParams(**self.sampling)
        except (TypeError, ValueError) as e:
            raise ValueError(f"invalid sampling settings {self.sampling}: {e}") from None

    def _params(self, doc_id: str):
        from vllm import SamplingParams

        seed = None if self.seed is None else xxhash.xxh32_intdigest(f"{self.seed}:{doc_id}") & 0x7FFFFFFF
        return SamplingParams(**self.sampling, seed=seed)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        journal = GenerationJournal(self.journal_dir, rank) if self.journal_dir else None
        done = journal.load() if journal else {}
        session = _EngineSession(self, journal)
        try:
            yield from session.run(data, done)
        finally:
            session.close()


class _EngineSession:
    """One task's engine, its in-flight requests and its progress."""

    def __init__(self, block: VLLMGenerator, journal: GenerationJournal | None):
        self.block = block
        self.journal = journal
        self.engine = None
        self.tokenizer = None
        self.max_model_len = None
        self.in_flight: dict[str, tuple[Document, list[int]]] = {}
        self.request_ids = itertools.count()
        self.restarts = 0
        self.seen: set[str] = set()
        self.started = time.monotonic()
        self.generated_docs = self.generated_tokens = 0
        self.last_report = self.started

    def stat(self, *labels, value: int = 1, unit: str | None = None):
        self.block.stat_update(*labels, value=value, unit=unit)

    def run(self, data: DocumentsPipeline, done: dict) -> DocumentsPipeline:
        source = iter(data)
        exhausted = False
        while True:
            while not exhausted and len(self.in_flight) < self.block.max_in_flight:
                doc = next(source, None)
                if doc is None:
                    exhausted = True
                    break
                resumed = self.submit(doc, done)
                if resumed is not None:
                    yield resumed
            if not self.in_flight:
                if exhausted:
                    return
                continue
            yield from self.step()

    def submit(self, doc: Document, done: dict) -> Document | None:
        """Queue a document; returns it at once when the journal already holds its generation."""
        if doc.id in self.seen:
            self.stat("skipped_duplicate_id")
            logger.warning(f"skipped duplicate document id {doc.id!r}")
            return None
        self.seen.add(doc.id)
        prompt = doc.metadata.get(keys.PROMPT)
        if not prompt:
            self.stat("skipped_no_prompt")
            return None
        key = entry_key(prompt, self.block.model, self.block._key_suffix)
        entry = done.get(doc.id)
        if entry is not None and entry.get("key") == key:
            self.stat("resumed_from_journal")
            return self.finish(doc, entry)
        if entry is not None:
            self.stat("journal_stale_regenerated")
        if self.engine is None:
            self.start()
        token_ids = eng.encode_chat(self.tokenizer, prompt)
        if len(token_ids) >= self.max_model_len:
            self.stat("skipped_prompt_too_long")
            logger.warning(
                f"skipped {doc.id}: prompt has {len(token_ids)} tokens, context {self.max_model_len}"
            )
            return None
        doc.metadata["_journal_key"] = key
        self.add(doc, token_ids)
        return None

    def add(self, doc: Document, token_ids: list[int]) -> None:
        request_id = str(next(self.request_ids))
        try:
            self.engine.add_request(request_id, {"prompt_token_ids": token_ids}, self.block._params(doc.id))
        except ValueError as e:  # vLLM's validation errors (VLLMValidationError) subclass ValueError
            self.stat("skipped_invalid_request")
            logger.warning(f"skipped {doc.id}: {e}")
            return
        self.in_flight[request_id] = (doc, token_ids)

    def step(self) -> DocumentsPipeline:
        from vllm.v1.engine.exceptions import EngineDeadError

        try:
            outputs = self.engine.step()
        except EngineDeadError as e:
            self.restart(e)
            return
        for out in outputs:
            if not out.finished:
                continue
            doc, token_ids = self.in_flight.pop(out.request_id)
            completion = out.outputs[0]
            entry = {
                "id": doc.id,
                "key": doc.metadata.pop("_journal_key"),
                "text": completion.text,
                "finish_reason": completion.finish_reason,
                "prompt_tokens": len(token_ids),
                "token_length": len(completion.token_ids),
            }
            if self.journal:
                self.journal.append(entry)
            self.stat("generated")
            self.stat("prompt_tokens", value=entry["prompt_tokens"], unit="doc")
            self.stat("generated_tokens", value=entry["token_length"], unit="doc")
            self.generated_docs += 1
            self.generated_tokens += entry["token_length"]
            yield self.finish(doc, entry)
        self.report()

    def finish(self, doc: Document, entry: dict) -> Document:
        doc.text = entry["text"]
        doc.metadata.update(
            {
                keys.MODEL: self.block.model,
                keys.FINISH_REASON: entry["finish_reason"],
                keys.PROMPT_TOKENS: entry["prompt_tokens"],
                keys.TOKEN_LENGTH: entry["token_length"],
            }
        )
        self.stat(f"finish_reason_{entry['finish_reason']}")
        return doc

    def start(self) -> None:
        t0 = time.monotonic()
        logger.info(f"starting vLLM engine for {self.block.model} ({self.block.engine_kwargs})")
        self.engine = eng.start_engine(self.block.model, self.block.engine_kwargs)
        self.tokenizer = self.engine.get_tokenizer()
        self.max_model_len = self.engine.vllm_config.model_config.max_model_len
        self.stat("engine_start_seconds", value=round(time.monotonic() - t0), unit="task")
        logger.info(f"engine ready in {time.monotonic() - t0:.1f}s (context {self.max_model_len} tokens)")

    def restart(self, error: Exception) -> None:
        """The engine died (its process killed, out of memory): start a new one, resubmit in-flight work."""
        self.restarts += 1
        self.stat("engine_restarts")
        if self.restarts > self.block.max_engine_restarts:
            raise RuntimeError(
                f"vLLM engine died {self.restarts} times (last error: {error}); giving up. Finished "
                f"generations are in the journal and a rerun of this task resumes from there."
            ) from error
        logger.warning(
            f"vLLM engine died ({error}); restart {self.restarts}/{self.block.max_engine_restarts}"
        )
        eng.stop_engine(self.engine)
        self.start()
        pending = list(self.in_flight.values())
        self.in_flight.clear()
        for doc, token_ids in pending:
            self.add(doc, token_ids)

    def report(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last_report < self.block.progress_interval:
            return
        self.last_report = now
        elapsed = max(now - self.started, 1e-9)
        logger.info(
            f"generated {self.generated_docs} docs, {self.generated_tokens} tokens "
            f"({self.generated_tokens / elapsed:.0f} tok/s), {len(self.in_flight)} in flight"
        )

    def close(self) -> None:
        if self.engine is not None:
            self.report(force=True)
            eng.stop_engine(self.engine)
            self.engine = None
        if self.journal:
            self.journal.close()
