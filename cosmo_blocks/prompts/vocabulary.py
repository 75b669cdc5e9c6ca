"""The `format`, `audience` and `seed_data` values of the released Cosmopedia, and ours.

Our prompts (prompts/manifest.toml) and seed readers use the released values wherever they mean
the same thing, so one filter, `format == "blogpost"` or `seed_data == "auto_math_text"`, selects
the released records and ours alike. Values with no released counterpart are ours, listed in the
OURS_* sets; a test holds the manifest to these lists, so a misspelt released name fails it.

Where the released values were found:
- seed_data: the eight configs of HuggingFaceTB/cosmopedia (v0.1; its dataset card's
  `config_name`s), one per seed source; huggingface/cosmopedia builds each one's prompts in
  prompts/<subset>/. The v2 records (HuggingFaceTB/smollm-corpus, config cosmopedia-v2) reuse
  `stanford`, `openstax`, `khanacademy` and `auto_math_text`.
- format: v0.1's as counted in its 100k-record sample HuggingFaceTB/cosmopedia-100k
  (textbook_academic_tone, blogpost, educational_piece, story_*, textbook_narrative ...); v2's as
  filtered on by code that reads the cosmopedia-v2 parquet (textbook,
  textbook_unconditionned_topic, e-learning_module, scientific_article, story, dialogue ...).
  huggingface/cosmopedia's prompt scripts name some styles otherwise than the released column
  (the web samples' `textbook_academic` is `textbook_academic_tone` in v0.1's records).
- audience: the same two sources. The release spells two of them `high_school_studnets` and
  `college_studnets`; we write those exactly as released, since a correctly spelt value would
  match no released record. `college_students` is spelt both ways in the release; we use the
  correct one.
"""

# seed_data: HuggingFaceTB/cosmopedia's configs, named after the seed source of each
RELEASED_SEED_DATA = frozenset(
    {
        "web_samples_v1",  # web pages clustered by topic (RefinedWeb), first batch
        "web_samples_v2",  # web pages clustered by topic, second batch (still v0.1)
        "stanford",  # Stanford course outlines (not the Stanford Encyclopedia of Philosophy)
        "stories",  # UltraChat and OpenHermes samples
        "wikihow",  # wikiHow article titles
        "openstax",  # OpenStax textbook outlines
        "khanacademy",  # Khan Academy course outlines
        "auto_math_text",  # AutoMathText web pages
    }
)

RELEASED_FORMATS = frozenset(
    {
        # v0.1
        "textbook_academic_tone",
        "textbook_narrative",
        "blogpost",
        "wikihow",
        "educational_piece",
        "story_children",
        "story_morality",
        "story_life_lessons",
        "story_forums",
        "story_reddit",
        # v2
        "textbook",
        "textbook_unconditionned_topic",  # sic
        "textbook_academic",
        "e-learning_module",
        "scientific_article",
        "story",
        "dialogue",
    }
)

RELEASED_AUDIENCES = frozenset(
    {
        "general",
        "young_children",
        "children",
        "grade_school_students",
        "middle_school_students",
        "high_school_studnets",  # sic: the only high-school spelling in the release
        "college_students",
        "college_studnets",  # sic: alongside college_students
        "researchers",
        "alien",
        "requires_details",
    }
)

# Ours, with no released counterpart
OURS_FORMATS = frozenset(
    {
        "forum_qa",  # a question and its answer; story_forums is a story
        "course_outline",  # the stanford recipe's first stage: chapters and their sub-units
        "code_textbook",  # the v2 domains: a textbook section whose Python runs
        "math_solution",  # a worked solution ending in a checked final answer
        "science_experiment",  # materials, steps and safety notes
        "history_analysis",  # an event's causes and consequences, dates consistent
    }
)
OURS_AUDIENCES = frozenset({"teenagers"})  # a story audience between children and general
OURS_SEED_DATA = frozenset(
    {
        "generic",
        "wikipedia",
        "openwebmath",
        "stanford_encyclopedia",  # Stanford Encyclopedia of Philosophy entries
        # the seeds of the v2 domain recipes
        "programming_topics",
        "math_problems",
        "science_phenomena",
        "historical_events",
    }
)
