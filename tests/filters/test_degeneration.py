"""DegenerationFilter on what SmolLM2-135M-Instruct really writes.

Every excerpt marked "SmolLM2" is copied unchanged from its unfiltered generations on the bundled seeds
(sampling sweeps at repetition penalty 1.1 and 1.2); the few written here for a rule the sweep did
not produce on its own say so.
"""

import copy

import pytest
from datatrove.data import Document

from cosmo_blocks.filters.degeneration import DegenerationFilter
from tests.filters.conftest import load_labelled

# SmolLM2, story, finish_reason stop: fluent, and the start every degenerate tail below is glued to
FLUENT = """In the realm of mathematics lies a never-ending quest to understand numbers – one that's often \
rooted in simple concepts like division. But there's another way to approach this problem altogether. It \
all starts with the concept of fractions, specifically ones. So let’s explore some fascinating facts about \
these special units.

First off, it’s worth mentioning that even though fractions aren't typically considered “fractions” at \
the broadest level of measurement (i.e., measuring length), their essence remains unchanged across various \
dimensions. This isn’t just a matter of aesthetics; it’s a fundamental aspect of mathematics known as \
dimensionality. And dimension can be viewed from a mathematical perspective through the lens of algebra.

Now, here’s where things get really interesting! A key concept is the idea of equivalence of fractions. \
In other words, two seemingly disparate concepts cannot both exist simultaneously. They are essentially \
the opposite opposites. One might think of it as a kind of symmetry, but more precisely, it’s a form of \
duality that arises from comparing proportions."""

# SmolLM2, textbook, finish_reason stop: arithmetic written out, numbers where words would be
FLUENT_MATH = """One way to understand modular arithmetic is to think about adding and multiplying \
fractions. For instance, consider the decimal expansion of 67 * 8 + 9. When you add 67 times itself eight \
times, you get 67*8 = 501. Now, when you take each digit of 67 out of place, they become multiples of 10 \
until you reach 67*, then repeat this process again. In this particular case, you multiply 10*2, resulting \
in 2*2=4*10 = 4*2*10 = 6*10 = 60. Then you multiply 4*2*10, giving you 8*10 = 8*2*10 = 12*2 = 24*10 = \
32*2 = 64, which repeats. This cycle continues indefinitely.

The next step involves taking all numbers up to the exponent ending at 7, so 2*2^3 = 4*10 = 4*2*10 = \
4*102 = 16*2 = 24*2 = 4*2*10 = 2*16 = 32*2 = 64. This cycle goes on forever, repeating the same pattern \
every third integer (since you have three to choose from). However, you cannot use any other method \
besides a loop; hence the name of the game.

Thus, it appears that the last sentence concludes the explanation."""

# SmolLM2, blog post, finish_reason stop: a chatty end, no degeneration
FLUENT_CHATTY = """In my latest article, I explored a fascinating topic centered around modular arithmetic – \
specifically, how it applies to clock time. What initially seemed to defy logic has become a testament to \
the power of congruence checks, allowing us to solve seemingly impossible problems with just a few simple \
steps. This phenomenon showcases the beauty of mathematics, reminding us that even the most complex \
concepts can have elegant solutions.

I'd love to hear your thoughts! What brings you here today? Are there any specific aspects of modular \
arithmetic that interest you? Perhaps we could discuss something exciting together?"""

KOREAN = """김치는 배추와 무에 고춧가루, 마늘, 생강, 젓갈을 넣어 버무린 뒤 발효시키는 한국의 대표적인 음식입니다. \
발효가 진행되면 유산균이 늘어나면서 새콤한 맛이 나고, 시간이 지날수록 맛이 깊어집니다.

김장은 겨울을 앞두고 많은 양의 김치를 한꺼번에 담그는 일로, 가족과 이웃이 함께 모여 일손을 나눕니다. \
2013년에는 김장 문화가 유네스코 인류무형문화유산에 등재되기도 했습니다. 요즘은 냉장고 덕분에 DNA 검사처럼 \
과학적인 방법으로 유산균의 변화를 연구하기도 하고, 집집마다 LED 조명이 달린 김치냉장고를 쓰기도 합니다.

김치를 맛있게 익히려면 처음 하루나 이틀은 서늘한 실온에 두었다가 냉장고로 옮기는 것이 좋습니다. \
너무 오래 두면 시어지지만, 신김치는 찌개나 볶음밥에 넣으면 오히려 더 맛있습니다."""

