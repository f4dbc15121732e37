"""The preflight run's fixtures (the plugin itself loads through its pytest11 entry point)."""

pytest_plugins = ["fixtures.browser", "fixtures.campaigns", "fixtures.clicks", "fixtures.fakes", "fixtures.live"]
