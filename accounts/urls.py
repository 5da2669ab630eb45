"""Account routes (root paths): `/me` and `/auth/*`."""

from django.urls import path

from accounts import views

urlpatterns = [
    path("me", views.MeView.as_view(), name="me"),
]
