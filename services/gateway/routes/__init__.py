"""Route modules; importing this package registers every route with the router."""

from services.gateway.routes import (
    activities,  # noqa: F401 - imported for its side effect (registers routes)
    audit,  # noqa: F401 - imported for its side effect (registers routes)
    district,  # noqa: F401 - imported for its side effect (registers routes)
    fund,  # noqa: F401 - imported for its side effect (registers routes)
    hours,  # noqa: F401 - imported for its side effect (registers routes)
    registry,  # noqa: F401 - imported for its side effect (registers routes)
    tickets,  # noqa: F401 - imported for its side effect (registers routes)
    voice,  # noqa: F401 - imported for its side effect (registers routes)
)
