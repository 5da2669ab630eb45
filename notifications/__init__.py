"""Order notifications: an SNS event per order state change, e-mail receipts through SES."""
