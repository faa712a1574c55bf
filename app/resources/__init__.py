"""Protected resources: the API and MCP servers an org's tokens may be bound to (RFC 8707, 9728)."""
