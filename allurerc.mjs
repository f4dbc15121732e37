// Allure 3 configuration for campaign-preflight (read by `allure generate`, run from the repo root;
// relative paths here resolve against the working directory, not this file).
//
// Categories live here, not in allure-results: Allure 3 reads a results-dir categories.json only as
// metadata for the Allure 2-style plugins; the Awesome report takes its rules from `categories` below.
import { readFileSync } from "node:fs";
import { defineConfig } from "allure";

// What the run says about itself (verdict, matrix, history file), written by
// preflight.report.build for each view of the report; without it, a plain report.
const context = process.env.PREFLIGHT_REPORT_CONTEXT
  ? JSON.parse(readFileSync(process.env.PREFLIGHT_REPORT_CONTEXT, "utf8"))
  : {};

// Two views of the same results: the playbook's steps in order ("1 · Campaign health" …
// "7 · Readiness"), each with one group per campaign; and campaign → variant → step.
const VIEWS = {
  step: { groupBy: ["preflight_step", "campaign"], reportName: "by playbook step" },
  campaign: { groupBy: ["campaign", "variant", "preflight_step"], reportName: "by campaign" },
};
const view = VIEWS[context.view ?? "step"];

// The names of preflight.core.categories.Category, in its order (tests/unit/test_report_allure.py
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
  "meters_mismatch",
  "peak_window",
  "throttled",
  "platform_error",
  "attribution",
  "landing_page",
  "live_config",
  "link_lifetime",
  "ctx_lifetime",
  "routing",
  "destination_trust",
  "utm_policy",
  "no_conversion_signal",
  "test_residue",
  "contract_violation",
  "config",
  "harness_error",
];

// allure-pytest records the message as pytest's `exconly()`, i.e. with the exception's qualified
// class name in front ("preflight.lifecycle.failures.PreflightFailure: [invalid_ctx] …"), so the prefix
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
  // The report's title carries the verdict, the run and the target.
  name: context.name ?? "campaign-preflight",
  output: "reports/allure-report",
  // JSON lines, one per build, per target and reports folder: the history and trend tabs read it.
  historyPath: context.historyPath ?? "reports/history/report.jsonl",
  appendHistory: context.appendHistory ?? true,
  // Shown expanded above the test tree, on the first screen: the verdict and the readiness matrix.
  variables: context.variables ?? {},
  // The readiness matrix in full (an HTML page), in the Global Attachments tab.
  globalAttachments: context.globalAttachments ?? [],
  categories: {
    rules: [
      ...PREFLIGHT_CATEGORIES.map(categoryRule),
      // A skip is never a pass: one that could not judge makes the verdict HOLD, one left out on
      // purpose is out of scope (preflight.report.judgement; the label is report.allure.set_skip_kind).
      {
        id: "preflight.unjudged",
        name: "Could not judge (HOLD: not proven ready)",
        matchers: { statuses: ["skipped"], labels: { preflight_skip: /^unjudged$/ } },
        groupByMessage: false,
        expand: true,
      },
      {
        id: "preflight.by_choice",
        name: "Not checked, by choice",
        matchers: { statuses: ["skipped"], labels: { preflight_skip: /^by choice$/ } },
        groupByMessage: false,
      },
      // Fallbacks for anything unprefixed: an assertion is a product defect, any other error a test defect.
      { id: "preflight.product_defects", name: "Product defects", matchers: { statuses: ["failed"] } },
      { id: "preflight.test_defects", name: "Test defects", matchers: { statuses: ["broken"] } },
    ],
  },
  plugins: {
    awesome: {
      options: {
        reportName: view.reportName,
        reportLanguage: "en",
        // Multi-file output is served over http (preflight.report.build.serve); a single-file
        // report (preflight run --single-file) opens from file:// too.
        singleFile: context.singleFile ?? false,
        groupBy: view.groupBy,
        // The groups are numbered in playbook order: sorting by name keeps them so.
        defaultSortBy: "name,asc",
      },
    },
  },
});
