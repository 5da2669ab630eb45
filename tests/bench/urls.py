"""The app's routes plus the two baselines under `/_bench/` (bench settings only)."""

from django.urls import path

from cloudcart.urls import handler400, handler403, handler404, handler500  # noqa: F401
from cloudcart.urls import urlpatterns as app_urlpatterns
from tests.bench import views

# Last, so the baselines pay for the same URL resolution as the app's routes do.
urlpatterns = [
    *app_urlpatterns,
    path("_bench/constant", views.constant_json, name="bench-constant"),
    path("_bench/getitem", views.one_getitem, name="bench-getitem"),
    path("_bench/callgrind/<str:action>", views.callgrind_counting, name="bench-callgrind"),
]
