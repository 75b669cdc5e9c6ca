"""OpenAIServerGenerator against real vLLM OpenAI servers: one started by the test, one by the block."""

import os
import signal

import psutil
import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.generation.server import OpenAIServerGenerator
from cosmo_blocks.generation.server_process import VLLMServerProcess
from tests.generation.gen_helpers import ENGINE_KWARGS, documents, prompt_records, read_jsonl, stats_of

pytestmark = pytest.mark.engine

# few requests at a time and fixed lengths, so a kill after 3 documents lands mid-run with nine
# still to come; every document is 256 tokens of decoding, so no more of them than that needs
N = 12
OPTIONS = {
    "sampling": {"max_tokens": 256, "ignore_eos": True},
    "seed": 7,
    "max_in_flight": 4,
    "progress_interval": 0.5,
}


def collect(block, docs, kill_after=None, kill=None) -> list[Document]:
    out = []
    for doc in block(docs):
        out.append(doc)
        if len(out) == kill_after:
            kill()
    return out


@pytest.fixture(scope="module")
def server(tiny_model):
    server = VLLMServerProcess(tiny_model, ENGINE_KWARGS)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def endpoint_run(server, tiny_model, tmp_path_factory):
    journal = tmp_path_factory.mktemp("server") / "journal"
    block = OpenAIServerGenerator(tiny_model, endpoint=server.url, journal_dir=journal, **OPTIONS)
    docs = documents(prompt_records(N)) + [
        Document(text="", id="too_long", metadata={keys.PROMPT: "word " * 6000})
    ]
    out = collect(block, docs)
    return {"out": {d.id: d for d in out}, "stats": stats_of(block), "journal": journal}


def test_endpoint_generates_with_metadata_and_stats(endpoint_run, tiny_model):
    assert sorted(endpoint_run["out"]) == sorted(r["id"] for r in prompt_records(N))
    for doc in endpoint_run["out"].values():
        assert doc.metadata[keys.MODEL] == tiny_model
        assert doc.metadata[keys.FINISH_REASON] == "length"
        assert doc.metadata[keys.TOKEN_LENGTH] == 256
        assert doc.metadata[keys.PROMPT_TOKENS] > 20
    stats = endpoint_run["stats"]
    assert stats["generated"] == N
    assert stats["generated_tokens"] == 256 * N
    assert stats["skipped_prompt_too_long"] == 1
    entries = read_jsonl(endpoint_run["journal"] / "00000.jsonl")
    assert sorted(e["id"] for e in entries) == sorted(endpoint_run["out"])


def test_endpoint_rerun_resumes_from_the_journal(endpoint_run, server, tiny_model):
    block = OpenAIServerGenerator(
        tiny_model, endpoint=server.url, journal_dir=endpoint_run["journal"], **OPTIONS
    )
    out = collect(block, documents(prompt_records(N)[::-1]))
    assert stats_of(block)["resumed_from_journal"] == N
    assert {d.id: d.text for d in out} == {i: d.text for i, d in endpoint_run["out"].items()}


def api_servers(exclude: int) -> list[psutil.Process]:
    """This process's api_server children, but for the module's shared one (pid `exclude`)."""
    children = psutil.Process().children()
    return [p for p in children if "vllm.entrypoints.openai.api_server" in p.cmdline() and p.pid != exclude]


def test_owned_server_is_restarted_and_reproduces(endpoint_run, server, tiny_model, tmp_path):
    """The same seed through another server, and through a restart, gives the same text."""
    block = OpenAIServerGenerator(
        tiny_model, engine_kwargs=ENGINE_KWARGS, journal_dir=tmp_path / "journal", **OPTIONS
    )

    def kill_own_server():  # SIGKILL the block's server with its engine core (its process group)
        (own,) = api_servers(exclude=server.proc.pid)
        os.killpg(os.getpgid(own.pid), signal.SIGKILL)

    out = collect(block, documents(prompt_records(N)), kill_after=3, kill=kill_own_server)
    stats = stats_of(block)
    assert stats["engine_restarts"] == 1
    assert sorted(d.id for d in out) == sorted(endpoint_run["out"])
    assert {d.id: d.text for d in out} == {i: d.text for i, d in endpoint_run["out"].items()}
    assert not api_servers(exclude=server.proc.pid)


def test_server_killed_mid_run_is_a_clear_error(server, tiny_model, tmp_path):
    # the module's server, so last in the module: no test after this one has a server to talk to
    # (a server of its own would cost another engine start)
    journal = tmp_path / "journal"
    block = OpenAIServerGenerator(
        tiny_model, endpoint=server.url, journal_dir=journal, max_retries=2, **OPTIONS
    )
    out = []
    try:
        with pytest.raises(RuntimeError, match=rf"generation server {server.url} cannot serve.*journal"):
            for doc in block(documents(prompt_records(N))):
                out.append(doc)
                if len(out) == 3:
                    server.stop(grace=0)
    finally:
        server.stop()
    assert len(out) >= 3
    assert sorted(e["id"] for e in read_jsonl(journal / "00000.jsonl")) == sorted(d.id for d in out)
    assert not [k for k in stats_of(block) if k.startswith("skipped")]
