import os
import pickle
import threading
from pathlib import Path

import pytest
from datatrove.data import Document

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters import CodeExecutionFilter, code_execution
from cosmo_blocks.filters.code_execution import known_modules
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
    text = doc(py("import torch\nprint(torch.arange(3))"))  # a real package the sandbox lacks
    marked = CodeExecutionFilter(timeout=20)
    assert marked.filter(text) is True and text.metadata[keys.CODE_UNVERIFIED] is True
    strict = CodeExecutionFilter(timeout=20, missing_module="drop")
    assert strict.filter(doc(py("import torch"))) == (False, "runtime_error:ModuleNotFoundError")
    assert strict.filter(doc(py("import numpyy"))) == (False, "hallucinated_import:numpyy")


@pytest.mark.usefixtures("scientific_stack")
def test_scientific_code_runs_and_is_verified(code_filter):
    code = (
        "import numpy as np\nimport pandas as pd\nimport sympy as sp\nimport matplotlib.pyplot as plt\n\n"
        "x = np.linspace(0, 2, 5)\n"
        "df = pd.DataFrame({'x': x, 'y': x**2})\n"
        "assert df.y.sum() == 7.5\n"
        "t = sp.Symbol('t')\n"
        "assert sp.integrate(2 * t, (t, 0, 2)) == 4\n"
        "df.plot(x='x', y='y')\n"
        "plt.savefig('parabola.png')\n"
        "assert open('parabola.png', 'rb').read(4) == b'\\x89PNG'"
    )
    d = doc(py(code))
    assert code_filter.filter(d) is True
    assert keys.CODE_UNVERIFIED not in d.metadata
    assert code_filter.stats.stats["code_ok"].total == 1


@pytest.mark.usefixtures("bwrap_available")
def test_hallucinated_imports_drop_real_absent_ones_stay_unverified():
    """A module no package provides drops the document, wherever it is imported; one of a real package
    the sandbox lacks keeps it, unverified."""
    docs = {
        "invented": py("import numpyy as np\nprint(np.zeros(3))"),
        "real_then_invented": py(
            "import torch\n\ndef train():\n    from torch_magic_trainer import fit\n    fit()"
        ),
        "real": py("import requests_oauthlib\nfrom sklearn.linear_model import LinearRegression"),
        "optional": py(
            "try:\n    import turbo_json_xyz as json\nexcept ImportError:\n    import json\nimport torch"
        ),
        "own_file": "Save this as `geometry_helpers.py`:\n\n"
        + py("def area(r):\n    return 3.14159 * r * r", "text")
        + "\n\nThen:\n\n"
        + py("from geometry_helpers import area\nprint(area(2))"),
        "case": py("from pil import Image"),  # Pillow is `PIL`: names compare without case
    }
    f = CodeExecutionFilter(timeout=20, batch_size=len(docs))
    kept = {d.id: d for d in f.run(iter(doc(text, name) for name, text in docs.items()))}
    assert set(kept) == {"real", "optional", "own_file", "case"}
    assert all(d.metadata[keys.CODE_UNVERIFIED] is True for d in kept.values())
    stats = f.stats.stats
    assert stats["dropped_hallucinated_import:numpyy"].total == 1
    assert stats["dropped_hallucinated_import:torch_magic_trainer"].total == 1
    assert stats["code_hallucinated_import"].total == 2
    assert stats["code_unverified_missing_module"].total == 4


@pytest.mark.usefixtures("bwrap_available")
def test_known_modules_extends_the_bundled_list():
    code = doc(py("import acme_internal_toolkit"))
    assert CodeExecutionFilter(timeout=20).filter(code) == (
        False,
        "hallucinated_import:acme_internal_toolkit",
    )
    f = CodeExecutionFilter(timeout=20, known_modules=("ACME_internal_toolkit",))
    assert f.filter(code) is True and code.metadata[keys.CODE_UNVERIFIED] is True


@pytest.mark.usefixtures("scientific_stack")
def test_submodule_an_installed_package_lacks_is_the_codes_error(code_filter):
    assert code_filter.filter(doc(py("import matplotlib.pyplott as plt"))) == (
        False,
        "runtime_error:ModuleNotFoundError",
    )


def test_bundled_known_modules_list():
    names = known_modules()
    # import names that differ from their PyPI project's name
    assert {"sklearn", "pil", "bs4", "cv2", "yaml", "dateutil", "attr", "google", "azure"} <= names
    assert {"numpy", "pandas", "torch", "requests", "flask", "pygame", "kivy"} <= names
    assert {"numpyy", "scikit_learn", "pillow", "beautifulsoup4", "json", "os"}.isdisjoint(names)
    path = Path(code_execution.__file__).parent / "known_modules.txt"
    assert path.stat().st_size < 64 << 10
    assert "hugovk/top-pypi-packages" in path.read_text()[:1000]  # its header says how it was made


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
