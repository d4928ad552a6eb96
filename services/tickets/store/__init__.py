"""All of the tickets service's SQL, locking and batching, behind named methods.

- :mod:`.tickets` (:class:`TicketStore`): tickets, their named volunteers and history,
  the list page, the loads and SLA records dispatch reads, the report's rows.
- :mod:`.categories` (:class:`CategoryStore`): the category catalogue.
- :mod:`.sweeps` (:class:`SweepStore`): what the timers claim (``FOR UPDATE SKIP
  LOCKED``) and count.
- :mod:`.voice` and :mod:`.mediation`: suggestions and mediation cases.

A store reads and writes within the session it is given and never commits: the unit
of work around it decides the transaction."""
