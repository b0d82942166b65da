"""Views of the work side, one module per page family."""
