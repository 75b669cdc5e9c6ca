"""Fixtures for generation tests (helpers live in gen_helpers.py).

This conftest re-exports the root conftest's plain helpers: pytest registers the last imported
conftest as the module `conftest`, and tests elsewhere do `from conftest import read_jsonl, ...`.
"""

import pytest
from datatrove.utils.logging import logger
from gen_helpers import (  # noqa: F401  (re-exported for `from conftest import ...` elsewhere)
    ENGINE_KWARGS,
    REPO,
    SAMPLE_SEEDS,
    read_jsonl,
    run_cli,
    run_steps,
    stats_of,
    write_jsonl,
)


@pytest.fixture
def log_lines():
    """Messages datatrove's logger writes while the test runs."""
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    yield lines
    logger.remove(sink)
