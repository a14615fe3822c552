from django.urls import path

from tests.app import views

urlpatterns = [path("items/", views.items)]
