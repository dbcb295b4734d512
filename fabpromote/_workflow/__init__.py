"""The workflow: promote, guard, status, preview, rollback, history, protect and set-image.

Owns the operations on a pipeline of environments, one module per operation:
``promote`` (with ``guard`` and ``protect``: the pipeline's rules), ``status`` (with
``preview``), ``rollback``, ``history`` and ``set_image``; what they share per
operation (``context``: the plugins and one view of the remotes), and image tags in
HLD config (``images``). Every operation is stateless: it reads git and the Git
host, and writes through :mod:`fabpromote._cluster`.

May import: :mod:`fabpromote._cluster` and every layer below it.
"""
