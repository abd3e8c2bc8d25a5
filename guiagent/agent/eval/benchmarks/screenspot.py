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

Scoring: ``grounding_hit`` (the predicted point inside the box, edges included), averaged as the harnesses do:
``micro_accuracy`` for ScreenSpot-Pro, ``screenspot_v2_accuracy`` (GUI-KV's macro average) for v2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guiagent.agent.eval.benchmarks.files import (
    PROBES,
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

V2_HINT = (
    "ScreenSpot-v2 samples are objects with 'img_filename', 'instruction', 'bbox' [x, y, w, h] in pixels and "
    "'data_type' (text or icon)."
)
PRO_HINT = (
    "ScreenSpot-Pro samples are objects with 'img_filename', 'instruction', 'bbox' [x1, y1, x2, y2] in pixels, "
    "'img_size' [w, h] and 'ui_type' (text or icon)."
)
PRO_FOLDER_HINT = "Pass ScreenSpot-Pro/annotations (the folder of per-application *.json files)."

_Loaded = tuple[Path, int, dict[str, Any]]  # (file, 0-based index in it, validated sample)


@dataclass(frozen=True)
class _Variant:
    """What differs between ScreenSpot-v2 and -Pro; reading images and building trajectories is shared."""

    key: str  # "v2" | "pro": the ``variant`` field and the ``screenspot-<key>`` source
    title: str
    expected: Callable[[dict[str, Any], tuple[int, int], str, list[str]], dict[str, Any]]
    name: Callable[[Path, int, dict[str, Any]], str]
    meta_fields: tuple[str, ...]  # sample fields kept in the trajectory's meta, besides file, index, img_filename


def _v2_expected(sample: dict[str, Any], size: tuple[int, int], label: str, warnings: list[str]) -> dict[str, Any]:
    width, height = size
    x, y, w, h = sample["bbox"]
    if w < 0 or h < 0:
        warnings.append(f"{label}: bbox {sample['bbox']} has a negative width or height.")
    return {
        "bbox": [x / width, y / height, (x + w) / width, (y + h) / height],
        "bbox_pixels": [x, y, x + w, y + h],
        "image_size": [width, height],
        "data_type": sample["data_type"],
        "data_source": sample["data_source"],
        "split": sample["split"],
    }


def _pro_expected(sample: dict[str, Any], size: tuple[int, int], label: str, warnings: list[str]) -> dict[str, Any]:
    scale = sample["img_size"] or list(size)
    if sample["img_size"] and tuple(sample["img_size"]) != size:
        warnings.append(
            f"{label}: img_size {sample['img_size']} differs from the image's "
            f"{size[0]}x{size[1]}; the box is normalised by img_size, as scored."
        )
    x1, y1, x2, y2 = sample["bbox"]
    if x2 < x1 or y2 < y1:
        warnings.append(f"{label}: bbox {sample['bbox']} is not [x1, y1, x2, y2].")
    return {
        "bbox": [x1 / scale[0], y1 / scale[1], x2 / scale[0], y2 / scale[1]],
        "bbox_pixels": [x1, y1, x2, y2],
        "image_size": list(scale),
        "ui_type": sample["ui_type"],
        "platform": sample["platform"],
        "application": sample["application"],
        "group": sample["group"],
        "id": sample["id"],
        "gt_type": "positive",
    }


_V2 = _Variant(
    "v2",
    "ScreenSpot-v2",
    _v2_expected,
    lambda path, index, sample: f"{sample['split']}_{index:04d}",
    ("split",),
)
_PRO = _Variant(
    "pro",
    "ScreenSpot-Pro",
    _pro_expected,
    lambda path, index, sample: str(sample["id"]) if sample["id"] is not None else f"{path.stem}_{index:04d}",
    (),
)


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
    loaded: list[_Loaded] = []
    for split in splits:
        path = folder / f"screenspot_{split}_v2.json"
        data = _sample_list(path, "ScreenSpot-v2 file", V2_HINT)
        loaded += [
            (path, index, _v2_sample(path, index, raw) | {"split": split}) for index, raw in enumerate(data[:limit])
        ]
    candidates = [folder / V2_IMAGES, folder.parent / "images", folder / "images", folder]
    return _trajectories(_V2, loaded, images, candidates)


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
            f"The ScreenSpot-Pro annotations folder '{annotations}' does not exist or is not a folder.", PRO_FOLDER_HINT
        )
    files = sorted(annotations.glob("*.json"))
    if not files:
        raise TrajectoryError(
            f"The ScreenSpot-Pro annotations folder '{annotations}' has no *.json files.", PRO_FOLDER_HINT
        )
    loaded: list[_Loaded] = []
    for path in files:
        if limit is not None and len(loaded) >= limit:
            break  # later files are not read at all
        data = _sample_list(path, "ScreenSpot-Pro file", PRO_HINT)
        kept = data if limit is None else data[: limit - len(loaded)]
        loaded += [(path, index, _pro_sample(path, index, raw)) for index, raw in enumerate(kept)]
    candidates = [annotations.parent / "images", annotations / "images", annotations.parent]
    return _trajectories(_PRO, loaded, images, candidates)


