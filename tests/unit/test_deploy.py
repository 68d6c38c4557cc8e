"""The deployment files in infra/deploy/ against the code they deploy.

Compose and the Dockerfile use only settings ``infra/settings.py`` knows and commands the real
CLI parses, with one sealer; every metric an alert reads is one a real app exports; the
Terraform's policies cover what ``S3WormStore`` calls and its retention is the policy's longest.
Checks needing a tool (promtool, terraform, docker compose) skip with the reason when it is absent.
"""

from __future__ import annotations

import ast
import datetime as dt
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from infra.cli.main import parser as ledger_parser
from infra.cli.token import issue_token
from infra.settings import _ENV, S3Worm, Settings
from infra.wiring.api import build_app
from ledger.worm import CHECKPOINT_PREFIX
from policies.retention import CLASSES, DEFAULT
from tests.api.conftest import load_demo, make_settings
from tests.deploy import (
    COMPOSE,
    DEPLOY,
    DOCKERFILE,
    DOCS,
    PROMETHEUS,
    ROOT,
    TERRAFORM,
    argv,
    environment,
    headings,
    interpolate,
    interpolation_names,
    load_compose,
    load_rules,
    selectors,
)

KNOWN = set(_ENV.values())
LEDGER_SERVICES = ("keys-init", "api", "sealer", "projections", "verifier")  # the ledger's image
# Labels Prometheus adds to every scraped series (the app cannot export them).
SCRAPE_LABELS = {"job", "instance"}
SCRAPE_SERIES = {"up"}


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) per Dockerfile instruction, continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            word, _, rest = stripped.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _final_stage() -> list[tuple[str, str]]:
    steps = _dockerfile()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def _image_entrypoint() -> list[str]:
    args = [rest for word, rest in _final_stage() if word == "ENTRYPOINT"]
    entry: list[str] = json.loads(args[-1])
    return entry


# --- compose ----------------------------------------------------------------------------------


def test_compose_uses_only_settings_the_app_knows() -> None:
    doc = load_compose()
    used = {}
    for name, service in doc["services"].items():
        for key in environment(service):
            if key.startswith("LEDGER_"):
                used[key] = name
    unknown = {k: svc for k, svc in used.items() if k not in KNOWN}
    assert not unknown, f"compose.yaml sets LEDGER_* variables infra/settings.py does not read: {unknown}"
    assert len(used) >= 15  # the parse really found the services' settings
    substituted = {n for n in interpolation_names(COMPOSE.read_text()) if n.startswith("LEDGER_")}
    assert substituted <= KNOWN, f"unknown LEDGER_* substitutions: {substituted - KNOWN}"
    example = {
        line.partition("=")[0] for line in (DEPLOY / "env.example").read_text().splitlines() if "=" in line
    }
    assert {n for n in example if n.startswith("LEDGER_")} <= KNOWN
    assert interpolation_names(COMPOSE.read_text()) <= example | {"AUDIT_LEDGER_VERSION"}


def test_a_misspelt_setting_would_be_caught() -> None:
    doc = load_compose()
    doc["services"]["api"]["environment"]["LEDGER_PG_POOLSIZE"] = "4"
    keys = {k for s in doc["services"].values() for k in environment(s) if k.startswith("LEDGER_")}
    assert keys - KNOWN == {"LEDGER_PG_POOLSIZE"}


@pytest.mark.parametrize("name", LEDGER_SERVICES)
def test_compose_settings_values_are_valid(name: str) -> None:
    service = load_compose()["services"][name]
    settings = Settings.from_env(environment(service))  # raises naming the variable on a bad value
    if name in {"api", "sealer", "projections", "verifier"}:
        assert settings.store.kind == "postgres"
    if name == "api":
        assert settings.auth.algorithm == "EdDSA", "HS256 is for local development only"


