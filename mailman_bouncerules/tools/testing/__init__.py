"""Helpers for the plugin's tests and demo: bounces in real MTAs' styles."""
