"""Per-client shopping carts stored in DynamoDB."""
