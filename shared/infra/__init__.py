"""What every service runs on: settings, database and unit of work, tables and migrations, keys and audit, sealing, signed links, logging, metrics, the Platform a bootstrap builds."""
