"""Services: the use cases (ingest, publish), built on the store and the pure domain."""
