"""Email: a message with signed approve and deny links for each approver."""
