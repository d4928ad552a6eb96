"""Yilin's services. ``SERVICES`` names each service's nameko class, in start order;
``METRICS_PORTS`` is the port each one's metrics server listens on by default (a service
class declares its own as ``metrics_port``; the operator's tools read this table)."""

SERVICES: dict[str, str] = {
    "registry": "services.registry.service:RegistryService",
    "tickets": "services.tickets.service:TicketsService",
    "hours": "services.hours.service:HoursService",
    "fund": "services.fund.service:FundService",
    "activities": "services.activities.service:ActivitiesService",
    "gateway": "services.gateway.service:GatewayService",
}

METRICS_PORTS: dict[str, int] = {
    "gateway": 9100,
    "registry": 9101,
    "tickets": 9102,
    "hours": 9103,
    "fund": 9104,
    "activities": 9105,
}
