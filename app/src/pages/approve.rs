//! The confirmation page of an approval link from e-mail or Slack, and the page after a
//! decision. Opening the link only shows the request; the form's POST decides.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::flash::take_kept_result;
use crate::api::notify::{DecideApprovalLink, OUTCOME_KEY, open_approval_link};
use crate::components::common::{ActionError, Badge, failed, loading};
use crate::format;
use crate::model::{
    AccessRequest, ApprovalLinkOutcome, ApprovalLinkView, LinkState, ReviewDecision,
};

/// Shows the request behind an approval link with Approve and Deny buttons, or why the link
/// cannot be used.
#[component]
pub fn ApprovePage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let chosen = move || {
        query
            .read()
            .get("decision")
            .and_then(|decision| decision.parse::<ReviewDecision>().ok())
    };
    let decide = ServerAction::<DecideApprovalLink>::new();
    let view_data = Resource::new(
        move || (token(), chosen()),
        |(token, chosen)| {
            let decision = chosen
                .map(|decision| decision.to_string())
                .unwrap_or_default();
            open_approval_link(token, decision)
        },
    );
    view! {
        <Title text="Review a request"/>
        <ActionError value=decide.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match view_data.await {
                    Ok(link) => view! { <LinkView link token=token() chosen=chosen() decide/> }.into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn LinkView(
    link: ApprovalLinkView,
    token: String,
    chosen: Option<ReviewDecision>,
    decide: ServerAction<DecideApprovalLink>,
) -> impl IntoView {
    match (link.state, link.request.clone()) {
        (LinkState::Ready, Some(request)) => {
            view! { <Confirm link request token chosen decide/> }.into_any()
        }
        (LinkState::SignInRequired, _) => view! {
            <h1>"Sign in to review this request"</h1>
            <p class="notice">{format!("This approval link is for {}.", link.approver_name)}</p>
            <p>
                "Sign in as " <strong>{link.approver_name.clone()}</strong>
                " and Writ brings you back to this page. Nothing has been decided yet."
            </p>
            <p><a class="button" href="/sign-in">"Sign in"</a></p>
        }
        .into_any(),
        _ => view! {
            <h1>"This link cannot be used"</h1>
            <p class="error link-refused" role="alert">{capitalise(&link.message)}</p>
            <p>"Nothing was changed. Open Writ to see the request and its decision."</p>
            <p><a href="/">"Go to the dashboard"</a></p>
        }
        .into_any(),
    }
}

#[component]
fn Confirm(
    link: ApprovalLinkView,
    request: AccessRequest,
    token: String,
    chosen: Option<ReviewDecision>,
    decide: ServerAction<DecideApprovalLink>,
) -> impl IntoView {
    view! {
        <div class="page-head">
            <h1>{format!("Review: {} for {}", request.resource_name, request.subject_name)}</h1>
            <Badge kind=request.state.as_str() text=request.state.label()/>
        </div>
        {chosen.map(|decision| view! {
            <p class="notice">{format!("You chose {} in your message. Confirm it below; nothing is decided until you do.", decision.label())}</p>
        })}
        <RequestFacts request=request.clone()/>
        {link.link_only.then(|| view! {
            <p class="hint">{format!("You are not signed in. This link decides in the name of {}.", link.approver_name)}</p>
        })}
        <ActionForm action=decide attr:class="form">
            <input type="hidden" name="token" value=token/>
            <label>"Comment" <textarea name="comment" rows="2" maxlength="2000"></textarea></label>
            <div class="buttons">
                <button type="submit" name="decision" value="approve">"Approve"</button>
                <button type="submit" name="decision" value="deny" class="danger">"Deny"</button>
            </div>
        </ActionForm>
    }
}

#[component]
fn RequestFacts(request: AccessRequest) -> impl IntoView {
    view! {
        <dl class="facts">
            <dt>"Requester"</dt><dd>{request.requester_name.clone()}</dd>
            <dt>"Subject"</dt><dd>{format!("{} ({})", request.subject_name, request.subject_kind.label())}</dd>
            <dt>"Resource"</dt><dd>{request.resource_name.clone()} " " <Badge kind=request.sensitivity.as_str() text=request.sensitivity.label()/></dd>
            <dt>"Duration"</dt><dd>{format::duration_secs(i64::from(request.duration_secs))}</dd>
            <dt>"Reason"</dt><dd class="reason">{request.reason.clone()}</dd>
            <dt>"Ticket"</dt><dd>{request.ticket.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Scheduled start"</dt><dd>{format::maybe_time(request.scheduled_start)}</dd>
            <dt>"Approvals"</dt><dd>{format!("{} of {}", request.approvals, request.required_approvals)}</dd>
            <dt>"Pending until"</dt><dd>{format::time(request.pending_deadline)}</dd>
        </dl>
    }
}

/// Shows the outcome of the decision just made through a link.
#[component]
pub fn ApproveDonePage() -> impl IntoView {
    let kept = Resource::new(|| OUTCOME_KEY.to_owned(), take_kept_result);
    view! {
        <Title text="Decision recorded"/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let outcome = match kept.await {
                    Ok(kept) => kept.and_then(|json| serde_json::from_str::<ApprovalLinkOutcome>(&json).ok()),
                    Err(error) => return failed(error),
                };
                match outcome {
                    Some(outcome) => {
                        let verb = match outcome.decision {
                            ReviewDecision::Approve => "approved",
                            ReviewDecision::Deny => "denied",
                        };
                        let request = outcome.request;
                        view! {
                            <h1>"Decision recorded"</h1>
                            <p class="notice decision-recorded">
                                {format!("You {verb} the request for {} on {}. The request is now {}.",
                                    request.subject_name, request.resource_name, request.state.label().to_lowercase())}
                            </p>
                            <p><a href=format!("/requests/{}", request.id)>"Open the request"</a></p>
                        }
                        .into_any()
                    }
                    None => view! {
                        <h1>"Nothing to show"</h1>
                        <p>"This page shows a decision once, right after it is made. Open Writ to see your requests and reviews."</p>
                        <p><a href="/">"Go to the dashboard"</a></p>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}
