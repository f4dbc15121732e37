"""The contract's routes by name, with the credential surface each one takes.

A real deployment that differs overrides a template by name in its target YAML
(`routes:`), never by editing suite code.
"""

from __future__ import annotations

from typing import NamedTuple


class Route(NamedTuple):
    method: str
    template: str
    surface: str  # "jwt", "pat" or "public"


ROUTES: dict[str, Route] = {
    "system_health": Route("GET", "/v2/system/health", "public"),
    "list_campaigns": Route("GET", "/v2/handles/{handle}/campaigns", "jwt"),
    "create_campaign": Route("POST", "/v2/handles/{handle}/campaigns", "jwt"),
    "put_link": Route("PUT", "/v2/handles/{handle}/links/{slug}", "jwt"),
    # The doctor and `cleanup --all` read it tolerantly (a deployment without it answers 404/405:
    # "unknown"); the audit reads every live link with it.
    "get_link": Route("GET", "/v2/handles/{handle}/links/{slug}", "jwt"),
    "get_campaign": Route("GET", "/v2/handles/{handle}/campaigns/{campaignId}", "jwt"),
    "list_links": Route("GET", "/v2/handles/{handle}/links", "jwt"),
    "public_get_link": Route("GET", "/v2/public/handles/{handle}/links/{slug}", "pat"),
    "public_list_links": Route("GET", "/v2/public/handles/{handle}/links", "pat"),
    "list_personalization_rules": Route("GET", "/v2/handles/{handle}/personalization-rules", "jwt"),
    "put_personalization_rule": Route("PUT", "/v2/handles/{handle}/personalization-rules/{ruleId}", "jwt"),
    # (gap) a POST under /v2, so it counts as a write: only where writes are allowed
    "route_preview": Route("POST", "/v2/handles/{handle}/links/{slug}/route-preview", "jwt"),
    "list_destination_domains": Route("GET", "/v2/handles/{handle}/destination-domains", "jwt"),
    "register_destination_domain": Route("POST", "/v2/handles/{handle}/destination-domains", "jwt"),
    "verify_destination_domain": Route("POST", "/v2/handles/{handle}/destination-domains/{domain}/verify", "jwt"),
    "analytics": Route("GET", "/v2/handles/{handle}/analytics", "jwt"),
    "public_analytics": Route("GET", "/v2/public/handles/{handle}/analytics", "pat"),
    "campaign_health": Route("GET", "/v2/handles/{handle}/campaigns/{campaignId}/health", "jwt"),
    "public_campaign_health": Route("GET", "/v2/public/handles/{handle}/campaigns/{campaignId}/health", "pat"),
    "test_conversion": Route("POST", "/v2/handles/{handle}/campaigns/{campaignId}/test-conversion", "jwt"),
    "public_conversion": Route("POST", "/v2/public/conversions", "public"),
    "resolve_context": Route("GET", "/v2/public/context", "public"),
    "capture_lead": Route("POST", "/v2/public/handles/{handle}/leads", "public"),
    "list_leads": Route("GET", "/v2/handles/{handle}/leads", "jwt"),
    "export_leads": Route("GET", "/v2/handles/{handle}/leads/export", "jwt"),
    "get_site_structure": Route("GET", "/v2/handles/{handle}/site-structure/campaigns/{campaignId}", "jwt"),
    "put_site_structure": Route("PUT", "/v2/handles/{handle}/site-structure/campaigns/{campaignId}", "jwt"),
    "publish_site_structure": Route(
        "POST", "/v2/handles/{handle}/site-structure/campaigns/{campaignId}/publish", "jwt"
    ),
    "public_get_site_structure": Route(
        "GET", "/v2/public/handles/{handle}/site-structure/campaigns/{campaignId}", "pat"
    ),
    "public_put_site_structure": Route(
        "PUT", "/v2/public/handles/{handle}/site-structure/campaigns/{campaignId}", "pat"
    ),
    "public_publish_site_structure": Route(
        "POST", "/v2/public/handles/{handle}/site-structure/campaigns/{campaignId}/publish", "pat"
    ),
    "usage_meters": Route("GET", "/v2/handles/{handle}/usage-meters", "jwt"),
    "support_report": Route("POST", "/v2/support/report", "jwt"),
}

# What the run reads from each read route's answer (besides the error code of an error answer,
# read from any documented error shape): the contract-drift check calls a difference in one of these
# fields breaking, and any other difference information for the maintainers. Paths as the drift
# check writes them ("[*]": every item of a list).
READS: dict[str, tuple[str, ...]] = {
    "system_health": ("body.status",),
    "list_campaigns": ("body.items", "body.items[*].campaignId", "body.items[*].goalType"),
    "usage_meters": ("body.writesPerDay", "body.writesToday"),
    "list_leads": ("body.items", "body.items[*].leadId", "body.items[*].email", "body.items[*].status"),
    "campaign_health": (
        "body.campaignId",
        "body.status",
        "body.score",
        "body.checks",
        "body.checks[*].id",
        "body.checks[*].status",
    ),
    "get_site_structure": ("body.published", "body.schemaVersion", "body.accessMode"),
    "public_get_site_structure": ("body.accessMode", "body.deploymentId", "body.schemaVersion", "body.schema"),
    "get_link": ("body.slug", "body.destinationUrl", "body.enabled"),
    "resolve_context": ("body.handle", "body.slug", "body.campaignId", "body.clickId", "body.expiresAt"),
}
READS["public_campaign_health"] = READS["campaign_health"]

# The click URL is not an API route: targets give it as a template (see config/targets/).
CLICK_URL_PLACEHOLDERS = ("base_url", "handle", "slug")
