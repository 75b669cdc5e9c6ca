"""PromptBuilder and the template files under prompts/."""

import hashlib
import re
import shutil
from collections import Counter

import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.prompts import PromptBuilder, TemplateError, load_catalog
from cosmo_blocks.prompts.builder import SYSTEM_PROMPT
from cosmo_blocks.seeds import SeedReader, TopicExtractor
from tests.conftest import REPO, run_cli, run_steps, stats_of


def build(seeds, **kwargs):
    builder = PromptBuilder(**kwargs)
    return run_steps([SeedReader(str(seeds)), TopicExtractor(), builder]), builder


def read_seeds(seeds) -> dict:
    """The seeds as PromptBuilder receives them, by seed id."""
    return {d.metadata[keys.SEED_ID]: d for d in run_steps([SeedReader(str(seeds)), TopicExtractor()])}


def expected_prompts(builder, seed, format_, audience) -> set[str]:
    """The template filled with this seed's own values, with and without the topic clause."""
    meta, language = seed.metadata, builder.language
    return {
        builder.catalog.template(format_, language).render(
            topic=meta[keys.TOPIC],
            context=meta[keys.CONTEXT],
            audience=builder.catalog.audience_names[language][audience],
            topic_clause=topic_clause,
        )
        for topic_clause in (False, True)
    }


def template_copy(tmp_path):
    templates = tmp_path / "prompts"
    shutil.copytree(REPO / "prompts", templates)
    return templates


def test_every_format_has_english_and_the_seed_languages_have_korean():
    catalog = load_catalog()
    formats = set(catalog.formats)
    assert formats == {"textbook", "blogpost", "story", "wikihow", "forum_qa"}
    shares = {name: spec["share"] for name, spec in catalog.formats.items()}
    assert shares == {"textbook": 0.35, "blogpost": 0.25, "story": 0.20, "wikihow": 0.10, "forum_qa": 0.10}
    for language in ("en", "ko"):
        for format_ in formats:
            assert catalog.template(format_, language).text.strip()
    assert set(catalog.formats["story"]["audiences"]) == {"children", "teenagers", "general"}


def test_same_seeds_same_prompts_and_ids(sample_seeds):
    first, _ = build(sample_seeds, variants=2)
    second, _ = build(sample_seeds, variants=2)
    assert [(d.id, d.metadata[keys.PROMPT]) for d in first] == [
        (d.id, d.metadata[keys.PROMPT]) for d in second
    ]
    assert len({d.id for d in first}) == 60


def test_each_prompt_carries_its_seed_and_its_filled_template(sample_seeds):
    seeds = read_seeds(sample_seeds)
    assert sum("{" in s.metadata[keys.CONTEXT] for s in seeds.values()) > 0  # LaTeX braces pass through
    docs, builder = build(sample_seeds)
    assert [d.metadata[keys.SEED_ID] for d in docs] == list(seeds)
    clauses = Counter()
    for doc in docs:
        meta, seed = doc.metadata, seeds[doc.metadata[keys.SEED_ID]]
        assert doc.id == f"{seed.metadata[keys.SEED_ID]}/0"
        # the seed's own fields (seed_id, seed_data, topic, title...) unchanged, the extract left out
        added = {keys.FORMAT, keys.AUDIENCE, keys.LANGUAGE, keys.VARIANT, keys.PROMPT}
        kept = {k: v for k, v in seed.metadata.items() if k not in added and k != keys.CONTEXT}
        assert {k: v for k, v in meta.items() if k not in added} == kept
        assert {keys.SEED_ID, keys.SEED_DATA, keys.TOPIC} <= set(kept)
        assert meta[keys.LANGUAGE] == "en" and meta[keys.VARIANT] == 0 and meta[keys.FORMAT] in builder.mix
        assert meta[keys.AUDIENCE] in builder.catalog.formats[meta[keys.FORMAT]]["audiences"]
        assert meta[keys.PROMPT] in expected_prompts(builder, seed, meta[keys.FORMAT], meta[keys.AUDIENCE])
        clauses["within the context of" in meta[keys.PROMPT]] += 1
    assert clauses[True] and clauses[False]  # both renderings were checked
    stats = stats_of(builder)
    assert stats["prompts"] == 30
    assert sum(v for k, v in stats.items() if k.startswith("format_")) == 30


