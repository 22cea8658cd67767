# Monte Carlo replication study and bootstrap (target: replication; not in the default build).
