"""Deliveries as each tool documents them, signed as each tool signs them (written here
independently of leadscore's own checks, from the vendors' pages cited on each builder).
Facts carry over from the docs: field names, shapes, header names and signing schemes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.sources.webhooks.conftest import SECRETS


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)


def calendly_event(event: str = "invitee.created", email: str = "jane@example.com") -> dict:
    """Calendly's invitee webhook payload (API v2): `event`, `created_at`, `created_by` and
    the invitee as `payload` with `email`, `uri`, `scheduled_event` {name, start_time, uri},
    `tracking` — https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures
    and the invitee payload documented at https://docs.morf.health/events/payloads/calendly/invitee
    (Calendly's invitee resource)."""
    payload = {
        "cancel_url": "https://calendly.com/cancellations/AAAAAAAAAAAAAAAA",
        "created_at": "2026-12-01T09:00:00.000000Z",
        "email": email,
        "event": "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2",
        "first_name": "Jane",
        "last_name": "Doe",
        "name": "Jane Doe",
        "new_invitee": None,
        "old_invitee": None,
        "questions_and_answers": [
            {"answer": "Pricing for 50 seats", "position": 0, "question": "What is it about?"}
        ],
        "reschedule_url": "https://calendly.com/reschedulings/AAAAAAAAAAAAAAAA",
        "rescheduled": False,
        "scheduled_event": {
            "uri": "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2",
            "name": "30 Minute Demo",
            "status": "active",
            "start_time": "2026-12-10T15:00:00.000000Z",
            "end_time": "2026-12-10T15:30:00.000000Z",
            "event_type": "https://api.calendly.com/event_types/GBGBDCAADAEDCRZ2",
        },
        "status": "active" if event == "invitee.created" else "canceled",
        "timezone": "Europe/Berlin",
        "tracking": {"utm_campaign": "q4-demo", "utm_source": "linkedin", "utm_medium": None},
        "uri": "https://api.calendly.com/scheduled_events/GBGBDCAADAEDCRZ2/invitees/AAAAAAAAAAAAAAAA",
    }
    if event == "invitee.canceled":
        payload["cancellation"] = {
            "canceled_by": "Jane Doe",
            "reason": "Schedule conflict",
            "canceler_type": "invitee",
        }
    return {
        "created_at": "2026-12-01T09:00:05.000000Z",
        "created_by": "https://api.calendly.com/users/AAAAAAAAAAAAAAAA",
        "event": event,
        "payload": payload,
    }


def calendly(
    data: dict | bytes, key: str = SECRETS["CALENDLY_SIGNING_KEY"], at: int | None = None
) -> Delivery:
    """Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    stamp = str(int(time.time()) if at is None else at)
    mac = hmac.new(key.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return Delivery(
        body,
        {"Calendly-Webhook-Signature": f"t={stamp},v1={mac}", "Content-Type": "application/json"},
    )


def intercom_event(email: str = "lena@example.com") -> dict:
    """An Intercom notification (`type: notification_event`, `topic`, `data.item`, `id`,
    `created_at`) for conversation.user.created, whose item is a Conversation with its
    `source.author` — https://developers.intercom.com/docs/references/2.5/webhooks/webhook-models"""
    return {
        "type": "notification_event",
        "app_id": "ebvbn7lg",
        "data": {
            "type": "notification_event_data",
            "item": {
                "type": "conversation",
                "id": "147",
                "created_at": 1764579600,
                "updated_at": 1764579600,
                "source": {
                    "type": "conversation",
                    "id": "403918330",
                    "delivered_as": "customer_initiated",
                    "subject": "",
                    "body": "<p>Hi, can I get a demo for my team?</p>",
                    "author": {
                        "type": "lead",
                        "id": "5d6e4f1",
                        "name": "Lena Berg",
                        "email": email,
                    },
                    "url": "https://example.com/pricing",
                },
                "state": "open",
            },
        },
        "links": {},
        "id": "notif_4e3504a3-ba3f-46dc-ab48-8e4d5bdfdf4e",
        "topic": "conversation.user.created",
        "delivery_status": "pending",
        "delivery_attempts": 1,
        "delivered_at": 0,
        "first_sent_at": 1764579601,
        "created_at": 1764579601,
        "self": None,
    }


def intercom(data: dict | bytes, secret: str = SECRETS["INTERCOM_CLIENT_SECRET"]) -> Delivery:
    """X-Hub-Signature: sha1=<hex HMAC-SHA1 of the body with the app's client secret>
    (Intercom's webhooks page: https://developers.intercom.com/docs/webhooks)."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    mac = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return Delivery(body, {"X-Hub-Signature": f"sha1={mac}", "Content-Type": "application/json"})


def mailchimp_fields(
    kind: str = "subscribe", email: str = "api@mailchimp.com"
) -> list[tuple[str, str]]:
    """Mailchimp's form-encoded subscribe/unsubscribe POST: type, fired_at and data[...]
    (data[email], data[list_id], data[merges][FNAME]…) —
    https://mailchimp.com/developer/marketing/guides/sync-audience-data-webhooks/"""
    fields = [
        ("type", kind),
        ("fired_at", "2026-12-01 21:35:57"),
        ("data[id]", "8a25ff1d98"),
        ("data[list_id]", "a6b5da1054"),
        ("data[email]", email),
        ("data[email_type]", "html"),
        ("data[merges][EMAIL]", email),
        ("data[merges][FNAME]", "Mailchimp"),
        ("data[merges][LNAME]", "API"),
        ("data[merges][INTERESTS]", "Group1,Group2"),
        ("data[ip_opt]", "10.20.10.30"),
    ]
    if kind == "unsubscribe":
        fields += [
            ("data[action]", "unsub"),
            ("data[reason]", "manual"),
            ("data[campaign_id]", "cb398d21d2"),
        ]
    return fields


def mailchimp(
    fields: list[tuple[str, str]] | bytes, secret: str = SECRETS["MAILCHIMP_WEBHOOK_SECRET"]
) -> Delivery:
    """Mailchimp does not sign: the secret is a query parameter of the URL pasted into it."""
    body = fields if isinstance(fields, bytes) else urlencode(fields).encode()
    return Delivery(body, {"Content-Type": "application/x-www-form-urlencoded"}, {"secret": secret})


def sendgrid_events(email: str = "example@test.com") -> list[dict]:
    """SendGrid's Event Webhook body: a JSON array of events with `email`, `timestamp`,
    `event`, `sg_event_id`, `sg_message_id` (and `url` on a click) —
    https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event"""
    common = {
        "email": email,
        "timestamp": 1764579600,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "category": "cat facts",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    }
    return [
        {**common, "event": "processed", "sg_event_id": "rbtnWrG1DVDGGGFHFyun0A=="},
        {
            **common,
            "event": "open",
            "sg_event_id": "FOTFFO0ecsBE-zxFXfs6WA==",
            "useragent": "Mozilla/4.0",
            "ip": "255.255.255.255",
        },
        {
            **common,
            "event": "click",
            "sg_event_id": "kCAi1KttyQdEKHhdC-nuEA==",
            "url": "https://example.com/pricing",
            "url_offset": {"index": 0, "type": "html"},
        },
    ]


class SendGridKeys:
    """SendGrid's Signed Event Webhook: an ECDSA P-256 key pair; the public key is shown as
    base64 DER, the signature is base64 DER of SHA-256 ECDSA over timestamp + body —
    https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features"""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public = base64.b64encode(der).decode()

    def sign(self, data: list | bytes, at: int | None = None) -> Delivery:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
        stamp = str(int(time.time()) if at is None else at)
        signature = self.private.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return Delivery(
            body,
            {
                "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
                "Content-Type": "application/json",
            },
        )


def brevo_event(event: str = "opened", email: str = "example@example.com") -> dict:
    """A Brevo transactional e-mail webhook: `event`, `email`, `id` (the webhook's), `date`,
    `ts`, `message-id`, `ts_event`, `subject`, `tags`… —
    https://developers.brevo.com/docs/transactional-webhooks"""
    out = {
        "event": event,
        "email": email,
        "id": 1,
        "date": "2026-12-01 10:20:54",
        "ts": 1764580854,
        "message-id": "<202612010920.12345678@smtp-relay.mailin.fr>",
        "ts_event": 1764580854,
        "subject": "Your trial ends soon",
        "tag": '["trial"]',
        "sending_ip": "185.41.28.109",
        "ts_epoch": 1764580854000,
        "template_id": 22,
        "tags": ["trial"],
    }
    if event == "click":
        out["link"] = "https://example.com/pricing"
    return out


def brevo(data: dict | bytes, token: str = SECRETS["BREVO_WEBHOOK_TOKEN"]) -> Delivery:
    """Brevo does not sign: a webhook created with auth {type: bearer} sends the token."""
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    return Delivery(body, {"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
