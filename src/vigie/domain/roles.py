"""Roles. The full authority model (agréments, delegations, windows) is layered
on top of these by the access policy; this module only names them."""

from __future__ import annotations

METRO_ADMIN = "metro_admin"  # technical administrator; no image access by default
CMSU_OPERATOR = "cmsu_operator"
CMSU_SUPERVISOR = "cmsu_supervisor"
COMMUNE_AUTHORITY = "commune_authority"
COMMUNE_OPERATOR = "commune_operator"
MUNICIPAL_POLICE = "municipal_police"
NATIONAL_POLICE = "national_police"
REQUISITION_OFFICER = "requisition_officer"
AUDITOR = "auditor"
PROJECT_TEAM = "project_team"  # metropolitan project team: inventory, surveys, money

ALL_ROLES = (
    METRO_ADMIN,
    CMSU_OPERATOR,
    CMSU_SUPERVISOR,
    COMMUNE_AUTHORITY,
    COMMUNE_OPERATOR,
    MUNICIPAL_POLICE,
    NATIONAL_POLICE,
    REQUISITION_OFFICER,
    AUDITOR,
    PROJECT_TEAM,
)

# Roles that may be shown live images at all (the access policy narrows further).
IMAGE_ROLES = (
    CMSU_OPERATOR,
    CMSU_SUPERVISOR,
    COMMUNE_AUTHORITY,
    COMMUNE_OPERATOR,
    MUNICIPAL_POLICE,
    NATIONAL_POLICE,
)
CAMERA_ADMIN_ROLES = (METRO_ADMIN,)
