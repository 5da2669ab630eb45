"""The default JSON parser: strict UTF-8, bounded nesting, a 400 (never a 500) for hostile bodies."""

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json as drf_json

# Our largest legitimate body (checkout: {"items": [{"id", "qty"}]}) is 3 levels deep.
MAX_JSON_DEPTH = 16


def json_depth(value) -> int:
    """Nesting depth of a parsed JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


class StrictJSONParser(JSONParser):
    """JSON bodies must be UTF-8 (RFC 8259 §8.1), nest at most MAX_JSON_DEPTH, and use no NaN/Infinity."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ParseError("The body is not valid UTF-8.") from exc
        try:
            data = json.loads(text, parse_constant=drf_json.strict_constant)
        except RecursionError as exc:
            # CPython's decoder recurses per nesting level: a deep body must not become a 500.
            raise ParseError("The JSON body is nested too deeply.") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels.")
        return data
