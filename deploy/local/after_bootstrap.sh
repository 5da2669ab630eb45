#!/bin/sh
# Usage: deploy/local/after_bootstrap.sh COMMAND [ARG...]: run COMMAND once the local AWS
# resources exist.
#
# Under `make run` the web process bootstraps them (tables, queues, bucket, user pool, sample
# catalog) and then creates the file named by $CLOUDCART_BOOTSTRAPPED. The worker and beat wait
# for that file instead of bootstrapping again each: three processes creating the same things at
# once on two cores (and one serialized emulator) made the API serve about 8 s later. Started on
# its own (no $CLOUDCART_BOOTSTRAPPED), a process bootstraps for itself, as before.
set -e
if [ -n "$CLOUDCART_BOOTSTRAPPED" ]; then
  waited=0
  until [ -e "$CLOUDCART_BOOTSTRAPPED" ]; do
    if [ "$waited" -ge 600 ]; then  # 120 s in steps of 0.2 s
      echo "after_bootstrap: $CLOUDCART_BOOTSTRAPPED never appeared: did the web process fail?" >&2
      exit 1
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
else
  python manage.py bootstrap_aws
fi
exec "$@"
