"""Drop generations that describe the requested text, or talk to the requester, instead of being the text."""

import re
from dataclasses import dataclass

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters.scripts import is_cjk

# What a generation calls itself when it describes itself as a document
_DOC = (
    r"(?:blog[ -]?post|blog|post|article|chapter|unit|lesson|section|guide|tutorial|essay|story|tale|"
    r"narrative|text|piece|episode|book|textbook|vignette|paragraph|passage|course|module|write-?up)"
)
# A document as the subject: "this chapter", "the blog post", "the next section", "the final part of the
# chapter", "each vignette", "the rest of the post"
_DOC_SUBJECT = (
    rf"\b(?:this|the|our|my|your|each|that)\s+(?:(?:next|final|first|last|second|third|following|opening|"
    rf"closing|whole|entire|rest|remainder|end|introductory|main)\s+)?(?:(?:part|section|half)\s+of\s+"
    rf"(?:the|this|our|my)\s+)?{_DOC}s?\b"
)
# What a document does when a text describes it rather than being it: its design, its plan, its parts
_DOC_VERB = (
    r"(?:is|was|has been)\s+(?:designed|intended|meant|written|structured|built|based|organi[sz]ed|divided|"
    r"presented|aimed|about|titled|set)|(?:can|should|would|will|must|may)\s+(?:be|also|now|then|\w+)|aims?|"
    r"seeks?|strives?|tries|conclu(?:des|ded)|ends|ended|begins|began|starts|started|opens|closes|explores|"
    r"explored|covers|covered|unfolds|delves|delved|discusses|discussed|focuses|focused|highlights|"
    r"includes|included|contains|provides|provided|offers|offered|describes|introduces|presents|examines|"
    r"goes\s+(?:on|into|over|through)|takes\s+(?:the\s+)?readers?|follows|features|summari[sz]es|"
    r"wraps\s+up|looks\s+at|touches\s+on|walks|guides|revolves|centers|centres|showcases|outlines|"
    r"then|also|gives|leaves|brings|serves|reflects|emphasi[sz]es|demonstrates|illustrates|tells|takes|"
    r"reaches|shifts|moves|is\s+(?:also\s+)?inspired"
)
# "This chapter is designed to...", "The article concludes with...", "The narrative unfolds through..."
_SUBJECT_VERB = re.compile(
    rf"(?:{_DOC_SUBJECT})[^.!?\n]{{0,40}}?\b(?:{_DOC_VERB})\b"
    # "the title of the story is", "echoed throughout the narrative", "This concludes the discussion"
    rf"|\bthe\s+title\s+of\s+(?:the|this|my)\s+{_DOC}\b|\bthroughout\s+(?:the|this)\s+(?:narrative|story|post|"
    rf"article|essay)\b|^\W*this\s+(?:concludes|ends|wraps\s+up)\b"
    # a pronoun for the document, with a verb only a document does: "It then delves into"
    rf"|\bit\s+(?:then\s+|also\s+|next\s+|finally\s+)?(?:delves\s+into|goes\s+on\s+to|continues\s+with\s+a|"
    rf"concludes\s+with\s+a)\b",
    re.I,
)
# "In this blog post, I will...", "In this section, you will find", "Concluding the post, I offer"
_IN_THIS_DOC = re.compile(
    rf"\b(?:in|throughout|concluding|ending|closing|through(?:out)?)\s+(?:this|the|my|our)\s+(?:\w+\s+)?{_DOC}\b"
    rf"(?:\s+of\s+[^,.!?\n]{{1,60}})?\s*,?\s*(?:I|we|you|readers?|the\s+reader)\b",
    re.I,
)
# The writer planning or looking back on the writing: "I will discuss", "we'll delve into", "I aimed to
# provide", "I have tried to keep the blog post short", "I used vivid language", "I made sure to include"
_WRITING_VERB = (
    r"(?:explore|delve|discuss|cover|examine|share|provide|write|include|incorporate|focus|highlight|"
    r"talk|look|touch|mix|use|summari[sz]e|wrap|conclude|offer|expand|keep|make|emphasi[sz]e|present|"
    r"introduce|outline|describe|walk|guide|dive|end|begin|start|give|inspire|encourage|engage|convey|"
    r"capture|connect)"
)
_WRITER_PLAN = re.compile(
    rf"\b(?:I|we)\s*(?:will|would|shall|'ll|'d|am\s+going\s+to|are\s+going\s+to|have\s+tried\s+to|tried\s+to|"
    rf"aim(?:ed)?\s+to|hope(?:d)?\s+to|want(?:ed)?\s+to|made\s+sure\s+to|chose\s+to|decided\s+to|"
    rf"have\s+also\s+tried\s+to)\s+(?:also\s+|then\s+|now\s+|briefly\s+)?{_WRITING_VERB}\w*\b"
    rf"|\bI\s+(?:also\s+)?(?:used|included|emphasi[sz]ed|incorporated|aimed|focused|highlighted|wrote|tried)\b"
    # the writer with the document as object: "We conclude this chapter by", "I end the post with"
    rf"|\b(?:I|we)\s+(?:\w+\s+)?{_WRITING_VERB}\w*\s+(?:this|the|my|our)\s+{_DOC}s?\b",
    re.I,
)
# An outline speaking to its reader: "You'll learn about...", "you will find the introduction"
_OUTLINE_YOU = re.compile(
    r"\byou\s*(?:will|'ll)\s+(?:learn\s+about|find\s+(?:the|an|a)\s+(?:introduction|summary|section|"
    r"overview)|get\s+to\s+(?:know|understand)|finish|explore)\b|\bin\s+this\s+(?:part|section)\s+you\b",
    re.I,
)
SELF_DESCRIPTION = (_SUBJECT_VERB, _IN_THIS_DOC, _WRITER_PLAN, _OUTLINE_YOU)

