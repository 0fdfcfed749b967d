"""City site addresses. ``site_patterns`` are a site's pages; they are served under ``/c/<slug>/``
(namespace ``cities``) and, on a city's own host, at its root (namespace ``city_host``,
``cities/host_urls.py``)."""

from django.urls import include, path

from cities import views

app_name = "cities"
site_patterns = [
    path("", views.home, name="home"),
    path("offers/", views.offers, name="offers"),
    path("news/", views.news_list, name="news_list"),
    path("news/<int:post_id>/", views.news_detail, name="news_detail"),
    path("about/", views.about, name="about"),
    path("manifest.webmanifest", views.site_manifest, name="manifest"),
    path("logo.png", views.logo, name="logo"),
    path("wechat-qr.png", views.wechat_qr, name="wechat_qr"),
    path("banners/<int:banner_id>.jpg", views.banner_image, name="banner_image"),
    path("icon-<int:size>.png", views.icon, name="icon"),
]
urlpatterns = [
    path("", views.chooser, name="chooser"),
    path("<slug:slug>/", include(site_patterns)),
]
