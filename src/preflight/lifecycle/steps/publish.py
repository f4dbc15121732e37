"""Step 5: the campaign detail page is published as FREE_WITH_LOGIN and its schema fetch
(PAT) succeeds and agrees with the publish."""

from __future__ import annotations

from typing import Any, NoReturn

from preflight.config.campaign import has_required_email
from preflight.core.categories import Category
from preflight.lifecycle.checks import expect_equal, expect_json_object, expect_status, fail
from preflight.lifecycle.failures import PreflightFailure, plain
from preflight.lifecycle.model import StepRun

NEXT_ACCESS = (
    "verify campaign detail page is published with FREE_WITH_LOGIN (UC-07 step 5): re-save the "
    "draft with accessMode FREE_WITH_LOGIN, publish again, and escalate with the deploymentId"
)


def save_and_publish(run: StepRun) -> dict[str, Any]:
    page = run.campaign.config.detailPage
    via_pat = run.settings.publish_via == "pat"
    prefix = "public_" if via_pat else ""
    view, view_ex = _view(run)
    current = int(view.get("schemaVersion") or 0) if view else 0
    draft = {
        "detailsPageSlug": page.detailsPageSlug,
        "accessMode": page.accessMode,
        "structureType": page.structureType,
        "schema": page.schema_or_default(run.campaign.goal_type),
        "schemaVersion": current,
    }
    draft = {name: value for name, value in draft.items() if value is not None}
    adopted = _already_published(view, draft)
    if adopted is not None:  # a rerun: this very page is live, adopted with a read (no write spent)
        run.artifacts.put("deploymentId", adopted["deploymentId"])
        run.artifacts.put("adoptedFrom", "an earlier session of this run")
        run.campaign.notes["published"] = adopted
        _check_access(run, view.get("accessMode"), what="the published draft's accessMode", exchanges=[view_ex])
        return adopted
    # The version is part of the key: a rerun of this run id saves on top of what it left.
    ex = run.client.call(
        f"{prefix}put_site_structure",
        step=run.step,
        key=run.key(f"draft-v{current}"),
        json_body=draft,
        campaignId=run.campaign.campaign_id,
    )
    saved = expect_status(ex, 200, doing="saving the detail page draft")
    saved = expect_json_object(ex, saved, doing="saving a draft", fields=("schemaVersion", "accessMode"))
    expect_equal(
        saved["schemaVersion"],
        current + 1,
        category=Category.CONTRACT_VIOLATION,
        what="the saved draft's schemaVersion",
        exchanges=[ex],
    )
    _check_access(run, saved["accessMode"], what="the saved draft's accessMode", exchanges=[ex])
    pub = run.client.call(
        f"{prefix}publish_site_structure",
        step=run.step,
        key=run.key(f"publish-v{current + 1}"),
        json_body={},
        campaignId=run.campaign.campaign_id,
    )
    published = expect_status(pub, 201, doing="publishing the detail page")
    published = expect_json_object(
        pub, published, doing="publishing", fields=("deploymentId", "schemaVersion", "schemaS3Key", "accessMode", "url")
    )
    run.artifacts.put("deploymentId", published["deploymentId"])
    run.artifacts.put("schemaS3Key", published["schemaS3Key"])
    run.campaign.notes["published"] = published
    _check_access(run, published["accessMode"], what="the published page's accessMode", exchanges=[ex, pub])
    key = f"site-structure/{run.client.handle}/campaigns/{run.campaign.campaign_id}/v{published['schemaVersion']}.json"
    expect_equal(
        published["schemaS3Key"],
        key,
        category=Category.CONTRACT_VIOLATION,
        what="the publish's schemaS3Key",
        exchanges=[pub],
    )
    if run.journal is not None:
        run.journal.page(run.campaign.campaign_id, run.campaign.handle, published["deploymentId"])
    return published


def _already_published(view: dict[str, Any] | None, draft: dict[str, Any]) -> dict[str, Any] | None:
    """The published deployment, when the page live now is exactly the one this step would publish."""
    published = (view or {}).get("published")
    if not isinstance(published, dict) or published.get("schemaVersion") != view.get("schemaVersion"):
        return None
    same = all(view.get(name) == value for name, value in draft.items() if name != "schemaVersion")
    return published if same and published.get("deploymentId") else None


