"""Configuration files shipped inside the package (found by importlib)."""
