"""What every `jitgate` command shares: one-line errors, a migrated database session (checked
to be about an existing org where a command names one), the `--org` option, the API's body
validation, and answers printed one JSON object per line."""

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, Any

import click
from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from sqlmodel import Session

org_option = click.option("--org", "org_id", required=True)


class CliError(click.ClickException):
    """A user mistake: printed as one line, exit status 1, no traceback."""


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain and settings errors into one-line messages."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

        from app.core.errors import JitgateError
        from app.settings import InsecureSettings

        try:
            return fn(*args, **kwargs)
        except JitgateError as exc:
            raise CliError(exc.description) from None
        except InsecureSettings as exc:
            raise CliError(str(exc)) from None
        except OperationalError as exc:
            raise CliError(f"database error: {str(exc.orig).splitlines()[0]}") from None
        except (ArgumentError, NoSuchModuleError) as exc:
            raise CliError(f"JITGATE_DATABASE_URL is not usable: {exc}") from None

    return wrapper


def org_command(command: Callable[[Callable[..., Any]], click.Command]) -> Callable[..., Any]:
    """A command about one org, as `@org_command(issuers.command("remove"))`: `--org` first, then
    the function's own arguments and options, and its errors as one line (friendly)."""
    return lambda fn: command(org_option(friendly(fn)))


def cli_session():  # type: ignore[no-untyped-def]
    from app.core.db import get_engine, session_scope
    from app.core.migrate import ensure_schema
    from app.settings import get_settings
    from workers import wiring

    get_settings().check_secure()
    ensure_schema(get_engine())
    wiring.install()  # a change a command makes queues its tasks as the server's would
    return session_scope()


@contextmanager
def org_session(org_id: str) -> "Iterator[Session]":
    """cli_session() for a command about one org: a mistyped org is an error, where it would
    otherwise look like an org with nothing in it."""
    from app.models import Org

    with cli_session() as session:
        if session.get(Org, org_id) is None:
            raise CliError(f"no organization {org_id}")
        yield session


def body_of(model: type[BaseModel], **fields: Any) -> dict[str, Any]:
    """The API's validation of a request body, its first complaint as a one-line error."""
    try:
        return model.model_validate(fields).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise CliError(f"{where}: {first['msg']}") from None


def echo_json(rows: Iterable[Any]) -> None:
    """One JSON object per line (what the API answers, for scripts to read)."""
    for row in rows:
        click.echo(
            row.model_dump_json() if isinstance(row, BaseModel) else json.dumps(row, default=str)
        )
