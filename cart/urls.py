"""Cart routes (root paths, no trailing slash)."""

from django.urls import path

from cart import views

urlpatterns = [
    path("cart", views.CartView.as_view(), name="cart"),
]
