"""Account endpoints: `POST /auth/register|confirm|login|refresh|logout` and `GET /me`.

The /auth/* views take no Authorization header into account (a stale token must not stop a
sign-in); they are throttled per client address like every other write.
"""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from accounts.authentication import bearer_token
from accounts.cookies import (
    ACCESS_COOKIE,
    REFRESH_COOKIE,
    session_cookies_delete,
    session_cookies_set,
    wants_cookies,
)
from accounts.errors import InvalidRefreshToken
from accounts.login_guard import client_address
from accounts.permissions import IsSignedIn
from accounts.services import (
    account_confirm,
    account_register,
    session_logout,
    session_refresh,
    session_start,
)
from cart.identity import cart_cookie_delete, guest_cart_id_from_request
from cloudcart.inputs import InputForm, validated
from cloudcart.openapi import BODY_ERRORS, CSRF_FAILED, THROTTLED, errors
from cloudcart.throttling import throttle_writes

_EMAIL = serializers.EmailField(max_length=254)
_PASSWORD = serializers.CharField(max_length=256, trim_whitespace=False, style={"input_type": "password"})


_TOKENS = inline_serializer(
    name="Tokens",
    fields={
        "access_token": serializers.CharField(help_text="Send as `Authorization: Bearer <access_token>`."),
        "id_token": serializers.CharField(),
        "refresh_token": serializers.CharField(
            required=False, help_text="For `POST /auth/refresh` and `/auth/logout` (sign-in only)."
        ),
        "expires_in": serializers.IntegerField(help_text="Seconds the access token stays valid."),
        "token_type": serializers.CharField(help_text="`Bearer`."),
    },
)
_TOKENS_EXAMPLE = {
    "access_token": "eyJraWQiOi...",
    "id_token": "eyJraWQiOi...",
    "refresh_token": "eyJjdHkiOi...",
    "expires_in": 3600,
    "token_type": "Bearer",
}
_REGISTRATION = inline_serializer(
    name="Registration",
    fields={
        "email": serializers.EmailField(),
        "confirmed": serializers.BooleanField(
            help_text="False: confirm with the e-mailed code (`POST /auth/confirm`) before signing in."
        ),
        "detail": serializers.CharField(),
    },
)
_ME = inline_serializer(
    name="Me",
    fields={
        "id": serializers.CharField(help_text="The account's id (Cognito `sub`)."),
        "email": serializers.EmailField(allow_null=True),
        "is_staff": serializers.BooleanField(),
    },
)
_SIGN_OUT = inline_serializer(
    name="SignOut",
    fields={"revoked": serializers.BooleanField(), "detail": serializers.CharField()},
)
_NOTHING_REVOKED = {
    "revoked": False,
    "detail": "Nothing was revoked: send a refresh token (or an access token) that is still valid. "
    "A session signed out already needs nothing more.",
}


def _in_a_page(request) -> bool:
    """The answer is rendered as the browsable API's HTML page (not JSON)."""
    renderer = getattr(request, "accepted_renderer", None)
    return getattr(renderer, "format", None) == "api"


def _tokens_answer(request, tokens) -> Response:
    """Tokens are never cached (`no-store` from `private_answers`, plus `Pragma: no-cache` for
    HTTP/1.0 caches, as OAuth 2.0 asks) and never written into an HTML page, where history,
    extensions or a shoulder could read them: the browsable API gets them as HttpOnly cookies."""
    if _in_a_page(request):
        body = {
            "detail": "Signed in: the tokens are in HttpOnly cookies, not shown here.",
            "expires_in": tokens.expires_in,
            "token_type": tokens.token_type,
        }
    else:
        body = tokens.as_dict()
    response = Response(body)
    response["Pragma"] = "no-cache"
    return response


