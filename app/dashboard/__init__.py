"""The approvers' web dashboard: signed-cookie sessions, page data, templates and static files."""
