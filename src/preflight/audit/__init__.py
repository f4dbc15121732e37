"""The audit of the live campaign the ads point at (`preflight audit`): reads only.

One module per check of the audit's declaration (lifecycle/playbook.py, kind audit): plain
functions taking a `StepRun` of the live campaign (live ids, not a throwaway copy) and the
process's shared `LiveReads`, raising `checks.fail(Category.…)` with the fix. The pure rules
(routing order, UTM policy, lifetime, trust) are functions of the answers alone.
"""
