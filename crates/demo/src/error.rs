//! `DemoError`: why the demo could not run at all (as opposed to a scenario that ran and did
//! not behave as expected, which is a failed [`crate::ScenarioOutcome`], not an error).

use tessera_client::ClientError;

/// A failure that stops the demo before or between scenarios.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The built-in synthetic data set lacks a fact a scenario needs.
    #[error("demo data: {0}")]
    Data(String),
    /// A key could not be generated or used.
    #[error("demo keys: {0}")]
    Keys(String),
    /// Writing the demo's files (keys, configuration, tickets) failed.
    #[error("demo files: {0}")]
    Io(#[from] std::io::Error),
    /// The issuer could not be configured or started.
    #[error("issuer: {0}")]
    Issuer(String),
    /// The Data Holder could not be configured or started.
    #[error("Data Holder: {0}")]
    Holder(String),
    /// The client library failed outside a scenario.
    #[error("client: {0}")]
    Client(#[from] ClientError),
}
