from setuptools import find_packages, setup

setup(name="app", version="1.4.2", packages=find_packages("src"), package_dir={"": "src"})
