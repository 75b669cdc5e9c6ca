"""OpenAIServerGenerator against a small local HTTP server that misbehaves on purpose.

vLLM's server cannot be made to answer 429 with Retry-After, or 503 forever, on demand, so these
faults come from a stdlib http.server on 127.0.0.1 speaking the chat-completions protocol; the
block, the openai client, the journal and the HTTP traffic are real.
"""

import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.generation import OpenAIServerGenerator
from tests.generation.gen_helpers import documents, prompt_records, read_jsonl, stats_of

MODEL = "local-model"


class Server:
    """Answers each prompt with `policy(server, prompt)`: a status code and optional headers."""

    def __init__(self, policy, delay: float = 0.0):
        self.policy = policy
        self.delay = delay
        self.calls: dict[str, list[tuple[float, int]]] = defaultdict(list)  # prompt -> (time, status)
        self.chats: list[list[dict]] = []  # the messages of every request
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.send(self, 200, {"object": "list", "data": [{"id": MODEL, "object": "model"}]})

            def do_POST(self):
                body = orjson.loads(self.rfile.read(int(self.headers["Content-Length"])))
                prompt = body["messages"][-1]["content"]  # the user's turn, after any system message
                with outer.lock:
                    outer.chats.append(body["messages"])
                    status, headers = outer.policy(outer, prompt)
                    outer.calls[prompt].append((time.monotonic(), status))
                time.sleep(outer.delay)
                if status != 200:
                    message = {400: "bad top_p", 413: "too large"}.get(status, "slow down")
                    if "CONTEXT" in prompt:
                        message = "This model's maximum context length is 4096 tokens"
                    outer.send(self, status, {"error": {"message": message, "code": status}}, headers)
                    return
                reply = f"answer to {prompt[-12:]} seed {body.get('seed')} top_k {body.get('top_k')}"
                outer.send(self, 200, completion(reply, len(prompt.split())))

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @staticmethod
    def send(handler, status: int, payload: dict, headers: dict | None = None) -> None:
        data = orjson.dumps(payload)
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def statuses(self, prompt: str) -> list[int]:
        return [status for _, status in self.calls[prompt]]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(text: str, prompt_tokens: int) -> dict:
    return {
        "id": "c",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 7, "total_tokens": prompt_tokens + 7},
    }


def healthy(server, prompt):
    return 200, {}


def generator(server, journal, **options) -> OpenAIServerGenerator:
    options = {"model": MODEL, "journal_dir": journal, "seed": 3, "max_in_flight": 8} | options
    return OpenAIServerGenerator(endpoint=server.url, **options)


def test_rate_limits_are_waited_out_and_nothing_is_skipped(tmp_path, monkeypatch):
    """Every prompt is refused twice with 429 and Retry-After: 1 before it is served."""

    def rate_limited(server, prompt):
        if len(server.calls[prompt]) < 2:
            return 429, {"Retry-After": "1"}
        return 200, {}

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    records = prompt_records(12)
    with Server(rate_limited) as server:
        block = generator(server, tmp_path / "journal", sampling={"top_k": 5})
        out = list(block(documents(records)))
    assert sorted(d.id for d in out) == [r["id"] for r in records]
    stats = stats_of(block)
    assert stats["generated"] == 12 and not [k for k in stats if k.startswith("skipped")]
    for record in records:
        calls = server.calls[record["prompt"]]
        assert [status for _, status in calls] == [429, 429, 200]
        gaps = [b[0] - a[0] for a, b in zip(calls, calls[1:], strict=False)]
        assert min(gaps) >= 0.95, gaps  # Retry-After honoured, not the client's 0.5 s backoff
    doc = out[0]
    assert doc.metadata[keys.MODEL] == MODEL
    assert doc.metadata[keys.TOKEN_LENGTH] == doc.metadata[keys.TOKEN_COUNT] == 7
    assert doc.text.endswith(
        f"seed {block.request_seed(doc.id)} top_k 5"
    )  # vLLM's own fields reach the server
    assert len(read_jsonl(tmp_path / "journal" / "00000.jsonl")) == 12


@pytest.mark.parametrize("status", [429, 503])
def test_a_server_that_never_recovers_fails_the_task_and_a_rerun_resumes(tmp_path, status):
    records = prompt_records(10)
    journal = tmp_path / "journal"

    def breaks_after_four(server, prompt):
        served = sum(1 for calls in server.calls.values() if calls and calls[-1][1] == 200)
        if served < 4 or server.statuses(prompt) == [200]:
            return 200, {}
        return status, {"Retry-After": "0.05"}

    with Server(breaks_after_four) as server:
        block = generator(server, journal, max_in_flight=1, max_retries=2)
        out = []
        with pytest.raises(
            RuntimeError, match=rf"generation server {server.url} cannot serve.*HTTP {status}.*journal"
        ):
            for doc in block(documents(records)):
                out.append(doc)
    first = [r["id"] for r in records[:4]]
    assert [d.id for d in out] == first
    assert [e["id"] for e in read_jsonl(journal / "00000.jsonl")] == first
    assert server.statuses(records[4]["prompt"]) == [status] * 3  # one try and two retries
    assert not [k for k in stats_of(block) if k.startswith("skipped")]

    with Server(healthy) as server:
        block = generator(server, journal, max_in_flight=1)
        out = list(block(documents(records)))
    assert sorted(d.id for d in out) == [r["id"] for r in records]
    assert sorted(server.calls) == sorted(r["prompt"] for r in records[4:])  # only the rest
    assert stats_of(block)["resumed_from_journal"] == 4


