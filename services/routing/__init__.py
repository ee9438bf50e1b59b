"""Routing: designates the department for each complaint by a versioned rule table,
assigns a handler (and a guardian official for statutory complaints), and
reassigns on request (docs/routing.md)."""
