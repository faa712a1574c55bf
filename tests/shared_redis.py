"""The mark for tests that use the machine's Redis database JITGATE_TEST_REDIS_DB.

Those tests flush that one database, run Celery workers on its queues, or start web processes
that enqueue there: two of them at once would take each other's tasks or wipe each other's
keys. Under pytest-xdist (`-n 4 --dist loadgroup`) every test with this mark runs on the same
worker, one after another; without xdist the mark does nothing. They also wait on Celery
workers' reactions, late beside three busy test workers on two cores, so CI runs them on their
own after the rest (`-m "not xdist_group"`, then `-m xdist_group`). Tests with a private
redis-server of their own (tests/integration/private_redis.py) need no mark.
"""

import pytest

uses_shared_redis = pytest.mark.xdist_group("shared-redis-db")