def test_ledger_processes_share_store_origin_key_and_keyring() -> None:
    services = load_compose()["services"]
    store = ("LEDGER_STORE", "LEDGER_PG_DSN", "LEDGER_PG_SCHEMA")
    keyring = ("LEDGER_ORIGIN", "LEDGER_SIGNING_DIR")
    worm = ("LEDGER_WORM", "LEDGER_WORM_DIR")
    opening = ("LEDGER_KEK_FILE", "LEDGER_JURISDICTION")
    checks = (
        (store, ("api", "sealer", "projections", "verifier")),
        (keyring, ("keys-init", "api", "sealer", "verifier")),
        (worm, ("api", "sealer", "verifier")),
        (opening, ("api", "sealer")),
    )
    for keys, names in checks:
        for key in keys:
            values = {n: environment(services[n]).get(key) for n in names}
            assert len(set(values.values())) == 1, f"{key} differs between services: {values}"
            assert None not in values.values(), f"{key} missing in one of {names}"


def test_compose_commands_are_real_cli_invocations() -> None:
    services = load_compose()["services"]
    image = _image_entrypoint()
    assert image == ["ledger"]
    parsed = {}
    for name, service in services.items():
        if "build" not in service:
            continue  # postgres, prometheus: other images
        command = argv(service, image)
        if command[0] == "ledger":
            parsed[name] = ledger_parser().parse_args(command[1:])
        else:
            assert name == "keys-init"
            assert command[:2] == ["sh", "-ec"]
    assert set(parsed) == {"api", "sealer", "projections", "verifier"}
    api, sealer, projections = parsed["api"], parsed["sealer"], parsed["projections"]
    assert api.command == "serve"
    assert api.no_projections, "the API must not start its own projection runner beside the service"
    assert api.no_verify, "the API must not start its own verifier beside the service"
    assert not api.seal, "the API must not seal: the sealer service does"
    assert (sealer.command, sealer.follow) == ("seal", True)
    assert (projections.command, projections.action, projections.follow) == ("projections", "run", True)
    verifier = parsed["verifier"]
    assert (verifier.command, verifier.follow, verifier.last) == ("verify", True, False)


def _running(what: str) -> list[str]:
    """The services whose process runs ``ledger seal`` or ``ledger verify`` (itself or beside ``serve``)."""
    services = load_compose()["services"]
    image = _image_entrypoint()
    names = []
    for name, service in services.items():
        command = argv(service, image) if "build" in service else []
        if command[0:1] != ["ledger"]:
            continue
        args = ledger_parser().parse_args(command[1:])
        if args.command == what or (
            args.command == "serve" and (args.seal if what == "seal" else not args.no_verify)
        ):
            names.append(name)
    return names


def test_exactly_one_sealer() -> None:
    assert _running("seal") == ["sealer"]
    assert load_compose()["services"]["sealer"]["deploy"]["replicas"] == 1


def test_one_verifier_for_the_ledger_on_the_documented_interval() -> None:
    """Results are shared through the store, so one scheduled verifier serves every API replica."""
    services = load_compose()["services"]
    assert _running("verify") == ["verifier"]
    assert services["verifier"]["deploy"]["replicas"] == 1
    example = dict(
        line.partition("=")[::2] for line in (DEPLOY / "env.example").read_text().splitlines() if "=" in line
    )
    interval = float(environment(services["verifier"])["LEDGER_VERIFY_INTERVAL"])
    assert interval == float(example["LEDGER_VERIFY_INTERVAL"]) == 21600
    assert Settings.from_env(environment(services["verifier"])).verify_interval == interval


