"""The README's result tables equal what their JSONs render (ecgkd_lite.bench.readme)."""

from __future__ import annotations

import pytest

from ecgkd_lite.bench import readme
from ecgkd_lite.errors import ConfigError


def test_every_readme_table_matches_its_json():
    text = readme.README.read_text()
    assert len(readme.BLOCK.findall(text)) >= 3
    assert readme.stale(text) == [], "run python -m ecgkd_lite.bench.readme"


def test_a_drifted_number_is_caught_and_an_unknown_block_refused():
    text = readme.README.read_text()
    m = next(readme.BLOCK.finditer(text))
    body = m["body"]
    digit = next(i for i, ch in enumerate(body) if ch.isdigit())
    drifted = body[:digit] + str((int(body[digit]) + 1) % 10) + body[digit + 1 :]
    changed = text[: m.start("body")] + drifted + text[m.end("body") :]
    assert readme.stale(changed) == [m["name"]]
    assert readme.render(changed) == readme.render(text)
    with pytest.raises(ConfigError, match="README table block 'nope' has no renderer"):
        readme.render("<!-- table: nope -->\nx\n<!-- /table -->")
