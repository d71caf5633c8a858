"""The graph: who knows whom. `port` is the interface, `paths` the algorithms every adapter shares, `sql` the
adapter over the `connections` table (the embedded default), `load` the bulk loader for social-network edge lists.
"""
