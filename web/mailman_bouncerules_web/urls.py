"""The Bounces pages, under Postorius's `lists/<list_id>/`.

`AppConfig.ready()` adds them to Postorius's list pages, so they appear
wherever a site mounts Postorius; a site may instead include
`list_patterns` itself (see apps.py).
"""

from django.urls import path, re_path

from mailman_bouncerules_web import views

# An address as Mailman accepts it: a local part may hold '/' and even '@'
# ("a@b"@example.org, accepted unquoted by an owner's mass subscribe); a
# domain holds neither.
EMAIL = r'(?P<email>.+@[^@/]+)'

list_patterns = [
    path('bounces/', views.overview, name='bouncerules_overview'),
    path('bounces/bulk/reenable/', views.bulk_reenable,
         name='bouncerules_bulk_reenable'),
    re_path(r'^bounces/members/%s/$' % EMAIL, views.member,
            name='bouncerules_member'),
    re_path(r'^bounces/members/%s/reenable/$' % EMAIL, views.reenable,
            name='bouncerules_reenable'),
    re_path(r'^bounces/members/%s/undo/$' % EMAIL, views.undo,
            name='bouncerules_undo'),
    path('bounces/holds/', views.holds, name='bouncerules_holds'),
    re_path(r'^bounces/holds/(?P<hold_id>[0-9]{1,10})/'
            r'(?P<decision>release|discard)/$', views.decide_hold,
            name='bouncerules_decide_hold'),
    path('bounces/campaigns/', views.campaigns, name='bouncerules_campaigns'),
    path('bounces/settings/', views.settings, name='bouncerules_settings'),
    path('bounces/try/', views.try_bounce, name='bouncerules_try'),
]
