"""Just-in-time approval: the request state machine, intake, JIT tokens, views, notification, routes."""
