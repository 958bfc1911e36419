"""The shipped handout configs (package data: ``reportgen.reports``)."""
