"""The portal's URLs plus one that fails, for the browser test of the server-error page."""

from django.urls import path

from portal.urls import handler404, handler500  # noqa: F401
from portal.urls import urlpatterns as portal_urlpatterns


def fail(request):
    raise RuntimeError("a failure the server-error page must hide")


urlpatterns = [path("test-failure/", fail), *portal_urlpatterns]
