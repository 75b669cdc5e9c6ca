"""A topic taxonomy as a plain-text file, read into one document per subtopic, and grown by an LLM.

Cosmopedia v2 started from 5,000 BISAC subjects in 51 categories and had an LLM propose the
subtopics under each, 34,000 in all; each subtopic then found its seed pages by full-text search
(see `retrieval.py`). Our file holds the same three levels, one subtopic per line:

    # comments and blank lines are ignored
    Computing > Networking > Berkeley sockets
    Computing > Networking > DNS resolution

Why a flat line per subtopic rather than YAML or an indented tree: each line is a whole topic, so a
file can be grepped, sorted, concatenated, diffed line by line and appended to by a script (or from
SubtopicExpander's output) without knowing its structure; a typo breaks one line, which is skipped
and named, never the file.
"""

import re
from collections.abc import Iterable

import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.structured import StructuredAnnotator

SEPARATOR = ">"
LEVELS = 3
_SPACES = re.compile(r"\s+")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
# the line numbers a warning names before it says "and N more"
_SHOWN_LINES = 20


def clean_name(name: str) -> str:
    """One level's name as stored: whitespace collapsed, the separator and quotes out, trailing
    punctuation off (an LLM's "Sockets." and "Sockets" are one subtopic)."""
    name = _SPACES.sub(" ", name.replace(SEPARATOR, " ").replace('"', " ")).strip()
    return name.strip(" .;:,-*").strip()


def topic_label(category: str, subcategory: str, subtopic: str) -> str:
    """The topic as one string (its line in the file), used for `TOPIC` and in prompts."""
    return f" {SEPARATOR} ".join((category, subcategory, subtopic))


def topic_id(category: str, subcategory: str, subtopic: str) -> str:
    """Deterministic id from the path itself, not its line number, so editing the file elsewhere
    does not rename a topic. Readable slug plus a hash of the exact path: "C++" and "C" slug alike."""
    label = topic_label(category, subcategory, subtopic)
    slug = _NOT_SLUG.sub("-", label.lower()).strip("-")[:80].rstrip("-")
    return f"{slug}-{xxhash.xxh32_hexdigest(label.lower().encode())}"


def topic_document(category: str, subcategory: str, subtopic: str) -> Document:
    label = topic_label(category, subcategory, subtopic)
    return Document(
        text=label,
        id=topic_id(category, subcategory, subtopic),
        metadata={
            keys.CATEGORY: category,
            keys.SUBCATEGORY: subcategory,
            keys.SUBTOPIC: subtopic,
            keys.TOPIC: label,
        },
    )


def parse_line(line: str) -> tuple[str, str, str] | None:
    """(category, subcategory, subtopic) of a taxonomy line, or None when it is not one."""
    parts = [clean_name(p) for p in line.split(SEPARATOR)]
    if len(parts) != LEVELS or not all(parts):
        return None
    return parts[0], parts[1], parts[2]


def parse_taxonomy(lines: Iterable[str]) -> tuple[list[tuple[str, str, str]], list[int], list[int]]:
    """The distinct topics in file order, the line numbers (1-based) of malformed lines, and those
    of repeated topics (same path, ignoring case)."""
    topics, malformed, repeated, seen = [], [], [], set()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        path = parse_line(line)
        if path is None:
            malformed.append(number)
        elif tuple(p.lower() for p in path) in seen:
            repeated.append(number)
        else:
            seen.add(tuple(p.lower() for p in path))
            topics.append(path)
    return topics, malformed, repeated


def _line_list(numbers: list[int]) -> str:
    shown = ", ".join(map(str, numbers[:_SHOWN_LINES]))
    more = len(numbers) - _SHOWN_LINES
    return shown + (f" and {more} more" if more > 0 else "")


class TaxonomyReader(PipelineStep):
    """One document per subtopic of a taxonomy file (`Category > Subcategory > Subtopic` lines).

    Each document's text is the topic's line; its metadata holds CATEGORY, SUBCATEGORY, SUBTOPIC
    and TOPIC (the whole path); its id comes from the path (`topic_id`). Topics are dealt round-robin
    across tasks, so every task gets work while there are at least as many topics as tasks. Malformed
    lines (not three non-empty levels) and repeated topics are counted skips (by task 0 only, so a run's
    totals count each line once), named by line number in a warning; a file with no valid line is a
    ConfigError.

    Args:
        path: the taxonomy file, a local path or any fsspec URL.
        limit: at most this many topics per task (-1: all).
    """

    name = "🗂️ Taxonomy"
    type = "📖 - READER"

    def __init__(self, path: str, limit: int = -1):
        super().__init__()
        self.path = str(path)
        self.limit = limit
        if "://" not in self.path:
            self._read()  # a local file is checked now, before any task starts

    def _read(self) -> tuple[list[tuple[str, str, str]], list[int], list[int]]:
        import fsspec

        try:
            with fsspec.open(self.path, "rt", encoding="utf-8") as f:
                parsed = parse_taxonomy(f)
        except FileNotFoundError:
            raise ConfigError(
                f"no taxonomy file at {self.path}: give a file of 'Category > Subcategory > Subtopic' lines"
            ) from None
        except UnicodeDecodeError as e:
            raise ConfigError(
                f"taxonomy file {self.path} is not UTF-8 text ({e.reason} at byte {e.start})"
            ) from None
        if not parsed[0]:
            raise ConfigError(
                f"taxonomy file {self.path} has no valid line: each topic is one line "
                f"'Category {SEPARATOR} Subcategory {SEPARATOR} Subtopic' (# starts a comment)"
            )
        return parsed

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if data:
            yield from data
        topics, malformed, repeated = self._read()
        if rank == 0:  # one warning per run, not one per task
            if malformed:
                logger.warning(
                    f"{self.path}: skipped {len(malformed)} malformed line(s) (not "
                    f"'Category {SEPARATOR} Subcategory {SEPARATOR} Subtopic'): lines {_line_list(malformed)}"
                )
            if repeated:
                logger.warning(
                    f"{self.path}: skipped {len(repeated)} repeated topic(s): lines {_line_list(repeated)}"
                )
            self.stat_update("skipped_malformed", value=len(malformed))
            self.stat_update("skipped_repeated", value=len(repeated))
        mine = topics[rank::world_size]
        if self.limit >= 0:
            mine = mine[: self.limit]
        for path in mine:
            self.stat_update("topics")
            yield topic_document(*path)


