"""The web shop's routes: /shop/config.json, then index.html for /shop and everything under it."""

from django.urls import path, re_path

from shop import views

urlpatterns = [
    path("shop/config.json", views.ShopConfigView.as_view(), name="shop-config"),
    re_path(r"^shop(?:/(?P<path>.*))?$", views.shop_index, name="shop"),
]
