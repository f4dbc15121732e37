"""The shopper's browser: headless Chromium driven by Playwright (launch, what it blocks, what it
records on a visit, the evidence it leaves). Facts only; the lifecycle step judges them."""
