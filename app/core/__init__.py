"""Core: plumbing every domain stands on (database, key-value store, errors, ids, batching, the event bus, the outbound guard); no domain rules."""
