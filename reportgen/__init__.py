"""reportgen: reproducible lecture handouts on gradient descent for linear regression."""

__version__ = "0.1.0"
