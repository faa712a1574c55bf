"""Authorization: the check, the permission catalog, policies, Ask and its interpreter."""