def _mounts(service: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """Container path -> (volume or host path, read-only)."""
    out = {}
    for spec in service.get("volumes", []):
        source, target, *mode = spec.split(":")
        out[target] = (source, "ro" in mode)
    return out


def test_only_the_sealer_holds_private_keys_and_writes_worm() -> None:
    services = load_compose()["services"]
    api, sealer, init = (_mounts(services[n]) for n in ("api", "sealer", "keys-init"))
    signing = environment(services["api"])["LEDGER_SIGNING_DIR"]
    worm = environment(services["api"])["LEDGER_WORM_DIR"]
    assert api[signing][1], "the API's keyring folder is mounted read-only"
    assert api[signing][0] != sealer[signing][0], "the API must not mount the private keyring"
    assert sealer[signing] == (init[signing][0], False)
    published = {target for target, (source, _) in init.items() if source == api[signing][0]}
    assert published, "keys-init publishes the public keyring into the API's volume"
    assert "keyring.json" in " ".join(argv(services["keys-init"], []))
    assert published.pop() in " ".join(argv(services["keys-init"], []))
    assert api[worm] == (sealer[worm][0], True), "the API reads the sealer's WORM folder, read-only"
    verifier = _mounts(services["verifier"])
    assert verifier == {signing: (api[signing][0], True), worm: (sealer[worm][0], True)}
    for name, service in services.items():
        mounted = {source for source, _ in _mounts(service).values()}
        if sealer[signing][0] in mounted:
            assert name in {"sealer", "keys-init"}, f"{name} mounts the private signing keyring"


def test_the_verifier_gets_what_verification_reads_and_nothing_more() -> None:
    """Store, origin, public keyring, WORM (read-only): no KEK, no token keys, no secrets, no port."""
    verifier = load_compose()["services"]["verifier"]
    assert set(environment(verifier)) == {
        "LEDGER_STORE", "LEDGER_PG_DSN", "LEDGER_PG_SCHEMA", "LEDGER_ORIGIN", "LEDGER_SIGNING_DIR",
        "LEDGER_WORM", "LEDGER_WORM_DIR", "LEDGER_VERIFY_INTERVAL",
    }  # fmt: skip
    assert not verifier.get("secrets")
    assert not verifier.get("ports")
    assert verifier["read_only"] is True


def test_no_service_holds_a_token_signing_key() -> None:
    """Tokens come from the operator's identity provider; the API only checks them."""
    doc = load_compose()
    assert not any("private" in name for name in doc["secrets"])
    for name, service in doc["services"].items():
        assert "LEDGER_JWT_PRIVATE_KEY_FILE" not in environment(service), name
        assert "LEDGER_JWT_SECRET" not in environment(service), name


def test_secret_files_are_declared_and_mounted() -> None:
    doc = load_compose()
    declared = doc["secrets"]
    for name, service in doc["services"].items():
        mine = set(service.get("secrets", []))
        assert mine <= set(declared), name
        for key, value in environment(service).items():
            if key.endswith("_FILE") and value.startswith("/run/secrets/"):
                assert value.removeprefix("/run/secrets/") in mine, f"{name}: {key} needs secret {value}"
    for spec in declared.values():
        assert spec["file"].startswith("./secrets/")
    assert "secrets/" in (DEPLOY / ".gitignore").read_text().split()


def test_api_listens_where_the_healthcheck_and_prometheus_look() -> None:
    services = load_compose()["services"]
    env = environment(services["api"])
    assert env["LEDGER_HOST"] == "0.0.0.0"  # noqa: S104 - inside its container, by design
    port = env["LEDGER_PORT"]
    assert any(p.endswith(f":{port}") for p in services["api"]["ports"])
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["job_name"] == "audit-ledger"
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == [f"api:{port}"]
    health = [rest for word, rest in _final_stage() if word == "HEALTHCHECK"]
    assert "LEDGER_PORT" in health[0]
    assert "/health" in health[0]


def _docker_compose() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)  # noqa: S607
        if probe.returncode == 0:
            return ["docker", "compose"]
    return ["docker-compose"] if shutil.which("docker-compose") else None


def test_docker_compose_accepts_the_file() -> None:
    tool = _docker_compose()
    if tool is None:
        pytest.skip("docker compose is not installed (only the compose file's content was checked)")
    run = subprocess.run(  # noqa: S603
        [*tool, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "POSTGRES_PASSWORD": "pw"},
    )
    assert run.returncode == 0, run.stderr
    missing = subprocess.run(  # noqa: S603
        [*tool, "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin"},
    )
    assert missing.returncode != 0
    assert "POSTGRES_PASSWORD" in missing.stderr


def test_interpolation_follows_compose_rules() -> None:
    assert interpolate("a ${X:-d} ${Y} $${Z}", {"Y": "y"}) == "a d y ${Z}"
    with pytest.raises(KeyError, match="set it"):
        interpolate("${P:?set it}", {})


# --- Dockerfile -------------------------------------------------------------------------------


