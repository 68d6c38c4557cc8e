"""Reading the deployment files in infra/deploy/: compose services, Prometheus rules, PromQL names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "infra" / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
PROMETHEUS = DEPLOY / "prometheus"
TERRAFORM = DEPLOY / "terraform"
DOCKERFILE = DEPLOY / "Dockerfile"
DOCS = ROOT / "docs" / "deployment.md"

_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(text: str, values: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` substitution.

    Raises:
        KeyError: a required variable (``:?``) has no value.
    """

    def one(m: re.Match[str]) -> str:
        name, op, arg = m["name"], m["op"], m["arg"]
        if values.get(name):
            return values[name]
        if op is not None and op.endswith("?"):
            raise KeyError(f"{name}: {arg}")
        return arg or ""

    return _INTERPOLATION.sub(one, text.replace("$$", "\0")).replace("\0", "$")


def interpolation_names(text: str) -> set[str]:
    """Every variable name compose substitutes in ``text``."""
    return {m["name"] for m in _INTERPOLATION.finditer(text)}


def load_compose(values: dict[str, str] | None = None) -> dict[str, Any]:
    """compose.yaml after substitution (YAML merge keys resolved by the loader)."""
    text = interpolate(COMPOSE.read_text(encoding="utf-8"), values or {"POSTGRES_PASSWORD": "pw"})
    doc: dict[str, Any] = yaml.safe_load(text)
    return doc


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as strings (compose accepts a mapping or a KEY=VALUE list)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def argv(service: dict[str, Any], image_entrypoint: list[str]) -> list[str]:
    """The process a service's container runs: entrypoint (the service's or the image's) + command."""
    entrypoint = service.get("entrypoint", image_entrypoint)
    command = service.get("command") or []
    as_list = [entrypoint] if isinstance(entrypoint, str) else list(entrypoint)
    return [*as_list, *([command] if isinstance(command, str) else command)]


def load_rules() -> list[dict[str, Any]]:
    """Every rule of alerts.yml."""
    doc = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


@dataclass
class Selectors:
    """What a PromQL expression reads: metric names, label matchers, grouping labels."""

    metrics: set[str] = field(default_factory=set)
    matchers: list[tuple[str, str, str]] = field(default_factory=list)  # (label, op, value)
    grouping: set[str] = field(default_factory=set)


_KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan", "atan2",
}  # fmt: skip
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHER = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_IDENT = re.compile(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")


def selectors(expr: str) -> Selectors:
    """Scan a PromQL expression (enough of the grammar for rule files: no nested braces in strings)."""
    out = Selectors()
    for block in re.findall(r"\{([^}]*)\}", expr):
        for label, op, value in _MATCHER.findall(block):
            out.matchers.append((label, op, yaml.safe_load(value)))
    bare = re.sub(r"\{[^}]*\}", " ", expr)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)
    for labels in _GROUPING.findall(bare):
        out.grouping |= {name.strip() for name in labels.split(",") if name.strip()}
    bare = _GROUPING.sub(" ", bare)
    bare = _STRING.sub(" ", bare)
    for name, call in _IDENT.findall(bare):
        if not call and name.lower() not in _KEYWORDS:
            out.metrics.add(name)
    return out


def headings(markdown: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown document."""
    anchors = set()
    for line in markdown.splitlines():
        if m := re.match(r"^#{1,6}\s+(.*?)\s*$", line):
            text = re.sub(r"[^\w\- ]", "", m[1].lower().replace("`", ""))
            anchors.add(text.replace(" ", "-"))
    return anchors
