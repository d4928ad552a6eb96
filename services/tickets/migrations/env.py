from services.tickets.models import Base
from yilin.migrations import run_env

run_env(Base.metadata)
