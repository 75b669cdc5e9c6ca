"""Every hand-labelled document gets exactly the verdict written in its header."""

import copy

import pytest

from cosmo_blocks import keys
from cosmo_blocks.filters import (
    BoilerplateCleaner,
    CodeExecutionFilter,
    CompletenessFilter,
    LengthFilter,
    RepetitionFilter,
)
from tests.filters.conftest import load_labelled

LABELLED = load_labelled()
CASES = [pytest.param(doc, expect, id=name) for name, doc, expect in LABELLED]


def verdict(f, doc):
    result = f.filter(doc)
    return None if result is True else result[1]


def test_the_set_covers_every_format_language_and_failure():
    formats = {doc.metadata["format"].split("_")[0] for _, doc, _ in LABELLED}
    assert {"textbook", "blogpost", "story", "wikihow", "forum"} <= formats
    good = [doc for _, doc, exp in LABELLED if not exp]
    assert {doc.metadata["language"] for doc in good} == {"en", "ko"}
    assert any("```python" in doc.text for doc in good) and any("```" not in doc.text for doc in good)
    reasons = {
        r for _, _, exp in LABELLED for k, r in exp.items() if k not in ("boilerplate", "code_unverified")
    }
    for reason in (
        "finish_length",
        "mid_sentence",
        "tail_loop",
        "too_short_chars",
        "syntax_error",
        "no_summary",
    ):
        assert reason in reasons


@pytest.mark.parametrize("doc,expect", CASES)
def test_length(doc, expect):
    assert verdict(LengthFilter(), copy.deepcopy(doc)) == expect.get("length")


@pytest.mark.parametrize("doc,expect", CASES)
def test_completeness(doc, expect):
    f = CompletenessFilter(require_summary=True)
    assert verdict(f, copy.deepcopy(doc)) == expect.get("completeness")


@pytest.mark.parametrize("doc,expect", CASES)
def test_repetition(doc, expect):
    assert verdict(RepetitionFilter(), copy.deepcopy(doc)) == expect.get("repetition")


@pytest.mark.parametrize("doc,expect", CASES)
def test_boilerplate(doc, expect):
    cleaned, fired = BoilerplateCleaner().clean(doc.text)
    assert fired == expect.get("boilerplate", [])
    if fired:
        assert len(cleaned) < len(doc.text) and cleaned.strip()
    else:
        assert cleaned == doc.text


@pytest.mark.usefixtures("bwrap_available")
def test_code_execution():
    """All documents in one batch, the way the pipeline runs them."""
    f = CodeExecutionFilter(timeout=20, batch_size=len(LABELLED))
    docs = [copy.deepcopy(doc) for _, doc, _ in LABELLED]
    results = f.filter_batch(docs)
    for (name, _, expect), doc, result in zip(LABELLED, docs, results, strict=True):
        got = None if result is True else result[1]
        assert got == expect.get("code"), name
        assert bool(doc.metadata.get(keys.CODE_UNVERIFIED)) == bool(expect.get("code_unverified")), name


@pytest.mark.usefixtures("bwrap_available")
def test_whole_chain_counts_every_drop():
    """The blocks composed as a datatrove pipeline: each document leaves at its first failing filter."""
    steps = [
        BoilerplateCleaner(),
        LengthFilter(),
        CompletenessFilter(require_summary=True),
        RepetitionFilter(),
        CodeExecutionFilter(timeout=20),
    ]
    data = (copy.deepcopy(doc) for _, doc, _ in LABELLED)
    for step in steps:
        data = step.run(data)
    kept = {doc.id: doc for doc in data}
    expected_kept = {name for name, _, exp in LABELLED if not set(exp) - {"boilerplate", "code_unverified"}}
    assert set(kept) == expected_kept
    assert kept["boiler_en_sure_title"].text.startswith("Cities might seem")
    assert kept["boiler_en_sure_title"].metadata[keys.ORIGINAL_TEXT].startswith("Sure! Here is")
    counters = [step.stats.stats for step in steps]  # datatrove's Stats has no __contains__
    dropped = sum(c["dropped"].total for c in counters[1:] if "dropped" in c)
    assert dropped == len(LABELLED) - len(expected_kept)
    assert counters[0]["stripped_title"].total == 1
    truncated = [n for n, _, e in LABELLED if e.get("completeness") == "finish_length" and "length" not in e]
    assert counters[2]["dropped_finish_length"].total == len(truncated)
