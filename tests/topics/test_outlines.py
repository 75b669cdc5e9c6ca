"""CourseOutliner's parsing and cleaning on hand-written answers (no engine starts: VLLMGenerator creates
it lazily in run), and its course seeds read back by SeedReader and cut into units by CourseUnits."""

import orjson
import pytest
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation import VLLMGenerator
from cosmo_blocks.seeds import SeedReader
from cosmo_blocks.seeds.courses import CHAPTERS, COURSE, COVERED_CHAPTERS, UNIT, CourseUnits
from cosmo_blocks.topics.outlines import CourseOutliner
from tests.conftest import read_jsonl, stats_of

GPS = {
    CHAPTERS: [
        {"title": "Course overview", "units": ["Syllabus and grading", "What GPS is for"]},
        {"title": " How  GPS works ", "units": ["Trilateration", "Atomic clocks", "Homework 1"]},
        {"title": "Error sources", "units": ["Ionospheric delay", "Multipath", "  "]},
        {"title": "Midterm exam", "units": ["Review session", "Practice problems"]},
        {"title": "Logistics", "units": ["Office hours", "Prerequisites"]},
        {"title": "Applications", "units": ["Surveying", "Aviation", "Examples from agriculture"]},
    ]
}


def outliner(**kwargs) -> CourseOutliner:
    return CourseOutliner(VLLMGenerator(model="tiny"), **kwargs)


def course_doc(title: str = "Global Positioning Systems", seed_id: str = "stanford-0007") -> Document:
    """A course as PromptBuilder leaves it: its prompt built, its id the seed's and the variant's."""
    return Document(
        text="",
        id=f"{seed_id}/0",
        metadata={
            keys.SEED_ID: seed_id,
            keys.TITLE: title,
            keys.PROMPT: f'Write a course outline for a textbook on "{title}".',
            keys.FORMAT: "course_outline",
        },
    )


def test_an_outline_keeps_course_content_and_drops_logistics():
    step = outliner()
    (doc,) = step.apply(course_doc(), orjson.loads(orjson.dumps(GPS)))

    assert doc.metadata[CHAPTERS] == [
        {"title": "Course overview", "units": ["What GPS is for"]},
        {"title": "How GPS works", "units": ["Trilateration", "Atomic clocks"]},
        {"title": "Error sources", "units": ["Ionospheric delay", "Multipath"]},
        {"title": "Applications", "units": ["Surveying", "Aviation", "Examples from agriculture"]},
    ]
    assert doc.metadata[COURSE] == "Global Positioning Systems"
    assert doc.text == (
        "1. Course overview\n- What GPS is for\n\n"
        "2. How GPS works\n- Trilateration\n- Atomic clocks\n\n"
        "3. Error sources\n- Ionospheric delay\n- Multipath\n\n"
        "4. Applications\n- Surveying\n- Aviation\n- Examples from agriculture"
    )
    assert stats_of(step) == {
        "dropped_logistics_unit": 4,  # syllabus/grading, homework, office hours, prerequisites
        "dropped_empty_unit": 1,
        "dropped_logistics_chapter": 1,  # "Midterm exam", with its units
        "dropped_empty_chapter": 1,  # "Logistics": no unit left
        "outlines": 1,
        "outline_units": 8,
    }


def test_an_outline_left_empty_is_a_counted_drop():
    step = outliner()
    answer = {
        CHAPTERS: [{"title": "Exams", "units": ["Final", "Retake"]}, {"title": "X", "units": ["Homework"]}]
    }
    assert list(step.apply(course_doc(), answer)) == []
    assert stats_of(step)["dropped_empty_outline"] == 1


