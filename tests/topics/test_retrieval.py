"""FtsIndexer + FtsRetriever on a real corpus of Debian manual pages and Python documentation."""

import signal
import sqlite3

import orjson
import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.seeds import SeedReader
from cosmo_blocks.topics.retrieval import FtsIndexer, FtsRetriever, boosted_query, plain_query, query_terms
from cosmo_blocks.topics.taxonomy import topic_document
from tests.conftest import run_cli, run_steps, stats_of, write_jsonl

THREADS = topic_document("Python Programming", "Concurrency", "Threads and locks")
REGEX = topic_document("Python Programming", "Standard Library", "Regular expressions")
LOGGING = topic_document("Software Development", "Debugging", "Logging messages")


def build_index(corpus, index_dir, world_size: int = 2) -> list:
    """Index `corpus` in `world_size` tasks, as an executor would run them."""
    stats = []
    for rank in range(world_size):
        indexer = FtsIndexer(index_dir)
        run_steps([SeedReader(corpus), indexer], rank, world_size)
        stats.append(stats_of(indexer))
    return stats


def page_ids(seeds: list[Document]) -> list[str]:
    return [seed.id.split("/", 1)[1] for seed in seeds]


@pytest.fixture(scope="module")
def index(debian_corpus, tmp_path_factory):
    index_dir = tmp_path_factory.mktemp("fts") / "index"
    stats = build_index(debian_corpus, index_dir)
    return index_dir, stats


def test_two_tasks_write_two_whole_shards(index, debian_corpus_records):
    index_dir, stats = index
    assert sorted(p.name for p in index_dir.iterdir()) == ["00000.sqlite", "00001.sqlite"]
    assert sum(s["indexed"] for s in stats) == len(debian_corpus_records)
    assert all(s["indexed"] > 0 for s in stats)  # one corpus file, dealt by record


def test_relevant_pages_come_first(index, debian_corpus_groups):
    retriever = FtsRetriever(index[0], pages_per_topic=5)
    threads, regex = retriever.retrieve(THREADS), retriever.retrieve(REGEX)

    assert "python:library/threading.html#lock-objects" in page_ids(threads)[:3]
    assert [debian_corpus_groups[p] for p in page_ids(threads)[:3]].count("Concurrent Execution") >= 2
    assert all(p.startswith("python:library/re.html") for p in page_ids(regex)[:3])


def test_a_seed_carries_its_topic_and_page(index, debian_corpus_groups):
    seed = FtsRetriever(index[0], pages_per_topic=1).retrieve(REGEX)[0]
    page_id = page_ids([seed])[0]
    assert seed.id == seed.metadata[keys.SEED_ID] == f"{REGEX.id}/{page_id}"
    for key in (keys.TOPIC, keys.CATEGORY, keys.SUBCATEGORY, keys.SUBTOPIC):
        assert seed.metadata[key] == REGEX.metadata[key]
    assert seed.metadata["group"] == debian_corpus_groups[page_id]  # the page's own metadata
    assert seed.metadata[keys.URL] and seed.metadata[keys.TITLE] and "regular expression" in seed.text.lower()


def test_the_same_page_for_two_topics_is_two_seeds(index):
    near = topic_document("Programming", "Text", "Regular expression syntax")
    retriever = FtsRetriever(index[0], pages_per_topic=3)
    seeds = run_steps([lambda data, rank, ws: iter([REGEX, near]), retriever])
    shared = set(page_ids(seeds[:3])) & set(page_ids(seeds[3:]))
    assert shared  # the two topics found some of the same pages...
    assert len({s.id for s in seeds}) == len(seeds)  # ...as distinct seeds


def test_fts5_bm25_counts_a_repeated_phrase_again(index):
    """What the boost relies on: FTS5's bm25 sums over the query's phrases, repeats included."""
    db = sqlite3.connect(index[0] / "00000.sqlite")
    sql = "SELECT rowid, bm25(pages) FROM pages WHERE pages MATCH ? ORDER BY rowid"
    once = dict(db.execute(sql, ('"thread"',)).fetchall())
    twice = dict(db.execute(sql, ('"thread" AND "thread"',)).fetchall())
    assert once and once.keys() == twice.keys()
    assert all(twice[r] == pytest.approx(2 * once[r]) for r in once)


