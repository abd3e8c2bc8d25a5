"""Which typed lines are dangerous shell commands: a small classifier instead of a handful of regexes.

The agent types into terminals, run dialogs and chat boxes alike, so every line it is about to submit is read as
a command. Regexes over the raw text both miss spellings (``rm -f -r /``, ``curl x|/bin/bash``) and refuse
look-alikes (``rm -rf build/``, "please reboot the router"). Here a line is tokenised with shell-like rules
(quotes, escapes, ``| ; && || &``, redirections, ``$(...)``, backticks, ``<(...)``), wrappers are peeled off
(``sudo``, ``env``, ``nohup``, ``xargs``, ``bash -c '...'``, ``eval``, ``cmd /c``, ...), and each command is judged
by its name, its flags in every spelling and its targets. The text is only read, never run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from guiagent.agent.run.shell_words import (
    GLOB,
    HOME,
    Command,
    Word,
    command_name,
    is_device,
    pipelines,
    place,
    positionals,
    short_flags,
    tokenize,
    unquoted,
    unwrap,
)

MAX_DEPTH = 6  # nested `bash -c "eval '...'"` levels; deeper is refused rather than guessed


@dataclass(frozen=True)
class Finding:
    """Why a line is dangerous: a short rule name (for the trajectory) and a phrase for people."""

    rule: str
    reason: str


SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "busybox"}
SCRIPT_FLAGS = {"python": ("-c", "-m"), "perl": ("-e", "-E"), "ruby": ("-e",), "node": ("-e", "-p"),
                "nodejs": ("-e", "-p"), "php": ("-r",), "lua": ("-e",)}  # fmt: skip
DOWNLOADERS = {"curl", "wget", "fetch", "aria2c", "http", "https", "lwp-request", "nc", "ncat", "netcat", "socat",
               "iwr", "irm", "invoke-webrequest", "invoke-restmethod"}  # fmt: skip
NARROWING = {"-name", "-iname", "-path", "-ipath", "-wholename", "-regex", "-iregex", "-empty", "-newer", "-mtime",
             "-mmin", "-size", "-user"}  # fmt: skip
POWER_COMMANDS = {"shutdown", "reboot", "halt", "poweroff"}
POWER_VERBS = {"poweroff", "reboot", "halt", "kexec", "emergency", "rescue", "suspend", "hibernate", "hybrid-sleep",
               "suspend-then-hibernate", "soft-reboot"}  # fmt: skip
POWER_TARGETS = {f"{verb}.target" for verb in ("poweroff", "reboot", "halt", "kexec", "emergency", "rescue")}
FORMATTERS = {"mkfs", "mke2fs", "mkswap", "wipefs", "shred", "blkdiscard", "sfdisk", "sgdisk", "parted"}
FORK_BOMBS = (  # over the line without spaces; a name starts where no name character precedes it (linear time)
    re.compile(r"(?<![\w:.])([\w:.]+)\(\)\{(?:\1\|\1&?|\1&\1;?)\};?\1"),
    re.compile(r"(?<![\w:.])function([\w:.]+)(?:\(\))?\{\1\|\1&?\};?\1"),
    re.compile(r"%0\|%0"),
)
POWERSHELL_EXEC = re.compile(r"\b(iex|invoke-expression)\b", re.I)
POWERSHELL_FETCH = re.compile(
    r"\b(iwr|irm|invoke-webrequest|invoke-restmethod|downloadstring|downloaddata|net\.webclient|curl|wget)\b", re.I
)
POWERSHELL_DECODE = re.compile(r"frombase64string", re.I)
RUNS_CODE = re.compile(r"\b(system|popen|exec\w*|spawn\w*|check_output|check_call|call|run|Popen)\s*\(|`")


def _language(name: str) -> str:
    """``python3.11`` -> ``python``; other interpreters keep their name."""
    return "python" if re.fullmatch(r"python[\d.]*", name) else name


# -- the classifier --------------------------------------------------------------------------------------------
class _Classifier:
    """Judges one line; ``cwd`` follows ``cd`` within it (``cd / && rm -rf *``)."""

    def __init__(self, depth: int = 0, cwd: str | None = None) -> None:
        self.depth = depth
        self.cwd = cwd
        self.handlers: dict[str, Callable[[str, list[str]], Finding | None]] = {
            "rm": self._delete, "unlink": self._delete, "remove-item": self._delete, "ri": self._delete,
            "del": self._delete, "erase": self._delete, "rd": self._delete, "rmdir": self._delete,
            "find": self._find, "dd": self._dd, "format": self._format, "tee": self._copy, "cp": self._copy,
            "mv": self._copy, "install": self._copy, "chmod": self._chmod, "chown": self._chmod,
            "chgrp": self._chmod, "kill": self._kill, "init": self._init, "telinit": self._init,
            "systemctl": self._systemctl, "loginctl": self._systemctl, "cd": self._cd, "vssadmin": self._shadows,
            "wmic": self._shadows, "eval": self._eval, "su": self._su, "cmd": self._cmd,
            "powershell": self._powershell, "pwsh": self._powershell,
        }  # fmt: skip

    def line(self, line: str) -> Finding | None:
        if self.depth > MAX_DEPTH:
            return Finding("nesting", "commands nested too deeply to judge")
        bare = re.sub(r"\s+", "", unquoted(line))
        if any(bomb.search(bare) for bomb in FORK_BOMBS) or "forkwhilefork" in re.sub(r"\s+", "", line):
            return Finding("fork-bomb", "a fork bomb (it fills the process table until the machine hangs)")
        if POWERSHELL_EXEC.search(line) and (POWERSHELL_FETCH.search(line) or POWERSHELL_DECODE.search(line)):
            return Finding("download-to-shell", "runs downloaded or decoded text with Invoke-Expression")
        for pipeline in pipelines(tokenize(line)):
            if finding := self._pipeline(pipeline):
                return finding
        return None

    def nested(self, text: str) -> Finding | None:
        return _Classifier(self.depth + 1, self.cwd).line(text)

    def _pipeline(self, stages: list[Command]) -> Finding | None:
        for index, command in enumerate(stages):
            for operator, target in command.redirects:
                if operator not in ("<", "<<", "<<<", "<&") and is_device(target.text):
                    return Finding("write-device", f"redirects output onto the device {target.text}")
                if target.text.strip() == "/proc/sysrq-trigger":
                    return Finding("sysrq", "writes to /proc/sysrq-trigger (reboots or halts the kernel)")
            for word in command.words + [target for _, target in command.redirects]:
                for sub in word.subs:
                    if finding := self.nested(sub):
                        return finding
            argv = unwrap(command.words)
            if not argv:
                continue
            if finding := self._command(argv):
                return finding
            if index and reads_program(argv):
                for earlier in stages[:index]:
                    if finding := self._source(earlier, argv[0].text):
                        return finding
        return None

    def _source(self, command: Command, interpreter: str) -> Finding | None:
        """Why piping ``command``'s output into ``interpreter`` is dangerous (None when it is not known to be)."""
        argv = unwrap(command.words)
        kind = source_kind(argv)
        if kind == "download":
            return Finding("download-to-shell", f"pipes a download into {command_name(interpreter)}")
        if kind == "decode":
            return Finding("decode-to-shell", f"pipes decoded text into {command_name(interpreter)}")
        if argv and command_name(argv[0].text) in ("echo", "printf"):
            text = " ".join(w.text for w in argv[1:] if not re.fullmatch(r"-[neE]+", w.text))
            if re.search(r"\\x[0-9a-f]{2}|\\[0-7]{3}", text, re.I):
                return Finding("decode-to-shell", f"pipes escape-encoded text into {command_name(interpreter)}")
            return self.nested(text)
        return None

    def _command(self, argv: list[Word]) -> Finding | None:
        name = command_name(argv[0].text)
        words = [w.text for w in argv[1:]]
        if argv[0].subs and any(source_kind_text(sub) for sub in argv[0].subs):
            return Finding("download-to-shell", "runs the output of a download or a decoder as a command")
        if handler := self.handlers.get(name):
            return handler(name, words)
        if name in POWER_COMMANDS:
            return self._power(name, words)
        if name in FORMATTERS or name.startswith("mkfs."):
            device = next((w for w in words if is_device(w)), None)
            return Finding("format-device", f"{name} on the device {device}") if device else None
        if name in ("format-volume", "clear-disk", "initialize-disk"):
            return Finding("format-drive", f"{name} erases a disk")
        if name == "killall5":
            return Finding("kill-all", "killall5 signals every process")
        if name in ("stop-computer", "restart-computer"):
            return Finding("power-off", f"{name} turns the computer off or restarts it")
        if name in SHELLS or _language(name) in SCRIPT_FLAGS or name in ("source", "."):
            return self._interpreter(name, argv[1:])
        return None

    # one handler per command family -------------------------------------------------------------------------
    def _delete(self, name: str, words: list[str]) -> Finding | None:
        windows = name in ("del", "erase", "rd", "rmdir", "remove-item", "ri")
        lowered = [w.lower() for w in words]
        recursive = "r" in short_flags(words).lower() or "--recursive" in lowered or any(w == "/s" for w in lowered)
        targets, skip = [], False
        for word, low in zip(words, lowered, strict=True):
            if not skip and low not in ("-include", "-exclude", "-filter", "-path", "-literalpath"):
                targets.append(word)  # -Path X: X is a target like any other positional
            skip = low in ("-include", "-exclude", "-filter")
        targets = positionals(targets, windows_options=windows)
        for target in targets:
            found = place(target, self.cwd)
            if found is None:
                continue
            kind, what = found
            if "--no-preserve-root" in lowered:
                return Finding("rm-no-preserve-root", f"recursive delete of {what} with --no-preserve-root")
            if recursive:
                return Finding("rm-recursive", f"recursive delete of {what}")
            if kind not in ("cwd", "parent") and GLOB.search(target.replace("\\", "/").rsplit("/", 1)[-1]):
                return Finding("rm-everything", f"deletes everything in {what}")
        return None

    def _find(self, name: str, words: list[str]) -> Finding | None:
        index = 0
        while index < len(words) and words[index] in ("-H", "-L", "-P"):
            index += 1
        roots = []
        while index < len(words) and not words[index].startswith(("-", "(", "!", ")")):
            roots.append(words[index])
            index += 1
        expression = [w.lower() for w in words[index:]]
        runs = [expression[i + 1] for i, w in enumerate(expression[:-1]) if w in ("-exec", "-execdir", "-ok")]
        if "-delete" not in expression and not any(command_name(r) in ("rm", "shred", "unlink") for r in runs):
            return None
        narrowed = any(w in NARROWING for w in expression)
        for root in roots or ["."]:
            found = place(root, self.cwd)
            if found and (not narrowed or found[0] in ("root", "system", "unset")):
                return Finding("find-delete", f"find deletes everything under {found[1]}")
        return None

    def _dd(self, name: str, words: list[str]) -> Finding | None:
        device = next((w[3:] for w in words if w.lower().startswith("of=") and is_device(w[3:])), None)
        return Finding("dd-device", f"dd writes onto the device {device}") if device else None

    def _format(self, name: str, words: list[str]) -> Finding | None:
        drive = next(iter(positionals(words, windows_options=True)), "")
        if re.fullmatch(r"[a-z]:\\?", drive, re.I):
            return Finding("format-drive", f"format {drive} erases a drive")
        return None

    def _copy(self, name: str, words: list[str]) -> Finding | None:
        args = positionals(words)
        targets = args if name == "tee" else args[-1:] if len(args) > 1 else []
        for target in targets:
            if is_device(target):
                return Finding("write-device", f"{name} writes onto the device {target}")
            if target == "/proc/sysrq-trigger":
                return Finding("sysrq", "writes to /proc/sysrq-trigger (reboots or halts the kernel)")
            if name == "mv" and target == "/dev/null":
                return Finding("mv-devnull", "moves files into /dev/null (deletes them)")
        return None

    def _chmod(self, name: str, words: list[str]) -> Finding | None:
        if "R" not in short_flags(words) and "--recursive" not in words:
            return None
        for target in positionals(words)[1:]:  # after the mode or owner
            found = place(target, self.cwd)
            if found and found[0] not in ("cwd", "parent"):
                return Finding("chmod-recursive", f"recursive {name} of {found[1]}")
        return None

    def _kill(self, name: str, words: list[str]) -> Finding | None:
        if not words:
            return None
        lowered = [w.lower() for w in words]
        if lowered[-1] == "-1":
            return Finding("kill-all", "kill -1 signals every process you own")
        if lowered[-1] == "1" and {"-9", "-kill", "-sigkill", "9", "kill", "sigkill"} & set(lowered[:-1]):
            return Finding("kill-all", "kills init (pid 1)")
        return None

    def _power(self, name: str, words: list[str]) -> Finding | None:
        lowered = [w.lower() for w in words]
        if {"-c", "/a", "--help", "/?"} & set(lowered):
            return None  # cancel or help
        if not words or re.fullmatch(r"[-/].*|now|\+?\d+(:\d+)?", lowered[0]):
            return Finding("power-off", f"{name} turns the computer off or restarts it")
        return None  # "reboot the router": prose, not a command

    def _init(self, name: str, words: list[str]) -> Finding | None:
        level = next(iter(positionals(words)), "")
        if level in ("0", "1", "6", "s", "S"):
            return Finding("power-off", f"{name} {level} changes the run level")
        return None

    def _systemctl(self, name: str, words: list[str]) -> Finding | None:
        args = [w.lower() for w in positionals(words)]
        if args and (args[0] in POWER_VERBS or POWER_TARGETS & set(args[1:])):
            return Finding("power-off", f"{name} {' '.join(args)} stops or restarts the computer")
        return None

    def _cd(self, name: str, words: list[str]) -> None:
        target = next(iter(positionals(words)), "~")
        known = place(target, self.cwd)
        if known and known[0] == "root":
            self.cwd = "/"
        elif known and known[0] == "home" and target.strip() in ("~", "~/", "$HOME", "${HOME}"):
            self.cwd = HOME
        elif "$" in target or target == "-":
            self.cwd = None
        else:
            self.cwd = target if self.cwd is None or target.startswith(("/", "~")) else f"{self.cwd}/{target}"
        return None

    def _shadows(self, name: str, words: list[str]) -> Finding | None:
        lowered = {w.lower() for w in words}
        if "delete" in lowered and lowered & {"shadows", "shadowcopy"}:
            return Finding("delete-shadows", "deletes the volume shadow copies (the system's backups)")
        return None

    def _eval(self, name: str, words: list[str]) -> Finding | None:
        return self.nested(" ".join(words))

    def _su(self, name: str, words: list[str]) -> Finding | None:
        for flag, value in zip(words, words[1:], strict=False):
            if flag in ("-c", "--command"):
                return self.nested(value)
        return None

    def _cmd(self, name: str, words: list[str]) -> Finding | None:
        for index, word in enumerate(words):
            if word.lower() in ("/c", "/k", "/r"):
                return self.nested(" ".join(words[index + 1 :]))
        return None

    def _powershell(self, name: str, words: list[str]) -> Finding | None:
        for index, word in enumerate(words):
            low = word.lower()
            if low in ("-e", "-ec", "-enc", "-encodedcommand"):
                return Finding("encoded-command", f"{name} runs a base64-encoded command")
            if low in ("-c", "-command"):
                return self.nested(" ".join(words[index + 1 :]))
        return None

    def _interpreter(self, name: str, args: list[Word]) -> Finding | None:
        words = [w.text for w in args]
        for word in args:
            if word.procsub and any(source_kind_text(sub) for sub in word.subs):
                return Finding("download-to-shell", f"{name} runs a download or decoded text")
        if name in SHELLS:
            if "c" in short_flags(words):
                script = next(iter(positionals(words)), "")
                return self.nested(script)
            return None
        flags = SCRIPT_FLAGS.get(_language(name), ())
        for flag, code in zip(words, words[1:], strict=False):
            if flag in flags and flag != "-m" and RUNS_CODE.search(code):
                for literal in re.findall(r"'([^']*)'|\"([^\"]*)\"", code):
                    if finding := self.nested(literal[0] or literal[1]):
                        return finding
        return None


