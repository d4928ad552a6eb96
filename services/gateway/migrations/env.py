from services.gateway.idempotency import metadata
from yilin.migrations import run_env

run_env(metadata)
