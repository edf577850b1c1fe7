"""Block Kit for the Slack app, built with slack_sdk's block models (which validate
every length and shape when a payload is produced)."""
