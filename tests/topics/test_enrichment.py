"""Topic enrichment: the heuristic mode on real documents, the LLM mode on the real SmolLM2 engine."""

from pathlib import Path

import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.prompts import PromptBuilder
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from cosmo_blocks.topics.enrichment import (
    DIFFICULTY_AUDIENCE,
    DIFFICULTY_LEVELS,
    HeuristicEnricher,
    TopicEnricher,
    enrichment_schema,
    explains,
    grade_to_level,
    normalize,
    prose,
    readability_grade,
)
from tests.conftest import ENGINE_KWARGS, REPO, SAMPLE_SEEDS, run_steps, stats_of
from tests.topics.conftest import read_corpus

PYTHON_SOURCES = Path("/usr/share/doc/python3-doc/html/_sources")
LESSON = (
    "Write a lesson for {{ audience }} at a {{ difficulty }} level on {{ topic }}.\n\n"
    "- Relate it to {{ related_concepts }}.\n- Assume the reader knows {{ prerequisites }}.\n"
    "- No title.\n\n{{ context }}\n"
)


def seeds() -> list[Document]:
    """The bundled seeds with their topic and context, as an enrichment step receives them."""
    return run_steps([SeedReader(str(SAMPLE_SEEDS)), TopicExtractor()])


def by_topic(docs) -> dict[str, Document]:
    return {d.metadata[keys.TOPIC]: d for d in docs}


def level(doc: Document) -> int:
    return DIFFICULTY_LEVELS.index(doc.metadata[keys.DIFFICULTY])


def assert_enriched(doc: Document, max_related: int = 6, max_prerequisites: int = 5) -> None:
    """The three fields, with the types every mode sets and templates read."""
    meta = doc.metadata
    assert meta[keys.DIFFICULTY] in DIFFICULTY_LEVELS
    for key, most in ((keys.RELATED_CONCEPTS, max_related), (keys.PREREQUISITES, max_prerequisites)):
        phrases = meta[key]
        assert isinstance(phrases, list) and len(phrases) <= most, (key, phrases)
        assert all(isinstance(p, str) and p.strip() == p and p for p in phrases), (key, phrases)
        assert len({normalize(p) for p in phrases}) == len(phrases), (key, phrases)  # no duplicates
        assert normalize(meta[keys.TOPIC]) not in {normalize(p) for p in phrases}, (key, phrases)


def test_difficulty_levels_are_audiences_and_grade_bands():
    assert DIFFICULTY_LEVELS == ("elementary", "middle_school", "high_school", "college", "expert")
    assert set(DIFFICULTY_AUDIENCE.values()) <= {
        a for spec in PromptBuilder().catalog.formats.values() for a in spec["audiences"]
    }
    bands = {0: "elementary", 5.99: "elementary", 6: "middle_school", 8.99: "middle_school", 9: "high_school"}
    bands |= {12.99: "high_school", 13: "college", 16.99: "college", 17: "expert", 30: "expert"}
    assert {grade: grade_to_level(grade) for grade in bands} == bands


def test_heuristic_on_the_debian_corpus(debian_corpus):
    """Every real page gets the three fields, typed and clean, and the stats add up."""
    records = read_corpus(debian_corpus)[::2]  # every group, half the time
    docs = [
        Document(text=r["text"], id=r["id"], metadata={keys.TOPIC: r["title"].split(" › ")[-1]})
        for r in records
    ]
    enricher = HeuristicEnricher()
    out = list(enricher.run(iter(docs)))
    assert [d.id for d in out] == [r["id"] for r in records]  # every page kept, in order
    enriched = [d for d in out if keys.DIFFICULTY in d.metadata]
    stats = stats_of(enricher)
    assert stats["enriched"] == len(enriched) >= 0.95 * len(records)
    assert stats["enriched"] + stats.get("skipped_too_little_text", 0) + stats.get(
        "skipped_not_english", 0
    ) == len(records)
    assert sum(v for k, v in stats.items() if k.startswith("difficulty_")) == len(enriched)
    for doc in enriched:
        assert_enriched(doc, max_related=5, max_prerequisites=3)
        related, prerequisites = doc.metadata[keys.RELATED_CONCEPTS], doc.metadata[keys.PREREQUISITES]
        assert not {normalize(p) for p in related} & {normalize(p) for p in prerequisites}
        text = prose(doc.text[:5000])
        assert not [p for p in prerequisites if explains(text, p)]
    assert sum(bool(d.metadata[keys.RELATED_CONCEPTS]) for d in enriched) >= 0.95 * len(enriched)
    assert sum(bool(d.metadata[keys.PREREQUISITES]) for d in enriched) >= 0.8 * len(enriched)
    assert len({d.metadata[keys.DIFFICULTY] for d in enriched}) >= 3  # the levels are not one constant


