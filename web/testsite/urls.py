"""Postorius and the accounts pages, as a site mounts them; the Bounces
pages join Postorius's list pages by themselves."""

from django.urls import include, path

urlpatterns = [
    path('postorius/', include('postorius.urls')),
    path('accounts/', include('allauth.urls')),
    path('', include('django_mailman3.urls')),
]