# An assistant answering a request: talking to the requester about the task, not to a reader
_ASSISTANT = re.compile(
    r"\byour\s+(?:query|request|requirements?|prompt|instructions?|answer|input|feedback|expectations|"
    r"own\s+(?:text|words|writing))\b"
    r"|\bplease\s+(?:provide|let\s+me\s+know|feel\s+free|share|paste|send|specify|clarify|tell\s+me|"
    r"refer\s+to|add\s+your|note\s+that\s+I)\b"
    r"|\bfeel\s+free\b|\blet\s+me\s+know\b|\bdo(?:n'?t|\s+not)\s+hesitate\b|\bhappy\s+to\s+help\b"
    r"|\bhere\s+to\s+(?:help|assist|share)\b|\bavailable\s+to\s+(?:help|assist)\b|\bassist\s+you\b"
    r"|\b(?:thank|grateful\s+to)\s+you\s+for\s+(?:providing|sharing|asking|the\s+(?:prompt|request|opportunity))\b"
    r"|\byour\s+(?:text|content)\s+(?:should|must|will)\b"
    r"|\bI\s+hope\s+(?:this|it|that)\s+(?:helps|meets|was\s+helpful|is\s+helpful|brings|gives|concludes)\b"
    r"|\bas\s+an\s+AI\b|\blanguage\s+model\b|\bthe\s+user'?s?\b|\bthe\s+(?:prompt|requester)\b"
    r"|\bany\s+(?:other\s+|further\s+|more\s+|specific\s+)?questions\b"
    r"|\bhere(?:'s|\s+is)\s+(?:a|an|the|your|my)\s+(?:possible\s+|revised\s+|rewritten\s+|final\s+)?"
    r"(?:version|draft|ending|continuation|rewrite|response|outline)\b"
    r"|\bpaste\b|\bgoodbye\b|\bmust\s+contain\s+exactly\b|\bexactly\s+\d+\s+(?:sections|paragraphs|bullet)"
    r"|\bshould\s+I\s+continue\b|\bwould\s+you\s+like\s+me\b|\bI\s+can\s+help\s+you\b"
    r"|\bI'?m\s+(?:glad|happy)\s+(?:you|to)\b|\bwhat(?:'s|\s+is)\s+your\s+(?:query|question)\b",
    re.I,
)
ASSISTANT_CHATTER = (_ASSISTANT,)