def test_dockerfile_image_base_user_entrypoint_healthcheck() -> None:
    final = _final_stage()
    assert final[0] == ("FROM", "python:3.11-slim")
    assert all(rest.startswith("python:3.11-slim") for word, rest in _dockerfile() if word == "FROM")
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the image must not run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), "a numeric uid lets Kubernetes' runAsNonRoot check it"
    assert int(uid) >= 1000
    (health,) = [rest for word, rest in final if word == "HEALTHCHECK"]
    assert health.startswith("--interval=")
    assert [json.loads(rest) for word, rest in final if word == "CMD"][-1] == ["serve"]
    assert _image_entrypoint() == ["ledger"]
    env = " ".join(rest for word, rest in final if word == "ENV")
    assert set(re.findall(r"\b(LEDGER_[A-Z_]+)=", env)) <= KNOWN


def test_dockerfile_copies_every_package_the_project_installs() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    include = re.search(r"include = \[(.*?)\]", pyproject)
    assert include is not None
    packages = {p.strip().strip('"').rstrip("*") for p in include[1].split(",")}
    copied = set()
    for word, rest in _dockerfile():
        if word == "COPY" and not rest.startswith("--from"):
            *sources, _target = rest.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such file in the repository"
                copied.add(source)
    assert packages <= copied, f"packages not copied into the image: {packages - copied}"
    assert {"pyproject.toml", "README.md"} <= copied
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert ignore[ignore.index("*")] == "*"  # everything excluded, then re-included
    for source in copied:
        assert f"!{source}" in ignore or f"!{source}/" in ignore, f"{source} is excluded from the context"


# --- Prometheus -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Scrape /metrics of a real app after a seal, a verification and some requests.

    Returns sample names and, per label name, the values seen.
    """
    root = tmp_path_factory.mktemp("deploy-metrics")
    settings = make_settings(root, sandbox_events=0)
    load_demo(settings, 300)
    admin = {"Authorization": f"Bearer {issue_token(settings, roles=['admin'], sub='ops', ttl=600)}"}
    with TestClient(build_app(settings)) as client:
        assert client.post("/admin/seal", headers=admin).status_code == 200
        assert client.post("/admin/verification", headers=admin).json()["ok"]
        assert client.get("/rounds/rnd-0000001").status_code == 401
        assert client.get("/health").status_code == 200
        body = client.get("/metrics").text
    names: set[str] = set()
    labels: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            names.add(sample.name)
            for key, value in sample.labels.items():
                labels.setdefault(key, set()).add(value)
    return {"__name__": names, **labels}


def test_the_scrape_has_what_alerts_need(exported: dict[str, set[str]]) -> None:
    names = exported["__name__"]
    assert {
        "ledger_verification_ok",
        "ledger_anchoring_age_seconds",
        "api_response_time_seconds_bucket",
    } <= names


def test_every_metric_and_label_in_the_rules_is_exported(exported: dict[str, set[str]]) -> None:
    names = exported["__name__"] | SCRAPE_SERIES
    for rule in load_rules():
        found = selectors(rule["expr"])
        assert found.metrics, f"{rule['alert']}: no metric found in {rule['expr']!r}"
        assert found.metrics <= names, f"{rule['alert']}: not exported: {found.metrics - names}"
        for label in found.grouping | {label for label, _, _ in found.matchers}:
            assert label in exported or label in SCRAPE_LABELS, f"{rule['alert']}: no label {label!r}"
        for label, op, value in found.matchers:
            if op == "=" and label not in SCRAPE_LABELS:
                assert value in exported[label], f"{rule['alert']}: no series has {label}={value!r}"


def test_the_scanner_reports_unknown_metrics_and_labels() -> None:
    found = selectors(
        'sum by (job, le) (rate(api_response_time_seconds_bucket{route!~"/admin/.*",le="30.0"}[10m])) '
        "/ ignoring(le) ledger_bogus_total offset 5m > 1e3 and on (instance) histogram_quantile(0.9, x:y)"
    )
    assert found.metrics == {"api_response_time_seconds_bucket", "ledger_bogus_total", "x:y"}
    assert found.grouping == {"job", "le", "instance"}
    assert ("le", "=", "30.0") in found.matchers
    assert ("route", "!~", "/admin/.*") in found.matchers


def test_rules_page_on_what_a_regulated_ledger_needs() -> None:
    rules = {r["alert"]: r for r in load_rules()}
    required = {
        "LedgerVerificationFailed", "LedgerVerificationStale", "LedgerAnchoringStale",
        "LedgerSealingStalled", "LedgerProjectionLag", "LedgerApiErrors", "LedgerApiSlaBreach",
        "LedgerApiDown",
    }  # fmt: skip
    assert required <= set(rules)
    for name in required:
        assert rules[name]["labels"]["severity"] == "page", name
    assert rules["LedgerVerificationFailed"]["expr"] == 'ledger_verification_ok{job="audit-ledger"} == 0'
    assert "30.0" in rules["LedgerApiSlaBreach"]["expr"]  # the SLA is the 30 s bucket bound
    assert "api_response_time_seconds" in rules["LedgerApiSlaBreach"]["expr"]


def _seconds(duration: str) -> int:
    """A Prometheus duration of hours and minutes (``7h``, ``1h30m``) in seconds."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?", duration)
    assert parts is not None, duration
    return int(parts[1] or 0) * 3600 + int(parts[2] or 0) * 60


