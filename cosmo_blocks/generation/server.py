"""OpenAIServerGenerator: the generation block against an OpenAI-compatible server.

Same journal, metadata, stats and progress as VLLMGenerator (both are GenerationBlocks); the
requests go over HTTP from an asyncio loop in a background thread, so the task's main thread keeps
reading seeds and building prompts while up to `max_in_flight` requests are open.
"""

import asyncio
import itertools
import queue
import random
import threading

from datatrove.data import Document
from datatrove.io import DataFolderLike

from cosmo_blocks.generation import engine as eng
from cosmo_blocks.generation.base import GenerationBlock, count_restart
from cosmo_blocks.generation.server_process import VLLMServerProcess
from cosmo_blocks.generation.vllm_generator import check_sampling


def _has_vllm() -> bool:
    import importlib.util

    return importlib.util.find_spec("vllm") is not None


class ServerUnavailable(RuntimeError):
    """The server stayed unreachable (or kept failing with 5xx) through every retry."""


class OpenAIServerGenerator(GenerationBlock):
    """Generate through `/v1/chat/completions` of an OpenAI-compatible server (vLLM's, or any).

    Either `endpoint="http://host:port"` (a server someone else runs; it must serve `model`), or no
    endpoint: the block starts `python -m vllm.entrypoints.openai.api_server` for its task, waits
    until /health answers (polled every 0.1 s), restarts it if it dies mid-run (at most
    `max_server_restarts` times, resubmitting what was in flight) and stops it at the end.

    Connection errors, timeouts and 5xx answers are retried with exponential backoff (`max_retries`
    times); a server that stays away fails the task with a message naming the URL, and the journal
    keeps every finished generation for the rerun. A 400 about the context length skips the document
    as `prompt_too_long`, other 4xx as `invalid_request`.

    Sampling settings are sent as request fields (vLLM's server takes top_k, repetition_penalty,
    ignore_eos, ... beside the OpenAI ones), with a per-request `seed` when `seed` is set.
    """

    name = "🤖 OpenAI server"

    def __init__(
        self,
        model: str = eng.DEFAULT_MODEL,
        endpoint: str | None = None,
        sampling: str | dict = "default",
        engine_kwargs: dict | None = None,
        journal_dir: DataFolderLike | None = None,
        seed: int | None = None,
        max_in_flight: int = 256,
        max_retries: int = 5,
        backoff: float = 0.5,
        request_timeout: float = 600.0,
        max_server_restarts: int = 2,
        server_start_timeout: float = 600.0,
        api_key: str | None = None,
        progress_interval: float = 30.0,
    ):
        super().__init__(model, sampling, journal_dir, seed, max_in_flight, progress_interval)
        if endpoint is None:
            eng.check_model(model)
        if endpoint is None or _has_vllm():  # a client without vllm leaves the check to the server
            check_sampling(self.sampling)
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.engine_kwargs = dict(engine_kwargs or {})
        self.max_retries = max_retries
        self.backoff = backoff
        self.request_timeout = request_timeout
        self.max_server_restarts = max_server_restarts
        self.server_start_timeout = server_start_timeout
        self.api_key = api_key

    def open_backend(self, rank: int) -> "ServerBackend":
        server = None
        if self.endpoint is None:
            server = VLLMServerProcess(self.model, self.engine_kwargs, self.server_start_timeout)
            server.start()
            self.stat_update("engine_start_seconds", value=round(server.start_seconds, 1), unit="task")
        return ServerBackend(self, server)

    def body(self, doc_id: str, prompt: str) -> dict:
        body = {"model": self.model, "messages": [{"role": "user", "content": prompt}]} | self.sampling
        seed = self.request_seed(doc_id)
        return body if seed is None else body | {"seed": seed}


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
        import httpx

        limits = httpx.Limits(max_connections=self.block.max_in_flight, max_keepalive_connections=64)
        headers = {"Authorization": f"Bearer {self.block.api_key}"} if self.block.api_key else {}
        return httpx.AsyncClient(timeout=self.block.request_timeout, limits=limits, headers=headers)

    def submit(self, doc: Document, prompt: str) -> None:
        ticket = next(self.tickets)
        future = asyncio.run_coroutine_threadsafe(self.request(doc, prompt, ticket), self.loop)
        self.requests[doc.id] = (doc, prompt, future, ticket)

    async def request(self, doc: Document, prompt: str, ticket: int) -> None:
        try:
            result = await self.post(doc, prompt)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # handed to the main thread, which raises it or restarts the server
            result = e
        self.results.put((doc, result, ticket))

    async def post(self, doc: Document, prompt: str) -> dict:
        import httpx

        body = self.block.body(doc.id, prompt)
        for attempt in range(self.block.max_retries + 1):
            try:
                response = await self.client.post(f"{self.url}/v1/chat/completions", json=body)
            except (httpx.TransportError, httpx.TimeoutException) as e:
                error = f"{type(e).__name__}: {e}"
            else:
                if response.status_code < 500:
                    return parse_response(response)
                error = f"HTTP {response.status_code}: {response.text[:200]}"
            if attempt < self.block.max_retries:
                await asyncio.sleep(self.block.backoff * 2**attempt * (0.5 + random.random()))
        raise ServerUnavailable(f"{self.url} failed {self.block.max_retries + 1} times, last: {error}")

    def poll(self) -> list[tuple[Document, dict]]:
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
            if isinstance(result, ServerUnavailable):
                self.fail(result)
                return out  # the server was restarted: everything in flight was resubmitted
            if isinstance(result, Exception):
                raise result
            del self.requests[doc.id]
            out.append((doc, result))
        return out

    def wait_one(self):
        while True:
            try:
                return self.results.get(timeout=0.2)
            except queue.Empty:
                if self.server is not None and not self.server.alive():
                    self.restart(RuntimeError(f"vLLM server exited with code {self.server.returncode}"))

    def fail(self, error: Exception) -> None:
        if self.server is not None and not self.server.alive():
            self.restart(error)
            return
        raise RuntimeError(
            f"generation server {self.url} cannot serve requests ({error}); "
            f"{len(self.requests)} requests were in flight. Finished generations are in the journal "
            "and a rerun of this task resumes from there."
        ) from error

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
        for doc, prompt, _future, _ticket in pending:
            self.submit(doc, prompt)

    def close(self) -> None:
        for _doc, _prompt, future, _ticket in self.requests.values():
            future.cancel()
        try:
            self.call(self.client.aclose())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=5)
            if self.server is not None:
                self.server.stop()


def parse_response(response) -> dict:
    """A result dict from a chat completion, or a skip for a request the server refuses."""
    if response.status_code != 200:
        message = response.text[:500]
        too_long = "context length" in message or "maximum model length" in message or "too long" in message
        return {"skip": "prompt_too_long" if too_long else "invalid_request", "message": message}
    data = response.json()
    choice = data["choices"][0]
    usage = data.get("usage") or {}
    return {
        "text": choice["message"]["content"] or "",
        "finish_reason": choice.get("finish_reason") or "unknown",
        "prompt_tokens": usage.get("prompt_tokens", 0),
        "token_length": usage.get("completion_tokens", 0),
    }
