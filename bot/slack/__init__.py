"""The Slack face: incidents admins triage and act on without leaving Slack.

Nothing is imported here, so that `bot.slack.options` (read to decide whether Slack is
configured at all) loads without slack-bolt: bot.slack.app builds and mounts the app,
bot.slack.notifier is the outbox sender, bot.slack.listeners the small listeners.
"""
