"""The table behind the durable key store (app/core/durable_store.py)."""

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.columns import tz_column


class DurableKey(SQLModel, table=True):
    """Keys of the key-value store that are security state (a dashboard session signed out, a
    sign-in link used, a Slack request seen), kept until they expire, so that in embedded mode
    a restart forgets none of them (app/core/durable_store.py)."""

    __tablename__ = "durable_key"
    key: str = Field(primary_key=True, max_length=255)
    expires_at: datetime = Field(sa_column=tz_column(index=True))
