"""Every test module on the machine's Redis database carries the shared-Redis mark.

Unmarked, such a module runs beside the others under pytest-xdist, and a test that flushes the
database wipes its counts (three tests failed so in one CI run)."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent
USES_SHARED_DB = ("JITGATE_TEST_REDIS_DB", "_redis_counter(")


def test_every_module_on_the_shared_redis_database_is_marked():
    # given the test modules that reach the machine's Redis database
    unmarked = [
        str(path.relative_to(TESTS))
        for path in TESTS.rglob("*.py")
        if path.name != "shared_redis.py"
        and path != Path(__file__)
        and any(word in (text := path.read_text()) for word in USES_SHARED_DB)
        and "uses_shared_redis" not in text
    ]
    # then each says so (tests/shared_redis.py)
    assert unmarked == []
