"""Plugins: the pluggy manager, the backend registries and the facade core calls hooks through.

Owns finding plugins by entry point (``entry_points``) and the manager with its
registries of Git hosts, generators and engines (``manager``). It registers the
built-in plugin of :mod:`fabpromote._engine`, which is why it sits above the engine.

May import: :mod:`fabpromote._engine` (its built-ins only) and everything below it,
:mod:`fabpromote.hookspecs` and :mod:`fabpromote.typing`.
"""
