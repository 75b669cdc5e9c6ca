import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.filters import BoilerplateCleaner


@pytest.mark.parametrize(
    "text,fired,rest",
    [
        ("Title: Bees\n\nBees are busy.", ["title"], "Bees are busy."),
        ("**Title: Bees**\nBees are busy.", ["title"], "Bees are busy."),
        ("Sure! Here is a blog post about bees:\n\nBees are busy.", ["sure", "here_is"], "Bees are busy."),
        ("Certainly, I'd be happy to help! Bees are busy.", ["sure", "happy_to"], "Bees are busy."),
        ("Welcome to this unit on bees! Bees are busy.", ["welcome"], "Bees are busy."),
        ("Hello dear readers! Bees are busy.", ["hello_readers"], "Bees are busy."),
        ("물론입니다! 벌은 부지런합니다.", ["ko_certainly"], "벌은 부지런합니다."),
        ("안녕하세요, 여러분! 벌은 부지런합니다.", ["ko_hello"], "벌은 부지런합니다."),
        ("교과서 단원에 오신 것을 환영합니다! 벌은 부지런합니다.", ["ko_welcome"], "벌은 부지런합니다."),
    ],
)
def test_openers_are_stripped(text, fired, rest):
    assert BoilerplateCleaner().clean(text) == (rest, fired)


@pytest.mark.parametrize(
    "text",
    [
        "Sure enough, the rain came.",
        "Of course, nobody expected it.",
        "Here are three ways to stay warm.",
        "Welcome to the weekly class schedule.",
        "The title: a story of bees.",
        "Bees are busy. Title: not at the start.",
    ],
)
def test_content_is_left_alone(text):
    assert BoilerplateCleaner().clean(text) == (text, [])


def test_step_keeps_original_and_counts_per_pattern():
    docs = [
        Document(text="Title: A\n\nBody one.", id="a"),
        Document(text="Sure! Here is the article:\nBody two.", id="b"),
        Document(text="Body three.", id="c"),
        Document(text="Title: only a title", id="d"),
    ]
    step = BoilerplateCleaner()
    out = list(step.run(iter(docs)))
    assert [d.text for d in out] == ["Body one.", "Body two.", "Body three.", "Title: only a title"]
    assert out[0].metadata[keys.ORIGINAL_TEXT] == "Title: A\n\nBody one."
    assert keys.ORIGINAL_TEXT not in out[2].metadata and keys.ORIGINAL_TEXT not in out[3].metadata
    stats = step.stats.stats
    assert stats["stripped_title"].total == 1 and stats["stripped_sure"].total == 1
    assert stats["changed"].total == 2 and stats["kept_all_boilerplate"].total == 1
