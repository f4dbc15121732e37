"""The lifecycle, usable without pytest: UC-07's steps declared once (`playbook`), the live
campaign model, one module per step (`steps/`), the assertions and failures they raise and how
a failure is classified, throwaway campaigns, the journal of what a run enabled, and shards."""
