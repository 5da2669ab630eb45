"""Answers that belong to one client carry `Cache-Control: private, no-store`, errors included;
public catalog answers stay cacheable."""

PRIVATE = "private, no-store"


def test_cart_answers_are_private(api, make_product):
    product = make_product()
    assert api.get("/cart")["Cache-Control"] == PRIVATE
    added = api.post("/cart", {"id": product.id, "qty": 1}, format="json")
    assert added.status_code == 200
    assert added["Cache-Control"] == PRIVATE
    refused = api.post("/cart", {"id": product.id, "qty": 0}, format="json")
    assert refused.status_code == 400
    assert refused["Cache-Control"] == PRIVATE


def test_checkout_and_order_answers_are_private(api, make_product):
    product = make_product(stock=5)
    placed = api.post("/checkout", {"items": [{"id": product.id, "qty": 1}]}, format="json")
    assert placed.status_code == 202
    assert placed["Cache-Control"] == PRIVATE
    assert api.get(placed["Location"])["Cache-Control"] == PRIVATE
    missing = api.get("/orders/" + "0" * 32)
    assert missing.status_code == 404
    assert missing["Cache-Control"] == PRIVATE
    assert api.post("/checkout", {"items": []}, format="json")["Cache-Control"] == PRIVATE


def test_the_callers_account_is_private(api):
    assert api.get("/me")["Cache-Control"] == PRIVATE


def test_any_answer_to_a_request_with_credentials_is_private(api, make_product):
    product = make_product()
    assert api.get(f"/products/{product.id}")["Cache-Control"].startswith("public")
    with_credentials = api.get(f"/products/{product.id}", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert with_credentials["Cache-Control"] == PRIVATE
