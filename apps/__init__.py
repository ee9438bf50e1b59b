"""The minwon application: which services it is made of (:mod:`apps.registry`), the process that
serves them (:mod:`apps.host`) and the ``minwon`` command (:mod:`apps.cli`). It imports ``services/``
and ``libs/``; neither imports it."""
