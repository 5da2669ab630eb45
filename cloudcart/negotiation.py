"""Content negotiation with a shortcut for the Accept headers API clients send.

Profiling the catalog GETs showed DRF's negotiation (parsing `Accept` into media types, ordering
them, matching each renderer) as the largest single cost of a cached answer. A missing `Accept`,
`*/*` or `application/json` always selects the JSON renderer; anything else (a browser asking for
HTML, a parameterised type) goes through DRF's full negotiation unchanged.
"""

from rest_framework.negotiation import DefaultContentNegotiation

_JSON = "application/json"
_SHORTCUT_ACCEPTS = frozenset({None, "*/*", _JSON})


class JSONFirstNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT")
        if (
            accept in _SHORTCUT_ACCEPTS
            and not format_suffix
            and not self.settings.URL_FORMAT_OVERRIDE
            and renderers
            and renderers[0].media_type == _JSON
        ):
            # What DRF's negotiation answers for these headers, without parsing them.
            return renderers[0], _JSON
        return super().select_renderer(request, renderers, format_suffix)
