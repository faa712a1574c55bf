"""A clause the interpreter cannot read must never vanish from the answer (fail closed).

Found by the admin portal's ask box: "Can I refund an order and read documents?" was read as
document.read alone, with nothing unresolved, and answered allowed.
"""

import pytest

from app.authz.ask import answer
from app.authz.interpreter import CatalogEntry
from tests.ask.eval_harness import decider

CATALOG = (
    CatalogEntry("payments.refund", "Refund a payment", ("refund an order",)),
    CatalogEntry("document.read", "Read documents", ()),
)
HELD = {"document.read"}  # the refund is not held: an answer naming only the read is a false allow


@pytest.mark.parametrize(
    "question",
    [
        "Can I refund an order and read documents?",
        "Can I refund the order and read documents?",
        "Can I read documents and refund an order?",
    ],
)
def test_a_second_ask_is_never_dropped(question):
    body = answer(question=question, catalog=CATALOG, decide=decider(HELD, {}))
    assert body["allowed"] is False
    named = {p["permission"] for p in body["permissions"]}
    assert named == {"document.read", "payments.refund"} or body["unresolved"]
