"""Product catalog: PynamoDB model, reads, seeding and the public listing endpoints."""
