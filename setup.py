"""Packaging shim: everything is in pyproject.toml except one thing setuptools' finder cannot express.

The scenario files live at the top level (problems/), mapped by pyproject's package-dir to the package
`optsandbox._problems`; the finder only discovers folders that exist under optsandbox/, so that mapped
package is added here by name.
"""
from setuptools import find_packages, setup

setup(packages=find_packages(include=["optsandbox", "optsandbox.*"]) + ["optsandbox._problems"])