def test_answers_that_break_the_schema_do_not_parse():
    step = outliner(min_chapters=2, max_chapters=3, min_units=1, max_units=2, max_chars=20)
    chapter = {"title": "Basics", "units": ["One"]}
    good = {CHAPTERS: [chapter, chapter]}
    assert step.parse(orjson.dumps(good).decode()) == (good, "")
    assert step.parse('{"chapters": [{"title": "Basics", "units": ["One"]}') == (None, "invalid_json")
    # a title longer than the constraint allowed (a character cut in two decodes longer) is cut
    long = {CHAPTERS: [chapter, {"title": "x" * 23, "units": ["One"]}]}
    assert step.parse(orjson.dumps(long).decode()) == (long, "")
    assert next(step.apply(course_doc(), long)).metadata[CHAPTERS][1]["title"] == "x" * 20
    # a raw control character in a string: not strict JSON, but a grammar-constrained answer can hold one
    raw = '{"chapters": [{"title": "Ba\x17sics", "units": ["One"]}, {"title": "B", "units": ["Two"]}]}'
    assert step.parse(raw)[0][CHAPTERS][0]["title"] == "Ba\x17sics"
    for bad in (
        {CHAPTERS: [chapter]},  # too few chapters
        {CHAPTERS: [chapter] * 4},  # too many
        {CHAPTERS: [chapter, {"title": "Basics", "units": ["a", "b", "c"]}]},  # too many units
        {CHAPTERS: [chapter, {"title": "Basics", "units": []}]},  # too few
        {CHAPTERS: [chapter, {"title": "", "units": ["One"]}]},  # empty title
        {CHAPTERS: [chapter, {"title": "Basics", "units": ["One"], "summary": "?"}]},  # unknown field
        {CHAPTERS: [chapter, chapter], "notes": "?"},
        {"outline": [chapter, chapter]},
    ):
        assert step.parse(orjson.dumps(bad).decode()) == (None, "schema"), bad


def test_the_question_is_the_prompt_builders():
    step = outliner()
    assert step.prompt(course_doc("Optics")) == 'Write a course outline for a textbook on "Optics".'
    with pytest.raises(ConfigError, match="PromptBuilder"):
        step.prompt(Document(text="A course on optics.", id="raw-seed", metadata={keys.TITLE: "Optics"}))


@pytest.mark.parametrize(
    "kwargs",
    [{"min_chapters": 0}, {"min_chapters": 5, "max_chapters": 4}, {"max_units": 1}, {"max_chars": 0}],
)
def test_bad_bounds_fail_fast(kwargs):
    with pytest.raises(ConfigError, match="CourseOutliner"):
        outliner(**kwargs)


def test_written_outlines_are_course_seeds_for_course_units(tmp_path):
    """Stage 1's output, written by datatrove's JsonlWriter, read by SeedReader in stage 2 (run by
    LocalPipelineExecutor) and cut into one seed per unit."""
    step = outliner()
    outlines = [*step.apply(course_doc(), GPS), *step.apply(course_doc("Optics", "stanford-0012"), GPS)]
    with JsonlWriter(str(tmp_path / "outlines"), compression=None) as writer:
        for doc in outlines:
            writer.write(doc)

    LocalPipelineExecutor(
        [
            SeedReader(str(tmp_path / "outlines")),
            CourseUnits(),
            JsonlWriter(str(tmp_path / "units"), compression=None),
        ],
        tasks=1,
        logging_dir=str(tmp_path / "logs"),
    ).run()

    units = read_jsonl(next((tmp_path / "units").glob("*.jsonl")))
    assert len(units) == 2 * 8
    first, last = units[0], units[7]
    assert first["id"] == "stanford-0007/0/1.0.1" and first["text"] == "What GPS is for"
    assert last["id"] == "stanford-0007/0/4.0.3" and last["metadata"][UNIT] == "Examples from agriculture"
    assert last["metadata"][COURSE] == "Global Positioning Systems"
    assert last["metadata"][COVERED_CHAPTERS] == [
        "1. Course overview",
        "2. How GPS works",
        "3. Error sources",
    ]
    assert units[8]["metadata"][COURSE] == "Optics"
    assert all(CHAPTERS not in u["metadata"] for u in units)