class SubtopicExpander(StructuredAnnotator):
    """Ask the LLM for `n` new subtopics of each subtopic's subcategory, as Cosmopedia v2 grew 5,000
    BISAC subjects into 34,000 subtopics.

    Yields each topic document unchanged, then one topic document per proposed subtopic that is new,
    ignoring case and punctuation: not empty (dropped_empty); not the topic's own subtopic, category or
    subcategory, nor another topic this task was given (dropped_same_as_existing); not proposed before
    in this task (dropped_duplicate). New documents have the metadata and `topic_id` their line would
    have in the taxonomy file, so a topic proposed by two tasks gets one id and a later dedup by id
    drops the copy. A topic whose answer does not parse is kept without new subtopics (counted as
    StructuredAnnotator counts it; `keep_unanswered=False` drops it). A document without CATEGORY,
    SUBCATEGORY and SUBTOPIC is a counted skip (skipped_not_a_topic). Counts also:
    subtopics_proposed, subtopics_new.

    Args:
        generator: the generation block that answers (see StructuredAnnotator).
        n: how many subtopics to ask for per topic.
    """

    name = "🌿 Subtopic expansion"

    def __init__(self, generator, n: int = 5, max_chars: int = 60, **kwargs):
        if not isinstance(n, int) or n < 1:
            raise ConfigError(f"SubtopicExpander: n must be a positive number of subtopics, got {n!r}")
        self.n = n
        self.max_chars = max_chars
        schema = {
            "type": "object",
            "properties": {
                "subtopics": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": max_chars},
                    "minItems": n,
                    "maxItems": n,
                }
            },
            "required": ["subtopics"],
            "additionalProperties": False,
        }
        # a topic whose expansion failed is still a topic: keep it, unless asked not to
        kwargs.setdefault("keep_unanswered", True)
        super().__init__(generator, schema=schema, **kwargs)
        self._existing: set[tuple[str, str, str]] = set()  # the topics this task was given
        self._proposed: set[tuple[str, str, str]] = set()  # the new ones it yielded

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        yield from super().run(self._topics(data), rank, world_size)

    def _topics(self, data: DocumentsPipeline) -> DocumentsPipeline:
        for doc in data:
            if all(doc.metadata.get(k) for k in (keys.CATEGORY, keys.SUBCATEGORY, keys.SUBTOPIC)):
                yield doc
            else:
                self.stat_update("skipped_not_a_topic")
                logger.warning(
                    f"SubtopicExpander: {doc.id} has no category, subcategory and subtopic; skipped"
                )

    def prompt(self, doc: Document) -> str:
        meta = doc.metadata
        return (
            f"Category: {meta[keys.CATEGORY]}\n"
            f"Subcategory: {meta[keys.SUBCATEGORY]}\n"
            f"Subtopic: {meta[keys.SUBTOPIC]}\n\n"
            f'List {self.n} other subtopics of the subcategory "{meta[keys.SUBCATEGORY]}" that a textbook '
            f'on {meta[keys.CATEGORY]} would cover, each different from "{meta[keys.SUBTOPIC]}" and from '
            f"each other. Each subtopic is a short name of a few words. "
            f'Answer in JSON: {{"subtopics": [{self.n} strings]}}'
        )

    def apply(self, doc: Document, answer: dict) -> Iterable[Document]:
        meta = doc.metadata
        category, subcategory = meta[keys.CATEGORY], meta[keys.SUBCATEGORY]
        self._existing.add(_key(category, subcategory, meta[keys.SUBTOPIC]))
        # a small model's favourite non-answer: the category or subcategory itself as a subtopic
        parents = {_key(category, subcategory, category), _key(category, subcategory, subcategory)}
        yield doc
        for proposed in answer["subtopics"]:
            self.stat_update("subtopics_proposed")
            name = clean_name(proposed)
            key = _key(category, subcategory, name)
            if not key[2]:
                self.stat_update("dropped_empty")
            elif key in self._existing or key in parents:
                self.stat_update("dropped_same_as_existing")
            elif key in self._proposed:
                self.stat_update("dropped_duplicate")
            else:
                self._proposed.add(key)
                self.stat_update("subtopics_new")
                yield topic_document(category, subcategory, name)


def _key(category: str, subcategory: str, subtopic: str) -> tuple[str, str, str]:
    """What makes two subtopics the same: case, spacing and punctuation aside."""
    return tuple(_NOT_SLUG.sub(" ", p.lower()).strip() for p in (category, subcategory, subtopic))
