"""Method settings as configuration: ``--set`` parsing and typing, ``--config`` files, merge order, resolved dicts."""

from __future__ import annotations

import pytest

from guiagent.compression.context import RollingContext
from guiagent.compression.presses import method_defaults, method_names
from guiagent.compression.settings import MethodSettings, load_config, method_settings, parse_set
from guiagent.errors import ConfigError


def test_nothing_set_resolves_to_the_dataclass_defaults():
    settings = method_settings(None, [])
    assert settings == [MethodSettings()]
    for name in method_names():
        assert settings[0].resolved(name) == method_defaults(name)
    assert settings[0].resolved("full") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("starkv.alpha=1", ("starkv", "alpha", [1.0])),
        ("snapkv.kernel_size=3", ("snapkv", "kernel_size", [3])),
        ("starkv.temporal=off", ("starkv", "temporal", [False])),
        ("STaR-KV.entropy=true", ("starkv", "entropy", [True])),
        ("snapkv.pooling=maxpool", ("snapkv", "pooling", ["maxpool"])),
        ("snapkv.kernel_size=3,5", ("snapkv", "kernel_size", [3, 5])),
    ],
)
def test_a_set_is_typed_by_the_dataclass_field(text, expected):
    method, field, values = parse_set(text)
    assert (method, field, values) == expected
    assert [type(v) for v in values] == [type(v) for v in expected[2]]


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("nokv.alpha=1", ["Unknown compression method 'nokv'", "starkv"]),
        ("snapkv.alpha=1", ["has no setting 'alpha'", "kernel_size"]),
        ("full.window=4", ["has no setting 'window'"]),
        ("snapkv.kernel_size=wide", ["snapkv.kernel_size takes a whole number"]),
        ("starkv.temporal=maybe", ["true or false"]),
        ("snapkv.pooling=median", ["pooling must be 'avgpool' or 'maxpool'"]),
        ("snapkv kernel_size 3", ["not a method setting"]),
        ("snapkv.kernel_size=", ["empty value"]),
    ],
)
def test_a_bad_set_is_one_sentence_naming_what_is_valid(text, needles):
    with pytest.raises(ConfigError) as error:
        method_settings(None, [text])
    for needle in needles:
        assert needle in str(error.value)


def test_the_config_file_comes_first_and_the_later_set_wins(tmp_path):
    config = tmp_path / "methods.yaml"
    config.write_text("methods:\n  starkv: {alpha: 1.0, temperature: 2.0}\n  snapkv: {kernel_size: 3}\n")
    [settings] = method_settings(str(config), ["starkv.alpha=1.5", "starkv.alpha=0.5", "snapkv.kernel_size=5"])
    assert settings.of("starkv") == {"alpha": 0.5, "temperature": 2.0}
    assert settings.of("snapkv") == {}  # back at the default: nothing differs
    assert settings.resolved("starkv") == {**method_defaults("starkv"), "alpha": 0.5, "temperature": 2.0}
    assert settings.as_dict() == {"starkv": {"alpha": 0.5, "temperature": 2.0}}
    assert MethodSettings.from_dict(settings.as_dict()) == settings


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("starkv: {alpha: 1.0}\n", "may only hold the key 'methods'"),
        ("methods: [starkv]\n", "must map each method"),
        ("methods:\n  starkv: {alfa: 1.0}\n", "has no setting 'alfa'"),
        ("methods: {: [\n", "cannot be read"),
    ],
)
def test_a_bad_config_file_is_refused(tmp_path, text, needle):
    config = tmp_path / "methods.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=needle):
        load_config(config)


def test_only_eval_sweeps_several_values():
    assert len(method_settings(None, ["snapkv.kernel_size=3,5", "starkv.alpha=1,2"], sweeps=True)) == 4
    with pytest.raises(ConfigError, match="Only guiagent eval sweeps"):
        method_settings(None, ["snapkv.kernel_size=3,5"])


def test_a_press_is_built_with_the_overrides_and_a_label_names_them():
    [settings] = method_settings(None, ["snapkv.kernel_size=3", "starkv.alpha=1"])
    press = RollingContext(observers="both", settings=settings).press("snapkv")
    assert (press.kernel_size, press.observers, press.window) == (3, "both", 8)
    assert RollingContext(settings=settings).press("starkv").alpha == 1.0
    assert settings.label("snapkv") == "kernel_size3" and settings.label("guikv") == ""
    assert settings.only("snapkv").as_dict() == {"snapkv": {"kernel_size": 3}}
    report = RollingContext(observers="both", settings=settings).report("snapkv")
    assert report == {
        "resolved": {**method_defaults("snapkv"), "kernel_size": 3, "observers": "both"},
        "overrides": {"snapkv": {"kernel_size": 3}, "starkv": {"alpha": 1.0}},
    }
    assert RollingContext().resolved("full") == {}
