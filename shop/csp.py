"""The web shop's Content-Security-Policy: its own origin, Stripe.js and the product images, nothing else."""

from urllib.parse import urlsplit

# Stripe.js's documented needs (https://docs.stripe.com/security/guide#content-security-policy):
# its script and frames on js.stripe.com, 3-D Secure frames on hooks.stripe.com, calls to api.stripe.com.
STRIPE_ORIGINS = {
    "script": ["https://js.stripe.com"],
    "frame": ["https://js.stripe.com", "https://hooks.stripe.com"],
    "connect": ["https://api.stripe.com"],
}


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def shop_csp(*, stripe_js_url: str, images_base_url: str = "") -> str:
    """The policy for the shop's pages; a Stripe.js served elsewhere (localstripe) adds its origin."""
    script, frame, connect = (list(STRIPE_ORIGINS[kind]) for kind in ("script", "frame", "connect"))
    stripe_origin = _origin(stripe_js_url)
    if stripe_origin and stripe_origin not in script:
        # localstripe's shim: served from, and calling, its own server.
        script.append(stripe_origin)
        connect.append(stripe_origin)
    images = ["'self'", "data:", "https:"]
    image_origin = _origin(images_base_url)
    if image_origin and image_origin.startswith("http:"):
        images.append(image_origin)
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *script],
        "connect-src": ["'self'", *connect],
        "frame-src": frame,
        "img-src": images,
        # Stripe's Elements and 3-D Secure dialogs set inline styles.
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())
