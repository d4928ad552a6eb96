from services.activities.models import Base
from yilin.migrations import run_env

run_env(Base.metadata)
