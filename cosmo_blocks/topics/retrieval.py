"""Seed pages for each topic by full-text search: a sharded SQLite FTS5 index and a bm25 retriever.

Cosmopedia v2 found 1,000-2,000 FineWeb pages per subtopic with Manticore (64 shards, English
stemming): the query "category subcategory subtopic" with the subtopic's words boosted x2, then a
plain match when that found too few, pages deduplicated per topic. Here the same two stages run on
SQLite's FTS5, which needs no server and ships with Python:

- `FtsIndexer` (the few-task stage): each task writes one index file of its share of the corpus,
  `{index_dir}/{rank:05d}.sqlite`, with the porter stemmer over unicode61 tokens;
- `FtsRetriever` (the many-task stage): for each topic document, query every shard with bm25, merge
  by score, deduplicate, and yield one seed document per page.

bm25 in FTS5 is a sum over the query's phrases, a phrase named twice counting twice (the retrieval
tests check this), so "boosted x2" is the subtopic's words named twice. Each shard scores with its own
term statistics, as Manticore's distributed index does without global IDF: shards of one corpus dealt
at random score alike. Past one machine's disk, see the README: a search server does this part.
"""

import os
import re
import sqlite3
import time
from pathlib import Path
from urllib.request import pathname2url

import orjson
import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError

SUFFIX = ".sqlite"
PARTIAL = ".partial"
SCHEMA_VERSION = "1"
# the same characters unicode61 keeps in a token; everything else separates tokens
_TOKEN = re.compile(r"[^\W_]+")
_NOT_WORD = re.compile(r"[\W_]+")
# English stopwords (Manticore's stopwords='en' did the same for Cosmopedia): they match nearly
# every page, so requiring them filters nothing and scoring them only costs time
# fmt: off
STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "from", "has", "have", "how",
    "in", "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "then", "there",
    "these", "this", "to", "was", "were", "what", "when", "where", "which", "while", "who", "why",
    "will", "with", "without",
})
# fmt: on
_INSERT_BATCH = 1000


def _local_dir(index_dir, who: str) -> Path:
    path = os.fspath(index_dir)
    if "://" in path and not path.startswith("file://"):
        raise ConfigError(
            f"{who}: index_dir {path!r} is not a local path. SQLite opens its index files by path and "
            f"cannot read or write object storage: give a local or shared-filesystem folder (mounted "
            f"on every node), or use a search server for a corpus past one disk (see the README)"
        )
    return Path(path.removeprefix("file://")).absolute()


def shard_path(index_dir: Path, rank: int) -> Path:
    return Path(index_dir) / f"{rank:05d}{SUFFIX}"


