"""Checkout, orders and their asynchronous processing."""
