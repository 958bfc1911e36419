"""The algorithm beside each update rule: about ten lines of plain numpy, shown as code.

Each snippet is the whole method for the handout's problem (``X`` is the n x 2 design
matrix [1, x], ``y`` the targets, ``theta`` the start) and follows optax's update rule
exactly, so a reader can run it and get the handout's numbers: the test suite does that
against the computed runs.
"""

from __future__ import annotations

__all__ = ["ALGORITHMS", "rule_of"]

#: Rule name (an optimizer, or "minibatch" for gradient descent on batches) -> code.
ALGORITHMS: dict[str, str] = {
    "gd": '''\
def gradient_descent(X, y, theta, eta, steps):
    n = len(y)
    for k in range(steps):
        residual = y - X @ theta
        grad = -2 / n * X.T @ residual
        theta = theta - eta * grad
    return theta''',
    "minibatch": '''\
def minibatch_gd(X, y, theta, eta, epochs, batch, rng):
    n = len(y)
    for epoch in range(epochs):
        order = rng.permutation(n)    # a new shuffle
        for start in range(0, n, batch):
            B = order[start:start + batch]
            residual = y[B] - X[B] @ theta
            grad = -2 / len(B) * X[B].T @ residual
            theta = theta - eta * grad
    return theta''',
    "momentum": '''\
def momentum(X, y, theta, eta, beta, steps):
    n = len(y)
    v = np.zeros_like(theta)          # velocity
    for k in range(steps):
        grad = -2 / n * X.T @ (y - X @ theta)
        v = beta * v + grad
        theta = theta - eta * v
    return theta''',
    "nesterov": '''\
def nesterov(X, y, theta, eta, beta, steps):
    n = len(y)
    v = np.zeros_like(theta)
    for k in range(steps):
        grad = -2 / n * X.T @ (y - X @ theta)
        v = beta * v + grad
        # step along the updated velocity, plus the gradient
        theta = theta - eta * (beta * v + grad)
    return theta''',
    "adam": '''\
def adam(X, y, theta, eta, b1, b2, eps, steps):
    n = len(y)
    m = np.zeros_like(theta)          # mean of gradients
    v = np.zeros_like(theta)          # mean of squares
    for k in range(1, steps + 1):
        g = -2 / n * X.T @ (y - X @ theta)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        m_hat = m / (1 - b1**k)       # bias corrections
        v_hat = v / (1 - b2**k)
        theta = theta - eta * m_hat / (np.sqrt(v_hat) + eps)
    return theta''',
    "rmsprop": '''\
def rmsprop(X, y, theta, eta, decay, eps, steps):
    n = len(y)
    s = np.zeros_like(theta)          # mean of squares
    for k in range(steps):
        g = -2 / n * X.T @ (y - X @ theta)
        s = decay * s + (1 - decay) * g**2
        theta = theta - eta * g / np.sqrt(s + eps)
    return theta''',
}


def rule_of(optimizer: str, minibatch: bool) -> str:
    """The key of :data:`ALGORITHMS` (and of the update-rule equation) of a run."""
    return "minibatch" if optimizer == "gd" and minibatch else optimizer
