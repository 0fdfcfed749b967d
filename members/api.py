"""Member app API: sign-in with a one-time code, sign-out and the member's signed-in devices, the
member's own data, the QR card token, and the member's inbox (``/api/v1/me/notifications/…``: the
notices are the notifications app's).

Longer than most modules because each operation carries its schema here (codes per status,
examples), as in discounts.api.pos: the contract is read next to the code that keeps it."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from members import api_examples as examples
from members import applications, cards, people, selectors, sign_in, transfers
from members.auth import IsMember, MemberSessionAuthentication, MemberTokenAuthentication, member_sign_out
from members.models import Card, CardApplication, Member, MemberApiToken, PartnerBank
from members.qr import card_codes
from members.sessions import member_session_end, member_sessions
from members.views import client_ip
from notifications import selectors as notification_selectors
from notifications import services as notification_services
from notifications.recipients import Recipient
from notifications.serializers import NotificationSerializer
from portal.api import PAGE_PARAMETERS, Pagination
from portal.errors import NotFound, ValidationFailed


class MemberTokenScheme(OpenApiAuthenticationExtension):
    target_class = "members.auth.MemberTokenAuthentication"
    name = "memberToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "Token from /api/v1/auth/otp/verify/"}


class MemberSessionScheme(OpenApiAuthenticationExtension):
    target_class = "members.auth.MemberSessionAuthentication"
    name = "memberSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME}


ERROR = inline_serializer(
    "MemberError",
    fields={
        "error": inline_serializer(
            "MemberErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(required=False),
            },
        )
    },
)


class OtpRequestInput(serializers.Serializer):
    phone = serializers.CharField(max_length=20)


class OtpRequestOutput(serializers.Serializer):
    detail = serializers.CharField()
    expires_in = serializers.IntegerField()


class OtpVerifyInput(serializers.Serializer):
    phone = serializers.CharField(max_length=20)
    code = serializers.CharField(max_length=6)


class TokenOutput(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()


class UnionOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()


class CardOutput(serializers.Serializer):
    number_masked = serializers.CharField()
    status = serializers.CharField(help_text="issued | active | frozen | replaced | cancelled")
    bank = serializers.CharField(source="bank.name")
    issued_at = serializers.DateTimeField()
    activated_at = serializers.DateTimeField(allow_null=True)


class MeOutput(serializers.Serializer):
    name_masked = serializers.CharField()
    phone_masked = serializers.SerializerMethodField()
    id_number_masked = serializers.CharField()
    status = serializers.CharField(help_text="active | transferred | retired | left")
    groups = serializers.ListField(child=serializers.CharField())
    union = UnionOutput()
    consent_at = serializers.DateTimeField(allow_null=True)
    card = serializers.SerializerMethodField()

    def get_phone_masked(self, member: Member) -> str:
        return f"{member.phone[:3]}****{member.phone[-4:]}"

    @extend_schema_field(CardOutput(allow_null=True))
    def get_card(self, member: Member):
        card = self.context.get("card")
        return CardOutput(card).data if card is not None else None


class CardTokenOutput(serializers.Serializer):
    token = serializers.CharField()
    expires_in = serializers.IntegerField()
    card_number_masked = serializers.CharField()
    qr_svg = serializers.CharField(help_text="The token as a QR code (SVG markup).")
    short_code = serializers.CharField(
        help_text="12 digits naming the card for the token's window; a till accepts it as member_token."
    )
    short_code_display = serializers.CharField(help_text="The short code in groups of four, for the eye.")
    barcode_svg = serializers.CharField(help_text="The short code as a Code 128 barcode (SVG markup).")


class _MemberView(APIView):
    authentication_classes = [MemberTokenAuthentication, MemberSessionAuthentication]
    permission_classes = [IsMember]

    def recipient(self) -> Recipient:
        return Recipient.member(self.request.user.pk)


class OtpRequestView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="member_otp_request",
        examples=examples.OTP_REQUEST,
        tags=["member"],
        request=OtpRequestInput,
        responses={200: OtpRequestOutput, 400: ERROR, 429: ERROR},
        summary="Send a sign-in code by SMS",
        description="The answer is the same whether or not the phone belongs to a member. "
        "Limited per IP address per hour, and per phone by a resend interval that grows from 60 s "
        "(429 rate_limited, the message says how many seconds to wait).",
    )
    def post(self, request):
        data = OtpRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        sign_in.otp_request(phone=data.validated_data["phone"], ip_address=client_ip(request))
        body = {
            "detail": _("如该手机号已登记为会员，验证码已发送。"),
            "expires_in": int(settings.OTP_TTL.total_seconds()),
        }
        return Response(OtpRequestOutput(body).data)


class OtpVerifyView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="member_otp_verify",
        examples=examples.OTP_VERIFY,
        tags=["member"],
        request=OtpVerifyInput,
        responses={200: TokenOutput, 400: ERROR, 404: ERROR, 429: ERROR},
        summary="Exchange a sign-in code for a bearer token",
        description="Use the token as `Authorization: Bearer <token>`. After too many wrong codes the "
        "code is locked (429 otp_locked) and a new one must be requested; an IP address with too many "
        "wrong codes is refused for an hour (429 rate_limited).",
    )
    def post(self, request):
        data = OtpVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        member = sign_in.otp_verify(
            phone=data.validated_data["phone"],
            code=data.validated_data["code"],
            ip_address=client_ip(request),
        )
        token, expires_at = sign_in.member_api_token_issue(member=member)
        return Response(TokenOutput({"token": token, "expires_at": expires_at}).data)


class MeView(_MemberView):
    @extend_schema(
        operation_id="member_me",
        examples=examples.ME_ANSWER,
        tags=["member"],
        responses={200: MeOutput, 401: ERROR},
        summary="The signed-in member, masked",
    )
    def get(self, request):
        member = request.user
        card = selectors.member_live_card(member)
        return Response(MeOutput(member, context={"card": card}).data)


class ConsentView(_MemberView):
    @extend_schema(
        operation_id="member_consent",
        examples=examples.ME_ANSWER,
        tags=["member"],
        request=None,
        responses={200: MeOutput, 401: ERROR},
        summary="Record consent to the personal-information rules",
    )
    def post(self, request):
        member = people.member_record_consent(member=request.user)
        card = selectors.member_live_card(member)
        return Response(MeOutput(member, context={"card": card}).data)


class CardTokenView(_MemberView):
    @extend_schema(
        operation_id="member_card_token",
        examples=examples.CARD_TOKEN,
        tags=["member"],
        responses={
            200: CardTokenOutput,
            401: ERROR,
            404: OpenApiResponse(ERROR, description="card_not_found: the member has no live card"),
            409: OpenApiResponse(ERROR, description="card_inactive: the card is not activated or is frozen"),
        },
        summary="A short-lived token for the card's QR code",
        description=(
            "The token and the short code are valid for CARD_TOKEN_TTL_SECONDS (90 s); fetch new ones "
            "every 60 s."
        ),
    )
    def get(self, request):
        card = selectors.member_live_card(request.user)
        if card is None:
            raise cards.CardNotFound()
        if card.status != Card.Status.ACTIVE:
            raise cards.CardInactive(
                "会员卡尚未激活，请先激活。"
                if card.status == Card.Status.ISSUED
                else "会员卡已挂失，暂停使用。"
            )
        codes = card_codes(card.pk)
        body = {
            "token": codes.token,
            "expires_in": settings.CARD_TOKEN_TTL_SECONDS,
            "card_number_masked": card.number_masked,
            "qr_svg": codes.qr_svg,
            "short_code": codes.short_code,
            "short_code_display": codes.short_code_display,
            "barcode_svg": codes.barcode_svg,
        }
        response = Response(CardTokenOutput(body).data, status=status.HTTP_200_OK)
        response["Cache-Control"] = "no-store"
        return response


# --- The member's inbox ---------------------------------------------------------------------------------

NOTIFICATION_ERROR = inline_serializer(
    "NotificationError",
    fields={
        "error": inline_serializer(
            "NotificationErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(required=False),
            },
        )
    },
)
INBOX_UNAUTHENTICATED = OpenApiResponse(
    NOTIFICATION_ERROR, description="unauthenticated: no member signed in"
)
INBOX_NOT_FOUND = OpenApiResponse(
    NOTIFICATION_ERROR, description="not_found: no such notification of this member"
)


class NotificationPageSerializer(serializers.Serializer):
    """One page of the inbox with the unread count: the page itself is the answer (a plain view, so
    the schema does not wrap it in a second page)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    unread_count = serializers.IntegerField()
    results = NotificationSerializer(many=True)


