"""CourseUnits on course trees read from real seed files: one seed per unit, what was covered before it."""

import pytest

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.seeds import SeedReader
from cosmo_blocks.seeds.courses import (
    CHAPTER,
    CHAPTER_NUMBER,
    CHAPTERS,
    COURSE,
    COVERED_CHAPTERS,
    COVERED_UNITS,
    SECTION,
    UNIT,
    CourseUnits,
)
from tests.conftest import run_steps, stats_of, write_jsonl

WATER = (
    "Water is a polar molecule: its oxygen atom pulls the shared electrons closer than its two hydrogen "
    "atoms do, so the oxygen end carries a partial negative charge and the hydrogen ends partial positive "
    "ones. Neighbouring molecules attract each other through hydrogen bonds, which is why water has a "
    "high specific heat, a high heat of vaporization, and why ice floats on liquid water."
)
BIOLOGY = {
    "id": "openstax-biology",
    "text": "An introductory biology course for science majors.",
    "title": "Biology 2e",
    "source": "generic",
    "subject": "science",
    CHAPTERS: [
        {
            "title": "The Chemistry of Life",
            "units": ["Atoms, Isotopes, Ions", {"title": "Water", "text": WATER}],
        },
        {
            "title": "Cell Structure",
            "sections": [
                {"title": "Studying Cells", "units": ["Microscopy", {"title": "Cell Theory"}]},
                {"title": "Prokaryotic Cells", "units": ["Shapes of Prokaryotes"]},
            ],
        },
    ],
}


def units_of(tmp_path, *courses, **kwargs):
    path = write_jsonl(tmp_path / "courses.jsonl", list(courses))
    step = CourseUnits(**kwargs)
    return run_steps([SeedReader(str(path)), step]), stats_of(step)


def test_one_seed_per_unit_knowing_its_place_in_the_course(tmp_path):
    docs, stats = units_of(tmp_path, BIOLOGY)

    assert [d.id for d in docs] == [
        "openstax-biology/1.0.1",
        "openstax-biology/1.0.2",
        "openstax-biology/2.1.1",
        "openstax-biology/2.1.2",
        "openstax-biology/2.2.1",
    ]
    atoms, water, microscopy, theory, shapes = (d.metadata for d in docs)
    assert all(d.metadata[keys.SEED_ID] == d.id for d in docs)
    assert all(CHAPTERS not in m for m in (atoms, water, microscopy, theory, shapes))
    # the course seed's own metadata travels with every unit
    assert all(m["subject"] == "science" and m[keys.TITLE] == "Biology 2e" for m in (atoms, shapes))
    assert atoms[COURSE] == shapes[COURSE] == "Biology 2e"
    assert (atoms[CHAPTER], atoms[CHAPTER_NUMBER], atoms[UNIT]) == (
        "The Chemistry of Life",
        1,
        "Atoms, Isotopes, Ions",
    )
    assert SECTION not in atoms and shapes[SECTION] == "Prokaryotic Cells"
    assert atoms[COVERED_CHAPTERS] == [] and atoms[COVERED_UNITS] == []
    assert water[COVERED_UNITS] == ["Atoms, Isotopes, Ions"]
    assert microscopy[COVERED_CHAPTERS] == ["1. The Chemistry of Life"]
    assert theory[COVERED_UNITS] == ["Microscopy"]
    assert shapes[COVERED_UNITS] == []  # covered units are the section's own
    # a unit without a reference is its title, with an empty context the template can test
    assert docs[0].text == "Atoms, Isotopes, Ions" and atoms[keys.CONTEXT] == ""
    assert docs[3].text == "Cell Theory" and theory[keys.CONTEXT] == ""
    assert docs[1].text == WATER and water[keys.CONTEXT] == WATER
    assert atoms[keys.TOPIC] == "Atoms, Isotopes, Ions"
    assert stats == {"courses": 1, "units": 5, "units_with_reference": 1}


