"""A minimal Postorius site with the Bounces tab, for the panel's tests
(and to try the panel by hand: `django-admin runserver
--settings=testsite.settings` with `web/` on PYTHONPATH).

Core's address and credentials come from the environment, as the tests
start a core of their own on a free port.
"""

import importlib.util
import os
from pathlib import Path

BASE_DIR = Path(os.environ.get('BOUNCERULES_WEB_DIR', '/tmp/bouncerules-web'))
SECRET_KEY = 'only-for-tests-and-trials'
DEBUG = False
ALLOWED_HOSTS = ['localhost', '127.0.0.1', 'testserver']
SITE_ID = 1

INSTALLED_APPS = [
    # Before Postorius: its list menu is found first (see the app's checks).
    'mailman_bouncerules_web',
    'postorius',
    'django_mailman3',
    'django.contrib.admin',
    'django.contrib.auth',
    'django.contrib.contenttypes',
    'django.contrib.sessions',
    'django.contrib.sites',
    'django.contrib.messages',
    'django.contrib.staticfiles',
    'django.contrib.humanize',
    'django_gravatar',
    'allauth',
    'allauth.account',
    'allauth.socialaccount',
]

MIDDLEWARE = [
    'django.contrib.sessions.middleware.SessionMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.csrf.CsrfViewMiddleware',
    'django.middleware.locale.LocaleMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
    'django.contrib.messages.middleware.MessageMiddleware',
    'django_mailman3.middleware.TimezoneMiddleware',
    'postorius.middleware.PostoriusMiddleware',
]
# django-allauth 0.56 and later want their middleware; 0.51 (Debian 12's)
# has none.
if importlib.util.find_spec('allauth.account.middleware') is not None:
    MIDDLEWARE.insert(MIDDLEWARE.index(
        'django_mailman3.middleware.TimezoneMiddleware'),
        'allauth.account.middleware.AccountMiddleware')

ROOT_URLCONF = 'testsite.urls'

TEMPLATES = [{
    'BACKEND': 'django.template.backends.django.DjangoTemplates',
    'DIRS': [],
    'APP_DIRS': True,
    'OPTIONS': {'context_processors': [
        'django.template.context_processors.debug',
        'django.template.context_processors.i18n',
        'django.template.context_processors.request',
        'django.contrib.auth.context_processors.auth',
        'django.contrib.messages.context_processors.messages',
        'django_mailman3.context_processors.common',
        'postorius.context_processors.postorius',
    ]},
}]

DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3',
                         'NAME': str(BASE_DIR / 'web.sqlite3')}}
AUTHENTICATION_BACKENDS = ['django.contrib.auth.backends.ModelBackend',
                           'allauth.account.auth_backends.AuthenticationBackend']
LOGIN_URL = 'account_login'
LOGOUT_URL = 'account_logout'
LOGIN_REDIRECT_URL = 'list_index'
STATIC_URL = '/static/'
STATIC_ROOT = str(BASE_DIR / 'static')
USE_TZ = True
DEFAULT_AUTO_FIELD = 'django.db.models.AutoField'
ACCOUNT_EMAIL_VERIFICATION = 'none'
ACCOUNT_DEFAULT_HTTP_PROTOCOL = 'http'
EMAIL_BACKEND = 'django.core.mail.backends.locmem.EmailBackend'

MAILMAN_REST_API_URL = os.environ.get('MAILMAN_REST_API_URL',
                                      'http://127.0.0.1:8001')
MAILMAN_REST_API_USER = os.environ.get('MAILMAN_REST_API_USER', 'restadmin')
MAILMAN_REST_API_PASS = os.environ.get('MAILMAN_REST_API_PASS', 'restpass')
MAILMAN_ARCHIVER_KEY = 'unused'
MAILMAN_ARCHIVER_FROM = ('127.0.0.1',)
POSTORIUS_TEMPLATE_BASE_URL = 'http://127.0.0.1:8000'
