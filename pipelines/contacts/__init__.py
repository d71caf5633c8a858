"""Contact import: the pure steps (detect, parse, normalize) that turn an uploaded file into plain records.

Nothing here touches a database or a service. `parse.parse_file` streams a file into `ParsedContact` and
`RowError` records; `normalize.normalize` turns each `ParsedContact` into a `NormalizedContact` (or a
`RowError`). docs/import-formats.md says what each format maps to and what is rejected.
"""
