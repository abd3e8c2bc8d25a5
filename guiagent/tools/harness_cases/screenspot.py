"""ScreenSpot-v2 / -Pro cases: ``eval/screenspotv2_eval.py`` and ``eval/screenspotpro_eval.py`` of both harnesses.

Run on ``tests/data/benchmarks/screenspot_v2`` and ``screenspot_pro`` with a scripted answer per sample
(``SCRIPTS``: a click at the box centre, on its corner, outside it, and answers the parsers treat differently).
v2 keeps per-split accuracies only, so each (sample, answer) is its own run on a copy of the sample in all three
split files (score = that split's text or icon accuracy); Pro records each sample's correctness itself. Written
under ``out_dir/screenspot_v2`` and ``out_dir/screenspot_pro``: ``messages.json`` (per harness, family and sample,
images relative to the images folder) and ``scores.json`` (per harness, family, script and sample: raw answer,
the harness's point where it records one, and its score).

STaR-KV's ``screenspotv2_eval.py`` stops with ``--kv_cache original`` (its config print reads
``args.kv_group_selection_mode``, which only ``starkv`` sets), so its v2 cases run with ``--kv_cache starkv``;
the prompt and the scoring do not depend on the cache method.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

from guiagent.agent.eval.protocols.harness_parsing import harness_resize
from guiagent.tools.harness_cases.scripted import MODEL_PATHS, run_main, write_rows

BENCHMARKS = Path(__file__).resolve().parents[3] / "tests" / "data" / "benchmarks"
V2, PRO = BENCHMARKS / "screenspot_v2", BENCHMARKS / "screenspot_pro"
V2_IMAGES, PRO_IMAGES = V2 / "screenspotv2_image", PRO / "images"
SPLITS = ("mobile", "desktop", "web")
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in original pixels


def _model(x: float, y: float, size: tuple[int, int]) -> tuple[int, int]:
    height, width = harness_resize(size[1], size[0])
    return round(x * width / size[0]), round(y * height / size[1])


def _at(where: Callable[[Box, tuple[int, int]], tuple[float, float]], text: Callable[[tuple[int, int]], str]):
    def answer(box: Box, size: tuple[int, int]) -> str:
        return text(_model(*where(box, size), size))

    return answer


def _centre(box: Box, size: tuple[int, int]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _outside(box: Box, size: tuple[int, int]) -> tuple[float, float]:
    return (box[2] + 40) % size[0], (box[3] + 40) % size[1]


def _corner(box: Box, size: tuple[int, int]) -> tuple[float, float]:
    return box[0] + 1, box[1] + 1


SCRIPTS: dict[str, dict[str, Callable[[Box, tuple[int, int]], str]]] = {
    "uitars": {
        "click_centre": _at(_centre, lambda p: f"Action: click(point='<point>{p[0]} {p[1]}</point>')"),
        "click_corner": _at(_corner, lambda p: f"Action: click(point='<point>{p[0]} {p[1]}</point>')"),
        "click_outside": _at(_outside, lambda p: f"Action: click(point='<point>{p[0]} {p[1]}</point>')"),
        "no_action_keyword": _at(_centre, lambda p: f"click(point='<point>{p[0]} {p[1]}</point>')"),
        "float_point": _at(_centre, lambda p: f"Action: click(point='<point>{p[0]}.4 {p[1]}.6</point>')"),
        "think_lowercase": _at(_centre, lambda p: f"<think>ok</think>\naction: click(start_box='({p[0]},{p[1]})')"),
        "second_call_broken": _at(_centre, lambda p: f"Action: click(point='<point>{p[0]} {p[1]}</point>')\n\nnope"),
        "unparsable": lambda box, size: "I cannot find it.",
    },
    "opencua": {
        "click_centre": _at(_centre, lambda p: f"```python\npyautogui.click(x={p[0]}, y={p[1]})\n```"),
        "move_to_corner": _at(_corner, lambda p: f"pyautogui.moveTo(x={p[0]}, y={p[1]})"),
        "click_outside": _at(_outside, lambda p: f"pyautogui.click(x={p[0]}, y={p[1]})"),
        "triple_click_function": _at(_centre, lambda p: f"computer.triple_click(x={p[0]}, y={p[1]})"),
        "triple_click_pyautogui": _at(_centre, lambda p: f"pyautogui.tripleClick(x={p[0]}, y={p[1]})"),
        "one_number": _at(_centre, lambda p: f"pyautogui.click({p[0]})"),
        "unparsable": lambda box, size: "The button is at the top.",
    },
}


def _relative(messages: list[dict[str, Any]], images: Path) -> list[dict[str, Any]]:
    for message in messages:
        for part in message["content"] if isinstance(message["content"], list) else []:
            if part.get("type") == "image":
                part["image"] = str(Path(part["image"]).relative_to(images))
    return messages


def _v2_cases(harness: str, root: Path, family: str) -> tuple[list[dict], list[dict]]:
    messages, scores = [], []
    for split in SPLITS:
        for sample in json.loads((V2 / f"screenspot_{split}_v2.json").read_text(encoding="utf-8")):
            x, y, w, h = sample["bbox"]
            size = Image.open(V2_IMAGES / sample["img_filename"]).size
            key = {"harness": harness, "family": family, "img_filename": sample["img_filename"]}
            for script, make in SCRIPTS[family].items():
                raw = make((x, y, x + w, y + h), size)
                with tempfile.TemporaryDirectory() as folder:
                    for name in SPLITS:
                        Path(folder, f"screenspot_{name}_v2.json").write_text(json.dumps([sample]), encoding="utf-8")
                    argv = ["--model_path", MODEL_PATHS[family], "--screenspot_imgs", str(V2_IMAGES)]
                    argv += ["--screenspot_test", folder, "--task", "all", "--results_dir", folder]
                    argv += ["--kv_cache", "starkv"] if harness == "starkv" else []  # see the module doc
                    run = run_main(root, "eval/screenspotv2_eval.py", argv, lambda messages, raw=raw: raw)
                text_acc, icon_acc = run.namespace["tasks_result"][0]
                recorded = run.namespace["result"]
                point = recorded[0]["pred"] if recorded else None
                score = text_acc if sample["data_type"] == "text" else icon_acc
                scores.append(key | {"script": script, "raw": raw, "point": point, "score": score})
            messages.append(key | {"messages": _relative(run.recorder.calls[0], V2_IMAGES)})
    return messages, scores


def _pro_cases(harness: str, root: Path, family: str) -> tuple[list[dict], list[dict]]:
    samples = {}
    for path in sorted((PRO / "annotations").glob("*.json")):
        samples |= {s["id"]: s for s in json.loads(path.read_text(encoding="utf-8"))}
    by_instruction = {s["instruction"]: s for s in samples.values()}
    messages, scores = [], []
    for script, make in SCRIPTS[family].items():

        def answer(rendered: list[dict[str, Any]], make=make) -> str:
            text = next(p["text"] for p in rendered[-1]["content"] if p.get("type") == "text")
            sample = next(s for i, s in by_instruction.items() if text.endswith(i))
            return make(tuple(sample["bbox"]), tuple(sample["img_size"]))

        with tempfile.TemporaryDirectory() as folder:
            argv = ["--model_path", MODEL_PATHS[family], "--screenspot_imgs", str(PRO_IMAGES)]
            argv += ["--screenspot_test", str(PRO / "annotations"), "--task", "all", "--results_dir", folder]
            run = run_main(root, "eval/screenspotpro_eval.py", argv, answer)
        for result, raw, rendered in zip(
            run.namespace["results"], run.recorder.answers, run.recorder.calls, strict=True
        ):
            key = {"harness": harness, "family": family, "id": result["id"]}
            score = 1 if result["correctness"] == "correct" else 0
            point = list(result["pred"]) if result["pred"] is not None else None
            scores.append(key | {"script": script, "raw": raw, "point": point, "score": score})
            if script == next(iter(SCRIPTS[family])):
                messages.append(key | {"messages": _relative(rendered, PRO_IMAGES)})
    return messages, scores


def generate(guikv_root: str | Path, starkv_root: str | Path | None, out_dir: str | Path) -> list[Path]:
    """Write ``out_dir/screenspot_{v2,pro}/{messages,scores}.json``; the paths written."""
    written = []
    for folder, cases in (("screenspot_v2", _v2_cases), ("screenspot_pro", _pro_cases)):
        messages, scores = [], []
        for harness, root in (("guikv", guikv_root), ("starkv", starkv_root)):
            for family in SCRIPTS:
                if root is not None:
                    found = cases(harness, Path(root), family)
                    messages += found[0]
                    scores += found[1]
        written += write_rows(Path(out_dir) / folder, {"messages.json": messages, "scores.json": scores})
    return written
