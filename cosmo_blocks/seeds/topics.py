"""TopicExtractor: a topic and a clean context extract for each seed."""

import re

from datatrove.data import DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from cosmo_blocks import keys

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MARKUP_LINE = re.compile(r"^\s{0,3}(#{1,6}\s+|[=\-]{3,}\s*$|\|)", re.MULTILINE)
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# sentence ends in the scripts our templates cover: Latin, CJK, Korean (다./요. end in a period)
_SENTENCE_END = re.compile(r"[.!?。！？](?=[\s\"')\]」』]|$)")


def clean_text(text: str) -> str:
    """Whitespace and markup noise out, paragraphs kept."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _MARKUP_LINE.sub("", text)
    text = _SPACES.sub(" ", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def cut_at_sentence(text: str, max_chars: int) -> str:
    """At most `max_chars`, ending at the last sentence end that keeps at least half of them."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    ends = [m.end() for m in _SENTENCE_END.finditer(head)]
    if ends and ends[-1] >= max_chars // 2:
        return head[: ends[-1]]
    space = head.rfind(" ")
    return head[:space] if space >= max_chars // 2 else head


def guess_topic(text: str, max_chars: int = 120) -> str:
    """The first markdown heading, else the first sentence, shortened."""
    heading = _HEADING.search(text[:2000])
    if heading:
        return heading.group(1).strip()[:max_chars]
    first = clean_text(text[:2000]).split("\n", 1)[0]
    end = _SENTENCE_END.search(first)
    first = first[: end.start()] if end else first
    return cut_at_sentence(first, max_chars).rstrip(".!?。")


class TopicExtractor(PipelineStep):
    """Set `topic` (one already chosen > title > first heading > first sentence) and `context` (a clean
    extract).

    Args:
        context_chars: extract length; Cosmopedia used the first ~1000 characters.
    """

    name = "🧭 Topic + context"
    type = "🌱 - SEEDS"

    def __init__(self, context_chars: int = 1000):
        super().__init__()
        self.context_chars = context_chars

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                meta = doc.metadata
                # a topic chosen by discovery (a cluster's label, a retrieved page's subtopic) stays
                topic = meta.get(keys.TOPIC) or meta.get(keys.TITLE) or ""
                meta[keys.TOPIC] = topic.strip() or guess_topic(doc.text)
                cleaned = clean_text(doc.text)
                meta[keys.CONTEXT] = cut_at_sentence(cleaned, self.context_chars)
                if len(cleaned) > self.context_chars:
                    self.stat_update("context_truncated")
                self.stat_update("topics")
            yield doc
