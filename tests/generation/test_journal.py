"""The journal file: what a kill mid-write leaves behind, and what a rerun makes of it."""

import orjson

from cosmo_blocks.generation.journal import GenerationJournal, iter_journal


def entry(i: int) -> dict:
    return {
        "id": f"d{i}",
        "key": f"k{i}",
        "text": f"text {i}",
        "finish_reason": "stop",
        "prompt_tokens": 3,
        "token_length": i,
    }


def test_append_after_a_torn_line_keeps_the_next_entry(tmp_path):
    path = tmp_path / "00000.jsonl"
    torn = orjson.dumps(entry(1))[:-7]  # the process died in the middle of writing d1
    path.write_bytes(orjson.dumps(entry(0)) + b"\n" + torn)

    journal = GenerationJournal(str(tmp_path), 0)
    assert list(journal.load()) == ["d0"]
    journal.append(entry(1))  # the rerun generates d1 again, and d2
    journal.append(entry(2))
    journal.close()

    assert GenerationJournal(str(tmp_path), 0).load() == {e["id"]: e for e in map(entry, range(3))}
    lines = path.read_bytes().split(b"\n")
    assert lines[1] == torn and orjson.loads(lines[2]) == entry(1)


def test_iter_journal_skips_torn_and_garbled_lines(tmp_path):
    path = tmp_path / "00003.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                orjson.dumps(entry(0)),
                b"\xff\xfe not json",
                b"42",
                b'{"no_id": 1}',
                orjson.dumps(entry(1)),
                orjson.dumps(entry(2))[:10],
            ]
        )
    )
    assert list(iter_journal(path)) == [entry(0), entry(1)]
    assert list(iter_journal(str(path))) == [entry(0), entry(1)]


def test_a_journal_ending_cleanly_gets_no_blank_lines(tmp_path):
    journal = GenerationJournal(str(tmp_path), 1)
    journal.append(entry(0))
    journal.close()
    journal = GenerationJournal(str(tmp_path), 1)
    journal.append(entry(1))
    journal.close()
    assert (tmp_path / "00001.jsonl").read_bytes() == b"".join(
        orjson.dumps(entry(i)) + b"\n" for i in range(2)
    )
