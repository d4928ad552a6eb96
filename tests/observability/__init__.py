"""Checks of the monitoring configuration under deploy/prometheus and deploy/grafana."""