def test_difficulty_orders_texts_of_clearly_different_difficulty():
    """A seed for school children reads easier than a philosophy encyclopedia entry, and the Python
    tutorial's first steps easier than the language reference."""
    enricher = HeuristicEnricher()
    docs = by_topic(enricher.run(iter(seeds())))
    easy = [docs["Water cycle"], docs["Arithmetic sequences"]]
    hard = [docs["The problem of induction"], docs["Philosophy of mathematics: Platonism"]]
    assert max(map(level, easy)) < min(map(level, hard))
    assert {d.metadata[keys.DIFFICULTY] for d in hard} == {"college"}
    if not PYTHON_SOURCES.is_dir():
        pytest.skip("no python3-doc: install the Debian package python3-doc")
    tutorial = prose((PYTHON_SOURCES / "tutorial" / "introduction.rst.txt").read_text()[:5000])
    reference = prose((PYTHON_SOURCES / "reference" / "datamodel.rst.txt").read_text()[:5000])
    assert readability_grade(tutorial) + 2 < readability_grade(reference)
    assert DIFFICULTY_LEVELS.index(grade_to_level(readability_grade(tutorial))) < DIFFICULTY_LEVELS.index(
        grade_to_level(readability_grade(reference))
    )


def test_prerequisites_are_what_the_text_uses_without_explaining():
    photosynthesis = by_topic(HeuristicEnricher().run(iter(seeds())))["Photosynthesis"].metadata
    text = photosynthesis[keys.CONTEXT]
    assert "chlorophyll, a green pigment" in text  # explained in the text: never a prerequisite
    concepts = {
        normalize(p) for p in photosynthesis[keys.RELATED_CONCEPTS] + photosynthesis[keys.PREREQUISITES]
    }
    assert not any("chlorophyll" in words for words in concepts)
    assert photosynthesis[keys.PREREQUISITES] and not [
        p for p in photosynthesis[keys.PREREQUISITES] if explains(text, p)
    ]
    assert explains("A file descriptor is an index into the table of open files.", "file descriptor")
    assert explains("This step is called the Calvin cycle.", "Calvin cycle")
    assert explains("Mitochondria, the powerhouse of the cell, make ATP.", "Mitochondria")
    assert not explains("read() reads from the file descriptor fd.", "file descriptor")


def test_too_little_text_and_foreign_text_are_counted_skips_that_keep_the_document():
    korean = (REPO / "prompts" / "ko" / "textbook.txt").read_text(encoding="utf-8")
    docs = [
        Document(
            text="Photosynthesis makes sugar from light.", id="short", metadata={keys.TOPIC: "Photosynthesis"}
        ),
        Document(text=korean, id="korean", metadata={keys.TOPIC: "교과서"}),
        seeds()[0],
    ]
    enricher = HeuristicEnricher()
    out = list(enricher.run(iter(docs)))
    assert [d.id for d in out] == ["short", "korean", docs[2].id]
    assert not set(keys.ENRICHMENT_FIELDS) & (set(out[0].metadata) | set(out[1].metadata))
    assert_enriched(out[2])
    stats = stats_of(enricher)
    assert (
        stats["skipped_too_little_text"] == 1 and stats["skipped_not_english"] == 1 and stats["enriched"] == 1
    )


def test_context_is_read_when_present():
    """An extract chosen for the prompt (a seed's context) is what the fields describe."""
    water, induction = (by_topic(seeds())[t] for t in ("Water cycle", "The problem of induction"))
    doc = Document(text=induction.text, id="x", metadata={keys.TOPIC: "x", keys.CONTEXT: water.text})
    from_context = HeuristicEnricher().enrich(prose(water.text), "x")
    [enriched] = HeuristicEnricher().run(iter([doc]))
    assert enriched.metadata[keys.RELATED_CONCEPTS] == from_context[keys.RELATED_CONCEPTS]
    [from_text] = HeuristicEnricher(use_context=False).run(
        iter([Document(text=induction.text, id="y", metadata={keys.TOPIC: "x", keys.CONTEXT: water.text})])
    )
    assert from_text.metadata[keys.RELATED_CONCEPTS] != from_context[keys.RELATED_CONCEPTS]


