"""Ad-platform lead forms (§8): Meta, LinkedIn, Google Ads and TikTok — their section of
the sources file and the pure parsing of what each platform delivers (docs/sources.md).

Every platform ends the same way: a lead (`Answers`: the platform's lead id, the form, the
answers keyed by the platform's question keys, the campaign/ad ids it gives) mapped through
the platform's default field map, the platform's `fields:` and the form's own `fields:` into
one `Submission` of type `form_submitted` whose event id is `<platform>:<lead id>`, so that a
replayed delivery is a duplicate. Signature checks are pure functions of the raw body and a
secret (`hmac.compare_digest`); fetching (Meta's Graph API, LinkedIn's REST API) is done by
the adapters in leadscore.sources.

Vendor documentation each parser follows:
- Meta: https://developers.facebook.com/docs/graph-api/webhooks/getting-started (handshake,
  X-Hub-Signature-256), https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving
  (the `leadgen` change, `field_data`, `custom_disclaimer_responses`).
- LinkedIn: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/webhook-validation
  (challengeCode/challengeResponse, X-LI-Signature),
  https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync (lead notifications,
  leadFormResponses, leadForms).
- Google Ads: https://developers.google.com/google-ads/webhook/docs/implementation (WebhookLead:
  lead_id, user_column_data, google_key, is_test, gcl_id, campaign/adgroup/creative ids).
- TikTok: https://developers.tiktok.com/doc/webhooks-events (the envelope: client_key, event,
  create_time, user_openid, `content` as serialized JSON) and
  https://developers.tiktok.com/doc/webhooks-verification (TikTok-Signature `t=…,s=…`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, StringConstraints

from leadscore.core.model import Strict
from leadscore.core.submissions import (
    FieldMapError,
    Submission,
    SubmittedConsent,
    apply_fields,
    check_target,
)

PLATFORMS = ("meta", "linkedin", "google", "tiktok")
EVENT_TYPE = "form_submitted"

DEFAULT_FIELDS: dict[str, dict[str, str]] = {
    # Meta's standard questions (field_data[].name of the prefilled questions)
    "meta": {
        "email": "email",
        "work_email": "email",
        "first_name": "first_name",
        "last_name": "last_name",
        "full_name": "name",
        "company_name": "company",
        "job_title": "job_title",
        "phone_number": "phone",
        "work_phone_number": "phone",
        "country": "country",
        "city": "city",
        "zip_code": "postal_code",
    },
    # LinkedIn's predefinedField of a question (leadForms content.questions[])
    "linkedin": {
        "EMAIL": "email",
        "WORK_EMAIL": "email",
        "FIRST_NAME": "first_name",
        "LAST_NAME": "last_name",
        "COMPANY_NAME": "company",
        "JOB_TITLE": "job_title",
        "PHONE_NUMBER": "phone",
        "WORK_PHONE_NUMBER": "phone",
        "COUNTRY": "country",
        "CITY": "city",
        "SENIORITY": "seniority",
        "INDUSTRY": "industry",
        "COMPANY_SIZE": "company_size",
    },
    # Google's column_id of user_column_data
    "google": {
        "EMAIL": "email",
        "WORK_EMAIL": "email",
        "FIRST_NAME": "first_name",
        "LAST_NAME": "last_name",
        "FULL_NAME": "name",
        "COMPANY_NAME": "company",
        "JOB_TITLE": "job_title",
        "PHONE_NUMBER": "phone",
        "WORK_PHONE": "phone",
        "COUNTRY": "country",
        "CITY": "city",
        "POSTAL_CODE": "postal_code",
    },
    # TikTok instant forms' standard questions
    "tiktok": {
        "email": "email",
        "name": "name",
        "first_name": "first_name",
        "last_name": "last_name",
        "phone_number": "phone",
        "company_name": "company",
        "job_title": "job_title",
        "country": "country",
        "city": "city",
    },
}
"""The platform's standard question keys → lead targets (overridden by `fields:`)."""


def _targets(fields: dict[str, str]) -> dict[str, str]:
    for target in fields.values():
        try:
            check_target(target)
        except FieldMapError as exc:
            raise ValueError(str(exc)) from None
    return fields


FieldMap = Annotated[dict[str, str], AfterValidator(_targets)]
EventType = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
Secret = Annotated[str, StringConstraints(min_length=1)]
Constant = str | int | float | bool


