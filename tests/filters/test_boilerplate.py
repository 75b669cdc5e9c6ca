import subprocess
import sys

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


def test_token_counts_are_recounted_with_the_generating_models_tokenizer(tiny_model):
    """The tiny model's own tokenizer counts the kept text; an unloadable model keeps the old count,
    counted and said once."""
    from datatrove.utils.logging import logger
    from transformers import AutoTokenizer

    body = "Bees are busy insects that visit many flowers every single day of the summer."
    opener = "Sure! Here is a blog post about bees, written for young readers:\n\n"
    generated = len(AutoTokenizer.from_pretrained(tiny_model).encode(opener + body, add_special_tokens=False))
    kept = len(AutoTokenizer.from_pretrained(tiny_model).encode(body, add_special_tokens=False))
    assert kept < generated

    def doc(i: int, model: str) -> Document:
        counts = {keys.TOKEN_LENGTH: generated, keys.TOKEN_COUNT: generated}
        return Document(text=opener + body, id=str(i), metadata={keys.MODEL: model, **counts})

    messages = []
    sink = logger.add(lambda m: messages.append(m.record["message"]), level="WARNING")
    try:
        step = BoilerplateCleaner()
        docs = [doc(0, tiny_model), doc(1, "/no/such/model"), doc(2, "/no/such/model"), doc(3, tiny_model)]
        out = list(step.run(iter(docs)))
    finally:
        logger.remove(sink)
    assert [d.text for d in out] == [body] * 4
    assert [(d.metadata[keys.TOKEN_LENGTH], d.metadata[keys.TOKEN_COUNT]) for d in out] == [
        (kept, kept), (generated, generated), (generated, generated), (kept, kept)
    ]  # fmt: skip
    stats = step.stats.stats
    assert stats["tokens_recounted"].total == 2 and stats["tokens_not_recounted"].total == 2
    assert len([m for m in messages if "/no/such/model" in m and "tokens_not_recounted" in m]) == 1


# Closers: sign-offs after the content. The SmolLM2 ones are copied from its unfiltered generations on
# the bundled seeds; the brief's own examples ("Happy learning! 😊😊😊", "You're welcome!!!") too.
BODY = "Printing changed how people learned. Books became cheaper, and more people learned to read."


@pytest.mark.parametrize(
    "ending,fired",
    [
        # SmolLM2, textbook
        (
            "\n\nP.S. Don't forget to share this with your teachers/mentors.\n\n#BiblicalHistory "
            "#PrintingPress "
            "#Education #TechInnovation #TeachingTips #Technology #EducationDevelopment #WorldCulture",
            ["closer_hashtags"],
        ),
        # SmolLM2, blog post: tags with a few words between them
        (
            "\n\n#Science #Medicine @HuffPostMedical2Pets | Healthcare Innovations #HealthTech "
            "@SmartCellsToBeMeared By Healthcare Professionals",
            ["closer_hashtags"],
        ),
        ("\n\nHappy learning! 😊😊😊", ["closer_emoji"]),
        ("\n\nYou're welcome!!!", ["closer_youre_welcome"]),
        ("\n\nThanks for reading! 🌟💬\n\n#Printing #History", ["closer_hashtags", "closer_emoji"]),
    ],
    ids=["hashtag-line", "tags-and-words", "emoji-run", "youre-welcome", "emoji-then-tags"],
)
def test_closers_are_stripped(ending, fired):
    text = BODY + ending
    cleaned, got = BoilerplateCleaner().clean(text)
    assert got == fired
    assert text.startswith(cleaned) and cleaned.startswith(BODY) and len(cleaned) < len(text)
    assert not cleaned.rstrip().endswith(("😊", "#History", "!!!", "Professionals", "#WorldCulture"))


@pytest.mark.parametrize(
    "ending",
    [
        " Happy baking! 🍞",  # one emoji belongs to the genre
        "\n\n#Sustainability is the key to the future of our planet, and printing helped spread it.",
        " Programmers use C# and F# too.",
        "\n\nI love #books and #libraries.",
        "\n\nYou are welcome to visit the printing museum in Mainz any day of the week.",
        " Visit us at @museum_mainz 😊",  # no sentence end before the emoji: not a run after content
    ],
)
def test_content_at_the_end_is_left_alone(ending):
    text = BODY + ending
    assert BoilerplateCleaner().clean(text) == (text, [])


def test_a_tail_of_many_closers_is_left_for_the_degeneration_filter():
    """SmolLM2 (blog post): a tail that is mostly tags and emojis is not a sign-off to tidy away."""
    tail = "\n\n#COVID #PublicHealth #Medicine\n\n👌👍\n\n#COVID #PublicHealth"
    tail += "\n\n#COVID #Medicine #MedicalHistory"
    step = BoilerplateCleaner()
    assert step.clean(BODY + tail) == (BODY + tail, [])
    assert step.stats.stats["kept_many_closers"].total == 1
    assert BoilerplateCleaner(max_closers=4).clean(BODY + tail)[0] == BODY


def test_closers_can_be_turned_off():
    text = BODY + "\n\n#Printing #History"
    assert BoilerplateCleaner(closers=()).clean(text) == (text, [])


def test_step_strips_openers_and_closers_and_counts_them_apart():
    docs = [
        Document(text="Sure! Here is the article:\n" + BODY + "\n\n#Printing #History", id="a"),
        Document(text=BODY + " Happy learning! 😊😊😊", id="b"),
        Document(text=BODY, id="c"),
    ]
    step = BoilerplateCleaner()
    out = list(step.run(iter(docs)))
    assert [d.text for d in out] == [BODY, BODY + " Happy learning!", BODY]
    assert (
        out[0].metadata[keys.ORIGINAL_TEXT]
        == "Sure! Here is the article:\n" + BODY + "\n\n#Printing #History"
    )
    assert out[1].metadata[keys.ORIGINAL_TEXT].endswith("😊😊😊")
    stats = step.stats.stats
    assert stats["stripped_sure"].total == 1 and stats["stripped_here_is"].total == 1
    assert stats["stripped_closer_hashtags"].total == 1 and stats["stripped_closer_emoji"].total == 1
    assert stats["changed"].total == 2


def test_a_line_of_many_tags_before_more_lines_is_searched_in_linear_time():
    """A SmolLM2 generation (a line of twelve hashtags, then more prose and emoji lines) kept the
    hashtag closer backtracking for over ten minutes; in a subprocess, so a regression cannot hang
    the suite."""
    tags = "#gCloud docker #operatingsystems #operations #businesses #collaboration #engineering "
    tags += "#dataexploitation #finance #technology #careerDevelopment #Continuance"
    text = "Some prose about teams.\n\n" + tags + "\nExtract from the provided text:\n\n" + "A line.\n" * 80
    code = (
        "import sys; from cosmo_blocks.filters.boilerplate import BoilerplateCleaner\n"
        "print(BoilerplateCleaner().clean(sys.stdin.read())[1])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], input=text, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr
