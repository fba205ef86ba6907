"""Oscar data for commerce blocks (products, orders, baskets, vouchers, reviews).

Everything here is loaded once per batch of mails, in a fixed number of queries, and handed to
blocks as plain values. Only this package (with ``triggers/orders.py``) knows Oscar's models.
"""