class FormOverride(Strict):
    """One form's own field map, event type and constant attributes."""

    fields: FieldMap = Field(default_factory=dict)
    event: EventType = EVENT_TYPE
    attributes: dict[str, Constant] = Field(default_factory=dict)


class Platform(Strict):
    fields: FieldMap = Field(default_factory=dict)
    """Added to (and over) the platform's default field map, for every form."""
    event: EventType = EVENT_TYPE
    forms: dict[str, FormOverride] = Field(default_factory=dict)


class MetaForms(Platform):
    """Meta Lead Ads: the app's secret (X-Hub-Signature-256), the verify token of the
    subscription handshake and a Page access token to read leads from the Graph API."""

    app_secret: Secret
    verify_token: Secret
    access_token: Secret
    graph_url: str = "https://graph.facebook.com"
    api_version: Annotated[str, StringConstraints(pattern=r"^v\d+\.\d+$")] = "v21.0"
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0


class LinkedInForms(Platform):
    """LinkedIn Lead Sync: the app's client secret (challenge and X-LI-Signature) and an
    access token with r_marketing_leadgen_automation to read the form responses."""

    client_secret: Secret
    access_token: Secret
    api_url: str = "https://api.linkedin.com"
    api_version: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] = "202411"
    timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0


class GoogleForms(Platform):
    """Google Ads lead form webhooks: the key pasted into the form's webhook settings."""

    key: Secret
    test_leads: Literal["skip", "store"] = "skip"
    """Leads sent with "Send test data" (is_test): answered 200 and not stored, by default."""


class TikTokForms(Platform):
    """TikTok lead webhooks: the app's client secret (TikTok-Signature)."""

    client_secret: Secret
    tolerance_seconds: Annotated[int, Field(ge=1, le=86_400)] = 300


class LeadForms(Strict):
    """The `lead_forms:` section: one entry per platform, each absent until configured."""

    meta: MetaForms | None = None
    linkedin: LinkedInForms | None = None
    google: GoogleForms | None = None
    tiktok: TikTokForms | None = None


# --- what every platform's lead becomes ---------------------------------------------------


