"""localstripe (a stateful fake Stripe, GPL-3, local only) on a loopback port, in memory.

    python -m deploy.local.localstripe --port 8420

The stock `localstripe` command pickles its whole store to /tmp/localstripe.pickle after every
write and reloads it at start: every write costs O(store), and two instances on one machine (two
clones, a test session beside `make run`) overwrite each other's file. Here the store lives in
memory only (like DynamoDB Local's -inMemory), the server listens on 127.0.0.1 alone (the stock
one binds every interface), and it dies with its parent (honcho or the test session).

Two fidelity fixes, as deploy/local/moto_serialized.py makes for moto (localstripe 1.15.10):
- it derives a PaymentIntent's status from its latest charge, so after a declined charge the
  intent stays `requires_payment_method` even once a new payment method is set, and confirming
  it again is a 400. Stripe answers `requires_confirmation` there (a customer may try another
  card on the same intent): setting a new payment method here forgets the failed charge.
- it captures a cancelled intent's charge. Stripe refuses to capture anything but a
  `requires_capture` intent (400): so does this one.
"""

import argparse
import logging
import sys

from deploy.local.process import die_with_parent


def _patch_localstripe() -> None:
    from localstripe import resources

    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None

    intent_update = resources.PaymentIntent._update

    def update(self, **data):
        intent_update(self, **data)
        charge = self.latest_charge
        if data.get("payment_method") and charge is not None and charge.status == "failed":
            self.latest_charge = None  # the next confirm charges the new payment method

    resources.PaymentIntent._update = update

    intent_capture = resources.PaymentIntent._api_capture.__func__

    def capture(cls, id, **kwargs):
        if isinstance(id, str) and cls._api_retrieve(id).status != "requires_capture":
            raise resources.UserError(
                400, "This PaymentIntent could not be captured: it is not requires_capture."
            )
        return intent_capture(cls, id, **kwargs)

    resources.PaymentIntent._api_capture = classmethod(capture)
    # The routes are built from `extra_apis` when localstripe.server is imported (after this).
    route = "/v1/payment_intents/{id}/capture"
    resources.extra_apis[:] = [
        (method, url, resources.PaymentIntent._api_capture if url == route else func)
        for method, url, func in resources.extra_apis
    ]


def run(*, port: int, host: str = "127.0.0.1") -> None:
    die_with_parent()
    _patch_localstripe()
    from aiohttp import web
    from localstripe.server import app

    logger = logging.getLogger("aiohttp.access")
    logger.setLevel(logging.INFO)
    logger.addHandler(logging.StreamHandler())
    print(f"localstripe on http://{host}:{port} (in memory)", flush=True)
    web.run_app(app, host=host, port=port, access_log=logger, print=None)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.local.localstripe", description=__doc__)
    parser.add_argument("-p", "--port", type=int, required=True)
    args = parser.parse_args(argv)
    run(port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
