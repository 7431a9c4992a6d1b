"""Events between services: the CloudEvents envelope and schemas, Kafka clients, the outbox and its relay, the idempotent consumer, dead letters, the process runners."""
