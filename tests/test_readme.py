"""The README's examples work: one rule of every kind, each loaded by the standard loader against
the README's own layout; the site file example parses; every picture and file it links is in the
repository; it stands on its own in a clone (no link outside the project)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rules.kinds import KINDS
from rules.standard import parse_standard

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The text of a `## ` section, up to the next one."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start:end if end > 0 else None]


def _yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, flags=re.S)


SETUP = _section("Set up your counter")
BLOCKS = [yaml.safe_load(block) for block in _yaml_blocks(SETUP)]
HEADER = next(b for b in BLOCKS if isinstance(b, dict) and "items" in b and "id" in b)
LAYOUT = next(b for b in BLOCKS if isinstance(b, dict) and set(b) == {"zones"})
RULE_BLOCKS = [b for b in BLOCKS if isinstance(b, dict) and set(b) == {"rules"}]


def test_the_readme_shows_one_rule_of_every_kind():
    kinds = [rule["kind"] for block in RULE_BLOCKS for rule in block["rules"]]
    assert sorted(kinds) == sorted(KINDS)  # each kind once, and no kind left out


@pytest.mark.parametrize("block", RULE_BLOCKS, ids=lambda b: b["rules"][0]["kind"])
def test_each_rule_example_loads_with_the_readme_standard_and_layout(block):
    standard = parse_standard({**HEADER, "rules": block["rules"]}, "README.md")
    (rule,) = standard.rules
    assert rule.kind == block["rules"][0]["kind"]
    for zone in rule.zone_names():
        assert zone in LAYOUT["zones"], zone  # zone rules name a zone of the README's layout


def test_all_rule_examples_together_make_one_standard():
    rules = [rule for block in RULE_BLOCKS for rule in block["rules"]]
    standard = parse_standard({**HEADER, "rules": rules}, "README.md")
    assert {rule.kind for rule in standard.rules} == set(KINDS)


def test_the_layout_example_is_the_bundled_one():
    bundled = yaml.safe_load((REPO / "examples" / "front-counter" / "layout.yaml").read_text(encoding="utf-8"))
    assert LAYOUT == bundled


def test_the_site_file_example_parses():
    from inspector.batch.site import parse_site

    site = next(b for b in BLOCKS if isinstance(b, dict) and "halls" in b)
    # written as if it sat in examples/site/, like the bundled one
    spec = parse_site(site, REPO / "examples" / "site" / "my-centre.yaml")
    assert [c.id for hall in spec.halls for c in hall.cameras] == ["window-01"]


def test_the_calibrate_example_never_writes_over_a_bundled_file():
    commands = re.findall(r"desk-inspector calibrate .*?(?:\n\n|```)", README, flags=re.S)
    assert commands
    for command in commands:
        output = re.search(r"-o (\S+)", command).group(1)
        assert output.startswith("out/"), output


def test_the_quick_start_commands_stay_as_ci_runs_them():
    quick = _section("Quick start")
    assert ("python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/desk-inspector inspect "
            "examples/front-counter/photos -c calibration/cameras/window-01.yaml -s rules/standards/front-counter.yaml "
            "--detections examples/front-counter/detections -o out/example\n.venv/bin/python -m pytest -q\n") in quick


def test_it_stands_on_its_own_and_every_link_is_there():
    assert "../shared/SPEC.md" not in README and "SPEC.md" not in README
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if "://" in target:
            continue
        assert (REPO / target).exists(), target
    for heading in ("### Correcting results and model versions", "### Signing in and API keys",
                    "### Setting up a counter in the web page"):
        assert f"\n{heading}\n" in README


def test_every_anchor_link_names_a_heading():
    def slug(heading: str) -> str:  # GitHub's: lower case, punctuation dropped, spaces to hyphens
        return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")

    headings = {slug(h) for h in re.findall(r"^#+ (.+?)(?: <!--.*-->)?$", README, flags=re.M)}
    for anchor in re.findall(r"\]\(#([^)]+)\)", README):
        assert anchor in headings, anchor
