import pytest
from datatrove.data import Document

from cosmo_blocks.filters import CompletenessFilter
from cosmo_blocks.filters.completeness import ends_complete

BODY = "A first paragraph that is perfectly fine.\n\n"


@pytest.mark.parametrize(
    "ending",
    [
        "It ended well.",
        "Did it end well?",
        'She said, "It ended well."',
        "It ended (well).",
        "**It ended well!**",
        "Happy baking! 🍞",
        "Thanks for reading… 😊",
        "우리는 물을 아껴야 합니다.",
        "정말 재미있었어요!",
        "水是生命之源。",
        "「終わりです。」",
        "- a complete list item",
        "3. Tighten the nuts in a star pattern",
        "| total | 42 |",
        "```python\nprint(1)\n```",
        "Best regards,\nSam",
        "$$E = mc^2$$",
    ],
)
def test_complete_endings(ending):
    assert ends_complete((BODY + ending).rstrip(), closed_block_at_end=ending.endswith("```"))


@pytest.mark.parametrize(
    "ending",
    [
        "It ended and then",
        "The three causes were:",
        "우리는 학교에",
        "他们去了",
        "- apples, pears and",
        "- apples,",
        "## Conclusion",
        "The value is computed as follows, using the",
    ],
)
def test_mid_sentence_endings(ending):
    assert not ends_complete(BODY + ending)


def test_reasons_and_their_order():
    f = CompletenessFilter()
    assert f.filter(Document(text="   \n", id="e")) == (False, "empty")
    cut = Document(text=BODY + "Done.", id="a", metadata={"finish_reason": "length"})
    assert f.filter(cut) == (False, "finish_length")
    assert f.filter(Document(text=BODY + "```python\nx = 1\n", id="b")) == (False, "unclosed_code_fence")
    assert f.filter(Document(text=BODY + "```text\nout\n```\nSo the loop", id="c")) == (False, "mid_sentence")
    assert f.filter(Document(text=BODY + "Done.", id="d", metadata={"finish_reason": "stop"})) is True


def test_summary_only_required_of_textbooks_and_only_when_asked():
    text = BODY * 3 + "That is all there is to it."
    textbook = {"format": "textbook_academic"}
    assert CompletenessFilter().filter(Document(text=text, id="a", metadata=textbook)) is True
    strict = CompletenessFilter(require_summary=True)
    assert strict.filter(Document(text=text, id="a", metadata=textbook)) == (False, "no_summary")
    assert strict.filter(Document(text=text, id="b", metadata={"format": "blogpost"})) is True
    for summary in (
        "## Summary\nAll done.",
        "In summary, all done.",
        "To summarize: all done.",
        "## 요약\n끝.",
        "정리하면 끝.",
    ):
        assert strict.filter(Document(text=text + "\n\n" + summary, id="c", metadata=textbook)) is True
    # "summary" in the introduction does not count: it has to come in the second half
    intro = "We will summarize at the end.\n\n" + BODY * 6 + "Done."
    assert strict.filter(Document(text=intro, id="d", metadata=textbook)) == (False, "no_summary")
