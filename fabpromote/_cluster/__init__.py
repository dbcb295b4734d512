"""Clusters: the models a ``fabpromote.yaml`` describes, and the runs that render and publish them.

Owns Cluster, Environment, Pipeline, Repo, Settings and Fleet with their file
reader (``models``), the apps of a cluster (``apps``), the Git host
of each repository (``hosts``), ``materialize`` and ``publish`` of one environment,
``generate`` and ``install`` of a bare HLD folder, and Flux's manifests (``flux``).
Every run here takes the plugin set, the fetcher and the cache and hands them
to the engine: that is why the layer sits above :mod:`fabpromote._plugins`.

May import: :mod:`fabpromote._plugins` and every layer below it.
"""
