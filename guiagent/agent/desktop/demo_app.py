"""A small Tk desktop app for the agent to operate, which reports what happened to it.

The desktop tests and the demo need ground truth: did the click land on the button, did the text arrive, which
way did the wheel turn. The app writes every state change as one JSON line (flushed at once) to an events file,
and its first line, "ready", gives each widget's box in root-screen pixels so callers know where to aim.
The window has a fixed size so the layout is the same on every run.

    python -m guiagent.agent.desktop.demo_app --events events.jsonl --geometry +0+0
"""

from __future__ import annotations

import argparse
import json
import tkinter as tk
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

WIDTH, HEIGHT = 900, 600
LIGHT = {"bg": "#f0f0f0", "fg": "#202124", "area": "#ffffff"}
DARK = {"bg": "#202124", "fg": "#e8eaed", "area": "#303134"}
DRAG_MIN_PIXELS = 3  # shorter press-release moves are clicks, not drags
X11_MODIFIERS = {0x1: "shift", 0x4: "ctrl", 0x8: "alt", 0x40: "super"}


class EventLog:
    """Appends one JSON object per line to ``path`` (or drops events when there is none)."""

    def __init__(self, path: Path | None) -> None:
        self._file: IO[str] | None = path.open("a", encoding="utf-8") if path else None

    def emit(self, event: str, **fields: Any) -> None:
        if self._file:
            self._file.write(json.dumps({"event": event, **fields}) + "\n")
            self._file.flush()


def box(widget: tk.Misc) -> list[int]:
    """[x, y, width, height] of a widget in root-screen pixels (what pyautogui aims at)."""
    return [widget.winfo_rootx(), widget.winfo_rooty(), widget.winfo_width(), widget.winfo_height()]


def boxes(widgets: dict[str, tk.Misc]) -> dict[str, list[int]]:
    return {name: box(widget) for name, widget in widgets.items()}


def when_mapped(window: tk.Misc, callback: Callable[[], None]) -> None:
    """Run ``callback`` once, after ``window`` is on screen and laid out (so widget boxes are final)."""

    def laid_out() -> None:
        window.update_idletasks()
        callback()

    def on_map(event: tk.Event) -> None:
        if event.widget is window:
            window.unbind("<Map>")
            window.after_idle(laid_out)

    window.bind("<Map>", on_map)


