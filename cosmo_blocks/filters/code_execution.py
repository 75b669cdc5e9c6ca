"""Run the Python in a document and drop it when that code does not work."""

import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor

import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters.markdown import python_program
from cosmo_blocks.filters.sandbox import (
    DEFAULT_UID,
    Sandbox,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
)


class CodeExecutionFilter(BaseFilter):
    """Extract the ```python / ```py blocks of each document, run them in order as one program inside
    a bubblewrap sandbox (see `sandbox.py`), and drop the document when it fails.

    Drop reasons: `syntax_error`, `runtime_error:<ExceptionName>`, `timeout`, `memory`, `killed`
    (a signal, e.g. a segfault), `output_limit`. Documents without Python blocks pass untouched;
    other languages and ```text blocks are never run.

    Args:
        timeout: wall seconds per program.
        memory_bytes / output_bytes / file_bytes / nproc: sandbox limits per program.
        workers: programs run at once (threads, each waiting on one sandboxed subprocess);
            defaults to the number of CPUs.
        batch_size: documents handed to the pool together.
        on_missing_sandbox: "raise" (default) fails at construction when bubblewrap cannot run;
            "mark" keeps every document with code, marked `code_unverified`, and runs nothing.
            Code never runs unprotected.
        missing_module: the sandbox has only the standard library of `python`. "mark" (default)
            keeps a document whose code stops at ModuleNotFoundError (numpy, pandas...) and marks
            it `code_unverified`; "drop" drops it as `runtime_error:ModuleNotFoundError`.
        python: interpreter run inside the sandbox; it must live under /usr, which is all of the
            host filesystem the sandbox sees (read-only). The system Python, not this venv's.
        bwrap: path to the bubblewrap binary; looked up on PATH when None.
        sandbox_uid: host uid the programs run as when this process is root; one no account or
            other service uses, so that every process of it is a sandboxed program.
        cache_size: results remembered by program hash, so identical code runs once.
    """

    name = "🐍 Code execution"

    def __init__(
        self,
        timeout: float = 10.0,
        memory_bytes: int = 1 << 30,
        output_bytes: int = 1 << 20,
        file_bytes: int = 16 << 20,
        nproc: int = 32,
        workers: int | None = None,
        batch_size: int = 32,
        on_missing_sandbox: str = "raise",
        missing_module: str = "mark",
        python: str = "/usr/bin/python3",
        bwrap: str | None = None,
        sandbox_uid: int = DEFAULT_UID,
        cache_size: int = 10_000,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer, batch_size=batch_size)
        if on_missing_sandbox not in ("raise", "mark"):
            raise ConfigError(f"on_missing_sandbox must be 'raise' or 'mark', not {on_missing_sandbox!r}")
        if missing_module not in ("mark", "drop"):
            raise ConfigError(f"missing_module must be 'mark' or 'drop', not {missing_module!r}")
        limits = SandboxLimits(
            timeout=timeout,
            memory_bytes=memory_bytes,
            output_bytes=output_bytes,
            file_bytes=file_bytes,
            nproc=nproc,
        )
        self.sandbox = Sandbox(limits, python=python, bwrap=bwrap, uid=sandbox_uid)
        self.on_missing_sandbox = on_missing_sandbox
        self.missing_module = missing_module
        self.workers = workers or os.cpu_count() or 1
        self.cache_size = cache_size
        self._cache: OrderedDict[int, SandboxResult] = OrderedDict()
        self._pool = None
        # fail fast, before any GPU time is spent, and again in each worker process (see run)
        self.sandbox_ok = self._check_sandbox()

    def __getstate__(self):  # executors pickle steps; a thread pool does not travel
        state = self.__dict__.copy()
        state["_pool"] = None
        return state

    def _check_sandbox(self) -> bool:
        if self.on_missing_sandbox == "raise":
            self.sandbox.check()  # raises SandboxUnavailable with what to do
            return True
        return self.sandbox.available()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.sandbox_ok = self._check_sandbox()  # this process may be on another machine
        try:
            yield from super().run(data, rank, world_size)
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        programs = [python_program(doc.text) for doc in batch]
        if not self.sandbox_ok:
            return [
                self._unverified(doc, "no_sandbox") if prog else True
                for doc, prog in zip(batch, programs, strict=True)
            ]
        results = self._run_all([p for p in programs if p])
        return [
            self._verdict(doc, results[_digest(prog)]) if prog else True
            for doc, prog in zip(batch, programs, strict=True)
        ]

    def _run_all(self, programs: list[str]) -> dict[int, SandboxResult]:
        """Run each distinct program once (cache by xxhash), several at a time."""
        results, todo = {}, {}
        for prog in programs:
            digest = _digest(prog)
            if digest in results or digest in todo:
                continue
            cached = self._cache.get(digest)
            if cached is not None:
                self.stat_update("code_cache_hits")
                results[digest] = cached
            else:
                todo[digest] = prog
        if todo:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="sandbox")
            for digest, res in zip(todo, self._pool.map(self.sandbox.run, todo.values()), strict=True):
                self.stat_update("code_programs_run")
                results[digest] = res
                self._remember(digest, res)
        return results

    def _remember(self, digest: int, res: SandboxResult) -> None:
        self._cache[digest] = res
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def _verdict(self, doc: Document, res: SandboxResult) -> bool | tuple[bool, str]:
        if res.ok:
            self.stat_update("code_ok")
            return True
        if res.error == "ModuleNotFoundError" and self.missing_module == "mark":
            return self._unverified(doc, "missing_module")
        return False, res.reason

    def _unverified(self, doc: Document, why: str) -> bool:
        doc.metadata[keys.CODE_UNVERIFIED] = True
        self.stat_update(f"code_unverified_{why}")
        return True


def _digest(program: str) -> int:
    return xxhash.xxh3_64_intdigest(program.encode("utf-8", "surrogatepass"))


__all__ = ["CodeExecutionFilter", "SandboxUnavailable"]
