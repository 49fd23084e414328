"""A steward fixes a row of a target derived from another app's model
(tests/targetapp, docs/targets.md) in the same editor as the demo targets':
the decimal rule's message, live validation, save and requeue."""

import pytest
from playwright.sync_api import expect

from common.roles import STEWARDS
from dq.models import Violation
from ingest import fields as rules
from tests.e2e.browser import assert_inputs_labelled, log_in, screenshot
from tests.factories import UserFactory
from tests.importing import import_checked
from tests.targetapp.models import Product

pytestmark = pytest.mark.django_db(transaction=True)

SUPPLIERS = b"external_id,name,country\nORG-1,Acme Supplies,DE\n"
PRODUCTS = (
    b"sku,name,price,in_stock,category,supplier_external_id\n"
    b"P-1,Widget,19.90,yes,hardware,ORG-1\n"
    b'P-3,Doohickey,"12,50",yes,Hardware,ORG-1\n'
)


def test_steward_fixes_a_product_row_in_the_editor(watched_page, run_jobs):
    import_checked(SUPPLIERS, filename="suppliers.csv")
    import_checked(PRODUCTS, filename="products.csv", target="product")
    violation = Violation.objects.get()
    page = watched_page
    UserFactory(username="stella", role=STEWARDS)
    log_in(page, "stella")

    page.goto(f"{page.base_url}/admin/dq/violation/?target=product")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    page.goto(f"{page.base_url}/admin/dq/violation/{violation.pk}/change/")
    page.wait_for_function(
        "document.activeElement && document.activeElement.name === 'field__price'"
    )
    assert page.locator("#err-price").inner_text().strip() == rules.MSG_DECIMAL
    assert_inputs_labelled(page)
    screenshot(page, "product_editor")

    price = page.get_by_label("price", exact=True)
    price.fill("12.505")
    page.wait_for_selector(f"#err-price:has-text('{rules.MSG_DECIMAL_PLACES[:20]}')")
    price.fill("12.50")
    page.wait_for_selector("#dq-live:has-text('No errors')")
    page.get_by_role("button", name="Save and requeue").click()
    expect(page.locator(".messagelist li.success")).to_contain_text("Requeued 1 violation(s)")

    run_jobs()
    page.reload()
    assert page.locator(".dq-status").inner_text().strip().lower() == "resolved"
    product = Product.objects.get(sku="P-3")
    assert (str(product.price), product.category, product.supplier.name) == (
        "12.50",
        "hardware",
        "Acme Supplies",
    )