class DemoApp:
    """The main window: a Settings button, a status label, an entry, a scrollable area and a drag area."""

    def __init__(self, root: tk.Tk, log: EventLog) -> None:
        self.root, self.log = root, log
        self.dialog: SettingsDialog | None = None
        self.dark_mode = tk.BooleanVar(root, value=False)
        self.text = tk.StringVar(root)
        self.drag_start: tuple[int, int] | None = None

        root.title("guiagent demo")
        self.settings_button = tk.Button(
            root,
            text="Settings",
            font=("Helvetica", 20, "bold"),
            bg="#1a73e8",
            fg="white",
            activebackground="#1558b0",
            command=self.on_settings,
        )
        self.status = tk.Label(root, text="Dark mode: off", font=("Helvetica", 16))
        self.entry = tk.Entry(root, textvariable=self.text, font=("Helvetica", 16))
        scroll_frame = tk.Frame(root)
        self.scroll_area = tk.Canvas(scroll_frame, highlightthickness=0, scrollregion=(0, 0, 2000, 2000))
        self._build_scroll_area(scroll_frame)
        self.drag_area = tk.Canvas(root, highlightthickness=1, highlightbackground="#888888")
        self.drag_area.create_text(200, 20, text="Drag here", font=("Helvetica", 14), tags="label")

        self.settings_button.place(x=30, y=30, width=220, height=70)
        self.status.place(x=290, y=48)
        self.entry.place(x=30, y=130, width=500, height=40)
        scroll_frame.place(x=30, y=200, width=400, height=340)
        self.drag_area.place(x=470, y=200, width=400, height=340)

        self.widgets: dict[str, tk.Widget] = {
            "settings_button": self.settings_button,
            "entry": self.entry,
            "scroll_area": self.scroll_area,
            "drag_area": self.drag_area,
            "status": self.status,
        }
        self._bind()
        self._apply_colours()
        when_mapped(root, lambda: log.emit("ready", widgets=boxes(self.widgets)))

    def _build_scroll_area(self, frame: tk.Frame) -> None:
        """A canvas larger than its view, with both scrollbars, filled with labelled cells to scroll through."""
        vertical = tk.Scrollbar(frame, orient="vertical", command=self.scroll_area.yview)
        horizontal = tk.Scrollbar(frame, orient="horizontal", command=self.scroll_area.xview)
        self.scroll_area.configure(yscrollcommand=vertical.set, xscrollcommand=horizontal.set)
        self.scroll_area.grid(row=0, column=0, sticky="nsew")
        vertical.grid(row=0, column=1, sticky="ns")
        horizontal.grid(row=1, column=0, sticky="ew")
        frame.rowconfigure(0, weight=1)
        frame.columnconfigure(0, weight=1)
        for row in range(10):
            for column in range(10):
                self.scroll_area.create_text(
                    100 + 200 * column,
                    100 + 200 * row,
                    text=f"cell {row},{column}",
                    font=("Helvetica", 12),
                    tags="label",
                )

    def _bind(self) -> None:
        self.text.trace_add("write", lambda *_: self.log.emit("text", value=self.text.get()))
        self.entry.bind("<Return>", lambda _: self.log.emit("submit", value=self.text.get()))
        self.root.bind("<KeyPress>", self.on_key)  # the toplevel's tag sees keys of every widget inside it
        for name, widget in self.widgets.items():
            widget.bind("<Button-3>", lambda _, name=name: self.log.emit("right_click", widget=name), add="+")
            widget.bind("<Double-Button-1>", lambda _, name=name: self.log.emit("double_click", widget=name), add="+")
        # Tk 8.6 on X11 turns horizontal wheel buttons 6/7 into Shift-Button-4/5; other platforms send MouseWheel.
        wheel = {"<Button-4>": "up", "<Button-5>": "down", "<Shift-Button-4>": "left", "<Shift-Button-5>": "right"}
        for sequence, direction in wheel.items():
            self.scroll_area.bind(sequence, lambda _, direction=direction: self.on_scroll(direction))
        self.scroll_area.bind("<MouseWheel>", lambda e: self.on_scroll("up" if e.delta > 0 else "down"))
        self.scroll_area.bind("<Shift-MouseWheel>", lambda e: self.on_scroll("left" if e.delta > 0 else "right"))
        self.drag_area.bind("<ButtonPress-1>", self.on_press, add="+")
        self.drag_area.bind("<ButtonRelease-1>", self.on_release, add="+")

    def on_settings(self) -> None:
        self.log.emit("click", widget="settings_button")
        if self.dialog is not None:
            self.dialog.window.lift()
            return
        self.dialog = SettingsDialog(self)

    def on_dialog_closed(self) -> None:
        self.dialog = None
        self.log.emit("dialog_closed")

    def on_dark_mode(self) -> None:
        self._apply_colours()
        self.log.emit("dark_mode", value=self.dark_mode.get())

    def on_key(self, event: tk.Event) -> None:
        modifiers = [name for bit, name in X11_MODIFIERS.items() if event.state & bit]
        self.log.emit("key", keysym=event.keysym, state=event.state, modifiers=modifiers)

    def on_scroll(self, direction: str) -> None:
        step = -1 if direction in ("up", "left") else 1
        if direction in ("up", "down"):
            self.scroll_area.yview_scroll(step, "units")
        else:
            self.scroll_area.xview_scroll(step, "units")
        self.log.emit("scroll", direction=direction)

    def on_press(self, event: tk.Event) -> None:
        self.drag_start = (event.x_root, event.y_root)

    def on_release(self, event: tk.Event) -> None:
        start, end = self.drag_start, (event.x_root, event.y_root)
        self.drag_start = None
        if start is None or max(abs(end[0] - start[0]), abs(end[1] - start[1])) < DRAG_MIN_PIXELS:
            return
        self.drag_area.delete("drag")
        self.drag_area.create_line(
            start[0] - self.drag_area.winfo_rootx(),
            start[1] - self.drag_area.winfo_rooty(),
            event.x,
            event.y,
            width=3,
            fill="#1a73e8",
            arrow="last",
            tags="drag",
        )
        self.log.emit("drag", start=list(start), end=list(end))

    def _apply_colours(self) -> None:
        dark = self.dark_mode.get()
        colours = DARK if dark else LIGHT
        self.root.configure(bg=colours["bg"])
        self.status.configure(text=f"Dark mode: {'on' if dark else 'off'}", bg=colours["bg"], fg=colours["fg"])
        self.entry.configure(bg=colours["area"], fg=colours["fg"], insertbackground=colours["fg"])
        for canvas in (self.scroll_area, self.drag_area):
            canvas.configure(bg=colours["area"])
            canvas.itemconfigure("label", fill=colours["fg"])


class SettingsDialog:
    """The "Settings" window: a Dark mode checkbox (applied at once) and an OK button that closes it."""

    def __init__(self, app: DemoApp) -> None:
        self.app = app
        root = app.root
        self.window = tk.Toplevel(root)
        self.window.title("Settings")
        # No window manager places it under Xvfb, so put it over the main window, clear of the Settings button.
        self.window.geometry(f"360x200+{root.winfo_rootx() + 300}+{root.winfo_rooty() + 120}")
        self.window.transient(root)
        self.window.protocol("WM_DELETE_WINDOW", self.close)
        dark_mode = tk.Checkbutton(
            self.window, text="Dark mode", font=("Helvetica", 18), variable=app.dark_mode, command=app.on_dark_mode
        )
        ok = tk.Button(self.window, text="OK", font=("Helvetica", 16), command=self.close)
        dark_mode.place(x=40, y=40)
        ok.place(x=230, y=120, width=90, height=50)
        when_mapped(
            self.window, lambda: app.log.emit("dialog_opened", widgets=boxes({"dark_mode": dark_mode, "ok": ok}))
        )

    def close(self) -> None:
        self.window.destroy()
        self.app.on_dialog_closed()


def run_demo_app(events: Path | None = None, geometry: str = "+0+0") -> None:
    """Show the demo app at ``geometry`` (``+X+Y``) and block until it is closed."""
    root = tk.Tk()
    root.geometry(f"{WIDTH}x{HEIGHT}{geometry}")
    root.resizable(False, False)
    DemoApp(root, EventLog(events))
    root.mainloop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A small Tk app for the GUI agent; logs what happens as JSON lines.")
    parser.add_argument("--events", type=Path, help="append one JSON line per state change to this file")
    parser.add_argument("--geometry", default="+0+0", help="window position as +X+Y (default: +0+0)")
    args = parser.parse_args(argv)
    run_demo_app(args.events, args.geometry)


if __name__ == "__main__":
    main()