_UNAUTHENTICATED = {401: errors(401, "not_authenticated", "invalid_token", "token_expired")}
_WRITE_ERRORS = {**BODY_ERRORS, **CSRF_FAILED, **THROTTLED}


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_register",
        tags=["accounts"],
        summary="Create an account (e-mail and password)",
        responses={
            202: _REGISTRATION,
            **_WRITE_ERRORS,
            400: errors(400, "invalid", "parse_error", "weak_password"),
        },
    )
)
@throttle_writes(scope="auth")
class RegisterView(InputForm, APIView):
    """Create an account. Passwords: at least 12 characters with upper and lower case, a digit and
    a symbol.

    Where the pool requires it (on AWS), Cognito e-mails a code: `POST /auth/confirm` it, then sign
    in. The answer is the same (202) whether the e-mail was new or has an account already (which
    keeps its password): nobody learns from it which e-mails have accounts.
    """

    authentication_classes = []

    class RegisterInput(serializers.Serializer):
        email = _EMAIL
        password = _PASSWORD

    input_serializer = RegisterInput

    def post(self, request):
        data = validated(self.RegisterInput, request.data)
        registration = account_register(email=data["email"], password=data["password"])
        detail = (
            "Registered: sign in."
            if registration.confirmed
            else "Confirm with the code sent by e-mail (`POST /auth/confirm`), then sign in."
        )
        return Response(
            {"email": registration.email, "confirmed": registration.confirmed, "detail": detail}, status=202
        )


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_confirm",
        tags=["accounts"],
        summary="Confirm an account with the code Cognito e-mailed",
        responses={
            200: inline_serializer(name="Confirmed", fields={"confirmed": serializers.BooleanField()}),
            **_WRITE_ERRORS,
            400: errors(400, "invalid", "parse_error", "code_mismatch"),
        },
    )
)
@throttle_writes(scope="auth")
class ConfirmView(InputForm, APIView):
    """Confirm a registration with the e-mailed code.

    A wrong or expired code, an unknown e-mail and an account confirmed already all answer the
    same `400 code_mismatch`.
    """

    authentication_classes = []

    class ConfirmInput(serializers.Serializer):
        email = _EMAIL
        code = serializers.RegexField(r"^[0-9A-Za-z]{1,16}\Z", max_length=16)

    input_serializer = ConfirmInput

    def post(self, request):
        data = validated(self.ConfirmInput, request.data)
        account_confirm(email=data["email"], code=data["code"])
        return Response({"confirmed": True})


@extend_schema_view(
    get=extend_schema(
        operation_id="auth_login_page",
        tags=["accounts"],
        summary="The sign-in page (for the browsable API); POST to sign in",
        responses={
            200: inline_serializer(
                name="SignInPage",
                fields={
                    "detail": serializers.CharField(),
                    "register": serializers.URLField(),
                    "logout": serializers.URLField(),
                },
            )
        },
    ),
    post=extend_schema(
        operation_id="auth_login",
        tags=["accounts"],
        summary="Sign in: access, id and refresh tokens",
        examples=[
            OpenApiExample(
                "Demo customer",
                value={"email": "customer@example.com", "password": "Customer-Passw0rd"},
                request_only=True,
            )
        ],
        responses={
            200: OpenApiResponse(_TOKENS, examples=[OpenApiExample("Tokens", value=_TOKENS_EXAMPLE)]),
            **_WRITE_ERRORS,
            401: errors(401, "invalid_credentials"),
            403: errors(403, "not_confirmed", "sign_in_challenge", "csrf_failed"),
            429: errors(429, "throttled"),
        },
    ),
)
@throttle_writes(scope="auth")
class LoginView(InputForm, APIView):
    """Sign in with e-mail and password. Send the access token as `Authorization: Bearer <token>`.

    A guest cart sent along (cookie `cart_id` or header `X-Cart-Id`) is merged into the account's
    cart, once. A few failures for one account, or from one address, make sign-in answer 429 for
    a while.
    """

    authentication_classes = []
    private_answers = True  # tokens: Cache-Control: private, no-store

    class LoginInput(serializers.Serializer):
        email = _EMAIL
        password = _PASSWORD

    input_serializer = LoginInput

    def get(self, request):
        """The browsable API's sign-in page: its form below posts here."""
        return Response(
            {
                "detail": "POST your e-mail and password. Browsers get the tokens as HttpOnly cookies "
                "too; API clients send `Authorization: Bearer <access_token>`.",
                "register": reverse("auth-register", request=request),
                "logout": reverse("auth-logout", request=request),
            }
        )

    def post(self, request):
        data = validated(self.LoginInput, request.data)
        guest_cart_id = guest_cart_id_from_request(request)
        tokens = session_start(
            email=data["email"],
            password=data["password"],
            address=client_address(request),
            guest_cart_id=guest_cart_id,
        )
        response = _tokens_answer(request, tokens)
        if guest_cart_id:
            cart_cookie_delete(response)  # merged into the account's cart
        if wants_cookies(request) or _in_a_page(request):
            session_cookies_set(
                response,
                access_token=tokens.access_token,
                expires_in=tokens.expires_in,
                refresh_token=tokens.refresh_token,
            )
        return response


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_refresh",
        tags=["accounts"],
        summary="New access and id tokens for a refresh token",
        responses={
            200: OpenApiResponse(_TOKENS, examples=[OpenApiExample("Tokens", value=_TOKENS_EXAMPLE)]),
            **_WRITE_ERRORS,
            401: errors(401, "invalid_refresh_token"),
        },
    )
)
@throttle_writes(scope="auth")
class RefreshView(InputForm, APIView):
    """Trade a refresh token (from sign-in) for new access and id tokens."""

    authentication_classes = []
    private_answers = True  # tokens: Cache-Control: private, no-store

    class RefreshInput(serializers.Serializer):
        refresh_token = serializers.CharField(
            max_length=4096, required=False, help_text="From sign-in (browsers: the cookie)."
        )

    input_serializer = RefreshInput

    def post(self, request):
        data = validated(self.RefreshInput, request.data)
        refresh_token = data.get("refresh_token") or request.COOKIES.get(REFRESH_COOKIE)
        if not refresh_token:
            raise InvalidRefreshToken("Send the `refresh_token` from sign-in.")
        tokens = session_refresh(refresh_token=refresh_token)
        response = _tokens_answer(request, tokens)
        if request.COOKIES.get(REFRESH_COOKIE) == refresh_token:
            session_cookies_set(
                response, access_token=tokens.access_token, expires_in=tokens.expires_in, refresh_token=None
            )
        return response


