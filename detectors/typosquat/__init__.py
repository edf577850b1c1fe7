"""Typosquat detection: new project names that imitate a protected (popular) project.

- `names`: validation, PEP 503, Unicode look-alikes, the confusable skeleton.
- `keyboard`, `affixes`: the tables (QWERTY neighbours, look-alikes, affixes, words).
- `techniques`: what one or two edits are (omission, transposition, neighbouring key...).
- `index`: the protected names and their precomputed variant tables (built once).
- `slips`, `shapes`, `finder`: every technique as lookups in the index.
- `verdict`: scoring and noise control, one explained verdict per name.
- `detector`: the event-driven detector (incidents on `create`).
- `allowlist`: the admins' false-positive pairs (store, audited).
- `protected`, `settings`, `variants`: lists and files, configuration, evaluation.

Nothing is imported here, so bot.config can import `settings` without cycles.
"""
