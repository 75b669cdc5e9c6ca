"""ScienceExperimentFilter and HistoricalDatesFilter on hand-written documents, on 300 real SmolLM2
generations, and in a real datatrove executor run.

No real experiment or history-analysis generations exist yet, so tests/filters/data/domains/
science_*.txt and history_*.txt are written by hand (format as in test_math_answer.py).
"""

import json

import pytest
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters.math_answer import MathAnswerFilter
from cosmo_blocks.filters.structure import HistoricalDatesFilter, ScienceExperimentFilter
from cosmo_blocks.writers import CosmopediaJsonlWriter
from tests.conftest import read_jsonl
from tests.filters.test_math_answer import hand_written, smollm2, verdict

# the year the hand-written histories are read in; "the future" is after it
YEAR = 2026


@pytest.mark.parametrize(
    "name,doc,expect", hand_written("science"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_hand_written_experiments(name, doc, expect):
    assert verdict(ScienceExperimentFilter().filter(doc)) == expect


@pytest.mark.parametrize(
    "name,doc,expect", hand_written("history"), ids=lambda v: v if isinstance(v, str) else ""
)
def test_hand_written_histories(name, doc, expect):
    assert verdict(HistoricalDatesFilter(latest_year=YEAR).filter(doc)) == expect


@pytest.mark.parametrize(
    "text,reason",
    [
        ("World War I began in 1914 and ended in 1918. It changed Europe.", None),
        ("The war began in 1914. Europe changed forever when it began in 1916.", "inconsistent_dates"),
        ("World War I (1914–1918) was long. World War I began in 1916.", "inconsistent_dates"),
        ("The French Revolution began in 1789. The Russian Revolution began in 1917.", None),
        ("Some historians claim the war began in 1913. In fact, the war began in 1914.", None),
        ("The war lasted from 1918 to 1914.", "end_before_start"),
        ("The alliance held between 1945 and 1939.", "end_before_start"),
        ("The Great War (1918–1914) was long.", "end_before_start"),
        ("Lincoln was born in 1865 and died in 1809.", "end_before_start"),
        ("Lincoln was born in 1809 and died in 1865. The Civil War (1861–65) divided the nation.", None),
        ("The Korean War (1950-53) ended in an armistice. It ended in 1953.", None),
        ("The fall of Rome, from 1200 to 1000 BC, is another story.", None),
        ("The treaty was signed in 2090 by both sides.", "future_date"),
        ("The Green Deal (2020–2050) sets targets. The treaty was signed in 2019.", None),
        ("Marie Curie was born in 1867. She died in 1834.", "end_before_start"),
        ("The war ended in 1918. He was born in 1920 in Vienna.", None),
        ("By 2050, historians will know more.", None),
        ("1918년부터 1914년까지 전쟁이 이어졌다.", "end_before_start"),
        ("The report covers 1998–02 in detail.", None),
    ],
)
def test_date_checks(text, reason):
    assert HistoricalDatesFilter(formats=None, latest_year=YEAR).check(text) == reason


def test_science_parts_can_be_left_out():
    doc = next(d for name, d, _ in hand_written("science") if name == "science_no_safety")
    assert ScienceExperimentFilter(require=("materials", "steps")).filter(doc) is True


def test_other_formats_pass_untouched():
    docs = smollm2()
    for f in (ScienceExperimentFilter(), HistoricalDatesFilter(latest_year=YEAR)):
        assert all(f.filter(doc) is True for doc in docs)
        assert f.stats["other_format"].total == 300


def test_real_generations_have_no_contradictory_dates():
    """Read as if each were a history analysis, none of the 300 real generations is dropped."""
    f = HistoricalDatesFilter(formats=None, latest_year=YEAR)
    assert [doc.id for doc in smollm2() if f.filter(doc) is not True] == []


@pytest.mark.parametrize(
    "make",
    [
        lambda: ScienceExperimentFilter(formats=[]),
        lambda: ScienceExperimentFilter(require=("goggles",)),
        lambda: HistoricalDatesFilter(formats="history_analysis"),
    ],
)
def test_bad_configuration_fails_fast(make):
    with pytest.raises(ConfigError):
        make()


class Docs(PipelineStep):
    name = "domain docs"

    def __init__(self, docs):
        super().__init__()
        self.docs = docs

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        yield from self.docs


def test_domain_checks_in_an_executor_keep_and_drop_by_named_reason(tmp_path):
    """All three checks in one pipeline: each drops only its own format, with its reason."""
    labelled = hand_written("math") + hand_written("science") + hand_written("history")
    rejects = CosmopediaJsonlWriter(str(tmp_path / "rejects"), rejects=True)
    pipeline = [
        Docs([doc for _, doc, _ in labelled]),
        MathAnswerFilter(exclusion_writer=rejects),
        ScienceExperimentFilter(exclusion_writer=rejects),
        HistoricalDatesFilter(latest_year=YEAR, exclusion_writer=rejects),
        CosmopediaJsonlWriter(str(tmp_path / "kept")),
    ]
    LocalPipelineExecutor(pipeline, tasks=1, workers=1, logging_dir=str(tmp_path / "logs")).run()

    rejected = {
        r["id"]: r["filter_reason"] for p in (tmp_path / "rejects").glob("*.jsonl") for r in read_jsonl(p)
    }
    kept = {r["id"] for p in (tmp_path / "kept").glob("*.jsonl") for r in read_jsonl(p)}
    assert rejected == {name: expect for name, _, expect in labelled if expect}
    assert kept == {name for name, _, expect in labelled if not expect}
    stats = json.loads((tmp_path / "logs" / "stats.json").read_text())
    by_name = {step["name"].split(": ", 1)[-1]: step["stats"] for step in stats}
    assert by_name["🧪 Science experiment"]["other_format"] == 17
    assert by_name["📜 Historical dates"]["dropped_inconsistent_dates"] == 2
    assert by_name["🧮 Math answer"]["answer_unchecked"] == 1