# A sentence ends at a final mark (with any closing quote or bracket) or a line break
_SENTENCES = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n+")
_WORD = re.compile(r"\w+")

# Words a pattern cannot match without: a sentence without any of them skips the pattern, which keeps
# the filter at regex speed (most sentences of a real text have none)
_DOC_WORDS = frozenset(
    w + plural
    for w in [
        "blog",
        "post",
        "article",
        "chapter",
        "unit",
        "lesson",
        "section",
        "guide",
        "tutorial",
        "essay",
        "story",
        "narrative",
        "text",
        "piece",
        "episode",
        "book",
        "textbook",
        "vignette",
        "paragraph",
        "passage",
        "course",
        "module",
        "write",
        "blogpost",
    ]
    for plural in ("", "s")
) | {"tale", "tales", "stories"}
_GATES = (
    (
        _SUBJECT_VERB,
        _DOC_WORDS | {"part", "scene", "concludes", "ends", "wraps", "delves", "goes", "continues"},
    ),
    (_IN_THIS_DOC, _DOC_WORDS),
    (_WRITER_PLAN, frozenset({"i", "we"})),
    (_OUTLINE_YOU, frozenset({"you"})),
)
_CHAT_WORDS = frozenset(
    [
        "your",
        "please",
        "feel",
        "let",
        "hesitate",
        "help",
        "hope",
        "ai",
        "model",
        "user",
        "users",
        "prompt",
        "requester",
        "questions",
        "here",
        "paste",
        "goodbye",
        "exactly",
        "continue",
        "like",
        "glad",
        "happy",
        "assist",
        "thank",
        "grateful",
    ]
)


@dataclass
class MetaScores:
    """Shares of a text's sentences (of at least `min_sentence_words` words) and of their characters."""

    sentences: int
    self_description_sentences: int
    assistant_chatter_sentences: int
    self_description: float
    self_description_chars: float
    assistant_chatter: float
    assistant_chatter_chars: float


def meta_scores(text: str, min_sentence_words: int = 3) -> MetaScores:
    """How much of `text` describes itself and how much talks to the requester."""
    n = chars = 0
    self_n = self_chars = chat_n = chat_chars = 0
    for sentence in _SENTENCES.split(text):
        words = _WORD.findall(sentence.lower())
        if len(words) < min_sentence_words:
            continue
        n += 1
        chars += len(sentence)
        vocab = set(words)
        if any(not vocab.isdisjoint(gate) and p.search(sentence) for p, gate in _GATES):
            self_n += 1
            self_chars += len(sentence)
        elif not vocab.isdisjoint(_CHAT_WORDS) and _ASSISTANT.search(sentence):
            chat_n += 1
            chat_chars += len(sentence)
    if not n:
        return MetaScores(0, 0, 0, 0.0, 0.0, 0.0, 0.0)
    return MetaScores(n, self_n, chat_n, self_n / n, self_chars / chars, chat_n / n, chat_chars / chars)


