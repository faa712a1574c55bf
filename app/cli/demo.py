"""`jitgate demo`: the agent story end to end, against a running server or an embedded one."""

import os
import socket
import threading
import time

import click
import httpx

from app.cli.common import CliError, friendly

DEFAULT_URL = "http://127.0.0.1:8000"


def register(main: click.Group) -> None:
    main.add_command(demo)


def _reachable(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_embedded(url_hint: str) -> str:
    """No server answered: run one in this process (SQLite + in-process worker), like `serve`."""
    import uvicorn

    from app.settings import get_settings

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    os.environ["JITGATE_PUBLIC_URL"] = url
    get_settings.cache_clear()
    from app.main import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    for _ in range(100):
        if _reachable(url):
            click.echo(f"(no server at {url_hint}: started an embedded one at {url})")
            return url
        time.sleep(0.1)
    raise CliError("could not start the embedded server")


def _demo_org() -> tuple[str, str]:
    from app.cli.common import cli_session
    from app.identity import orgs

    with cli_session() as session:
        org, issued = orgs.create_org(session, name="jitgate demo")
    return org.id, issued.token


@click.command()
@click.option("--url", default=DEFAULT_URL, show_default=True, help="The jitgate server.")
@click.option("--org", "org_id", default=None, help="Use this org (with --admin-token).")
@click.option("--admin-token", default=None, envvar="JITGATE_ADMIN_TOKEN")
@friendly
def demo(url: str, org_id: str | None, admin_token: str | None) -> None:
    """Walk the whole agent story and print each step."""
    from jitgate.demo import run_demo
    from jitgate.errors import JitgateError

    url = url.rstrip("/")
    if not _reachable(url):
        if url != DEFAULT_URL:
            raise CliError(f"no jitgate server answers at {url}")
        url = _start_embedded(url)
    if bool(org_id) != bool(admin_token):
        raise CliError("give both --org and --admin-token, or neither (a demo org is created)")
    if not org_id:
        org_id, admin_token = _demo_org()
    try:
        run_demo(url, admin_token or "", org_id, out=click.echo)
    except JitgateError as exc:
        raise CliError(f"demo stopped: {exc}") from None
