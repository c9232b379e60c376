//! The content of each notification: subject, heading, facts and links, the same for e-mail
//! and Slack. Each channel escapes the user-supplied text (names, reasons, tickets) for its
//! own format when it renders a `Notice`.

use app::format;
use app::model::{AccessRequest, Grant};

use crate::domain::notifications::EventKind;
use crate::services::Services;

/// Maximum e-mail subject length, in characters.
const MAX_SUBJECT: usize = 200;

/// One message, before a channel renders it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    /// One line, free of control characters.
    pub subject: String,
    pub heading: String,
    pub intro: String,
    /// Label and value pairs, shown in order.
    pub facts: Vec<(String, String)>,
    /// Label and absolute URL of each link, shown as buttons.
    pub actions: Vec<(String, String)>,
    pub note: Option<String>,
}

/// Builds the notice of a request event. `actions` are the recipient's links.
pub fn request_notice(
    svc: &Services,
    kind: EventKind,
    request: &AccessRequest,
    actions: Vec<(String, String)>,
) -> Notice {
    let what = format!("{} for {}", request.resource_name, request.subject_name);
    let (subject, heading, intro) = match kind {
        EventKind::RequestCreated => (
            format!("Approval needed: {what}"),
            "An access request needs your decision".to_owned(),
            format!(
                "{} asks for {} on {}. Decide before {}.",
                request.requester_name,
                format::duration_secs(i64::from(request.duration_secs)),
                request.resource_name,
                format::time(request.pending_deadline)
            ),
        ),
        EventKind::RequestApproved => (
            format!("Approved: {what}"),
            "An access request was approved".to_owned(),
            format!("The request by {} was approved.", request.requester_name),
        ),
        EventKind::RequestDenied => (
            format!("Denied: {what}"),
            "An access request was denied".to_owned(),
            format!("The request by {} was denied.", request.requester_name),
        ),
        EventKind::RequestCancelled => (
            format!("Cancelled: {what}"),
            "An access request was cancelled".to_owned(),
            format!("{} cancelled the request.", request.requester_name),
        ),
        EventKind::RequestExpired => (
            format!("Expired: {what}"),
            "An access request expired".to_owned(),
            format!(
                "Nobody decided the request by {} before its deadline.",
                request.requester_name
            ),
        ),
        _ => (
            format!("Update: {what}"),
            "An access request changed".to_owned(),
            format!(
                "The request is now {}.",
                request.state.label().to_lowercase()
            ),
        ),
    };
    let mut facts = request_facts(request);
    facts.push(("State".to_owned(), request.state.label().to_owned()));
    let mut actions = actions;
    actions.push((
        "Open in Writ".to_owned(),
        svc.url(&format!("/requests/{}", request.id)),
    ));
    Notice {
        subject: one_line(&subject),
        heading,
        intro,
        facts,
        actions,
        note: None,
    }
}

/// Returns the facts every request message shows.
pub fn request_facts(request: &AccessRequest) -> Vec<(String, String)> {
    vec![
        ("Requester".to_owned(), request.requester_name.clone()),
        (
            "Subject".to_owned(),
            format!(
                "{} ({})",
                request.subject_name,
                request.subject_kind.label()
            ),
        ),
        ("Resource".to_owned(), request.resource_name.clone()),
        (
            "Sensitivity".to_owned(),
            request.sensitivity.label().to_owned(),
        ),
        (
            "Duration".to_owned(),
            format::duration_secs(i64::from(request.duration_secs)),
        ),
        ("Reason".to_owned(), request.reason.clone()),
        (
            "Ticket".to_owned(),
            request.ticket.clone().unwrap_or_else(|| "none".to_owned()),
        ),
    ]
}

/// Builds the notice of a grant event for its holder or an admin.
pub fn grant_notice(svc: &Services, kind: EventKind, grant: &Grant) -> Notice {
    let what = format!("{} for {}", grant.resource_name, grant.subject_name);
    let (subject, heading, intro) = match kind {
        EventKind::GrantActivated => (
            format!("Access active: {what}"),
            "Your access is active".to_owned(),
            format!(
                "The access starts now and ends at {}.",
                format::time(grant.expires_at)
            ),
        ),
        EventKind::GrantExpiring => (
            format!("Access ends soon: {what}"),
            "Your access ends soon".to_owned(),
            format!(
                "The access ends at {}. Extend it in Writ if you need more time.",
                format::time(grant.expires_at)
            ),
        ),
        EventKind::GrantExpired => (
            format!("Access ended: {what}"),
            "Your access ended".to_owned(),
            format!(
                "The access reached its expiry at {}.",
                format::time(grant.expires_at)
            ),
        ),
        EventKind::GrantRevoked => (
            format!("Access revoked: {what}"),
            "Access was revoked".to_owned(),
            format!("The access of {} was ended early.", grant.requester_name),
        ),
        EventKind::GrantRevokeFailed => (
            format!("Revocation failed: {what}"),
            "Revoking access failed".to_owned(),
            format!(
                "Writ could not revoke the access of {} on the target; it may still be in place and is being retried.",
                grant.requester_name
            ),
        ),
        _ => (
            format!("Update: {what}"),
            "A grant changed".to_owned(),
            format!("The grant is now {}.", grant.state.label().to_lowercase()),
        ),
    };
    let mut facts = vec![
        ("Holder".to_owned(), grant.requester_name.clone()),
        ("Subject".to_owned(), grant.subject_name.clone()),
        ("Resource".to_owned(), grant.resource_name.clone()),
        ("Starts".to_owned(), format::time(grant.starts_at)),
        ("Expires".to_owned(), format::time(grant.expires_at)),
        ("State".to_owned(), grant.state.label().to_owned()),
    ];
    if let Some(reason) = &grant.end_reason {
        facts.push(("Why it ended".to_owned(), reason.clone()));
    }
    Notice {
        subject: one_line(&subject),
        heading,
        intro,
        facts,
        actions: vec![(
            "Open in Writ".to_owned(),
            svc.url(&format!("/requests/{}", grant.request_id)),
        )],
        note: None,
    }
}

/// Makes `text` one line of at most `MAX_SUBJECT` characters: control characters (line breaks
/// among them) become spaces, so that no text can start a new mail header.
pub fn one_line(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_SUBJECT)
        .collect();
    cleaned.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_removes_header_breaks() {
        assert_eq!(
            one_line("Approval needed\r\nBcc: victim@example.com"),
            "Approval needed  Bcc: victim@example.com"
        );
        assert_eq!(one_line(&"x".repeat(500)).len(), MAX_SUBJECT);
    }
}
