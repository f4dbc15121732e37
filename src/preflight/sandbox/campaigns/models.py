"""Campaign bodies and answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from preflight.sandbox.core.web import StrictIn
from preflight.sandbox.links.models import LinkOut, PrimaryLinkIn

GoalType = Literal["PRODUCT_SALE", "LEAD_CAPTURE", "NEWSLETTER", "AFFILIATE_CLICKOUT", "APP_INSTALL"]
Status = Literal["DRAFT", "ACTIVE", "PAUSED"]
LeadMode = Literal["NONE", "EMAIL_OTP", "EMAIL_REPLY_YES"]
CAMPAIGN_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{2,63}$"

# The event a public conversion records when it names none.
DEFAULT_EVENT = {
    "PRODUCT_SALE": "purchase",
    "LEAD_CAPTURE": "lead",
    "NEWSLETTER": "newsletter_signup",
    "AFFILIATE_CLICKOUT": "affiliate_click",
    "APP_INSTALL": "app_install",
}


class LeadVerificationBody(BaseModel):
    model_config = StrictIn.model_config

    mode: LeadMode = "NONE"


class CampaignIn(StrictIn):
    campaignId: str = Field(pattern=CAMPAIGN_ID_PATTERN)
    goalType: GoalType
    status: Status = "DRAFT"
    name: str | None = Field(None, max_length=200)
    primaryLink: PrimaryLinkIn | None = None
    primarySlug: str | None = Field(None, max_length=200)
    leadVerification: LeadVerificationBody = Field(default_factory=LeadVerificationBody)


class CampaignPatch(StrictIn):
    status: Status | None = None
    name: str | None = Field(None, max_length=200)


class CampaignOut(BaseModel):
    campaignId: str
    handle: str
    goalType: GoalType
    status: Status
    name: str | None
    primarySlug: str | None
    primaryLink: LinkOut | None
    leadVerification: LeadVerificationBody
    links: list[str]
    createdAt: str
    updatedAt: str


class CampaignList(BaseModel):
    items: list[CampaignOut]
    nextCursor: str | None
