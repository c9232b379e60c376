//! E-mail over SMTP with `lettre`, rendered from `askama` templates as HTML and plain text.

use askama::Template;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::SendError;
use super::config::{SmtpSettings, SmtpTls};
use super::message::Notice;

/// The HTML part; askama escapes every value for HTML.
#[derive(Template)]
#[template(path = "notice.html")]
struct NoticeHtml<'a> {
    notice: &'a Notice,
}

/// The plain-text part.
#[derive(Template)]
#[template(path = "notice.txt")]
struct NoticeText<'a> {
    notice: &'a Notice,
}

/// Renders `notice` as a message from the configured sender to `to`.
pub fn render(smtp: &SmtpSettings, to: &str, notice: &Notice) -> Result<Message, SendError> {
    let to = to.parse::<Mailbox>().map_err(|error| {
        SendError::permanent(format!("the address {to:?} is not valid: {error}"))
    })?;
    let html = NoticeHtml { notice }
        .render()
        .map_err(|error| SendError::permanent(format!("cannot render the HTML part: {error}")))?;
    let text = NoticeText { notice }
        .render()
        .map_err(|error| SendError::permanent(format!("cannot render the text part: {error}")))?;
    Message::builder()
        .from(smtp.from.clone())
        .to(to)
        .subject(notice.subject.clone())
        .multipart(MultiPart::alternative_plain_html(text, html))
        .map_err(|error| SendError::permanent(format!("cannot build the message: {error}")))
}

/// Sends `message` through the configured SMTP server.
pub async fn send(smtp: &SmtpSettings, message: Message) -> Result<(), SendError> {
    let tls = match smtp.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls => Tls::Required(tls_parameters(&smtp.host)?),
        SmtpTls::Tls => Tls::Wrapper(tls_parameters(&smtp.host)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host.as_str())
        .port(smtp.port)
        .tls(tls)
        .timeout(Some(smtp.timeout));
    if let Some((user, password)) = &smtp.credentials {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    let transport = builder.build();
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(error) => {
            // A permanent (5xx) reply means this message will never be accepted as it is.
            let message = format!(
                "the SMTP server {}:{} did not accept the message: {error}",
                smtp.host, smtp.port
            );
            if error.is_permanent() {
                Err(SendError::permanent(message))
            } else {
                Err(SendError::transient(message))
            }
        }
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, SendError> {
    TlsParameters::new(host.to_owned())
        .map_err(|error| SendError::permanent(format!("cannot set up TLS for {host}: {error}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Notice {
        Notice {
            subject: "Approval needed: db for <carl>".into(),
            heading: "An access request needs your decision".into(),
            intro: "Carl asks".into(),
            facts: vec![("Reason".into(), "<script>alert(1)</script> & more".into())],
            actions: vec![(
                "Approve…".into(),
                "http://127.0.0.1/approve?token=a&decision=approve".into(),
            )],
            note: None,
        }
    }

    #[test]
    fn html_part_escapes_user_text() {
        let html = NoticeHtml { notice: &notice() }.render().unwrap();
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; more"),
            "{html}"
        );
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn text_part_keeps_text_and_links() {
        let text = NoticeText { notice: &notice() }.render().unwrap();
        assert!(
            text.contains("Reason: <script>alert(1)</script> & more"),
            "{text}"
        );
        assert!(text.contains("Approve…: http://127.0.0.1/approve?token=a&decision=approve"));
    }
}
