import os
import pickle
import threading

import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters import CodeExecutionFilter
from cosmo_blocks.filters.markdown import code_blocks, python_program
from cosmo_blocks.filters.sandbox import SandboxUnavailable


def doc(body: str, doc_id: str = "d") -> Document:
    return Document(text=f"Some explanation first.\n\n{body}\n\nAnd a closing sentence.", id=doc_id)


def py(code: str, lang: str = "python") -> str:
    return f"```{lang}\n{code}\n```"


@pytest.fixture
def code_filter(bwrap_available):
    return CodeExecutionFilter(timeout=20, workers=2)  # generous: no test here expects a timeout


def test_blocks_run_in_order_as_one_program(code_filter):
    text = py("x = 2") + "\n\nThen we use it:\n\n" + py("assert x * 21 == 42", "py")
    assert code_filter.filter(doc(text)) is True
    swapped = py("assert x * 21 == 42") + "\n\n" + py("x = 2")
    assert code_filter.filter(doc(swapped)) == (False, "runtime_error:NameError")


def test_documents_without_python_pass_untouched(code_filter):
    d = doc("No code here at all.")
    before = (d.text, dict(d.metadata))
    assert code_filter.filter(d) is True
    assert (d.text, d.metadata) == before
    assert "code_programs_run" not in code_filter.stats.stats


def test_other_languages_and_text_blocks_are_never_run(code_filter):
    body = "\n".join(
        [py("raise SystemExit(1)", "text"), py("rm -rf /", "bash"), py("1/0", "javascript"), py("1/0", "")]
    )
    assert python_program(body) is None
    assert code_filter.filter(doc(body)) is True
    assert "code_programs_run" not in code_filter.stats.stats


def test_repl_sessions_keep_only_their_input():
    text = py(">>> x = [3, 1, 2]\n>>> sorted(x)\n[1, 2, 3]\n>>> for i in x:\n...     print(i)\n...\n3\n1\n2")
    assert python_program(text) == "x = [3, 1, 2]\nsorted(x)\nfor i in x:\n    print(i)\n"


def test_fences_tildes_longer_fences_and_unclosed():
    text = "~~~python\nprint(1)\n~~~\n\n````py\nprint('```')\n````\n\n```python\nprint(2"
    blocks = code_blocks(text)
    assert [(b.lang, b.closed) for b in blocks] == [("python", True), ("py", True), ("python", False)]
    assert blocks[1].code == "print('```')"


def test_identical_code_runs_once(code_filter):
    docs = [doc(py("print('same')"), f"d{i}") for i in range(5)] + [doc(py("print('other')"), "x")]
    assert code_filter.filter_batch(docs) == [True] * 6
    assert code_filter.stats.stats["code_programs_run"].total == 2
    assert code_filter.filter(doc(py("print('same')"))) is True
    assert code_filter.stats.stats["code_cache_hits"].total == 1


def test_programs_run_workers_at_a_time(code_filter):
    """Counted, not timed: each program waits at a barrier for a second one to be running beside it,
    which only a pool running two at once lets happen, and never more than two are running."""
    both_running = threading.Barrier(2, timeout=120)  # a bound for a hang, not for speed
    running, most = [], []
    lock = threading.Lock()
    real_run = code_filter.sandbox.run

    def counted_run(code):
        with lock:
            running.append(code)
            most.append(len(running))
        both_running.wait()
        try:
            return real_run(code)
        finally:
            with lock:
                running.remove(code)

    code_filter.sandbox.run = counted_run
    docs = [doc(py(f"print({i})"), str(i)) for i in range(4)]
    assert code_filter.filter_batch(docs) == [True] * 4
    assert max(most) == code_filter.workers == 2 and len(most) == 4


@pytest.mark.usefixtures("bwrap_available")
def test_missing_third_party_module_marks_or_drops():
    text = doc(py("import numpy as np\nprint(np.arange(3))"))
    marked = CodeExecutionFilter(timeout=20)
    assert marked.filter(text) is True and text.metadata[keys.CODE_UNVERIFIED] is True
    strict = CodeExecutionFilter(timeout=20, missing_module="drop")
    assert strict.filter(doc(py("import numpy"))) == (False, "runtime_error:ModuleNotFoundError")


@pytest.mark.usefixtures("bwrap_available")
def test_run_step_drops_with_reasons_and_survives_hostile_docs():
    # the clock stops only the loop: the others must reach their own limit first on a loaded machine
    f = CodeExecutionFilter(timeout=5, batch_size=8)
    docs = [
        doc(py("print('fine')"), "ok"),
        doc(py("while True:\n    pass"), "loop"),
        doc(py("x = bytearray(8 << 30)"), "hog"),
        doc(py("def f(:\n    pass"), "syntax"),
        doc(py("import ctypes\nctypes.string_at(0)"), "segv"),
        doc(py("import sys\nwhile True:\n    sys.stdout.write('z' * 65536)"), "flood"),
    ]
    kept = [d.id for d in f.run(iter(docs))]
    assert kept == ["ok"]
    stats = f.stats.stats
    for reason in ("timeout", "memory", "syntax_error", "killed", "output_limit"):
        assert stats[f"dropped_{reason}"].total == 1, reason
    assert f._pool is None  # shut down when the step finished


def test_missing_sandbox_refuses_to_run_code():
    with pytest.raises(SandboxUnavailable, match="bubblewrap"):
        CodeExecutionFilter(bwrap="/nonexistent/bwrap")


def test_missing_sandbox_mark_mode_runs_nothing_and_marks():
    f = CodeExecutionFilter(bwrap="/nonexistent/bwrap", on_missing_sandbox="mark")
    with_code = doc(py("open('/tmp/should-not-exist', 'w')\n1/0"))
    without = doc("Plain prose.")
    assert f.filter_batch([with_code, without]) == [True, True]
    assert with_code.metadata[keys.CODE_UNVERIFIED] is True
    assert keys.CODE_UNVERIFIED not in without.metadata
    assert "code_programs_run" not in f.stats.stats


def test_bad_configuration_fails_fast():
    with pytest.raises(ConfigError, match="on_missing_sandbox"):
        CodeExecutionFilter(on_missing_sandbox="ignore")
    with pytest.raises(ConfigError, match="missing_module"):
        CodeExecutionFilter(bwrap="/nonexistent/bwrap", on_missing_sandbox="mark", missing_module="skip")


def test_pickles_for_executors_and_rechecks_there(code_filter):
    code_filter.filter(doc(py("print(1)")))  # starts a pool
    clone = pickle.loads(pickle.dumps(code_filter))
    assert clone._pool is None and clone.sandbox._checked is False
    assert clone.filter(doc(py("1/0"))) == (False, "runtime_error:ZeroDivisionError")


@pytest.mark.usefixtures("bwrap_available")
def test_programs_run_as_the_configured_uid():
    if os.geteuid() != 0:
        pytest.skip("only root runs the sandbox as another uid")
    f = CodeExecutionFilter(timeout=20, sandbox_uid=4_123_457)
    assert f.filter(doc(py("import os\nassert os.getuid() == 4_123_457, os.getuid()"))) is True
    assert f.filter(doc(py("import os\nassert os.getuid() == 65534"))) == (
        False,
        "runtime_error:AssertionError",
    )
