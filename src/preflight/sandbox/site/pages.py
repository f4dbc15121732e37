"""The HTML the sandbox serves as the customer's landing pages and as the published detail page.

A landing page is what a small real one is: the variant's title, a hero image, a lead form for a
LEAD_CAPTURE campaign, its own stylesheet and script, and the customer's ad and analytics tags (Meta,
Google, TikTok) that a preflight browser must block so its visit never counts as a real one.
Everything the pages show is escaped: the sandbox plays a well-made site.
"""

from __future__ import annotations

import html
import json
from typing import Any

from preflight.sandbox.site.models import SitePage

ASSETS = "/_site/_assets"
# The customer's tags, as they sit in a real landing page's <head>.
AD_TAGS = (
    '<script async src="https://connect.facebook.net/en_US/fbevents.js"></script>\n'
    '<script async src="https://www.googletagmanager.com/gtag/js?id=G-PREFLIGHT0"></script>\n'
    '<script async src="https://analytics.tiktok.com/i18n/pixel/events.js?sdkid=PREFLIGHT"></script>\n'
)
AD_BEACON = '<img height="1" width="1" alt="" src="https://www.facebook.com/tr?id=100000&amp;ev=PageView">'

SITE_CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#1d2733;background:#fbfaf7}
header{padding:14px 20px;background:#1d2733;color:#fff;font-weight:600}
main{max-width:760px;margin:0 auto;padding:24px 20px}
h1{font-size:2rem;margin:.2em 0 .4em}
#hero{width:100%;height:auto;border-radius:12px;display:block}
form{margin-top:24px;padding:18px;border:1px solid #d6d2c8;border-radius:12px;background:#fff}
label{display:block;margin:8px 0 4px}
input{width:100%;box-sizing:border-box;padding:10px;font-size:1rem;border:1px solid #b9b4a8;border-radius:8px}
button{margin-top:14px;padding:12px 18px;font-size:1rem;border:0;border-radius:8px;background:#c2410c;color:#fff}
#lead-result{min-height:1.4em;font-weight:600}
.checked{margin:0 0 12px;font-size:.85rem;color:#6b6357}
.checked time{display:inline-block;min-width:5.5em;font-variant-numeric:tabular-nums}
.badge{display:inline-block;margin-left:8px;padding:1px 8px;border-radius:9px;background:#c2410c;font-size:.8rem;
animation:pulse 1.4s ease-in-out infinite}
@keyframes pulse{0%{opacity:1;transform:scale(1)}50%{opacity:.35;transform:scale(1.15)}
100%{opacity:1;transform:scale(1)}}
.gate{max-width:420px;margin:40px auto;padding:24px;border:1px solid #d6d2c8;border-radius:12px;background:#fff}
"""

# The lead form posts to the public leads route with the ctx of the page's own URL.
SITE_JS = """
(function () {
  var form = document.getElementById("lead");
  if (!form) { return; }
  var result = document.getElementById("lead-result");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    var body = {
      campaignId: form.dataset.campaign, email: data.get("email"), name: data.get("name") || undefined,
      formId: "lead", source: "landing-page", pageUrl: location.href,
      ctx: new URLSearchParams(location.search).get("ctx")
    };
    result.dataset.status = "sending";
    var sent = {method: "POST", headers: {"content-type": "application/json"}, body: JSON.stringify(body)};
    fetch(form.dataset.action, sent)
      .then(function (answer) {
        return answer.json().then(function (doc) { return [answer.status, doc]; });
      })
      .then(function (got) {
        result.dataset.status = String(got[0]);
        result.dataset.leadId = got[1].leadId || "";
        result.textContent = got[0] < 300 ? "Thank you: we will be in touch." : "Sorry, that did not work.";
      })
      .catch(function () {
        result.dataset.status = "0";
        result.textContent = "Sorry, the form could not be sent.";
      });
  });
})();
"""

# fault landing_strips_ctx: a site's script that "tidies" its URL once the page has loaded, dropping the
# click's ctx (the tags stay): what the page's lead form sends is then unattributed.
# (option params: the names it removes, the ctx by default; a utm tag, e.g., for a script that drops a tag)
STRIP_JS = """
window.addEventListener("load", function () {
  var url = new URL(location.href);
  %s
  history.replaceState(null, "", url.pathname + url.search + url.hash);
});
"""


def strip_js(names: tuple[str, ...]) -> str:
    return STRIP_JS % "\n  ".join(f"url.searchParams.delete({json.dumps(name)});" for name in names)


# fault landing_script_error: what a broken deploy of the site's script does. Its message carries
# markup, as page errors can: the report must show it as text, never run it.
BROKEN_JS = """
(function () {
  var offer = null;
  window.setTimeout(function () { document.title = document.title; }, 0);
  if (offer === null) {
    throw new Error("offer widget failed: <img src=x onerror=\\"fetch('/__pf_xss')\\"> has no price");
  }
})();
"""


def _hero_svg() -> str:
    """The hero image: a warm mosaic, heavy enough (about 40 KB) that Chromium counts it as the
    page's Largest Contentful Paint on every viewport, as a real photo would be (Chromium leaves
    out images of very few bytes per pixel)."""
    tiles = []
    for row in range(20):
        for column in range(40):
            shade = (row * 37 + column * 91) % 97
            color = f"#{200 + shade % 55:02x}{90 + (shade * 3) % 90:02x}{20 + (shade * 7) % 40:02x}"
            tiles.append(f'<rect x="{column * 30}" y="{row * 30}" width="30" height="30" fill="{color}"/>')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="600" viewBox="0 0 1200 600">'
        + "".join(tiles)
        + '<circle cx="930" cy="300" r="190" fill="#fff" opacity=".22"/>'
        '<text x="80" y="330" font-family="sans-serif" font-size="84" fill="#fff">Handmade for you</text></svg>'
    )


HERO_SVG = _hero_svg()


def _old_hero_svg() -> str:
    """Last season's hero (fault landing_changed): cool blues and another line, the same size."""
    tiles = []
    for row in range(20):
        for column in range(40):
            shade = (row * 53 + column * 29) % 89
            color = f"#{20 + shade % 40:02x}{70 + (shade * 5) % 80:02x}{150 + (shade * 3) % 100:02x}"
            tiles.append(f'<rect x="{column * 30}" y="{row * 30}" width="30" height="30" fill="{color}"/>')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="600" viewBox="0 0 1200 600">'
        + "".join(tiles)
        + '<text x="80" y="330" font-family="sans-serif" font-size="84" fill="#fff">Winter warmers</text></svg>'
    )


OLD_HERO_SVG = _old_hero_svg()


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


# fault lead_form_missing with emailOnly: the lead form without it (a shopper has nothing to fill in)
EMAIL_FIELD = (
    '<label for="email">Email</label><input id="email" name="email" type="email" required autocomplete="email">'
)


def landing_page(
    host: str,
    landing: SitePage | None,
    *,
    form: bool,
    email_field: bool = True,
    hero_delay_ms: int = 0,
    broken_script: bool = False,
    missing_asset: bool = False,
    inert_form: bool = False,
    changed: tuple[str, str] | None = None,
    strips: tuple[str, ...] = (),
    unmeasured: bool = False,
    checked_at: str = "",
) -> str:
    """The variant's page. `changed` (heading, hero: swapped or none): not the approved look;
    `strips`: the names its script drops from its URL after load (the ctx); `unmeasured`: a script in its head
    takes PerformanceObserver away, so no paint can be measured; `checked_at`: the time it shows
    (it changes on every visit: the config masks it)."""
    title = landing.title if landing else f"Welcome to {host}"
    heading = changed[0] if changed else title
    picture = "hero-old.svg" if changed and changed[1] == "swapped" else "hero.svg"
    hero = f"{ASSETS}/{picture}" + (f"?late={hero_delay_ms}" if hero_delay_ms else "")
    image = (
        "" if changed and changed[1] == "none" else f'<img id="hero" src="{_e(hero)}" width="1200" height="600" alt="">'
    )
    sheets = f'<link rel="stylesheet" href="{ASSETS}/site.css">'
    if unmeasured:
        sheets += "\n<script>window.PerformanceObserver = undefined;</script>"
    if missing_asset:
        sheets += f'\n<link rel="stylesheet" href="{ASSETS}/theme-2026.css">'
    lead = ""
    if landing is not None and landing.goal_type == "LEAD_CAPTURE" and form:
        action = f"/v2/public/handles/{landing.handle}/leads"
        lead = (
            f'<form id="lead" data-campaign="{_e(landing.campaign_id)}" data-action="{_e(action)}" novalidate>'
            "<h2>Get the offer</h2>"
            + EMAIL_FIELD
            * email_field
            + '<label for="name">Name</label><input id="name" name="name" type="text" autocomplete="name">'
            '<button type="submit">Send me the offer</button></form>'
            '<p id="lead-result" role="status"></p>'
        )
    data = f' data-campaign="{_e(landing.campaign_id)}" data-slug="{_e(landing.slug)}"' if landing else ""
    # inert_form: the form stays, the script that sends it is gone (a deploy that dropped it)
    scripts = "" if inert_form else f'<script src="{ASSETS}/site.js"></script>'
    if broken_script:
        scripts += f'\n<script src="{ASSETS}/offer-widget.js"></script>'
    if strips:
        scripts += f"\n<script>{strip_js(strips)}</script>"
    checked = f'<p class="checked">Prices checked at <time>{_e(checked_at)}</time></p>' if checked_at else ""
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)} · {_e(host)}</title>\n{sheets}\n{AD_TAGS}</head>\n"
        f'<body><header>{_e(host)}<span class="badge">New</span></header>\n'
        f'<main id="landing"{data}><h1 id="variant-title">{_e(heading)}</h1>{checked}{image}'
        "<p>Hand-picked pieces from independent makers, delivered across India.</p>"
        f"{lead}</main>\n{AD_BEACON}\n{scripts}\n</body></html>\n"
    )


