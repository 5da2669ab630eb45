"""Checkout and order routes (root paths, as in the original CloudCart)."""

from django.urls import re_path

from orders import views

# Order ids are 32 hex characters; anything else is a 404 without a DynamoDB call.
ORDER_ID = r"(?P<order_id>[0-9a-f]{32})"

urlpatterns = [
    re_path(r"^checkout$", views.CheckoutView.as_view(), name="checkout"),
    re_path(r"^orders$", views.OrderListView.as_view(), name="order-list"),
    re_path(rf"^orders/{ORDER_ID}$", views.OrderDetailView.as_view(), name="order-detail"),
    re_path(rf"^orders/{ORDER_ID}/cancel$", views.OrderCancelView.as_view(), name="order-cancel"),
]
