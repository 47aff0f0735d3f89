//! `ClientError`: every way a redemption or a FHIR read can fail, each variant naming the step
//! that failed so the CLI's one-line message tells the user where to look.

use tessera_jose::JoseError;

/// A step of the client's work, named in transport errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `GET [base]/.well-known/smart-configuration`.
    Discovery,
    /// `POST` to the token endpoint.
    TokenExchange,
    /// A FHIR read or search page.
    Fetch,
    /// An OpenID Federation statement fetch.
    Federation,
    /// `POST` to the registration endpoint.
    Registration,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Discovery => "SMART discovery",
            Step::TokenExchange => "token exchange",
            Step::Fetch => "FHIR fetch",
            Step::Federation => "federation fetch",
            Step::Registration => "client registration",
        })
    }
}

/// A client-side failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The caller's input is unusable (bad key, bad URL, empty ticket).
    #[error("invalid input: {0}")]
    Input(String),
    /// Building or signing a JWT (client assertion or DPoP proof) failed.
    #[error("cannot sign the {what}: {source}")]
    Sign {
        /// `client assertion` or `DPoP proof`.
        what: &'static str,
        /// The JOSE error.
        source: JoseError,
    },
    /// The peer could not be reached, or the connection failed mid-way.
    #[error("{step} failed: cannot reach {url}: {reason}")]
    Transport {
        /// The step.
        step: Step,
        /// The URL (never carries a token).
        url: String,
        /// The transport error, as text.
        reason: String,
    },
    /// The peer answered, but not with what the protocol requires.
    #[error("{step} failed: {url} returned an unusable response: {reason}")]
    BadResponse {
        /// The step.
        step: Step,
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The token endpoint rejected the client's authentication (`invalid_client`).
    #[error("token endpoint rejected the client authentication: {error}: {description}")]
    ClientRejected {
        /// HTTP status.
        status: u16,
        /// OAuth `error`.
        error: String,
        /// OAuth `error_description` (or empty).
        description: String,
    },
    /// The token endpoint refused the exchange (`invalid_grant`, `invalid_scope`, ...).
    #[error("token endpoint refused the ticket: {error}: {description}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// OAuth `error`.
        error: String,
        /// OAuth `error_description` (or empty).
        description: String,
    },
    /// The registration endpoint refused (`invalid_client_metadata`,
    /// `invalid_software_statement`, `unapproved_software_statement`, `invalid_token`, ...).
    #[error("registration refused: {error}: {description}")]
    RegistrationRefused {
        /// HTTP status.
        status: u16,
        /// OAuth `error`.
        error: String,
        /// OAuth `error_description` (or empty).
        description: String,
    },
    /// The FHIR server answered a read or search with an error status.
    #[error("FHIR server refused {url}: HTTP {status}: {summary}")]
    FhirStatus {
        /// The URL.
        url: String,
        /// HTTP status.
        status: u16,
        /// The OperationOutcome's first diagnostics/details text, or the body's start.
        summary: String,
    },
    /// A `next` link points at another origin: following it would hand our token to a third
    /// party, so we stop.
    #[error("FHIR paging stopped: next link {next} leaves the origin of {start}")]
    ForeignNextLink {
        /// The first URL.
        start: String,
        /// The offending link.
        next: String,
    },
}

/// Longest peer-chosen text echoed in an error.
const MAX_ECHO: usize = 300;

/// Peer text goes into one-line error messages: printable, bounded.
pub(crate) fn echo(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ECHO)
        .collect()
}
