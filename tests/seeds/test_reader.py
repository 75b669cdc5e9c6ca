"""SeedReader on real files: sources, sharding, and every kind of bad record counted."""

import gzip

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.prompts.vocabulary import OURS_SEED_DATA, RELEASED_SEED_DATA
from cosmo_blocks.seeds import SOURCES, SeedReader
from cosmo_blocks.seeds.sources import seed_data_of
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
    # the released Cosmopedia's name for the same kind of seed, else the source's own
    assert [m[keys.SEED_DATA] for m in meta] == [
        "wikipedia",
        "khanacademy",
        "stanford_encyclopedia",
        "auto_math_text",
        "openwebmath",
        "generic",
    ]
    assert meta[0][keys.TITLE] == "Hangul" and meta[0][keys.URL] == "https://w/h"
    assert meta[1][keys.TITLE] == "Physics > Forces > Newton"
    assert docs[2].text == "Intro.\n\nBody." and meta[2][keys.TITLE] == "Free will"
    assert meta[3][keys.TITLE] == "Fractions" and meta[3][keys.URL] == "https://m/x"
    assert keys.TITLE not in meta[4]
    # records without an id are named by file and the byte offset of their line
    offset = path.read_bytes().index(b'{"source":"something-else"')
    assert docs[5].id == f"mixed.jsonl@{offset}"


def test_a_recipe_names_the_seed_data_of_its_seeds(tmp_path):
    """A recipe reproducing a released subset writes that subset's name, whatever the sources."""
    path = write_jsonl(tmp_path / "s.jsonl", [good(0), {"source": "automathtext", "text": "1/2."}])
    docs = run_steps([SeedReader(str(path), seed_data="web_samples_v1")])
    assert [d.metadata[keys.SEED_DATA] for d in docs] == ["web_samples_v1", "web_samples_v1"]
    for bad in ("", "  ", 3):
        with pytest.raises(ConfigError, match="seed_data must be a non-empty string"):
            SeedReader(str(path), seed_data=bad)


def test_every_seed_data_value_is_released_or_ours():
    """A source's seed_data is a released subset's name or one of ours: never a near miss of one."""
    names = {seed_data_of(source) for source in SOURCES}
    assert names <= RELEASED_SEED_DATA | OURS_SEED_DATA, names - RELEASED_SEED_DATA - OURS_SEED_DATA
    assert {"auto_math_text", "khanacademy"} <= names
    assert (
        "stanford" not in names
    )  # the released stanford seeds are course outlines, not encyclopedia entries


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


@pytest.fixture
def byte_ranges_for_small_files(monkeypatch):
    """Byte ranges start at 1 MiB per task; these tests use small files, so the floor goes."""
    from cosmo_blocks.seeds import reader

    monkeypatch.setattr(reader, "BYTE_RANGE_MIN_BYTES", 0)


def test_record_sharding_reads_and_parses_only_the_tasks_byte_range(
    tmp_path, monkeypatch, byte_ranges_for_small_files
):
    """A task of 10 over one jsonl file parses only the lines of its tenth of the bytes (a spy counts)."""
    from cosmo_blocks.seeds import reader

    path = write_jsonl(tmp_path / "one.jsonl", [good(i) for i in range(100)])
    parsed = []
    real_parse = reader._parse_jsonl_line
    monkeypatch.setattr(reader, "_parse_jsonl_line", lambda raw: parsed.append(raw) or real_parse(raw))
    docs = run_steps([SeedReader(str(path))], 3, 10)
    numbers = [int(d.id[1:]) for d in docs]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # one contiguous stretch
    assert 8 <= len(docs) <= 12 and 25 <= numbers[0] <= 35
    assert len(parsed) == len(docs)


@pytest.mark.parametrize("world_size", [2, 3, 7, 16, 40, 150])
def test_byte_ranges_lose_and_repeat_no_line(tmp_path, world_size, byte_ranges_for_small_files):
    """Lines of very different lengths, blank lines, bad lines and no final newline: every task count
    gives each line to exactly one task."""
    lines = []
    for i in range(60):
        lines.append(good(i) | {"text": "word " * (1 + (i * 37) % 90)})
        if i % 9 == 0:
            lines.append(b"")  # a blank line
        if i % 13 == 0:
            lines.append(b"{not json")
    path = write_jsonl(tmp_path / "one.jsonl", lines)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # the last line without its newline
    ids, malformed = [], 0
    for rank in range(world_size):
        reader = SeedReader(str(path))
        ids += [d.id for d in run_steps([reader], rank, world_size)]
        malformed += stats_of(reader).get("skipped_malformed_json", 0)
    assert sorted(ids) == sorted(f"s{i}" for i in range(60))
    assert malformed == 5