class NotificationListView(_MemberView):
    @extend_schema(
        operation_id="me_notifications_list",
        tags=["member"],
        summary="The signed-in member's notifications, unread first",
        parameters=[
            *PAGE_PARAMETERS,
        ],
        responses={200: NotificationPageSerializer, 401: INBOX_UNAUTHENTICATED},
        examples=examples.NOTIFICATIONS,
    )
    def get(self, request):
        recipient = self.recipient()
        paginator = Pagination()
        inbox = notification_selectors.inbox(recipient=recipient)
        page = paginator.paginate_queryset(inbox, request, view=self)
        response = paginator.get_paginated_response(NotificationSerializer(page, many=True).data)
        response.data["unread_count"] = notification_selectors.unread_count(recipient=recipient)
        return response


class NotificationReadView(_MemberView):
    @extend_schema(
        operation_id="me_notification_read",
        examples=examples.NOTIFICATION_READ,
        tags=["member"],
        summary="Mark one notification read",
        description="Marking a notification that is already read keeps its first reading time.",
        request=None,
        responses={200: NotificationSerializer, 401: INBOX_UNAUTHENTICATED, 404: INBOX_NOT_FOUND},
    )
    def post(self, request, notification_id: int):
        notice = notification_services.notification_mark_read(
            recipient=self.recipient(), notification_id=notification_id
        )
        return Response(NotificationSerializer(notice).data)