def test_verification_alerts_follow_the_verifiers_interval() -> None:
    """Stale: two missed runs and an hour; missing: one interval and an hour (it verifies at start)."""
    verifier = load_compose()["services"]["verifier"]
    interval = Settings.from_env(environment(verifier)).verify_interval
    rules = {r["alert"]: r for r in load_rules()}
    stale = re.fullmatch(
        r'ledger_verification_age_seconds\{job="audit-ledger"\} > (\d+) \* 3600',
        rules["LedgerVerificationStale"]["expr"],
    )
    assert stale is not None, rules["LedgerVerificationStale"]["expr"]
    assert int(stale[1]) * 3600 == 2 * interval + 3600
    assert _seconds(rules["LedgerVerificationMissing"]["for"]) == interval + 3600
    hours = f"{int(stale[1])} hours"
    assert hours in rules["LedgerVerificationStale"]["annotations"]["description"]
    assert hours in (PROMETHEUS / "alerts_test.yml").read_text()
    assert f"verification finished for {hours}" in DOCS.read_text(encoding="utf-8")


def test_every_alert_is_documented_with_a_runbook_entry() -> None:
    anchors = headings(DOCS.read_text(encoding="utf-8"))
    for rule in load_rules():
        assert rule["labels"]["severity"] in {"page", "ticket"}
        assert {"summary", "description", "runbook_url"} <= set(rule["annotations"])
        doc, _, anchor = rule["annotations"]["runbook_url"].partition("#")
        assert doc == "docs/deployment.md"
        assert anchor in anchors, f"{rule['alert']}: docs/deployment.md has no heading #{anchor}"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    return subprocess.run([tool, *args], capture_output=True, text=True, check=False, cwd=PROMETHEUS)  # noqa: S603


