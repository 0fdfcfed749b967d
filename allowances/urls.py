from django.urls import path

from allowances import views

app_name = "allowances"

urlpatterns = [
    path("me/allowances/", views.my_allowances, name="mine"),
]
