"""Hand memory that C's allocator holds free back to the system, after a large one-off load.

Python's own small-object arenas are returned when empty, but glibc keeps the pages of freed
large blocks (strings, lists' arrays, bytes) in its heap until told otherwise: reading the
WordNet extract (tens of MiB parsed, then mostly dropped) left 8 MiB of such pages resident
for the life of the process. malloc_trim(0) returns them; elsewhere (musl, macOS) nothing is
done.
"""

import ctypes
import ctypes.util
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def give_back_freed_memory() -> bool:
    """Return freed heap pages to the system (glibc); False where there is no way to."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