class MetaTextFilter(BaseFilter):
    """Drop a generation that is about the requested text instead of being it.

    Small models asked for a chapter, a blog post or a story often write a description of one: "This
    chapter is designed to be accessible...", "The story unfolds through a series of vignettes", "The
    article concludes with...", "In this blog post, I have tried to...", an outline of what the post
    will cover. Or they answer the request like a chat assistant: "feel free to ask", "Please provide a
    summary", "I hope it meets your expectations", "Paste your own text here". Such text is fluent and
    on topic, so no other filter sees it, but it teaches nothing.

    A real text may frame itself once ("In this post we look at X") and then deliver, or close with
    one "If you have any questions, feel free to ask": so the decision is on the SHARE of the text's
    sentences (of at least `min_sentence_words` words; headings and list items count as sentences)
    that do it, and of their characters, never on a single one. A sentence counts for at most one
    reason, self-description first. Reasons:

    - `self_description`: sentences whose subject is the document ("this/the chapter, post, article,
      story, guide, essay, section, text, narrative..." with "is designed", "aims", "will", "concludes",
      "explores", "covers", "unfolds", "is built around"...), that open "In this post, I...", or in which
      the writer plans or looks back on the writing ("I will discuss", "we'll delve into", "I have
      tried to", "I used vivid language"). Dropped when at least `min_flagged_sentences` do and they are
      at least `max_self_description` of the sentences or `max_self_description_chars` of their
      characters.
    - `assistant_chatter`: sentences that address the requester or the task ("your query", "please
      provide", "feel free", "let me know", "I hope this helps", "as an AI", "your answer must contain
      exactly", "the user", "paste your own text", "here is a possible ending"). Dropped on the same
      terms with `max_assistant_chatter` / `max_assistant_chatter_chars`.

    The defaults are tuned on the labelled SmolLM2 set (tests/filters/data/smollm2): the highest share
    a kept document reaches is 0.36 of its sentences / 0.38 of its characters describing itself (one
    paragraph of post, one of "In this blog post, I have tried to..."), and 0.09 / 0.03 of chatter.

    The patterns are English. Documents whose metadata `language` is another language, or whose text
    is mostly Korean, Chinese or Japanese, are passed unjudged and counted as `skipped_language`.
    Stats: `<reason>_sentences` (flagged sentences seen, kept or dropped) beside datatrove's
    `dropped_<reason>`. Every threshold may be None to turn its rule off.
    """

    name = "🪞 Meta text"

    def __init__(
        self,
        max_self_description: float | None = 0.4,
        max_self_description_chars: float | None = 0.4,
        max_assistant_chatter: float | None = 0.15,
        max_assistant_chatter_chars: float | None = 0.15,
        min_flagged_sentences: int = 2,
        min_sentence_words: int = 3,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        for name, value in (
            ("max_self_description", max_self_description),
            ("max_self_description_chars", max_self_description_chars),
            ("max_assistant_chatter", max_assistant_chatter),
            ("max_assistant_chatter_chars", max_assistant_chatter_chars),
        ):
            if value is not None and not 0 < value <= 1:
                raise ConfigError(
                    f"{name} is a share of the text's sentences, in (0, 1] or None, not {value!r}"
                )
        for name, value in (
            ("min_flagged_sentences", min_flagged_sentences),
            ("min_sentence_words", min_sentence_words),
        ):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, not {value!r}")
        self.max_self_description = max_self_description
        self.max_self_description_chars = max_self_description_chars
        self.max_assistant_chatter = max_assistant_chatter
        self.max_assistant_chatter_chars = max_assistant_chatter_chars
        self.min_flagged_sentences = min_flagged_sentences
        self.min_sentence_words = min_sentence_words

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        text = doc.text or ""
        if not _english(text, doc.metadata.get(keys.LANGUAGE)):
            self.stat_update("skipped_language")
            return True
        scores = meta_scores(text, self.min_sentence_words)
        for reason, flagged, share, chars, max_share, max_chars in (
            (
                "self_description",
                scores.self_description_sentences,
                scores.self_description,
                scores.self_description_chars,
                self.max_self_description,
                self.max_self_description_chars,
            ),
            (
                "assistant_chatter",
                scores.assistant_chatter_sentences,
                scores.assistant_chatter,
                scores.assistant_chatter_chars,
                self.max_assistant_chatter,
                self.max_assistant_chatter_chars,
            ),
        ):
            if flagged:
                self.stat_update(f"{reason}_sentences", value=flagged)
            if flagged < self.min_flagged_sentences:
                continue
            if (max_share is not None and share >= max_share) or (
                max_chars is not None and chars >= max_chars
            ):
                return False, reason
        return True


def _english(text: str, language: object) -> bool:
    """English or unknown: metadata `language` when given, else not mostly CJK."""
    if isinstance(language, str) and language:
        return re.split(r"[-_]", language)[0].lower() in ("en", "eng")
    return not is_cjk(text)
