"""Teams I belong to; adding members (owners and admins)."""

from __future__ import annotations

from uuid import UUID

from django.db.models import OuterRef, QuerySet, Subquery
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.serializers import DetailSerializer, MemberSerializer, TeamSerializer
from portal.access import get_team_for_user, teams_for_user
from portal.actor import Actor, Via
from portal.models import Membership, Role, Team
from portal.services.teams import membership_add, team_create

ERRORS = {400: DetailSerializer, 401: DetailSerializer, 403: DetailSerializer, 404: DetailSerializer}


class TeamListView(generics.ListCreateAPIView):
    serializer_class = TeamSerializer

    def get_queryset(self) -> QuerySet[Team]:
        role = Membership.objects.filter(team=OuterRef("pk"), user=self.request.user).values("role")[:1]
        return teams_for_user(self.request.user).annotate(role=Subquery(role)).order_by("name", "id")

    @extend_schema(operation_id="teams_list", summary="Teams I belong to, with my role",
                   responses={200: TeamSerializer(many=True), 400: DetailSerializer, 401: DetailSerializer,
                              404: DetailSerializer})
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="teams_create", summary="Create a team (I become its owner)",
                   responses={201: TeamSerializer, **ERRORS})
    def post(self, request: Request, *args, **kwargs) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        team = team_create(actor=Actor.from_request(request._request, via=Via.API),
                           name=serializer.validated_data["name"])
        team.role = Role.OWNER
        return Response(TeamSerializer(team).data, status=status.HTTP_201_CREATED)


class MemberAddView(APIView):
    @extend_schema(operation_id="teams_members_create", summary="Add a member (owners and admins)",
                   request=MemberSerializer, responses={201: MemberSerializer, **ERRORS})
    def post(self, request: Request, team_id: UUID) -> Response:
        team = get_team_for_user(request.user, team_id, manage=True)
        serializer = MemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = membership_add(
            actor=Actor.from_request(request._request, via=Via.API), team=team,
            identifier=serializer.validated_data["username"], role=serializer.validated_data["role"],
        )
        return Response({"username": membership.user.get_username(), "role": membership.role},
                        status=status.HTTP_201_CREATED)
