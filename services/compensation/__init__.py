"""Compensation (보상): the charter's culture vouchers and the whistleblower reward, in an append-only ledger."""