def test_every_split_point_gives_each_line_to_exactly_one_range(tmp_path):
    """Exhaustive over a small file: cut it at every byte (line starts, newlines, mid-line, blank lines)."""
    from datatrove.io import get_datafolder

    from cosmo_blocks.seeds.reader import _jsonl_lines

    content = b'{"a":1}\n\n{"bb":22}\n{"c":"x y z"}\n  \n{"d":4}\n{"e":5}'
    (tmp_path / "f.jsonl").write_bytes(content)
    folder = get_datafolder(str(tmp_path))
    every = [offset for offset, _ in _jsonl_lines(folder, "f.jsonl")]
    assert len(every) == 5
    for cut in range(len(content) + 1):
        left = [offset for offset, _ in _jsonl_lines(folder, "f.jsonl", (0, cut))]
        right = [offset for offset, _ in _jsonl_lines(folder, "f.jsonl", (cut, len(content)))]
        assert left + right == every, f"cut at byte {cut}"


def test_small_file_with_as_many_records_as_tasks_gives_every_task_work(tmp_path):
    """1,010 lines of varied length over 1,005 tasks: byte ranges of ~40 bytes would leave some tasks
    without a line start (the SLURM test once got 1,004 outputs), so a small file is dealt round-robin."""
    path = write_jsonl(tmp_path / "one.jsonl", [{"id": f"s{i}", "text": f"seed {i}"} for i in range(1010)])
    counts = [len(run_steps([SeedReader(str(path))], rank, 1005)) for rank in range(1005)]
    assert min(counts) == 1 and sum(counts) == 1010


def test_big_file_is_read_by_byte_range(tmp_path):
    """At 1 MiB or more per task, a task reads a contiguous stretch of the file, not every 4th line."""
    text = "Plants turn light into energy. " * 60
    path = write_jsonl(tmp_path / "big.jsonl", [{"id": f"s{i}", "text": text} for i in range(4000)])
    assert path.stat().st_size >= 4 << 20
    numbers = sorted(int(d.id[1:]) for d in run_steps([SeedReader(str(path))], 1, 4))
    assert numbers == list(range(numbers[0], numbers[-1] + 1)) and 900 < len(numbers) < 1100


def test_compressed_file_with_record_sharding_is_dealt_round_robin(tmp_path):
    with gzip.open(tmp_path / "one.jsonl.gz", "wb") as f:
        f.write(b"".join(orjson.dumps(good(i)) + b"\n" for i in range(20)))
    shards = [[d.id for d in run_steps([SeedReader(str(tmp_path / "one.jsonl.gz"))], r, 3)] for r in range(3)]
    assert shards[1] == [f"s{i}" for i in range(1, 20, 3)]


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
    with pytest.raises(ConfigError, match="unknown seed source 'wikipdia'"):
        SeedReader(str(tmp_path), source="wikipdia")
    (tmp_path / "notes.txt").write_text("not a seed file")
    with pytest.raises(ConfigError, match="no seed files"):
        run_steps([SeedReader(str(tmp_path))])
    with pytest.raises(ConfigError, match="no seed files"):
        SeedReader(str(tmp_path)).seed_files()
    with pytest.raises(ConfigError, match="is not jsonl"):
        SeedReader(str(tmp_path / "notes.txt"))


@pytest.fixture
def seed_dir(tmp_path):
    """A folder whose file names contain each other: a.jsonl, data.jsonl, extra_a.jsonl, sub/b.jsonl."""
    folder = tmp_path / "dir"
    for name, first in (("a", 0), ("data", 10), ("extra_a", 20), ("sub/b", 30)):
        write_jsonl(folder / f"{name}.jsonl", [good(first + i) for i in range(2)])
    return folder


def ids_read(reader) -> list[str]:
    return sorted(d.id for d in run_steps([reader]))


def test_a_seed_file_is_read_alone(seed_dir):
    assert ids_read(SeedReader(str(seed_dir / "a.jsonl"))) == ["s0", "s1"]
    assert ids_read(SeedReader(seed_dir / "extra_a.jsonl")) == ["s20", "s21"]


