"""The event registry: every event type, its versions, typed payloads and upcasters.

Domain modules declare payloads with :func:`event`; :class:`Catalogue` is the schema registry
the ledger validates against and the CLI prints (``ledger catalogue``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from ledger.catalogue.types import PERSONAL, dec_hook, schema_hook
from ledger.errors import ValidationError


class Payload(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Base of every event payload: immutable, unknown fields rejected.

    msgspec does not inherit ``kw_only`` (and mypy wants ``frozen`` restated): declare
    subclasses ``class X(Payload, frozen=True, kw_only=True)``.
    """


P = TypeVar("P", bound=type[Payload])
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


@dataclass(frozen=True)
class EventType:
    """One (type, version) of the catalogue.

    ``entities`` lists the stream entity kinds the event may be appended to (``Round`` for
    ``Round:<id>``); ``subject`` names the payload field identifying the data subject whose
    key seals the ``personal`` fields.
    """

    name: str
    version: int
    payload: type[Payload]
    entities: tuple[str, ...]
    subject: str | None
    description: str
    personal: tuple[str, ...] = field(default=())

    @property
    def domain(self) -> str:
        """The domain the type belongs to (the module that declares it)."""
        return self.payload.__module__.rsplit(".", 1)[-1]


_DECLARED: list[EventType] = []
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def event(
    name: str,
    version: int = 1,
    *,
    entities: tuple[str, ...],
    subject: str | None = None,
) -> Callable[[P], P]:
    """Declare ``cls`` as the payload of event type ``name`` at ``version``."""
    if not _TYPE_NAME.match(name):
        msg = f"event type {name!r} must be dotted lower-case (domain.past_tense)"
        raise ValueError(msg)

    def register(cls: P) -> P:
        personal = _personal_fields(cls)
        if personal and (subject is None or subject not in cls.__struct_fields__):
            msg = f"{name} v{version} has personal fields but no subject field"
            raise ValueError(msg)
        doc = (cls.__doc__ or "").strip().splitlines()
        _DECLARED.append(EventType(name, version, cls, entities, subject, doc[0] if doc else "", personal))
        return cls

    return register


def upcast(name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Declare the function that turns a ``from_version`` payload of ``name`` into the next."""

    def register(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(name, from_version)] = fn
        return fn

    return register


def _personal_fields(cls: type[Payload]) -> tuple[str, ...]:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)  # noqa: S101 - registry invariant
    return tuple(f.name for f in info.fields if _is_personal(f.type))


def _is_personal(t: msgspec.inspect.Type) -> bool:
    if isinstance(t, msgspec.inspect.UnionType):
        return any(_is_personal(x) for x in t.types)
    return isinstance(t, msgspec.inspect.Metadata) and bool((t.extra or {}).get(PERSONAL))


def invalid(err: msgspec.ValidationError, prefix: str) -> ValidationError:
    """Translate a msgspec error into ours, naming the field as ``prefix.<path>``."""
    text = str(err)
    at = None
    if " - at `$" in text:
        text, _, at = text.rpartition(" - at `$")
        at = at.rstrip("`").lstrip(".")
    path = f"{prefix}.{at}" if at and not at.startswith("[") else f"{prefix}{at or ''}"
    return ValidationError(text, field=path)


class Catalogue:
    """The set of event types the ledger accepts, with their schemas and upcasters."""

    def __init__(self, types: Iterable[EventType], upcasters: Mapping[tuple[str, int], Upcaster]) -> None:
        self._types = {(t.name, t.version): t for t in types}
        self._latest: dict[str, EventType] = {}
        for t in sorted(self._types.values(), key=lambda t: t.version):
            self._latest[t.name] = t
        self._upcasters = dict(upcasters)

    def __iter__(self) -> Any:
        return iter(sorted(self._types.values(), key=lambda t: (t.name, t.version)))

    def __len__(self) -> int:
        return len(self._types)

    def get(self, name: str, version: int) -> EventType:
        """Return the declared type.

        Raises:
            ValidationError: unknown type, or a version the type never had.
        """
        found = self._types.get((name, version))
        if found is not None:
            return found
        if name not in self._latest:
            msg = f"unknown event type {name!r} (see `ledger catalogue`)"
            raise ValidationError(msg, field="type")
        known = ", ".join(str(t.version) for t in self if t.name == name)
        msg = f"unknown schema_version {version} of {name!r}; known: {known}"
        raise ValidationError(msg, field="schema_version")

    def latest(self, name: str) -> EventType:
        """Return the newest version of ``name``."""
        return self.get(name, self._latest[name].version if name in self._latest else 0)

    def decode(self, etype: EventType, payload: Any) -> Payload:
        """Validate a builtin payload against its typed Struct.

        Raises:
            ValidationError: with the offending field as ``payload.<path>``.
        """
        try:
            return msgspec.convert(payload, etype.payload, dec_hook=dec_hook)
        except msgspec.ValidationError as e:
            raise invalid(e, "payload") from None

    def upcast(self, etype: EventType, payload: dict[str, Any]) -> tuple[EventType, dict[str, Any]]:
        """Bring a stored payload of an older version up to the latest version."""
        current = etype
        while current.version < self._latest[current.name].version:
            step = self._upcasters[(current.name, current.version)]
            payload = step(payload)
            current = self.get(current.name, current.version + 1)
        return current, payload

    def describe(self) -> list[dict[str, Any]]:
        """Return the registry as data: type, version, domain, entities, personal fields, schema."""
        return [
            {
                "type": t.name,
                "version": t.version,
                "latest": self._latest[t.name] is t,
                "domain": t.domain,
                "entities": list(t.entities),
                "subject": t.subject,
                "personal": list(t.personal),
                "description": t.description,
                "schema": msgspec.json.schema(t.payload, schema_hook=schema_hook),
            }
            for t in self
        ]

    def check_complete(self) -> None:
        """Check every older version has an upcaster to the next.

        Raises:
            ValueError: a version step is missing its upcaster.
        """
        for t in self:
            if t.version < self._latest[t.name].version and (t.name, t.version) not in self._upcasters:
                msg = f"{t.name} v{t.version} has no upcaster to v{t.version + 1}"
                raise ValueError(msg)


def build(modules: Iterable[object]) -> Catalogue:
    """Build the catalogue from the types declared by the imported domain ``modules``."""
    names = {getattr(m, "__name__", "") for m in modules}
    types = [t for t in _DECLARED if t.payload.__module__ in names]
    catalogue = Catalogue(types, {k: v for k, v in _UPCASTERS.items() if any(t.name == k[0] for t in types)})
    catalogue.check_complete()
    return catalogue
