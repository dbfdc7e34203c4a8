"""Pure domain logic: no Discord, no database, no I/O."""
