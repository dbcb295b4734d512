"""The bottom layer: small utilities every other layer may use.

Owns signal-safe cleanup (``signals``), atomic file helpers (``fsutil``), the
settings read from the environment (``settings``), size limits on untrusted input
(``limits``), network deadlines and one-line reasons for network failures
(``network``), the retry policy of REST clients (``httpretry``), token storage and
redaction (``credentials``), commit SHA checks (``shas``), the installed version
(``meta``) and the ``Outcome`` of a result (``outcome``).

May import: the standard library, third-party packages and
:mod:`fabpromote.exceptions`; nothing else of fabpromote.
"""