def test_a_relative_seed_file_is_read_alone_from_anywhere(seed_dir, monkeypatch, tmp_path):
    monkeypatch.chdir(seed_dir.parent)
    reader = SeedReader("dir/a.jsonl")
    monkeypatch.chdir(tmp_path.parent)  # a task may start in another directory
    assert ids_read(reader) == ["s0", "s1"]
    assert reader.seed_files() == [(str(seed_dir / "a.jsonl"), (seed_dir / "a.jsonl").stat().st_size)]


def test_a_folder_reads_every_seed_file_in_it(seed_dir, monkeypatch):
    assert ids_read(SeedReader(str(seed_dir))) == sorted(f"s{i + j}" for i in (0, 10, 20, 30) for j in (0, 1))
    monkeypatch.chdir(seed_dir.parent)
    files = SeedReader("dir").seed_files()
    assert [path for path, _ in files] == [
        str(seed_dir / name) for name in ("a.jsonl", "data.jsonl", "extra_a.jsonl", "sub/b.jsonl")
    ]
    assert all(size == (seed_dir / path).stat().st_size for path, size in files)


def test_a_glob_reads_only_when_the_user_writes_one(seed_dir, monkeypatch):
    assert ids_read(SeedReader(f"{seed_dir}/[ae]*.jsonl")) == ["s0", "s1", "s20", "s21"]
    monkeypatch.chdir(seed_dir)
    assert ids_read(SeedReader("**/b.jsonl")) == ["s30", "s31"]


def test_a_seeds_path_that_does_not_exist_fails_at_construction(tmp_path):
    with pytest.raises(ConfigError, match="seeds path 'no/such/seeds.jsonl' does not exist"):
        SeedReader("no/such/seeds.jsonl")
    with pytest.raises(ConfigError, match=f"seeds path '{tmp_path}/missing' does not exist"):
        SeedReader(str(tmp_path / "missing"))


def test_parquet_seeds_shard_by_row_and_are_named_by_row(tmp_path):
    """One id-less parquet file over 3 tasks: each row once, named `file#row` whatever the task count."""
    rows = [{"text": f"Parquet seed {i} about tides."} for i in range(10)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p.parquet", row_group_size=4)
    shards = [run_steps([SeedReader(str(tmp_path / "p.parquet"))], rank, 3) for rank in range(3)]
    assert [[d.id for d in shard] for shard in shards] == [
        [f"p.parquet#{i}" for i in range(rank, 10, 3)] for rank in range(3)
    ]
    for doc in (d for shard in shards for d in shard):
        assert doc.text == rows[int(doc.id.split("#")[1])]["text"]
        assert doc.metadata[keys.SEED_ID] == doc.id


def test_a_records_other_fields_and_datatrove_metadata_are_kept(tmp_path):
    """A corpus's labels and what an earlier stage wrote with datatrove's JsonlWriter travel with the seed."""
    path = write_jsonl(
        tmp_path / "s.jsonl",
        [
            {"id": "a", "text": "Sockets.", "group": "man2", "rank": 3, "tags": ["x"], "tree": {"k": [1]}},
            {"id": "b", "text": "Topic page.", "metadata": {"topic": "Unix sockets", "seed_id": "forged"}},
        ],
    )
    a, b = run_steps([SeedReader(str(path))])
    assert a.metadata["group"] == "man2" and a.metadata["rank"] == 3
    assert a.metadata["tags"] == ["x"] and a.metadata["tree"] == {"k": [1]}  # a course's chapters, say
    assert b.metadata[keys.TOPIC] == "Unix sockets"
    assert b.metadata[keys.SEED_ID] == "b"  # the reader names the seed, whatever the record says


def test_a_folder_an_earlier_stage_writes_is_read_when_the_stage_runs(tmp_path):
    later = tmp_path / "topics"
    with pytest.raises(ConfigError, match="does not exist"):
        SeedReader(str(later))
    reader = SeedReader(str(later), from_earlier_stage=True)  # built before the earlier stage ran
    assert reader.seed_files() == []
    assert run_steps([reader]) == [] and reader.stats["earlier_stage_wrote_nothing"].total == 1
    write_jsonl(later / "topics.jsonl", [{"id": "t", "text": "Networking > Sockets > TCP"}])
    assert [d.id for d in run_steps([reader])] == ["t"]
