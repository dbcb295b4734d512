"""The workflow: promote, guard, status, preview, rollback, history, protect and set-image.

Owns the operations on a pipeline of environments (``workflow``) and image tags
in HLD config (``images``). Every operation is stateless: it reads git and the
Git host, and writes through :mod:`fabpromote._cluster`.

May import: :mod:`fabpromote._cluster` and every layer below it.
"""
