// Allure 3 configuration for campaign-preflight (read by `allure generate`, run from the repo root;
// relative paths here resolve against the working directory, not this file).
//
// Categories live here, not in allure-results: Allure 3 reads a results-dir categories.json only as
// metadata for the Allure 2-style plugins; the Awesome report takes its rules from `categories` below.
import { defineConfig } from "allure";

// The names of preflight.failures.CATEGORIES, in its order (tests/unit/test_report_allure_config.py
// checks the two lists agree). A PreflightFailure's message starts with "[<category>]".
const PREFLIGHT_CATEGORIES = [
  "invalid_ctx",
  "stale_ctx_accepted",
  "missing_traffic_tags",
  "idempotency_dedupe",
  "lead_capture",
  "lead_missing_from_review",
  "publish_access_mode",
  "schema_fetch",
  "health_mismatch",
  "health_not_ready",
  "auth",
  "quota",
  "throttled",
  "platform_error",
  "attribution",
  "contract_violation",
  "config",
  "harness_error",
];

// allure-pytest records the message as pytest's `exconly()`, i.e. with the exception's qualified
// class name in front ("preflight.failures.PreflightFailure: [invalid_ctx] …"), so the prefix
// match allows that optional "<dotted.Name>: " before the bracketed category.
const categoryRule = (category) => ({
  id: `preflight.${category}`,
  name: category,
  matchers: [
    { statuses: ["failed", "broken"], message: new RegExp(`^(?:[\\w.]+: )?\\[${category}\\]`) },
    // The plugin may also label a test with its category (report.allure.set_category), which
    // catches harness errors whose message has no prefix (a KeyError in a fixture, say).
    { statuses: ["failed", "broken"], labels: { preflight_category: new RegExp(`^${category}$`) } },
  ],
  // The category already says what went wrong, and each message carries its own request ids, so
  // grouping by message would give one group per failure: list the tests directly instead.
  groupByMessage: false,
  expand: true,
});

export default defineConfig({
  name: "campaign-preflight",
  output: "reports/allure-report",
  // JSON lines, one per build: the report's history and retries tabs read it, every build appends.
  historyPath: "reports/history.jsonl",
  categories: {
    rules: [
      ...PREFLIGHT_CATEGORIES.map(categoryRule),
      // Fallbacks for anything unprefixed: an assertion is a product defect, any other error a test defect.
      { id: "preflight.product_defects", name: "Product defects", matchers: { statuses: ["failed"] } },
      { id: "preflight.test_defects", name: "Test defects", matchers: { statuses: ["broken"] } },
    ],
  },
  plugins: {
    awesome: {
      options: {
        reportName: "campaign-preflight",
        reportLanguage: "en",
        // Multi-file output: served over http by preflight.report.build.serve. A single-file
        // report would be singleFile: true (it opens from file:// too).
        singleFile: false,
        groupBy: ["feature", "story"],
      },
    },
  },
});
