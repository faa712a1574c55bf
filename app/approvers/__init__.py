"""Approvers: who may decide, their scope and lifecycle, and the web side of their channels (email links, Slack interactions)."""
