"""Mixer on two real corpora: Debian documentation as the real side, 300 SmolLM2 generations as synthetic.

The synthetic records carry SmolLM2's `token_length`; the Debian pages have none, so their tokens are
estimated (characters / 4). The tests recount the output independently of the Mixer's stats.
"""

import importlib.util
import json
import shutil
from pathlib import Path

import orjson
import pytest
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks import keys
from cosmo_blocks.dataset.mixing import CHARS_PER_TOKEN, SYNTHETIC, Mixer, mix_summary
from cosmo_blocks.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
GENERATIONS = REPO / "tests" / "filters" / "data" / "smollm2" / "labelled.jsonl"
BUILDER = REPO / "benchmarks" / "debian_corpus.py"
REAL = "debian"
FILES_PER_SIDE = 4
# within a task the mix never strays from alpha by more than one document over the tokens emitted:
# the longest Debian page here is ~3,000 tokens of ~100,000 per run
TOLERANCE = 0.03


def split_into(lines: list[bytes], folder: Path, parts: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(parts):
        (folder / f"{i:02d}.jsonl").write_bytes(b"\n".join(lines[i::parts]) + b"\n")
    return folder


@pytest.fixture(scope="module")
def corpora(tmp_path_factory) -> tuple[Path, Path]:
    """(real folder, synthetic folder), each split into FILES_PER_SIDE jsonl files."""
    if shutil.which("groff") is None or not Path("/usr/share/man/man7").is_dir():
        pytest.skip("no manual pages or no groff: install the Debian packages groff-base, manpages")
    spec = importlib.util.spec_from_file_location("debian_corpus", BUILDER)
    builder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(builder)
    root = tmp_path_factory.mktemp("mixing")
    debian = root / "debian.jsonl"
    builder.build_corpus(debian, ["man"], max_per_group=15, groups=["man1", "man5", "man7", "man8"])
    real = split_into(debian.read_bytes().splitlines(), root / "real", FILES_PER_SIDE)
    synthetic = split_into(GENERATIONS.read_bytes().splitlines(), root / "synthetic", FILES_PER_SIDE)
    return real, synthetic


def mix(corpora, out: Path, tasks: int = 2, **options) -> list[dict]:
    real, synthetic = corpora
    mixer = Mixer(JsonlReader(str(real)), JsonlReader(str(synthetic)), real_name=REAL, **options)
    writer = JsonlWriter(str(out / "data"), compression=None)
    LocalPipelineExecutor([mixer, writer], tasks=tasks, workers=1, logging_dir=str(out / "logs")).run()
    return read_records(out / "data")


def read_records(folder: Path) -> list[dict]:
    return [orjson.loads(line) for path in sorted(folder.glob("*.jsonl")) for line in path.open("rb")]


def recount(record: dict) -> int:
    """Tokens of an output record, counted apart from the Mixer: SmolLM2's own count, else chars / 4."""
    token_length = record["metadata"].get(keys.TOKEN_LENGTH)
    return token_length if isinstance(token_length, int) else round(len(record["text"]) / CHARS_PER_TOKEN)


def input_ids(corpora) -> set[str]:
    return {doc.id for reader in map(JsonlReader, map(str, corpora)) for doc in reader.run()}


@pytest.mark.parametrize("alpha", [0.5, 0.3])
def test_mix_reaches_alpha_and_tags_every_record(corpora, tmp_path, alpha):
    records = mix(corpora, tmp_path, alpha=alpha)
    tokens = {SYNTHETIC: 0, REAL: 0}
    for record in records:
        tokens[record["metadata"][keys.SOURCE]] += recount(record)
    achieved = tokens[SYNTHETIC] / sum(tokens.values())
    assert abs(achieved - alpha) <= TOLERANCE, (achieved, tokens)
    summary = mix_summary(tmp_path / "logs" / "stats.json")
    assert summary["tokens"] == tokens
    assert summary["alpha"] == pytest.approx(achieved)
    # the Debian side is the short one: each task stops when it runs out, keeping the ratio
    assert summary["exhausted"] == {REAL: 2}
    assert summary["docs"][REAL] == len(input_ids(corpora[:1]))


def test_same_inputs_and_task_count_give_the_same_output(corpora, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    mix(corpora, first, alpha=0.4)
    mix(corpora, second, alpha=0.4)
    files = sorted(p.name for p in (first / "data").iterdir())
    assert files == sorted(p.name for p in (second / "data").iterdir()) and len(files) == 2
    for name in files:
        assert (first / "data" / name).read_bytes() == (second / "data" / name).read_bytes()


def test_two_tasks_cover_the_records_of_one_task(corpora, tmp_path):
    one = mix(corpora, tmp_path / "one", tasks=1, on_exhausted="emit_rest")
    two = mix(corpora, tmp_path / "two", tasks=2, on_exhausted="emit_rest")
    ids_one, ids_two = [r["id"] for r in one], [r["id"] for r in two]
    assert len(set(ids_two)) == len(ids_two)
    assert set(ids_one) == set(ids_two) == input_ids(corpora)
    stats = json.loads((tmp_path / "two" / "logs" / "stats.json").read_text())[0]["stats"]
    rest = stats[f"rest_{SYNTHETIC}"]
    assert (rest["total"] if isinstance(rest, dict) else rest) > 0
    # stopping at the short side: still no record twice across tasks
    stopped = mix(corpora, tmp_path / "stopped", tasks=2)
    assert len({r["id"] for r in stopped}) == len(stopped) < len(ids_two)


def test_a_tokenizer_counts_every_document(corpora, tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel()
    sample = [line.decode() for line in GENERATIONS.read_bytes().splitlines()[:50]]
    tokenizer.train_from_iterator(sample, trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>"]))
    (tmp_path / "tok").mkdir()
    tokenizer.save(str(tmp_path / "tok" / "tokenizer.json"))
    records = mix(corpora, tmp_path / "out", alpha=0.5, tokenizer=tmp_path / "tok")
    counted = {SYNTHETIC: 0, REAL: 0}
    for record in records:
        counted[record["metadata"][keys.SOURCE]] += len(tokenizer.encode(record["text"]).ids)
    summary = mix_summary(tmp_path / "out" / "logs" / "stats.json")
    assert summary["tokens"] == counted
    assert abs(summary["alpha"] - 0.5) <= TOLERANCE


@pytest.mark.parametrize(
    "options",
    [
        {"alpha": 0},
        {"alpha": 1.2},
        {"on_exhausted": "cycle"},
        {"real_name": SYNTHETIC},
        {"tokenizer": "/nope"},
    ],
)
def test_bad_configuration_fails_fast(options):
    with pytest.raises(ConfigError):
        Mixer(JsonlReader("/tmp"), JsonlReader("/tmp"), **options)
