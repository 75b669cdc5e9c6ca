"""CourseUnits: a course tree in, one seed per unit out, each knowing what the course covered before it.

Cosmopedia's OpenStax and Khan Academy prompts ask for one unit of a course at a time, naming the
course, the chapter (and section), the earlier chapters, and a few of the units already covered
(OpenStax picked 2 to 5 of the earlier ones at random when there were more than 5), so that units
written independently still read as parts of one textbook. A course seed is one record:

    {"id": "openstax-biology", "text": "<course description>", "title": "Biology 2e",
     "chapters": [{"title": "The Chemistry of Life", "units": ["Atoms", {"title": "Water", "text": "..."}]},
                  {"title": "Cell Structure", "sections": [{"title": "Studying Cells", "units": [...]}]}]}

A chapter has `units`, or `sections` that each have a `title` and `units`; a unit is a title, or a
dict with a `title` and an optional reference `text`. CourseOutliner (cosmo_blocks/topics/outlines.py)
writes course seeds in this shape from an LLM's outline.
"""

import copy

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.prompts.builder import unit_hash
from cosmo_blocks.seeds.topics import clean_text

# the course seed's tree
CHAPTERS = "chapters"
SECTIONS = "sections"
UNITS = "units"
# what each unit seed carries
COURSE = "course"
CHAPTER = "chapter"
CHAPTER_NUMBER = "chapter_number"
SECTION = "section"
UNIT = "unit"
COVERED_CHAPTERS = "covered_chapters"
COVERED_UNITS = "covered_units"


def cut_at_word(text: str, max_chars: int) -> str:
    """At most `max_chars`, ending at the last word boundary that keeps at least half of them."""
    if len(text) <= max_chars:
        return text
    head = text[: max_chars + 1]  # the character after the cut says whether it falls between words
    space = max(head.rfind(" "), head.rfind("\n"))
    head = head[:space] if space >= max_chars // 2 else head[:max_chars]
    return head.rstrip()


def _title(value) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


