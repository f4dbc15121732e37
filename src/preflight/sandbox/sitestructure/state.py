"""Site structure: a draft saved with a version check, publish, and the published page.

The draft starts at schemaVersion 0; a PUT must name the current version (else 409 conflict,
reason version_conflict) and the answer carries version + 1. Publish makes a deployment of the
draft; the PAT schema fetch reads the latest deployment.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from preflight.core.faults import FaultName
from preflight.sandbox.campaigns import state as campaigns
from preflight.sandbox.core.clock import rfc3339
from preflight.sandbox.core.errors import ApiError, not_found, validation_error
from preflight.sandbox.core.ids import new_id
from preflight.sandbox.site.state import page_url
from preflight.sandbox.sitestructure.models import SiteStructureIn

if TYPE_CHECKING:
    from preflight.sandbox.runtime import Runtime

DEFAULT_STRUCTURE_TYPE = "CAMPAIGN_DETAILS"
# A LEAD_CAPTURE page's schema holds a form whose fields include a required email.
LEAD_FORM = {
    "sections": [
        {
            "type": "form",
            "formId": "lead",
            "fields": [
                {"name": "email", "type": "email", "required": True},
                {"name": "name", "type": "text", "required": False},
            ],
        }
    ]
}


def _draft(rt: Runtime, campaign: sqlite3.Row) -> dict[str, Any]:
    row = rt.db.one(
        "SELECT * FROM site_structures WHERE handle = ? AND campaign_id = ?",
        (campaign["handle"], campaign["campaign_id"]),
    )
    if row is None:
        lead = campaign["goal_type"] == "LEAD_CAPTURE"
        return {
            "detailsPageSlug": None,
            "accessMode": "PUBLIC",
            "structureType": DEFAULT_STRUCTURE_TYPE,
            "schemaVersion": 0,
            "schema": json.loads(json.dumps(LEAD_FORM)) if lead else {},
        }
    return {
        "detailsPageSlug": row["details_page_slug"],
        "accessMode": row["access_mode"],
        "structureType": row["structure_type"],
        "schemaVersion": row["schema_version"],
        "schema": json.loads(row["schema"]),
    }


def _latest(rt: Runtime, handle: str, campaign_id: str) -> sqlite3.Row | None:
    return rt.db.one(
        "SELECT * FROM deployments WHERE handle = ? AND campaign_id = ? ORDER BY id DESC LIMIT 1", (handle, campaign_id)
    )


def view(rt: Runtime, handle: str, campaign_id: str) -> dict[str, Any]:
    campaign = campaigns.require(rt, handle, campaign_id)
    answer = {"campaignId": campaign_id, **_draft(rt, campaign), "published": None}
    deployment = _latest(rt, handle, campaign_id)
    if deployment is not None:
        answer["published"] = {
            "schemaVersion": deployment["schema_version"],
            "deploymentId": deployment["deployment_id"],
            "schemaS3Key": deployment["schema_s3_key"],
            "publishedAt": rfc3339(deployment["published_at"]),
            "url": deployment["url"],
            "accessMode": deployment["access_mode"],
        }
    return answer


def save_draft(rt: Runtime, handle: str, campaign_id: str, body: SiteStructureIn) -> dict[str, Any]:
    with rt.db.tx():
        campaign = campaigns.require(rt, handle, campaign_id)
        current = _draft(rt, campaign)["schemaVersion"]
        if body.schemaVersion != current:
            raise ApiError(
                409,
                "conflict",
                f"schemaVersion {body.schemaVersion} is not the current {current}",
                reason="version_conflict",
                currentSchemaVersion=current,
            )
        rt.db.run(
            "INSERT INTO site_structures (handle, campaign_id, details_page_slug, access_mode, "
            "structure_type, schema, schema_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (handle, campaign_id) DO UPDATE SET "
            "details_page_slug = excluded.details_page_slug, access_mode = excluded.access_mode, "
            "structure_type = excluded.structure_type, schema = excluded.schema, "
            "schema_version = excluded.schema_version, updated_at = excluded.updated_at",
            (
                handle,
                campaign_id,
                body.detailsPageSlug,
                body.accessMode,
                body.structureType or DEFAULT_STRUCTURE_TYPE,
                json.dumps(body.page_schema),
                current + 1,
                rt.clock.now(),
            ),
        )
        return view(rt, handle, campaign_id)


def has_required_email(node: Any) -> bool:
    """Whether a schema holds a form field `email` marked required (any nesting)."""
    if isinstance(node, dict):
        fields = node.get("fields")
        if isinstance(fields, list):
            for item in fields:
                if (
                    isinstance(item, dict)
                    and item.get("required") is True
                    and "email" in (item.get("name"), item.get("id"), item.get("key"))
                ):
                    return True
        return any(has_required_email(v) for v in node.values())
    if isinstance(node, list):
        return any(has_required_email(v) for v in node)
    return False


def publish(rt: Runtime, handle: str, campaign_id: str, base_url: str) -> dict[str, Any]:
    """Publish the draft; the page is served at `url` (`base_url`: the sandbox's own address)."""
    with rt.db.tx():
        campaign = campaigns.require(rt, handle, campaign_id)
        draft = _draft(rt, campaign)
        if not draft["detailsPageSlug"]:
            raise validation_error("detailsPageSlug", "the draft has no detailsPageSlug")
        if not draft["schema"]:
            raise validation_error("schema", "the draft schema is empty")
        if campaign["goal_type"] == "LEAD_CAPTURE" and not has_required_email(draft["schema"]):
            raise validation_error("schema", "a LEAD_CAPTURE page needs a form with a required email field")
        if rt.faults.hit(FaultName.PUBLISH_FAILS, campaign_id):
            raise ApiError(500, "internal_error", "the page could not be published (fault publish_fails)")
        version = draft["schemaVersion"]
        # Fault publish_left_public: the answer looks right, the page goes out PUBLIC.
        stored_mode = draft["accessMode"]
        if rt.faults.hit(FaultName.PUBLISH_LEFT_PUBLIC, campaign_id):
            stored_mode = "PUBLIC"
        answer = {
            "deploymentId": new_id("dep"),
            "schemaVersion": version,
            "schemaS3Key": f"site-structure/{handle}/campaigns/{campaign_id}/v{version}.json",
            "detailsPageSlug": draft["detailsPageSlug"],
            "accessMode": draft["accessMode"],
            "url": page_url(base_url, handle, draft["detailsPageSlug"]),
            "publishedAt": rfc3339(rt.clock.now()),
        }
        rt.db.run(
            "INSERT INTO deployments (deployment_id, handle, campaign_id, schema_version, "
            "schema_s3_key, details_page_slug, access_mode, structure_type, schema, url, "
            "published_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                answer["deploymentId"],
                handle,
                campaign_id,
                version,
                answer["schemaS3Key"],
                answer["detailsPageSlug"],
                stored_mode,
                draft["structureType"],
                json.dumps(draft["schema"]),
                answer["url"],
                rt.clock.now(),
            ),
        )
        return answer


def published_page(rt: Runtime, handle: str, campaign_id: str) -> dict[str, Any]:
    failing = rt.faults.hit(FaultName.SCHEMA_FETCH_FAILS, campaign_id)
    if failing:
        status = failing["status"]
        code = {404: "not_found", 500: "internal_error", 503: "service_unavailable"}.get(status, "schema_fetch_failed")
        raise ApiError(
            status, code, f"site structure of campaign {campaign_id} could not be fetched (fault schema_fetch_fails)"
        )
    deployment = _latest(rt, handle, campaign_id)
    if deployment is None:
        raise not_found(f"published site structure of campaign {campaign_id}")
    return {
        "campaignId": campaign_id,
        "detailsPageSlug": deployment["details_page_slug"],
        "accessMode": deployment["access_mode"],
        "schemaVersion": deployment["schema_version"],
        "deploymentId": deployment["deployment_id"],
        "schema": json.loads(deployment["schema"]),
    }
