"""The operator's own story: game releases, bonus configuration, administration, an RNG incident.

:data:`_SCRIPT` plays the scripted steps early in the history, so every kind of back-office
event occurs in even a short demo; :func:`_operations` then keeps up routine activity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from infra.demo.bonus import _change_rule, _open_rule
from infra.demo.markets import _GAME_SPECS
from infra.demo.world import (
    _ANNA,
    _HOUR,
    _IAM,
    _LENA,
    _MARCO,
    _MINUTE,
    _RELEASES,
    _RNG_MONITOR,
    _SOFIA,
    Story,
    _eur,
    _Game,
    _World,
)


def _release(w: _World, game: _Game) -> str:
    previous = game.version_hash or None
    game.version_hash = w.sha256()
    release = w.ref("rel")
    payload = {"game_code": game.code, "game_version_hash": game.version_hash, "release_id": release,
               "rtp_theoretical": game.rtp, "certificate_ref": f"{game.lab}-{game.code}-{release}",
               "test_lab": game.lab, "jurisdictions": ["MT", "GB", "DK"], "provider": game.provider,
               "previous_version_hash": previous}  # fmt: skip
    w.emit("game.version_released", f"Game:{game.code}", payload, _RELEASES, w.trace())
    return release


def _login(w: _World, user: str, *, success: bool = True) -> None:
    payload = {"user_id": user, "method": "sso" if success else "password",
               "ip_address": f"198.51.100.{w.between(2, 250)}", "success": success, "mfa": success,
               "failure_reason": None if success else "bad_password",
               "user_agent": "Mozilla/5.0"}  # fmt: skip
    w.emit("admin.logged_in", f"Operator:{user}", payload, _IAM, w.trace())


def _setup(w: _World) -> None:
    for code, provider, jackpot, rtp, lab in _GAME_SPECS:
        w.games[code] = game = _Game(code, provider, jackpot, rtp, lab)
        _release(w, game)
    _login(w, _ANNA[1])
    _open_rule(w, "rule-welcome", "Welcome 100%", "deposit_match", 30, 100, 20000,
               min_deposit=_eur(1000), max_bet_while_wagering=_eur(500))  # fmt: skip
    _open_rule(w, "rule-reload", "Reload 25%", "reload", 3, 25, 5000, min_deposit=_eur(2000))
    _open_rule(w, "rule-weekend-spins", "Weekend spins", "free_spins", 10,
               free_spins=20, eligible_games=["aurora-reels", "viking-quest"])  # fmt: skip
    _open_rule(w, "rule-cashback-legacy", "Legacy cashback", "cashback", 1, 10)
    payload = {"flag": "instant-withdrawals", "enabled": True, "rollout_percent": 25, "jurisdictions": ["MT"],
               "reason": "pilot for verified players"}  # fmt: skip
    w.emit("feature_flag.changed", "FeatureFlag:instant-withdrawals", payload, _ANNA, w.trace())
    payload = {"limit_id": "lim-max-bet", "name": "max_bet_per_round", "value": _eur(10000),
               "previous_value": _eur(5000), "reason": "high-roller tables"}  # fmt: skip
    w.emit("limit.changed", "Limit:lim-max-bet", payload, _ANNA, w.trace())


def _staff(w: _World) -> None:
    _login(w, _MARCO[1], success=False)
    _login(w, _MARCO[1])
    payload = {
        "user_id": _LENA[1],
        "role": "aml_analyst",
        "granted_by": _ANNA[1],
        "reason": "joined compliance",
    }
    w.emit("admin.role_granted", f"Operator:{_LENA[1]}", payload, _ANNA, w.trace())
    _login(w, _LENA[1])


def _welcome_raise(w: _World) -> None:
    _change_rule(w, "rule-welcome", _ANNA, "Q1 campaign: higher cap", max_bonus=_eur(30000))


def _anomaly(w: _World) -> None:
    game = w.games["viking-quest"]
    window = {"start": w.ts(-6 * _HOUR), "end": w.ts(), "rounds": 48210}
    payload = {"game_code": game.code, "game_version_hash": game.version_hash, "metric": "rtp_observed",
               "observed": "0.9934", "expected": game.rtp, "window": window, "detector": "rtp-drift-v3",
               "threshold": "0.0200"}  # fmt: skip
    w.emit("rng.anomaly_detected", f"Game:{game.code}", payload, _RNG_MONITOR, w.trace())
    w.incident.update(id=w.ref("inc"), game=game.code, trace=w.trace())
    payload = {"incident_id": w.incident["id"], "severity": "P2", "title": "RTP drift on viking-quest",
               "summary": "observed RTP 99.34 % against 96.30 % theoretical over 6 hours",
               "affected_games": [game.code], "opened_by": _MARCO[1]}  # fmt: skip
    w.emit("incident.opened", f"Incident:{w.incident['id']}", payload, _MARCO, w.incident["trace"])


def _incident_update(w: _World) -> None:
    w.games[w.incident["game"]].enabled = False
    payload = {"incident_id": w.incident["id"], "severity": "P2", "status": "investigating",
               "summary": "game disabled; MGA notified within 24 hours",
               "affected_games": [w.incident["game"]],
               "regulator_notified": True}  # fmt: skip
    w.emit("incident.updated", f"Incident:{w.incident['id']}", payload, _MARCO, w.incident["trace"])


def _escalate(w: _World) -> None:
    payload = {"user_id": _MARCO[1], "from_role": "payments_operator", "to_role": "payments_admin",
               "reason": "approve the high-value withdrawal queue", "expires_at": w.ts(_HOUR),
               "approved_by": _ANNA[1], "ticket_ref": "CHG-1042"}  # fmt: skip
    w.emit("admin.privilege_escalated", f"Operator:{_MARCO[1]}", payload, _MARCO, w.trace())


def _export(w: _World) -> None:
    payload = {"user_id": _LENA[1], "export_id": w.ref("exp"), "dataset": "player_transactions",
               "record_count": w.between(200, 5000), "purpose": "FIAU request for information",
               "destination": "FIAU secure portal", "file_sha256": w.sha256()}  # fmt: skip
    w.emit("admin.data_exported", f"Operator:{_LENA[1]}", payload, _LENA, w.trace())


def _spins_change(w: _World) -> None:
    _change_rule(w, "rule-weekend-spins", _ANNA, "25 spins for the carnival weekend", free_spins=25)


def _hotfix(w: _World) -> None:
    game = w.games[w.incident["game"]]
    w.incident["release"] = _release(w, game)
    game.enabled = True


def _incident_close(w: _World) -> None:
    payload = {"incident_id": w.incident["id"], "severity": "P2", "title": "RTP drift on viking-quest",
               "summary": f"fixed by release {w.incident['release']}; game re-enabled",
               "root_cause": "reel-strip weights of the bonus reel shipped from the test build",
               "regulator_notified": True, "affected_games": [w.incident["game"]]}  # fmt: skip
    w.emit("incident.closed", f"Incident:{w.incident['id']}", payload, _MARCO, w.incident["trace"])


def _revoke(w: _World) -> None:
    payload = {"user_id": _MARCO[1], "role": "payments_admin", "revoked_by": _ANNA[1],
               "reason": "break-glass window closed"}  # fmt: skip
    w.emit("admin.role_revoked", f"Operator:{_MARCO[1]}", payload, _ANNA, w.trace())


def _retire(w: _World) -> None:
    w.grantable.remove("rule-cashback-legacy")
    payload = {"rule_id": "rule-cashback-legacy", "reason": "replaced by the reload bonus"}
    w.emit("bonus_rule.retired", "BonusRule:rule-cashback-legacy", payload, _ANNA, w.trace())


# (delay in ms after the previous step, step)
_SCRIPT: Final[tuple[tuple[int, Callable[[_World], None]], ...]] = (
    (0, _setup), (15_000, _staff), (15_000, _welcome_raise), (10_000, _anomaly), (8_000, _escalate),
    (10_000, _incident_update), (10_000, _export), (10_000, _spins_change), (15_000, _hotfix),
    (10_000, _incident_close), (10_000, _revoke), (10_000, _retire),
)  # fmt: skip


def _review_welcome(w: _World) -> None:
    cap = _eur(w.rng.choice((20000, 30000)))
    _change_rule(w, "rule-welcome", _ANNA, "weekly cap review", max_bonus=cap)


def _new_version(w: _World) -> None:
    _release(w, w.rng.choice([g for g in w.games.values() if g.enabled]))


def _routine(w: _World) -> None:
    user = w.rng.choice((_ANNA, _MARCO, _LENA, _SOFIA))
    _login(w, user[1], success=w.chance(0.9))
    task = w.rng.choice((_review_welcome, _review_welcome, _export, _export, _new_version, None, None))
    if task is not None:
        task(w)


def _operations(w: _World) -> Story:
    for delay, step in _SCRIPT:
        yield delay
        step(w)
    while True:
        yield w.between(20 * _MINUTE, 60 * _MINUTE)
        _routine(w)