def test_mix_shares_are_followed_on_many_seeds(tmp_path):
    from tests.conftest import write_jsonl

    seeds = write_jsonl(tmp_path / "s.jsonl", [{"id": f"x{i}", "text": f"Seed {i}."} for i in range(4000)])
    docs, _ = build(seeds)
    counts = Counter(d.metadata[keys.FORMAT] for d in docs)
    for name, share in {
        "textbook": 0.35,
        "blogpost": 0.25,
        "story": 0.2,
        "wikihow": 0.1,
        "forum_qa": 0.1,
    }.items():
        assert abs(counts[name] / 4000 - share) < 0.03, counts
    clause = sum("within the context of" in d.metadata[keys.PROMPT] for d in docs) / 4000
    assert 0.45 < clause < 0.55


def test_audience_shares_are_followed_on_many_seeds(tmp_path):
    """Cosmopedia v2's textbook audiences: middle school 40%, college 30%, the others the rest."""
    from tests.conftest import write_jsonl

    seeds = write_jsonl(tmp_path / "s.jsonl", [{"id": f"x{i}", "text": f"Seed {i}."} for i in range(4000)])
    shares = {
        "middle_school_students": 0.4,
        "college_students": 0.3,
        "high_school_studnets": 0.15,
        "general": 0.15,
        "teenagers": 0.5,
    }
    docs, _ = build(seeds, mix={"textbook": 1}, audiences=shares)
    counts = Counter(d.metadata[keys.AUDIENCE] for d in docs)
    # teenagers: stories only
    assert set(counts) == {"middle_school_students", "college_students", "high_school_studnets", "general"}
    for name in counts:
        assert abs(counts[name] / 4000 - shares[name]) < 0.03, counts
    with pytest.raises(ConfigError, match="audience shares must be numbers >= 0"):
        build(seeds, audiences={"college_students": -1})


def test_variants_are_distinct(sample_seeds):
    docs, _ = build(sample_seeds, variants=3)
    by_seed = {}
    for d in docs:
        by_seed.setdefault(d.metadata[keys.SEED_ID], set()).add(
            (d.metadata[keys.FORMAT], d.metadata[keys.AUDIENCE])
        )
    assert all(len(combos) == 3 for combos in by_seed.values())


def test_restricting_mix_and_audience(sample_seeds):
    docs, _ = build(sample_seeds, mix={"story": 1}, audiences=["teenagers"], language="ko")
    assert {(d.metadata[keys.FORMAT], d.metadata[keys.AUDIENCE]) for d in docs} == {("story", "teenagers")}
    assert "청소년" in docs[0].metadata[keys.PROMPT]


def test_unknown_format_or_audience_fails_fast():
    with pytest.raises(TemplateError, match="unknown format.*'textbok'"):
        PromptBuilder(mix={"textbok": 1})
    with pytest.raises(TemplateError, match="unknown audience.*'toddlers'"):
        PromptBuilder(audiences=["toddlers"])
    with pytest.raises(TemplateError, match="no template for format '.*' in language 'fr'"):
        PromptBuilder(language="fr")


def assert_instruction_first(catalog_dir=None):
    """In every template of every language, rendered: the fixed instruction (its opening sentence,
    its list of requirements) and the topic before the seed's extract, and after the extract only
    the line that cues the answer. A shared prefix first is what vLLM's prefix cache reuses."""
    catalog = load_catalog(catalog_dir)
    topic, extract = "TOPIC-7f3a", "EXTRACT-c41d opens the seed.\nIts second line."
    enrichment = {
        keys.RELATED_CONCEPTS: ["RELATED-9b2e"],
        keys.DIFFICULTY: "college",
        keys.PREREQUISITES: ["PREREQ-e5d0"],
    }
    meta = {keys.SEED_ID: "s", keys.TOPIC: topic, keys.CONTEXT: extract} | enrichment
    seed = Document(text="", id="s", metadata=meta)
    for name, template in catalog.templates.items():
        language, format_ = name.split("/")
        builder = PromptBuilder(language=language, topic_clause_share=1.0, templates_dir=catalog_dir)
        first_line = template.text.split("\n", 1)[0]
        opening = [
            literal.strip() for literal in re.split(r"\{\{.*?\}\}|\{%.*?%\}", first_line) if literal.strip()
        ]
        requirements = [line for line in template.text.splitlines() if line.startswith("- ")]
        assert opening and len(requirements) >= 3, name
        prompt = builder.render(seed, format_, catalog.formats[format_]["audiences"][0], 0)
        start = prompt.index(extract)
        # the enrichment clause, where a template has one, belongs to the instruction too
        clause = ["RELATED-9b2e", "PREREQ-e5d0"] if keys.RELATED_CONCEPTS in template.fields else []
        for text in [*opening, *requirements, topic, *clause]:
            assert prompt.index(text) + len(text) <= start, (name, text)
        cue = prompt[start + len(extract) :].strip().strip('"').strip()
        assert cue and "\n" not in cue, (name, cue)
    return catalog


