//! Admin pages for console users (roles, disabling, sign-in links, new local users) and groups.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

use crate::api::access::principal_choices;
use crate::api::admin::{
    CreateGroup, CreateLocalUser, IssueSignInLink, SetGroupMember, SetUserDisabled, SetUserRoles,
    list_groups, list_users,
};
use crate::components::common::{ActionError, Badge, Empty, ErrorBox, Pager, failed, loading};
use crate::components::kept::LatestResult;
use crate::error::AppError;
use crate::format;
use crate::model::{Group, IssuedLink, Role, User};

/// Issuer that the server stores on local users, who sign in with a password or a sign-in link
/// instead of through the identity provider.
const LOCAL_ISSUER: &str = "local";

/// Lists users with their roles and groups, and adds local users.
#[component]
pub fn UsersPage() -> impl IntoView {
    let set_roles = ServerAction::<SetUserRoles>::new();
    let set_disabled = ServerAction::<SetUserDisabled>::new();
    let create = ServerAction::<CreateLocalUser>::new();
    // Without JavaScript, a failed sign-in link request comes back in the URL. This action only
    // shows that error, because each row issues links through its own action.
    let link_error = ServerAction::<IssueSignInLink>::new();
    let query = use_query_map();
    let users = Resource::new(
        move || {
            (
                set_roles.version().get(),
                set_disabled.version().get(),
                create.version().get(),
                query.read().get("cursor"),
            )
        },
        |(.., cursor)| list_users(cursor),
    );
    view! {
        <Title text="Users"/>
        <h1>"Users and groups"</h1>
        <AdminTabs current="users"/>
        <ActionError value=set_roles.value()/>
        <ActionError value=set_disabled.value()/>
        <ActionError value=link_error.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let users = match users.await {
                    Ok(users) => users,
                    Err(error) => return failed(error),
                };
                view! {
                    {if users.items.is_empty() {
                        view! { <Empty text="There are no users yet."/> }.into_any()
                    } else {
                        view! {
                            <UserTable users=users.items set_roles set_disabled/>
                            <Pager next=users.next base="/admin/users"/>
                        }
                        .into_any()
                    }}
                    <section>
                        <h2>"New local user"</h2>
                        <NewUserForm create/>
                    </section>
                }
                .into_any()
            })}
        </Suspense>
    }
}

/// Lists groups with their members, creates groups and changes membership.
#[component]
pub fn GroupsPage() -> impl IntoView {
    let create = ServerAction::<CreateGroup>::new();
    let set_member = ServerAction::<SetGroupMember>::new();
    let query = use_query_map();
    let data = Resource::new(
        move || {
            (
                create.version().get(),
                set_member.version().get(),
                query.read().get("cursor"),
            )
        },
        |(.., cursor)| async move {
            let groups = list_groups(cursor).await?;
            // Principal choices list every enabled user as `user:<id>`, which the member picker needs.
            let users: Vec<(Uuid, String)> = principal_choices()
                .await?
                .into_iter()
                .filter_map(|choice| {
                    let id = choice.value.strip_prefix("user:")?.parse().ok()?;
                    let name = choice.label.trim_end_matches(" (user)").to_owned();
                    Some((id, name))
                })
                .collect();
            Ok::<_, AppError>((groups, users))
        },
    );
    view! {
        <Title text="Groups"/>
        <h1>"Users and groups"</h1>
        <AdminTabs current="groups"/>
        <ActionError value=set_member.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (groups, users) = match data.await {
                    Ok(data) => data,
                    Err(error) => return failed(error),
                };
                let cards = if groups.items.is_empty() {
                    view! { <Empty text="There are no groups yet."/> }.into_any()
                } else {
                    let cards = groups
                        .items
                        .into_iter()
                        .map(|group| view! { <GroupCard group users=users.clone() set_member/> })
                        .collect_view();
                    view! { {cards} <Pager next=groups.next base="/admin/groups"/> }.into_any()
                };
                view! {
                    {cards}
                    <section>
                        <h2>"New group"</h2>
                        <ActionForm action=create attr:class="form narrow">
                            <ActionError value=create.value()/>
                            <label>"Name" <input type="text" name="name" required maxlength="200" placeholder="such as platform-oncall"/></label>
                            <label>"Description" <input type="text" name="description" maxlength="2000"/></label>
                            <button type="submit">"Create group"</button>
                        </ActionForm>
                    </section>
                }
                .into_any()
            })}
        </Suspense>
    }
}

/// Links between the users page and the groups page.
#[component]
pub(crate) fn AdminTabs(current: &'static str) -> impl IntoView {
    view! {
        <nav class="tabs">
            <a href="/admin/users" class:current=current == "users">"Users"</a>
            <a href="/admin/groups" class:current=current == "groups">"Groups"</a>
            <a href="/admin/notifications" class:current=current == "notifications">"Notifications"</a>
        </nav>
    }
}