def test_promtool_accepts_config_and_rules() -> None:
    rules = _promtool("check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    config = _promtool("check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr


def test_promtool_rule_unit_tests_pass() -> None:
    run = _promtool("test", "rules", "alerts_test.yml")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SUCCESS" in run.stdout


def test_promtool_rule_unit_tests_can_fail(tmp_path: Path) -> None:
    """A rule that no longer fires where alerts_test.yml expects it fails the unit tests."""
    broken = (
        (PROMETHEUS / "alerts.yml").read_text().replace("ledger_verification_ok{", "ledger_verification_nok{")
    )
    (tmp_path / "alerts.yml").write_text(broken)
    shutil.copy(PROMETHEUS / "alerts_test.yml", tmp_path)
    tool = shutil.which("promtool")
    if tool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    run = subprocess.run(  # noqa: S603
        [tool, "test", "rules", "alerts_test.yml"], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert run.returncode != 0
    assert "LedgerVerificationFailed" in run.stdout + run.stderr


# --- Terraform --------------------------------------------------------------------------------


def _unquote(value: Any) -> Any:
    """python-hcl2 keeps string quotes and marks blocks; strip both."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_unquote(v) for v in value]
    if isinstance(value, dict):
        return {_unquote(k): _unquote(v) for k, v in value.items() if k != "__is_block__"}
    return value


@pytest.fixture(scope="module")
def tf() -> dict[str, dict[str, Any]]:
    """Every block of the Terraform configuration: {"resource.aws_s3_bucket.checkpoints": {...}, ...}."""
    blocks: dict[str, dict[str, Any]] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        with path.open(encoding="utf-8") as f:
            doc = _unquote(hcl2.load(f))
        for kind in ("resource", "data"):
            for entry in doc.get(kind, []):
                for rtype, named in entry.items():
                    for name, body in named.items():
                        blocks[f"{kind}.{rtype}.{name}"] = body
        for kind in ("variable", "output"):
            for entry in doc.get(kind, []):
                for name, body in entry.items():
                    blocks[f"{kind}.{name}"] = body
        blocks.setdefault("locals", {}).update({k: v for e in doc.get("locals", []) for k, v in e.items()})
    return blocks


def _statements(tf: dict[str, dict[str, Any]], document: str) -> dict[str, dict[str, Any]]:
    return {s["sid"]: s for s in tf[f"data.aws_iam_policy_document.{document}"]["statement"]}


def _longest_retention_days() -> int:
    years = max(c.years for c in (*CLASSES, DEFAULT))
    return max((dt.date(start + years, 3, 1) - dt.date(start, 3, 1)).days for start in range(2000, 2400))


def test_bucket_is_object_locked_versioned_private_and_kms_encrypted(tf: dict[str, dict[str, Any]]) -> None:
    bucket = tf["resource.aws_s3_bucket.checkpoints"]
    assert bucket["object_lock_enabled"] is True
    assert bucket["force_destroy"] is False
    status = tf["resource.aws_s3_bucket_versioning.checkpoints"]["versioning_configuration"][0]["status"]
    assert status == "Enabled"
    (rule,) = tf["resource.aws_s3_bucket_object_lock_configuration.checkpoints"]["rule"]
    (retention,) = rule["default_retention"]
    assert retention == {"mode": "COMPLIANCE", "days": "${var.default_retention_days}"}
    block = tf["resource.aws_s3_bucket_public_access_block.checkpoints"]
    flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    assert all(block[f] is True for f in flags)
    (sse,) = tf["resource.aws_s3_bucket_server_side_encryption_configuration.checkpoints"]["rule"]
    (default,) = sse["apply_server_side_encryption_by_default"]
    assert default == {"sse_algorithm": "aws:kms", "kms_master_key_id": "${aws_kms_key.checkpoints.arn}"}
    assert tf["resource.aws_kms_key.checkpoints"]["enable_key_rotation"] is True


def test_default_retention_is_the_policys_longest_class(tf: dict[str, dict[str, Any]]) -> None:
    assert _longest_retention_days() == 3653  # 10 calendar years span at most 3 leap days
    assert tf["variable.default_retention_days"]["default"] == _longest_retention_days()


def test_bucket_policy_denies_plain_http_deletes_bypass_and_unlocked_writes(
    tf: dict[str, dict[str, Any]],
) -> None:
    deny = {sid: s for sid, s in _statements(tf, "bucket").items() if s["effect"] == "Deny"}
    tls = deny["DenyInsecureTransport"]
    assert tls["actions"] == ["s3:*"]
    assert tls["condition"][0] == {"test": "Bool", "variable": "aws:SecureTransport", "values": ["false"]}
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"} <= set(
        deny["DenyDeletesAndLockBypass"]["actions"]
    )
    assert "condition" not in deny["DenyDeletesAndLockBypass"]  # nobody, not even admins
    unlocked = deny["DenyWritesWithoutComplianceLock"]
    assert unlocked["condition"][0]["variable"] == "s3:object-lock-mode"
    assert unlocked["condition"][0]["values"] == ["COMPLIANCE"]
    config = set(deny["DenyConfigurationChangesExceptAdmins"]["actions"])
    assert {"s3:PutBucketObjectLockConfiguration", "s3:PutBucketVersioning", "s3:DeleteBucket"} <= config
    for statement in deny.values():
        assert statement["principals"][0]["identifiers"] == ["*"]


# What S3 authorises each S3WormStore call (and the headers it relies on) with.
S3_ACTIONS = {
    "put_object": {"s3:PutObject", "s3:PutObjectRetention"},  # Object Lock headers need the latter
    "get_object": {"s3:GetObject"},
    # with VersionId; the lock mode and retain-until headers need GetObjectRetention
    "head_object": {"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectRetention"},
    "list_objects_v2": {"s3:ListBucket"},
}


def _s3_calls() -> set[str]:
    """The client operations S3WormStore's instance methods call (``self.client.X`` / paginators)."""
    tree = ast.parse((ROOT / "infra" / "worm.py").read_text(encoding="utf-8"))
    (store,) = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "S3WormStore"]
    calls = set()
    for node in ast.walk(store):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = node.func.value
        if isinstance(owner, ast.Attribute) and owner.attr == "client":
            if node.func.attr == "get_paginator":
                arg = node.args[0]
                assert isinstance(arg, ast.Constant)
                calls.add(str(arg.value))
            else:
                calls.add(node.func.attr)
    return calls


def test_writer_policy_allows_what_s3_worm_store_calls_and_nothing_else(
    tf: dict[str, dict[str, Any]],
) -> None:
    calls = _s3_calls()
    assert {"put_object", "head_object", "get_object", "list_objects_v2"} <= calls
    unmapped = calls - set(S3_ACTIONS)
    assert not unmapped, f"S3WormStore calls {unmapped}: add their IAM actions here and in iam.tf"
    needed = set().union(*(S3_ACTIONS[c] for c in calls))
    statements = _statements(tf, "writer").values()
    granted = {a for s in statements if s["effect"] == "Allow" for a in s["actions"] if a.startswith("s3:")}
    assert granted == needed
    for s in statements:
        for resource in s["resources"]:
            if "s3:ListBucket" in s["actions"]:
                assert resource == "${aws_s3_bucket.checkpoints.arn}"
                assert s["condition"][0]["variable"] == "s3:prefix"
            elif any(a.startswith("s3:") for a in s["actions"]):
                assert resource == "${local.checkpoint_arn}"
    assert tf["locals"]["checkpoint_prefix"] == CHECKPOINT_PREFIX
    assert tf["locals"]["checkpoint_arn"] == "${aws_s3_bucket.checkpoints.arn}/${local.checkpoint_prefix}*"
    reader = {a for s in _statements(tf, "reader").values() for a in s["actions"]}
    assert not any(a.startswith(("s3:Put", "s3:Delete")) for a in reader)


def test_terraform_defaults_and_outputs_match_the_settings(tf: dict[str, dict[str, Any]]) -> None:
    defaults = S3Worm()
    assert tf["variable.bucket_name"]["default"] == defaults.bucket
    assert tf["variable.region"]["default"] == defaults.region
    out = tf["output.ledger_settings"]["value"]
    assert set(out) <= KNOWN
    assert out["LEDGER_WORM"] == "s3"
    assert Settings.from_env({k: "x" if "${" in v else v for k, v in out.items()}).worm.kind == "s3"


def test_terraform_fmt() -> None:
    tool = shutil.which("terraform")
    if tool is None:
        pytest.skip("terraform is not installed")
    run = subprocess.run(  # noqa: S603
        [tool, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


# --- docs -------------------------------------------------------------------------------------


def test_readme_links_the_deployment_guide() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme.startswith("# audit-ledger\n")
    assert "(docs/deployment.md)" in readme
    guide = DOCS.read_text(encoding="utf-8")
    for name in ("compose.yaml", "alerts.yml", "terraform/", "no engine"):
        assert name in guide
    named = set(re.findall(r"\bLEDGER_[A-Z][A-Z0-9_]*", guide))
    assert named - KNOWN == set(), f"docs/deployment.md names settings that do not exist: {named - KNOWN}"
    production = (
        "LEDGER_STORE",
        "LEDGER_WORM",
        "LEDGER_KEK",
        "LEDGER_JWT_PUBLIC_KEY_FILE",
        "LEDGER_TRUSTED_PROXIES",
    )
    assert set(production) <= named
