"""Response headers whitenoise adds to the shop's files (imported by settings: no Django imports here)."""


def shop_file_headers(headers, path: str, url: str) -> None:
    """index.html is never cached (a deploy must show at once); hashed assets are immutable anyway."""
    if url.endswith(".html"):
        headers["Cache-Control"] = "no-store"
