"""Payment routes: the owner's payment call and Stripe's webhook."""

from django.urls import re_path

from orders.urls import ORDER_ID
from payments import views

urlpatterns = [
    re_path(rf"^orders/{ORDER_ID}/payment$", views.OrderPaymentView.as_view(), name="order-payment"),
    re_path(r"^webhooks/stripe$", views.StripeWebhookView.as_view(), name="stripe-webhook"),
]
