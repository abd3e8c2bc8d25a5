"""ScreenSpot-v2 and ScreenSpot-Pro: grounding samples as one-step trajectories.

ScreenSpot-v2 (OS-Copilot/ScreenSpot-v2, read by ``eval/screenspotv2_eval.py`` of GUI-KV and STaR-KV): the folder
holds ``screenspot_mobile_v2.json``, ``screenspot_desktop_v2.json`` and ``screenspot_web_v2.json``, each a list of
``{"img_filename": "mobile_<uuid>.png", "instruction": "...", "bbox": [x, y, w, h] (pixels), "data_type": "text" |
"icon", "data_source": "ios" | "android" | "macos" | "windows" | "shop" | ...}``. The harnesses normalise the box by
the size of the image file. Images: ``--screenspot_imgs``; GUI-KV's script defaults it to
``ScreenSpot-v2/screenspotv2_image`` next to the JSONs (the released zip's folder), STaR-KV's to
``screenspot-v2-prepared/images`` beside ``.../annotations``. Without ``images`` the first of
``<folder>/screenspotv2_image``, ``<folder>/../images``, ``<folder>/images`` and ``<folder>`` holding the samples'
images is used.

ScreenSpot-Pro (likaixin/ScreenSpot-Pro, read by ``eval/screenspotpro_eval.py``): every ``*.json`` in
``annotations/`` (e.g. ``pycharm_macos.json``) is a list of ``{"id": "pycharm_macos_0", "img_filename":
"pycharm_mac/screenshot_....png", "bbox": [x1, y1, x2, y2] (pixels), "img_size": [w, h], "instruction": "...",
"instruction_cn": "...", "platform": "macos", "application": "pycharm", "ui_type": "text" | "icon", "group":
"Dev"}``; the scorer normalises the box by ``img_size`` (the file's own size when the field is absent). Only
positive ground truth exists (the harnesses tag every sample ``gt_type = "positive"``) and only the English
``instruction`` is used. Images: ``--screenspot_imgs``, ``ScreenSpot-Pro/images`` in both harnesses' scripts, so
the default is ``<annotations>/../images`` (then ``<annotations>/images`` and ``<annotations>/..``). Files are read
in name order (the harnesses use ``os.listdir`` order, which is arbitrary).

Every sample is a one-step trajectory whose task and step instruction are the sample's instruction, and whose
``expected`` is ``{"schema": "screenspot", "variant": "v2" | "pro", "bbox": [x1, y1, x2, y2] (0-1), ...}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from guiagent.agent.eval.benchmarks.androidcontrol import (
    check_limit,
    image_path,
    pick_image_root,
    read_json_file,
    screenshot_geometry,
)
from guiagent.agent.trajectory.format import Step, Trajectory, TrajectoryError
from guiagent.agent.trajectory.records import a_type, is_number, type_name

SCHEMA = "screenspot"
SPLITS = ("mobile", "desktop", "web")
V2_IMAGES = "screenspotv2_image"
PROBES = 5

V2_HINT = (
    "ScreenSpot-v2 samples are objects with 'img_filename', 'instruction', 'bbox' [x, y, w, h] in pixels and "
    "'data_type' (text or icon)."
)
PRO_HINT = (
    "ScreenSpot-Pro samples are objects with 'img_filename', 'instruction', 'bbox' [x1, y1, x2, y2] in pixels, "
    "'img_size' [w, h] and 'ui_type' (text or icon)."
)


# -- ScreenSpot-v2 ---------------------------------------------------------------------------------------------
def load_screenspot_v2(
    folder: Path, images: Path | None = None, splits: Sequence[str] = SPLITS, limit: int | None = None
) -> list[Trajectory]:
    """One trajectory per sample of ``screenspot_{split}_v2.json`` for each split, in the harness order.

    ``limit`` keeps the first ``limit`` samples of each split, like the harnesses' ``--debug N``. A sample whose
    image is missing is skipped with a warning (kept on the first trajectory returned); none usable is an error.
    """
    check_limit(limit)
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise TrajectoryError(
            f"The ScreenSpot-v2 folder '{folder}' does not exist or is not a folder.",
            "Pass the folder holding screenspot_mobile_v2.json, screenspot_desktop_v2.json and screenspot_web_v2.json.",
        )
    if isinstance(splits, str):
        splits = (splits,)
    unknown = [s for s in splits if s not in SPLITS]
    if unknown or not splits:
        raise TrajectoryError(
            f"ScreenSpot-v2 has no split {', '.join(repr(s) for s in unknown) or '(none given)'}.",
            f"Use splits among {', '.join(SPLITS)}.",
        )
    missing = [f"screenspot_{s}_v2.json" for s in splits if not (folder / f"screenspot_{s}_v2.json").is_file()]
    if missing:
        raise TrajectoryError(
            f"The ScreenSpot-v2 folder '{folder}' has no {', '.join(missing)}.",
            "Download the annotation files from OS-Copilot/ScreenSpot-v2, or pass splits= with the ones you have.",
        )
    loaded: list[tuple[str, Path, int, dict[str, Any]]] = []
    for split in splits:
        path = folder / f"screenspot_{split}_v2.json"
        data = _sample_list(path, "ScreenSpot-v2 file", V2_HINT)
        for index, raw in enumerate(data[:limit]):
            loaded.append((split, path, index, _v2_sample(path, index, raw)))
    if not loaded:
        return []
    root, looked = pick_image_root(
        images,
        [folder / V2_IMAGES, folder.parent / "images", folder / "images", folder],
        [sample["img_filename"] for _, _, _, sample in loaded[:PROBES]],
        "ScreenSpot-v2",
    )
    trajectories: list[Trajectory] = []
    warnings: list[str] = []
    for split, path, index, sample in loaded:
        image = image_path(root, sample["img_filename"])
        geometry, problem = screenshot_geometry(image)
        if geometry is None:
            warnings.append(f"{path.name} sample {index}: {problem}; the sample is skipped.")
            continue
        width, height = geometry.image_size
        x, y, w, h = sample["bbox"]
        if w < 0 or h < 0:
            warnings.append(f"{path.name} sample {index}: bbox {sample['bbox']} has a negative width or height.")
        expected = {
            "schema": SCHEMA,
            "variant": "v2",
            "bbox": [x / width, y / height, (x + w) / width, (y + h) / height],
            "bbox_pixels": [x, y, x + w, y + h],
            "image_size": [width, height],
            "data_type": sample["data_type"],
            "data_source": sample["data_source"],
            "split": split,
        }
        trajectories.append(
            _one_step(
                sample["instruction"],
                image,
                geometry,
                expected,
                source="screenspot-v2",
                name=f"{split}_{index:04d}",
                meta={"file": str(path), "index": index, "split": split, "img_filename": sample["img_filename"]},
            )
        )
    return _finish(trajectories, warnings, len(loaded), looked, "ScreenSpot-v2", "--screenspot_imgs")


def _v2_sample(path: Path, index: int, raw: Any) -> dict[str, Any]:
    where = f"ScreenSpot-v2 file '{path}', sample {index} (0-based)"
    if not isinstance(raw, dict):
        raise TrajectoryError(f"{where} is a JSON {type_name(raw)}, not an object.", V2_HINT)
    sample = {
        "img_filename": _string(raw, "img_filename", where, V2_HINT),
        "instruction": _string(raw, "instruction", where, V2_HINT),
        "bbox": _bbox(raw, where, V2_HINT),
        "data_type": _string(raw, "data_type", where, V2_HINT),
        "data_source": _string(raw, "data_source", where, V2_HINT, required=False),
    }
    return sample


# -- ScreenSpot-Pro --------------------------------------------------------------------------------------------
def load_screenspot_pro(annotations: Path, images: Path | None = None, limit: int | None = None) -> list[Trajectory]:
    """One trajectory per sample of every ``*.json`` in the ScreenSpot-Pro annotations folder (name order).

    ``limit`` keeps the first ``limit`` samples over all files, like the harness's ``--debug N``. A sample whose
    image is missing is skipped with a warning (kept on the first trajectory returned); none usable is an error.
    """
    check_limit(limit)
    annotations = Path(annotations).expanduser()
    if annotations.is_dir() and not any(annotations.glob("*.json")) and (annotations / "annotations").is_dir():
        annotations = annotations / "annotations"  # the dataset root was given
    if not annotations.is_dir():
        raise TrajectoryError(
            f"The ScreenSpot-Pro annotations folder '{annotations}' does not exist or is not a folder.",
            "Pass ScreenSpot-Pro/annotations (the folder of per-application *.json files).",
        )
    files = sorted(annotations.glob("*.json"))
    if not files:
        raise TrajectoryError(
            f"The ScreenSpot-Pro annotations folder '{annotations}' has no *.json files.",
            "Pass ScreenSpot-Pro/annotations (the folder of per-application *.json files).",
        )
    loaded: list[tuple[Path, int, dict[str, Any]]] = []
    for path in files:
        if limit is not None and len(loaded) >= limit:
            break
        data = _sample_list(path, "ScreenSpot-Pro file", PRO_HINT)
        for index, raw in enumerate(data):
            if limit is not None and len(loaded) >= limit:
                break
            loaded.append((path, index, _pro_sample(path, index, raw)))
    if not loaded:
        return []
    root, looked = pick_image_root(
        images,
        [annotations.parent / "images", annotations / "images", annotations.parent],
        [sample["img_filename"] for _, _, sample in loaded[:PROBES]],
        "ScreenSpot-Pro",
    )
    trajectories: list[Trajectory] = []
    warnings: list[str] = []
    for path, index, sample in loaded:
        image = image_path(root, sample["img_filename"])
        geometry, problem = screenshot_geometry(image)
        if geometry is None:
            warnings.append(f"{path.name} sample {index}: {problem}; the sample is skipped.")
            continue
        size = sample["img_size"] or list(geometry.image_size)
        if sample["img_size"] and tuple(sample["img_size"]) != geometry.image_size:
            warnings.append(
                f"{path.name} sample {index}: img_size {sample['img_size']} differs from the image's "
                f"{geometry.image_size[0]}x{geometry.image_size[1]}; the box is normalised by img_size, as scored."
            )
        x1, y1, x2, y2 = sample["bbox"]
        if x2 < x1 or y2 < y1:
            warnings.append(f"{path.name} sample {index}: bbox {sample['bbox']} is not [x1, y1, x2, y2].")
        expected = {
            "schema": SCHEMA,
            "variant": "pro",
            "bbox": [x1 / size[0], y1 / size[1], x2 / size[0], y2 / size[1]],
            "bbox_pixels": [x1, y1, x2, y2],
            "image_size": list(size),
            "ui_type": sample["ui_type"],
            "platform": sample["platform"],
            "application": sample["application"],
            "group": sample["group"],
            "id": sample["id"],
            "gt_type": "positive",
        }
        trajectories.append(
            _one_step(
                sample["instruction"],
                image,
                geometry,
                expected,
                source="screenspot-pro",
                name=str(sample["id"]) if sample["id"] is not None else f"{path.stem}_{index:04d}",
                meta={"file": str(path), "index": index, "img_filename": sample["img_filename"]},
            )
        )
    return _finish(trajectories, warnings, len(loaded), looked, "ScreenSpot-Pro", "--screenspot_imgs")


def _pro_sample(path: Path, index: int, raw: Any) -> dict[str, Any]:
    where = f"ScreenSpot-Pro file '{path}', sample {index} (0-based)"
    if not isinstance(raw, dict):
        raise TrajectoryError(f"{where} is a JSON {type_name(raw)}, not an object.", PRO_HINT)
    img_size = raw.get("img_size")
    if img_size is not None and not (
        isinstance(img_size, list) and len(img_size) == 2 and all(is_number(v) and v > 0 for v in img_size)
    ):
        raise TrajectoryError(f"{where} has 'img_size' {img_size!r}, not [width, height] in pixels.", PRO_HINT)
    sample_id = raw.get("id")
    if sample_id is not None and not isinstance(sample_id, (str, int)):
        raise TrajectoryError(f"{where} has 'id' as {a_type(sample_id)}, not a string.", PRO_HINT)
    return {
        "id": sample_id,
        "img_filename": _string(raw, "img_filename", where, PRO_HINT),
        "instruction": _string(raw, "instruction", where, PRO_HINT),
        "bbox": _bbox(raw, where, PRO_HINT),
        "img_size": list(img_size) if img_size is not None else None,
        "ui_type": _string(raw, "ui_type", where, PRO_HINT),
        "platform": _string(raw, "platform", where, PRO_HINT, required=False),
        "application": _string(raw, "application", where, PRO_HINT, required=False),
        "group": _string(raw, "group", where, PRO_HINT, required=False),
    }


# -- shared ----------------------------------------------------------------------------------------------------
def _sample_list(path: Path, what: str, hint: str) -> list[Any]:
    data = read_json_file(path, what, hint)
    if not isinstance(data, list):
        raise TrajectoryError(f"{what} '{path}' holds a JSON {type_name(data)}, not a list of samples.", hint)
    return data


def _string(raw: dict[str, Any], name: str, where: str, hint: str, required: bool = True) -> str | None:
    value = raw.get(name)
    if value is None:
        if required:
            raise TrajectoryError(f"{where} has no '{name}' field.", hint)
        return None
    if not isinstance(value, str):
        raise TrajectoryError(f"{where} has '{name}' as {a_type(value)}, not a string.", hint)
    if required and not value.strip():
        raise TrajectoryError(f"{where} has an empty '{name}'.", hint)
    return value


def _bbox(raw: dict[str, Any], where: str, hint: str) -> list[float]:
    value = raw.get("bbox")
    if value is None:
        raise TrajectoryError(f"{where} has no 'bbox' field.", hint)
    if not (isinstance(value, list) and len(value) == 4 and all(is_number(v) for v in value)):
        raise TrajectoryError(f"{where} has 'bbox' {value!r}, not a list of 4 pixel numbers.", hint)
    return list(value)


def _one_step(
    instruction: str, image: Path, geometry, expected: dict[str, Any], *, source: str, name: str, meta: dict[str, Any]
) -> Trajectory:
    step = Step(step=1, image=image, screen=geometry, instruction=instruction, expected=expected)
    return Trajectory(task=instruction, steps=[step], screen=geometry, source=source, name=name, meta=meta)


def _finish(
    trajectories: list[Trajectory], warnings: list[str], total: int, looked: list[Path], what: str, flag: str
) -> list[Trajectory]:
    if not trajectories:
        raise TrajectoryError(
            f"None of the {total} {what} images could be read (looked under {', '.join(str(p) for p in looked)}).",
            f"Pass images= the folder the 'img_filename' paths are relative to (the harnesses' {flag}).",
        )
    trajectories[0].warnings.extend(warnings)
    return trajectories
