"""Checks of the quality scale claims that can be verified mechanically.

hassfest skips custom integrations, so these tests stand in for it: the manifest,
the translations, the actions' documentation, the platforms' conventions, the
layering, and the rules quality_scale.yaml marks as done.
"""

import ast
import importlib
import json
from pathlib import Path
import re
import string
import tomllib
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.smart_community import PLATFORMS
from custom_components.smart_community.const import DOMAIN

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / DOMAIN

# The rules of the Integration Quality Scale, by tier (core script/hassfest/quality_scale.py).
RULES = {
    "bronze": [
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ],
    "gold": [
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}
# Requirements must install on HA OS and Container (Alpine, musl): only packages
# known to publish musllinux wheels or to be pure Python may be listed. pymodbus
# is pure Python, and the version Home Assistant's own modbus integration pins.
# av (PyAV) is what Home Assistant's own stream integration requires, at the
# version it pins, so HA OS and Container ship it (Home Assistant builds the
# musl wheels); numpy likewise, which it pins beside av. ocpp is pure Python;
# jsonschema too, and its one compiled dependency (rpds-py) publishes
# musllinux wheels for x86_64 and aarch64.
MUSL_INSTALLABLE: set[str] = {"av", "jsonschema", "numpy", "ocpp", "pymodbus"}
# The layers below the Home Assistant glue.
PURE_LAYERS = ("community", "protocols", "vision")


def load_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def rules() -> dict[str, Any]:
    """Read the rules of quality_scale.yaml."""
    return yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]


def status(rule: str) -> str:
    """Return a rule's status: done, todo or exempt."""
    value = rules()[rule]
    return value if isinstance(value, str) else value["status"]


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested translation dicts into dotted keys."""
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def placeholders(text: str) -> set[str]:
    """Name the {placeholders} of a translation."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


STRINGS = load_json(INTEGRATION / "strings.json")


def test_quality_scale_lists_every_rule_honestly() -> None:
    """Every rule is listed once; anything not done says why."""
    listed = rules()
    expected = {rule for tier in RULES.values() for rule in tier}
    assert set(listed) == expected
    for rule, value in listed.items():
        if isinstance(value, str):
            assert value == "done", f"{rule}: a bare status must be done"
        else:
            assert value["status"] in {"todo", "exempt"}, rule
            assert value.get("comment"), f"{rule}: say why it is {value['status']}"


def test_manifest() -> None:
    """The manifest has what HACS and Home Assistant need, and nothing unsafe on musl."""
    manifest = load_json(INTEGRATION / "manifest.json")
    assert manifest["domain"] == DOMAIN
    assert manifest["config_flow"] is True
    assert manifest["integration_type"] == "hub"
    assert manifest["iot_class"] == "local_push"
    assert re.fullmatch(r"\d+\.\d+\.\d+", manifest["version"])
    assert manifest["codeowners"]
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")
    for requirement in manifest["requirements"]:
        name = re.split(r"[=<>~!\[]", requirement)[0].lower()
        assert name in MUSL_INSTALLABLE, f"{requirement} may not install on HA OS"


def test_hacs_json() -> None:
    """hacs.json names the integration, its minimum HA version and the country."""
    hacs = load_json(ROOT / "hacs.json")
    assert hacs["name"]
    assert hacs["country"] == "CN"
    assert hacs["render_readme"] is True
    with (ROOT / "requirements_test.txt").open() as requirements:
        assert "pytest-homeassistant-custom-component==" in requirements.read()
    assert re.fullmatch(r"20\d\d\.\d+\.\d+", hacs["homeassistant"])


def test_english_translation_is_strings_json() -> None:
    """translations/en.json is strings.json, as Home Assistant loads it for custom integrations."""
    assert load_json(INTEGRATION / "translations" / "en.json") == STRINGS


def test_chinese_translation_is_complete() -> None:
    """zh-Hans has every key of strings.json, no others, and the same placeholders."""
    english = flatten(STRINGS)
    chinese = flatten(load_json(INTEGRATION / "translations" / "zh-Hans.json"))
    assert sorted(set(english) - set(chinese)) == [], "missing in zh-Hans"
    assert sorted(set(chinese) - set(english)) == [], "only in zh-Hans"
    for key, text in english.items():
        assert chinese[key].strip(), key
        assert placeholders(chinese[key]) == placeholders(text), key


