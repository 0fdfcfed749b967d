from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("", views.endpoint_list, name="endpoints"),
    path("new/", views.endpoint_create, name="endpoint_create"),
    path("<int:endpoint_id>/", views.endpoint_detail, name="endpoint_detail"),
    path("<int:endpoint_id>/test/", views.endpoint_test, name="endpoint_test"),
    path("<int:endpoint_id>/disable/", views.endpoint_disable, name="endpoint_disable"),
    path("<int:endpoint_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/", views.delivery_detail, name="delivery_detail"),
]
