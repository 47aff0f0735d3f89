//! FHIR R4 knowledge: resource projection for indexing, search-parameter registry and query parsing. Pure.
