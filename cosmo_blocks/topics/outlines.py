"""CourseOutliner: an LLM's course outline for a course title and description, as a course seed.

Cosmopedia's Stanford subset had no course trees, only course titles and descriptions: it first
asked the LLM for each course's outline, then for each unit of that outline. This block is the
first step; its output records are course seeds that CourseUnits (cosmo_blocks/seeds/courses.py)
turns into one seed per unit.
"""

import re
from collections.abc import Iterable

from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.structured import StructuredAnnotator
from cosmo_blocks.seeds.courses import CHAPTERS, COURSE, UNITS

# course logistics, not course content: a textbook unit on them is useless
LOGISTICS = re.compile(
    r"\b(exams?|assignments?|homework|prerequisites?|grading|syllabus|office hours)\b", re.IGNORECASE
)


def outline_text(chapters: list[dict]) -> str:
    """The outline as plain text: "1. Chapter\\n- unit\\n- unit\\n\\n2. Chapter\\n...", as
    Cosmopedia's outlines read."""
    return "\n\n".join(
        "\n".join([f"{number}. {chapter['title']}", *(f"- {unit}" for unit in chapter[UNITS])])
        for number, chapter in enumerate(chapters, start=1)
    )


def _clean(title: str) -> str:
    return " ".join(title.split())


class CourseOutliner(StructuredAnnotator):
    """Ask the LLM for a course's outline, chapters of units, and keep it as a course seed.

    The question is the document's `prompt` metadata, so a recipe's outline template says how to ask
    (run PromptBuilder before this step). The answer is JSON, `{"chapters": [{"title": ..., "units":
    [...]}]}`, between `min_chapters` and `max_chapters` chapters of `min_units` to `max_units` units,
    each title at most `max_chars` characters.

    The kept document gets metadata CHAPTERS ("chapters", `[{"title", "units"}]`, titles with their
    whitespace collapsed) and COURSE ("course", the document's title, else its topic); its text
    becomes the outline as plain text, readable in the written jsonl. Units about course logistics
    (exams, assignments, homework, prerequisites, grading, syllabus, office hours; whole words, any
    case) are dropped: Cosmopedia asked the LLM not to write them, then ran a second LLM pass to find
    and remove those it wrote anyway; a word list does that pass without a second generation. A
    chapter whose own title is logistics goes with its units.

    Counts: outlines, outline_units (units kept); dropped_logistics_unit, dropped_logistics_chapter,
    dropped_empty_unit (blank title), dropped_empty_chapter (blank title, or no unit left), and
    dropped_empty_outline (no chapter left: the document is dropped). An answer that does not parse
    is counted and dropped as StructuredAnnotator does (`keep_unanswered=True` keeps it, without
    chapters: CourseUnits then skips it as skipped_no_chapters).

    Args:
        generator: the generation block that answers (see StructuredAnnotator).
        min_chapters, max_chapters: chapters per outline (the schema's bounds).
        min_units, max_units: units per chapter.
        max_chars: longest chapter or unit title.
    """

    name = "🗺️ Course outline"

    def __init__(
        self,
        generator,
        min_chapters: int = 3,
        max_chapters: int = 8,
        min_units: int = 2,
        max_units: int = 6,
        max_chars: int = 80,
        **kwargs,
    ):
        _check_range("chapters", min_chapters, max_chapters)
        _check_range("units", min_units, max_units)
        _check_range("title characters", 1, max_chars)
        bounds = (min_chapters, max_chapters, min_units, max_units)
        super().__init__(generator, schema=outline_schema(*bounds, max_chars), **kwargs)
        # the constraint stops a title at max_chars; decoded, a title the model ended mid-character
        # can come out a little longer: it is cut (in apply) rather than the whole outline dropped
        self.validation_schema = outline_schema(*bounds, None)
        self.max_chars = max_chars

    def prompt(self, doc: Document) -> str:
        prompt = doc.metadata.get(keys.PROMPT)
        if not isinstance(prompt, str) or not prompt.strip():
            raise ConfigError(
                f"CourseOutliner: document {doc.id} has no '{keys.PROMPT}' metadata: put a PromptBuilder "
                f"with the recipe's outline template before CourseOutliner"
            )
        return prompt

    def apply(self, doc: Document, answer: dict) -> Iterable[Document]:
        chapters = [kept for chapter in answer[CHAPTERS] if (kept := self._chapter(chapter))]
        if not chapters:
            self.stat_update("dropped_empty_outline")
            return
        meta = doc.metadata
        meta[CHAPTERS] = chapters
        course = _clean(str(meta.get(keys.TITLE) or meta.get(keys.TOPIC) or ""))
        if course:
            meta[COURSE] = course
        doc.text = outline_text(chapters)
        self.stat_update("outlines")
        self.stat_update("outline_units", value=sum(len(c[UNITS]) for c in chapters))
        yield doc

    def _chapter(self, chapter: dict) -> dict | None:
        """The chapter with clean titles and without logistics, or None when nothing is left."""
        title = _clean(chapter["title"])[: self.max_chars]
        if LOGISTICS.search(title):
            self.stat_update("dropped_logistics_chapter")
            return None
        units = []
        for unit in (_clean(u)[: self.max_chars] for u in chapter[UNITS]):
            if not unit:
                self.stat_update("dropped_empty_unit")
            elif LOGISTICS.search(unit):
                self.stat_update("dropped_logistics_unit")
            else:
                units.append(unit)
        if not title or not units:
            self.stat_update("dropped_empty_chapter")
            return None
        return {"title": title, UNITS: units}


def outline_schema(min_chapters, max_chapters, min_units, max_units, max_chars: int | None) -> dict:
    """{"chapters": [{"title": str, "units": [str, ...]}, ...]} within these bounds."""
    title = {"type": "string", "minLength": 1} | ({"maxLength": max_chars} if max_chars else {})
    chapter = {
        "type": "object",
        "properties": {
            "title": title,
            UNITS: {"type": "array", "items": title, "minItems": min_units, "maxItems": max_units},
        },
        "required": ["title", UNITS],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {
            CHAPTERS: {"type": "array", "items": chapter, "minItems": min_chapters, "maxItems": max_chapters}
        },
        "required": [CHAPTERS],
        "additionalProperties": False,
    }


def _check_range(what: str, low, high) -> None:
    if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high):
        raise ConfigError(f"CourseOutliner: {what} must be ints with 1 <= min <= max, got {low!r}..{high!r}")
