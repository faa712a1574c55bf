"""Benchmark of the Ask API interpreter on the evaluation set in tests/ask/eval_set.json.

Prints the number of questions, whole-answer accuracy (allowed, jit_required and the exact
permission set all right), exact-set accuracy, allowed accuracy, false allows, false denies
(of the questions that should be allowed), the same per category, and p50/p99 interpreter
latency. --set takes any set in the same format, e.g. tests/ask/blind/dev.json. Run from the repository root:

    python bench/ask_eval.py [--set PATH] [--repeat N] [--show-misses] [--llm]

--llm uses JITGATE_ASK_LLM_URL / JITGATE_ASK_LLM_MODEL (the built-in interpreter otherwise).
Exits non-zero when any question is allowed that should not be.
"""

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ask.eval_harness import EVAL_SET, Report, load, run  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", type=Path, default=EVAL_SET, help="evaluation set (JSON)")
    parser.add_argument("--repeat", type=int, default=5, help="runs for the latency figures")
    parser.add_argument("--show-misses", action="store_true", help="list every wrong answer")
    parser.add_argument("--llm", action="store_true", help="use the configured language model")
    args = parser.parse_args(argv)
    data = load(args.set)
    interpreter = _llm() if args.llm else None
    report = run(data, interpreter)
    for _ in range(max(0, args.repeat - 1)):  # more samples for the latency percentiles
        more = run(data, interpreter)
        report.latencies_ms += more.latencies_ms
        report.cpu_ms += more.cpu_ms
    _print(report, args.show_misses)
    return 1 if report.false_allows else 0


def _llm():
    from app.authz.interpreter import get_interpreter
    from app.settings import get_settings

    return get_interpreter(get_settings())


def _load() -> str:
    try:
        return f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cpus"
    except OSError:
        return "unknown"


def _print(report: Report, show_misses: bool) -> None:
    print(f"questions:           {report.total}")
    print(
        f"whole-answer acc.:   {report.whole_right / report.total:.1%} "
        f"({report.whole_right}/{report.total})"
    )
    print(f"exact-set accuracy:  {report.exact / report.total:.1%} ({report.exact}/{report.total})")
    print(
        f"allowed accuracy:    {report.allowed_right / report.total:.1%} "
        f"({report.allowed_right}/{report.total})"
    )
    print(f"false allows:        {len(report.false_allows)}")
    denies = len(report.false_denies)
    print(
        f"false denies:        {denies} of {report.should_allow} that should be allowed "
        f"({denies / max(1, report.should_allow):.1%})"
    )
    print(
        f"latency p50 / p99:   {report.percentile(50):.3f} ms / {report.percentile(99):.3f} ms "
        f"wall clock ({len(report.latencies_ms)} interpreter calls, load {_load()})"
    )
    print(
        f"cpu time p50 / p99:  {report.percentile(50, cpu=True):.3f} ms / "
        f"{report.percentile(99, cpu=True):.3f} ms (the interpreter's own cost)"
    )
    print("by category (whole answer right):")
    for category, (right, total) in sorted(report.by_category.items()):
        print(f"  {category:<20} {right:>3}/{total:<3}")
    for row in report.false_allows:
        print(f"FALSE ALLOW #{row['id']}: {row['question']!r} -> {row['got']}")
    if show_misses:
        for row in report.misses:
            print(
                f"miss #{row['id']} [{row['category']}]: {row['question']!r} got {row['got']} "
                f"allowed={row['allowed']} expected {row['expected']} "
                f"unresolved {row['unresolved']}"
            )


if __name__ == "__main__":
    sys.exit(main())