def test_the_boost_puts_the_subtopic_before_the_category(index):
    """ "Logging messages" under "Debugging": unboosted, a D-Bus interface full of "debug" wins;
    with the subtopic's words counted twice, the Python logging tutorial does."""
    boosted = page_ids(FtsRetriever(index[0], pages_per_topic=2, boost=2).retrieve(LOGGING))
    plain = page_ids(FtsRetriever(index[0], pages_per_topic=2, boost=1).retrieve(LOGGING))
    assert boosted[0] == "python:tutorial/stdlib2.html#logging"
    assert plain[0] == "man:org.freedesktop.LogControl1(5)"


def test_the_fallback_fills_up_when_the_main_query_finds_too_few(index):
    # no page has "zyzzyva": the boosted query (every subtopic word required) finds nothing
    rare = topic_document("Python Programming", "Concurrency", "Threads and zyzzyvas")
    retriever = FtsRetriever(index[0], pages_per_topic=5)
    seeds = retriever.retrieve(rare)
    assert len(seeds) == 5
    assert stats_of(retriever)["fallback_queries"] == 1

    enough = FtsRetriever(index[0], pages_per_topic=5)
    assert len(enough.retrieve(THREADS)) == 5
    assert "fallback_queries" not in stats_of(enough)

    # Cosmopedia's AND of every word ("python", "programming" and "concurrency" too) finds fewer
    every_word = FtsRetriever(index[0], pages_per_topic=5, match_all=True)
    assert len(every_word.retrieve(THREADS)) == 5
    assert stats_of(every_word)["fallback_queries"] == 1

    strict = FtsRetriever(index[0], pages_per_topic=5, fallback=False)
    assert strict.retrieve(rare) == [] and stats_of(strict)["empty_topics"] == 1


def test_pages_are_deduplicated_per_topic(debian_corpus_records, tmp_path):
    """The same page twice (same id in both shards) and a copy under another id with its text
    re-cased and re-spaced: each topic gets it once."""
    regex_pages = [r for r in debian_corpus_records if r["id"].startswith("python:library/re.html")]
    page = regex_pages[0]
    copy = page | {"id": "mirror:" + page["id"], "text": "  " + page["text"].upper().replace(" ", "\n ")}
    corpus = write_jsonl(tmp_path / "corpus.jsonl", regex_pages + [page, copy])
    build_index(corpus, tmp_path / "index")

    retriever = FtsRetriever(tmp_path / "index", pages_per_topic=50)
    seeds = retriever.retrieve(REGEX)
    stats = stats_of(retriever)
    assert sorted(page_ids(seeds)) == sorted(r["id"] for r in regex_pages)
    assert stats["duplicate_id"] == 1 and stats["duplicate_text"] == 1
    assert stats["pages"] == len(regex_pages)


@pytest.mark.parametrize(
    "subtopic",
    ["C++ / Rust: AND-gates", 'NOT "quoted" OR (x*) NEAR(a b)', "col:umn ^start -minus", "l'été, naïve café"],
)
def test_query_syntax_in_a_topic_is_plain_text(index, subtopic):
    retriever = FtsRetriever(index[0], pages_per_topic=3)
    seeds = retriever.retrieve(topic_document('Odd "Category"', "AND OR NOT", subtopic))
    assert stats_of(retriever)["topics"] == 1 and len(seeds) <= 3


def test_a_topic_without_words_is_a_counted_skip(index):
    retriever = FtsRetriever(index[0])
    seeds = run_steps([lambda data, rank, ws: iter([topic_document("+++", "---", "/* */")]), retriever])
    assert seeds == [] and stats_of(retriever)["skipped_no_terms"] == 1


