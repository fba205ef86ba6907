"""Measuring what step mail does: ESP events, own click/open tracking, attribution of orders,
holdout groups and A/B variants. The only package that knows anymail's event types.

See ``docs/metrics.md`` for the definitions of every number.
"""
