"""Shell lines as words: tokens, pipelines, the command a wrapper runs, and which paths name precious places.

The lexical half of the shell classifier (``shell_rules``): a POSIX-like tokeniser that also copes with cmd and
PowerShell lines (backslashes in drive paths stay), linear in the line's length because a typed line is judged
again at every action that extends it. Nothing here runs anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


# -- tokens ----------------------------------------------------------------------------------------------------
@dataclass
class Word:
    """One shell word after quote removal; ``subs`` are the command substitutions inside it."""

    text: str = ""
    subs: list[str] = field(default_factory=list)
    procsub: bool = False  # the whole word is <(...) or >(...)


OPERATORS = ("<<<", "&&", "||", "|&", ";;", ">>", ">|", ">&", "<&", "&>", "<<", "<>", "|", ";", "&", ">", "<", "(", ")")
REDIRECTS = {">", ">>", ">|", ">&", "&>", "<", "<<", "<<<", "<>", "<&"}
# Outside quotes a backslash escapes these; before anything else, or inside a drive path, it stays (C:\Users, C:\*).
ESCAPABLE = set(" \t\n'\"\\$`|&;<>()#!{}")
DRIVE = re.compile(r"[A-Za-z]:")
OPERATOR_CHARS = set("|&;<>()")
PLAIN_STOPS = set(" \t\r\n'\"\\$`|&;<>()")  # where a run of ordinary characters ends


def _balanced(text: str, start: int) -> tuple[str, int]:
    """The inside of the parenthesis opening at ``start`` and the index after its match (the end if unmatched)."""
    depth, i, quote = 0, start, ""
    while i < len(text):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return text[start + 1 : i], i + 1
        i += 1
    return text[start + 1 :], len(text)


def tokenize(line: str) -> list[Word | str]:
    """Words and operators, as a POSIX shell splits them (good enough for cmd and PowerShell lines too).

    Linear in the line's length: a typed line can be long, and it is judged at every action that extends it.
    """
    tokens: list[Word | str] = []
    text: list[str] | None = None  # the word being read (None between words)
    subs: list[str] = []
    i, n = 0, len(line)

    def add(piece: str) -> None:
        nonlocal text
        text = text if text is not None else []
        text.append(piece)

    def flush() -> None:
        nonlocal text, subs
        if text is not None:
            tokens.append(Word("".join(text), subs))
            text, subs = None, []

    def substitution(at: int) -> int:  # the "(" of a $( ... ) at ``at``: recorded, and kept in the word's text
        inner, end = _balanced(line, at)
        add(f"$({inner})")
        subs.append(inner)
        return end

    def backquoted(at: int) -> int:
        end = line.find("`", at + 1)
        end = n if end < 0 else end
        subs.append(line[at + 1 : end])
        add(line[at : end + 1])
        return end + 1

    while i < n:
        char = line[i]
        if char in " \t\r":
            flush()
            i += 1
        elif char == "\n":
            flush()
            tokens.append("\n")
            i += 1
        elif char == "'":
            end = line.find("'", i + 1)
            end = n if end < 0 else end
            add(line[i + 1 : end])
            i = end + 1
        elif char == '"':
            add("")
            i += 1
            while i < n and line[i] != '"':
                if line[i] == "\\" and i + 1 < n and line[i + 1] in '"\\$`':
                    add(line[i + 1])
                    i += 2
                elif line.startswith("$(", i):
                    i = substitution(i + 1)
                elif line[i] == "`":
                    i = backquoted(i)
                else:
                    end = i + 1
                    while end < n and line[end] not in '"\\$`':
                        end += 1
                    add(line[i:end])
                    i = end
            i += 1
        elif char == "\\":
            if i + 1 < n and line[i + 1] in ESCAPABLE and not (text and DRIVE.match("".join(text[:2]))):
                if line[i + 1] != "\n":  # a line continuation joins two lines
                    add(line[i + 1])
                i += 2
            else:
                add("\\")
                i += 1
        elif line.startswith("$(", i):
            i = substitution(i + 1)
        elif line.startswith("${", i):
            end = line.find("}", i)
            end = n - 1 if end < 0 else end
            add(line[i : end + 1])
            i = end + 1
        elif char == "`":
            i = backquoted(i)
        elif char in "<>" and line.startswith("(", i + 1):
            flush()
            inner, i = _balanced(line, i + 1)
            tokens.append(Word(f"{char}({inner})", [inner], procsub=True))
        elif char in OPERATOR_CHARS:
            op = next(op for op in OPERATORS if line.startswith(op, i))
            flush()
            tokens.append(op)
            i += len(op)
        else:
            end = i + 1
            while end < n and line[end] not in PLAIN_STOPS:
                end += 1
            add(line[i:end])
            i = end
    flush()
    return tokens


def unquoted(line: str) -> str:
    """The line with its quoted parts left out (an echoed fork bomb is not one); linear, unlike a regex."""
    kept, quote, escaped = [], "", False
    for char in line:
        if escaped:
            escaped = False
        elif quote:
            escaped = quote == '"' and char == "\\"
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        else:
            kept.append(char)
    return "".join(kept)


@dataclass
class Command:
    """One simple command: its words and its redirections (operator, target)."""

    words: list[Word] = field(default_factory=list)
    redirects: list[tuple[str, Word]] = field(default_factory=list)


def pipelines(tokens: list[Word | str]) -> list[list[Command]]:
    """Commands grouped into pipelines (split at ``;``, ``&&``, ``||``, ``&``, parentheses and newlines)."""
    result: list[list[Command]] = []
    stages: list[Command] = []
    command, redirect = Command(), ""
    for token in tokens:
        if isinstance(token, Word):
            if redirect:
                command.redirects.append((redirect, token))
                redirect = ""
            else:
                command.words.append(token)
        elif token in REDIRECTS:
            redirect = token
        elif token in ("|", "|&"):
            stages.append(command)
            command = Command()
        else:
            stages.append(command)
            result.append(stages)
            stages, command = [], Command()
    stages.append(command)
    result.append(stages)
    return [kept for kept in ([c for c in p if c.words or c.redirects] for p in result) if kept]


def command_name(text: str) -> str:
    """``/usr/bin/rm``, ``\\rm``, ``RM.EXE`` -> ``rm``."""
    name = re.split(r"[\\/]", text.strip().lstrip("\\"))[-1].lower()
    return name.removesuffix(".exe")


# -- paths -----------------------------------------------------------------------------------------------------
SYSTEM_DIRS = {"bin", "boot", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "sys", "windows"}
SHALLOW_SYSTEM_DIRS = {  # dangerous down to depth 2 (/usr/lib, /var/log); deeper is someone's own folder
    "usr", "var", "opt", "root", "snap", "srv", "mnt", "media", "library", "system", "applications", "private",
    "program files", "program files (x86)", "programdata",
}  # fmt: skip
HOME_DIRS = {"home", "users"}
HOME = "/home/~"
PREFIXES = (  # environment variables that name a known place, Windows and PowerShell spellings included
    (r"\$\{?home\}?|%userprofile%|%homepath%|\$env:userprofile|\$env:home", "~"),
    (r"%systemroot%|%windir%|\$env:systemroot|\$env:windir", "/windows"),
    (r"%systemdrive%|\$env:systemdrive", "/"),
    (r"%programfiles%|\$env:programfiles", "/program files"),
    (r"\$\{?pwd\}?|\$pwd", "."),
)
UNKNOWN_VARIABLE = re.compile(r"(\$\{?\w+\}?|%\w+%|\$env:\w+)(.*)", re.S)
GLOB = re.compile(r"[*?\[]")


def _glob_all(component: str) -> bool:
    """A component that matches every name: ``*``, ``.*``, ``*.*``."""
    return bool(GLOB.search(component)) and set(component) <= set("*?.")


def place(raw: str, cwd: str | None = None) -> tuple[str, str] | None:
    """(kind, what) when ``raw`` names a place whose loss wrecks the system or a home, else None.

    kind: ``root``, ``system``, ``home``, ``unset`` (a variable that is the root when empty), ``cwd``, ``parent``.
    Trailing globs that match everything (``/*``, ``~/.*``) count as the folder itself.
    """
    text = raw.strip().lower()
    if not text:
        return None
    for pattern, replacement in PREFIXES:
        text = re.sub(rf"^(?:{pattern})(?!\w)", replacement, text)
    if match := UNKNOWN_VARIABLE.fullmatch(text):
        rest = match[2].replace("\\", "/").strip("/").split("/")
        if all(not part or _glob_all(part) for part in rest):
            return "unset", f"{raw} (the root folder if {match[1]} is empty)"
        return None
    text = text.replace("\\", "/")
    if drive := re.fullmatch(r"[a-z]:(.*)", text, re.S):  # C:\ is a root, C:\Users a home folder
        text = "/" + drive[1]
    if text == "~" or text.startswith("~/"):
        text = HOME + text[1:]
    elif text.startswith("~"):
        text = "/home/" + text[1:]
    if not text.startswith("/") and cwd is not None:
        text = cwd.rstrip("/") + "/" + text
    components = [c for c in text.split("/") if c and c != "."]
    while components and _glob_all(components[-1]):
        components.pop()
    absolute = text.startswith("/")
    resolved: list[str] = []
    for component in components:
        if component != "..":
            resolved.append(component)
        elif resolved and resolved[-1] != "..":
            resolved.pop()
        elif not absolute:
            resolved.append("..")
    if not absolute:
        if not resolved:
            return "cwd", f"{raw} (the current folder)"
        if all(c == ".." for c in resolved):
            return "parent", f"{raw} (a parent folder)"
        return None
    shown = "/" + "/".join(resolved)
    depth = len(resolved)
    if depth == 0:
        return "root", f"{raw} (the root folder)"
    first = resolved[0]
    if GLOB.search(first):
        return "root", f"{raw} (it matches top-level folders)"
    if first in HOME_DIRS and (depth <= 2 or GLOB.search(resolved[1])):
        return "home", f"{raw} ({'your home folder' if shown == HOME else 'a home folder'})"
    if depth == 1:
        return "system", f"{raw} (the top-level folder {shown})"
    if first in SYSTEM_DIRS or (first in SHALLOW_SYSTEM_DIRS and depth <= 2):
        return "system", f"{raw} (the system folder {shown})"
    return None


BLOCK_DEVICE = re.compile(
    r"/dev/(sd[a-z]|hd[a-z]|vd[a-z]|xvd[a-z]|nvme\d|mmcblk\d|r?disk\d|md\d|dm-\d|loop\d|nbd\d|sr\d|mapper/|disk/"
    r"|mem$|kmem$|port$|root$)"
)


def is_device(text: str) -> bool:
    """A block device (or memory) node, where a write destroys a file system: /dev/sda1, \\\\.\\PhysicalDrive0."""
    text = text.strip().lower()
    return bool(BLOCK_DEVICE.match(text)) or "physicaldrive" in text


# -- helpers over words ----------------------------------------------------------------------------------------
def short_flags(words: list[str]) -> str:
    """The letters of every single-dash option cluster (``-rf -v`` -> ``rfv``)."""
    return "".join(w[1:] for w in words if w.startswith("-") and not w.startswith("--") and len(w) > 1)


def positionals(words: list[str], windows_options: bool = False) -> list[str]:
    """Words that are not options (``--`` ends options; ``/s``-style options for Windows commands)."""
    result, options = [], True
    for word in words:
        if options and word == "--":
            options = False
        elif options and word.startswith("-") and len(word) > 1:
            continue
        elif options and windows_options and re.fullmatch(r"/[a-z?](:\S*)?", word, re.I):
            continue
        else:
            result.append(word)
    return result


WRAPPER_VALUES = {  # options of wrappers that take a value (the next word)
    "sudo": {"-u", "-g", "-p", "-C", "-D", "-h", "-r", "-t", "-U", "-T", "--user", "--group", "--prompt"},
    "doas": {"-u", "-C"},
    "env": {"-u", "-C", "-S", "--unset", "--chdir"},
    "nice": {"-n", "--adjustment"},
    "ionice": {"-c", "-n", "-p", "--class", "--classdata"},
    "timeout": {"-s", "-k", "--signal", "--kill-after"},
    "xargs": {"-I", "-n", "-P", "-L", "-d", "-E", "-s", "-a", "--max-args", "--max-procs", "--delimiter"},
    "exec": {"-a"},
    "stdbuf": {"-i", "-o", "-e"},
    "time": set(),
    "nohup": set(),
    "builtin": set(),
    "command": set(),
    "busybox": set(),
    "toybox": set(),
    "strace": {"-o", "-e", "-p"},
}
KEYWORDS = {"then", "do", "else", "elif", "if", "while", "until", "!", "{", "}", "time", "coproc"}
ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*", re.S)


def unwrap(words: list[Word]) -> list[Word]:
    """The command a line really runs: assignments, keywords and wrappers (sudo, env, nohup, xargs...) peeled off."""
    start = 0
    while start < len(words):
        head = words[start].text
        name = command_name(head)
        if head in KEYWORDS or ASSIGNMENT.fullmatch(head):
            start += 1
            continue
        if name not in WRAPPER_VALUES:
            break
        if name == "command" and any(w.text in ("-v", "-V") for w in words[start + 1 : start + 2]):
            return []  # `command -v rm` only says where rm is
        values, start = WRAPPER_VALUES[name], start + 1
        while start < len(words):
            text = words[start].text
            if text == "--":
                start += 1
                break
            if text in values:
                start += 2
            elif text.startswith("-") or (name == "env" and ASSIGNMENT.fullmatch(text)):
                start += 1
            elif name == "timeout" and re.fullmatch(r"[\d.]+[smhd]?", text):
                start += 1
                break
            else:
                break
    return words[start:]
