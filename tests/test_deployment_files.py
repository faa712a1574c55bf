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
