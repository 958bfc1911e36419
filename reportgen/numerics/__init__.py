"""The compute layer: JAX only, pure functions from a config to plain results.

Never imports matplotlib, Jinja or WeasyPrint; changes no global state on import
(``runtime.configure_jax`` is the one explicit call that does). The package is named
``numerics`` rather than ``compute`` because ``reportgen.compute`` is the public API
function: importing a submodule binds its name on the parent package, and a package
called ``compute`` would replace the function.
"""
