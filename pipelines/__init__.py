"""sixdeg: pipelines."""
