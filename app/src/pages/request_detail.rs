//! One request: its details, reviews, grant, and the actions the viewer may take.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::api::access::{CancelRequest, ExtendGrant, ReviewRequest, RevokeGrant, get_request};
use crate::components::common::{ActionError, Badge, ErrorBox, failed, loading};
use crate::error::AppError;
use crate::format;
use crate::model::{Grant, RequestDetail};

/// Shows a request; approvers review it here.
#[component]
pub fn RequestPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<Uuid>().ok())
    };
    let review = ServerAction::<ReviewRequest>::new();
    let cancel = ServerAction::<CancelRequest>::new();
    let extend = ServerAction::<ExtendGrant>::new();
    let revoke = ServerAction::<RevokeGrant>::new();
    let detail = Resource::new(
        move || {
            (
                id(),
                review.version().get(),
                cancel.version().get(),
                extend.version().get(),
                revoke.version().get(),
            )
        },
        |(id, ..)| async move {
            match id {
                Some(id) => get_request(id).await,
                None => Err(AppError::not_found("no request has this id")),
            }
        },
    );
    view! {
        <Title text="Request"/>
        <ActionError value=review.value()/>
        <ActionError value=cancel.value()/>
        <ActionError value=extend.value()/>
        <ActionError value=revoke.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <Detail detail review cancel extend revoke/> }.into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(
    detail: RequestDetail,
    review: ServerAction<ReviewRequest>,
    cancel: ServerAction<CancelRequest>,
    extend: ServerAction<ExtendGrant>,
    revoke: ServerAction<RevokeGrant>,
) -> impl IntoView {
    let request = detail.request.clone();
    let id = request.id.to_string();
    let cancel_id = id.clone();
    view! {
        <div class="page-head">
            <h1>{format!("{} for {}", request.resource_name, request.subject_name)}</h1>
            <Badge kind=request.state.as_str() text=request.state.label()/>
        </div>
        <dl class="facts">
            <dt>"Requester"</dt><dd>{request.requester_name.clone()}</dd>
            <dt>"Subject"</dt><dd>{format!("{} ({})", request.subject_name, request.subject_kind.label())}</dd>
            <dt>"Resource"</dt><dd>{request.resource_name.clone()} " " <Badge kind=request.sensitivity.as_str() text=request.sensitivity.label()/></dd>
            <dt>"Duration"</dt><dd>{format::duration_secs(i64::from(request.duration_secs))}</dd>
            <dt>"Reason"</dt><dd class="reason">{request.reason.clone()}</dd>
            <dt>"Ticket"</dt><dd>{request.ticket.clone().unwrap_or_else(|| "—".into())}</dd>
            <dt>"Scheduled start"</dt><dd>{format::maybe_time(request.scheduled_start)}</dd>
            <dt>"Approvals"</dt><dd>{format!("{} of {}", request.approvals, request.required_approvals)}</dd>
            <dt>"Filed"</dt><dd>{format::time(request.created_at)}</dd>
            <dt>"Pending until"</dt><dd>{format::time(request.pending_deadline)}</dd>
            <dt>"Decided"</dt><dd>{format::maybe_time(request.decided_at)}</dd>
        </dl>

        {detail.grant.clone().map(|grant| view! { <GrantPanel grant can_extend=detail.can_extend_grant can_revoke=detail.can_revoke_grant extend revoke/> })}

        <section>
            <h2>"Reviews"</h2>
            {if detail.reviews.is_empty() {
                view! { <p class="empty">"No reviews yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="reviews">
                        {detail.reviews.iter().map(|review| view! {
                            <li>
                                <Badge kind=review.decision.as_str() text=review.decision.label()/>
                                " " <strong>{review.reviewer_name.clone()}</strong>
                                " via " {review.channel.label()} ", " {format::time(review.created_at)}
                                {(!review.comment.is_empty()).then(|| view! { <blockquote>{review.comment.clone()}</blockquote> })}
                            </li>
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
        </section>

        {if detail.can_review {
            view! {
                <section>
                    <h2>"Your review"</h2>
                    <ActionForm action=review attr:class="form">
                        <input type="hidden" name="id" value=id.clone()/>
                        <label>"Comment" <textarea name="comment" rows="2" maxlength="2000"></textarea></label>
                        <div class="buttons">
                            <button type="submit" name="decision" value="approve">"Approve"</button>
                            <button type="submit" name="decision" value="deny" class="danger">"Deny"</button>
                        </div>
                    </ActionForm>
                </section>
            }
            .into_any()
        } else {
            detail.review_blocked_reason.clone().map(|reason| view! {
                <p class="hint">{format!("You cannot review this request: {reason}.")}</p>
            }).into_any()
        }}

        {detail.can_cancel.then(move || view! {
            <ActionForm action=cancel attr:class="inline">
                <input type="hidden" name="id" value=cancel_id/>
                <button type="submit" class="secondary">"Cancel request"</button>
            </ActionForm>
        })}
    }
}

#[component]
fn GrantPanel(
    grant: Grant,
    can_extend: bool,
    can_revoke: bool,
    extend: ServerAction<ExtendGrant>,
    revoke: ServerAction<RevokeGrant>,
) -> impl IntoView {
    let id = grant.id.to_string();
    let revoke_id = id.clone();
    let room = (grant.starts_at + chrono::Duration::seconds(i64::from(grant.max_duration_secs))
        - grant.expires_at)
        .num_seconds();
    view! {
        <section class="grant" data-state=grant.state.as_str()>
            <h2>"Grant " <Badge kind=grant.state.as_str() text=grant.state.label()/></h2>
            <dl class="facts">
                <dt>"Starts"</dt><dd>{format::time(grant.starts_at)}</dd>
                <dt>"Expires"</dt><dd>{format::time(grant.expires_at)}</dd>
                <dt>"Activated"</dt><dd>{format::maybe_time(grant.activated_at)}</dd>
                <dt>"Ended"</dt><dd>{format::maybe_time(grant.ended_at)}</dd>
                {grant.end_reason.clone().map(|reason| view! { <dt>"Why it ended"</dt><dd>{reason}</dd> })}
                <dt>"Extensions"</dt><dd>{grant.extensions}</dd>
            </dl>
            {(can_extend && room < 60).then(|| view! {
                <p class="hint">"This grant already lasts the resource's maximum from its start, so it cannot be extended further."</p>
            })}
            {(can_extend && room >= 60).then(|| view! {
                <ActionForm action=extend attr:class="inline-form">
                    <input type="hidden" name="id" value=id.clone()/>
                    <label>"Extend by" <input type="text" name="by" placeholder="such as 30m" required/></label>
                    <label>"Reason" <input type="text" name="reason" required/></label>
                    <button type="submit">"Extend"</button>
                    <small>{format!("At most {} more within the resource's maximum.", format::duration_secs(room.max(0)))}</small>
                </ActionForm>
            })}
            {can_revoke.then(move || view! {
                <ActionForm action=revoke attr:class="inline-form">
                    <input type="hidden" name="id" value=revoke_id/>
                    <label>"Reason" <input type="text" name="reason" required/></label>
                    <button type="submit" class="danger">"Revoke now"</button>
                </ActionForm>
            })}
        </section>
    }
}

/// Shows a message when the page has no valid id.
#[component]
pub fn BadId() -> impl IntoView {
    view! { <ErrorBox error=AppError::not_found("no request has this id")/> }
}