def fetch_schema(run: StepRun) -> dict[str, Any]:
    published, creator_view = _published(run)
    ex = run.client.call("public_get_site_structure", step=run.step, campaignId=run.campaign.campaign_id)
    page = expect_status(
        ex,
        200,
        doing="fetching the published schema with the PAT",
        categories={"not_found": (Category.SCHEMA_FETCH, "the PAT schema fetch of a published page answers not_found")},
        next_step="verify campaign detail page is published and schema fetch succeeds (UC-07 "
        f"step 5): deployment {published['deploymentId']} was published; escalate",
    )
    page = expect_json_object(
        ex, page, doing="fetching the schema", fields=("accessMode", "deploymentId", "schemaVersion", "schema")
    )
    _check_access(run, page["accessMode"], what="the fetched page's accessMode", exchanges=[ex])
    for name in ("deploymentId", "schemaVersion"):
        expect_equal(
            page[name],
            published[name],
            category=Category.SCHEMA_FETCH,
            what=f"the fetched page's {name} (vs the creator's published view)",
            exchanges=[creator_view, ex],
            cause="the schema fetch serves another deployment than the creator's published view",
        )
    sent = run.campaign.config.detailPage.schema_or_default(run.campaign.goal_type)
    if page["schema"] == sent:
        return page
    if run.campaign.goal_type == "LEAD_CAPTURE" and not has_required_email(page["schema"]):
        raise fail(
            Category.SCHEMA_FETCH,
            "the published LEAD_CAPTURE page has no form requiring `email`",
            expected="a form field {name: email, required: true}",
            actual=str(page["schema"])[:300],
            exchanges=[ex],
            cause="the published lead page's schema lost its required email field",
        )
    raise fail(
        Category.SCHEMA_FETCH,
        "the schema fetch serves another schema than the one published",
        expected=str(sent)[:300],
        actual=str(page["schema"])[:300],
        exchanges=[ex],
        cause="the schema fetch serves another schema than the one published",
    )


def _check_access(run: StepRun, actual: object, *, what: str, exchanges: list) -> None:
    wanted = run.expectations.access_mode
    if actual == wanted:
        return
    raise access_failure(
        run, actual, summary=f"{what} is {plain(actual)}, expected {plain(wanted)}", exchanges=exchanges
    )


def access_failure(run: StepRun, actual: object, *, summary: str, exchanges: list) -> PreflightFailure:
    """A page served in another mode than expected: the user's own config (it publishes another
    mode: not escalated) or the platform's doing. One root cause, whichever check sees it (the
    publish, the schema fetch, the page in a browser)."""
    wanted = run.expectations.access_mode
    configured = run.campaign.config.detailPage.accessMode
    ours = configured != wanted  # the config itself publishes another mode: the user's to fix
    return fail(
        Category.PUBLISH_ACCESS_MODE,
        summary,
        expected=wanted,
        actual=actual,
        exchanges=exchanges,
        escalate=not ours,
        cause=(
            f"the config publishes the page as {plain(configured)}"
            if ours
            else f"the page is served as {plain(actual)} after publishing {plain(configured)}"
        ),
        next_step=(f"set detailPage.accessMode: {plain(wanted)} in the config" if ours else NEXT_ACCESS),
    )


def shown_without_login(
    run: StepRun, served: object, *, gate: str, title: str, exchanges: list, under_gate: str | None = None
) -> NoReturn:
    """The published detail page shows its content to a visitor without a session (no `gate`, or
    its content `under_gate` too): served in another mode than expected (one root cause with the
    publish's and the schema fetch's), else served FREE_WITH_LOGIN and still open."""
    how = f"under its login gate ({under_gate} is visible)" if under_gate else f"(no {gate})"
    summary = f"the published detail page shows its content to a visitor without a session {how}"
    wanted = run.expectations.access_mode
    if served != wanted:
        raise access_failure(run, served, summary=summary, exchanges=exchanges)
    raise fail(
        Category.PUBLISH_ACCESS_MODE,
        summary,
        expected=f"{gate} for a visitor without a session ({wanted})",
        actual=f"the content, titled {title!r}",
        exchanges=exchanges,
        cause="the published detail page shows its content without a login though it is published FREE_WITH_LOGIN",
        next_step=NEXT_ACCESS,
    )


def _published(run: StepRun) -> tuple[dict[str, Any], Any]:
    published, ex = published_now(run, there_is_no="no schema to fetch")
    expect_json_object(
        ex, published, doing="reading the published deployment", fields=("deploymentId", "schemaVersion")
    )
    return published, ex


def published_now(run: StepRun, *, there_is_no: str, needing: tuple[str, ...] = ()) -> tuple[dict[str, Any], Any]:
    """What the creator's view says is published (the platform's word, not a note from the
    publish test, so a check that needs it also stands alone, e.g. under `-k`). Nothing published
    (or without the fields `needing`) repeats the publish step's failure: `there_is_no` says what
    that leaves the caller without."""
    ex = run.client.call("get_site_structure", step=run.step, campaignId=run.campaign.campaign_id)
    body = expect_status(ex, 200, doing="reading the published site structure")
    body = expect_json_object(ex, body, doing="reading the site structure", fields=("published",))
    published = body["published"]
    if not isinstance(published, dict) or not all(published.get(name) for name in needing):
        failure = fail(
            Category.SCHEMA_FETCH,
            f"nothing is published for this campaign, so there is {there_is_no}",
            expected="published: {" + ", ".join((*needing, "deploymentId", "…")) + "}",
            actual=f"published: {published!r}",
            exchanges=[ex],
            next_step="see the publish step's failure (UC-07 step 5)",
        )
        failure.duplicate_of = "the publish step"  # the publish failure carries the escalation
        raise failure
    return published, ex


def _view(run: StepRun) -> tuple[dict[str, Any] | None, Any]:
    """The creator's view of the page (None when never saved: the first draft is version 0)."""
    ex = run.client.call("get_site_structure", step=run.step, campaignId=run.campaign.campaign_id)
    if ex.status == 404:
        return None, ex
    body = expect_status(ex, 200, doing="reading the current site structure")
    return (body if isinstance(body, dict) else None), ex
