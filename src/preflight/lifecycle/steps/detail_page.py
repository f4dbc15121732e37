"""Step 7's other test: the published detail page as an anonymous visitor sees it in the browser
(UC-07 step 5's promise, "FREE_WITH_LOGIN": a login gate before the content). On the published
page's own URL (its slug, the configured `detailsPageSlug`), the gate shows and the content
(`expect.detail_page.content`) does not, not even under the gate. Whether a page shown without a
login is the config's mode or the platform's doing is the publish step's judgement
(`publish.shown_without_login`), one root cause with the publish's and the schema fetch's."""

from __future__ import annotations

from urllib.parse import urlsplit

from preflight.browser.launch import Shopper
from preflight.browser.visit import Tab, Visit
from preflight.config.browser import BrowserSettings
from preflight.core.categories import Category
from preflight.http.exchange import Exchange
from preflight.lifecycle.checks import fail
from preflight.lifecycle.failures import PreflightFailure
from preflight.lifecycle.model import StepRun
from preflight.lifecycle.shopper import Evidence, failure_evidence
from preflight.lifecycle.steps import publish


def detail_page_gated(run: StepRun, shopper: Shopper, evidence: Evidence, settings: BrowserSettings) -> Visit:
    """UC-07 step 5 in the browser: the published page (`published.url`) shows its login gate to a
    visitor without a session; content shown to them is publish_access_mode."""
    published, ex = publish.published_now(run, there_is_no="no detail page to visit", needing=("url",))
    view = ex.response_body  # the creator's view, whose accessMode stands in for the deployment's
    run.artifacts.put("detailPage", published["url"])
    viewport = settings.viewports[0]
    gate = run.target.contract.login_gate
    with Tab(shopper, viewport, trace=True) as tab:
        visit = tab.open(published["url"], click=False)
        failed = True
        try:
            _gated(run, tab, visit, gate, published, view, ex)
            failed = False
        except PreflightFailure:
            failure_evidence(evidence, tab, viewport.name, page="detail page")
            raise
        finally:
            evidence.visit(visit, page="detail page", failed=failed)
            run.artifacts.put("detailPageVisit", visit.facts())
    return visit


def _gated(run: StepRun, tab: Tab, visit: Visit, gate: str, published: dict, view: dict, ex: Exchange) -> None:
    _loaded(visit, published, ex)
    _on_its_own_url(run, visit, published, ex)
    content = run.campaign.config.detail_page_expect.content
    shown = not tab.visible(gate)
    if shown or tab.visible(content):
        served = published.get("accessMode") or view.get("accessMode")
        under = None if shown else content
        publish.shown_without_login(run, served, gate=gate, title=visit.title, exchanges=[ex], under_gate=under)


def _loaded(visit: Visit, published: dict, ex: Exchange) -> None:
    status = visit.final_status
    if visit.error or status is None or not 200 <= status < 300:
        raise fail(
            Category.CONTRACT_VIOLATION,
            f"the published detail page {published['url']} does not load: " + (visit.error or f"it answers {status}"),
            expected="2xx with the page (its login gate for a visitor without a session)",
            actual=visit.error or status,
            exchanges=[ex],
            cause="the published detail page's url does not serve the page",
        )


def _on_its_own_url(run: StepRun, visit: Visit, published: dict, ex: Exchange) -> None:
    """The gate a visitor meets is on the published page's own URL: its slug is the one published."""
    slug = run.campaign.config.detail_page.detailsPageSlug
    where = urlsplit(visit.page_url or visit.final_url).path.rstrip("/")
    if where.rsplit("/", 1)[-1] == slug:
        return
    raise fail(
        Category.CONTRACT_VIOLATION,
        f"the published detail page {published['url']} shows a visitor {visit.page_url or visit.final_url}, not the "
        f"page published as {slug}",
        expected=f"the page at …/{slug} (its login gate for a visitor without a session)",
        actual=visit.page_url or visit.final_url,
        exchanges=[ex],
        cause="the published detail page's url serves another page than the one published",
        next_step=f"the publish's url must be the page published under detailsPageSlug {slug}: escalate with the "
        "deploymentId",
    )
