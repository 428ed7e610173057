"""Helpers shared by the test folders, imported as ``support.<module>``.

``tests/`` has no ``__init__.py``, so pytest's default ("prepend") import mode puts the directory
of ``tests/conftest.py`` on ``sys.path`` before it collects any test: that makes this package
importable from every test folder (``bench/growth.py`` adds ``tests/`` to ``sys.path`` itself).

- ``messages``: a turn's input (``say``) and the message texts of a result, in HTTP/SDK form;
- ``polling``: ``until``, bounded polling for a condition met elsewhere;
- ``threads``: ``new_thread``, the config of a fresh graph thread;
- ``server_process``: servers run as child processes (free port, ``/ok`` readiness, group stop);
- ``openai_stub`` / ``openai_rules``: an OpenAI-compatible stub server and the request rules it checks;
- ``redis_server``: a throwaway Valkey with RedisJSON and RediSearch.
"""
