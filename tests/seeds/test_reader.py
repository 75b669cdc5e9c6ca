"""SeedReader on real files: sources, sharding, and every kind of bad record counted."""

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cosmo_blocks import keys
from cosmo_blocks.seeds import SeedReader
from tests.conftest import run_steps, stats_of, write_jsonl


def good(i: int) -> dict:
    return {"id": f"s{i}", "text": f"Seed number {i} talks about photosynthesis.", "title": f"T{i}"}


def test_bad_records_are_counted_skips_and_the_rest_is_read(tmp_path):
    path = write_jsonl(
        tmp_path / "seeds.jsonl",
        [
            good(0),
            b'{"id": "broken", "text": "no closing brace"',  # malformed JSON
            {"id": "no-text", "title": "only a title"},  # no text
            {"id": "blank", "text": "   \n\t "},  # whitespace only
            b'{"id": "bad-bytes", "text": "caf\xe9 \xff\xfe"}',  # invalid UTF-8 mid-file
            b"[1, 2, 3]",  # JSON but not an object
            good(1),
            good(2),
        ],
    )
    reader = SeedReader(str(path))
    docs = run_steps([reader])
    stats = stats_of(reader)
    assert [d.id for d in docs] == ["s0", "s1", "s2"]  # records after the invalid bytes are still read
    assert stats["records_read"] == 8
    assert stats["skipped_malformed_json"] == 1
    assert stats["skipped_no_text"] == 1
    assert stats["skipped_empty_text"] == 1
    assert stats["skipped_invalid_utf8"] == 1
    assert stats["skipped_not_an_object"] == 1
    skipped = sum(v for k, v in stats.items() if k.startswith("skipped_"))
    assert stats["records_read"] == stats["seeds"] + skipped


def test_source_adapters(tmp_path):
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {
                "source": "wikipedia",
                "id": "w1",
                "title": "Hangul",
                "url": "https://w/h",
                "text": "Hangul is...",
            },
            {
                "source": "khanacademy",
                "course": "Physics",
                "unit": "Forces",
                "lesson": "Newton",
                "text": "F=ma.",
            },
            {"source": "stanford", "entry": "Free will", "preamble": "Intro.", "text": "Body."},
            {"source": "automathtext", "meta": {"url": "https://m/x", "title": "Fractions"}, "text": "1/2."},
            {"source": "openwebmath", "url": "https://o/p", "text": "Primes are infinite."},
            {"source": "something-else", "text": "A generic record."},
        ],
    )
    docs = run_steps([SeedReader(str(path))])
    meta = [d.metadata for d in docs]
    assert [m[keys.SEED_DATA] for m in meta] == [
        "wikipedia",
        "khanacademy",
        "stanford",
        "automathtext",
        "openwebmath",
        "generic",
    ]
    assert meta[0][keys.TITLE] == "Hangul" and meta[0][keys.URL] == "https://w/h"
    assert meta[1][keys.TITLE] == "Physics > Forces > Newton"
    assert docs[2].text == "Intro.\n\nBody." and meta[2][keys.TITLE] == "Free will"
    assert meta[3][keys.TITLE] == "Fractions" and meta[3][keys.URL] == "https://m/x"
    assert keys.TITLE not in meta[4]
    # records without an id get a stable one from file and position
    assert docs[5].id == "mixed.jsonl#5"


def test_parquet_and_gzip(tmp_path):
    pq.write_table(pa.Table.from_pylist([good(i) for i in range(3)]), tmp_path / "a.parquet")
    with gzip.open(tmp_path / "b.jsonl.gz", "wb") as f:
        f.write(b'{"id": "g", "text": "gzipped seed"}\n')
    docs = run_steps([SeedReader(str(tmp_path))])
    assert sorted(d.id for d in docs) == ["g", "s0", "s1", "s2"]


def test_one_file_many_tasks_shards_by_record(tmp_path):
    path = write_jsonl(tmp_path / "one.jsonl", [good(i) for i in range(100)])
    shards = [{d.id for d in run_steps([SeedReader(str(path))], rank, 7)} for rank in range(7)]
    assert all(shards), "every task gets work"
    assert sum(map(len, shards)) == 100
    assert set().union(*shards) == {f"s{i}" for i in range(100)}


def test_record_sharding_parses_only_the_tasks_own_lines(tmp_path, monkeypatch):
    """With record sharding a task parses only its own lines, not the whole file (a spy counts parses)."""
    from cosmo_blocks.seeds import reader

    path = write_jsonl(tmp_path / "one.jsonl", [good(i) for i in range(100)])
    parsed = []
    real_parse = reader._parse_jsonl_line
    monkeypatch.setattr(reader, "_parse_jsonl_line", lambda raw: parsed.append(raw) or real_parse(raw))
    docs = run_steps([SeedReader(str(path))], 3, 10)
    assert [d.id for d in docs] == [f"s{i}" for i in range(3, 100, 10)]
    assert len(parsed) == 10


def test_many_files_shard_by_file(tmp_path):
    for i in range(4):
        write_jsonl(tmp_path / f"part{i}.jsonl", [good(10 * i + j) for j in range(5)])
    shards = [[d.id for d in run_steps([SeedReader(str(tmp_path))], rank, 2)] for rank in range(2)]
    assert sorted(shards[0] + shards[1]) == sorted(f"s{10 * i + j}" for i in range(4) for j in range(5))
    assert len(shards[0]) == len(shards[1]) == 10


def test_limit_is_per_task(tmp_path):
    path = write_jsonl(tmp_path / "s.jsonl", [good(i) for i in range(10)])
    assert len(run_steps([SeedReader(str(path), limit=3)])) == 3


def test_configuration_errors_fail_fast(tmp_path):
    with pytest.raises(ValueError, match="unknown seed source 'wikipdia'"):
        SeedReader(str(tmp_path), source="wikipdia")
    (tmp_path / "notes.txt").write_text("not a seed file")
    with pytest.raises(FileNotFoundError, match="no seed files"):
        run_steps([SeedReader(str(tmp_path))])
