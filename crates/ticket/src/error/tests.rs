//! The one mapping from `TicketError` to the wire: codes and descriptions per the spec table
//! (spec-digest §7) and OP-07.

use super::*;

fn wire(e: impl Into<TicketError>) -> (&'static str, String) {
    e.into().oauth_error()
}

#[test]
fn every_variant_maps_to_its_description() {
    let cases: Vec<(TicketError, &str)> = vec![
        (
            FormatError::Jws(JoseError::TooLarge).into(),
            "Malformed permission ticket",
        ),
        (
            FormatError::Claim("iss".into()).into(),
            "Malformed permission ticket: iss",
        ),
        (
            SignatureError::BadSignature.into(),
            "Ticket signature verification failed",
        ),
        (
            SignatureError::UnknownKid.into(),
            "Ticket signature verification failed",
        ),
        (TypeError::Missing.into(), "Missing ticket type"),
        (
            TypeError::Unsupported("x".into()).into(),
            "Unsupported ticket type",
        ),
        (EnvelopeError::Expired.into(), "Ticket expired"),
        (
            EnvelopeError::AudienceMismatch.into(),
            "Ticket not valid for this server",
        ),
        (
            ConstraintError::Unsupported("foo".into()).into(),
            "Unsupported access constraint: foo",
        ),
        (
            ConstraintError::KernelField("must_understand").into(),
            "Cannot enforce kernel field: must_understand",
        ),
        (
            ClaimsError::Missing("measure").into(),
            "Ticket missing required claim: measure",
        ),
        (
            ClaimsError::BindingRequired.into(),
            "Ticket presenter binding required",
        ),
        (
            HolderError::IssuerNotTrusted("https://x".into()).into(),
            "Ticket issuer not trusted: https://x",
        ),
        (
            HolderError::IssuerKeysUnavailable.into(),
            "Unable to retrieve issuer keys",
        ),
        (HolderError::Revoked.into(), "Ticket has been revoked"),
        (
            HolderError::BindingMismatch.into(),
            "Ticket presenter binding mismatch",
        ),
        (
            HolderError::InvalidEvidence.into(),
            "Invalid identity evidence",
        ),
        (
            HolderError::HolderFilterMismatch.into(),
            "Data Holder not within ticket data_holder_filter",
        ),
        (
            HolderError::Unenforceable("claim_linkage").into(),
            "Cannot enforce access constraint: claim_linkage",
        ),
        (
            HolderError::SubjectUnresolved.into(),
            "Unable to resolve ticket subject",
        ),
        (
            HolderError::SubjectAmbiguous.into(),
            "Ambiguous ticket subject match",
        ),
    ];
    for (e, description) in cases {
        assert_eq!(
            e.oauth_error(),
            ("invalid_grant", description.to_owned()),
            "{e:?}"
        );
    }
    assert_eq!(wire(MintError::SignerWithoutKid).0, "server_error");
}

#[test]
fn echoed_names_stay_one_short_line() {
    let hostile = format!("a\nb\r{}", "x".repeat(500));
    let (_, d) = wire(ConstraintError::Unsupported(hostile));
    assert!(!d.contains('\n') && !d.contains('\r'));
    assert_eq!(
        d,
        format!("Unsupported access constraint: ab{}", "x".repeat(62))
    );
}

#[test]
fn jose_errors_split_into_format_and_signature() {
    assert!(matches!(
        TicketError::from(JoseError::AlgorithmNotAllowed("none".into())),
        TicketError::Signature(SignatureError::AlgorithmNotAllowed(_))
    ));
    assert!(matches!(
        TicketError::from(JoseError::MissingKid),
        TicketError::Format(FormatError::Jws(JoseError::MissingKid))
    ));
    assert!(matches!(
        TicketError::from(JoseError::KeyAlgorithmMismatch("RS256")),
        TicketError::Signature(SignatureError::KeyMismatch)
    ));
}