class Malformed(ValueError):
    """A delivery that is not what the platform documents, naming the field (a dotted path)."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Answers:
    """One lead as a platform gives it, before mapping."""

    platform: str
    lead_id: str
    form_id: str | None
    occurred_at: int | None
    answers: dict[str, object]
    properties: dict[str, object] = field(default_factory=dict)
    consent: bool | None = None


def submission(config: Platform, lead: Answers) -> Submission:
    """The lead mapped by the default, platform and form field maps: a `form_submitted`
    (or the form's event) with the platform's ids as properties."""
    form = config.forms.get(lead.form_id or "") if lead.form_id else None
    fields = {**DEFAULT_FIELDS[lead.platform], **config.fields}
    if form is not None:
        fields.update(form.fields)
    mapped = apply_fields(lead.answers, fields)
    consent = mapped.consent if mapped.consent is not None else lead.consent
    attributes: dict[str, object] = dict(form.attributes) if form is not None else {}
    attributes.update(mapped.attributes)
    properties: dict[str, object] = {"platform": lead.platform, "lead_id": lead.lead_id}
    if lead.form_id is not None:
        properties["form_id"] = lead.form_id
    properties.update({k: v for k, v in lead.properties.items() if v is not None})
    properties.update(mapped.properties)
    external = {lead.platform: mapped.external_id} if mapped.external_id else {}
    return Submission(
        source=f"lead_forms.{lead.platform}",
        event_type=form.event if form is not None else config.event,
        event_id=f"{lead.platform}:{lead.lead_id}",
        occurred_at=lead.occurred_at,
        email=mapped.email,
        external_ids=external,
        attributes=attributes,
        properties=properties,
        consent=None
        if consent is None
        else SubmittedConsent(consent, f"lead_forms.{lead.platform}"),
    )


# --- signatures ----------------------------------------------------------------------------


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def meta_signature_ok(body: bytes, header: str | None, app_secret: str) -> bool:
    """X-Hub-Signature-256: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    if not header or not header.startswith("sha256="):
        return False
    return hmac.compare_digest(header[7:].strip().lower(), hmac_hex(app_secret, body))


def linkedin_challenge(code: str, client_secret: str) -> str:
    """challengeResponse: the hex HMAC-SHA256 of the challengeCode with the client secret."""
    return hmac_hex(client_secret, code.encode())


def linkedin_signature_ok(body: bytes, header: str | None, client_secret: str) -> bool:
    """X-LI-Signature: the hex HMAC-SHA256 of the raw body with the client secret, which
    LinkedIn's page describes as prefixed by `hmacsha256=` (accepted with or without)."""
    if not header:
        return False
    value = header.strip()
    if value.lower().startswith("hmacsha256="):
        value = value[len("hmacsha256=") :]
    return hmac.compare_digest(value.lower(), hmac_hex(client_secret, body))


def tiktok_signature_ok(
    body: bytes, header: str | None, client_secret: str, now_seconds: int, tolerance: int
) -> bool:
    """TikTok-Signature `t=TIMESTAMP,s=HEX`: HMAC-SHA256 of `TIMESTAMP.BODY` with the client
    secret, and the timestamp within `tolerance` seconds of now (a replayed old delivery)."""
    if not header:
        return False
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    stamp, sent = parts.get("t", "").strip(), parts.get("s", "").strip().lower()
    if not stamp.isdigit() or not sent:
        return False
    expected = hmac_hex(client_secret, stamp.encode() + b"." + body)
    if not hmac.compare_digest(sent, expected):
        return False
    return abs(now_seconds - int(stamp)) <= tolerance


def google_key_ok(sent: object, key: str) -> bool:
    return isinstance(sent, str) and hmac.compare_digest(sent.encode(), key.encode())


# --- parsing --------------------------------------------------------------------------------


def json_of(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Malformed(f"the body is not JSON: {exc}", "body") from None


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise Malformed(f"{where} must be an object", where)
    return value


def _list(value: object, where: str) -> Sequence[Any]:
    if not isinstance(value, list):
        raise Malformed(f"{where} must be a list", where)
    return value


def _id(value: object, where: str, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise Malformed(f"{where} must be an id (a string or a number)", where)
    return str(value)


def _seconds(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Malformed(f"{where} must be a Unix time in seconds", where)
    return int(value * 1_000_000)


@dataclass(frozen=True)
class MetaLead:
    """One `leadgen` change of a Meta delivery: what to fetch and what to keep."""

    leadgen_id: str
    form_id: str | None
    properties: dict[str, object]
    occurred_at: int | None


def meta_changes(payload: object) -> list[MetaLead]:
    """The leadgen changes of a Meta Page webhook (`object: page`, entry[].changes[] with
    `field: leadgen`); other fields are ignored."""
    body = _mapping(payload, "body")
    leads: list[MetaLead] = []
    for i, entry in enumerate(_list(body.get("entry"), "entry")):
        entry = _mapping(entry, f"entry.{i}")
        for j, change in enumerate(_list(entry.get("changes"), f"entry.{i}.changes")):
            where = f"entry.{i}.changes.{j}"
            change = _mapping(change, where)
            if change.get("field") != "leadgen":
                continue
            value = _mapping(change.get("value"), f"{where}.value")
            leadgen = _id(value.get("leadgen_id"), f"{where}.value.leadgen_id")
            assert leadgen is not None
            props = {
                "page_id": _id(value.get("page_id"), f"{where}.value.page_id", False),
                "ad_id": _id(value.get("ad_id"), f"{where}.value.ad_id", False),
                "adgroup_id": _id(value.get("adgroup_id"), f"{where}.value.adgroup_id", False),
            }
            leads.append(
                MetaLead(
                    leadgen,
                    _id(value.get("form_id"), f"{where}.value.form_id", False),
                    {k: v for k, v in props.items() if v not in (None, "0")},
                    _seconds(value.get("created_time"), f"{where}.value.created_time"),
                )
            )
    return leads


META_FIELDS = (
    "id,created_time,field_data,custom_disclaimer_responses,form_id,ad_id,ad_name,"
    "adset_id,adset_name,campaign_id,campaign_name,platform,is_organic"
)
"""What the adapter asks the Graph API for each lead."""


def meta_lead(change: MetaLead, lead: Mapping[str, Any]) -> Answers:
    """A Graph API Lead (`field_data: [{name, values}]`) with its webhook change."""
    answers: dict[str, object] = {}
    for i, item in enumerate(_list(lead.get("field_data"), "field_data")):
        item = _mapping(item, f"field_data.{i}")
        name = item.get("name")
        if not isinstance(name, str) or not name:
            raise Malformed("field_data[].name must be a text", f"field_data.{i}.name")
        values = _list(item.get("values", []), f"field_data.{i}.values")
        answers[name] = values[0] if len(values) == 1 else list(values)
    consent: bool | None = None
    disclaimers = lead.get("custom_disclaimer_responses")
    if isinstance(disclaimers, list) and disclaimers:
        checked = [
            d.get("is_checked") in (True, "1", 1, "true")
            for d in disclaimers
            if isinstance(d, dict)
        ]
        consent = all(checked) if checked else None
    props: dict[str, object] = dict(change.properties)
    for key in ("ad_id", "ad_name", "adset_id", "adset_name", "campaign_id", "campaign_name"):
        if lead.get(key) not in (None, ""):
            props[key] = str(lead[key])
    if lead.get("platform"):
        props["placement"] = str(lead["platform"])
    if lead.get("is_organic") is True:
        props["organic"] = True
    form_id = change.form_id or _id(lead.get("form_id"), "form_id", False)
    return Answers("meta", change.leadgen_id, form_id, change.occurred_at, answers, props, consent)


def google_lead(payload: object) -> tuple[Answers, bool, object]:
    """A Google Ads WebhookLead: the lead, whether it is a test lead, and the google_key sent
    (checked by the caller before anything else is used)."""
    body = _mapping(payload, "body")
    key = body.get("google_key")
    lead_id = _id(body.get("lead_id"), "lead_id")
    assert lead_id is not None
    answers: dict[str, object] = {}
    for i, column in enumerate(_list(body.get("user_column_data"), "user_column_data")):
        column = _mapping(column, f"user_column_data.{i}")
        name = column.get("column_id") or column.get("column_name")
        if not isinstance(name, str) or not name:
            raise Malformed(
                "user_column_data[] needs a column_id", f"user_column_data.{i}.column_id"
            )
        answers[name] = column.get("string_value")
    props: dict[str, object] = {}
    for key_name in ("campaign_id", "adgroup_id", "creative_id", "asset_group_id"):
        value = _id(body.get(key_name), key_name, False)
        if value is not None:
            props[key_name] = value
    if isinstance(body.get("gcl_id"), str) and body["gcl_id"]:
        props["gclid"] = body["gcl_id"]
    is_test = body.get("is_test") is True
    if is_test:
        props["test"] = True
    form_id = _id(body.get("form_id"), "form_id", False)
    return Answers("google", lead_id, form_id, None, answers, props), is_test, key


LINKEDIN_FORM = "urn:li:leadGenForm:"


def linkedin_notification(payload: object) -> tuple[str, str] | None:
    """The form response id and form id a LinkedIn lead notification references, or None for
    a notification that creates no lead (leadAction other than CREATED)."""
    body = _mapping(payload, "body")
    action = body.get("leadAction", "CREATED")
    if action != "CREATED":
        return None
    response = body.get("leadGenFormResponse")
    if not isinstance(response, str) or not response.startswith("urn:li:leadGenFormResponse:"):
        raise Malformed(
            "leadGenFormResponse must be a urn:li:leadGenFormResponse URN", "leadGenFormResponse"
        )
    form = body.get("leadGenForm")
    form_id = _linkedin_form_id(form) if isinstance(form, str) else None
    if form_id is None:
        raise Malformed("leadGenForm must be a (versioned) leadGenForm URN", "leadGenForm")
    return response.rsplit(":", 1)[1], form_id


def _linkedin_form_id(urn: str) -> str | None:
    """`urn:li:leadGenForm:123` or `urn:li:versionedLeadGenForm:(urn:li:leadGenForm:123,1)`."""
    start = urn.find(LINKEDIN_FORM)
    if start < 0:
        return None
    digits = ""
    for char in urn[start + len(LINKEDIN_FORM) :]:
        if not char.isdigit():
            break
        digits += char
    return digits or None


def linkedin_questions(form: Mapping[str, Any]) -> dict[str, str]:
    """questionId → its key: the predefinedField (EMAIL, FIRST_NAME…) or, for a custom
    question, its name."""
    content = _mapping(form.get("content"), "content")
    keys: dict[str, str] = {}
    for i, question in enumerate(_list(content.get("questions"), "content.questions")):
        question = _mapping(question, f"content.questions.{i}")
        qid = _id(question.get("questionId"), f"content.questions.{i}.questionId")
        assert qid is not None
        key = question.get("predefinedField") or question.get("name") or qid
        keys[qid] = str(key)
    return keys


def linkedin_lead(response: Mapping[str, Any], questions: Mapping[str, str]) -> Answers:
    """A leadFormResponses record with its form's questions."""
    lead_id = _id(response.get("id"), "id")
    assert lead_id is not None
    form_response = _mapping(response.get("formResponse"), "formResponse")
    answers: dict[str, object] = {}
    for i, answer in enumerate(_list(form_response.get("answers", []), "formResponse.answers")):
        answer = _mapping(answer, f"formResponse.answers.{i}")
        qid = _id(answer.get("questionId"), f"formResponse.answers.{i}.questionId")
        assert qid is not None
        details = _mapping(answer.get("answerDetails"), f"formResponse.answers.{i}.answerDetails")
        text = details.get("textQuestionAnswer")
        choice = details.get("multipleChoiceAnswer")
        value: object = None
        if isinstance(text, Mapping):
            value = text.get("answer")
        elif isinstance(choice, Mapping):
            options = choice.get("options") or []
            value = options[0] if isinstance(options, list) and len(options) == 1 else options
        answers[questions.get(qid, qid)] = value
    consents = form_response.get("consentResponses") or []
    consent: bool | None = None
    if isinstance(consents, list) and consents:
        consent = all(isinstance(c, Mapping) and c.get("accepted") is True for c in consents)
    props: dict[str, object] = {}
    owner = response.get("owner")
    if isinstance(owner, Mapping) and isinstance(owner.get("sponsoredAccount"), str):
        props["account"] = owner["sponsoredAccount"]
    metadata = response.get("leadMetadata")
    if isinstance(metadata, Mapping):
        sponsored = metadata.get("sponsoredLeadMetadata")
        if isinstance(sponsored, Mapping) and isinstance(sponsored.get("campaign"), str):
            props["campaign"] = sponsored["campaign"]
            props["campaign_id"] = sponsored["campaign"].rsplit(":", 1)[-1]
    entity = response.get("associatedEntity")
    if isinstance(entity, Mapping):
        creative = entity.get("associatedCreative") or entity.get("sponsoredCreative")
        if isinstance(creative, str):
            props["creative"] = creative
            props["ad_id"] = creative.rsplit(":", 1)[-1]
    if isinstance(response.get("leadType"), str):
        props["lead_type"] = response["leadType"]
    if response.get("testLead") is True:
        props["test"] = True
    form = response.get("versionedLeadGenFormUrn")
    form_id = _linkedin_form_id(form) if isinstance(form, str) else None
    submitted = response.get("submittedAt")
    at = (
        int(submitted) * 1000
        if isinstance(submitted, int) and not isinstance(submitted, bool)
        else None
    )
    return Answers("linkedin", lead_id, form_id, at, answers, props, consent)


TIKTOK_LEAD_EVENTS = ("lead.created",)


def tiktok_leads(payload: object) -> list[Answers]:
    """The lead of a TikTok webhook: the documented envelope (`event`, `create_time`,
    `content` — a serialized JSON string) around the lead (lead_id, form_id, ad and campaign
    ids, `answers: [{name, value}]`). Events that are no lead are ignored."""
    body = _mapping(payload, "body")
    event = body.get("event")
    if not isinstance(event, str) or not event:
        raise Malformed("event must be the event's name", "event")
    if event not in TIKTOK_LEAD_EVENTS:
        return []
    raw = body.get("content")
    if not isinstance(raw, str):
        raise Malformed("content must be a serialized JSON string", "content")
    try:
        content = _mapping(json.loads(raw), "content")
    except json.JSONDecodeError as exc:
        raise Malformed(f"content is not JSON: {exc}", "content") from None
    lead_id = _id(content.get("lead_id"), "content.lead_id")
    assert lead_id is not None
    answers: dict[str, object] = {}
    for i, item in enumerate(_list(content.get("answers"), "content.answers")):
        item = _mapping(item, f"content.answers.{i}")
        name = item.get("name") or item.get("field_name")
        if not isinstance(name, str) or not name:
            raise Malformed("content.answers[] needs a name", f"content.answers.{i}.name")
        answers[name] = item.get("value", item.get("field_value"))
    props: dict[str, object] = {}
    for key in ("advertiser_id", "campaign_id", "adgroup_id", "ad_id", "page_id"):
        value = _id(content.get(key), f"content.{key}", False)
        if value is not None:
            props[key] = value
    for key in ("campaign_name", "adgroup_name", "ad_name", "form_name"):
        if isinstance(content.get(key), str):
            props[key] = content[key]
    at = _seconds(content.get("create_time", body.get("create_time")), "create_time")
    form_id = _id(content.get("form_id"), "content.form_id", False)
    return [Answers("tiktok", lead_id, form_id, at, answers, props)]
