"""Run the Python in a document and drop it when that code does not work.

The sandbox imports the standard library and the Python packages apt installed under /usr (the
scientific stack: python3-numpy, python3-pandas, python3-sympy, python3-matplotlib; install.sh
installs them). When a program stops at
ModuleNotFoundError, each module it lacks is judged:

- real: in the standard library of the sandbox's interpreter, a part of a namespace package the
  sandbox has (`google.cloud` beside another google.*), a name `known_modules.txt` lists, or a file
  the document itself names (`utils.py`). A real module that is merely absent keeps the document,
  marked `code_unverified` (or drops it, with `missing_module="drop"`).
- anything else is a module no package provides: the document is dropped as
  `hallucinated_import:<module>`.
- a submodule that an installed package lacks (`matplotlib.pyplott`), or a ModuleNotFoundError the
  code raises itself, is the code's own error: `runtime_error:ModuleNotFoundError`.

`known_modules.txt` (bundled, ~50 KB) holds the top-level import names of the 4,000 most downloaded
PyPI projects (github.com/hugovk/top-pypi-packages) and of ~150 teaching and science packages
below that cut. Import names come from installed distributions' metadata where present, else from
a table of the common mismatches (scikit-learn: sklearn, Pillow: PIL, beautifulsoup4: bs4,
opencv-python: cv2, PyYAML: yaml), else from the normalized project name; its header says so.
Names are compared without regard to case.
"""

import functools
import os
import re
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
    (a signal, e.g. a segfault), `output_limit`, `hallucinated_import:<module>` (an import of a
    module no package provides, anywhere in the code outside try blocks; see the module docstring).
    Documents without Python blocks pass untouched; other languages and ```text blocks are never run.

    Args:
        timeout: wall seconds per program.
        memory_bytes / output_bytes / file_bytes / nproc: sandbox limits per program.
        workers: programs run at once (threads, each waiting on one sandboxed subprocess);
            defaults to the number of CPUs.
        batch_size: documents handed to the pool together.
        on_missing_sandbox: "raise" (default) fails at construction when bubblewrap cannot run;
            "mark" keeps every document with code, marked `code_unverified`, and runs nothing.
            Code never runs unprotected.
        missing_module: the sandbox has the standard library of `python` and the packages under
            `/usr/lib/python3/dist-packages` (apt's python3-numpy, ...). "mark" (default) keeps a
            document whose code needs a real package the sandbox lacks (torch, requests...) and
            marks it `code_unverified`; "drop" drops it as `runtime_error:ModuleNotFoundError`.
        known_modules: more top-level module names to count as real (private packages, say), on top
            of the bundled `known_modules.txt`.
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
        known_modules: tuple[str, ...] = (),
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
        self.known_modules = frozenset(name.lower() for name in known_modules)
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
        if res.error == "ModuleNotFoundError":
            return self._missing_modules(doc, res)
        return False, res.reason

    def _missing_modules(self, doc: Document, res: SandboxResult) -> bool | tuple[bool, str]:
        invented = [name for name in res.missing if not self._real_module(name, doc.text)]
        if invented:
            self.stat_update("code_hallucinated_import")
            return False, f"hallucinated_import:{invented[0]}"
        if res.missing and self.missing_module == "mark":
            return self._unverified(doc, "missing_module")
        return False, res.reason

    def _real_module(self, name: str, text: str) -> bool:
        # a dotted name is reported only when its parent is a namespace package the sandbox has
        if "." in name or name in self.sandbox.stdlib_modules:
            return True
        if name.lower() in self.known_modules or name.lower() in known_modules():
            return True
        return re.search(rf"(?<![\w.]){re.escape(name)}\.py\b", text) is not None  # the document's own file

    def _unverified(self, doc: Document, why: str) -> bool:
        doc.metadata[keys.CODE_UNVERIFIED] = True
        self.stat_update(f"code_unverified_{why}")
        return True


@functools.cache
def known_modules() -> frozenset[str]:
    """The bundled names of real top-level modules, lowercased."""
    lines = (Path(__file__).parent / "known_modules.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def _digest(program: str) -> int:
    return xxhash.xxh3_64_intdigest(program.encode("utf-8", "surrogatepass"))


__all__ = ["CodeExecutionFilter", "SandboxUnavailable"]
