"""One rejects writer shared by several filters keeps every drop, in a real executor run."""

import copy

import pytest
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers import JsonlWriter

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters import CodeExecutionFilter, CompletenessFilter, LengthFilter, RepetitionFilter
from cosmo_blocks.writers import CosmopediaJsonlWriter, CosmopediaParquetWriter, check_shared_writers
from tests.conftest import read_jsonl
from tests.filters.conftest import load_labelled, sandbox_required

COPIES = 6


class Docs(PipelineStep):
    """The hand-labelled documents, `COPIES` times under new ids, dealt to tasks by rank."""

    name = "labelled docs"

    def __init__(self, docs):
        super().__init__()
        self.docs = docs

    def run(self, data=None, rank: int = 0, world_size: int = 1):
        yield from (copy.deepcopy(doc) for doc in self.docs[rank::world_size])


def labelled_copies():
    """(documents, expected filter per id); the last document of each task is dropped by a later
    filter, after the first filter has already finished its input."""
    docs, expected = [], {}
    labelled = load_labelled()
    last = next(d for name, d, _ in labelled if name == "bad_en_mid_sentence")
    for n in range(COPIES):
        for name, doc, expect in [*labelled, *[("bad_en_mid_sentence", last, {"completeness": "x"})] * 2]:
            doc = copy.deepcopy(doc)
            doc.id = f"{name}/{n}/{len(docs)}"
            docs.append(doc)
            expected[doc.id] = expect
    return docs, expected


def first_drop(expect: dict, chain: list[str]) -> str | None:
    return next((name for name in chain if name in expect), None)


@pytest.mark.parametrize("with_code", [False, True], ids=["readme_filters", "with_code_execution"])
def test_every_drop_is_in_the_shared_rejects_file_exactly_once(tmp_path, with_code):
    if with_code:
        from cosmo_blocks.filters.sandbox import Sandbox

        if not Sandbox().available():
            if sandbox_required():
                pytest.fail("bubblewrap sandbox unavailable; CI is set, so this is a failure")
            pytest.skip("bubblewrap sandbox unavailable (apt-get install -y bubblewrap)")
    docs, expected = labelled_copies()
    rejects = CosmopediaJsonlWriter(str(tmp_path / "rejects"), rejects=True)
    filters = [
        LengthFilter(min_chars=500, min_tokens=150, exclusion_writer=rejects),
        RepetitionFilter(exclusion_writer=rejects),
        CompletenessFilter(require_summary=True, exclusion_writer=rejects),
    ]
    chain = ["length", "repetition", "completeness"]
    if with_code:
        filters.append(CodeExecutionFilter(exclusion_writer=rejects, workers=2))
        chain.append("code")
    pipeline = [Docs(docs), *filters, CosmopediaJsonlWriter(str(tmp_path / "data"))]
    check_shared_writers(pipeline)
    # two worker processes: the pipeline is pickled into each, as on a cluster
    LocalPipelineExecutor(pipeline, tasks=2, workers=2, logging_dir=str(tmp_path / "logs")).run()

    rejected = [r for p in sorted((tmp_path / "rejects").glob("*.jsonl")) for r in read_jsonl(p)]
    kept = [r for p in sorted((tmp_path / "data").glob("*.jsonl")) for r in read_jsonl(p)]
    want_dropped = {i for i, expect in expected.items() if first_drop(expect, chain)}
    assert len(want_dropped) >= 80
    got = sorted(r["id"] for r in rejected)
    assert got == sorted(want_dropped)  # each drop exactly once
    assert {r["id"] for r in kept} == set(expected) - want_dropped
    for record in rejected:
        expect = expected[record["id"]]
        if not record["id"].startswith("bad_en_mid_sentence"):
            assert record["filter_reason"] == expect[first_drop(expect, chain)], record["id"]
        else:
            assert record["filter_reason"] == "mid_sentence"


def test_a_plain_writer_given_to_several_steps_is_refused_with_what_to_write():
    plain = JsonlWriter("/tmp/rejects")
    steps = [LengthFilter(exclusion_writer=plain), RepetitionFilter(exclusion_writer=plain)]
    with pytest.raises(ConfigError, match="LengthFilter, RepetitionFilter") as error:
        check_shared_writers(steps)
    assert "Give each step its own writer" in str(error.value)
    assert "CosmopediaJsonlWriter(folder, rejects=True)" in str(error.value)
    # one plain writer per filter, or one of ours shared, is fine
    check_shared_writers([LengthFilter(exclusion_writer=JsonlWriter("/tmp/a")), plain])
    ours = CosmopediaParquetWriter("/tmp/rejects", rejects=True)
    check_shared_writers([LengthFilter(exclusion_writer=ours), RepetitionFilter(exclusion_writer=ours), ours])


def test_a_shared_parquet_writer_closes_its_file_once_every_user_is_done(tmp_path):
    import pyarrow.parquet as pq

    docs, _ = labelled_copies()
    writer = CosmopediaParquetWriter(str(tmp_path), rejects=True)
    with writer:
        with writer:
            writer.write(docs[0], rank=0)
        writer.write(docs[1], rank=0)  # after an inner user has exited
    assert pq.read_table(tmp_path / "000_00000.parquet").column("id").to_pylist() == [docs[0].id, docs[1].id]
