"""Helpers for generation tests: prompts, documents, real engine kills, and the root helpers."""

import psutil
from datatrove.data import Document

from tests.conftest import (  # noqa: F401  (re-exported: generation tests import helpers from here)
    ENGINE_KWARGS,
    REPO,
    SAMPLE_SEEDS,
    read_jsonl,
    run_cli,
    run_steps,
    stats_of,
    write_jsonl,
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
