"""Slack: a Block Kit message with Approve and Deny buttons, updated when the request ends."""