def test_a_long_reference_is_cut_at_a_word_boundary(tmp_path):
    docs, _ = units_of(tmp_path, BIOLOGY, context_chars=100)
    water = docs[1]
    context = water.metadata[keys.CONTEXT]
    assert water.text == WATER  # the document keeps the whole reference
    assert 50 <= len(context) <= 100
    assert WATER.startswith(context) and WATER[len(context)] == " "


def test_more_than_max_covered_earlier_units_are_a_stable_pick_of_two_to_max(tmp_path):
    titles = [f"Lesson {i}" for i in range(1, 25)]
    course = {
        "id": "khan-algebra",
        "text": "Algebra 1",
        "course": "Algebra 1",
        CHAPTERS: [{"title": "Linear equations", "units": titles}],
    }
    docs, _ = units_of(tmp_path, course)
    again, _ = units_of(tmp_path, course)
    salted, _ = units_of(tmp_path, course, salt="other")
    covered = [d.metadata[COVERED_UNITS] for d in docs]

    assert covered[:6] == [titles[:i] for i in range(6)]  # up to max_covered: all of them
    sizes = set()
    for i, picked in enumerate(covered[6:], start=6):
        assert 2 <= len(picked) <= 5
        assert len(set(picked)) == len(picked) and set(picked) <= set(titles[:i])
        assert picked == sorted(picked, key=titles.index)  # course order
        sizes.add(len(picked))
    assert len(sizes) > 1  # the number picked varies, as Cosmopedia's 2 to 5 did
    assert covered == [d.metadata[COVERED_UNITS] for d in again]
    assert covered != [d.metadata[COVERED_UNITS] for d in salted]
    assert docs[0].metadata[COURSE] == "Algebra 1"  # `course` wins over `title`


def test_bad_courses_chapters_and_units_are_counted_skips(tmp_path, log_lines):
    broken = {
        "id": "broken",
        "text": "A course with some broken parts.",
        "title": "Broken",
        CHAPTERS: [
            {"units": ["Orphan unit"]},  # no title
            {"title": "Kept", "units": ["First", "", {"text": "no title"}, {"title": "Fourth"}]},
            {"title": "Nothing inside"},
            {
                "title": "Sections",
                "sections": [
                    {"units": ["x"]},
                    {"title": "Named", "units": ["Only"]},
                    {"title": "Empty", "units": []},
                ],
            },
        ],
    }
    docs, stats = units_of(
        tmp_path,
        {"id": "no-chapters", "text": "A description only.", "title": "T"},
        {"id": "not-a-list", "text": "Chapters as text.", "title": "T", CHAPTERS: "1. Intro"},
        {"id": "empty", "text": "No chapters at all.", "title": "T", CHAPTERS: []},
        {"id": "untitled", "text": "No title.", CHAPTERS: [{"title": "C", "units": ["U"]}]},
        broken,
    )

    # a skipped part keeps its number: the other units' ids do not move
    assert [d.id for d in docs] == ["broken/2.0.1", "broken/2.0.4", "broken/4.2.1"]
    assert docs[1].metadata[COVERED_UNITS] == ["First"]
    assert docs[2].metadata[COVERED_CHAPTERS] == ["2. Kept", "3. Nothing inside"]
    assert stats == {
        "skipped_no_chapters": 3,
        "skipped_untitled_course": 1,
        "courses": 1,
        "skipped_untitled_chapter": 1,
        "skipped_untitled_unit": 2,
        "skipped_no_units": 2,
        "skipped_untitled_section": 1,
        "units": 3,
    }
    warnings = [line for line in log_lines if "CourseUnits: skipped" in line]
    assert len(warnings) == 6  # once per reason, for six reasons
    assert any("no-chapters" in line and "skipped_no_chapters" in line for line in warnings)


@pytest.mark.parametrize("kwargs", [{"max_covered": 1}, {"max_covered": "5"}, {"context_chars": -1}])
def test_bad_settings_fail_fast(kwargs):
    with pytest.raises(ConfigError, match="CourseUnits"):
        CourseUnits(**kwargs)
