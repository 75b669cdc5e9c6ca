"""OpenAIServerGenerator: the generation block against an OpenAI-compatible server.

Same journal, metadata, stats and progress as VLLMGenerator (both are GenerationBlocks); the
requests go over HTTP from an asyncio loop in a background thread, so the task's main thread keeps
reading seeds and building prompts while up to `max_in_flight` requests are open.
"""

import asyncio
import itertools
import os
import queue
import threading

from datatrove.data import Document
from datatrove.io import DataFolderLike

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation import engine as eng
from cosmo_blocks.generation import models
from cosmo_blocks.generation.base import GenerationBlock, chat_messages, count_restart
from cosmo_blocks.generation.server_process import VLLMServerProcess


def _has_vllm() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


class ServerUnavailable(RuntimeError):
    """The server kept failing (unreachable, rate limited, 5xx) through every retry."""


class OpenAIServerGenerator(GenerationBlock):
    """Generate through `/v1/chat/completions` of an OpenAI-compatible server (vLLM's, or any).

    Either `endpoint="http://host:port"` (a server someone else runs), or no endpoint: the block
    starts `python -m vllm.entrypoints.openai.api_server` for its task, waits until /health answers
    (polled every 0.1 s), restarts it if it dies mid-run (at most `max_server_restarts` times,
    resubmitting what was in flight) and stops it at the end.

    Requests go through the `openai` client. Rate limits (429), 5xx answers, timeouts and lost
    connections are retried `max_retries` times, waiting what the server's `Retry-After` asks (up to
    two minutes) or backing off exponentially; none of them ever skips a document. When the retries
    run out the task fails with a message naming the URL, and the journal keeps every finished
    generation, so a rerun resumes there. Only a refusal of the request itself is a counted skip: a
    400 about the context length as `prompt_too_long`, any other 400 or 422 as `invalid_request`.
    401, 403 and 404 (a wrong key or model name) fail the task.

    Sampling settings are sent as request fields (vLLM's server takes top_k, repetition_penalty,
    ignore_eos, ... beside the OpenAI ones), with a per-request `seed` when `seed` is set.

    Args:
        model: the model the server serves; None asks an endpoint for its only model (without an
            endpoint: Mixtral-8x7B-Instruct on a GPU host, else SmolLM2-135M-Instruct).
        endpoint: base URL of a running server (with or without `/v1`); None starts one per task.
        api_key: sent as a bearer token; default: the `OPENAI_API_KEY` environment variable.
        max_retries: retries per request before the task fails.
        request_timeout: seconds one request may take.
    """

    name = "🤖 OpenAI server"

    def __init__(
        self,
        model: str | None = None,
        endpoint: str | None = None,
        sampling: str | dict | None = None,
        engine_kwargs: dict | None = None,
        journal_dir: DataFolderLike | None = None,
        seed: int | None = None,
        max_in_flight: int = 256,
        max_retries: int = 5,
        request_timeout: float = 600.0,
        max_server_restarts: int = 2,
        server_start_timeout: float = 600.0,
        api_key: str | None = None,
        progress_interval: float = 30.0,
    ):
        super().__init__(model, sampling, journal_dir, seed, max_in_flight, progress_interval)
        if endpoint is None and model is not None:
            models.check_model(model)
        # a client without vllm leaves the check to the server
        if self.sampling is not None and (endpoint is None or _has_vllm()):
            eng.check_sampling(self.sampling)
        self.endpoint = _base_url(endpoint) if endpoint else None
        self.engine_kwargs = dict(engine_kwargs or {})
        self.max_retries = max_retries
        self.request_timeout = request_timeout
        self.max_server_restarts = max_server_restarts
        self.server_start_timeout = server_start_timeout
        self.api_key = api_key

    def resolve_model(self) -> str:
        if self.endpoint is None:  # our own server: short names and the default resolve here
            return models.resolve_model(self.model)
        return self.model if self.model is not None else served_model(self.endpoint, self.key())

    def key(self) -> str:
        # servers that check no key (vLLM without --api-key) take any
        return self.api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"

    def open_backend(self, rank: int) -> "ServerBackend":
        server = None
        if self.endpoint is None:
            server = VLLMServerProcess(self.model, self.engine_kwargs, self.server_start_timeout)
            server.start()
            self.stat_update("engine_start_seconds", value=round(server.start_seconds, 1), unit="task")
        return ServerBackend(self, server)

    def request_kwargs(self, doc: Document, prompt: str) -> dict:
        """Keyword arguments of `chat.completions.create`; vLLM's own settings go in the body as is."""
        seed = self.request_seed(doc.id)
        extra = self.sampling if seed is None else self.sampling | {"seed": seed}
        return {"model": self.model, "messages": chat_messages(doc, prompt), "extra_body": extra}


def _base_url(endpoint: str) -> str:
    endpoint = endpoint.rstrip("/")
    return endpoint[: -len("/v1")] if endpoint.endswith("/v1") else endpoint


def served_model(endpoint: str, api_key: str) -> str:
    import openai

    with openai.OpenAI(base_url=f"{endpoint}/v1", api_key=api_key, max_retries=5) as client:
        models = [m.id for m in client.models.list()]
    if len(models) != 1:
        raise ConfigError(
            f"{endpoint} serves {len(models)} models ({', '.join(models)}); choose one with model=..."
        )
    return models[0]


