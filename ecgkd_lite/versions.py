"""Versions of the code that decides what a data set or a trained model *is*.

A cached or shipped run is reused only when the code that made it is the same. Hashing source
files into cache keys would make a comment or a docstring retrain everything, and hashes differ
between checkouts with other line endings; so every piece of code that shapes data or weights has
an explicit **version** here, and cache keys carry the versions (``key_versions``). The versions
are tied to the code by ``code_versions.json``: for each component, its version and a digest of its
syntax tree *without comments, docstrings and formatting* (``source_digest``). A test
(``tests/test_versions.py``) fails when a component's sources change while its version does not;
``python -m ecgkd_lite.versions --refresh`` records the new digest, and refuses to unless the
version was bumped.

Components (paths relative to the package):

=================  ========================================================================
component          what a change to it changes
=================  ========================================================================
generator          the synthetic records (so the synthetic data key)
generator_v2       the opt-in v2 synthetic records (``load_synthetic_v2``; their key carries both)
readers            the parsed real records (PTB-XL, CinC, ptbxl-2k, LUDB; WFDB, SNOMED)
preprocess         resampling, band-pass and scaling (every prepared split's key)
models             the architectures (every trained model)
model:<name>       one architecture kept apart from ``models`` (only runs of that model)
engine             the training loop, crops, objective, validation metric (every trained model)
distiller          the distiller, feature capture, teacher-output cache and recipes
kd_helpers         projection heads and token helpers several terms share
term:<name>        one distillation term (only runs whose recipe uses it)
restoration        the lead-I -> 12-lead restoration objective and restored data sets
scenarios          the semi-supervised scenarios' record splits (runs of a scenario split)
matched_batches    the matched labeled/unlabeled batches of label-ratio runs (their runs only)
=================  ========================================================================
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
LOCK = PACKAGE / "code_versions.json"
#: the Python minor version the recorded digests were computed with (the lock's)
PYTHON = "3.11"

#: component -> (version, source files relative to the package). Bump a version when its files
#: change what they compute, then run ``python -m ecgkd_lite.versions --refresh``.
COMPONENTS: dict[str, tuple[int, tuple[str, ...]]] = {
    "generator": (
        2,
        ("data/synthetic.py", "data/synthetic_conditions.py", "data/conditions.py", "data/dower.py", "data/leads.py"),
    ),
    "generator_v2": (
        5,
        ("data/synthetic_v2.py", "data/synthetic_v2_render.py", "data/synthetic_v2_tables.py"),
    ),
    "readers": (
        4,
        (
            "data/ptbxl.py",
            "data/challenge.py",
            "data/wfdb_io.py",
            "data/snomed.py",
            "data/tables/snomed_ct.csv",
            "data/ptbxl2k.py",
            "data/ludb.py",
        ),
    ),
    "preprocess": (2, ("data/preprocess.py",)),
    "models": (
        2,
        (
            "models/blocks.py",
            "models/hooks.py",
            "models/patch_transformer.py",
            "models/registry.py",
            "models/resnet1d.py",
            "models/student.py",
            "models/unet1d.py",
        ),
    ),
    "engine": (
        2,
        (
            "train/engine.py",
            "train/config.py",
            "train/datasets.py",
            "train/objective.py",
            "train/distributed.py",
            "data/windows.py",
            "metrics.py",
        ),
    ),
    "distiller": (
        2,
        (
            "distill/base.py",
            "distill/distiller.py",
            "distill/capture.py",
            "distill/teacher_cache.py",
            "distill/recipe.py",
        ),
    ),
    "kd_helpers": (
        2,
        (
            "distill/baselines/adapters.py",
            "distill/evl/tokens.py",
            "distill/liteheart/importance.py",
            "explain/gradcam.py",
        ),
    ),
    "term:vanilla_kd": (1, ("distill/baselines/vanilla_kd.py",)),
    "term:fitnets": (1, ("distill/baselines/fitnets.py",)),
    "term:attention_transfer": (1, ("distill/baselines/attention_transfer.py",)),
    "term:rkd": (2, ("distill/baselines/rkd.py",)),
    "term:crd": (1, ("distill/baselines/crd.py",)),
    "term:dkd": (2, ("distill/baselines/dkd.py",)),
    "term:region_aware": (1, ("distill/liteheart/region_aware.py",)),
    "term:cross_layer_mi": (2, ("distill/liteheart/cross_layer_mi.py",)),
    "term:semi_supervised": (2, ("distill/liteheart/semi_supervised.py",)),
    "term:evl_mhca": (3, ("distill/evl/mhca.py", "distill/evl/guards.py")),
    "term:evl_ot": (2, ("distill/evl/optimal_transport.py", "distill/evl/guards.py")),
    "term:evl_relation": (3, ("distill/evl/relation.py",)),
    "restoration": (2, ("train/restoration.py",)),
    "term:mean_teacher": (1, ("distill/reference/mean_teacher.py",)),
    "term:hard_pseudo_label": (1, ("distill/reference/hard_pseudo_label.py",)),
    "scenarios": (1, ("train/scenarios.py",)),
    "matched_batches": (1, ("train/matched.py",)),
    "model:printout_cnn": (2, ("models/printout.py",)),
}

#: files in the versioned folders that shape no data and no weights (so need no version), and why
UNVERSIONED: dict[str, str] = {
    "data/__init__.py": "re-exports",
    "data/cache.py": "local parse cache (keys from source checksums)",
    "data/container.py": "the container; data keys are derived explicitly by each step",
    "data/download.py": "downloads (checked by SHA-256)",
    "data/visibility.py": "analysis only",
    "data/zscore.py": "benchmark-side comparison with ptbxl-2k (calibration and realism scripts); no cached data",
    "models/__init__.py": "re-exports",
    "train/__init__.py": "re-exports",
    "train/cache.py": "builds the keys",
    "train/checkpoint.py": "file format (checked on load)",
    "train/history.py": "bookkeeping",
    "train/pretrained.py": "copies shipped runs",
    "distill/__init__.py": "re-exports",
    "distill/baselines/__init__.py": "re-exports",
    "distill/liteheart/__init__.py": "recipe defaults (part of the recipe config in every key)",
    "distill/evl/__init__.py": "recipe defaults (part of the recipe config in every key)",
    "distill/reference/__init__.py": "re-exports",
    "distill/methods.py": "the method table: recipes enter every key as configs; colours and labels shape nothing",
}
#: folders whose every file must be in a component or in UNVERSIONED (a test checks it)
VERSIONED_FOLDERS = ("data", "models", "train", "distill")


def source_digest(path: str | Path) -> str:
    """SHA-256 of what a source file computes: for ``.py`` files the syntax tree without docstrings
    (``ast.dump``), so comments, docstrings, blank lines and formatting need no version bump; other
    files byte-wise with normalised line endings. ``ast.dump`` differs between Python minor
    versions, so the digests hold for the Python of the lock (``PYTHON``)."""
    path = Path(path)
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n")
    if path.suffix == ".py":
        text = _code_only(text)
    return hashlib.sha256(text.encode()).hexdigest()


def _code_only(src: str) -> str:
    tree = ast.parse(src)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body:
            first = body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=True, include_attributes=False)


def component_digest(name: str) -> str:
    if name not in COMPONENTS:
        raise KeyError(f"unknown code component {name!r}; known: {sorted(COMPONENTS)}")
    h = hashlib.sha256()
    for rel in sorted(COMPONENTS[name][1]):
        h.update(f"{rel}\0{source_digest(PACKAGE / rel)}\n".encode())
    return h.hexdigest()


def version(name: str) -> int:
    if name not in COMPONENTS:
        raise KeyError(f"unknown code component {name!r}; known: {sorted(COMPONENTS)}")
    return COMPONENTS[name][0]


def key_versions(*names: str) -> dict[str, int]:
    """``{component: version}`` for a cache key."""
    return {n: version(n) for n in sorted(set(names))}


def model_components(name: str) -> tuple[str, ...]:
    """The components a run of the registered model ``name`` carries beside ``models``:
    ``("model:<name>",)`` when the architecture has its own component, else ``()`` (so the keys of
    runs of every other architecture stay as they were)."""
    component = f"model:{name}"
    return (component,) if component in COMPONENTS else ()


def term_component(term_cls: type) -> str:
    """The component of a distillation term class (from the file that defines it)."""
    path = Path(sys.modules[term_cls.__module__].__file__).resolve().relative_to(PACKAGE).as_posix()
    for name, (_, files) in COMPONENTS.items():
        if name.startswith("term:") and path in files:
            return name
    raise KeyError(
        f"distillation term {term_cls.__name__} ({path}) has no code component in "
        "ecgkd_lite.versions.COMPONENTS: add one (version 1) and refresh the digests"
    )


def read_lock(path: Path | None = None) -> dict:
    path = LOCK if path is None else path
    return json.loads(path.read_text()) if path.exists() else {}


def stale_components(lock: dict | None = None) -> list[str]:
    """Components whose sources no longer match the recorded digest, with what to do about each."""
    lock = read_lock() if lock is None else lock
    out = []
    for name, (ver, _) in COMPONENTS.items():
        rec = lock.get(name)
        if rec is None:
            out.append(f"{name}: not recorded in {LOCK.name}")
        elif rec["digest"] != component_digest(name):
            if rec["version"] == ver:
                out.append(
                    f"{name}: its code changed but its version is still {ver}: bump COMPONENTS[{name!r}] "
                    "in ecgkd_lite/versions.py (cached and shipped runs made with the old code will then "
                    "retrain), then run `python -m ecgkd_lite.versions --refresh`"
                )
            else:
                out.append(f"{name}: version bumped to {ver}; run `python -m ecgkd_lite.versions --refresh`")
        elif rec["version"] != ver:
            out.append(
                f"{name}: version changed ({rec['version']} -> {ver}) without a code change; "
                "run `python -m ecgkd_lite.versions --refresh`"
            )
    for name in sorted(set(lock) - set(COMPONENTS)):
        out.append(f"{name}: recorded in {LOCK.name} but no longer a component; run --refresh")
    return out


def refresh(path: Path | None = None) -> list[str]:
    """Record the current digests. Refuses (ValueError) for a component whose code changed while
    its version stayed the same. Returns the components written."""
    path = LOCK if path is None else path
    lock = read_lock(path)
    refused = [
        n
        for n, (ver, _) in COMPONENTS.items()
        if n in lock and lock[n]["version"] == ver and lock[n]["digest"] != component_digest(n)
    ]
    if refused:
        raise ValueError(
            f"code changed without a version bump in: {', '.join(refused)}; bump their versions in "
            "ecgkd_lite/versions.py first"
        )
    new = {n: {"version": ver, "digest": component_digest(n)} for n, (ver, _) in COMPONENTS.items()}
    changed = sorted(n for n in new if lock.get(n) != new[n]) + sorted(set(lock) - set(new))
    path.write_text(json.dumps(new, indent=2, sort_keys=True) + "\n")
    return changed


def unclassified_files() -> list[str]:
    """Files in VERSIONED_FOLDERS that are neither in a component nor in UNVERSIONED."""
    known = {f for _, files in COMPONENTS.values() for f in files} | set(UNVERSIONED)
    out = []
    for folder in VERSIONED_FOLDERS:
        for f in sorted((PACKAGE / folder).rglob("*")):
            if f.is_file() and f.suffix in (".py", ".csv") and "__pycache__" not in f.parts:
                rel = f.relative_to(PACKAGE).as_posix()
                if rel not in known:
                    out.append(rel)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ecgkd_lite.versions", description=__doc__.split("\n\n")[0])
    ap.add_argument("--refresh", action="store_true", help="record the current digests (needs bumped versions)")
    args = ap.parse_args(argv)
    if args.refresh:
        try:
            changed = refresh()
        except ValueError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        print(f"{LOCK.name}: {', '.join(changed) if changed else 'nothing changed'}")
        return 0
    problems = stale_components() + [f"{f}: in no component and not in UNVERSIONED" for f in unclassified_files()]
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
