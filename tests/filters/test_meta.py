"""MetaTextFilter on what SmolLM2-135M-Instruct really writes.

Every excerpt is copied unchanged from the labelled SmolLM2 set (tests/filters/data/smollm2/labelled.jsonl);
the id of each is given beside it.
"""

import json
from pathlib import Path

import pytest
from datatrove.data import Document

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters.meta import MetaTextFilter, meta_scores
from tests.filters.conftest import load_labelled

SMOLLM2 = Path(__file__).parent / "data" / "smollm2" / "labelled.jsonl"

# t0.3-rp1.05/sample.jsonl@6224/1, textbook, labelled other: a description of a chapter, no chapter
CHAPTER_DESCRIPTION = """In this chapter, we will explore the concept of least squares regression and its \
application to data analysis. We begin by discussing the basics of linear regression and how it helps us \
understand relationships between variables. Next, we delve into the process of finding the optimal model and \
setting up the equation. Finally, we provide a summary of the results and the implications of this \
mathematical technique.

The chapter concludes with a section on the R-squared measure, which provides a quantitative assessment of \
the model's goodness of fit. This highlights the importance of statistical techniques in data interpretation.

This chapter is designed to be accessible to middle school students, with clear explanations of mathematical \
concepts and practical applications. The text is written in a clear and concise manner, making it easy for \
readers to follow and understand. The language used is engaging and easy to read, with no technical jargon \
that might confuse readers.

The chapter ends with a section titled "Summary" that summarizes the main points and provides a final \
thought. This helps to reinforce the main ideas and leave readers with something to think about."""

# t0.3-rp1.05/sample.jsonl@16623/1, story, labelled other: a synopsis of a story instead of the story
STORY_SYNOPSIS = """Title: "A Mathematical Journey: From Ancient Wisdom to Modern Science"

In this tale of ancient wisdom and modern science, we find ourselves at a crossroads where philosophy and \
science intersect. The story begins with a profound exploration of mathematical concepts, such as Plato's \
concept of "numbers," and explores the idea that there exists an objective reality beyond our understanding \
of language and thought.

The narrative unfolds through a series of vignettes, each one revealing a different aspect of mathematical \
platonism. The first vignette introduces the concept of "numbers" and the idea of their existence being \
independent of human perception. This theme is echoed throughout the narrative, with each vignette delving \
into the realm of mathematical ideas and their implications on science."""

# rp1.1/wiki-printing-press/0, textbook, labelled other: the end of an outline, then a chat assistant
ASSISTANT_CHATTER = """Here's a possible ending to the essay:
Your contribution here will help enhance the learning experience at the same level as the rest of the \
material. That's why I'm glad you came along, and I hope this helps make the subject even more engaging for \
your readers!

Feel free to pick any part of the text you'd like me to modify – just let me know. If there's anything else \
you want me to add, feel free to ask away. Goodbye!

P.S. Don't forget to share this with your teachers/mentors who might find it useful in their lessons planning."""

# rp1.1/sample.jsonl@7872/1, blog post, labelled other: an opening, then an assistant offering its services
ASSISTANT_PREVIEW = """The world of algebra has reached a profound point where solving quadratic equations \
becomes more than just performing calculations; it's about understanding the underlying mechanics behind \
this fundamental mathematical concept. By exploring the fascinating realm of quadratic equations, we uncover \
their intricate structure and find innovative ways to tackle these challenging problems. Whether you're \
looking to simplify complex concepts or delve into the intersection of physics, mathematics, and computer \
science, I'm here to share some insights that will help you navigate this ever-evolving landscape.

### Preview:
In today's interactive world, utilizing tools like chatbots allows users to engage with topics from \
anywhere. While you may have access to professional writing assistance, I'll provide my own unique \
perspective that I believe deserves your attention. This is not a place to share your personal opinions but \
rather to support those who need them most. I am always available to assist and answer any questions you \
might have. My goal is to educate and inspire while also providing something new every day. So please do \
not hesitate to reach out to me anytime."""


def keep_ids_with_framing() -> list[dict]:
    """Kept documents of the labelled set that frame themselves ("In this blog post, I will...")."""
    records = [json.loads(line) for line in SMOLLM2.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in records if r["label"] == "keep" and "In this blog post" in r["text"]]


def doc(text: str, **metadata) -> Document:
    return Document(text=text, id="t", metadata={"language": "en", **metadata})


