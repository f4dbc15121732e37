"""The scripts a visit runs in the page to measure it (facts the browser reports, read once the page
has settled)."""

from __future__ import annotations

# The Largest Contentful Paint of the page: the last candidate the browser reported once every image
# is decoded and three more frames were presented (an image's entry follows its paint; the buffered
# entries hold every earlier candidate). On a loaded machine an entry can come later than that: while
# a visible image larger than the last candidate has no entry of its own (or there is none at all),
# its entry is waited for, at most LCP_WAIT_MS; else a slow hero image would pass as the headline's
# early paint. Events, not a fixed wait.
LCP_WAIT_MS = 2000
LCP_SCRIPT = """async () => {
  await Promise.all(Array.from(document.images, (image) => image.decode().catch(() => null)));
  return await new Promise((resolve) => {
  let last = null;
  let observer = null;
  let waiting = false;
  let finished = false;
  const painted = new Set();
  const take = (entries) => { for (const entry of entries) { last = entry; painted.add(entry.element); } };
  const visibleArea = (element) => {
    const box = element.getBoundingClientRect();
    const width = Math.min(box.right, innerWidth) - Math.max(box.left, 0);
    const height = Math.min(box.bottom, innerHeight) - Math.max(box.top, 0);
    return Math.max(0, width) * Math.max(0, height);
  };
  const unreported = () => !last || Array.from(document.images).some((image) =>
    image.complete && image.naturalWidth > 0 && !painted.has(image) && visibleArea(image) > last.size);
  const finish = () => {
    if (finished) { return; }
    finished = true;
    if (observer) { take(observer.takeRecords()); observer.disconnect(); }
    const node = last && last.element;
    const element = node ? node.tagName.toLowerCase() + (node.id ? "#" + node.id : "") : null;
    resolve(last ? {ms: last.startTime, element: element, url: last.url || null} : null);
  };
  const settle = () => {
    if (observer) { take(observer.takeRecords()); }
    if (!unreported()) { finish(); } else { waiting = true; setTimeout(finish, __WAIT_MS__); }
  };
  try {
    observer = new PerformanceObserver((list) => {
      take(list.getEntries());
      if (waiting && !unreported()) { finish(); }
    });
    observer.observe({type: "largest-contentful-paint", buffered: true});
  } catch (error) { resolve(null); return; }
  requestAnimationFrame(() => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(settle, 0))));
  });
}""".replace("__WAIT_MS__", str(LCP_WAIT_MS))
LOAD_SCRIPT = """() => {
  const nav = performance.getEntriesByType("navigation")[0];
  return nav ? nav.loadEventEnd : null;
}"""

# What the page's own scripts left of its URL and its main heading, once they have run.
PAGE_SCRIPT = """() => {
  const heading = document.querySelector("h1");
  return {href: location.href, heading: heading ? (heading.innerText || "").trim().slice(0, 300) : ""};
}"""
