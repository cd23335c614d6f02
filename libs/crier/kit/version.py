"""The installed distribution's version, for User-Agent headers and `crier --version`."""

from importlib import metadata

try:
    VERSION = metadata.version("crier-social")
except metadata.PackageNotFoundError:  # a checkout that was never installed
    VERSION = "0.0.0"
