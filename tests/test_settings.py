"""Settings: outside development, a missing, default or short secret refuses to start."""

import pytest
from click.testing import CliRunner

from app.cli import main
from app.settings import DEVELOPMENT_SECRET, InsecureSettings, Settings
from tests.helpers import jitgate_env
from tests.test_cli import run_cli


@pytest.mark.parametrize("env", ["production", "staging", "test"])
@pytest.mark.parametrize("secret", [None, "", DEVELOPMENT_SECRET, "short"])
def test_outside_development_a_weak_secret_is_refused(monkeypatch, env, secret):
    with jitgate_env(monkeypatch, env=env, secret_key=secret):
        settings = Settings()
    with pytest.raises(InsecureSettings, match="JITGATE_SECRET_KEY"):
        settings.check_secure()


def test_development_may_use_the_default_secret(monkeypatch):
    with jitgate_env(monkeypatch, env=None, secret_key=None):
        settings = Settings()
    assert settings.env == "development"
    settings.check_secure()


def test_production_with_a_real_secret_starts():
    Settings(env="production", secret_key="a" * 32).check_secure()


@pytest.mark.parametrize("secret", [None, DEVELOPMENT_SECRET], ids=["missing", "default"])
def test_create_app_refuses_production_without_a_secret(monkeypatch, secret):
    from app.main import create_app

    refused = pytest.raises(InsecureSettings, match="JITGATE_ENV='production'")
    with jitgate_env(monkeypatch, env="production", secret_key=secret), refused:
        create_app()


@pytest.mark.parametrize("secret", [None, DEVELOPMENT_SECRET], ids=["missing", "default"])
def test_serve_in_production_without_a_secret_is_a_one_line_error(monkeypatch, secret):
    with jitgate_env(monkeypatch, env="production", secret_key=secret):
        result = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: JITGATE_SECRET_KEY"), result.output


def test_jitgate_serve_process_exits_1_with_one_line(tmp_path):
    # the real executable, in a fresh process that reads the environment once
    proc = run_cli(tmp_path, "serve", "--port", "1", env="production")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "JITGATE_SECRET_KEY" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
