"""Valid event dicts for tests, built only from the stable catalogue types.

Everything is deterministic: event ids and trace ids come from a counter (``seed`` keeps
the ids of several factories, e.g. one per worker process, apart), and ``occurred_at``
advances one second per event from 2026-01-01T00:00:00.000Z.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from uuid import UUID

BASE_INSTANT = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ACTOR = {"kind": "operator", "id": "op-1"}
JURISDICTION = "MT"

Event = dict[str, Any]


def iso_ms(instant: dt.datetime) -> str:
    """Format ``instant`` as the canonical ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return f"{instant:%Y-%m-%dT%H:%M:%S}.{instant.microsecond // 1000:03d}Z"


class Events:
    """A source of valid events; every call takes the next id from the counter."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.count = 0

    def next_id(self) -> str:
        """The next deterministic event id (a well-formed v4-shaped UUID)."""
        self.count += 1
        return str(UUID(f"{self.seed:08x}-0000-4000-8000-{self.count:012x}"))

    def envelope(self, type_: str, stream: str, payload: dict[str, Any], /, **extra: Any) -> Event:
        """Wrap ``payload`` in a complete envelope (``extra`` overrides or adds envelope fields)."""
        event_id = self.next_id()
        n = self.count
        event: Event = {
            "event_id": event_id,
            "type": type_,
            "schema_version": 1,
            "stream": stream,
            "occurred_at": iso_ms(BASE_INSTANT + dt.timedelta(seconds=n)),
            "actor": dict(ACTOR),
            "trace_id": f"{self.seed:08x}{n:024x}",
            "jurisdiction": JURISDICTION,
            "payload": payload,
        }
        event.update(extra)
        return event

    def feature_flag(self, flag: str, *, enabled: bool = True, rollout: int = 100, **extra: Any) -> Event:
        """A ``feature_flag.changed`` on stream ``FeatureFlag:<flag>``."""
        payload = {"flag": flag, "enabled": enabled, "rollout_percent": rollout, "jurisdictions": ["MT"]}
        return self.envelope("feature_flag.changed", f"FeatureFlag:{flag}", payload, **extra)

    def bonus_rule(
        self, rule_id: str, *, changed: bool = False, config: dict[str, Any] | None = None, **extra: Any
    ) -> Event:
        """A ``bonus_rule.created`` (or ``.changed``) on stream ``BonusRule:<rule_id>``."""
        payload: dict[str, Any] = {
            "rule_id": rule_id,
            "config": config if config is not None else bonus_config(),
            "reason": "quarterly promotion review",
        }
        type_ = "bonus_rule.changed" if changed else "bonus_rule.created"
        return self.envelope(type_, f"BonusRule:{rule_id}", payload, **extra)

    def limit(
        self, limit_id: str, *, count: int = 5, value: dict[str, str] | None = None, **extra: Any
    ) -> Event:
        """A ``limit.changed`` on stream ``Limit:<limit_id>`` (a count limit unless ``value``)."""
        payload: dict[str, Any] = {"limit_id": limit_id, "name": "max_sessions", "count": count}
        if value is not None:
            payload = {"limit_id": limit_id, "name": "max_deposit", "value": value}
        return self.envelope("limit.changed", f"Limit:{limit_id}", payload, **extra)

    def kyc_started(
        self,
        player_ref: str,
        *,
        full_name: str = "Maria Rossi",
        date_of_birth: str = "1990-04-12",
        **extra: Any,
    ) -> Event:
        """A ``kyc.started`` with personal fields, on stream ``Player:<player_ref>``."""
        payload = {
            "player_ref": player_ref,
            "check_id": f"chk-{player_ref}",
            "provider": "onfido",
            "level": "basic",
            "full_name": full_name,
            "date_of_birth": date_of_birth,
        }
        return self.envelope("kyc.started", f"Player:{player_ref}", payload, **extra)

    def kyc_decided(self, player_ref: str, *, version: int = 2, status: str = "pass", **extra: Any) -> Event:
        """A ``kyc.decided`` in schema ``version`` 1 or 2 on stream ``Player:<player_ref>``."""
        payload: dict[str, Any] = {
            "player_ref": player_ref,
            "check_id": f"chk-{player_ref}",
            "kyc_status": status,
        }
        if version > 1:
            payload |= {"policy_version": "kyc-2026.1", "tier": "full", "decided_by": "manual"}
        return self.envelope(
            "kyc.decided", f"Player:{player_ref}", payload, **({"schema_version": version} | extra)
        )


def bonus_config(**overrides: Any) -> dict[str, Any]:
    """A valid bonus rule configuration without money fields."""
    config: dict[str, Any] = {
        "name": "Welcome match",
        "kind": "deposit_match",
        "match_percent": "100",
        "wagering_multiplier": 35,
        "eligible_games": ["starburst", "book-of-dead"],
        "jurisdictions": ["MT"],
        "valid_from": "2026-01-01T00:00:00.000Z",
        "terms_version": "t-2026-01",
    }
    config.update(overrides)
    return config


def realistic(events: Events, count: int, streams: int = 20) -> list[Event]:
    """``count`` events of mixed stable types spread round-robin over ``streams`` streams."""
    out: list[Event] = []
    for i in range(count):
        k, round_ = i % streams, i // streams
        match k % 4:
            case 0:
                out.append(events.bonus_rule(f"br-{k}", changed=round_ > 0))
            case 1:
                out.append(events.feature_flag(f"flag-{k}", enabled=round_ % 2 == 0, rollout=round_ % 101))
            case 2:
                out.append(events.limit(f"lim-{k}", count=round_))
            case _:
                out.append(events.kyc_decided(f"plr-{k}", version=1 + round_ % 2))
    return out
