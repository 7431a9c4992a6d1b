"""The common platform every Outcome Chain service stands on."""