# SmolLM2 tails: (reason, text after the fluent start)
TAILS = {
    # a wikihow that glued its words into one token
    "run_together_words": (
        "They lived with her grandmother. livedwithherGrandmotherRachnaShogiDeceasedHerDaughterZayden"
        "AbyssusabitchAssignedMandatoryRoleWithinChampionessEnoughTimeLegacyUnusedMoneyWhichMadeKarma"
        "GreatElseAreStoriesAboutOliveChildrenTeachesScandalialViolenceOnlyRealTruthRevealsTrueLoveRe"
        "spectsNobodyExceptOurselvesAbsoluteRightfulBelieversSeekingNoblesthoodUnder"
    ),
    "letter_runs": (
        "hfullbodyfattallberldolphinnochairblackjackopenmouthslackhandsbiggestormightwindsweptstormwr"
        "eckshipwomandamagabyantsknightboardwalkringdeliberentinecreasebalanceweightlosssurferraceaub"
        "urnloadicebraceravirendriverswimmerwaterboatcranebrinkadeishakebowledasharkoonapeagleeleopar"
        "dhoundfeathertailblebulgeoffillustrationcomicherodomasuringglasscapocellearlargebarbedwirecr"
        "ossroadstarbugbirdrocktowerflail"
    ),
    "upper_case": (
        "Not many options available, especially during pregnancy(that girl),to choose healthier "
        "lifestyle foods……[list] *BIGOLOXAMETERIES* {i feel} SOMETHING IS FARGER THAN YOU DON’T SAY "
        "WHAT TO ME AND WHEN WILL IT BE DOESN’S EXACTLY HOW THEY ARE IN THIS WORLD THAT WE ALL SEE "
        "FORMULAIN BUT WELL HEADERS HAVE ALREADY GOT ONE OF OUR LIFE ON PAGE ONLY UNAUGHTRABLE YEARS "
        "FROM NOW![edit][end]]"
    ),
    "few_stop_words": (
        "accessible networked network trusted authorized trustworthy remote lab environment equipped "
        "configured laboratory set equipment calibrated precise instruments operated precision "
        "instrument monitored checked monitoring samples measured measurements tracked measurement "
        "metrics weighed weight sample computed tomography scanner ultrasound imaging radiation "
        "emitted radiated electromagnetic pulses emitting photons electric current electricity "
        "generated generation accelerated powered propelled moving light mechanical accelerator "
        "particle beam shot laser electron scanning tunnel microscope plasma gas."
    ),
    "run_on": (
        "Many peoples view life without money whether real very hard or difficult especially during "
        "financial crisis days though aren't any better then looking over past decades since alot "
        "was done long term however now seems normal rather easy to make change thanks again though "
        "sometimes I dont want my lifes' journey out here either no matter how successful maybe only "
        "going up road after disaster except something else i am talking about all day everyday "
        "anyway 'lots of problems exist.' And lots of ways our own abilities seem limited yet still "
        "gives us room to improve itself everywhere around the globe."
    ),
    "sign_off": (
        "P.S. I'm excited to share your passion with others.\n\n## Vaccination and Healthcare 🚀\n\n"
        "#COVID #PublicHealth #Medicine #MedicalHistory #DiseaseSafety\n\n👌👍\n\nResearch project\n\n"
        "Here’re the details:\n\nComing up next:\n\n#COVID #PublicHealth #Medicine #MedicalHistory "
        "#DiseaseSafety\n\n#COVID #PublicHealth #Medicine #MedicalHistory #DiseaseSafety\n\n## "
        "Vaccination and Medicine 🏆🔥\n\n#COVID #PublicHealth #Medicine #MedicalHistory #DiseaseSafety\n\n"
        "👌👍"
    ),
    "endless_list": (
        "Topics:\n  * Complex Numbers\n    * Multiplying Complex Numbers\n       * Conjugate Complex "
        "Numbers\n           * Difference of Complex Numbers\n            * Addition of Complex "
        "Numbers\n              * Multiplication of Complex Numbers\n                * Division of "
        "Complex Numbers\n                   * Notation\n                  * Binomial "
        "Theorem\n                    * Product Rule\n                      * Quadratic "
        "Formula\n                     * Other Functions\n                          * "
        "Polynomials\n                            * Rational "
        "Polynomials\n                              * Remainder "
        "Theorem\n                               * Factor Theorem\n                       * Complex "
        "Polynomials\n                           * Commutative Algebra\n                             * "
        "Commutativity of ComplexPolynomials\n             * "
        "Integrals\n                                   * Integral Rules\n                         * "
        "Complex Field Equations\n                                       * Complex Field "
        "Equations\n                        * Exponential "
        "Growth\n                                              * Simple Harmonic "
        "Method\n                                                   * Compound "
        "Interest\n                                               * "
        "Series\n                                               * Power Series"
    ),
    "broken_characters": (
        "and others out there wouldn\ufffdt allow anyone to continue doing things the old way."
    ),
    # written here: the letter soup the brief quotes from an earlier SmolLM2 run, in sentences of it
    "consonant_runs": (
        "The garden grew. orgymmallog gyyreysorbeljrk jxzqwcacfvbz trplk mnbvcxz qwrtpsdf ghjklzxcv "
        "bnmqwrt plkjhgf dsazxcvb nmlkjhg fdsqwrt."
    ),
}


