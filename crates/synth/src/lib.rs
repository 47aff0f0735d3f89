//! Deterministic, seedable synthetic FHIR R4 data generator that streams to disk.
