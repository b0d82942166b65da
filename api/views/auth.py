"""POST /api/v1/auth/token/: trade a username and password for a new token."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.exceptions import BadRequest
from api.serializers import DetailSerializer, LoginSerializer, TokenSerializer
from api.services import token_create
from api.throttling import TokenCreateThrottle
from portal.actor import Actor, Via

LOGIN_LABEL = "API login"


class TokenCreateView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenCreateThrottle]

    @extend_schema(
        operation_id="auth_token_create",
        summary="Create an API token",
        description=(
            "Checks the username and password and returns a new token named "
            f'"{LOGIN_LABEL}". The key is shown only once; see and revoke tokens on the '
            "Settings → API tokens page. Rate-limited: "
            f"{settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['api_token']} per client address (429), and "
            f"{settings.AXES_FAILURE_LIMIT} wrong passwords for one user from one address lock that sign-in for "
            f"{int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)} minutes (429), as do "
            f"{settings.LOGIN_ADDRESS_FAILURE_LIMIT} wrong passwords from one address for any users."
        ),
        request=LoginSerializer,
        responses={200: TokenSerializer, 400: DetailSerializer, 429: DetailSerializer},
        auth=[],
    )
    def post(self, request: Request) -> Response:
        serializer = LoginSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = authenticate(request._request, username=serializer.validated_data["username"],
                            password=serializer.validated_data["password"])
        if user is None:
            raise BadRequest(_("Unable to log in with the provided username and password."))
        _token, key = token_create(actor=Actor.of(user, via=Via.API), user=user, name=LOGIN_LABEL)
        return Response({"token": key}, status=status.HTTP_200_OK)
