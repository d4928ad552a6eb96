from .promql_names import grafana_query_expr, metric_names, selector_labels


def test_names_skip_functions_keywords_grouping_and_strings():
    expr = (
        "histogram_quantile(0.95, sum by (service, le) (rate(yilin_rpc_duration_seconds_bucket"
        '{service=~"$service", method!="up"}[$__rate_interval]))) > 1e3 '
        "and on (service) sum without (instance) (up offset 5m) / 60"
    )
    assert metric_names(expr) == {"yilin_rpc_duration_seconds_bucket", "up"}


def test_names_of_bare_selectors_and_recorded_series():
    assert metric_names("service:yilin_dlq_depth:max > 0 unless yilin_dlq_depth") == {
        "service:yilin_dlq_depth:max",
        "yilin_dlq_depth",
    }


def test_selector_labels():
    assert selector_labels('rate(yilin_http_requests_total{status=~"5..", route="{x}"}[5m])') == [
        ("yilin_http_requests_total", {"status", "route"})
    ]


def test_grafana_variable_queries():
    assert grafana_query_expr('label_values(up{job="yilin"}, service)') == 'up{job="yilin"}'
    assert grafana_query_expr("label_values(service)") is None
    assert grafana_query_expr("query_result(max(yilin_dlq_depth))") == "max(yilin_dlq_depth)"