def test_only_a_refused_request_is_a_skip(tmp_path):
    records = prompt_records(4)
    records[1]["prompt"] += " CONTEXT"
    refusals = {records[1]["prompt"]: 400, records[2]["prompt"]: 400, records[3]["prompt"]: 422}

    with Server(lambda server, prompt: (refusals.get(prompt, 200), {})) as server:
        block = generator(server, tmp_path / "journal")
        out = list(block(documents(records)))
    assert [d.id for d in out] == [records[0]["id"]]
    stats = stats_of(block)
    assert stats["skipped_prompt_too_long"] == 1 and stats["skipped_invalid_request"] == 2
    assert all(len(server.calls[p]) == 1 for p in refusals)  # a refusal is not retried


def test_a_wrong_model_name_fails_instead_of_skipping(tmp_path):
    with Server(lambda server, prompt: (404, {})) as server:
        block = generator(server, tmp_path / "journal")
        with pytest.raises(RuntimeError, match="refused the request: HTTP 404"):
            list(block(documents(prompt_records(3))))


def test_api_key_from_the_environment_and_model_from_the_server(tmp_path, monkeypatch):
    keys_seen = []

    def record_key(server, prompt):
        return 200, {}

    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-123")
    with Server(record_key) as server:
        original = server.httpd.RequestHandlerClass.do_POST

        def do_post(handler):
            keys_seen.append(handler.headers["Authorization"])
            original(handler)

        server.httpd.RequestHandlerClass.do_POST = do_post
        block = OpenAIServerGenerator(endpoint=server.url + "/v1/", journal_dir=tmp_path / "j")
        messages = []
        sink = logger.add(lambda m: messages.append(m.record["message"]), level="INFO")
        try:
            out = list(block(documents(prompt_records(2))))
        finally:
            logger.remove(sink)
    assert keys_seen == ["Bearer sk-test-123"] * 2
    assert {d.metadata[keys.MODEL] for d in out} == {MODEL}
    assert any(m.startswith(f"task 0: generating with model {MODEL}, sampling") for m in messages)


def test_progress_line_knows_the_total_and_gives_an_eta_early(tmp_path):
    """The input is a generator (no len): reading ahead learns the total long before it is done."""
    records = prompt_records(40)
    messages = []
    sink = logger.add(lambda m: messages.append(m.record["message"]), level="INFO")
    try:
        with Server(healthy, delay=0.05) as server:
            block = generator(server, tmp_path / "journal", max_in_flight=2, progress_interval=0.3)
            list(block(doc for doc in documents(records)))
    finally:
        logger.remove(sink)
    lines = [m for m in messages if " docs (" in m]
    assert len(lines) >= 3, lines
    first = lines[0]
    assert "/40 docs" in first and ", ETA " in first, first
    done = int(first.split(": ")[1].split("/")[0])
    assert done < 30, first
    eta = float(first.rsplit("ETA ", 1)[1].rstrip("s"))
    # 2 at a time, 0.05 s each: the rest takes about (40 - done) / 2 * 0.05 s
    assert 0.3 * (40 - done) / 40 <= eta <= 3 * (40 - done) / 40 + 1, first
    assert lines[-1].startswith(f"{block.name} task 0: 40/40 docs (40 generated")


def test_the_journal_key_names_the_model_resolved_on_the_task_host(tmp_path):
    records = prompt_records(3)
    with Server(healthy) as server:
        list(generator(server, tmp_path / "journal")(documents(records)))
        asked = generator(server, tmp_path / "journal", model=None)  # the server names the model
        out = list(asked(documents(records)))
    assert stats_of(asked)["resumed_from_journal"] == 3
    assert {d.metadata[keys.MODEL] for d in out} == {MODEL}
    assert len(server.calls) == 3


def test_a_system_prompt_is_the_chats_system_message_and_part_of_the_journal_key(tmp_path):
    records = prompt_records(2)
    docs = documents(records)
    docs[0].metadata[keys.SYSTEM_PROMPT] = "You are a patient tutor."
    with Server(healthy) as server:
        assert len(list(generator(server, tmp_path / "journal")(docs))) == 2
    chats = {chat[-1]["content"]: chat for chat in server.chats}
    assert chats[records[0]["prompt"]] == [
        {"role": "system", "content": "You are a patient tutor."},
        {"role": "user", "content": records[0]["prompt"]},
    ]
    assert chats[records[1]["prompt"]] == [{"role": "user", "content": records[1]["prompt"]}]
    # another system prompt regenerates that document; the other resumes from the journal
    docs = documents(records)
    docs[0].metadata[keys.SYSTEM_PROMPT] = "You are terse."
    with Server(healthy) as server:
        block = generator(server, tmp_path / "journal")
        assert len(list(block(docs))) == 2
    assert [chat[0]["content"] for chat in server.chats] == ["You are terse."]
    stats = stats_of(block)
    assert stats["journal_stale_regenerated"] == 1 and stats["resumed_from_journal"] == 1
