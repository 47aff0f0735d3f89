//! Storage traits and the embedded SQLite backend (resources, audit, replay).
