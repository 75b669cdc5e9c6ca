"""The Debian documentation corpus builder, on the real manual pages and Python docs of this machine."""

import gzip
import re
import subprocess
import sys
from collections import Counter

import pytest

from cosmo_blocks import keys
from cosmo_blocks.seeds import SeedReader
from tests.topics.conftest import BUILDER, MAN_GROUPS, PER_GROUP, read_corpus

# what a page looks like when its markup got through: roff requests, font escapes and overstrikes;
# Sphinx's HTML (its attributes, permalinks, escaped entities). A page that documents markup (man(7),
# html.parser) shows some of it on purpose, so a few documents may match; a leak would hit them all.
LEAKS = {
    "man": re.compile(
        r"^\.(TH|SH|SS|PP|TP|IP|Dd|Nm)\b|\\f[BIRP]|\\\((aq|em|en|bu|dq|lq|rq)|\x08|\u2010", re.M
    ),
    "python": re.compile(r'class="|href="|</section>|</span>|&(amp|lt|gt|quot|#\d+);'),
}
NEVER = re.compile(r"\x08|headerlink|Permalink to this|¶\n")  # in no documentation text


def test_records_are_clean_and_grouped(debian_corpus_records):
    records = debian_corpus_records
    assert len(records) >= 150
    assert all(set(r) == {"id", "text", "title", "url", "group", "corpus"} for r in records)
    assert len({r["id"] for r in records}) == len(records)
    assert len({r["text"] for r in records}) == len(records)
    leaked = [r["id"] for r in records if LEAKS[r["corpus"]].search(r["text"])]
    assert len(leaked) <= len(records) // 100, leaked
    for r in records:
        assert len(r["text"]) >= 500, r["id"]
        assert not NEVER.search(r["text"]), r["id"]
        assert r["title"] and r["url"]
        if r["corpus"] == "man":  # man:ls(1) sits in man1, and its running header is gone
            section = re.fullmatch(r"man:.+\((\d)\w*\)", r["id"]).group(1)
            assert r["group"] == f"man{section}"
            assert not re.match(r"\S+\(\w*\)\s{2,}", r["text"]), r["id"]
    man = [r for r in records if r["corpus"] == "man"]
    assert sum(r["text"].startswith("NAME\n") for r in man) >= 0.95 * len(man)
    groups = Counter(r["group"] for r in records)
    assert set(MAN_GROUPS) <= set(groups)
    assert max(groups.values()) <= PER_GROUP
    assert min(groups[g] for g in MAN_GROUPS) >= PER_GROUP // 2


def test_python_groups_come_from_the_library_index(debian_corpus_records, debian_builder):
    python = [r for r in debian_corpus_records if r["corpus"] == "python"]
    if not python:
        pytest.skip("the Debian package python3-doc is not installed")
    by_page = {
        r["url"].split("#")[0].rsplit("/", 1)[-1]: r["group"] for r in python if "/library/" in r["url"]
    }
    assert by_page.get("re.html", "Text Processing Services") == "Text Processing Services"
    assert len({r["group"] for r in python}) >= 5
    for r in python:
        assert 500 <= len(r["text"]) <= debian_builder.SECTION_CHARS, r["id"]
        assert r["url"].startswith("https://docs.python.org/3.11/")
    chapters = debian_builder.library_chapters(
        (debian_builder.python_html_root() / "library" / "index.html").read_text(encoding="utf-8")
    )
    assert chapters["re.html"] == "Text Processing Services"
    assert chapters["functions.html"] == "Built-in Functions"
    assert chapters["urllib.request.html"] == "Internet Protocols and Support"
    assert "text.html" not in chapters  # a chapter's index page is no content


def test_same_build_twice_is_byte_identical(tmp_path, debian_builder, debian_corpus):
    groups = ["man2", "man7", "tutorial"]
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for out in (first, second):
        debian_builder.build_corpus(out, ["man", "python"], max_per_group=6, groups=groups, workers=2)
    assert first.read_bytes() == second.read_bytes()
    assert {r["group"] for r in read_corpus(first)} <= set(groups)
    # the same page gets the same id and text whatever else is built with it
    fixture = {r["id"]: r["text"] for r in read_corpus(debian_corpus)}
    shared = [r for r in read_corpus(first) if r["id"] in fixture]
    assert shared and all(fixture[r["id"]] == r["text"] for r in shared)


def test_symlinks_stubs_and_duplicates_are_skipped(tmp_path, debian_builder, monkeypatch):
    page = (debian_builder.MAN_ROOT / "man7" / "signal.7.gz").read_bytes()
    man7 = tmp_path / "man7"
    man7.mkdir()
    (man7 / "signal.7.gz").write_bytes(page)
    (man7 / "copy.7.gz").write_bytes(page)  # the same page under another name
    (man7 / "alias.7.gz").symlink_to("signal.7.gz")
    (man7 / "stub.7.gz").write_bytes(gzip.compress(b'.\\" an alias\n.so man7/signal.7\n'))
    (man7 / "note.7").write_text(".TH NOTE 7\n.SH NAME\nnote \\- too short\n")
    monkeypatch.setattr(debian_builder, "MAN_ROOT", tmp_path)
    table = debian_builder.build_corpus(tmp_path / "out.jsonl", ["man"], workers=1)
    (record,) = read_corpus(tmp_path / "out.jsonl")
    assert table == {("man", "man7"): {"docs": 1, "chars": len(record["text"])}}
    assert record["id"] in ("man:copy(7)", "man:signal(7)")
    assert record["title"] == "signal - overview of signals"
    assert record["text"].startswith("NAME\nsignal - overview of signals\n\nDESCRIPTION\n")


def test_missing_python_docs_names_the_package(tmp_path, debian_builder, monkeypatch):
    monkeypatch.setattr(debian_builder, "PYTHON_HTML_DIRS", (tmp_path / "nowhere",))
    with pytest.raises(debian_builder.MissingSource, match=r"apt-get install -y python3-doc"):
        debian_builder.build_corpus(tmp_path / "out.jsonl", ["python"])


def test_cli_writes_a_corpus_seed_reader_reads(tmp_path, debian_builder):
    out = tmp_path / "man7.jsonl"
    done = subprocess.run(
        [
            sys.executable,
            str(BUILDER),
            str(out),
            "--sources",
            "man",
            "--groups",
            "man7",
            "--max-per-group",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"^man\s+man7\s+5\s", done.stdout, re.M)
    assert re.search(r"^total\s+1 groups\s+5\s", done.stdout, re.M)
    # another process (another hash seed) writes the same bytes
    debian_builder.build_corpus(tmp_path / "here.jsonl", ["man"], max_per_group=5, groups=["man7"])
    assert (tmp_path / "here.jsonl").read_bytes() == out.read_bytes()
    records = read_corpus(out)
    docs = list(SeedReader(str(out)).run())
    assert [d.id for d in docs] == [r["id"] for r in records]
    for doc, record in zip(docs, records, strict=True):
        for key in (keys.TITLE, keys.URL, "group", "corpus"):  # the known group reaches the blocks
            assert doc.metadata[key] == record[key]