@pytest.mark.parametrize(
    "text, reason",
    [
        (CHAPTER_DESCRIPTION, "self_description"),
        (STORY_SYNOPSIS, "self_description"),
        (ASSISTANT_CHATTER, "assistant_chatter"),
        (ASSISTANT_PREVIEW, "assistant_chatter"),
    ],
    ids=["chapter_description", "story_synopsis", "assistant_chatter", "assistant_preview"],
)
def test_smollm2_meta_text_is_dropped_with_its_reason(text, reason):
    f = MetaTextFilter()
    assert f.filter(doc(text)) == (False, reason)
    assert f.stats[f"{reason}_sentences"].total >= 2


def test_kept_posts_framed_in_this_blog_post_stay_kept():
    records = keep_ids_with_framing()
    assert len(records) >= 2  # the plate-tectonics post and the induction essay, at least
    f = MetaTextFilter()
    for r in records:
        d = Document(text=r["text"], id=r["id"], metadata=dict(r["metadata"]))
        assert meta_scores(d.text).self_description_sentences >= 1, r["id"]  # the framing is seen...
        assert f.filter(d) is True, r["id"]  # ...and one framing sentence is no reason to drop


def test_every_kept_document_of_the_smollm2_set_is_kept():
    records = [json.loads(line) for line in SMOLLM2.read_text(encoding="utf-8").splitlines() if line]
    f = MetaTextFilter()
    kept = [r for r in records if r["label"] == "keep"]
    assert len(kept) == 14
    dropped = [
        r["id"] for r in kept if f.filter(Document(r["text"], r["id"], metadata=r["metadata"])) is not True
    ]
    assert dropped == []


@pytest.mark.parametrize("name", [name for name, _, expect in load_labelled() if not expect])
def test_hand_labelled_good_documents_are_kept(name):
    (d,) = [d for n, d, _ in load_labelled() if n == name]
    assert MetaTextFilter().filter(d) is True


def test_one_closing_offer_is_no_chatter():
    # t0.3-rp1.05/sample.jsonl@8394/0, labelled keep: a real text that ends "I'm here to help"
    text = CHAPTER_DESCRIPTION.split("\n\n")[0]  # any prose, to carry the closer
    closer = "If you have any questions about it, I'm here to help."
    assert MetaTextFilter().filter(doc(text + "\n\n" + closer)) is True


def test_thresholds_none_turn_rules_off():
    off = MetaTextFilter(max_self_description=None, max_self_description_chars=None)
    assert off.filter(doc(CHAPTER_DESCRIPTION)) is True
    assert off.filter(doc(ASSISTANT_CHATTER)) == (False, "assistant_chatter")
    off = MetaTextFilter(max_assistant_chatter=None, max_assistant_chatter_chars=None)
    assert off.filter(doc(ASSISTANT_CHATTER)) is True
    assert off.filter(doc(STORY_SYNOPSIS)) == (False, "self_description")
    # the character share alone still drops a text whose sentence share is off
    chars_only = MetaTextFilter(max_self_description=None)
    assert chars_only.filter(doc(CHAPTER_DESCRIPTION)) == (False, "self_description")


def test_min_flagged_sentences_needs_more_than_one_occurrence():
    # written here: one framing sentence in a text of two
    one = "This blog post will explore clocks. Clocks keep time with a pendulum or a crystal."
    assert meta_scores(one).self_description == 0.5
    assert MetaTextFilter().filter(doc(one)) is True
    assert MetaTextFilter(min_flagged_sentences=1).filter(doc(one)) == (False, "self_description")


def test_non_english_is_skipped_and_counted():
    f = MetaTextFilter()
    korean = "이 글에서는 김치를 소개합니다. " * 5
    assert f.filter(Document(text=korean, id="k", metadata={})) is True
    assert f.filter(doc(CHAPTER_DESCRIPTION, language="fr")) is True
    assert f.stats["skipped_language"].total == 2
    assert f.filter(Document(text=CHAPTER_DESCRIPTION, id="u", metadata={})) == (False, "self_description")


@pytest.mark.parametrize(
    "kwargs",
    [{"max_self_description": 0}, {"max_assistant_chatter_chars": 1.5}, {"min_flagged_sentences": 0}],
)
def test_bad_thresholds_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        MetaTextFilter(**kwargs)
