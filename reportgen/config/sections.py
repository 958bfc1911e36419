"""The config's numeric sections: the data, the loss-surface grid, the runs, the sweep and
the PDF; each a frozen pydantic model whose attribute docstrings are the JSON Schema's."""

from __future__ import annotations

import math
from typing import Literal, get_args

from pydantic import Field, StrictInt, field_validator, model_validator

from reportgen.config.fields import BoundedPair, Finite, Name, Pair, StrictModel, check_range
from reportgen.config.limits import (
    MAX_MAGNITUDE,
    SURFACE_MEMORY_SHARE,
    physical_memory_bytes,
    surface_bytes,
)
from reportgen.optimizers import DEFAULTS, OptimizerName


class DataConfig(StrictModel):
    """How the synthetic data are made: y = theta0 + theta1 * x + noise * N(0, 1)."""

    n: StrictInt = Field(100, ge=2, le=100_000_000)  # a line needs two points
    """How many points (x, y): at least 2, for a line."""
    theta: BoundedPair = (4.0, 3.0)
    """The true intercept and slope [theta0, theta1] the data are drawn from."""
    x_range: Pair = (0.0, 2.0)
    """x is uniform on this interval [low, high]."""
    noise: Finite = Field(1.0, ge=0.0, le=MAX_MAGNITUDE)
    """Standard deviation of the Gaussian noise added to y."""
    rng: Literal["numpy-legacy", "jax"] = "numpy-legacy"
    """The random stream: the source notebook's numpy RandomState, or jax.random."""

    _x_range_increasing = field_validator("x_range")(check_range)


class SurfaceConfig(StrictModel):
    """The (theta0, theta1) grid on which the loss surface is evaluated."""

    theta0: Pair = (-10.0, 10.0)
    """The grid's intercept axis [from, to]."""
    theta1: Pair = (-10.0, 10.0)
    """The grid's slope axis [from, to]."""
    resolution: StrictInt = Field(100, ge=2)
    """Points per axis (resolution x resolution losses)."""
    method: Literal["auto", "exact", "stats"] = "auto"
    """exact (every sample, vmapped and chunked), stats (sufficient statistics, O(1) per
    point) or auto."""

    _ranges_increasing = field_validator("theta0", "theta1")(check_range)

    @field_validator("resolution")
    @classmethod
    def _fits_in_memory(cls, resolution: int) -> int:
        need = surface_bytes(resolution)
        have = physical_memory_bytes() * SURFACE_MEMORY_SHARE
        if need > have:
            limit = int(math.sqrt(have / 32))
            raise ValueError(
                f"expected at most {limit} on this machine (a {resolution}x{resolution} grid "
                f"needs {need / 2**30:.1f} GiB), got {resolution}"
            )
        return resolution


class RunConfig(StrictModel):
    """One optimizer run; settings follow optax's names and defaults."""

    name: Name = "Batch gradient descent"
    """The run's name in the handout."""
    optimizer: OptimizerName = "gd"
    """The update rule (optax): gd, momentum, nesterov, adam or rmsprop."""
    learning_rate: Finite = Field(0.1, gt=0.0)
    """The step size eta."""
    epochs: StrictInt = Field(10, ge=1, le=1_000_000)
    """Passes over the data; full batch: one step per epoch."""
    batch_size: StrictInt | None = Field(None, ge=1)
    """Points per step, shuffled each epoch; unset: all n (full batch); 1: SGD."""
    init: Literal["random"] | BoundedPair = "random"
    """The start: "random" (from the seed's stream) or [theta0, theta1]."""
    momentum: Finite = Field(DEFAULTS["momentum"], ge=0.0, lt=1.0)
    """momentum and nesterov: the velocity's decay (optax.sgd's momentum)."""
    b1: Finite = Field(DEFAULTS["b1"], ge=0.0, lt=1.0)
    """adam: decay of the gradient's running mean."""
    b2: Finite = Field(DEFAULTS["b2"], ge=0.0, lt=1.0)
    """adam: decay of the squared gradient's running mean."""
    decay: Finite = Field(DEFAULTS["decay"], ge=0.0, lt=1.0)
    """rmsprop: decay of the squared gradient's running mean."""
    eps: Finite = Field(DEFAULTS["eps"], gt=0.0)
    """adam and rmsprop: added to the denominator."""


def batch_size(run: RunConfig, n: int) -> int:
    """A run's batch size with ``n`` points: all of them when unset (full batch)."""
    return n if run.batch_size is None else run.batch_size


class SweepConfig(StrictModel):
    """Full-batch runs at many learning rates, computed in one vectorised call."""

    rates: list[Finite] | None = Field(None, max_length=100_000)
    """The learning rates (or give min_rate, max_rate and num)."""
    min_rate: Finite | None = Field(None, gt=0.0)
    """The smallest rate of a log-spaced sweep."""
    max_rate: Finite | None = Field(None, gt=0.0)
    """The largest rate of a log-spaced sweep."""
    num: StrictInt = Field(64, ge=2, le=100_000)
    """How many log-spaced rates between min_rate and max_rate."""
    epochs: StrictInt = Field(100, ge=1, le=1_000_000)
    """Full-batch steps at every rate."""
    init: BoundedPair = (0.0, 0.0)
    """The common start [theta0, theta1]."""

    @model_validator(mode="after")
    def _rates_given_once(self) -> SweepConfig:
        if self.rates is not None:
            if self.min_rate is not None or self.max_rate is not None:
                raise ValueError("give either rates or min_rate/max_rate, not both")
            if not self.rates or any(rate <= 0 for rate in self.rates):
                raise ValueError("expected rates to be a non-empty list of positive numbers")
        elif self.min_rate is None or self.max_rate is None:
            raise ValueError("expected rates = [...] or both min_rate and max_rate")
        elif not self.min_rate < self.max_rate:
            raise ValueError("expected min_rate < max_rate")
        return self

    def rate_count(self) -> int:
        """How many learning rates the sweep runs (without computing them)."""
        return len(self.rates) if self.rates is not None else self.num

    def learning_rates(self) -> list[float]:
        """The rates, given or spaced evenly on a log axis."""
        if self.rates is not None:
            return list(self.rates)
        assert self.min_rate is not None and self.max_rate is not None
        low, high = math.log10(self.min_rate), math.log10(self.max_rate)
        step = (high - low) / (self.num - 1)
        return [10 ** (low + i * step) for i in range(self.num)]


#: The PDF standards a handout may claim (WeasyPrint's ``pdf_variant``); every one is tagged.
PdfStandard = Literal["pdf/ua-1", "pdf/a-3a", "pdf/a-3b", "pdf/a-3u"]
PDF_STANDARDS: tuple[str, ...] = get_args(PdfStandard)


class PdfConfig(StrictModel):
    """How the PDF is written: always tagged; PDF/UA-1 (accessible) or PDF/A-3 (archival,
    which allows the attached config and results)."""

    standard: PdfStandard = "pdf/ua-1"
    """The PDF standard claimed: pdf/ua-1 (accessible) or a PDF/A-3 level (archival)."""
