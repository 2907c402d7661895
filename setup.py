"""Packaging: one import namespace, ``sharespec``, over four top-level folders.

The folders model/, generators/ and impl/ sit beside sharespec/ (the user asked for this top
level), so their packages are found here, walking each folder, rather than listed by hand: an
explicit list silently drops a new subpackage from the wheel while editable installs keep
working (tests/host/test_packaging.py builds the wheel and checks).
"""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
FOLDERS = {"sharespec": "sharespec", "sharespec.model": "model",
           "sharespec.generators": "generators", "sharespec.impl": "impl"}


def packages_and_dirs():
    packages, dirs = [], {}
    for package, folder in FOLDERS.items():
        dirs[package] = folder
        packages.append(package)
        for sub in find_packages(where=str(HERE / folder)):
            if package == "sharespec" and sub.split(".")[0] in ("model", "generators", "impl"):
                continue
            name = f"{package}.{sub}"
            packages.append(name)
            dirs[name] = f"{folder}/{sub.replace('.', '/')}"
    return packages, dirs


PACKAGES, PACKAGE_DIR = packages_and_dirs()

setup(packages=PACKAGES, package_dir=PACKAGE_DIR)