@extend_schema_view(
    post=extend_schema(
        operation_id="auth_logout",
        tags=["accounts"],
        summary="Sign out everywhere: revoke the account's refresh tokens",
        responses={
            204: OpenApiResponse(description="Signed out: every refresh token of the account is revoked."),
            200: OpenApiResponse(
                _SIGN_OUT,
                description="Nothing was revoked: no token Cognito accepts was sent (signed out already?).",
                examples=[OpenApiExample("Nothing revoked", value=_NOTHING_REVOKED)],
            ),
            **_WRITE_ERRORS,
            401: errors(401, "invalid_token"),
        },
    )
)
@throttle_writes(scope="auth")
class LogoutView(InputForm, APIView):
    """Sign out: every refresh token of the account is revoked (Cognito GlobalSignOut): 204.

    Send the refresh token in the body, or the access token as `Authorization: Bearer` (an
    expired access token is fine with a valid refresh token). When none of them is still valid,
    nothing can be revoked: 200 `{"revoked": false, ...}` says so. Access tokens already issued
    stay valid until they expire (they are verified without calling Cognito); clients drop them.
    """

    authentication_classes = []

    class LogoutInput(serializers.Serializer):
        refresh_token = serializers.CharField(max_length=4096, required=False)

    input_serializer = LogoutInput

    def post(self, request):
        data = validated(self.LogoutInput, request.data)
        revoked = session_logout(
            refresh_token=data.get("refresh_token") or request.COOKIES.get(REFRESH_COOKIE),
            access_token=bearer_token(request) or request.COOKIES.get(ACCESS_COOKIE),
        )
        response = Response(status=204) if revoked else Response(_NOTHING_REVOKED)
        session_cookies_delete(response)
        return response


@extend_schema_view(
    get=extend_schema(
        operation_id="me",
        tags=["accounts"],
        summary="The signed-in caller: id, e-mail and whether they are staff",
        responses={
            200: OpenApiResponse(
                _ME,
                examples=[
                    OpenApiExample(
                        "A customer",
                        value={"id": "c9243d55-b08d", "email": "a@example.com", "is_staff": False},
                    )
                ],
            ),
            **_UNAUTHENTICATED,
        },
    )
)
class MeView(APIView):
    """The signed-in caller (send `Authorization: Bearer <access token>`)."""

    private_answers = True  # one client's answer: Cache-Control: private, no-store

    permission_classes = [IsSignedIn]

    def get(self, request):
        user = request.user
        return Response({"id": user.id, "email": user.email, "is_staff": user.is_staff})
