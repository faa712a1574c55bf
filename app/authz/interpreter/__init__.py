"""The Ask API's interpreters: plain words in, candidate catalog permissions out, never a decision."""

from collections.abc import Callable, Sequence
from functools import lru_cache

from app.authz.interpreter.builtin import interpret
from app.authz.interpreter.types import CatalogEntry, Interpretation, Mapping

Interpreter = Callable[[str, Sequence[CatalogEntry]], Interpretation]

__all__ = [
    "CatalogEntry",
    "Interpretation",
    "Interpreter",
    "Mapping",
    "get_interpreter",
    "interpret",
]


def get_interpreter(settings) -> Interpreter:
    """The language-model interpreter when one is configured, else the built-in one."""
    limit = getattr(settings, "ask_max_question_chars", 1000)
    if getattr(settings, "ask_llm_url", None) and getattr(settings, "ask_llm_model", None):
        return _model_interpreter(
            settings.ask_llm_url,
            settings.ask_llm_model,
            getattr(settings, "ask_llm_api_key", None),
            float(getattr(settings, "ask_llm_timeout", 4.0)),
            limit,
        )

    def builtin(question: str, catalog: Sequence[CatalogEntry]) -> Interpretation:
        return interpret(question, catalog, max_chars=limit)

    return builtin


@lru_cache(maxsize=8)
def _model_interpreter(
    url: str, model: str, api_key: str | None, timeout: float, max_chars: int
) -> Interpreter:
    """One client (and its connection pool) per configuration, however often this is asked."""
    from app.authz.interpreter.llm import LLMInterpreter

    return LLMInterpreter(
        url=url, model=model, api_key=api_key, timeout=timeout, max_chars=max_chars
    )
