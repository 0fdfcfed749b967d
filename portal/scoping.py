"""Staff see and change only their own union's subtree.

Every staff-facing queryset (admin, API, pages, exports) goes through :func:`scope_queryset`; it adds one
``path LIKE '<staff union path>%'`` condition on the path of the union the rows belong to."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import Model, QuerySet

from portal.errors import PermissionDenied


def union_model() -> type[Model]:
    """The model of the union tree, as the staff user's ``union`` field names it: the one place the
    project package knows which app holds the tree, without importing that app."""
    return get_user_model()._meta.get_field("union").related_model


def staff_union_path(user) -> str | None:
    """The path prefix a staff user may see; '' means everything (superuser); None means nothing."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if user.is_superuser:
        return ""
    if not user.is_staff or user.union_id is None:
        return None
    return user.union.path


def scope_queryset(queryset: QuerySet, user, union_path_field: str) -> QuerySet:
    """Restrict ``queryset`` to rows whose union (reached by ``union_path_field``, e.g.
    ``"union__path"`` or ``"member__union__path"``) lies in the user's subtree."""
    prefix = staff_union_path(user)
    if prefix is None:
        return queryset.none()
    if prefix == "":
        return queryset
    return queryset.filter(**{f"{union_path_field}__startswith": prefix})


def user_can_reach_union(user, union) -> bool:
    prefix = staff_union_path(user)
    return prefix is not None and union is not None and union.path.startswith(prefix)


def ensure_union_in_scope(user, union) -> None:
    if not user_can_reach_union(user, union):
        raise PermissionDenied("该工会不在您的管理范围内。")