def test_fts5_syntax_in_a_term_is_quoted(index):
    """Even a term that kept FTS5's syntax (uppercase operators, quotes, `-`, `:`, `*`) is a phrase."""
    db = sqlite3.connect(index[0] / "00000.sqlite")
    terms = ["AND", "C++", 'say "hi', "NEAR(", "-x", "col:", "*", "^a"]
    db.execute("SELECT count(*) FROM pages WHERE pages MATCH ?", (plain_query(terms),)).fetchone()


def test_query_terms_and_boosted_query():
    assert query_terms("Creating processes with fork and exec") == ["creating", "processes", "fork", "exec"]
    assert query_terms("The") == ["the"]  # nothing but stopwords: kept
    query = boosted_query(["fork"], ["process"], boost=2)
    assert query == '"fork" AND ("fork" OR "fork" OR "process")'
    every_word = boosted_query(["fork"], ["process"], boost=2, match_all=True)
    assert every_word == '"fork" AND "process" AND ("fork" OR "fork" OR "process")'


def test_a_killed_indexing_task_leaves_no_shard_that_looks_whole(debian_corpus, tmp_path):
    """The task kills itself (SIGKILL) after reading 100 documents, as the OOM killer would."""
    index_dir = tmp_path / "index"
    script = f"""
import os, signal
from cosmo_blocks.seeds import SeedReader
from cosmo_blocks.topics.retrieval import FtsIndexer
def dying(data, rank, world_size):
    for i, doc in enumerate(data):
        if i == 100 and os.environ.get("DIE"):
            os.kill(os.getpid(), signal.SIGKILL)
        yield doc
data = None
for step in (SeedReader({str(debian_corpus)!r}), dying, FtsIndexer({str(index_dir)!r})):
    data = step(data, 0, 1)
for _ in data:
    pass
"""
    killed = run_cli("-c", script, env={"DIE": "1"})
    assert killed.returncode == -signal.SIGKILL
    assert [p.name for p in index_dir.iterdir()] == ["00000.sqlite.partial"]
    with pytest.raises(ConfigError, match="unfinished"):
        FtsRetriever(index_dir).open_shards()

    rerun = run_cli("-c", script)
    assert rerun.returncode == 0, rerun.stderr
    assert [p.name for p in index_dir.iterdir()] == ["00000.sqlite"]
    assert FtsRetriever(index_dir, pages_per_topic=1).retrieve(REGEX)


def test_a_broken_index_is_a_config_error_before_any_query(index, tmp_path):
    with pytest.raises(ConfigError, match="run the FtsIndexer stage"):
        list(FtsRetriever(tmp_path / "missing").run(iter([REGEX])))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="no shard files"):
        list(FtsRetriever(tmp_path / "empty").run(iter([REGEX])))

    half = tmp_path / "half"
    half.mkdir()
    (half / "00001.sqlite").write_bytes((index[0] / "00001.sqlite").read_bytes())
    with pytest.raises(ConfigError, match=r"incomplete: shard\(s\) 0 missing"):
        list(FtsRetriever(half).run(iter([REGEX])))
    mixed = tmp_path / "mixed"
    build_index(write_jsonl(tmp_path / "few.jsonl", [{"id": "a", "text": "one page"}]), mixed, world_size=1)
    (mixed / "00001.sqlite").write_bytes((index[0] / "00001.sqlite").read_bytes())
    with pytest.raises(ConfigError, match=r"mixes builds of \[1, 2\] tasks"):
        list(FtsRetriever(mixed).run(iter([REGEX])))
    (half / "00000.sqlite").write_text("not a database")
    with pytest.raises(ConfigError, match="not an FtsIndexer shard"):
        list(FtsRetriever(half).run(iter([REGEX])))

    for step in (FtsIndexer, FtsRetriever):
        with pytest.raises(ConfigError, match="not a local path"):
            step("s3://bucket/index")
    with pytest.raises(ConfigError, match="boost"):
        FtsRetriever(index[0], boost=0)


def test_index_keeps_metadata_as_json(index):
    db = sqlite3.connect(index[0] / "00000.sqlite")
    page_id, metadata = db.execute("SELECT page_id, metadata FROM pages LIMIT 1").fetchone()
    assert orjson.loads(metadata)["group"] and page_id
