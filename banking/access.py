"""Who sees which bank's files: the one rule every bank-file door (pages, downloads, uploads, tasks
started by a person) calls.

- A bank's staff (:class:`banking.models.BankStaff`) see their own bank only.
- Union staff see every bank only from the province: the files span the whole province, so a city or
  county user never sees them, even if given the permission by hand.
- Nobody else sees any. Within what one sees, downloading a file (full card numbers) and exchanging
  files (upload, export) need their own permissions."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from banking.models import BankFile, BankStaff
from members.models import PartnerBank
from portal.errors import NotFound, PermissionDenied

VIEW_PERMISSION = "banking.view_bankfile"
EXCHANGE_PERMISSION = "banking.exchange_bankfile"
DOWNLOAD_PERMISSION = "banking.download_bankfile"


def staff_bank_id(user) -> int | None:
    """The bank a user works for, or None (a user who is not a bank's staff)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return BankStaff.objects.filter(user_id=user.pk).values_list("bank_id", flat=True).first()


def banks_for_user(user) -> QuerySet[PartnerBank]:
    """The banks whose files, batches and card figures ``user`` may see (none for most users)."""
    none = PartnerBank.objects.none()
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return none
    if not user.has_perm(VIEW_PERMISSION):
        return none
    bank_id = staff_bank_id(user)
    if bank_id is not None:
        return PartnerBank.objects.filter(pk=bank_id)
    if user.is_superuser or (user.is_staff and user.union_id is not None and user.union.parent_id is None):
        return PartnerBank.objects.all()
    return none


def user_sees_bank(user, bank_id: int) -> bool:
    return banks_for_user(user).filter(pk=bank_id).exists()


def files_for_user(user) -> QuerySet[BankFile]:
    return BankFile.objects.filter(bank__in=banks_for_user(user))


def bank_file_for_user(user, file_id: int) -> BankFile:
    """A file the user may see; any other id is "not found", as an id that does not exist."""
    found = files_for_user(user).select_related("bank", "uploaded_by").filter(pk=file_id).first()
    if found is None:
        raise NotFound(_("该银行文件不存在或不在您的查看范围内。"))
    return found


def ensure_may_exchange(user, bank: PartnerBank) -> None:
    if not user_sees_bank(user, bank.pk) or not user.has_perm(EXCHANGE_PERMISSION):
        raise PermissionDenied(_("您没有与该银行交换文件的权限。"))


def may_download(user, bank_file: BankFile) -> bool:
    """The file holds full card numbers: its bank's staff (or staff seeing every bank) with the
    download permission only."""
    return user_sees_bank(user, bank_file.bank_id) and user.has_perm(DOWNLOAD_PERMISSION)


def ensure_may_download(user, bank_file: BankFile) -> None:
    if not may_download(user, bank_file):
        raise PermissionDenied(_("您没有下载银行文件（含完整卡号）的权限。"))
