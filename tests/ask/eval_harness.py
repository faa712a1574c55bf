"""Runs the Ask API over the evaluation set with a `decide` that mirrors /authz/check's rules.

Shared by tests/ask/test_eval_set.py and bench/ask_eval.py so both count the same way.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.authz.ask import PermissionDecision, answer
from app.authz.interpreter import CatalogEntry, Interpretation, interpret

EVAL_SET = Path(__file__).with_name("eval_set.json")


def load(path: Path = EVAL_SET) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def catalog_of(data: dict) -> list[CatalogEntry]:
    return [
        CatalogEntry(c["permission"], c.get("description"), tuple(c.get("synonyms") or ()))
        for c in data["catalog"]
    ]


def policy_mode(permission: str, policies: dict[str, str]) -> tuple[str, str | None]:
    """The most specific matching pattern wins; with none the permission is standing."""
    best: str | None = None
    for pattern in policies:
        prefix = pattern[:-1] if pattern.endswith("*") else None
        hit = pattern == permission or (prefix is not None and permission.startswith(prefix))
        if (
            hit
            and (best is None or pattern == permission or len(pattern) > len(best))
            and (best != permission)
        ):
            best = pattern
    return (policies[best], best) if best else ("standing", None)


def decider(held: set[str], policies: dict[str, str]) -> Callable[[str], PermissionDecision]:
    def decide(permission: str) -> PermissionDecision:
        mode, pattern = policy_mode(permission, policies)
        if permission not in held:
            return PermissionDecision(False, "not among the agent's capabilities", mode=mode)
        if mode == "deny":
            return PermissionDecision(False, "denied by policy", policy_id=pattern, mode=mode)
        if mode == "jit":
            return PermissionDecision(False, "needs just-in-time approval", True, pattern, mode)
        return PermissionDecision(True, "granted", policy_id=pattern, mode=mode)

    return decide


@dataclass
class Report:
    total: int = 0
    exact: int = 0
    allowed_right: int = 0
    whole_right: int = 0  # allowed, jit_required and the exact set (and on_behalf_of) all right
    should_allow: int = 0
    by_category: dict[str, list[int]] = field(default_factory=dict)  # category -> [right, total]
    false_allows: list[dict] = field(default_factory=list)
    false_denies: list[dict] = field(default_factory=list)
    misses: list[dict] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)  # wall clock
    cpu_ms: list[float] = field(default_factory=list)  # this thread's CPU time: no load noise

    def percentile(self, p: float, *, cpu: bool = False) -> float:
        ordered = sorted(self.cpu_ms if cpu else self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def run(data: dict, interpreter: Callable[..., Interpretation] | None = None) -> Report:
    catalog = catalog_of(data)
    # The blind sets do not carry the limit; the service's default applies to them.
    limit = data.get("max_question_chars", 1000)
    base = interpreter or (lambda q, c: interpret(q, c, max_chars=limit))
    report = Report()
    base("warm-up", catalog)  # the catalog index is built once per catalog, then cached
    for case in data["cases"]:
        timed: list[tuple[float, float]] = []

        def timed_interpreter(question, entries, _timed=timed):
            wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
            result = base(question, entries)
            _timed.append(
                ((time.perf_counter_ns() - wall) / 1e6, (time.thread_time_ns() - cpu) / 1e6)
            )
            return result

        held = set(case.get("held") or data["agents"][case["agent"]])
        body = answer(
            question=case["question"],
            catalog=catalog,
            decide=decider(held, data["policies"]),
            interpreter=timed_interpreter,
        )
        report.latencies_ms += [wall for wall, _ in timed]
        report.cpu_ms += [cpu for _, cpu in timed]
        _score(report, case, body, _expect_jit(case, held, data["policies"]))
    return report


def _expect_jit(case: dict, held: set[str], policies: dict[str, str]) -> bool:
    """As the blind sets define it: some named permission is held and its policy is jit."""
    if "expect_jit_required" in case:
        return bool(case["expect_jit_required"])
    return any(
        p in held and policy_mode(p, policies)[0] == "jit" for p in case["expect_permissions"]
    )


def _score(report: Report, case: dict, body: dict, expect_jit: bool) -> None:
    report.total += 1
    got = {p["permission"] for p in body["permissions"]}
    exact = got == set(case["expect_permissions"])
    if "expect_on_behalf_of" in case:
        exact = exact and body["on_behalf_of"] == case["expect_on_behalf_of"]
    report.exact += exact
    report.allowed_right += body["allowed"] == case["expect_allowed"]
    jit = any(p["jit_required"] for p in body["permissions"])
    whole = exact and body["allowed"] == case["expect_allowed"] and jit == expect_jit
    report.whole_right += whole
    report.should_allow += case["expect_allowed"]
    tally = report.by_category.setdefault(case.get("category", "?"), [0, 0])
    tally[0] += whole
    tally[1] += 1
    row = {
        "id": case["id"],
        "question": case["question"][:120],
        "got": sorted(got),
        "allowed": body["allowed"],
        "unresolved": body["unresolved"],
        "reason": body["reason"],
    }
    if body["allowed"] and not case["expect_allowed"]:
        report.false_allows.append(row)
    if not body["allowed"] and case["expect_allowed"]:
        report.false_denies.append(row)
    if not whole:
        expected = sorted(case["expect_permissions"])
        report.misses.append(row | {"expected": expected, "category": case.get("category")})
