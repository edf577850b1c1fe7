"""Tables of the domain area (defined on bot.store.models.Base)."""
