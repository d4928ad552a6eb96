"""Route modules; importing this package registers every route with the router."""

from services.gateway.routes import registry  # noqa: F401
from services.gateway.routes import fund  # noqa: F401
from services.gateway.routes import hours  # noqa: F401
from services.gateway.routes import tickets  # noqa: F401
from services.gateway.routes import audit  # noqa: F401
from services.gateway.routes import district  # noqa: F401
