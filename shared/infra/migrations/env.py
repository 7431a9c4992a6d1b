from alembic import context

from shared.infra.db import create_engine

url = context.config.attributes["url"]
engine = create_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        render_as_batch=url.startswith("sqlite"),
        target_metadata=context.config.attributes.get("target_metadata"),
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