def test_enriched_seeds_fill_a_template_and_the_rest_are_counted(tmp_path):
    """Seeds -> topic -> heuristic enrichment -> prompts from a template that names all three fields."""
    import shutil

    templates = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", templates)
    (templates / "en" / "lesson.txt").write_text(LESSON, encoding="utf-8")
    with open(templates / "manifest.toml", "a", encoding="utf-8") as f:
        f.write('\n[formats.lesson]\nshare = 0.0\naudiences = ["college_students"]\n')
    enricher = HeuristicEnricher()
    builder = PromptBuilder(templates_dir=templates, mix={"lesson": 1})
    prompts = run_steps([SeedReader(str(SAMPLE_SEEDS)), TopicExtractor(), enricher, builder])
    stats, enriched = stats_of(builder), stats_of(enricher)
    assert enriched["enriched"] == 30
    skipped = sum(v for k, v in stats.items() if k.startswith("skipped_missing_"))
    assert len(prompts) == stats["prompts"] == 30 - skipped == 30 - enriched.get("no_prerequisites", 0)
    assert len(prompts) >= 25
    for doc in prompts:
        meta, prompt = doc.metadata, doc.metadata[keys.PROMPT]
        assert f"Relate it to {', '.join(meta[keys.RELATED_CONCEPTS])}.\n" in prompt
        assert f"Assume the reader knows {', '.join(meta[keys.PREREQUISITES])}.\n" in prompt
        assert f" at a {meta[keys.DIFFICULTY].replace('_', ' ')} level " in prompt.replace(
            "elementary school", "elementary"
        )


def test_bad_configuration_fails_fast():
    with pytest.raises(ConfigError, match="max_related >= 1"):
        HeuristicEnricher(max_related=0)
    with pytest.raises(ConfigError, match="needs a generation block"):
        TopicEnricher(HeuristicEnricher())


def llm_enricher(tmp_path, sampling=None, **kwargs) -> TopicEnricher:
    """TopicEnricher on SmolLM2 (no engine starts until it runs; a sampling dict imports vLLM)."""
    from cosmo_blocks.generation import VLLMGenerator

    generator = VLLMGenerator(
        model="smollm2-135m",
        sampling=sampling,
        engine_kwargs=ENGINE_KWARGS,
        journal_dir=tmp_path / "journal",
        seed=0,
    )
    return TopicEnricher(generator, **kwargs)


def test_llm_question_names_the_topic_its_taxonomy_and_an_extract(tmp_path):
    enricher = llm_enricher(tmp_path, context_chars=120)
    meta = {keys.TOPIC: "Isotopes", keys.CATEGORY: "Chemistry", keys.SUBCATEGORY: "Atomic structure"}
    doc = Document(
        text="Isotopes are atoms of one element with different numbers of neutrons. " * 5,
        id="d",
        metadata=meta,
    )
    question = enricher.prompt(doc)
    assert question.startswith(
        "Topic: Isotopes\nCategory: Chemistry\nSubcategory: Atomic structure\nExtract: "
    )
    assert question.count("Isotopes are atoms") == 1  # cut at a sentence within 120 characters
    assert all(level in question for level in DIFFICULTY_LEVELS)
    assert "Extract" not in llm_enricher(tmp_path, context_chars=0).prompt(doc)
    schema = enricher.schema
    assert schema == enrichment_schema() and schema["properties"][keys.DIFFICULTY]["enum"] == list(
        DIFFICULTY_LEVELS
    )
    assert schema["required"] == list(keys.ENRICHMENT_FIELDS)
    # the answer is applied cleaned: stripped, without duplicates or the topic
    answer = {
        keys.RELATED_CONCEPTS: [" Neutrons ", "neutron", "isotopes", "* Atomic mass."],
        keys.DIFFICULTY: "high_school",
        keys.PREREQUISITES: ["atoms"],
    }
    [applied] = enricher.apply(doc, answer)
    assert applied.metadata[keys.RELATED_CONCEPTS] == ["Neutrons", "Atomic mass"]
    assert (
        applied.metadata[keys.PREREQUISITES] == ["atoms"]
        and applied.metadata[keys.DIFFICULTY] == "high_school"
    )


def test_llm_mode_every_topic_gets_all_three_fields(tmp_path):
    """SmolLM2-135M with structured outputs: every topic answered, parsed and typed like the heuristic's."""
    topics = seeds()[::3]
    # room for the longest answer the schema allows (11 phrases of 40 characters, a token each at worst)
    enricher = llm_enricher(tmp_path, sampling={"preset": "small", "max_tokens": 512})
    out = list(enricher.run(iter(topics)))
    assert sorted(d.id for d in out) == sorted(d.id for d in topics)
    for doc in out:
        assert_enriched(doc)
        assert doc.text == next(t.text for t in topics if t.id == doc.id)  # the seed itself, unchanged
    stats = stats_of(enricher)
    assert stats["asked"] == stats["answered"] == stats["enriched"] == len(topics)
    assert not [k for k in stats if k.startswith(("unparsed_", "unanswered"))]
