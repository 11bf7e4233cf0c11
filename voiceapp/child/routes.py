"""The child's journey, one step a module, in the order a child meets it.

Every page works without JavaScript, keeps nothing in the browser but the session cookie,
has the quick exit, and carries a neutral title ("My views"). What every page shares (the
blueprint, finding the child's journey, saving an answer, one screen at a time in pictures
mode) is in :mod:`.pages`.
"""

from . import (  # noqa: F401  (each module adds its pages to the blueprint)
    start, welcome, houses, files, safety, helper, meeting, sharing, sending, leaving,
)
from .pages import bp

__all__ = ["bp"]