class FtsIndexer(PipelineStep):
    """Index this task's documents into `{index_dir}/{rank:05d}.sqlite` (SQLite FTS5).

    Each page keeps what a seed needs later: its id (`doc.id`), url, title (metadata TITLE, else
    empty), text and metadata. The file is built under a `.partial` name and renamed only once it is
    complete, so a killed task never leaves an index that looks whole; a rerun starts its file anew.
    Documents pass through unchanged, so a writer may follow. Counts: indexed, skipped_empty_text.

    Args:
        index_dir: a local folder (or a shared filesystem mounted on every node); not s3:// etc.
        tokenize: the FTS5 tokenizer; "porter unicode61" stems English as Manticore's stem_en did.
    """

    name = "🔎 FTS index"
    type = "🧭 - TOPICS"

    def __init__(self, index_dir, tokenize: str = "porter unicode61"):
        super().__init__()
        self.index_dir = _local_dir(index_dir, "FtsIndexer")
        self.tokenize = tokenize

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.index_dir.mkdir(parents=True, exist_ok=True)
        final = shard_path(self.index_dir, rank)
        partial = final.with_name(final.name + PARTIAL)
        partial.unlink(missing_ok=True)
        db = sqlite3.connect(partial, isolation_level=None)
        try:
            self._create(db)
            indexed = 0
            for batch in _batches(self._rows(data or [], rank), _INSERT_BATCH):
                with self.track_time():
                    db.execute("BEGIN")
                    db.executemany(
                        "INSERT INTO pages(title, text, page_id, url, metadata) VALUES (?, ?, ?, ?, ?)",
                        [row for row, _ in batch],
                    )
                    db.execute("COMMIT")
                indexed += len(batch)
                yield from (doc for _, doc in batch)
            with self.track_time():
                self._finish(db, rank, world_size, indexed)
        finally:
            db.close()
        os.replace(partial, final)
        logger.info(f"FtsIndexer: {indexed} pages in {final}")

    def _create(self, db: sqlite3.Connection):
        # no rollback journal: an unfinished file is thrown away, never repaired
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        tokenize = self.tokenize.replace("'", "''")
        db.execute(
            "CREATE VIRTUAL TABLE pages USING fts5(title, text, page_id UNINDEXED, url UNINDEXED, "
            f"metadata UNINDEXED, tokenize='{tokenize}')"
        )
        db.execute("CREATE TABLE info(key TEXT PRIMARY KEY, value TEXT)")

    def _rows(self, data: DocumentsPipeline, rank: int):
        for doc in data:
            if not doc.text or not doc.text.strip():
                self.stat_update("skipped_empty_text")
                continue
            meta = doc.metadata
            row = (
                str(meta.get(keys.TITLE) or ""),
                doc.text,
                str(doc.id),
                str(meta.get(keys.URL) or ""),
                orjson.dumps(meta, default=str),
            )
            self.stat_update("indexed")
            yield row, doc

    def _finish(self, db: sqlite3.Connection, rank: int, world_size: int, indexed: int):
        db.execute("INSERT INTO pages(pages) VALUES ('optimize')")  # one b-tree: faster queries
        info = {"schema": SCHEMA_VERSION, "rank": rank, "world_size": world_size, "pages": indexed}
        info["built"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        db.executemany("INSERT INTO info VALUES (?, ?)", [(k, str(v)) for k, v in info.items()])


def _batches(rows, size: int):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def query_terms(text: str, drop_stopwords: bool = True) -> list[str]:
    """The distinct lowercased tokens of `text` as unicode61 splits it, stopwords out (all of them
    kept when nothing else is left)."""
    tokens = list(dict.fromkeys(t.lower() for t in _TOKEN.findall(text)))
    content = [t for t in tokens if t not in STOPWORDS]
    return content if content or not drop_stopwords else tokens


def fts_phrase(term: str) -> str:
    """A term as an FTS5 string: quoted, so AND/OR/NOT/NEAR, `-`, `:`, `*` and `^` are just text."""
    return '"' + term.replace('"', '""') + '"'


def boosted_query(
    subtopic_terms: list[str], context_terms: list[str], boost: int, match_all: bool = False
) -> str | None:
    """Every subtopic term required (and every context term too with `match_all`); the subtopic's
    terms named `boost` times in all and the context (category, subcategory) terms once, all of them
    scored. bm25 sums over phrases, so a term named twice weighs twice. None without subtopic terms."""
    if not subtopic_terms:
        return None
    required = " AND ".join(map(fts_phrase, subtopic_terms + (context_terms if match_all else [])))
    extra = [t for t in subtopic_terms for _ in range(boost - 1)] + context_terms
    if not extra:
        return required
    # the OR group always matches (the required terms are in it): it is there to be scored
    return f"{required} AND ({' OR '.join(map(fts_phrase, subtopic_terms + extra))})"


def plain_query(terms: list[str]) -> str | None:
    """Any of the terms, each once: the fallback match."""
    return " OR ".join(map(fts_phrase, terms)) if terms else None


def normalized_text_hash(text: str) -> int:
    """Same page text, case, spacing and punctuation aside."""
    return xxhash.xxh64_intdigest(_NOT_WORD.sub(" ", text.lower()).strip().encode())


class FtsRetriever(PipelineStep):
    """For each topic document, its best pages from the FtsIndexer shards, as seed documents.

    The query: every subtopic word required (all words with `match_all`), scored with the subtopic's
    words boosted `boost` times over the category and subcategory words; when that finds fewer than
    `pages_per_topic` pages, a plain OR match of all the words fills up the rest (Cosmopedia's
    fallback). Every shard is asked,
    results merged by bm25 score (title words weigh `title_weight` times body words). Pages are
    deduplicated per topic: the same page id, or the same text (case, spacing and punctuation aside).

    Each seed's id and SEED_ID are `{topic id}/{page id}`: the same page retrieved for two topics is
    two seeds (PromptBuilder names prompts `{seed_id}/{variant}`). Its metadata is the page's own,
    then URL, TITLE, TOPIC, CATEGORY, SUBCATEGORY and SUBTOPIC from the topic. Counts: topics,
    queries, fallback_queries, pages, duplicate_id, duplicate_text, empty_topics,
    skipped_no_terms. A missing, empty or incomplete index is a ConfigError before any query.

    Args:
        index_dir: the FtsIndexer folder (local).
        pages_per_topic: seeds per topic at most (Cosmopedia: 1,000-2,000 over FineWeb).
        boost: how many times the subtopic's words count (1: no boost).
        fallback: run the plain match when the boosted query finds too few.
        title_weight: bm25 weight of the title column against the text's 1.
        match_all: require the category's and subcategory's words too in the boosted query, as
            Cosmopedia's Manticore query string did (its words are ANDed); on a corpus of billions of
            pages that still finds thousands, on a small one it mostly leaves the work to the fallback.
    """

    name = "🔎 FTS retrieval"
    type = "🧭 - TOPICS"

    def __init__(
        self,
        index_dir,
        pages_per_topic: int = 1000,
        boost: int = 2,
        fallback: bool = True,
        title_weight: float = 2.0,
        match_all: bool = False,
    ):
        super().__init__()
        if not isinstance(pages_per_topic, int) or pages_per_topic < 1:
            raise ConfigError(
                f"FtsRetriever: pages_per_topic must be a positive number, got {pages_per_topic!r}"
            )
        if not isinstance(boost, int) or boost < 1:
            raise ConfigError(f"FtsRetriever: boost must be a whole number >= 1 (1: no boost), got {boost!r}")
        self.index_dir = _local_dir(index_dir, "FtsRetriever")
        self.pages_per_topic = pages_per_topic
        self.boost = boost
        self.fallback = fallback
        self.match_all = match_all
        self.title_weight = float(title_weight)
        self._shards: list[sqlite3.Connection] | None = None

    # -- the index ---------------------------------------------------------------------------

    def open_shards(self) -> list[sqlite3.Connection]:
        """Read-only connections to every shard, after checking that the index is whole."""
        if self._shards is None:
            files = check_index(self.index_dir)
            self._shards = [_open_read_only(f) for f in files]
        return self._shards

    def close(self):
        for db in self._shards or []:
            db.close()
        self._shards = None

    # -- queries -----------------------------------------------------------------------------

    def queries(self, category: str, subcategory: str, subtopic: str) -> tuple[str | None, str | None]:
        """(boosted query, fallback query) for a topic."""
        sub = query_terms(subtopic)
        context = [t for t in query_terms(f"{category} {subcategory}") if t not in sub]
        return boosted_query(sub, context, self.boost, self.match_all), plain_query(sub + context)

    def search(self, query: str, limit: int) -> list[tuple[float, int, int]]:
        """(bm25 score, shard, rowid) of the best `limit` pages over all shards, best first."""
        weights = f"{self.title_weight!r}, 1.0, 0, 0, 0"
        sql = f"SELECT bm25(pages, {weights}) AS s, rowid FROM pages WHERE pages MATCH ? ORDER BY s LIMIT ?"
        hits = []
        for shard, db in enumerate(self.open_shards()):
            hits.extend((score, shard, rowid) for score, rowid in db.execute(sql, (query, limit)))
        hits.sort()  # bm25 is negative in FTS5: lower is better
        return hits[:limit]

    def page(self, shard: int, rowid: int) -> tuple[str, str, str, str, dict]:
        db = self.open_shards()[shard]
        text, page_id, url, title, metadata = db.execute(
            "SELECT text, page_id, url, title, metadata FROM pages WHERE rowid = ?", (rowid,)
        ).fetchone()
        return text, page_id, url, title, orjson.loads(metadata)

    # -- the step ----------------------------------------------------------------------------

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        self.open_shards()  # a broken index fails here, before any topic is read
        try:
            for topic in data or []:
                with self.track_time():
                    seeds = self.retrieve(topic)
                yield from seeds
        finally:
            self.close()

    def retrieve(self, topic: Document) -> list[Document]:
        meta = topic.metadata
        category, subcategory = meta.get(keys.CATEGORY) or "", meta.get(keys.SUBCATEGORY) or ""
        subtopic = meta.get(keys.SUBTOPIC) or meta.get(keys.TOPIC) or topic.text or ""
        self.stat_update("topics")
        boosted, plain = self.queries(category, subcategory, subtopic)
        if plain is None:
            self.stat_update("skipped_no_terms")
            logger.warning(f"FtsRetriever: topic {topic.id} has no words to search for")
            return []
        picked = _Picked()
        if boosted is not None:
            self.stat_update("queries")
            self._take(picked, self.search(boosted, self._limit()))
        if self.fallback and len(picked.pages) < self.pages_per_topic:
            self.stat_update("fallback_queries")
            self._take(picked, self.search(plain, self._limit() + len(picked.hits)))
        if not picked.pages:
            self.stat_update("empty_topics")
        self.stat_update("pages", value=len(picked.pages))
        return [self._seed(topic, *page) for page in picked.pages]

    def _limit(self) -> int:
        # room for the duplicates dropped after the search
        return self.pages_per_topic + self.pages_per_topic // 4 + 4

    def _take(self, picked: "_Picked", hits: list[tuple[float, int, int]]):
        for _, shard, rowid in hits:
            if len(picked.pages) >= self.pages_per_topic:
                return
            if (shard, rowid) in picked.hits:  # found again by the fallback: the same hit
                continue
            picked.hits.add((shard, rowid))
            page = self.page(shard, rowid)
            text_hash = normalized_text_hash(page[0])
            if page[1] in picked.ids:
                self.stat_update("duplicate_id")
            elif text_hash in picked.texts:
                self.stat_update("duplicate_text")
            else:
                picked.ids.add(page[1])
                picked.texts.add(text_hash)
                picked.pages.append(page)

    def _seed(self, topic: Document, text: str, page_id: str, url: str, title: str, page_meta: dict):
        seed_id = f"{topic.id}/{page_id}"
        meta = dict(page_meta)
        for key, value in ((keys.URL, url), (keys.TITLE, title)):
            if value:
                meta[key] = value
        for key in (keys.TOPIC, keys.CATEGORY, keys.SUBCATEGORY, keys.SUBTOPIC):
            if topic.metadata.get(key):
                meta[key] = topic.metadata[key]
        meta[keys.SEED_ID] = seed_id
        return Document(text=text, id=seed_id, metadata=meta)


class _Picked:
    """One topic's pages so far and what identifies them."""

    def __init__(self):
        self.pages: list[tuple] = []
        self.hits: set[tuple[int, int]] = set()
        self.ids: set[str] = set()
        self.texts: set[int] = set()


def _open_read_only(path: Path) -> sqlite3.Connection:
    # immutable: no locking, so shards on a shared filesystem open from many tasks at once
    return sqlite3.connect(
        f"file:{pathname2url(str(path))}?mode=ro&immutable=1", uri=True, check_same_thread=False
    )


def check_index(index_dir: Path) -> list[Path]:
    """The shard files of a complete index, in rank order; a ConfigError naming what is wrong."""
    index_dir = Path(index_dir)
    if not index_dir.is_dir():
        raise ConfigError(f"no FTS index at {index_dir}: run the FtsIndexer stage into it first")
    files = sorted(index_dir.glob(f"*{SUFFIX}"))
    partial = sorted(index_dir.glob(f"*{SUFFIX}{PARTIAL}"))
    if not files:
        unfinished = (
            f" ({len(partial)} unfinished shard(s): the indexing stage did not complete)" if partial else ""
        )
        raise ConfigError(
            f"FTS index {index_dir} has no shard files (*{SUFFIX}){unfinished}: run FtsIndexer first"
        )
    ranks, sizes = {}, set()
    for path in files:
        info = _shard_info(path)
        ranks[info["rank"]] = path
        sizes.add(info["world_size"])
    if len(sizes) != 1:
        raise ConfigError(
            f"FTS index {index_dir} mixes builds of {sorted(sizes)} tasks: empty the folder and index again"
        )
    missing = sorted(set(range(sizes.pop())) - set(ranks))
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
        raise ConfigError(
            f"FTS index {index_dir} is incomplete: shard(s) {shown} missing (their indexing tasks did not "
            f"finish); rerun the FtsIndexer stage"
        )
    return [ranks[r] for r in sorted(ranks)]


def _shard_info(path: Path) -> dict:
    try:
        db = _open_read_only(path)
        try:
            info = dict(db.execute("SELECT key, value FROM info").fetchall())
        finally:
            db.close()
        return {"rank": int(info["rank"]), "world_size": int(info["world_size"])}
    except (sqlite3.DatabaseError, KeyError, ValueError) as e:
        raise ConfigError(
            f"{path} is not an FtsIndexer shard ({e}): empty the folder and index again"
        ) from None
