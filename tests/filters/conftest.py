import json
import os
from pathlib import Path

import pytest
from datatrove.data import Document

DOCS = Path(__file__).parent / "data" / "docs"


def load_labelled() -> list[tuple[str, Document, dict]]:
    """tests/filters/data/docs/*.txt: a JSON line (metadata + `expect`), a `---` line, then the text.

    `expect` maps a filter to its drop reason ("length", "completeness", "repetition", "code"), to the
    openers removed ("boilerplate") or to whether code stays unverified ("code_unverified"); a filter
    not named must keep the document unchanged.
    """
    out = []
    for path in sorted(DOCS.glob("*.txt")):
        header, _, text = path.read_text(encoding="utf-8").partition("\n---\n")
        meta = json.loads(header)
        expect = meta.pop("expect", {})
        out.append((path.stem, Document(text=text, id=path.stem, metadata=meta), expect))
    return out


def sandbox_required() -> bool:
    """CI installs bubblewrap, so there a missing sandbox must fail the tests rather than skip them."""
    return bool(os.environ.get("CI"))


@pytest.fixture(scope="session")
def bwrap_available():
    from cosmo_blocks.filters.sandbox import Sandbox

    sandbox = Sandbox()
    if sandbox.available():
        return True
    message = "bubblewrap sandbox unavailable (apt-get install -y bubblewrap)"
    if sandbox_required():
        pytest.fail(message + "; CI is set, so this is a failure")
    pytest.skip(message)
