"""The member app's files at the root of the site: its manifest, its service worker (whose scope is
the folder it is served from, hence the root) and the page it shows without a connection."""

from django.urls import path

from cities import views

app_name = "pwa"
urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("offline/", views.offline, name="offline"),
]
