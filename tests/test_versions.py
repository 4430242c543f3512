"""Code versions follow the code: a change to a versioned source without a version bump fails here."""

from __future__ import annotations

import json

import pytest

from ecgkd_lite import versions

same_python = pytest.mark.skipif(
    "{}.{}".format(*__import__("sys").version_info[:2]) != versions.PYTHON,
    reason=f"code digests are recorded with Python {versions.PYTHON} (the lock's); ast.dump differs between versions",
)


@same_python
def test_every_component_matches_its_recorded_digest():
    """If this fails, a file that shapes data or weights changed: bump its component's version in
    ecgkd_lite/versions.py (cached and shipped runs then retrain) and run
    `python -m ecgkd_lite.versions --refresh`."""
    assert versions.stale_components() == []


def test_every_file_of_the_versioned_folders_is_classified():
    assert versions.unclassified_files() == []


def test_every_registered_term_has_a_component():
    from ecgkd_lite.distill.base import TERMS

    assert {versions.term_component(cls) for cls in TERMS.values()}


def test_digest_ignores_prose_but_not_code(tmp_path):
    base = 'def f(x):\n    """Doc."""\n    return x + 1  # one\n'
    (tmp_path / "a.py").write_text(base)
    (tmp_path / "b.py").write_text(
        '"""Module doc\nover lines."""\n\ndef f(x):\n    """Other doc."""\n\n    return (\n        x + 1\n    )\n'
    )
    (tmp_path / "c.py").write_text(base.replace("x + 1", "x + 2"))
    (tmp_path / "d.py").write_text(base.replace("\n", "\r\n"))
    a, b, c, d = (versions.source_digest(tmp_path / f"{n}.py") for n in "abcd")
    assert a == b == d
    assert c != a


@pytest.fixture()
def fake_package(tmp_path, monkeypatch):
    (tmp_path / "term.py").write_text("def loss(x):\n    return x\n")
    monkeypatch.setattr(versions, "PACKAGE", tmp_path)
    monkeypatch.setattr(versions, "COMPONENTS", {"term:toy": (1, ("term.py",))})
    lock = tmp_path / "code_versions.json"
    monkeypatch.setattr(versions, "LOCK", lock)
    versions.refresh(lock)
    return tmp_path, lock


def test_a_changed_term_without_a_bump_is_stale_and_refused(fake_package, monkeypatch):
    root, lock = fake_package
    assert versions.stale_components(versions.read_lock(lock)) == []
    (root / "term.py").write_text("def loss(x):\n    return 2 * x\n")
    stale = versions.stale_components(versions.read_lock(lock))
    assert len(stale) == 1 and "bump" in stale[0] and "term:toy" in stale[0]
    with pytest.raises(ValueError, match="without a version bump"):
        versions.refresh(lock)
    # a comment alone is not a change
    (root / "term.py").write_text("def loss(x):\n    # scaled\n    return x\n")
    assert versions.stale_components(versions.read_lock(lock)) == []
    # bumped: refresh records the new digest
    (root / "term.py").write_text("def loss(x):\n    return 2 * x\n")
    monkeypatch.setattr(versions, "COMPONENTS", {"term:toy": (2, ("term.py",))})
    assert versions.refresh(lock) == ["term:toy"]
    assert json.loads(lock.read_text())["term:toy"]["version"] == 2
    assert versions.stale_components(versions.read_lock(lock)) == []


def test_cli_check_exit_codes(fake_package, capsys):
    root, _ = fake_package
    assert versions.main([]) == 0
    (root / "term.py").write_text("def loss(x):\n    return 3 * x\n")
    assert versions.main([]) == 1
    assert "bump" in capsys.readouterr().out
    assert versions.main(["--refresh"]) == 2
