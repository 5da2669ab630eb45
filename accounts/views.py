"""Account endpoints: `GET /me` (and the /auth/* sign-in flow)."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import IsSignedIn
from cloudcart.openapi import errors

_ME = inline_serializer(
    name="Me",
    fields={
        "id": serializers.CharField(help_text="The account's id (Cognito `sub`)."),
        "email": serializers.EmailField(allow_null=True),
        "is_staff": serializers.BooleanField(),
    },
)
_UNAUTHENTICATED = {401: errors(401, "not_authenticated", "invalid_token", "token_expired")}


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
                        value={
                            "id": "c9243d55-b08d-4801-8ba0-80470952d9a8",
                            "email": "a@example.com",
                            "is_staff": False,
                        },
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
