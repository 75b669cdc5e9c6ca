"""Metadata keys, named once and used everywhere.

Every block reads and writes `Document.metadata` through these names, so a
rename happens here and nowhere else.
"""

SEED_ID = "seed_id"
SEED_DATA = "seed_data"
TITLE = "title"
URL = "url"
TOPIC = "topic"
CONTEXT = "context"
FORMAT = "format"
AUDIENCE = "audience"
LANGUAGE = "language"
PROMPT = "prompt"
# the chat's system message for a prompt, when its template has one (<format>.system.txt)
SYSTEM_PROMPT = "system_prompt"
MODEL = "model"
FINISH_REASON = "finish_reason"
PROMPT_TOKENS = "prompt_tokens"
TOKEN_LENGTH = "token_length"
# the same count under the name datatrove's stats and TokensCounter/LengthCounter read
TOKEN_COUNT = "token_count"
VARIANT = "variant"
# why a filter dropped a document; exclusion writers keep it beside the record
FILTER_REASON = "filter_reason"
# text before a cleanup block changed it
ORIGINAL_TEXT = "original_text"
# discovery: the v1 cluster a seed was assigned to; the v2 taxonomy path of a retrieved page
CLUSTER = "cluster"
CATEGORY = "category"
SUBCATEGORY = "subcategory"
SUBTOPIC = "subtopic"
# enrichment of a topic, usable as template fields
RELATED_CONCEPTS = "related_concepts"
DIFFICULTY = "difficulty"
PREREQUISITES = "prerequisites"
ENRICHMENT_FIELDS = (RELATED_CONCEPTS, DIFFICULTY, PREREQUISITES)
# a mixed dataset: which corpus a record came from ("synthetic", or the real corpus's name)
SOURCE = "source"
# a seed's known final answer (GSM8K's "... #### 72" too), checked by MathAnswerFilter
ANSWER = "answer"
# BenchmarkDecontaminator: on a dropped document, the benchmark, item id and matched share it hit
CONTAMINATED_BENCHMARK = "contaminated_benchmark"
CONTAMINATED_ITEM = "contaminated_item"
CONTAMINATED_RATIO = "contaminated_ratio"
# CodeExecutionFilter: True when a document's code was not run (no sandbox, or a module missing there)
CODE_UNVERIFIED = "code_unverified"

# The released Cosmopedia columns, then ours.
COSMOPEDIA_COLUMNS = ("prompt", "text", "token_length", "seed_data", "format", "audience")
EXTRA_COLUMNS = (
    "id",
    SEED_ID,
    TOPIC,
    LANGUAGE,
    MODEL,
    FINISH_REASON,
    TOKEN_COUNT,
    ORIGINAL_TEXT,
    CODE_UNVERIFIED,
    SOURCE,
)
OUTPUT_COLUMNS = COSMOPEDIA_COLUMNS + EXTRA_COLUMNS
