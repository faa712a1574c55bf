"""The Ask API's interpreters: plain words in, candidate catalog permissions out, never a decision."""

from collections.abc import Callable, Sequence

from app.services.ask_interpreter.builtin import interpret
from app.services.ask_interpreter.types import CatalogEntry, Interpretation, Mapping

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
        from app.services.ask_interpreter.llm import LLMInterpreter

        return LLMInterpreter.from_settings(settings)

    def builtin(question: str, catalog: Sequence[CatalogEntry]) -> Interpretation:
        return interpret(question, catalog, max_chars=limit)

    return builtin