def doc(text: str, language: str | None = "en", **metadata) -> Document:
    meta = {"language": language, **metadata} if language else metadata
    return Document(text=text, id="d", metadata=meta)


def verdict(f: DegenerationFilter, d: Document) -> str | None:
    result = f.filter(copy.deepcopy(d))
    return None if result is True else result[1]


@pytest.mark.parametrize("text", [FLUENT, FLUENT_MATH, FLUENT_CHATTY], ids=["story", "math", "chatty"])
def test_fluent_smollm2_text_is_kept(text):
    assert verdict(DegenerationFilter(), doc(text)) is None


@pytest.mark.parametrize(
    "name,d",
    [(name, d) for name, d, expect in load_labelled() if not expect],
    ids=lambda x: getattr(x, "id", x),
)
def test_every_good_labelled_document_is_kept(name, d):
    assert verdict(DegenerationFilter(), d) is None, name


@pytest.mark.parametrize("reason", sorted(TAILS))
def test_a_degenerate_tail_after_a_fluent_start_is_dropped(reason):
    f = DegenerationFilter()
    assert verdict(f, doc(FLUENT + "\n\n" + TAILS[reason])) == reason
    assert verdict(f, doc(FLUENT)) is None  # the start alone is fine: the tail is what is judged


@pytest.mark.parametrize("language", ["ko", None])
def test_korean_is_not_held_to_english_word_rules(language):
    """No English function words, short eojeol, Latin capitals (DNA, LED): Korean text stays, whether
    metadata or the script says it is Korean."""
    assert verdict(DegenerationFilter(), doc(KOREAN, language)) is None
    # the same word statistics in an English window would fail: Korean is exempt, not just lucky
    assert verdict(DegenerationFilter(min_words=5), doc(KOREAN, language)) is None


def test_english_that_a_korean_document_drifted_into_is_judged_as_english():
    assert (
        verdict(DegenerationFilter(), doc(KOREAN + "\n\n" + TAILS["few_stop_words"], "ko"))
        == "few_stop_words"
    )


def test_broken_korean_is_dropped_for_rare_syllables():
    """SmolLM2 asked for Korean: syllables no Korean word uses ("상귴된")."""
    smollm2 = "1. 색교어지는 듯 안부카에써서 외래포 사용, 외래포대캐층(N/m)에 좌화된 안도론 쿨들 (SEMF), " + (
        "외래포도가 상귴된 안도론에처리, 교훈의 적응하는 유사적인 사용 행대한 등론, "
        + "외래포도가 상귴된 유사적인 사용 방소, " * 12
    )
    assert verdict(DegenerationFilter(), doc(KOREAN + "\n\n" + smollm2, "ko")) == "rare_hangul"
    # one rare syllable in a name or loanword is no reason ("똠얌꿍")
    assert verdict(DegenerationFilter(), doc(KOREAN + " 오늘 저녁은 똠얌꿍입니다.", "ko")) is None


