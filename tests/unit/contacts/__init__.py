"""Unit tests of the pure contact import steps (pipelines/contacts: detect, parse, normalize)."""
