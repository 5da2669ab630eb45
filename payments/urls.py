"""Payment routes: the owner's payment call, Stripe's webhook and staff refunds."""

from django.urls import re_path

from orders.urls import ORDER_ID
from payments import staff_views, views

urlpatterns = [
    re_path(rf"^orders/{ORDER_ID}/payment$", views.OrderPaymentView.as_view(), name="order-payment"),
    re_path(r"^webhooks/stripe$", views.StripeWebhookView.as_view(), name="stripe-webhook"),
    re_path(rf"^orders/{ORDER_ID}/refunds$", staff_views.OrderRefundView.as_view(), name="order-refunds"),
]
