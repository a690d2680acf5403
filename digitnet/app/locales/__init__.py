"""The app's texts, one module per language (``en.py``, ``ja.py``, ...).

Each module defines ``NAME`` (the language's name in itself), ``TEXTS`` (key ->
text) and ``plural(n)``; :mod:`digitnet.app.i18n` finds them by themselves. To add
a language, copy ``en.py`` to ``<code>.py`` (the code ``?lang=`` takes, and the
first part of a browser's language tag: ``fr`` for ``fr-CA``) and translate every
text; ``tests/test_i18n.py`` says which keys are missing and which fields differ.
"""