class CourseUnits(PipelineStep):
    """One seed per unit of each course seed (a `chapters` tree, see the module docstring).

    Each unit seed's id (and SEED_ID) is `<course seed id>/<chapter>.<section>.<unit>`, 1-based
    positions in the course's lists (section 0 for a chapter without sections), so a rerun, a journal
    and a changed neighbour keep every other unit's id. Its text is the unit's reference text, or its
    title. Its metadata is the course seed's, without `chapters`, plus:

    - COURSE ("course"): the course's `course` field, else its `title`;
    - CHAPTER ("chapter"), CHAPTER_NUMBER ("chapter_number", an int), SECTION ("section", only for a
      chapter with sections), UNIT ("unit"): the titles (and the chapter's position);
    - COVERED_CHAPTERS ("covered_chapters"): "N. Title" for every earlier chapter;
    - COVERED_UNITS ("covered_units"): the titles of the earlier units of the same section (of the
      chapter, without sections); when there are more than `max_covered`, a pick of 2 to
      `max_covered` of them, in course order, drawn from a hash of `salt` and the unit's id (the
      same pick on every rerun; change `salt` for another);
    - keys.CONTEXT: the reference text, whitespace cleaned and cut to `context_chars` at a word
      boundary, or "" (templates guard it with `{% if context %}`);
    - keys.TOPIC: the unit's title.

    Counts: courses, units, units_with_reference; counted skips: skipped_no_chapters (no non-empty
    `chapters` list), skipped_untitled_course, skipped_untitled_chapter, skipped_untitled_section,
    skipped_no_units (a chapter or section without a non-empty `units` list), skipped_untitled_unit.
    A skipped chapter, section or unit keeps its number, so the others' ids do not move.

    Args:
        context_chars: reference extract length (OpenStax's prompts used 600 characters).
        max_covered: at most this many covered units (Cosmopedia: 5); at least 2.
        salt: change it to draw a different but still deterministic pick of covered units.
    """

    name = "📚 Course units"
    type = "🌱 - SEEDS"

    def __init__(self, context_chars: int = 600, max_covered: int = 5, salt: str = "cosmo"):
        super().__init__()
        if not isinstance(context_chars, int) or context_chars < 0:
            raise ConfigError(f"CourseUnits: context_chars must be an int >= 0, got {context_chars!r}")
        if not isinstance(max_covered, int) or max_covered < 2:
            raise ConfigError(
                f"CourseUnits: max_covered must be an int >= 2 (covered units are picked 2 at a time "
                f"at least), got {max_covered!r}"
            )
        self.context_chars = context_chars
        self.max_covered = max_covered
        self.salt = salt
        self._warned: set[str] = set()

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for course in data:
            yield from self.units(course)

    def units(self, course: Document) -> DocumentsPipeline:
        """The unit seeds of one course seed."""
        meta = course.metadata
        course_id = str(meta.get(keys.SEED_ID) or course.id)
        chapters = meta.get(CHAPTERS)
        if not isinstance(chapters, list) or not chapters:
            self._skip("no_chapters", course_id, f"no non-empty '{CHAPTERS}' list")
            return
        title = _title(meta.get(COURSE)) or _title(meta.get(keys.TITLE))
        if not title:
            self._skip("untitled_course", course_id, f"neither '{COURSE}' nor '{keys.TITLE}'")
            return
        self.stat_update("courses")
        base = {k: v for k, v in meta.items() if k != CHAPTERS}
        base[COURSE] = title
        covered_chapters = []
        for number, chapter, chapter_title, where in self._titled(chapters, "chapter", course_id):
            context = base | {
                CHAPTER: chapter_title,
                CHAPTER_NUMBER: number,
                COVERED_CHAPTERS: list(covered_chapters),
            }
            yield from self._chapter(chapter, context, f"{course_id}/{number}", where)
            covered_chapters.append(f"{number}. {chapter_title}")

    def _chapter(self, chapter: dict, context: dict, prefix: str, where: str) -> DocumentsPipeline:
        sections = chapter.get(SECTIONS)
        if not (isinstance(sections, list) and sections):
            yield from self._units(chapter.get(UNITS), context, f"{prefix}.0", where)
            return
        for number, section, section_title, section_where in self._titled(sections, "section", where):
            section_context = context | {SECTION: section_title}
            yield from self._units(section.get(UNITS), section_context, f"{prefix}.{number}", section_where)

    def _titled(self, parts: list, kind: str, where: str):
        """(number, part, title, where) of each titled chapter or section; an untitled one is a counted
        skip that keeps its number."""
        for number, part in enumerate(parts, start=1):
            part_where = f"{where} {kind} {number}"
            title = _title(part.get("title")) if isinstance(part, dict) else ""
            if title:
                yield number, part, title, part_where
            else:
                self._skip(f"untitled_{kind}", part_where, f"a {kind} without a title")

    def _units(self, units, context: dict, prefix: str, where: str) -> DocumentsPipeline:
        if not (isinstance(units, list) and units):
            self._skip("no_units", where, f"no non-empty '{UNITS}' list (nor '{SECTIONS}')")
            return
        covered: list[str] = []
        for number, unit in enumerate(units, start=1):
            unit_id = f"{prefix}.{number}"
            title = _title(unit.get("title") if isinstance(unit, dict) else unit)
            if not title:
                self._skip("untitled_unit", f"unit {unit_id}", "a unit without a title")
                continue
            reference = unit.get("text") if isinstance(unit, dict) else None
            reference = clean_text(reference) if isinstance(reference, str) else ""
            meta = copy.deepcopy(context) | {
                keys.SEED_ID: unit_id,
                UNIT: title,
                keys.TOPIC: title,
                COVERED_UNITS: self.pick_covered(covered, unit_id),
                keys.CONTEXT: cut_at_word(reference, self.context_chars),
            }
            self.stat_update("units")
            if reference:
                self.stat_update("units_with_reference")
            yield Document(text=reference or title, id=unit_id, metadata=meta)
            covered.append(title)

    def pick_covered(self, earlier: list[str], unit_id: str) -> list[str]:
        """All earlier units, or 2..max_covered of them in course order when there are more."""
        if len(earlier) <= self.max_covered:
            return list(earlier)
        how_many = 2 + int(unit_hash(self.salt, "covered", unit_id) * (self.max_covered - 1))
        order = sorted(range(len(earlier)), key=lambda i: unit_hash(self.salt, "covered", unit_id, i))
        return [earlier[i] for i in sorted(order[:how_many])]

    def _skip(self, reason: str, where: str, why: str) -> None:
        self.stat_update(f"skipped_{reason}")
        if reason not in self._warned:  # once per reason: a bad export repeats the same fault
            self._warned.add(reason)
            logger.warning(f"CourseUnits: skipped {where}: {why} (counted as skipped_{reason}; warned once)")
