"""Everything for AWS: the CDK app (stacks/), the container image and gunicorn's config."""
