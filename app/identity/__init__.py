"""Identity: orgs, agents and their keys, assertions, tokens, the replay store, signing keys, rate limits; the OAuth, agents and well-known routes."""
