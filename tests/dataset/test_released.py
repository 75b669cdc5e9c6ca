"""CosmopediaReader and CosmopediaFilter on parquet files in each released schema and on our own output.

The released rows are hand-written with the released column names, order and types (v0.1:
HuggingFaceTB/cosmopedia; v0.2: smollm-corpus cosmopedia-v2) and values from the released
vocabulary; ours are written by CosmopediaParquetWriter and CosmopediaJsonlWriter.
"""

import json
from pathlib import Path

import fsspec
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datatrove.data import Document
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks import keys
from cosmo_blocks.dataset.released import CosmopediaFilter, CosmopediaReader
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.writers.cosmopedia import CosmopediaJsonlWriter, CosmopediaParquetWriter

# (key, format, audience, seed_data, prompt, text); `key` marks the rows the filter below must keep
ROWS = [
    (
        "keep-textbook",
        "textbook_academic_tone",
        "college_students",
        "web_samples_v1",
        'Here is an extract from a webpage: "Fractions..." Write a course unit, within the context of '
        '"Mathematics".',
        "Adding fractions with unlike denominators starts with a common denominator.",
    ),
    (
        "keep-narrative",
        "textbook_narrative",
        "college_students",
        "auto_math_text",
        "Write an extensive course unit about Mathematical induction.",
        "Induction proves a statement for every natural number in two steps.",
    ),
    (
        "drop-format",
        "story_children",
        "young_children",
        "stories",
        "Write a story for young children about Math games at recess.",
        "Lily counted the apples twice.",
    ),
    (
        "drop-audience",
        "textbook_academic_tone",
        "high_school_studnets",
        "openstax",
        "Write a course unit on algebra and math.",
        "Solving for x means isolating it.",
    ),
    (
        "drop-seed",
        "textbook_academic_tone",
        "college_students",
        "khanacademy",
        "Write a course unit on math.",
        "A vector has magnitude and direction.",
    ),
    (
        "drop-topic",
        "textbook_academic_tone",
        "college_students",
        "stanford",
        "Write a course unit on the aftermath of the French Revolution.",
        "The mathematics of taxation mattered too, the text says in passing.",
    ),
]
KEEP = {"keep-textbook", "keep-narrative"}
FILTER = {
    "format": ["textbook*", "wikihow"],
    "audience": "college_students",
    "seed_data": ["web_samples_v1", "auto_math_text", "stanford"],
    "topic": "math",
}


def released_table(version: str) -> pa.Table:
    """The rows with the released schema: v0.1 carries `text_token_length`, v0.2 `token_length`."""
    columns = {
        "prompt": [r[4] for r in ROWS],
        "text": [f"{r[0]}: {r[5]}" for r in ROWS],
        "seed_data": [r[3] for r in ROWS],
        "format": [r[1] for r in ROWS],
        "audience": [r[2] for r in ROWS],
    }
    lengths = pa.array([100 + i for i in range(len(ROWS))], pa.int64())
    if version == "v0.1":
        order = ["prompt", "text_token_length", "text", "seed_data", "format", "audience"]
        columns["text_token_length"] = lengths
    else:
        order = ["prompt", "text", "token_length", "audience", "format", "seed_data"]
        columns["token_length"] = lengths
    return pa.table({name: columns[name] for name in order})


def our_documents(kind: str) -> list[Document]:
    """Our records: the topic in its own column, a prompt without it (the filter must read the topic)."""
    topics = {"keep-textbook": "Mathematics of fractions", "keep-narrative": "Math proofs"}
    return [
        Document(
            text=f"{key}: {text}",
            id=f"ours-{kind}-{key}",
            metadata={
                keys.FORMAT: fmt,
                keys.AUDIENCE: audience,
                keys.SEED_DATA: seed,
                keys.TOPIC: topics.get(key, "Gardening"),
                keys.PROMPT: "Write the text.",
                keys.TOKEN_LENGTH: 200,
            },
        )
        for key, fmt, audience, seed, _prompt, text in ROWS
    ]


@pytest.fixture(scope="module")
def collection(tmp_path_factory) -> Path:
    """One folder: v0.1 and v0.2 parquet, our parquet and jsonl, and a README.md as a dataset repo has."""
    root = tmp_path_factory.mktemp("cosmopedia")
    for version in ("v0.1", "v0.2"):
        (root / version).mkdir()
        pq.write_table(released_table(version), root / version / "train-00000-of-00001.parquet")
    for kind, writer in (("parquet", CosmopediaParquetWriter), ("jsonl", CosmopediaJsonlWriter)):
        with writer(str(root / f"ours-{kind}")) as out:
            for doc in our_documents(kind):
                out.write(doc, rank=0)
    (root / "README.md").write_text("---\nlicense: apache-2.0\n---\n")
    return root


