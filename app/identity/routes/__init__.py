"""HTTP routes of the identity domain: agents, OAuth, well-known documents."""
