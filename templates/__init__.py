"""The shipped Jinja templates and CSS (package data: ``reportgen.templates``)."""
