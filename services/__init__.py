"""Yilin's services. ``SERVICES`` names each service's nameko class, in start order."""

SERVICES: dict[str, str] = {
    "registry": "services.registry.service:RegistryService",
    "tickets": "services.tickets.service:TicketsService",
    "hours": "services.hours.service:HoursService",
    "fund": "services.fund.service:FundService",
    "gateway": "services.gateway.service:GatewayService",
}