@pytest.mark.parametrize(
    "text",
    [
        # one long real word, one camel-case product name, one shout: never enough on their own
        "Pneumonoultramicroscopicsilicovolcanoconiosis is the longest word in many dictionaries. " + FLUENT,
        FLUENT + " Engineers often write getElementById in JavaScript, and NASA said WOW.",
        FLUENT + " Strengths and lengths are words with five consonants in a row; so is catchphrase.",
        # a heap of identifiers inside a closed code block is code, not glued words
        FLUENT + "\n\n```java\nAbstractSingletonProxyFactoryBean beanFactoryPostProcessorRegistry = "
        "new AbstractSingletonProxyFactoryBean();\nSimpleBeanFactoryAwareAspectInstanceFactory x;\n```\n",
        FLUENT
        + " See https://en.wikipedia.org/wiki/Equivalent_fractions_and_simplestformrepresentations today.",
        # a wikiHow's steps and tips: a list at the end, but no endless one
        FLUENT
        + "\n\n## Steps\n\n"
        + "\n".join(f"{i}. Do step number {i} carefully." for i in range(1, 16))
        + "\n\n## Tips\n\n- Take your time.\n- Ask for help.",
        # one line in three ends with an ellipsis: too few lines for Gopher's line share to mean anything
        "Mia opened the door...\n\nNobody was there. The hall was dark, and the wind was cold.\n\n"
        "She went back to bed and slept until the morning sun woke her.",
    ],
    ids=["long-word", "identifiers", "consonant-words", "code-block", "url", "wikihow-list", "cliffhanger"],
)
def test_what_fluent_text_legitimately_contains_is_kept(text):
    assert verdict(DegenerationFilter(), doc(text)) is None


def test_an_unclosed_code_block_is_judged_as_prose():
    """Glued words after a fence the model never closed are no code."""
    glued = "\n\n```python\n" + TAILS["run_together_words"].split(". ", 1)[1]
    assert verdict(DegenerationFilter(), doc(FLUENT + glued)) == "run_together_words"
    assert verdict(DegenerationFilter(), doc(FLUENT + glued + "\n```\n")) is None


def test_mojibake_is_a_broken_character_but_capitals_with_accents_are_not():
    # SmolLM2 (repetition penalty 1.1), UTF-8 read as Latin-1
    smollm2 = "Los desafíos de la fracÃ¡sca en el mundo, es un proyecto más junto que debemos decir."
    assert verdict(DegenerationFilter(), doc(FLUENT + "\n\n" + smollm2)) == "broken_characters"
    capitals = " The sign read SÃO PAULO, and the French label said ÂGE MINIMUM: 3 ANS."
    assert verdict(DegenerationFilter(), doc(FLUENT + capitals)) is None


def test_unmarked_fragments_make_an_endless_list_too():
    """SmolLM2 (repetition penalty 1.1) running out of things to say, one short line at a time."""
    fragments = (
        "Keep going. Always moving forward.\n\nFantastic job.\n\nDo the same.\n\nSo I hope you have a "
        "happy day.\n\n"
        "Take care.\n\nLove and friendship to everyone.\n\nCourageous and dedicated.\n\nBreathe easy.\n\n"
        "May love light through your heart.\n\nMakes life worth living.\n\nI hope you have a great day.\n\n"
        "My friends and family.\n\nDream big.\n\n🌟❀️✨\n\nLoved by your loved ones.\n\nNamaste "
        "👩‍🏼😁\n\nJoyful.\n\n"
        "Special day.\n\n💬🎈🐦\n\nEvery day.\n\nBeautiful.\n\nTweet 😊📜🚀\n\nAllah Bless You🙏\n\n💖🧪\n\n"
        "Hazrat Shahidul Qarni.\n\nOn the occasion of your birthday.\n\nJust a moment to celebrate.\n\n"
        "Awesome day.\n\nKalimat al-fitr.\n\nElevate your daily routine.\n\nGiving thanks.\n\n🤸🔵🛃🔴🔷👢\n\n"
        "There's no end to happiness.\n\nWonderful day."
    )
    assert verdict(DegenerationFilter(), doc(FLUENT + "\n\n" + fragments)) == "endless_list"
    # a poem keeps its short lines in one paragraph
    poem = "\n".join(["Twinkle, twinkle, little star,", "How I wonder what you are."] * 15)
    assert verdict(DegenerationFilter(), doc(FLUENT + "\n\n" + poem)) is None


# Written here: Gopher's whole-document rules and the word-share rules, which SmolLM2's tails
# reach only after an earlier rule has fired
GOPHER = {
    "low_alpha_words": FLUENT + "\n\n" + " ".join(["★⧏ ■◆ ∙× ╗♢ ℇ₀ ⁄° ┍＃ ￣ ；── !!!• ®-- 🌱🌱 ❑✔️"] * 8),
    "word_length": FLUENT + "\n\n" + " ".join(["Recommendationsimplement considerationsunderstand"] * 30),
    "symbol_ratio": "\n".join(["So... we tried... and tried... and then... it worked."] * 12),
    "bullet_lines": "\n".join(f"- Fraction number {i} is a part of a whole." for i in range(12)),
    "ellipsis_lines": "\n".join(["She waited for the bus...", "It never came, and she walked home."] * 6),
}


