"""Topic enrichment: related concepts, a difficulty level and prerequisites for each topic.

Two blocks set the same three metadata keys with the same types, so templates and later
steps do not care which one ran:

- `related_concepts`: list of short strings
- `difficulty`: one of `DIFFICULTY_LEVELS`
- `prerequisites`: list of short strings

`HeuristicEnricher` reads the document's own text (readability formulas and YAKE key
phrases, no model); `TopicEnricher` asks an LLM one question per topic with the answer
forced into a JSON schema.
"""

import re
from collections.abc import Iterable

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.structured import StructuredAnnotator

# US school grade bands, and the audience of prompts/manifest.toml each reads as ("expert": beyond a
# bachelor's degree). The audiences are the released Cosmopedia's, `high_school_studnets` spelt as
# released.
DIFFICULTY_LEVELS = ("elementary", "middle_school", "high_school", "college", "expert")
DIFFICULTY_AUDIENCE = {
    "elementary": "young_children",
    "middle_school": "middle_school_students",
    "high_school": "high_school_studnets",
    "college": "college_students",
    "expert": "researchers",
}
# upper grade bound (exclusive) of each level but the last: grades 1-5, 6-8, 9-12, 13-16, 17+
GRADE_BOUNDS = (6.0, 9.0, 13.0, 17.0)
INSTALL_HINT = "pip install 'cosmo-blocks[topics]' (textstat, yake)"