class ServerBackend:
    """Requests in flight on an asyncio loop in a background thread; results come back on a queue."""

    def __init__(self, block: OpenAIServerGenerator, server: VLLMServerProcess | None):
        self.block = block
        self.server = server
        self.url = server.url if server else block.endpoint
        self.results: queue.Queue = queue.Queue()
        # doc id -> (doc, prompt, future, ticket); the ticket tells a stale result from before a restart
        self.requests: dict[str, tuple[Document, str, object, int]] = {}
        self.tickets = itertools.count()
        self.restarts = 0
        self.error: Exception | None = None
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="cosmo-http")
        self.thread.start()
        self.client = self.call(self._make_client())

    @property
    def in_flight(self) -> int:
        return len(self.requests)

    def call(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def _make_client(self):
        import openai

        return openai.AsyncOpenAI(
            base_url=f"{self.url}/v1",
            api_key=self.block.key(),
            max_retries=self.block.max_retries,
            timeout=self.block.request_timeout,
        )

    def submit(self, doc: Document, prompt: str) -> str | None:
        ticket = next(self.tickets)
        future = asyncio.run_coroutine_threadsafe(self.request(doc, prompt, ticket), self.loop)
        self.requests[doc.id] = (doc, prompt, future, ticket)
        return None

    async def request(self, doc: Document, prompt: str, ticket: int) -> None:
        try:
            result = await self.post(doc, prompt)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # handed to the main thread, which raises it or restarts the server
            result = e
        self.results.put((doc, result, ticket))

    async def post(self, doc: Document, prompt: str) -> dict:
        import openai

        try:
            completion = await self.client.chat.completions.create(**self.block.request_kwargs(doc, prompt))
        except (openai.BadRequestError, openai.UnprocessableEntityError) as e:
            return refusal(e)
        except (openai.APIConnectionError, openai.RateLimitError, openai.InternalServerError) as e:
            raise ServerUnavailable(
                f"{self.url} failed {self.block.max_retries + 1} times, last: {describe(e)}"
            ) from e
        except openai.APIStatusError as e:
            raise RuntimeError(f"generation server {self.url} refused the request: {describe(e)}") from e
        return parse_completion(completion)

    def poll(self) -> list[tuple[Document, dict]]:
        if self.error is not None:
            raise self.error
        finished = [self.wait_one()]
        while True:
            try:
                finished.append(self.results.get_nowait())
            except queue.Empty:
                break
        out = []
        for doc, result, ticket in finished:
            if self.requests.get(doc.id, (None,) * 4)[3] != ticket:
                continue  # a request from before a server restart, since resubmitted
            if isinstance(result, ServerUnavailable) and self.server is not None and not self.server.alive():
                self.restart(result)
                return out  # everything in flight was resubmitted
            if isinstance(result, Exception):
                # what finished beside it still reaches the journal; the next poll raises
                self.error = self.error or self.failure(result)
                continue
            del self.requests[doc.id]
            out.append((doc, result))
        if self.error is not None and not out:
            raise self.error
        return out

    def failure(self, error: Exception) -> Exception:
        if not isinstance(error, ServerUnavailable):
            return error
        failure = RuntimeError(
            f"generation server {self.url} cannot serve requests ({error}); "
            f"{len(self.requests)} requests were in flight. Finished generations are in the journal "
            "and a rerun of this task resumes from there."
        )
        failure.__cause__ = error
        return failure

    def wait_one(self):
        while True:
            try:
                return self.results.get(timeout=0.2)
            except queue.Empty:
                if self.server is not None and not self.server.alive():
                    self.restart(RuntimeError(f"vLLM server exited with code {self.server.returncode}"))

    def restart(self, error: Exception) -> None:
        """Our own server died: start a new one and resubmit everything in flight."""
        self.restarts += 1
        log = f" Its log: {self.server.log_path}\n{self.server.log_tail()}\n"
        limit = self.block.max_server_restarts
        count_restart(self.block, "vLLM server", self.restarts, limit, error, len(self.requests), log)
        pending = list(self.requests.values())
        for _doc, _prompt, future, _ticket in pending:
            future.cancel()
        self.requests.clear()
        self.server.start()
        self.url = self.server.url
        self.call(self.client.close())
        self.client = self.call(self._make_client())
        for doc, prompt, _future, _ticket in pending:
            self.submit(doc, prompt)

    def close(self) -> None:
        for _doc, _prompt, future, _ticket in self.requests.values():
            future.cancel()
        try:
            self.call(self.client.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
            if self.server is not None:
                self.server.stop()


def describe(error) -> str:
    status = getattr(error, "status_code", None)
    return f"HTTP {status}: {error.message}" if status else f"{type(error).__name__}: {error}"


def refusal(error) -> dict:
    """A counted skip for a request the server refuses (400, 422)."""
    message = str(error.message)[:500]
    lowered = message.lower()
    too_long = "context length" in lowered or "maximum model length" in lowered or "too long" in lowered
    return {"skip": "prompt_too_long" if too_long else "invalid_request", "message": message}


def parse_completion(completion) -> dict:
    choice = completion.choices[0]
    usage = completion.usage
    return {
        "text": choice.message.content or "",
        "finish_reason": choice.finish_reason or "unknown",
        "prompt_tokens": usage.prompt_tokens if usage else 0,
        "token_length": usage.completion_tokens if usage else 0,
    }
