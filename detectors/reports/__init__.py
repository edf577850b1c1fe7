"""Malware reports: Warehouse's ``is_malware`` observations, assessed for the admins.

The reports source (bot.feed.reports) reads the observations from the index's database
and hands each project's dossier here: ``assess`` grades it and writes the evidence an
admin decides on; ``verdicts`` is Warehouse's vocabulary of verdicts and its observer
accuracy rules; ``settings`` the ``[reports]`` section.
"""