_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$|\\\(.*?\\\)|\\\[.*?\\\]", re.DOTALL)
_MARKUP = re.compile(r":[a-z-]+:`[^`]*`|`+[^`\n]*`+|https?://\S+|\\[a-zA-Z]+|[#*_=|<>{}\[\]]+")
_SPACES = re.compile(r"[ \t]+")
_LETTER = re.compile(r"[^\W\d_]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_STOPWORD_INSIDE = re.compile(r"^[\w'-]+$")
_INFLECTIONS = (
    ("ies", "y"),
    ("es", ""),
    ("s", ""),
    ("ed", ""),
    ("ed", "e"),
    ("ing", ""),
    ("ing", "e"),
    ("er", ""),
)


def grade_to_level(grade: float) -> str:
    """The difficulty level of a US school grade (bands in `GRADE_BOUNDS`)."""
    for level, bound in zip(DIFFICULTY_LEVELS, GRADE_BOUNDS, strict=False):
        if grade < bound:
            return level
    return DIFFICULTY_LEVELS[-1]


def readability_grade(text: str, max_words_per_sentence: float = 30.0) -> float:
    """A US grade level: the mean of the Coleman-Liau index and the Automated Readability Index.

    Both formulas count characters, words and sentences only. The syllable-based ones
    (Flesch-Kincaid, SMOG, Gunning fog) and textstat's Dale-Chall need NLTK's cmudict, which
    textstat downloads on first use: offline that fails. Words per sentence is capped because
    option tables, code and lists without full stops read as one endless sentence.
    """
    import textstat

    words_per_sentence = min(textstat.words_per_sentence(text), max_words_per_sentence)
    if words_per_sentence <= 0:
        return 0.0
    coleman_liau = 5.8 * textstat.avg_letter_per_word(text) - 29.6 / words_per_sentence - 15.8
    ari = 4.71 * textstat.avg_character_per_word(text) + 0.5 * words_per_sentence - 21.43
    return (coleman_liau + ari) / 2


def prose(text: str) -> str:
    """Text with math, code spans, markup and URLs taken out: what readability and key phrases read."""
    text = _MATH.sub(" ", text)
    text = _MARKUP.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def normalize(phrase: str) -> tuple[str, ...]:
    """Lowercased words without plural -s: "Event loops" and "event loop" are one concept."""
    words = re.findall(r"[\w'-]+", phrase.casefold())
    return tuple(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words)


def familiar(word: str) -> bool:
    """A word of the Dale-Chall list of 3,000 words most 4th graders know, or a regular inflection of one."""
    from textstat.backend.utils._get_lang_easy_words import get_lang_easy_words

    easy = get_lang_easy_words("en")
    word = word.casefold()
    if word in easy:
        return True
    return any(
        word.endswith(suffix) and word[: -len(suffix)] + ending in easy for suffix, ending in _INFLECTIONS
    )


def explains(text: str, phrase: str) -> bool:
    """Whether the text defines `phrase`: "X is a ...", "X, a ...", "X refers to", "called X"."""
    term = re.escape(phrase).replace(r"\ ", r"\s+")
    return bool(
        re.search(
            rf"\b{term}s?\b(\s+(is|are)\s+(a|an|the|one|any|what)\b|,\s+(a|an|the)\s|"
            rf"\s+(refers?\s+to|means?|denotes?|(is|are)\s+(called|defined\s+as|known\s+as))\b)"
            rf"|\b(called|known\s+as|termed|defined\s+as|named)\s+(an?\s+|the\s+)?[\"']?{term}",
            text,
            re.IGNORECASE,
        )
    )


class HeuristicEnricher(PipelineStep):
    """Enrich each document's topic from its own text, with no model.

    - `difficulty`: the readability grade of the text (`readability_grade`: Coleman-Liau and
      ARI), mapped to `DIFFICULTY_LEVELS` by US school grade: below 6 "elementary" (grades 1-5),
      below 9 "middle_school" (6-8), below 13 "high_school" (9-12), below 17 "college" (13-16),
      else "expert". The formulas output a school grade, so the bands are the school system
      our audiences name. They measure how hard the prose is to read (word and sentence
      length), not how advanced the ideas are: a plainly written man page of a system call
      scores like a tutorial. Use `TopicEnricher` when conceptual difficulty matters.
    - `prerequisites`: up to `max_prerequisites` key phrases that the text uses without
      explaining them (no "X is a ...", "X, a ...", "X refers to", "called X" anywhere in it),
      highest-ranked first, and at most half of the key phrases found. What a text leans on without defining is what it assumes its
      reader knows; these are candidates found by that rule, not checked facts. A text that
      explains every key phrase it uses gets an empty list (counted `no_prerequisites`).
    - `related_concepts`: up to `max_related` of the remaining key phrases.

    Key phrases are YAKE's (statistical, unsupervised, English stopwords), over the text
    without math and markup; deduplicated by their words (plural -s ignored, a phrase whose
    words are all inside an earlier one dropped), never the topic itself or a part of it,
    never a phrase with a stopword inside ("system of biological"), never one that mixes
    ALL-CAPS section headings with other words ("DESCRIPTION read").

    Reads `context` when present (what the prompt will show), else the text, at most
    `max_chars` of it. A document with fewer than `min_words` words, or not in a Latin-script
    language, is kept without the fields and counted (`skipped_too_little_text`,
    `skipped_not_english`): seeds are never dropped here.

    Args:
        max_related: at most this many related concepts.
        max_prerequisites: at most this many prerequisites.
        min_words: fewer words than this is too little text to judge.
        max_chars: read at most this many characters of the text (cost stays flat on long pages).
        use_context: read `context` when the document has one.
        max_ngram: longest key phrase, in words.
    """

    name = "🧩 Topic enrichment (heuristic)"
    type = "🧭 - TOPICS"

    def __init__(
        self,
        max_related: int = 5,
        max_prerequisites: int = 3,
        min_words: int = 40,
        max_chars: int = 5000,
        use_context: bool = True,
        max_ngram: int = 3,
    ):
        super().__init__()
        if max_related < 1 or max_prerequisites < 0 or min_words < 1 or max_ngram < 1:
            raise ConfigError(
                "HeuristicEnricher needs max_related >= 1, max_prerequisites >= 0, min_words >= 1 and "
                f"max_ngram >= 1; got {max_related}, {max_prerequisites}, {min_words}, {max_ngram}"
            )
        _check_installed()
        self.max_related = max_related
        self.max_prerequisites = max_prerequisites
        self.min_words = min_words
        self.max_chars = max_chars
        self.use_context = use_context
        self.max_ngram = max_ngram
        self._extractor = None

    def source_text(self, doc: Document) -> str:
        context = doc.metadata.get(keys.CONTEXT) if self.use_context else None
        text = context if isinstance(context, str) and context.strip() else doc.text
        return prose(text[: self.max_chars])

    def skip_reason(self, doc: Document, text: str) -> str | None:
        language = doc.metadata.get(keys.LANGUAGE)
        letters = _LETTER.findall(text)
        if (isinstance(language, str) and not language.startswith("en")) or (
            letters and len(_LATIN.findall(text)) < 0.8 * len(letters)
        ):
            return "not_english"
        if len(text.split()) < self.min_words:
            return "too_little_text"
        return None

    def key_phrases(self, text: str, topic: str) -> list[str]:
        """YAKE's phrases, best first, filtered and deduplicated (see the class docstring)."""
        if self._extractor is None:
            import yake

            self._extractor = yake.KeywordExtractor(
                lan="en", n=self.max_ngram, top=4 * (self.max_related + self.max_prerequisites)
            )
        stopwords = self._extractor.stopword_set
        topic_words = set(normalize(topic))
        text_words = set(re.findall(r"[\w'-]+", text))
        chosen, seen = [], []
        for phrase, _score in self._extractor.extract_keywords(text):
            words = normalize(phrase)
            raw = phrase.split()
            if not words or self._is_topic(set(words), topic_words):
                continue
            if any(w.casefold() in stopwords for w in raw) or not all(_STOPWORD_INSIDE.match(w) for w in raw):
                continue
            if self._is_noise(raw, text_words):
                continue
            if any(set(words) <= set(other) or set(other) <= set(words) for other in seen):
                continue
            seen.append(words)
            chosen.append(phrase)
        return chosen

    @staticmethod
    def _is_topic(words: set[str], topic_words: set[str]) -> bool:
        """The topic, a part of it, or the topic plus a word ("water cycle describes"). A topic that
        is a whole sentence (a seed's first sentence) only matches itself."""
        if not topic_words or len(topic_words) > 6:
            return words == topic_words
        return words <= topic_words or topic_words <= words

    def _is_noise(self, words: list[str], text_words: set[str]) -> bool:
        """A heading, a placeholder, or one everyday word rather than a concept."""
        caps = [w.isupper() and len(w) > 1 for w in words]
        if any(caps) and not all(caps):  # "DESCRIPTION read": a heading glued to prose
            return True
        for word, is_caps in zip(words, caps, strict=True):
            # SYNOPSIS, FILE: a man page heading or placeholder; short ones are acronyms (ATP, HTML)
            if is_caps and (len(word) >= 7 or word.lower() in text_words):
                return True
        return len(words) == 1 and (familiar(words[0]) or words[0].lower().endswith("ly"))

    def enrich(self, text: str, topic: str) -> dict:
        """The three fields for one text (text already through `prose`)."""
        phrases = self.key_phrases(text, topic)
        # with few key phrases, at most half go to prerequisites, so related concepts are never starved
        room = min(self.max_prerequisites, len(phrases) // 2)
        prerequisites = [p for p in phrases if not explains(text, p)][:room]
        related = [p for p in phrases if p not in prerequisites][: self.max_related]
        return {
            keys.RELATED_CONCEPTS: related,
            keys.DIFFICULTY: grade_to_level(readability_grade(text)),
            keys.PREREQUISITES: prerequisites,
        }

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                text = self.source_text(doc)
                reason = self.skip_reason(doc, text)
                if reason:
                    self.stat_update(f"skipped_{reason}")
                else:
                    topic = doc.metadata.get(keys.TOPIC) or doc.metadata.get(keys.TITLE) or ""
                    fields = self.enrich(text, str(topic))
                    doc.metadata.update(fields)
                    self.stat_update("enriched", f"difficulty_{fields[keys.DIFFICULTY]}")
                    if not fields[keys.PREREQUISITES]:
                        self.stat_update("no_prerequisites")
                    if not fields[keys.RELATED_CONCEPTS]:
                        self.stat_update("no_related_concepts")
            yield doc


def _check_installed() -> None:
    """Fail at construction, before any pipeline runs, when the optional packages are missing."""
    missing = []
    for module in ("textstat", "yake"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ConfigError(f"HeuristicEnricher needs {', '.join(missing)}: {INSTALL_HINT}")


def enrichment_schema(levels: tuple[str, ...] = DIFFICULTY_LEVELS) -> dict:
    """The JSON schema of an LLM's answer: 3-6 related concepts, a level, 1-5 prerequisites."""
    # a short name (2-40 characters: a concept, not a sentence; it also bounds the answer in tokens)
    # that starts with neither a space nor a list bullet: SmolLM2 otherwise answers "..., " or "* x".
    # One pattern, as xgrammar ignores minLength/maxLength beside a pattern; it matches whole strings.
    phrase = {"type": "string", "pattern": r"^[^\s.,;:*#-].{1,39}$"}
    return {
        "type": "object",
        "properties": {
            keys.RELATED_CONCEPTS: {"type": "array", "items": phrase, "minItems": 3, "maxItems": 6},
            keys.DIFFICULTY: {"type": "string", "enum": list(levels)},
            keys.PREREQUISITES: {"type": "array", "items": phrase, "minItems": 1, "maxItems": 5},
        },
        "required": list(keys.ENRICHMENT_FIELDS),
        "additionalProperties": False,
    }


class TopicEnricher(StructuredAnnotator):
    """Enrich each document's topic by asking an LLM one question, its answer forced into
    `enrichment_schema()` by vLLM's structured outputs.

    The question names the topic (`topic`, else `subtopic`, else `title`, else the first
    heading or sentence of the text), its `category` and `subcategory` when present, and
    a short extract of `context` (else the text) of at most `context_chars` characters (0: none).
    The answer sets `related_concepts` and `prerequisites` (lists of strings, stripped, without
    duplicates or the topic itself) and `difficulty` (one of `DIFFICULTY_LEVELS`): the same keys
    and types as `HeuristicEnricher`. Unparsed answers follow StructuredAnnotator (counted, dropped,
    or kept without the fields with keep_unanswered=True).

    Args:
        generator: the generation block that answers (give it a journal folder of its own).
        context_chars: longest extract shown with the topic.
        structured: False asks without the constraint (to measure what the constraint buys).
        keep_unanswered: keep a document whose answer does not parse, without the fields.
    """

    name = "🧩 Topic enrichment (LLM)"
    type = "🧭 - TOPICS"
    schema = enrichment_schema()

    def __init__(
        self,
        generator,
        context_chars: int = 300,
        structured: bool = True,
        keep_unanswered: bool = False,
    ):
        super().__init__(generator, structured=structured, keep_unanswered=keep_unanswered)
        if context_chars < 0:
            raise ConfigError(f"context_chars must be >= 0, got {context_chars}")
        self.context_chars = context_chars

    @staticmethod
    def topic_of(doc: Document) -> str:
        from cosmo_blocks.seeds.topics import guess_topic

        meta = doc.metadata
        for key in (keys.TOPIC, keys.SUBTOPIC, keys.TITLE):
            if isinstance(meta.get(key), str) and meta[key].strip():
                return meta[key].strip()
        return guess_topic(doc.text)

    def prompt(self, doc: Document) -> str:
        from cosmo_blocks.seeds.topics import clean_text, cut_at_sentence

        meta = doc.metadata
        lines = [f"Topic: {self.topic_of(doc)}"]
        for key, label in ((keys.CATEGORY, "Category"), (keys.SUBCATEGORY, "Subcategory")):
            if isinstance(meta.get(key), str) and meta[key].strip():
                lines.append(f"{label}: {meta[key].strip()}")
        context = meta.get(keys.CONTEXT) if isinstance(meta.get(keys.CONTEXT), str) else doc.text
        extract = cut_at_sentence(clean_text(context or ""), self.context_chars) if self.context_chars else ""
        if extract:
            lines.append(f'Extract: "{extract}"')
        levels = ", ".join(DIFFICULTY_LEVELS)
        return (
            "\n".join(lines)
            + "\n\nFor a lesson on this topic, give 3 to 6 related concepts, its difficulty level "
            f"(one of: {levels}) and 1 to 5 prerequisites: other topics a learner should know first. Answer in JSON "
            'like {"related_concepts": ["...", "...", "..."], "difficulty": "...", '
            '"prerequisites": ["..."]}.'
        )

    def apply(self, doc: Document, answer: dict) -> Iterable[Document]:
        topic = normalize(self.topic_of(doc))
        for key in (keys.RELATED_CONCEPTS, keys.PREREQUISITES):
            answer[key] = _distinct(answer[key], exclude=topic)
            if not answer[key]:
                self.stat_update(f"empty_{key}")
        doc.metadata.update({key: answer[key] for key in keys.ENRICHMENT_FIELDS})
        self.stat_update("enriched", f"difficulty_{answer[keys.DIFFICULTY]}")
        yield doc


def _distinct(phrases: list[str], exclude: tuple[str, ...]) -> list[str]:
    """Stripped phrases, the first of each spelling (case and plural -s aside), without the excluded one."""
    seen, kept = {exclude}, []
    for phrase in phrases:
        phrase = " ".join(phrase.split()).strip(" .,;:*#-\"'`")  # list bullets and quotes a model adds
        words = normalize(phrase)
        if words and words not in seen:
            seen.add(words)
            kept.append(phrase)
    return kept
