"""The deployment files say the same thing: README's Procfile copy, docker-compose's commands."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_quotes_the_real_procfile():
    procfile = (ROOT / "Procfile").read_text().strip()

    assert f"```\n{procfile}\n```" in (ROOT / "README.md").read_text()


def test_docker_compose_runs_every_procfile_process():
    compose = (ROOT / "docker-compose.yml").read_text()
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, command = line.split(":", 1)
        if name == "web":
            continue
        words = [w for w in command.split() if not w.startswith("/tmp/")]
        assert f"\n  {name}:\n" in compose, name
        assert all(f'"{w}"' in compose for w in words if w != "--schedule"), name


def test_compose_restarts_what_dies_and_checks_what_it_runs():
    import yaml

    from workers.heartbeat import SWEEP_KEY

    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in ("web", "worker", "deliveries", "beat"):
        assert services[name]["restart"] == "unless-stopped", name
        assert services[name]["healthcheck"]["test"], name
    for name in ("worker", "deliveries", "beat"):  # after migrations (web healthy)
        assert services[name]["depends_on"]["web"] == {"condition": "service_healthy"}, name
    assert SWEEP_KEY in " ".join(services["beat"]["healthcheck"]["test"])


def test_openapi_declares_the_bearer_scheme_on_routes_that_take_one(client):
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    ops = {(m.upper(), path): op for path, item in doc["paths"].items() for m, op in item.items()}
    check = ops[("POST", "/orgs/{org_id}/api/v1/authz/check")]
    token = ops[("POST", "/orgs/{org_id}/api/v1/oauth/token")]
    agents = ops[("GET", "/orgs/{org_id}/api/v1/agents")]
    assert check["security"] == agents["security"] == [{"bearer": []}]
    assert "security" not in token  # a signed client assertion authenticates the client


def test_readme_documents_every_setting_the_code_reads():
    import re

    from app.settings import Settings

    names = {"JITGATE_" + name.upper() for name in Settings.model_fields}
    for folder in ("app", "workers", "notifiers"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"JITGATE_[A-Z0-9_]+", path.read_text()))
    readme = (ROOT / "README.md").read_text()
    assert sorted(n for n in names if n not in readme) == []


def test_readme_points_at_no_file_the_repository_lacks():
    import re

    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)#:]+)\)", readme):  # relative Markdown links
        assert (ROOT / target).exists(), target
    assert "DESIGN.md" not in readme