def test_instruction_before_extract_in_every_format_and_language():
    catalog = assert_instruction_first()
    assert {name.split("/")[0] for name in catalog.templates} == {"en", "ko"}
    assert len(catalog.templates) == 2 * len(catalog.formats)


def test_instruction_check_catches_an_extract_moved_up(tmp_path):
    templates = template_copy(tmp_path)
    story = templates / "ko" / "story.txt"
    text = story.read_text(encoding="utf-8")
    first, rest = text.split("\n", 1)
    story.write_text(first + '\n"{{ context }}"\n' + rest.replace('"{{ context }}"', ""), encoding="utf-8")
    with pytest.raises(AssertionError, match="ko/story"):
        assert_instruction_first(templates)


def test_template_naming_a_missing_field_fails_with_its_name(tmp_path):
    templates = template_copy(tmp_path)
    (templates / "en" / "wikihow.txt").write_text("Write a guide about {{ topic }} for {{ reader_age }}.\n")
    with pytest.raises(TemplateError) as err:
        PromptBuilder(templates_dir=templates)
    assert "wikihow.txt" in str(err.value) and "{reader_age}" in str(err.value)
    assert "no seed provides" in str(err.value)


def test_a_user_adds_a_format_by_adding_a_file(tmp_path, sample_seeds):
    templates = template_copy(tmp_path)
    (templates / "en" / "lecture.txt").write_text(
        'Write lecture notes for {{ audience }}{% if topic_clause %} within the context of "{{ topic }}"'
        "{% endif %} on {{ topic }}:\n{{ context }}\n"
    )
    with open(templates / "manifest.toml", "a") as f:
        f.write('\n[formats.lecture]\nshare = 0.0\naudiences = ["college_students"]\n')
    assert "lecture" not in PromptBuilder(templates_dir=templates).mix  # a share of 0 stays out
    docs, builder = build(sample_seeds, templates_dir=templates, mix={"lecture": 1})
    assert builder.mix == {"lecture": 1.0}
    seeds = read_seeds(sample_seeds)
    assert len(docs) == len(seeds) == 30
    for doc in docs:
        meta = doc.metadata
        assert (meta[keys.FORMAT], meta[keys.AUDIENCE]) == ("lecture", "college_students")
        assert meta[keys.PROMPT].startswith("Write lecture notes for college students")
        assert meta[keys.PROMPT] in expected_prompts(
            builder, seeds[meta[keys.SEED_ID]], "lecture", "college_students"
        )
    assert stats_of(builder)["format_lecture"] == 30


def test_every_prompt_mistake_is_a_config_error(tmp_path):
    """One error type for configuration: the command line prints it as one line."""
    assert issubclass(TemplateError, ConfigError)
    for kwargs in ({"mix": {"textbok": 1}}, {"audiences": ["toddlers"]}, {"language": "fr"}):
        with pytest.raises(ConfigError):
            PromptBuilder(**kwargs)
    with pytest.raises(ConfigError, match="numbers >= 0"):
        PromptBuilder(mix={"story": "half"})
    with pytest.raises(ConfigError, match="variants"):
        PromptBuilder(variants=0)
    templates = template_copy(tmp_path)
    manifest = templates / "manifest.toml"
    good = manifest.read_text(encoding="utf-8")
    manifest.write_text(good + "\n[formats.story\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="manifest.toml is not valid TOML"):
        load_catalog(templates)
    manifest.write_text(
        good.replace('audiences = ["children", "teenagers", "general"]', ""), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"\[formats.story\] .* needs audiences"):
        load_catalog(templates)
    manifest.unlink()
    with pytest.raises(ConfigError, match="no prompt manifest"):
        load_catalog(templates)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "textbok"], "unknown format(s) ['textbok']"),
        (["--audience", "toddlers"], "unknown audience(s) ['toddlers']"),
        (["--language", "fr"], "no template for format"),
    ],
)
def test_prompt_mistakes_print_one_clean_line(sample_seeds, args, message):
    result = run_cli("-m", "cosmo_blocks.cli", "prompts", "render", "--seeds", str(sample_seeds), *args)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.stderr


