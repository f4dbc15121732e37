"""One module per lifecycle step, in UC-07's order. Plain functions: a step takes a
StepRun, talks to the platform through its client, records artifacts, and raises a
PreflightFailure when the platform breaks a promise of the contract."""
