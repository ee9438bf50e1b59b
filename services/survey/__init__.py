"""Satisfaction survey (만족도 조사): invitations after closure, signed links, responses,
statistics and the yearly report."""
