"""The `preflight` subcommands besides `run` and `sandbox`: each a plain module with
`add_parser(commands)` and a handler that returns the exit code."""
