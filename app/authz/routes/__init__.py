"""HTTP routes of the authz domain: check, Ask, catalog, policies."""
