"""What the browser journeys share besides fixtures: logging in, taking
screenshots, checking that inputs are labelled."""

import os
from pathlib import Path

from tests.factories import PASSWORD

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def log_in(page, username: str) -> None:
    """Log in on the admin's form as a user made by tests/factories.py."""
    page.goto(f"{page.base_url}/admin/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def screenshot(page, name: str) -> None:
    if os.environ.get("IMPORTER_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


UNLABELLED_JS = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter((el) => el.type !== 'hidden' && el.type !== 'submit' && el.type !== 'button' && el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
  .map((el) => el.outerHTML.slice(0, 160))"""


def assert_inputs_labelled(page) -> None:
    """Every visible input on the page has a label a screen reader can say."""
    assert page.evaluate(UNLABELLED_JS) == [], page.url
