"""Dependencies shared by the admin routes: who manages, whose commune, what time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from vigie.admin.survey import communes_of
from vigie.base.clock import paris_today
from vigie.base.errors import PermissionDenied
from vigie.base.i18n import t
from vigie.control.deps import Principal, get_clock, require_roles
from vigie.domain import roles

MANAGER_ROLES = (roles.PROJECT_TEAM, roles.METRO_ADMIN)
Manager = Annotated[Principal, Depends(require_roles(*MANAGER_ROLES))]
MANAGER_OR_COMMUNE_ROLES = (*MANAGER_ROLES, roles.COMMUNE_AUTHORITY)
ManagerOrCommune = Annotated[Principal, Depends(require_roles(*MANAGER_OR_COMMUNE_ROLES))]
CommuneAuthority = Annotated[Principal, Depends(require_roles(roles.COMMUNE_AUTHORITY))]


def now(request: Request) -> datetime:
    """The current instant, by the application's clock."""
    return get_clock(request).now()


def today(request: Request) -> date:
    """Today's Europe/Paris calendar day, by the application's clock."""
    return paris_today(get_clock(request))


def check_commune(db: Session, principal: Principal, commune: str) -> None:
    """Managers see every commune; a commune authority only those of its account."""
    if principal.role in MANAGER_ROLES:
        return
    if commune not in communes_of(db=db, account_id=principal.account_id):
        raise PermissionDenied(t("admin.survey.not_your_commune"))
