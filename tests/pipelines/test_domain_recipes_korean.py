"""Korean outputs of the four v2 domain recipes: each passes the CJK-aware quality chain and its domain's
check, and a broken variant of each is dropped with the check's named reason.

The documents (data/ko_outputs/<format>.txt) are written by hand as a good model would answer the recipe's
Korean template (prompts/recipes/<recipe>/ko/). They go through what pipelines/<recipe>.py runs after the
engine: `quality_filters` (which ends with the code-execution sandbox), then the domain's check.
"""

import os
from pathlib import Path

import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.filters import (
    HistoricalDatesFilter,
    MathAnswerFilter,
    ScienceExperimentFilter,
    quality_filters,
)
from cosmo_blocks.filters.sandbox import Sandbox
from cosmo_blocks.writers import CosmopediaJsonlWriter
from tests.conftest import read_jsonl

DATA = Path(__file__).parent / "data" / "ko_outputs"
FORMATS = ("code_textbook", "math_solution", "science_experiment", "history_analysis")
# Above the length of every Korean document but the code one: as English they would be too short, so
# keeping them shows the chain held them to its CJK minimum (250 characters) instead.
MIN_CHARS = 1000
# The muffin problem's known answer (pipelines/seeds/math_solutions.jsonl, math-0001), as the seed gives it
ANSWER = "26"
SAFETY_SECTION = "## 안전 수칙"
# Each format's defect, as (text in its document, what replaces it), and the reason it must be dropped for
BROKEN = {
    "code_textbook": (
        ("print(word_counts.most_common(2))", "print(word_counts.most_common(2)[5])"),
        "runtime_error:IndexError",
    ),
    "math_solution": (("최종 답: 26.", "최종 답: 24."), "answer_mismatch"),
    "science_experiment": (None, "missing_safety"),  # its safety section removed, see broken_text
    "history_analysis": (("1592년부터 1598년까지", "1598년부터 1592년까지"), "end_before_start"),
}


def original_text(format_: str) -> str:
    return (DATA / f"{format_}.txt").read_text(encoding="utf-8")


def broken_text(format_: str) -> str:
    text = original_text(format_)
    if format_ == "science_experiment":
        before, _, rest = text.partition(SAFETY_SECTION)
        return before + rest[rest.index("## ") :]
    (old, new), _ = BROKEN[format_]
    assert text.count(old) == 1, f"{format_}.txt no longer holds {old!r} once"
    return text.replace(old, new)


def document(format_: str, variant: str, text: str, language: str = "ko") -> Document:
    meta = {keys.LANGUAGE: language, keys.FORMAT: format_}
    if format_ == "math_solution":
        meta[keys.ANSWER] = ANSWER
    return Document(text=text, id=f"{format_}/{variant}", metadata=meta)


def sandbox_or_skip() -> None:
    """The chain ends with the code sandbox; CI installs bubblewrap, so there its absence fails."""
    if Sandbox().available():
        return
    message = "bubblewrap sandbox unavailable (apt-get install -y bubblewrap)"
    if os.environ.get("CI"):
        pytest.fail(message + "; CI is set, so this is a failure")
    pytest.skip(message)


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, str]:
    """Every document's fate, by id: "kept", or the reason it was dropped for (read from the rejects files).
    Each format comes as written ("ok"), broken ("broken"), and as written but marked English ("en")."""
    sandbox_or_skip()
    rejects = tmp_path_factory.mktemp("ko_domains") / "rejects"
    docs = []
    for format_ in FORMATS:
        docs += [
            document(format_, "ok", original_text(format_)),
            document(format_, "broken", broken_text(format_)),
            document(format_, "en", original_text(format_), language="en"),
        ]
    checks = [
        MathAnswerFilter(formats=("math_solution",), answer_key=keys.ANSWER),
        ScienceExperimentFilter(formats=("science_experiment",)),
        HistoricalDatesFilter(formats=("history_analysis",)),
    ]
    for check in checks:
        check.exclusion_writer = CosmopediaJsonlWriter(str(rejects / check.__class__.__name__), rejects=True)
    data = iter(docs)
    for step in [*quality_filters(str(rejects), min_chars=MIN_CHARS, min_tokens=None), *checks]:
        data = step(data, 0, 1)  # piped as datatrove's executor pipes one task's steps
    fates = {doc.id: "kept" for doc in data}
    for path in rejects.rglob("*.jsonl"):
        fates |= {record["id"]: record[keys.FILTER_REASON] for record in read_jsonl(path)}
    assert sorted(fates) == sorted(doc.id for doc in docs)  # each document kept or dropped, once
    return fates


def test_documents_are_realistic_korean_answers():
    for format_ in FORMATS:
        text = original_text(format_)
        assert 600 <= len(text) <= 1500, format_
        assert text.rstrip().endswith("."), format_  # a finished answer, as the completeness filter wants


@pytest.mark.parametrize("format_", FORMATS)
def test_korean_output_is_kept(outcomes, format_):
    assert outcomes[f"{format_}/ok"] == "kept"


@pytest.mark.parametrize("format_", FORMATS)
def test_broken_variant_is_dropped_with_its_reason(outcomes, format_):
    _, reason = BROKEN[format_]
    assert outcomes[f"{format_}/broken"] == reason


@pytest.mark.parametrize("format_", FORMATS)
def test_the_same_text_taken_for_english_is_dropped(outcomes, format_):
    """What keeps the Korean documents is the chain's Korean handling: held to the English minimum
    length and to the Latin script, the same texts are dropped."""
    # the code textbook is long enough: its Hangul is foreign to English (mixed_scripts), or, measured
    # without its code, most of its letters (wrong_language)
    expected = {"mixed_scripts", "wrong_language"} if format_ == "code_textbook" else {"too_short_chars"}
    assert outcomes[f"{format_}/en"] in expected
