"""Prometheus metrics, defined in one place so every part reports under one naming scheme."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter("warden_events_ingested_total", "Changelog events stored, by kind",
                 ["kind"], registry=REGISTRY)
FEED_LAG_SERIALS = Gauge("warden_feed_lag_serials",
                         "Index last serial minus the stored cursor", registry=REGISTRY)
FEED_LAG_SECONDS = Gauge("warden_feed_lag_seconds",
                         "Age of the newest stored event", registry=REGISTRY)
FEED_ERRORS = Counter("warden_feed_errors_total", "Feed passes that failed", ["reason"],
                      registry=REGISTRY)
# rejected: entries/documents set aside; resent_page: a page with nothing new while the
# index claims more (failed passes are warden_feed_errors_total).
FEED_ANOMALIES = Counter("warden_feed_anomalies_total", "Feed anomalies, by kind", ["kind"],
                         registry=REGISTRY)
INCIDENTS_OPENED = Counter("warden_incidents_opened_total", "Incidents opened",
                           ["detector", "severity"], registry=REGISTRY)
INCIDENTS_OPEN = Gauge("warden_incidents_open", "Incidents not yet closed",
                       ["detector", "severity"], registry=REGISTRY)
PLAYBOOK_RUNS = Counter("warden_playbook_runs_total", "Playbook runs by result",
                        ["playbook", "result"], registry=REGISTRY)
# Slack deliveries and their retries: notifier="slack", result="delivered" | "retry".
DELIVERIES = Counter("warden_notifications_total", "Outbox deliveries and retries",
                     ["notifier", "result"], registry=REGISTRY)
SWEEP_PROGRESS = Gauge("warden_sweep_progress_ratio", "Share of the current domain sweep done",
                       ["stage"], registry=REGISTRY)
DOMAIN_QUERIES = Counter("warden_domain_queries_total", "DNS/RDAP/WHOIS queries",
                         ["source", "outcome"], registry=REGISTRY)
# The domain sweep's reach (issue 18): what = accounts | domains | critical_domains |
# checked_within_period | critical_checked_within_period | never_checked; and the age of
# the oldest check in seconds.
DOMAIN_COVERAGE = Gauge("warden_domain_coverage", "Maintainers' domains in the sweep",
                        ["what"], registry=REGISTRY)
DOMAIN_OLDEST_CHECK = Gauge("warden_domain_oldest_check_seconds",
                            "Age of the oldest DNS check of a maintainer's domain",
                            registry=REGISTRY)
LEADER = Gauge("warden_leader", "1 while this process holds the leader lock",
               registry=REGISTRY)
JOB_RUNS = Counter("warden_job_runs_total", "Scheduled job runs", ["job", "result"],
                   registry=REGISTRY)