class NotificationReadAllView(_MemberView):
    @extend_schema(
        operation_id="me_notifications_read_all",
        examples=examples.NOTIFICATIONS_READ_ALL,
        tags=["member"],
        summary="Mark every notification read",
        request=None,
        responses={
            200: inline_serializer("NotificationsMarked", {"marked": serializers.IntegerField()}),
            401: INBOX_UNAUTHENTICATED,
        },
    )
    def post(self, request):
        marked = notification_services.notification_mark_all_read(recipient=self.recipient())
        return Response({"marked": marked})


# --- The member's own journeys: card application, transfer request, undoing a lost-card report ---------


class BankOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CardApplicationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    bank = BankOutput()
    status = serializers.CharField(help_text="pending | approved | batched | refused | withdrawn")
    reason = serializers.CharField(help_text="Why it was refused (empty otherwise).")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class CardApplicationInput(serializers.Serializer):
    bank = serializers.IntegerField(min_value=1, max_value=2**31 - 1, help_text="A partner bank's id.")


class TransferRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    to_union = UnionOutput()
    note = serializers.CharField()
    status = serializers.CharField(help_text="pending | accepted | refused | withdrawn")
    reason = serializers.CharField(help_text="Why it was refused (empty otherwise).")
    created_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class TransferRequestInput(serializers.Serializer):
    to_union = serializers.CharField(max_length=32, help_text="The code of the new workplace union.")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


def _refusal(description: str) -> OpenApiResponse:
    return OpenApiResponse(ERROR, description=description)


class CardApplicationsView(_MemberView):
    @extend_schema(
        operation_id="me_card_applications_list",
        examples=examples.APPLICATIONS,
        tags=["member"],
        summary="The signed-in member's card applications, newest first",
        responses={200: CardApplicationOutput(many=True), 401: ERROR},
    )
    def get(self, request):
        rows = (
            CardApplication.objects.select_related("bank").filter(member=request.user).order_by("-created_at")
        )
        return Response(CardApplicationOutput(rows[:20], many=True).data)

    @extend_schema(
        operation_id="me_card_application_create",
        examples=examples.APPLICATION_CREATE,
        tags=["member"],
        summary="Apply for a card with the chosen partner bank",
        description="The member's workplace union approves or refuses it; approved applications join "
        "the next issuance batch.",
        request=CardApplicationInput,
        responses={
            201: CardApplicationOutput,
            400: _refusal("validation_error: no such bank, or the bank no longer issues cards"),
            401: ERROR,
            409: _refusal(
                "application_exists: an application is in progress; card_exists: the member has a "
                "live card; member_inactive: only active members may apply"
            ),
        },
    )
    def post(self, request):
        data = CardApplicationInput(data=request.data)
        data.is_valid(raise_exception=True)
        bank = PartnerBank.objects.filter(pk=data.validated_data["bank"]).first()
        if bank is None:
            message = _("请选择制卡银行。")
            raise ValidationFailed(message, fields={"bank": [message]})
        application = applications.card_application_submit(member=request.user, bank=bank)
        return Response(CardApplicationOutput(application).data, status=status.HTTP_201_CREATED)


