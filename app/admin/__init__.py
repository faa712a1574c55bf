"""The admin portal: an org's admins manage agents, approvers, policies and the audit trail in a
browser, through the same services as the admin API."""
