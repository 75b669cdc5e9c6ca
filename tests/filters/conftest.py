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


# Debian's packages that CI installs for the code sandbox
SCIENTIFIC_STACK = "python3-numpy python3-pandas python3-sympy python3-matplotlib"


@pytest.fixture(scope="session")
def scientific_stack(bwrap_available):
    """Debian's scientific packages, which CI installs: there their absence fails, elsewhere it skips."""
    from cosmo_blocks.filters.sandbox import Sandbox

    res = Sandbox().run(  # found, not imported: importing them all takes seconds
        "import importlib.util\n"
        "print(*[m for m in ('numpy', 'pandas', 'sympy', 'matplotlib') if not importlib.util.find_spec(m)])"
    )
    if res.ok and not res.stdout.strip():
        return
    message = f"the sandbox lacks {res.stdout.decode().strip() or res.reason}: apt-get install -y {SCIENTIFIC_STACK}"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI is set, so this is a failure")
    pytest.skip(message)
