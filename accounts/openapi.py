"""The OpenAPI security scheme of the Cognito access-token authentication (drf-spectacular)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class CognitoAccessTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.CognitoAccessTokenAuthentication"
    name = "cognitoAccessToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "A Cognito access token from `POST /auth/login` (browsers: the "
            "`access_token` cookie). Anonymous calls are allowed wherever no sign-in is required.",
        }


def postprocess_bearer_errors(result, generator, request, public):
    """Every operation that takes the token answers 401 to a bad one, whatever the endpoint."""
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            if not any("cognitoAccessToken" in requirement for requirement in operation.get("security", [])):
                continue
            operation.setdefault("responses", {}).setdefault(
                "401",
                {
                    "description": "`invalid_token`: the access token is malformed, forged, revoked or "
                    "not for this app. `token_expired`: refresh it or sign in again.",
                    "headers": {
                        "WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`"}
                    },
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            )
    return result