def reads_program(argv: list[Word]) -> bool:
    """Whether a command in a pipeline executes what it reads on stdin (``sh``, ``python -``, ``iex``)."""
    name = command_name(argv[0].text)
    words = [w.text for w in argv[1:]]
    args = positionals(words)
    if "/dev/stdin" in args:
        return True
    if name in SHELLS:
        flags = short_flags(words)
        return "c" not in flags and (not args or "s" in flags or args[0] == "-")
    if (language := _language(name)) in SCRIPT_FLAGS:
        return not set(SCRIPT_FLAGS[language]) & set(words) and (not args or args[0] == "-")
    if name in ("iex", "invoke-expression"):
        return True
    if name in ("powershell", "pwsh"):
        return not words or "-" in words
    return name == "cmd" and not words


def source_kind(argv: list[Word]) -> str:
    """``download`` or ``decode`` when a command's output is fetched or decoded text, else ''."""
    if not argv:
        return ""
    name = command_name(argv[0].text)
    words = [w.text.lower() for w in argv[1:]]
    if name in DOWNLOADERS:
        return "download"
    flags = short_flags(words)
    if name == "base64" and ("d" in flags.lower() or "--decode" in words):
        return "decode"
    if name == "openssl" and {"base64", "enc"} & set(words) and "-d" in words:
        return "decode"
    if (name == "xxd" and "r" in flags) or name == "uudecode":
        return "decode"
    return ""


def source_kind_text(text: str) -> str:
    """``source_kind`` for the commands of a substitution's text (any stage of any pipeline)."""
    for pipeline in pipelines(tokenize(text)):
        for command in pipeline:
            if kind := source_kind(unwrap(command.words)):
                return kind
    return ""


def classify(line: str) -> Finding | None:
    """Why running ``line`` in a shell (sh, cmd or PowerShell) would do lasting damage; None when it would not."""
    return _Classifier().line(line)
