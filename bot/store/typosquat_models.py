"""Tables of the typosquat area (defined on bot.store.models.Base)."""
