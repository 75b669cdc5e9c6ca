"""Helpers for generation tests: prompts, documents, real engine kills, the root conftest's helpers.

Test modules import from here, not from `conftest`: pytest keeps only the last imported
`conftest` module under that name, so `from conftest import ...` is ambiguous with several.
"""

import importlib.util
from pathlib import Path

import psutil
from datatrove.data import Document


def _root_conftest():
    path = Path(__file__).resolve().parents[1] / "conftest.py"
    spec = importlib.util.spec_from_file_location("cosmo_tests_root_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_root = _root_conftest()
ENGINE_KWARGS = _root.ENGINE_KWARGS
REPO = _root.REPO
SAMPLE_SEEDS = _root.SAMPLE_SEEDS
read_jsonl, write_jsonl, run_steps, stats_of, run_cli = (
    _root.read_jsonl,
    _root.write_jsonl,
    _root.run_steps,
    _root.stats_of,
    _root.run_cli,
)

INSTRUCTION = (
    "Write an extensive and detailed course unit suitable for a textbook targeted at college students, "
    "related to the given extract. Do not just list concepts, but develop each one in detail. "
    "Extract: "
)


def prompt_records(n: int, tag: str = "") -> list[dict]:
    """Distinct prompts sharing one instruction prefix, like PromptBuilder's."""
    return [
        {
            "id": f"p{i:04d}",
            "prompt": f"{INSTRUCTION}topic {tag}{i}: the cell is the unit of life number {i}.",
        }
        for i in range(n)
    ]


def documents(records: list[dict]) -> list[Document]:
    return [Document(text="", id=r["id"], metadata={"prompt": r["prompt"]}) for r in records]


def kill_engine_processes() -> list[int]:
    """SIGKILL this process's vLLM EngineCore (and its workers): what an OOM kill would do."""
    killed = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name().startswith("VLLM::"):
                child.kill()
                killed.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return killed