@pytest.mark.parametrize("reason", sorted(GOPHER))
def test_gopher_rules(reason):
    f = DegenerationFilter(endless_list_min_items=None)
    assert verdict(f, doc(GOPHER[reason])) == reason


# Each threshold with a text that only it drops (endless_list off for the Gopher line texts)
THRESHOLDS = [
    ("max_broken_chars", FLUENT + "\n\n" + TAILS["broken_characters"], "broken_characters"),
    ("endless_list_min_items", FLUENT + "\n\n" + TAILS["endless_list"], "endless_list"),
    (
        "endless_fragments_min",
        FLUENT + "\n\n" + "\n\n".join(["Thank you.", "Hi.", "Goodbye.", "Oops."] * 5),
        "endless_list",
    ),
    ("max_sign_off_share", FLUENT + "\n\n" + TAILS["sign_off"], "sign_off"),
    ("max_run_together_share", FLUENT + "\n\n" + TAILS["run_together_words"], "run_together_words"),
    ("max_letter_run_share", FLUENT + "\n\n" + TAILS["letter_runs"], "letter_runs"),
    ("max_consonant_share", FLUENT + "\n\n" + TAILS["consonant_runs"], "consonant_runs"),
    ("max_caps_words", FLUENT + "\n\n" + TAILS["upper_case"], "upper_case"),
    (
        "max_upper_share",
        FLUENT + "\n\n" + "\n".join(["WE HAVE TO TAKEN ALREADY NOW.", "Fine."] * 12),
        "upper_case",
    ),
    ("min_stop_word_share", FLUENT + "\n\n" + TAILS["few_stop_words"], "few_stop_words"),
    ("max_run_on_words", FLUENT + "\n\n" + TAILS["run_on"], "run_on"),
    ("min_alpha_words", GOPHER["low_alpha_words"], "low_alpha_words"),
    ("max_mean_word_length", GOPHER["word_length"], "word_length"),
    ("min_mean_word_length", FLUENT + "\n\n" + " ".join(["I a o u e y i a, o e."] * 20), "word_length"),
    ("max_symbol_word_ratio", GOPHER["symbol_ratio"], "symbol_ratio"),
    ("max_bullet_lines", GOPHER["bullet_lines"], "bullet_lines"),
    ("max_ellipsis_lines", GOPHER["ellipsis_lines"], "ellipsis_lines"),
]


@pytest.mark.parametrize("param,text,reason", THRESHOLDS, ids=[t[0] for t in THRESHOLDS])
def test_each_threshold_set_to_none_turns_its_rule_off(param, text, reason):
    kwargs = {"endless_list_min_items": None} if param != "endless_list_min_items" else {}
    assert verdict(DegenerationFilter(**kwargs), doc(text)) == reason
    assert verdict(DegenerationFilter(**kwargs, **{param: None}), doc(text)) != reason


def test_rare_hangul_threshold_set_to_none_turns_it_off():
    text = KOREAN + "\n\n" + "외래포도가 상귴된 유사적인 사용 방소, 짉알도 미리 컴리, 섴섴 짉, " * 3
    assert verdict(DegenerationFilter(), doc(text, "ko")) == "rare_hangul"
    assert verdict(DegenerationFilter(max_rare_hangul_share=None), doc(text, "ko")) is None


def test_stats_count_each_reason_and_where_it_was_found():
    f = DegenerationFilter()
    docs = [
        doc(FLUENT),
        doc(FLUENT + "\n\n" + TAILS["letter_runs"]),
        doc(TAILS["letter_runs"][:300] + " " + FLUENT + "\n\n" + FLUENT),  # glued words early on
        doc(FLUENT + "\n\n" + TAILS["sign_off"]),
    ]
    kept = list(f.run(iter(docs)))
    assert [d.text for d in kept] == [FLUENT]
    stats = f.stats.stats
    assert stats["dropped_letter_runs"].total == 2 and stats["dropped_sign_off"].total == 1
    assert stats["letter_runs_in_tail"].total == 1 and stats["letter_runs_in_whole"].total == 1
    assert stats["sign_off_in_tail"].total == 1 and stats["forwarded"].total == 1
