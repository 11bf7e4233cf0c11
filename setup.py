"""The build step that puts the top-level folders into the wheel.

``templates/``, ``static/``, ``translations/`` and ``migrations/`` stay at the top of the
checkout, where people edit them. Building a wheel copies them into the ``voiceapp``
package and compiles each translation catalogue (``messages.po``) into the
``messages.mo`` that Flask-Babel reads; :mod:`voiceapp.resources` finds them there once
installed. Everything else is in ``setup.cfg``.
"""

import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
SHIPPED = runpy.run_path(str(HERE / "voiceapp" / "resources.py"))["SHIPPED"]


def compile_catalogues(translations: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in translations.glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as handle:
            catalogue = read_po(handle)
        with po_path.with_suffix(".mo").open("wb") as handle:
            write_mo(handle, catalogue)


class build_py_with_folders(build_py):
    def run(self) -> None:
        package = Path(self.build_lib) / "voiceapp"
        if not self.editable_mode:
            # pip builds inside the source folder: without this, a module or template that
            # a newer release removed would linger in build/ and ship again.
            shutil.rmtree(package, ignore_errors=True)
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's own folders
            return
        for name in SHIPPED:
            target = package / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(HERE / name, target,
                            ignore=shutil.ignore_patterns("__pycache__", "*.py[co]", "*.mo"))
        compile_catalogues(package / "translations")


setup(cmdclass={"build_py": build_py_with_folders})
