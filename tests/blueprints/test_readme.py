"""Keep the READMEs in step with the blueprints: a section and an import link each."""

from pathlib import Path
import re
from typing import Final
from urllib.parse import parse_qs, urlparse

import pytest

from .helpers import BLUEPRINTS, SOURCE_URL

README: Final = Path(__file__).parents[2] / "README.md"
IMPORT_LINK: Final = re.compile(
    r"\(https://my\.home-assistant\.io/redirect/blueprint_import/\?[^)\s]+\)"
)
FILES: Final = sorted(path.name for path in BLUEPRINTS.glob("*.yaml"))


def imported_urls(text: str) -> list[str]:
    """Return the blueprint addresses the import links of a text point at."""
    urls = []
    for match in IMPORT_LINK.finditer(text):
        query = parse_qs(urlparse(match.group(0)[1:-1]).query)
        urls.extend(query["blueprint_url"])
    return urls


def blueprint_section(text: str, url: str) -> str:
    """Return the README's level-3 section whose import link points at a blueprint."""
    for section in text.split("\n### ")[1:]:
        if url in imported_urls(section.split("\n## ")[0]):
            return section
    raise AssertionError(f"no section imports {url}")


def test_every_blueprint_is_tested() -> None:
    """Seven blueprints, each with a test module of its own."""
    assert len(FILES) == 7
    for name in FILES:
        assert (Path(__file__).parent / f"test_{Path(name).stem}.py").is_file(), name


@pytest.mark.parametrize("name", FILES)
def test_readme_has_a_section_with_an_import_link(name: str) -> None:
    """The top-level README gives each blueprint a section with its import button."""
    text = README.read_text(encoding="utf-8")
    section = blueprint_section(text, SOURCE_URL.format(name))
    # A heading and a description beyond the button.
    heading, _, body = section.partition("\n")
    assert heading.strip()
    assert len(IMPORT_LINK.sub("", body).split()) > 20


@pytest.mark.parametrize("name", FILES)
def test_folder_readme_lists_it_in_both_languages(name: str) -> None:
    """The blueprint folder's README has a row for it in English and in Chinese."""
    text = (BLUEPRINTS / "README.md").read_text(encoding="utf-8")
    assert text.count(f"[`{name}`]({name})") == 2
