"""Fixtures for generation tests (helpers live in gen_helpers.py)."""

import pytest
from datatrove.utils.logging import logger


@pytest.fixture
def log_lines():
    """Messages datatrove's logger writes while the test runs."""
    lines: list[str] = []
    sink = logger.add(lambda message: lines.append(str(message)), level="INFO")
    yield lines
    logger.remove(sink)
