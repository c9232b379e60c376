//! The admin's notifications page: which channels are on, recent and failing deliveries, and
//! the Slack channel of each resource.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::notify::{RetryDelivery, SetResourceSlackChannel, load_notifications};
use crate::components::common::{ActionError, Badge, Empty, failed, loading};
use crate::format;
use crate::model::{DeliveryRow, NotificationsOverview, ResourceChannel};
use crate::pages::users::AdminTabs;

/// Lists deliveries and Slack channels.
#[component]
pub fn NotificationsPage() -> impl IntoView {
    let query = use_query_map();
    let failing_only = move || {
        query
            .read()
            .get("failing")
            .is_some_and(|value| value == "1")
    };
    let retry = ServerAction::<RetryDelivery>::new();
    let set_channel = ServerAction::<SetResourceSlackChannel>::new();
    let overview = Resource::new(
        move || {
            (
                failing_only(),
                retry.version().get(),
                set_channel.version().get(),
            )
        },
        |(failing_only, ..)| load_notifications(failing_only),
    );
    view! {
        <Title text="Notifications"/>
        <h1>"Notifications"</h1>
        <AdminTabs current="notifications"/>
        <ActionError value=retry.value()/>
        <ActionError value=set_channel.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                match overview.await {
                    Ok(overview) => view! { <Overview overview failing_only=failing_only() retry set_channel/> }.into_any(),
                    Err(error) => failed(error),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Overview(
    overview: NotificationsOverview,
    failing_only: bool,
    retry: ServerAction<RetryDelivery>,
    set_channel: ServerAction<SetResourceSlackChannel>,
) -> impl IntoView {
    let on_off = |on: bool| if on { "on" } else { "off" };
    view! {
        <dl class="facts">
            <dt>"E-mail"</dt><dd>{on_off(overview.email_on)}</dd>
            <dt>"Slack messages"</dt><dd>{on_off(overview.slack_on)}</dd>
            <dt>"Slack decisions"</dt>
            <dd>
                {on_off(overview.slack_interactivity_on)} " — interactivity request URL: "
                <code>{overview.interactivity_url.clone()}</code>
            </dd>
        </dl>
        <section>
            <h2>"Deliveries"</h2>
            <nav class="tabs">
                <a href="/admin/notifications" class:current=!failing_only>"Recent"</a>
                <a href="/admin/notifications?failing=1" class:current=failing_only>"Failing"</a>
            </nav>
            {if overview.deliveries.is_empty() {
                view! { <Empty text="No deliveries to show."/> }.into_any()
            } else {
                view! { <DeliveryTable deliveries=overview.deliveries retry/> }.into_any()
            }}
        </section>
        <section>
            <h2>"Slack channels"</h2>
            <p class="hint">
                "A resource with a channel id gets its requests posted there with Approve and Deny buttons (needs the bot token). Leave it empty for none."
            </p>
            <ChannelTable channels=overview.channels set_channel/>
        </section>
    }
}

#[component]
fn DeliveryTable(
    deliveries: Vec<DeliveryRow>,
    retry: ServerAction<RetryDelivery>,
) -> impl IntoView {
    view! {
        <table class="list deliveries">
            <thead>
                <tr>
                    <th>"Created"</th>
                    <th>"Event"</th>
                    <th>"Channel"</th>
                    <th>"To"</th>
                    <th>"State"</th>
                    <th>"Attempts"</th>
                    <th>"Last error"</th>
                    <th>"Next attempt"</th>
                    <th></th>
                </tr>
            </thead>
            <tbody>
                {deliveries
                    .into_iter()
                    .map(|delivery| {
                        let failed = delivery.state == "failed";
                        let state_kind = match delivery.state.as_str() {
                            "sent" => "approved",
                            "failed" => "denied",
                            other => other,
                        }
                        .to_owned();
                        let to = match &delivery.recipient_name {
                            Some(name) => format!("{name} ({})", delivery.destination),
                            None => delivery.destination.clone(),
                        };
                        let request_link = delivery.request_id.map(|id| view! {
                            <a href=format!("/requests/{id}")>"request"</a>
                        });
                        let id = delivery.id.to_string();
                        view! {
                            <tr class="delivery-row" data-state=delivery.state.clone()>
                                <td class="nowrap">{format::time(delivery.created_at)}</td>
                                <td>{delivery.event.replace('_', " ")} " " {request_link}</td>
                                <td>{delivery.channel.replace('_', " ")}</td>
                                <td>{to}</td>
                                <td><Badge kind=state_kind text=delivery.state.clone()/></td>
                                <td>{delivery.attempts}</td>
                                <td class="reason">{delivery.last_error.clone().unwrap_or_default()}</td>
                                <td class="nowrap">{format::maybe_time(delivery.next_attempt_at)}</td>
                                <td>
                                    {failed.then(|| view! {
                                        <ActionForm action=retry attr:class="inline">
                                            <input type="hidden" name="id" value=id.clone()/>
                                            <button type="submit" class="secondary">"Retry"</button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn ChannelTable(
    channels: Vec<ResourceChannel>,
    set_channel: ServerAction<SetResourceSlackChannel>,
) -> impl IntoView {
    view! {
        <table class="list">
            <thead><tr><th>"Resource"</th><th>"Slack channel id"</th></tr></thead>
            <tbody>
                {channels
                    .into_iter()
                    .map(|channel| view! {
                        <tr>
                            <td>{channel.resource_name.clone()}</td>
                            <td>
                                <ActionForm action=set_channel attr:class="inline-form">
                                    <input type="hidden" name="resource_id" value=channel.resource_id.to_string()/>
                                    <input type="text" name="slack_channel" placeholder="C0123456789"
                                        value=channel.slack_channel.clone().unwrap_or_default()/>
                                    <button type="submit" class="secondary">"Save"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
