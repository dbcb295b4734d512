"""The command line: argument parsing and printing only; every command is a library call.

Owns the ``fabpromote`` command: its console script (``console``), with the
answer of a ``generate`` that has nothing to do (``unchanged``), its exit
statuses and error printing (``app``), the argument parser (``parser``), the commands that render and publish
(``render``), those of the pipeline (``pipeline``), what they share (``common``),
``fabpromote demo`` (``demo``) and ``fabpromote cache check`` (``cachecheck``).

May import: everything.
"""
