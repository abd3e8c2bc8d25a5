"""Size limits a model answer must meet before any parser builds a tree from it.

Python's own parser is not a safe first reader of untrusted text: ~3,000 chained terms make ``ast.parse`` raise
RecursionError or MemoryError, a 310-digit integer overflows float conversion, and a long answer makes every
later step slower. So an answer is measured first: its length, then (with the tokenizer, which is linear and
never recurses) every literal's size, bracket nesting and tokens per statement, which bounds the depth of any
tree ``ast`` could build. ``guarded`` turns whatever still escapes ``ast`` into the parser's ``ParseError``.
"""

from __future__ import annotations

import io
import tokenize
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from guiagent.agent.actions import ParseError

MAX_ANSWER_CHARS = 32_768  # ~8k tokens: four times the longest answer a policy asks for (OpenCUA: 1,024 tokens)
MAX_STRING_CHARS = 4_096  # one string literal or typed text: pages of prose, far beyond a form field
MAX_NUMBER_CHARS = 32  # one number literal: coordinates and counts need a handful of digits
MAX_NESTING = 8  # brackets inside brackets: press(['tab', 'enter']) needs 2
MAX_STATEMENT_TOKENS = 256  # keeps any expression tree shallow: ast.parse recurses once per level
MAX_ACTIONS = 200  # actions in one answer: more is runaway generation, refused as a whole
_EXCERPT = 200  # characters of an oversized answer quoted in its error
_OPENING, _CLOSING = "([{", ")]}"


def excerpt(text: str) -> str:
    """The start of ``text``, for an error about text too large to quote whole."""
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."


def check_answer(text: str) -> None:
    """Refuse an answer longer than any policy's token limit could produce (before any regex runs on it), or one
    holding lone surrogates: no tokenizer decodes to them, and neither ``ast`` nor a keyboard can take them."""
    if len(text) > MAX_ANSWER_CHARS:
        raise ParseError(
            f"the answer is {len(text):,} characters long; at most {MAX_ANSWER_CHARS:,} are read", excerpt(text)
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ParseError(
            f"the answer is not valid Unicode (a lone surrogate at {error.start})", excerpt(text)
        ) from None


def check_actions(count: int, text: str) -> None:
    if count > MAX_ACTIONS:
        raise ParseError(
            f"the answer asks for {count:,} actions; at most {MAX_ACTIONS} are run per step", excerpt(text)
        )


def check_text(text: str, what: str) -> None:
    if len(text) > MAX_STRING_CHARS:
        raise ParseError(
            f"{what} is {len(text):,} characters long; at most {MAX_STRING_CHARS:,} are accepted", excerpt(text)
        )


def check_code(code: str) -> None:
    """Refuse code whose literals, nesting or statements are too large for ``ast`` to read safely.

    Tokenizer errors (an unclosed string or bracket) are left to ``ast.parse``, which reports them best; every
    token before the error has been measured.
    """
    depth = statement = 0
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                statement = 0
                continue
            if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                continue
            statement += 1
            if statement > MAX_STATEMENT_TOKENS:
                raise ParseError(f"a statement longer than {MAX_STATEMENT_TOKENS} tokens", excerpt(token.line))
            if token.type == tokenize.NUMBER and len(token.string) > MAX_NUMBER_CHARS:
                raise ParseError(f"a number longer than {MAX_NUMBER_CHARS} characters", excerpt(token.string))
            check_text(token.string, "a literal")
            if token.type == tokenize.OP and token.string in _OPENING:
                depth += 1
                if depth > MAX_NESTING:
                    raise ParseError(f"brackets nested deeper than {MAX_NESTING}", excerpt(token.line))
            elif token.type == tokenize.OP and token.string in _CLOSING:
                depth = max(0, depth - 1)
    except (tokenize.TokenError, SyntaxError):
        return


@contextmanager
def guarded(text: str) -> Iterator[None]:
    """Whatever ``ast`` or a conversion raises on hostile input becomes a ParseError naming the answer; the
    warnings ``ast`` prints for odd literals (``1if``, ``'\\d'``) are the answer's problem, not the console's."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    except ParseError:
        raise
    except (RecursionError, MemoryError, OverflowError, ValueError, TypeError, SyntaxError) as error:
        raise ParseError(f"the answer cannot be read ({type(error).__name__}: {error})", excerpt(text)) from None
