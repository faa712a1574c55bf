"""Web plumbing shared by the routes: dependencies, error handlers, LeanRoute and its helpers, body and header limits, request logs, health."""
