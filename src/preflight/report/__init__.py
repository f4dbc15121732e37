"""Reporting: Allure calls (allure.py), gate.json and summary.md (gate.py), the HTML build (build.py)."""
