"""Bodies of the approver registration API."""

from pydantic import Field

from app.http.body import Body


class ApproverIn(Body):
    email: str = Field(max_length=320)
    name: str | None = Field(default=None, max_length=200)
    slack_user_id: str | None = Field(default=None, max_length=64)
    groups: list[str] = Field(default_factory=list, max_length=50)


class ApproverPatch(Body):
    name: str | None = Field(default=None, max_length=200)
    slack_user_id: str | None = Field(default=None, max_length=64)
    groups: list[str] | None = Field(default=None, max_length=50)
    status: str | None = Field(default=None, max_length=16)
