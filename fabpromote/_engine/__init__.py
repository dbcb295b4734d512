"""The engine: walk an HLD tree, merge config, call generators, and give Manifests.

Owns the native walk (``walk``), the ``static``/``component`` generators
(``static``), the built-in plugin that registers both (``builtins``), HLD hooks
(``hooks``), the Manifests and how they are written (``manifests``, ``outputs``)
and their validation (``validate``). The plugin set is a parameter of the walk:
this layer names :class:`fabpromote._plugins.manager.Plugins` only in annotations.

May import: :mod:`fabpromote._hld`, :mod:`fabpromote._sources`, :mod:`fabpromote._util`,
and the public contract modules (:mod:`fabpromote.typing`, :mod:`fabpromote.hookspecs`,
:mod:`fabpromote.exceptions`).
"""
