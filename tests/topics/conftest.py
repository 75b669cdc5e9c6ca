"""Shared fixtures for the topic blocks: a small real corpus of Debian documentation with known groups.

The corpus is built by benchmarks/debian_corpus.py (loaded by path: benchmarks/ is no package)
from the manual pages and the Python documentation installed on this machine.
"""

import importlib.util
import shutil
from pathlib import Path

import orjson
import pytest

REPO = Path(__file__).resolve().parents[2]
BUILDER = REPO / "benchmarks" / "debian_corpus.py"
MAN_GROUPS = ["man1", "man2", "man3", "man5", "man7", "man8"]
PYTHON_GROUPS = [
    "Text Processing Services",
    "Internet Protocols and Support",
    "Concurrent Execution",
    "File and Directory Access",
    "tutorial",
    "c-api",
]
PER_GROUP = 30


def load_builder():
    """benchmarks/debian_corpus.py as a module."""
    spec = importlib.util.spec_from_file_location("debian_corpus", BUILDER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_corpus(path: Path) -> list[dict]:
    with open(path, "rb") as f:
        return [orjson.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def debian_builder():
    """The corpus builder module (build_corpus, MissingSource, ...)."""
    return load_builder()


@pytest.fixture(scope="session")
def debian_corpus(tmp_path_factory, debian_builder) -> Path:
    """A jsonl file of ~360 real documents, at most 30 per group, from 12 known groups: six manual
    sections (man1, man2, man3, man5, man7, man8) and six books or library chapters of the Python
    documentation (Text Processing Services, Internet Protocols and Support, Concurrent Execution,
    File and Directory Access, tutorial, c-api). Records: {"id", "text", "title", "url", "group", "corpus"}.

    Without the Debian package `python3-doc` the corpus holds the six manual sections only (a
    warning says so); without manual pages or groff the tests that use it are skipped.
    """
    if shutil.which("groff") is None or not (debian_builder.MAN_ROOT / "man7").is_dir():
        pytest.skip(
            "no manual pages or no groff: install the Debian packages groff-base, manpages, manpages-dev"
        )
    sources, groups = ["man", "python"], MAN_GROUPS + PYTHON_GROUPS
    try:
        debian_builder.python_html_root()
    except debian_builder.MissingSource as missing:
        import warnings

        warnings.warn(f"debian_corpus: manual pages only, {missing}", stacklevel=1)
        sources, groups = ["man"], MAN_GROUPS
    out = tmp_path_factory.mktemp("debian-corpus") / "debian-docs.jsonl"
    debian_builder.build_corpus(out, sources, max_per_group=PER_GROUP, groups=groups)
    return out


@pytest.fixture(scope="session")
def debian_corpus_records(debian_corpus) -> list[dict]:
    """The records of `debian_corpus`, in file order."""
    return read_corpus(debian_corpus)


@pytest.fixture(scope="session")
def debian_corpus_groups(debian_corpus_records) -> dict[str, str]:
    """{document id: its known group} for `debian_corpus`."""
    return {record["id"]: record["group"] for record in debian_corpus_records}
