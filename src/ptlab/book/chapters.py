"""Chapter sources: jupytext percent ``.py`` files in ``notebooks/``.

A chapter declares, in its jupytext YAML header under ``ptlab``: ``depends`` (chapters whose
results it reads), ``profiles`` (parameter overrides for ``smoke`` and ``full``; ``quick`` is
the parameters cell itself) and ``seconds`` (its execution time per profile as measured on the
2-core CPU of the README, for the build plan's estimate). Its ``parameters`` cell holds literal
assignments: their names and the types of their defaults are what ``ptlab run -p key=value``
accepts. A parameter whose default is None means "the profile's value"; it declares its type with
an annotation (``n_boot: int | None = None``), so a wrong value is still one line before any work.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ptlab.profiles import PROFILES
from ptlab.values import ValueInputError, convert, guess

LANGS = ("zh", "en")


class ChapterError(ValueError):
    """A chapter name, parameter or value that cannot be used (one-line message)."""


@dataclass
class Chapter:
    name: str
    source: Path
    defaults: dict[str, Any]
    types: dict[str, type] = field(default_factory=dict)  # declared types of None defaults
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    depends: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # measured time per profile

    @property
    def source_sha(self) -> str:
        return hashlib.sha256(self.source.read_bytes()).hexdigest()

    def params_for(self, profile: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Defaults, then the profile's overrides, then ``overrides`` (all already typed)."""
        if profile not in PROFILES:
            raise ChapterError(f"unknown profile {profile!r}; allowed: {', '.join(PROFILES)}")
        out = dict(self.defaults)
        out.update(self.profiles.get(profile, {}))
        out.update(overrides or {})
        out["profile"] = profile
        return out

    def check_param(self, key: str, value: Any) -> Any:
        """The value converted to the default's type; ChapterError naming what is allowed."""
        if key not in self.defaults:
            allowed = ", ".join(sorted(self.defaults))
            raise ChapterError(f"chapter {self.name} has no parameter {key!r}; allowed: {allowed}")
        return coerce(key, value, self.defaults[key], self.types.get(key))


def coerce(key: str, value: Any, default: Any, want: type | None = None) -> Any:
    """Convert a command-line string (or a value) to the type of ``default``, or to ``want``
    when the default is None ("the profile's value"; the word ``None`` restores it)."""
    if default is None:
        if value is None or (isinstance(value, str) and value.strip() in ("None", "none")):
            return None
        if want is None:
            return guess(value) if isinstance(value, str) else value
    try:
        return convert(key, value, want or type(default))
    except ValueInputError as e:
        raise ChapterError(str(e)) from None


TYPES = {"int": int, "float": float, "str": str, "bool": bool}


def _declared_type(annotation: ast.expr, name: str, where: str) -> type:
    """``int`` from ``int | None`` (or ``int``): the type a None default stands for."""
    node = annotation
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        node = node.left if not _is_none(node.left) else node.right
    if isinstance(node, ast.Name) and node.id in TYPES:
        return TYPES[node.id]
    allowed = ", ".join(f"{t} | None" for t in TYPES)
    raise ChapterError(f"{where}: parameter {name} needs a simple annotation ({allowed})")


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _literal_assignments(code: str, where: str) -> tuple[dict[str, Any], dict[str, type]]:
    """(name → default, name → declared type) of a parameters cell of ``name = literal`` and
    ``name: T | None = literal`` lines."""
    out, types = {}, {}
    for node in ast.parse(code).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target = node.target
        else:
            target = None
        if not isinstance(target, ast.Name):
            raise ChapterError(f"{where}: the parameters cell may hold only `name = literal` lines")
        try:
            out[target.id] = ast.literal_eval(node.value)
        except ValueError:
            raise ChapterError(f"{where}: parameter {target.id} is not a literal") from None
        if isinstance(node, ast.AnnAssign):
            types[target.id] = _declared_type(node.annotation, target.id, where)
    return out, types


def read_chapter(path: Path) -> Chapter:
    """Parse a chapter source: its parameters cell, profiles and dependencies."""
    import jupytext

    nb = jupytext.read(path)
    cells = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ChapterError(f"{path}: needs exactly one cell tagged 'parameters'")
    defaults, types = _literal_assignments(cells[0].source, str(path))
    defaults.pop("profile", None)  # a default for standalone runs; the runner injects it
    meta = nb.metadata.get("ptlab", {})
    ch = Chapter(
        path.stem,
        path,
        defaults,
        types,
        depends=list(meta.get("depends", [])),
        seconds={k: float(v) for k, v in (meta.get("seconds") or {}).items()},
    )
    for prof, over in (meta.get("profiles") or {}).items():
        if prof not in PROFILES:
            raise ChapterError(f"{path}: unknown profile {prof!r} in header")
        ch.profiles[prof] = {k: ch.check_param(k, v) for k, v in over.items()}
    return ch


def chapter_names_from_toc(toc_path: Path) -> list[str]:
    """Chapter names in TOC order: ``<lang>/<name>`` entries with a ``notebooks/<name>.py``."""
    import yaml

    toc = yaml.safe_load(toc_path.read_text())
    files: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "file" in node:
                files.append(str(node["file"]))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(toc)
    nb_dir = toc_path.resolve().parent / "notebooks"
    names: list[str] = []
    for f in files:
        parts = f.split("/")
        if len(parts) == 2 and parts[0] in LANGS and (nb_dir / f"{parts[1]}.py").exists():
            if parts[1] not in names:
                names.append(parts[1])
    return names


def load_params_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    return json.loads(path.read_text())
