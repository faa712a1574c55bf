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