def _trajectories(
    variant: _Variant, loaded: Sequence[_Loaded], images: Path | None, candidates: Sequence[Path]
) -> list[Trajectory]:
    """One one-step trajectory per sample whose image can be read; the others become warnings."""
    if not loaded:
        return []
    probes = [sample["img_filename"] for _, _, sample in loaded[:PROBES]]
    root, looked = pick_image_root(images, candidates, probes, variant.title)
    trajectories: list[Trajectory] = []
    warnings: list[str] = []
    for path, index, sample in loaded:
        label = f"{path.name} sample {index}"
        image = image_path(root, sample["img_filename"])
        geometry, problem = screenshot_geometry(image)
        if geometry is None:
            warnings.append(f"{label}: {problem}; the sample is skipped.")
            continue
        expected = {"schema": SCHEMA, "variant": variant.key}
        expected |= variant.expected(sample, geometry.image_size, label, warnings)
        meta = {"file": str(path), "index": index} | {field: sample[field] for field in variant.meta_fields}
        meta |= {"img_filename": sample["img_filename"]}
        step = Step(step=1, image=image, screen=geometry, instruction=sample["instruction"], expected=expected)
        trajectories.append(
            Trajectory(
                task=sample["instruction"],
                steps=[step],
                screen=geometry,
                source=f"screenspot-{variant.key}",
                name=variant.name(path, index, sample),
                meta=meta,
            )
        )
    if not trajectories:
        raise TrajectoryError(
            f"None of the {len(loaded)} {variant.title} images could be read "
            f"(looked under {', '.join(str(p) for p in looked)}).",
            "Pass images= the folder the 'img_filename' paths are relative to (the harnesses' --screenspot_imgs).",
        )
    trajectories[0].warnings.extend(warnings)
    return trajectories


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


# -- scoring --------------------------------------------------------------------------------------------------
def grounding_hit(point: tuple[float, float], bbox: tuple[float, float, float, float]) -> float:
    """1.0 if the normalized point lies in the normalized [x1, y1, x2, y2] box, edges included."""
    (x, y), (x1, y1, x2, y2) = point, bbox
    return float(x1 <= x <= x2 and y1 <= y <= y2)


def micro_accuracy(scores: Iterable[float]) -> float:
    """Mean over all samples (ScreenSpot-Pro's overall accuracy); 0 for none."""
    values = list(scores)
    return sum(values) / len(values) if values else 0.0


def screenspot_v2_accuracy(records: Iterable[Mapping[str, Any]]) -> float:
    """ScreenSpot-v2's reported overall: (mean over splits of text accuracy + mean over splits of icon accuracy) / 2.

    Each record has ``split`` (mobile, desktop, web), ``data_type`` (text; anything else counts as icon, as in the
    harness) and ``hit`` (0/1). A macro average, not sample-weighted. quirk: a split without text (or icon)
    samples contributes an accuracy of 0 to that mean, as in the harness.
    """
    splits: dict[str, dict[str, list[float]]] = {}
    for record in records:
        kinds = splits.setdefault(record["split"], {"text": [], "icon": []})
        kinds["text" if record["data_type"] == "text" else "icon"].append(float(record["hit"]))
    if not splits:
        return 0.0
    text = sum(micro_accuracy(kinds["text"]) for kinds in splits.values()) / len(splits)
    icon = sum(micro_accuracy(kinds["icon"]) for kinds in splits.values()) / len(splits)
    return (text + icon) / 2
