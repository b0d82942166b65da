"""Read models: what pages and the API show, computed from the models (no writes)."""