#[component]
fn UserTable(
    users: Vec<User>,
    set_roles: ServerAction<SetUserRoles>,
    set_disabled: ServerAction<SetUserDisabled>,
) -> impl IntoView {
    view! {
        <table class="list users">
            <thead>
                <tr>
                    <th>"Name"</th>
                    <th>"Signs in as"</th>
                    <th>"E-mail"</th>
                    <th>"Roles"</th>
                    <th>"Groups"</th>
                    <th>"Last sign-in"</th>
                    <th>"Status"</th>
                    <th>"Sign-in link"</th>
                </tr>
            </thead>
            <tbody>
                {users.into_iter().map(|user| view! { <UserRow user set_roles set_disabled/> }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn UserRow(
    user: User,
    set_roles: ServerAction<SetUserRoles>,
    set_disabled: ServerAction<SetUserDisabled>,
) -> impl IntoView {
    let id = user.id.to_string();
    let roles_id = id.clone();
    let disabled = user.disabled_at.is_some();
    let local = user.issuer == LOCAL_ISSUER;
    let groups = if user.groups.is_empty() {
        "—".to_owned()
    } else {
        user.groups.join(", ")
    };
    let user_roles = user.roles.clone();
    view! {
        <tr class:disabled=disabled>
            <td>
                {user.display_name.clone()}
                {user.is_bootstrap.then(|| view! { " " <span class="hint">"(first admin)"</span> })}
            </td>
            <td>
                {if local { "Local".to_owned() } else { user.issuer.clone() }}
                ": " <code>{user.subject.clone()}</code>
                {(local && !user.has_password).then(|| view! { <br/><small class="hint">"No password set"</small> })}
            </td>
            <td>{user.email.clone().unwrap_or_else(|| "—".to_owned())}</td>
            <td>
                <ActionForm action=set_roles attr:class="inline-form roles">
                    <input type="hidden" name="id" value=roles_id/>
                    {Role::ALL.iter().map(|role| view! {
                        <label class="check">
                            <input type="checkbox" name="roles[]" value=role.as_str() checked=user_roles.contains(role)/>
                            {role.label()}
                        </label>
                    }).collect_view()}
                    <button type="submit" class="secondary">"Save"</button>
                </ActionForm>
            </td>
            <td>{groups}</td>
            <td class="nowrap">{format::maybe_time(user.last_sign_in_at)}</td>
            <td>
                {user.disabled_at.map(|at| view! {
                    <Badge kind="disabled" text="Disabled"/>
                    <br/><small class="hint">{format!("since {}", format::time(at))}</small>
                })}
                <ActionForm action=set_disabled attr:class="inline">
                    <input type="hidden" name="id" value=id.clone()/>
                    <input type="hidden" name="disabled" value=(!disabled).to_string()/>
                    {if disabled {
                        view! { <button type="submit" class="secondary">"Enable"</button> }.into_any()
                    } else {
                        view! { <button type="submit" class="danger">"Disable"</button> }.into_any()
                    }}
                </ActionForm>
            </td>
            <td>
                {if local && !disabled {
                    view! { <SignInLinkForm user_id=user.id/> }.into_any()
                } else if local {
                    view! { <small class="hint">"Enable the user first."</small> }.into_any()
                } else {
                    view! { <small class="hint">"Signs in through the identity provider."</small> }.into_any()
                }}
            </td>
        </tr>
    }
}

/// Issues a one-time sign-in link for one user and shows it in the row.
#[component]
fn SignInLinkForm(user_id: Uuid) -> impl IntoView {
    let issue = ServerAction::<IssueSignInLink>::new();
    // The page-level action shows an error carried in the URL. Each row shows only the results of
    // its own submissions, which raise the version above zero.
    let error = move || {
        if issue.version().get() == 0 {
            return None;
        }
        match issue.value().get()? {
            Ok(_) => None,
            Err(error) => Some(view! { <ErrorBox error/> }),
        }
    };
    let result = view! {
        <LatestResult action=issue key=format!("sign_in_link.{user_id}") render=|link| view! { <OneTimeLink link/> }/>
        {error}
    };
    view! {
        <ActionForm action=issue attr:class="inline">
            <input type="hidden" name="id" value=user_id.to_string()/>
            <button type="submit" class="secondary">"Sign-in link"</button>
        </ActionForm>
        {result}
    }
}

/// Shows a sign-in link once, with its expiry.
#[component]
fn OneTimeLink(link: IssuedLink) -> impl IntoView {
    view! {
        <div class="notice one-time">
            <input type="text" readonly value=link.url aria-label="One-time sign-in link"/>
            <small>
                {format!(
                    "Works once, until {}. Send it to the user over a channel you trust; it is not shown again.",
                    format::time(link.expires_at),
                )}
            </small>
        </div>
    }
}

#[component]
fn NewUserForm(create: ServerAction<CreateLocalUser>) -> impl IntoView {
    let created = |(user, link): (User, Option<IssuedLink>)| {
        match link {
        Some(link) => view! {
            <p class="notice">{format!("Created {}. Send them this sign-in link to set up their account:", user.display_name)}</p>
            <OneTimeLink link/>
        }
        .into_any(),
        None => view! {
            <p class="notice">{format!("Created {}. They sign in with the password you set.", user.display_name)}</p>
        }
        .into_any(),
    }
    };
    view! {
        <LatestResult action=create key="new_user" render=created/>
        <ActionForm action=create attr:class="form narrow">
            <ActionError value=create.value()/>
            <label>
                "Sign-in name"
                <input type="text" name="input[login]" required maxlength="64"
                    pattern="[A-Za-z0-9._@\\-]+" autocomplete="off"/>
                <small>"Letters, digits and . _ - @; stored in lower case."</small>
            </label>
            <label>"Display name" <input type="text" name="input[display_name]" required maxlength="200"/></label>
            <label>"E-mail" <input type="email" name="input[email]" maxlength="320"/></label>
            <fieldset>
                <legend>"Roles"</legend>
                {Role::ALL.iter().map(|role| view! {
                    <label class="check">
                        <input type="checkbox" name="input[roles][]" value=role.as_str()
                            checked=*role == Role::Requester/>
                        {role.label()}
                    </label>
                }).collect_view()}
            </fieldset>
            <label>
                "Password"
                <input type="password" name="input[password]" autocomplete="new-password" minlength="12"/>
                <small>
                    "At least 12 characters. Leave it empty to create a one-time sign-in link instead, "
                    "which this page shows once; the user sets up their account through it."
                </small>
            </label>
            <button type="submit">"Create user"</button>
        </ActionForm>
    }
}

#[component]
fn GroupCard(
    group: Group,
    users: Vec<(Uuid, String)>,
    set_member: ServerAction<SetGroupMember>,
) -> impl IntoView {
    let group_id = group.id.to_string();
    let add_group_id = group_id.clone();
    let member_ids: Vec<Uuid> = group
        .members
        .iter()
        .filter_map(|member| member.user_id)
        .collect();
    let candidates: Vec<(Uuid, String)> = users
        .into_iter()
        .filter(|(id, _)| !member_ids.contains(id))
        .collect();
    view! {
        <section class="group">
            <h2>{group.name.clone()}</h2>
            {(!group.description.is_empty()).then(|| view! { <p>{group.description.clone()}</p> })}
            {if group.members.is_empty() {
                view! { <p class="empty">"No members yet."</p> }.into_any()
            } else {
                view! {
                    <ul class="members">
                        {group.members.into_iter().map(|member| {
                            let group_id = group_id.clone();
                            let remove = member.user_id.map(|user_id| view! {
                                <ActionForm action=set_member attr:class="inline">
                                    <input type="hidden" name="group_id" value=group_id/>
                                    <input type="hidden" name="user_id" value=user_id.to_string()/>
                                    <input type="hidden" name="member" value="false"/>
                                    <button type="submit" class="link">"Remove"</button>
                                </ActionForm>
                            });
                            view! { <li>{member.name} " " {remove}</li> }
                        }).collect_view()}
                    </ul>
                }
                .into_any()
            }}
            {if candidates.is_empty() {
                view! { <p class="hint">"Every user is a member."</p> }.into_any()
            } else {
                view! {
                    <ActionForm action=set_member attr:class="inline-form">
                        <input type="hidden" name="group_id" value=add_group_id/>
                        <input type="hidden" name="member" value="true"/>
                        <label>
                            "Add member"
                            <select name="user_id" required>
                                {candidates.into_iter().map(|(id, name)| view! {
                                    <option value=id.to_string()>{name}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <button type="submit" class="secondary">"Add"</button>
                    </ActionForm>
                }
                .into_any()
            }}
        </section>
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::pages::resource_form::tests::decode_form;

    #[test]
    fn role_checkboxes_decode_into_vec() {
        let body = "id=6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a&roles%5B%5D=admin&roles%5B%5D=auditor";
        let decoded: SetUserRoles = decode_form(body).unwrap();
        assert_eq!(
            decoded.roles,
            vec!["admin".to_owned(), "auditor".to_owned()]
        );
    }

    #[test]
    fn no_checked_role_decodes_empty() {
        let decoded: SetUserRoles = decode_form("id=6f1c2a94-5f4e-4d7b-9a51-0c1f2e3d4b5a").unwrap();
        assert!(decoded.roles.is_empty());
    }

    #[test]
    fn new_user_roles_decode_into_vec() {
        let body = "input%5Blogin%5D=ada&input%5Bdisplay_name%5D=Ada+Lovelace&input%5Bemail%5D=\
            &input%5Broles%5D%5B%5D=requester&input%5Broles%5D%5B%5D=approver&input%5Bpassword%5D=";
        let decoded: CreateLocalUser = decode_form(body).unwrap();
        assert_eq!(
            decoded.input.roles,
            vec!["requester".to_owned(), "approver".to_owned()]
        );
        assert_eq!(decoded.input.password, "");
    }
}
