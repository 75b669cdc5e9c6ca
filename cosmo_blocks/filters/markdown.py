"""Just enough Markdown to find fenced code blocks, shared by the completeness and code filters."""

import re
from dataclasses import dataclass

# CommonMark: up to 3 spaces of indent, then >= 3 backticks or tildes, then an optional info string
_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[^\n]*?)\s*$")

PYTHON_LANGS = frozenset({"python", "py", "python3", "py3"})


@dataclass
class CodeBlock:
    lang: str  # first word of the info string, lowercased ("" when none)
    code: str
    closed: bool


def code_blocks(text: str) -> list[CodeBlock]:
    """All fenced blocks in order; the last one is `closed=False` when the text ends inside it."""
    blocks = []
    opener, lang, body = None, "", []
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if opener is None:
            if m and not (m["fence"][0] == "`" and "`" in m["info"]):
                opener, lang, body = m["fence"], (m["info"].split() or [""])[0].lower(), []
            continue
        # a closing fence: same character, at least as long, no info string
        if m and m["fence"][0] == opener[0] and len(m["fence"]) >= len(opener) and not m["info"]:
            blocks.append(CodeBlock(lang, "\n".join(body), True))
            opener = None
        else:
            body.append(line)
    if opener is not None:
        blocks.append(CodeBlock(lang, "\n".join(body), False))
    return blocks


def python_program(text: str) -> str | None:
    """The document's Python blocks joined in order into one program; None when it has none.

    Interactive sessions (`>>> ` prompts) keep only their input lines: the printed output that
    follows them is not code.
    """
    parts = [_from_repl(b.code) for b in code_blocks(text) if b.lang in PYTHON_LANGS and b.code.strip()]
    return "\n\n".join(parts) if parts else None


def _from_repl(code: str) -> str:
    lines = code.split("\n")
    if not any(line.lstrip().startswith(">>>") for line in lines):
        return code
    kept = []
    for line in lines:
        stripped = line.lstrip()
        if stripped[:4] in (">>> ", "... ") or stripped in (">>>", "..."):
            kept.append(stripped[4:])
    return "\n".join(kept)


# What is not prose, to leave out wherever words or letters are judged: inline code, URLs, e-mail
# addresses, TeX math (fenced blocks are taken out line by line in `prose`)
_NOT_PROSE = re.compile(
    r"`[^`\n]+`"
    # a URL has a dotted host: "http://wwwcomoplayvhblogpostmathbook..." is glued words, no URL
    r"|(?:https?://|www\.)(?:[\w-]{1,63}\.)+[a-zA-Z]{2,}\S*"
    r"|\S+@\S+\.\w+"
    r"|\$\$.+?\$\$|\$[^$\n]+\$|\\\(.+?\\\)|\\\[.+?\\\]",
    re.DOTALL,
)


def prose(text: str) -> str:
    """The text without closed fenced code blocks, inline code, URLs, e-mail addresses and TeX math.

    A block left open runs to the end of the text and is kept: whatever a model writes after a
    fence it never closes is no trustworthy code."""
    kept, block = [], None
    for line in text.split("\n"):
        if _FENCE.match(line):
            block = [] if block is None else None
        elif block is None:
            kept.append(line)
        else:
            block.append(line)
    if block:
        kept += block
    return _NOT_PROSE.sub(" ", "\n".join(kept))