class TransferRequestsView(_MemberView):
    @extend_schema(
        operation_id="me_transfer_requests_list",
        examples=examples.TRANSFERS,
        tags=["member"],
        summary="The signed-in member's latest transfer requests",
        responses={200: TransferRequestOutput(many=True), 401: ERROR},
    )
    def get(self, request):
        return Response(
            TransferRequestOutput(selectors.member_transfer_requests(request.user), many=True).data
        )

    @extend_schema(
        operation_id="me_transfer_request_create",
        examples=examples.TRANSFER_CREATE,
        tags=["member"],
        summary="Ask to move to another workplace union",
        description="The receiving union accepts or refuses; the card stays the member's.",
        request=TransferRequestInput,
        responses={
            201: TransferRequestOutput,
            400: _refusal("validation_error: no such workplace union, or it is the member's own"),
            401: ERROR,
            409: _refusal("transfer_pending: a request awaits acceptance; member_inactive"),
        },
    )
    def post(self, request):
        data = TransferRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        to_union = transfers.transfer_destination(data.validated_data["to_union"])
        made = transfers.transfer_request_submit(
            member=request.user, to_union=to_union, note=data.validated_data["note"]
        )
        return Response(TransferRequestOutput(made).data, status=status.HTTP_201_CREATED)


class CardUndoLostView(_MemberView):
    @extend_schema(
        operation_id="me_card_undo_lost",
        examples=examples.UNDO_LOST,
        tags=["member"],
        summary="Undo the lost-card report of the member's card (解除挂失), within 7 days",
        request=None,
        responses={
            200: CardOutput,
            401: ERROR,
            404: _refusal("card_not_found: the member has no live card"),
            409: _refusal(
                "lost_report_too_old: reported more than 7 days ago, ask for a replacement; "
                "card_transition_refused: the card is not reported lost"
            ),
        },
    )
    def post(self, request):
        card = selectors.member_live_card(request.user)
        if card is None:
            raise cards.CardNotFound()
        card = cards.card_undo_lost(card=card, actor=request.user)
        return Response(CardOutput(card).data)


# --- Sign-out and the member's signed-in devices ---------------------------------------------------


class SessionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField(help_text="登录时间")
    expires_at = serializers.DateTimeField(help_text="到期时间")
    current = serializers.BooleanField(help_text="是否为本次请求使用的登录")


def _session_answer(request, token: MemberApiToken) -> dict:
    current = isinstance(request.auth, MemberApiToken) and request.auth.pk == token.pk
    return {
        "id": token.pk,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "current": current,
    }


class SignOutView(_MemberView):
    @extend_schema(
        operation_id="member_sign_out",
        tags=["member"],
        request=None,
        responses={204: None, 401: ERROR},
        summary="Sign out: the bearer token in use stops working at once",
        examples=[
            OpenApiExample(
                "Not signed in",
                response_only=True,
                status_codes=["401"],
                value={"error": {"code": "unauthenticated", "message": "登录已失效，请重新登录。"}},
            )
        ],
        description="With a bearer token, revokes it; with the page session, ends the session.",
    )
    def post(self, request):
        if isinstance(request.auth, MemberApiToken):
            member_session_end(member=request.user, token_id=request.auth.pk)
        else:
            member_sign_out(request._request)
        return Response(status=204)


class SessionListView(_MemberView):
    @extend_schema(
        operation_id="member_sessions_list",
        tags=["member"],
        responses={200: SessionOutput(many=True), 401: ERROR},
        summary="The member's signed-in devices (live bearer tokens), newest first",
        examples=[
            OpenApiExample(
                "This phone",
                response_only=True,
                # One item: the schema shows it as the list's element.
                value={
                    "id": 88,
                    "created_at": "2026-12-06T09:00:00+08:00",
                    "expires_at": "2027-01-05T09:00:00+08:00",
                    "current": True,
                },
            )
        ],
    )
    def get(self, request):
        sessions = [_session_answer(request, token) for token in member_sessions(request.user)]
        return Response(SessionOutput(sessions, many=True).data)


class SessionEndView(_MemberView):
    @extend_schema(
        operation_id="member_session_end",
        tags=["member"],
        request=None,
        parameters=[
            OpenApiParameter("session_id", {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}, "path")
        ],
        responses={204: None, 401: ERROR, 404: ERROR},
        summary="End one of the member's sessions (sign a lost phone out)",
        examples=[
            OpenApiExample(
                "Not this member's",
                response_only=True,
                status_codes=["404"],
                value={"error": {"code": "session_not_found", "message": "未找到该登录设备。"}},
            )
        ],
    )
    def post(self, request, session_id: int):
        if session_id > 2**63 - 1:
            raise NotFound(_("未找到该登录设备。"), code="session_not_found")
        member_session_end(member=request.user, token_id=session_id)
        return Response(status=204)