def not_found_page(host: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Page not found</title>'
        f'<link rel="stylesheet" href="{ASSETS}/site.css"></head><body><header>{_e(host)}</header>'
        "<main><h1>Page not found</h1><p>This page does not exist (any more).</p></main></body></html>\n"
    )


def detail_page(deployment: Any, *, gated: bool, login_url: str, content_too: bool = False) -> str:
    """The published detail page: its content, or for a visitor without a session the login gate
    (`content_too`, fault detail_page_content_under_gate: and the content under it all the same)."""
    slug = deployment["details_page_slug"]
    content = f'<main id="page-content">{_sections(json.loads(deployment["schema"]))}</main>'
    if gated:
        body = (
            '<section id="login-gate" class="gate"><h1>Sign in to see this page</h1>'
            f"<p>{_e(slug)} is free for members.</p>"
            f'<form method="post" action="{_e(login_url)}"><label for="email">Email</label>'
            '<input id="email" name="email" type="email" required><button type="submit">Sign in</button>'
            "</form></section>"
        ) + (content if content_too else "")
    else:
        body = content
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{_e(slug)}</title><link rel="stylesheet" href="{ASSETS}/site.css"></head>'
        f"<body><header>{_e(deployment['handle'])}</header>{body}</body></html>\n"
    )


def _sections(schema: Any) -> str:
    sections = schema.get("sections") if isinstance(schema, dict) else None
    if not isinstance(sections, list):
        return f"<pre>{_e(json.dumps(schema, indent=2))}</pre>"
    parts = []
    for section in sections:
        if not isinstance(section, dict):
            continue
        kind = _e(section.get("type", "section"))
        heading = f"<h2>{_e(section['heading'])}</h2>" if section.get("heading") else ""
        text = f"<p>{_e(section['body'])}</p>" if section.get("body") else ""
        fields = "".join(
            f'<label>{_e(f.get("name"))}<input name="{_e(f.get("name"))}" type="{_e(f.get("type", "text"))}"></label>'
            for f in section.get("fields") or []
            if isinstance(f, dict)
        )
        parts.append(f'<section data-section="{kind}">{heading}{text}{fields}</section>')
    return "".join(parts)
