"""Build script beside pyproject.toml: refuses to build without the native
library (run `make python` first) and marks the wheel as platform-specific,
since it carries libmlpc.so.0 and the mlpc program."""
import os
import sys

from setuptools import setup
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
NATIVE = os.path.join(HERE, "mlpc", "_native", "libmlpc.so.0")


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True


if any(cmd in sys.argv for cmd in ("bdist_wheel", "build", "build_py", "install", "develop", "editable_wheel")) \
        and not os.path.exists(NATIVE):
    sys.exit("mlpc: %s is missing: run `make python` in the repository root first" % NATIVE)

setup(distclass=BinaryDistribution)
