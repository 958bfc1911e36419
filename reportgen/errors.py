"""Errors about one argument of a library function, named by its parameter.

The pipeline and the course tools are called by two front ends that spell an argument
differently: ``--jobs`` on the command line, ``jobs=`` in Python. A lower layer raises an
error that names the parameter (``jobs``) and says what is wrong (``problem``); each
front end words it in its own terms (``cli.error_line``, ``api``), so neither sees the
other's spelling.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from reportgen.config.errors import ConfigError

E = TypeVar("E", bound="NamesParameter")


class NamesParameter:
    """Mixin: an error about the argument ``parameter``; ``problem`` says what is wrong.

    ``str()`` is one line: the front end's wording when one was given (``worded``), else
    ``"parameter: problem"``.
    """

    parameter: str
    _wording: str | None = None

    @property
    def problem(self) -> str:
        """What is wrong with the argument, without its name."""
        raise NotImplementedError

    def worded(self: E, text: str) -> E:
        """A copy of this error (same type, same attributes) whose message is ``text``."""
        twin = copy.copy(self)
        twin._wording = text
        return twin

    def __str__(self) -> str:
        return self._wording or f"{self.parameter}: {self.problem}"


class ParameterError(NamesParameter, ConfigError):
    """A bad argument (a number of jobs, an executor, a scheduler address); a ConfigError,
    so bad input is still caught as one."""

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(parameter, problem)
        self.parameter = parameter
        self._problem = problem

    @property
    def problem(self) -> str:
        return self._problem

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.parameter, self._problem), dict(self.__dict__))
