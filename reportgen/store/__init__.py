"""What a report holds and where it lives: results schema, manifest, cache, atomic output.

Neither JAX nor the renderer is imported here.
"""
