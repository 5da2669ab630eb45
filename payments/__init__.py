"""Payments: Stripe PaymentIntents opened at checkout, authorised by the customer, captured by the worker."""
