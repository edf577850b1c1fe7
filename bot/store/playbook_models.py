"""Tables of the playbook area (defined on bot.store.models.Base)."""