def test_prompts_render_command(sample_seeds):
    result = run_cli(
        "-m",
        "cosmo_blocks.cli",
        "prompts",
        "render",
        "--seeds",
        str(sample_seeds),
        "-n",
        "3",
        "--format",
        "wikihow",
        "--language",
        "ko",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("=== ") == 3
    assert result.stdout.count("format=wikihow") == 3 and "안내서" in result.stdout


ENRICHED_TEMPLATE = (
    "Write a lesson for {{ audience }} at a {{ difficulty }} level.\n\n"
    "Requirements:\n- Connect it to {{ related_concepts }}.\n- Assume the reader knows {{ prerequisites }}.\n"
    "- No title.\n\nTopic: {{ topic }}\n\nExtract:\n{{ context }}\n\nLesson:\n"
)


def lesson_templates(tmp_path, text=ENRICHED_TEMPLATE, language="en"):
    """A copy of prompts/ with a `lesson` format whose template uses the enrichment fields."""
    templates = template_copy(tmp_path)
    (templates / language / "lesson.txt").write_text(text, encoding="utf-8")
    with open(templates / "manifest.toml", "a", encoding="utf-8") as f:
        f.write('\n[formats.lesson]\nshare = 0.0\naudiences = ["college_students"]\n')
    return templates


def seed(seed_id, **enrichment):
    meta = {keys.SEED_ID: seed_id, keys.TOPIC: f"topic {seed_id}", keys.CONTEXT: f"extract of {seed_id}"}
    return Document(text="", id=seed_id, metadata=meta | enrichment)


ENRICHED = {
    keys.RELATED_CONCEPTS: ["light energy", "chlorophyll", "Calvin cycle"],
    keys.DIFFICULTY: "middle_school",
    keys.PREREQUISITES: ["cells"],
}


def test_enrichment_fields_render_as_phrases(tmp_path):
    builder = PromptBuilder(templates_dir=lesson_templates(tmp_path), mix={"lesson": 1}, topic_clause_share=0)
    [doc] = run_steps([lambda data, rank, world_size: iter([seed("s1", **ENRICHED)]), builder])
    prompt = doc.metadata[keys.PROMPT]
    assert prompt.startswith("Write a lesson for college students at a middle school level.\n")
    assert "- Connect it to light energy, chlorophyll, Calvin cycle.\n" in prompt
    assert "- Assume the reader knows cells.\n" in prompt
    assert doc.metadata[keys.DIFFICULTY] == "middle_school"  # the metadata keeps the level itself
    assert stats_of(builder) == {"prompts": 1, "format_lesson": 1, "audience_college_students": 1}


def test_difficulty_names_follow_the_language_and_the_manifest(tmp_path):
    text = "{{ audience }} {{ difficulty }} \n{{ related_concepts }}\n{{ prerequisites }}\n{{ topic }}\n{{ context }}\n"
    templates = lesson_templates(tmp_path, text, language="ko")
    builder = PromptBuilder(templates_dir=templates, mix={"lesson": 1}, language="ko", topic_clause_share=0)
    [doc] = builder.run(iter([seed("s1", **ENRICHED)]))
    assert doc.metadata[keys.PROMPT].startswith("대학생 중학교 \n")
    with open(templates / "manifest.toml", "a", encoding="utf-8") as f:
        f.write('\n[difficulties.ko]\nmiddle_school = "중학교 2학년"\n')
    builder = PromptBuilder(templates_dir=templates, mix={"lesson": 1}, language="ko", topic_clause_share=0)
    first, second = builder.run(
        iter([seed("s1", **ENRICHED), seed("s2", **ENRICHED | {keys.DIFFICULTY: "expert"})])
    )
    assert first.metadata[keys.PROMPT].startswith("대학생 중학교 2학년 \n")
    assert second.metadata[keys.PROMPT].startswith(
        "대학생 전문가 \n"
    )  # the defaults still cover other levels


def test_a_seed_without_an_enrichment_field_is_a_counted_skip(tmp_path, log_lines):
    templates = lesson_templates(tmp_path)
    builder = PromptBuilder(templates_dir=templates, mix={"lesson": 1}, variants=2)
    seeds = [
        seed("full", **ENRICHED),
        seed("bare"),  # never enriched: counted under {difficulty}, the first field the template names
        seed("no-prereq", **ENRICHED | {keys.PREREQUISITES: []}),  # enriched, nothing found: empty is missing
        seed("no-related", **{k: v for k, v in ENRICHED.items() if k != keys.RELATED_CONCEPTS}),
    ]
    docs = list(builder.run(iter(seeds)))
    assert [d.id for d in docs] == ["full/0", "full/1"]
    assert all(d.metadata[keys.PROMPT] and "{" not in d.metadata[keys.PROMPT] for d in docs)
    stats = stats_of(builder)
    # each variant of a seed is one skipped prompt, counted under the first field it lacks
    assert stats["skipped_missing_related_concepts"] == 2
    assert stats["skipped_missing_prerequisites"] == 2
    assert stats["skipped_missing_difficulty"] == 2
    assert stats["prompts"] == 2
    warnings = [line for line in log_lines if "lesson.txt" in line]
    assert len(warnings) == 3  # once per template and field, not once per seed
    for field in keys.ENRICHMENT_FIELDS:
        assert (
            sum(f"{{{{ {field} }}}}" in line and f"skipped_missing_{field}" in line for line in warnings) == 1
        )


def test_existing_formats_need_no_enrichment(sample_seeds):
    """The bundled templates require no enrichment field: unenriched seeds all get their prompts."""
    assert all(not t.required for t in load_catalog().templates.values())
    docs, builder = build(sample_seeds, variants=2)
    assert len(docs) == 60 and not any(k.startswith("skipped") for k in stats_of(builder))


def test_enrichment_fields_are_known_at_load_and_a_typo_is_not(tmp_path):
    templates = lesson_templates(tmp_path)
    assert load_catalog(templates).template("lesson", "en").required == (
        keys.DIFFICULTY,
        keys.RELATED_CONCEPTS,
        keys.PREREQUISITES,
    )
    (templates / "en" / "lesson.txt").write_text(
        "A {{ difficulty_level }} lesson on {{ topic }}.\n", encoding="utf-8"
    )
    with pytest.raises(TemplateError) as err:
        PromptBuilder(templates_dir=templates, mix={"lesson": 1})
    assert "lesson.txt" in str(err.value) and "{difficulty_level}" in str(err.value)


# sha256 of the quickstart's prompts (ids and texts) for the bundled seeds: a seed without enrichment
# must get exactly these prompts, and any change to them must be deliberate
QUICKSTART_PROMPTS_SHA256 = {
    ("en", 2, None): "2d680a41d78c41d7d8dacc566a2e1ff6fe5a27097c7a39df6777d94fe8b38490",
    ("en", 3, "textbook"): "8d78bd7a5cf60ecff84a27e48c1549ea9ac5018298a6b560868970d8ffe4ce3e",
    ("ko", 2, None): "1c44b44ad851b4f369706f005254874f38bf17c4e234d1e780b09bcb4a0f3b74",
    ("ko", 3, "textbook"): "4edd49c7b0b496e75f62eb2805b2d1f23fe3da91d4dc3cc15bfa134eb9fff71b",
}


def prompts_digest(docs) -> str:
    return hashlib.sha256(
        "\x00".join(f"{d.id}\x01{d.metadata[keys.PROMPT]}" for d in docs).encode()
    ).hexdigest()


def test_seeds_without_enrichment_get_the_prompts_they_had_before(sample_seeds):
    """The prompts the str.format templates gave, byte for byte: the Jinja2 templates changed none."""
    for (language, variants, format_), digest in QUICKSTART_PROMPTS_SHA256.items():
        kwargs = {"language": language, "variants": variants, "mix": {format_: 1} if format_ else None}
        docs, builder = build(sample_seeds, **kwargs)
        assert prompts_digest(docs) == digest, (language, variants, format_)
        assert not any(SYSTEM_PROMPT in d.metadata for d in docs)  # no bundled format has a system prompt
        stats = stats_of(builder)
        assert stats["prompts"] == 30 * variants
        assert not any(k.startswith(("skipped", "with_")) for k in stats)


@pytest.mark.parametrize("language", ["en", "ko"])
def test_enriched_seeds_get_the_enrichment_clause_in_the_textbook(language):
    """The fullest alternative that the seed fills; a partial set a shorter one, or none."""
    builder = PromptBuilder(
        mix={"textbook": 1}, audiences=["college_students"], language=language, topic_clause_share=0
    )
    seeds = [
        seed("full", **ENRICHED),
        seed("no-prereq", **ENRICHED | {keys.PREREQUISITES: []}),
        seed("no-related", **{k: v for k, v in ENRICHED.items() if k != keys.RELATED_CONCEPTS}),
        seed("bare"),
    ]
    prompts = {d.id: d.metadata[keys.PROMPT] for d in builder.run(iter(seeds))}
    assert len(prompts) == 4  # a clause never makes a skip
    first_lines = {seed_id: prompt.split("\n", 1)[0] for seed_id, prompt in prompts.items()}
    bare = first_lines["bare/0"]
    assert bare.endswith(".") if language == "en" else bare.endswith("작성하세요.")
    level = {"en": "middle school", "ko": "중학교"}[language]
    related = "light energy, chlorophyll, Calvin cycle"
    full, no_prereq = first_lines["full/0"], first_lines["no-prereq/0"]
    assert full.startswith(bare) and level in full and related in full and "cells" in full
    assert no_prereq.startswith(bare) and level in no_prereq and related in no_prereq
    assert "cells" not in no_prereq and len(no_prereq) < len(full)
    # without related concepts no alternative fits: the prompt is the unenriched one
    assert prompts["no-related/0"] == prompts["bare/0"].replace("bare", "no-related")
    assert prompts["full/0"].replace(full, bare).replace("full", "bare") == prompts["bare/0"]
    if language == "en":
        assert full == (
            f"{bare} Write it at middle school level for readers who already know cells, "
            f"and relate the topic to {related}."
        )
    stats = stats_of(builder)
    assert not any(k.startswith("skipped") for k in stats)
    # the optional fields each seed had: full all three, no-prereq two, no-related two, bare none
    assert stats == {
        "prompts": 4,
        "format_textbook": 4,
        "audience_college_students": 4,
        "with_difficulty": 3,
        "with_related_concepts": 2,
        "with_prerequisites": 2,
    }


def test_single_braces_and_syntax_errors_fail_at_load_naming_the_file(tmp_path):
    """`{topic}` from a str.format habit would reach the model as it is: an error, with the fix."""
    templates = template_copy(tmp_path)
    story = templates / "en" / "story.txt"
    good = story.read_text(encoding="utf-8")
    story.write_text(good.replace("{{ audience }}", "{audience}"), encoding="utf-8")
    with pytest.raises(TemplateError, match=r"story.txt names field\(s\) \{audience\} with single braces"):
        load_catalog(templates)
    # literal braces stay possible, inside {% raw %}
    story.write_text(good + "{% raw %}{audience}{% endraw %}\n", encoding="utf-8")
    rendered = load_catalog(templates).template("story", "en").render(topic="t", context="c", audience="x")
    assert rendered.endswith("Story:\n{audience}\n")
    story.write_text(good.replace("{% endif %}", ""), encoding="utf-8")
    with pytest.raises(TemplateError, match=r"story.txt line \d+: Unexpected end of template"):
        load_catalog(templates)
    story.write_text(good.replace("{{ topic }}", "{{ topic | titel }}"), encoding="utf-8")
    with pytest.raises(TemplateError, match=r"story.txt line \d+: No filter named 'titel'"):
        load_catalog(templates)


def test_seed_extract_is_data_never_template_syntax(sample_seeds):
    evil = Document(
        text="", id="e", metadata={keys.SEED_ID: "e", keys.TOPIC: "{{ topic }}", keys.CONTEXT: "{% if x %}"}
    )
    builder = PromptBuilder(mix={"story": 1}, topic_clause_share=1.0)
    [doc] = builder.run(iter([evil]))
    assert 'within the context of "{{ topic }}"' in doc.metadata[keys.PROMPT]
    assert '"{% if x %}"' in doc.metadata[keys.PROMPT]


RECIPE_TEMPLATE = (
    "Answer the question of a {{ audience }} reader{% if title %} about {{ title }}{% endif %}.\n\n"
    "Question: {{ question }}\n\nExtract:\n{{ context }}\n\nAnswer:\n"
)


def recipe_templates(tmp_path, text=RECIPE_TEMPLATE, system=None, seed_fields='["question"]'):
    """A copy of prompts/ with an `answer` format whose template uses a recipe's own seed field."""
    templates = template_copy(tmp_path)
    (templates / "en" / "answer.txt").write_text(text, encoding="utf-8")
    if system is not None:
        (templates / "en" / "answer.system.txt").write_text(system, encoding="utf-8")
    manifest = templates / "manifest.toml"
    extra = f"seed_fields = {seed_fields}\n" if seed_fields else ""
    manifest.write_text(extra + manifest.read_text(encoding="utf-8"), encoding="utf-8")
    with open(manifest, "a", encoding="utf-8") as f:
        f.write('\n[formats.answer]\nshare = 0.0\naudiences = ["general"]\n')
    return templates


def test_a_recipe_uses_its_own_seed_fields_and_tests_optional_ones(tmp_path):
    with pytest.raises(
        TemplateError, match=r"answer.txt names field\(s\) \{question\} that no seed provides"
    ):
        PromptBuilder(templates_dir=recipe_templates(tmp_path / "a", seed_fields=None), mix={"answer": 1})
    builder = PromptBuilder(templates_dir=recipe_templates(tmp_path / "b"), mix={"answer": 1})
    template = builder.catalog.template("answer", "en")
    assert template.fields == ("audience", "title", "question", "context")
    assert template.required == ("question",)  # title is tested first: optional
    seeds = [
        seed("titled", question="Why is the sky blue?", title="Rayleigh scattering"),
        seed("untitled", question="Why do leaves fall?"),
        seed("no-question", title="Autumn"),
        seed("blank-question", question="  "),
    ]
    docs = {d.id: d.metadata[keys.PROMPT] for d in builder.run(iter(seeds))}
    assert docs["titled/0"].startswith(
        "Answer the question of a general adult readers reader about Rayleigh scattering.\n\n"
        "Question: Why is the sky blue?\n"
    )
    assert docs["untitled/0"].startswith("Answer the question of a general adult readers reader.\n\n")
    assert set(docs) == {"titled/0", "untitled/0"}
    stats = stats_of(builder)
    assert stats["skipped_missing_question"] == 2 and stats["with_title"] == 1 and stats["prompts"] == 2


def test_a_field_printed_outside_its_test_is_still_a_counted_skip(tmp_path):
    text = "{% if title %}On {{ title }}.{% endif %} Again: {{ title }}\n{{ question }}\n{{ context }}\n"
    builder = PromptBuilder(templates_dir=recipe_templates(tmp_path, text), mix={"answer": 1})
    docs = list(builder.run(iter([seed("t", question="q?", title="T"), seed("u", question="q?")])))
    assert [d.id for d in docs] == ["t/0"] and "On T. Again: T\n" in docs[0].metadata[keys.PROMPT]
    assert stats_of(builder)["skipped_missing_title"] == 1


def test_a_system_prompt_beside_the_template(tmp_path):
    system = "You are a patient tutor for {{ audience }}{% if title %}, expert in {{ title }}{% endif %}.\n"
    builder = PromptBuilder(templates_dir=recipe_templates(tmp_path, system=system), mix={"answer": 1})
    [titled, untitled] = builder.run(
        iter([seed("a", question="q?", title="Optics"), seed("b", question="q?")])
    )
    assert (
        titled.metadata[SYSTEM_PROMPT]
        == "You are a patient tutor for general adult readers, expert in Optics.\n"
    )
    assert untitled.metadata[SYSTEM_PROMPT] == "You are a patient tutor for general adult readers.\n"
    assert "patient tutor" not in titled.metadata[keys.PROMPT]
    templates = recipe_templates(tmp_path / "bad", system="Tutor for {{ age }}.")
    with pytest.raises(
        TemplateError, match=r"answer.system.txt names field\(s\) \{age\} that no seed provides"
    ):
        load_catalog(templates)
    (templates / "en" / "answer.system.txt").unlink()
    (templates / "en" / "lecture.system.txt").write_text("Tutor.", encoding="utf-8")
    with pytest.raises(TemplateError, match="lecture.system.txt has no prompt template beside it"):
        load_catalog(templates)
    manifest = templates / "manifest.toml"
    manifest.write_text(manifest.read_text(encoding="utf-8").replace('["question"]', '"question"'))
    with pytest.raises(TemplateError, match="seed_fields in .* must be a list of names"):
        load_catalog(templates)