def test_exceptions_are_translated() -> None:
    """Every translation key raised by the code has a message in strings.json."""
    exceptions = STRINGS["exceptions"]
    raised: set[str] = set()
    for module in INTEGRATION.rglob("*.py"):
        raised |= set(re.findall(r'translation_key="([a-z_]+)"', module.read_text()))
    assert "invalid_plate" in raised  # the registry's errors are among them
    known = set(exceptions) | set(STRINGS["issues"]) | set(STRINGS["device"])
    for entities in STRINGS["entity"].values():
        known |= set(entities)
    missing = raised - known
    assert missing == set()


def test_actions_are_documented() -> None:
    """Each action has a services.yaml entry, translated fields and an icon."""
    services = {
        name: spec
        for name, spec in yaml.safe_load(
            (INTEGRATION / "services.yaml").read_text()
        ).items()
        if not name.startswith(".")
    }
    module = importlib.import_module(f"custom_components.{DOMAIN}.services")
    registered = set(module.HANDLERS) | set(module.LOCK_ACTIONS)
    icons = load_json(INTEGRATION / "icons.json")["services"]
    assert set(services) == registered == set(STRINGS["services"]) == set(icons)
    for name, spec in services.items():
        translated = STRINGS["services"][name]
        assert translated["name"]
        assert translated["description"]
        fields = spec.get("fields", {})
        assert set(fields) == set(translated.get("fields", {})), name
        for field in fields.values():
            selector = field.get("selector", {})
            if key := selector.get("select", {}).get("translation_key"):
                options = set(STRINGS["selector"][key]["options"])
                assert options == set(selector["select"]["options"])


@pytest.mark.parametrize("platform", PLATFORMS)
def test_parallel_updates_set(platform: str) -> None:
    """Every platform says how many updates may run at once."""
    module = importlib.import_module(f"custom_components.{DOMAIN}.{platform}")
    assert isinstance(module.PARALLEL_UPDATES, int)


def test_layers_do_not_import_home_assistant() -> None:
    """Nothing below the glue imports homeassistant; the simulator imports nothing of ours."""
    offenders = []
    checked = [(INTEGRATION / layer, ("homeassistant",)) for layer in PURE_LAYERS]
    checked.append((ROOT / "simulator", ("homeassistant", "custom_components")))
    for folder, forbidden in checked:
        for module in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(module.read_text(), str(module))):
                names: list[str] = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif (
                    isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                ):
                    names = [node.module]
                offenders += [
                    f"{module.relative_to(ROOT)}: {name}"
                    for name in names
                    if name.split(".")[0] in forbidden
                ]
    assert offenders == []


def test_done_rules_hold_in_the_files() -> None:
    """File-level evidence for rules marked done."""
    config_flow = (INTEGRATION / "config_flow.py").read_text()
    evidence = {
        "brands": (INTEGRATION / "brand" / "icon.png").is_file(),
        "config-flow": load_json(INTEGRATION / "manifest.json")["config_flow"],
        "reconfiguration-flow": "async_step_reconfigure" in config_flow,
        "diagnostics": "async_get_config_entry_diagnostics"
        in (INTEGRATION / "diagnostics.py").read_text(),
        "common-modules": (INTEGRATION / "entity.py").is_file(),
        "integration-owner": bool(
            load_json(INTEGRATION / "manifest.json")["codeowners"]
        ),
        "test-coverage": tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
            "coverage"
        ]["report"]["fail_under"]
        >= 95,
        "strict-typing": 'mypy" --strict' in (ROOT / "scripts" / "test").read_text(),
        "dependency-transparency": all(
            "==" in requirement
            for requirement in load_json(INTEGRATION / "manifest.json")["requirements"]
        ),
    }
    for rule, holds in evidence.items():
        if status(rule) == "done":
            assert holds, f"{rule} is marked done but the files do not show it"


async def test_action_setup_without_entries(hass: HomeAssistant) -> None:
    """Actions exist as soon as the integration is set up, before any community loads."""
    assert await async_setup_component(hass, DOMAIN, {})
    module = importlib.import_module(f"custom_components.{DOMAIN}.services")
    for service in set(module.HANDLERS) | set(module.LOCK_ACTIONS):
        assert hass.services.has_service(DOMAIN, service)


async def test_entities_follow_conventions(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    """Each entity has a unique ID, a translated name, an entity name and an icon."""
    entries = er.async_entries_for_config_entry(
        entity_registry, init_integration.entry_id
    )
    assert entries
    icons = load_json(INTEGRATION / "icons.json")["entity"]
    for entity in entries:
        assert entity.unique_id
        assert entity.has_entity_name, entity.entity_id
        assert entity.translation_key, entity.entity_id
        assert entity.translation_key in STRINGS["entity"][entity.domain]
        assert entity.translation_key in icons[entity.domain]
        assert entity.device_id is not None
    assert len({entity.unique_id for entity in entries}) == len(entries)
