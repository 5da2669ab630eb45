"""The CDK app: `make synth` (or `cdk synth` / `cdk deploy` in deploy/) builds the CloudCart stack.

Context (`-c key=value` or cdk.json): `certificateArn` (HTTPS on the load balancer), `domainName`
(the API's host name), `hostedZoneId` (+ optional `hostedZoneName`: the shop and API on
`domainName` through CloudFront, with an ACM certificate and Route 53 records), `stackName`
(default "CloudCart").
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
# The stack reads table keys from the PynamoDB models and queue limits from the settings.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cloudcart.settings")

from deploy.stacks import app_build  # noqa: E402

if __name__ == "__main__":
    # The cdk CLI says where to write (CDK_OUTDIR); `make synth` writes to deploy/cdk.out.
    outdir = None if os.environ.get("CDK_OUTDIR") else str(HERE / "cdk.out")
    app_build(outdir=outdir).synth()