def read(folder: str, **options) -> list[Document]:
    return list(CosmopediaReader(folder, **options).run())


def test_one_reader_reads_both_released_schemas_and_our_output(collection):
    docs = read(str(collection))
    assert len(docs) == 4 * len(ROWS)
    for doc in docs:
        meta = doc.metadata
        assert isinstance(meta[keys.TOKEN_LENGTH], int) and meta[keys.TOKEN_COUNT] == meta[keys.TOKEN_LENGTH]
        assert "text_token_length" not in meta
        assert {meta[keys.FORMAT], meta[keys.AUDIENCE], meta[keys.SEED_DATA]} <= {
            c for r in ROWS for c in r[1:4]
        }
    v01 = [d for d in docs if "v0.1" in d.metadata["file_path"]]
    assert [d.metadata[keys.TOKEN_LENGTH] for d in v01] == [100 + i for i in range(len(ROWS))]
    assert sum(d.id.startswith("ours-") for d in docs) == 2 * len(ROWS)


def test_one_filter_selects_from_every_schema(collection, tmp_path):
    out, logs = tmp_path / "out", tmp_path / "logs"
    pipeline = [
        CosmopediaReader(str(collection)),
        CosmopediaFilter(**FILTER),
        JsonlWriter(str(out), compression=None),
    ]
    LocalPipelineExecutor(pipeline, tasks=1, logging_dir=str(logs)).run()
    kept = [orjson.loads(line) for path in out.glob("*.jsonl") for line in path.open("rb")]
    assert sorted(r["text"].split(":")[0] for r in kept) == sorted(list(KEEP) * 4)
    stats = {s["name"].split(": ")[-1]: s["stats"] for s in json.loads((logs / "stats.json").read_text())}
    assert stats[CosmopediaReader.name]["skipped_files"] == 1  # README.md
    dropped = stats[CosmopediaFilter.name]
    for reason in ("not_format", "not_audience", "not_seed_data", "not_topic"):
        assert dropped[f"dropped_{reason}"] == 4, reason


def test_topic_keyword_reads_the_topic_or_else_the_prompt():
    topic = CosmopediaFilter(topic=["MATH", "biology"])

    def keeps(**meta) -> bool:
        return topic.filter(Document(text="mathematics everywhere", id="x", metadata=meta)) is True

    assert keeps(topic="Discrete mathematics", prompt="")
    assert keeps(topic="", prompt='..., within the context of "Math Olympiad".')
    assert not keeps(topic="Gardening", prompt="math")  # a topic, when there is one, decides
    assert not keeps(topic="The aftermath", prompt="")  # keywords start a word
    assert not keeps()  # the text is not searched
    assert keeps(topic="Marine Biology")


@pytest.mark.parametrize("scheme", ["file", "memory"])
def test_reads_through_an_fsspec_url(collection, scheme):
    if scheme == "file":
        url = f"file://{collection}/v0.2"
    else:
        url = "memory://cosmopedia-test/v0.2"
        with fsspec.open(f"{url}/train-00000-of-00001.parquet", "wb") as f:
            f.write((collection / "v0.2" / "train-00000-of-00001.parquet").read_bytes())
    docs = list(CosmopediaFilter(format="textbook_narrative").run(CosmopediaReader(url).run()))
    assert [d.text.split(":")[0] for d in docs] == ["keep-narrative"]


def test_bad_configuration_fails_fast():
    for options in ({}, {"format": []}, {"audience": ["", "general"]}):
        with pytest.raises(ConfigError):
            CosmopediaFilter(**options)
    with pytest.raises(ConfigError):
        CosmopediaReader("/tmp", file_format="csv")


def test_a_missing_folder_is_an_error_unless_an_earlier_stage_writes_it(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        CosmopediaReader(str(tmp_path / "typo"))
    reader = CosmopediaReader(str(tmp_path / "generated"), from_earlier_stage=True)
    assert list(reader.run(None, 0, 1)) == []  # the earlier stage kept nothing: no folder
    (tmp_path / "generated").mkdir()
    assert list(reader.run(None, 0, 1)) == []  # ... or an empty one
    assert reader.stats.stats["no_input_files"].total == 2
