"""The notification service: notices to citizens and staff, each delivered at most once."""
