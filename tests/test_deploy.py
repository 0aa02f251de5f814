"""deploy/ matches the code: files that parse, settings that exist, probes, GPUs, secrets."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.settings import Settings, declared

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
K8S = sorted((DEPLOY / "k8s").glob("*.yaml"))
VARIABLE = re.compile(r"\b(?:MEDGEMMA|SLACK)_[A-Z0-9_]+\b")
SECRETS = {"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "HF_TOKEN"}
SECRETS |= {"MEDGEMMA_API_KEY"}
TOKENS_PER_IMAGE = 256  # MedGemma's image tokens, before the start/end markers


def k8s_documents() -> list[dict[str, Any]]:
    return [d for path in K8S for d in yaml.safe_load_all(path.read_text()) if d]


def containers(kind: str = "Deployment") -> dict[str, dict[str, Any]]:
    """Containers of the k8s workloads, by container name."""
    found = {}
    for doc in k8s_documents():
        if doc["kind"] == kind:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                found[container["name"]] = container
    return found


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def vllm_flags(args: list[str]) -> dict[str, str]:
    return dict(a.removeprefix("--").split("=", 1) for a in args if a.startswith("--"))


def test_every_variable_the_deploy_files_name_is_a_setting() -> None:
    known = {item.env for item in declared()}
    used = {
        name
        for path in DEPLOY.rglob("*")
        if path.is_file()
        for name in VARIABLE.findall(path.read_text(encoding="utf-8"))
    }
    assert used, "the pattern found nothing: is deploy/ there?"
    assert used - known == set()


def test_compose_has_the_bot_beside_vllm_and_redis() -> None:
    services = compose()["services"]
    assert {"bot", "vllm", "redis", "bot-vllm"} <= set(services)
    for name, service in services.items():
        assert "image" in service or "build" in service, name
        assert isinstance(service.get("environment", {}), dict), name
    bot = services["bot-vllm"]["environment"]
    assert bot["MEDGEMMA_REDIS_URL"].startswith("redis://redis:")
    assert bot["MEDGEMMA_BASE_URL"] == "http://vllm:8000/v1"
    assert services["bot-vllm"]["deploy"]["replicas"] >= 2
    assert "/readyz" in " ".join(services["bot-vllm"]["healthcheck"]["test"])


def test_k8s_documents_have_their_shapes() -> None:
    docs = k8s_documents()
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Deployment") == 3 and "Service" in kinds and "Secret" in kinds
    for doc in docs:
        assert doc["apiVersion"] and doc["metadata"]["name"]
        if doc["kind"] == "Deployment":
            spec = doc["spec"]
            labels = spec["template"]["metadata"]["labels"]
            assert spec["selector"]["matchLabels"].items() <= labels.items()
            assert all(c["name"] and c["image"] for c in spec["template"]["spec"]["containers"])


def test_the_bot_pod_is_probed_on_its_health_port() -> None:
    bot = containers()["bot"]
    env = {e["name"]: e.get("value") for e in bot["env"]}
    port = int(env.get("MEDGEMMA_HEALTH_PORT") or Settings().health_port)
    ports = {p["name"]: p["containerPort"] for p in bot["ports"]}
    assert bot["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert bot["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe"):
        assert ports[bot[probe]["httpGet"]["port"]] == port
    assert env["MEDGEMMA_REDIS_URL"].startswith("redis://medgemma-redis:")


@pytest.mark.parametrize("where", ["compose", "k8s"])
def test_vllm_admits_a_full_series_and_the_bot_may_use_it(where: str) -> None:
    if where == "compose":
        args = compose()["services"]["vllm"]["command"]
        bot_context = int(
            compose()["services"]["bot-vllm"]["environment"]["MEDGEMMA_CONTEXT_TOKENS"]
        )
    else:
        args = containers()["vllm"]["args"]
        env = {e["name"]: e.get("value") for e in containers()["bot"]["env"]}
        bot_context = int(env["MEDGEMMA_CONTEXT_TOKENS"])
    flags = vllm_flags(args)
    defaults = Settings()
    images = defaults.max_images + max(defaults.max_slices, defaults.pathology_patches)
    assert json.loads(flags["limit-mm-per-prompt"])["image"] >= images
    model_len = int(flags["max-model-len"])
    assert model_len >= max(32_768, images * TOKENS_PER_IMAGE)
    assert bot_context == model_len  # the bot budgets a series up to what vLLM admits


def test_gpus_are_requested_and_secrets_come_from_secrets() -> None:
    vllm = containers()["vllm"]
    assert vllm["resources"]["requests"]["nvidia.com/gpu"] >= 1
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] >= 1
    for name, container in containers().items():
        for variable in container.get("env", []):
            if variable["name"] in SECRETS:
                assert "value" not in variable, f"{name}: {variable['name']} in plain text"
                assert variable["valueFrom"]["secretKeyRef"]["name"]
    compose_text = COMPOSE.read_text()
    for secret in SECRETS:
        assert not re.search(rf"{secret}\s*:", compose_text), f"{secret} set in compose"
