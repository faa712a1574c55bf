"""What every `jitgate` command shares: one-line errors and a migrated database session."""

from collections.abc import Callable
from functools import wraps
from typing import Any

import click


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


def cli_session():  # type: ignore[no-untyped-def]
    from app.core.db import get_engine, session_scope
    from app.core.migrate import ensure_schema
    from app.settings import get_settings
    from workers import wiring

    get_settings().check_secure()
    ensure_schema(get_engine())
    wiring.install()  # a change a command makes queues its tasks as the server's would
    return session_scope()
