"""The BeautifulSoup 3 name that ansible's apache2_mod_proxy imports, served by
Debian's BeautifulSoup 4 (python3-bs4) with Python's own HTML parser."""
from bs4 import BeautifulSoup as _Soup


def BeautifulSoup(markup):  # noqa: N802 (the old module's name)
    return _Soup(markup, "html.parser")
