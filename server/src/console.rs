//! The console's `Backend`: each method runs the domain operation as the signed-in viewer.

use app::backend::{Backend, BackendResult};
use app::model::*;
use async_trait::async_trait;
use uuid::Uuid;

use crate::domain::actor::Actor;
use crate::domain::{
    accounts, approval_links, audit, clients, dashboard, decision_log, grants, identities, import,
    notifications, policies, requests, resources, reviews, tokens, users,
};
use crate::services::Services;

/// The backend the console's server functions call, acting with the console as source.
#[derive(Clone, Debug)]
pub struct ConsoleBackend {
    svc: Services,
}

impl ConsoleBackend {
    /// Creates the backend over `svc`.
    pub fn new(svc: Services) -> Self {
        Self { svc }
    }
}

/// Lists choices from `(value, label)` rows.
fn choices(rows: impl IntoIterator<Item = (String, String)>) -> Vec<Choice> {
    rows.into_iter()
        .map(|(value, label)| Choice { value, label })
        .collect()
}

#[async_trait]
impl Backend for ConsoleBackend {
    fn sign_in_methods(&self) -> SignInMethods {
        SignInMethods {
            oidc: self.svc.settings.sign_in.oidc,
            local: self.svc.settings.sign_in.local,
        }
    }

    async fn sign_in_password(&self, login: String, password: String) -> BackendResult<Uuid> {
        Ok(accounts::sign_in_password(&self.svc, &login, &password).await?)
    }

    async fn peek_sign_in_link(&self, token: String) -> BackendResult<String> {
        Ok(accounts::peek_link(&self.svc, &token).await?)
    }

    async fn redeem_sign_in_link(&self, token: String) -> BackendResult<Uuid> {
        Ok(accounts::redeem_link(&self.svc, &token).await?)
    }

    async fn record_sign_out(&self, viewer: &Viewer) -> BackendResult<()> {
        let entry = audit::Entry::success("user.signed_out", "user", viewer.user_id);
        audit::append_alone(
            &self.svc.pool,
            &Actor::console(viewer),
            self.svc.now(),
            entry,
        )
        .await;
        Ok(())
    }

    async fn change_password(
        &self,
        viewer: &Viewer,
        current: String,
        new: String,
    ) -> BackendResult<()> {
        Ok(users::change_password(&self.svc, &Actor::console(viewer), &current, &new).await?)
    }

    async fn dashboard(&self, viewer: &Viewer) -> BackendResult<Dashboard> {
        Ok(dashboard::load(&self.svc, &Actor::console(viewer)).await?)
    }

    async fn list_identities(
        &self,
        viewer: &Viewer,
        filter: IdentityFilter,
        cursor: Option<String>,
    ) -> BackendResult<Page<Identity>> {
        Ok(identities::list(
            &self.svc.pool,
            &Actor::console(viewer),
            &filter,
            cursor.as_deref(),
        )
        .await?)
    }

    async fn get_identity(&self, viewer: &Viewer, id: Uuid) -> BackendResult<Identity> {
        Ok(identities::get(&self.svc.pool, &Actor::console(viewer), id).await?)
    }

    async fn create_identity(
        &self,
        viewer: &Viewer,
        input: IdentityInput,
    ) -> BackendResult<Identity> {
        Ok(identities::create(
            &self.svc.pool,
            &Actor::console(viewer),
            self.svc.now(),
            &input,
        )
        .await?)
    }

    async fn update_identity(
        &self,
        viewer: &Viewer,
        id: Uuid,
        input: IdentityInput,
    ) -> BackendResult<Identity> {
        Ok(identities::update(
            &self.svc.pool,
            &Actor::console(viewer),
            self.svc.now(),
            id,
            &input,
        )
        .await?)
    }

    async fn set_identity_status(
        &self,
        viewer: &Viewer,
        id: Uuid,
        status: IdentityStatus,
    ) -> BackendResult<Identity> {
        Ok(identities::set_status(
            &self.svc.pool,
            &Actor::console(viewer),
            self.svc.now(),
            id,
            status,
        )
        .await?)
    }

    async fn import_identities(
        &self,
        viewer: &Viewer,
        csv: String,
        mode: ImportMode,
    ) -> BackendResult<ImportReport> {
        Ok(import::import(
            &self.svc.pool,
            &Actor::console(viewer),
            self.svc.now(),
            &csv,
            mode,
        )
        .await?)
    }

    async fn owner_choices(&self, viewer: &Viewer) -> BackendResult<Vec<Choice>> {
        Actor::console(viewer).user()?;
        let rows = sqlx::query!(
            "select id, name from identities where kind = 'human' and status = 'active' order by name limit 2000"
        )
        .fetch_all(&self.svc.pool)
        .await
        .map_err(crate::error::Error::from)?;
        Ok(choices(
            rows.into_iter().map(|row| (row.id.to_string(), row.name)),
        ))
    }

    async fn subject_choices(&self, viewer: &Viewer) -> BackendResult<Vec<Choice>> {
        let mut list = vec![Choice {
            value: String::new(),
            label: format!("Myself ({})", viewer.display_name),
        }];
        if let Some(own) = viewer.identity_id {
            let rows = sqlx::query!(
                r#"
                select id, name, kind from identities
                where owner_id = $1 and kind <> 'human' and status = 'active'
                order by name limit 2000
                "#,
                own
            )
            .fetch_all(&self.svc.pool)
            .await
            .map_err(crate::error::Error::from)?;
            let kind_label = |kind: &str| {
                kind.parse::<IdentityKind>()
                    .map(|kind| kind.label())
                    .unwrap_or("identity")
            };
            list.extend(choices(rows.into_iter().map(|row| {
                (
                    row.id.to_string(),
                    format!("{} ({})", row.name, kind_label(&row.kind)),
                )
            })));
        }
        Ok(list)
    }

    async fn list_resources(
        &self,
        viewer: &Viewer,
        include_archived: bool,
        cursor: Option<String>,
    ) -> BackendResult<Page<Resource>> {
        let actor = Actor::console(viewer);
        Ok(resources::list(&self.svc.pool, &actor, include_archived, cursor.as_deref()).await?)
    }

    async fn requestable_resources(&self, viewer: &Viewer) -> BackendResult<Vec<Resource>> {
        Ok(resources::requestable(&self.svc.pool, &Actor::console(viewer)).await?)
    }

    async fn get_resource(&self, viewer: &Viewer, id: Uuid) -> BackendResult<Resource> {
        Ok(resources::get(&self.svc.pool, &Actor::console(viewer), id).await?)
    }

    async fn create_resource(
        &self,
        viewer: &Viewer,
        input: ResourceInput,
    ) -> BackendResult<Resource> {
        Ok(resources::create(
            &self.svc.pool,
            &Actor::console(viewer),
            self.svc.now(),
            &input,
        )
        .await?)
    }

    async fn update_resource(
        &self,
        viewer: &Viewer,
        id: Uuid,
        input: ResourceInput,
    ) -> BackendResult<Resource> {
        Ok(resources::update(
            &self.svc.pool,
            &Actor::console(viewer),
            self.svc.now(),
            id,
            &input,
        )
        .await?)
    }

    async fn set_resource_archived(
        &self,
        viewer: &Viewer,
        id: Uuid,
        archived: bool,
    ) -> BackendResult<Resource> {
        Ok(resources::set_archived(
            &self.svc.pool,
            &Actor::console(viewer),
            self.svc.now(),
            id,
            archived,
        )
        .await?)
    }

    async fn principal_choices(&self, viewer: &Viewer) -> BackendResult<Vec<Choice>> {
        Actor::console(viewer).require(Role::Admin)?;
        let rows = sqlx::query!(
            r#"
            select 'user:' || id as "value!", display_name || ' (user)' as "label!"
                from users where disabled_at is null
            union all
            select 'group:' || id, name || ' (group)' from groups
            order by 2
            "#
        )
        .fetch_all(&self.svc.pool)
        .await
        .map_err(crate::error::Error::from)?;
        Ok(choices(rows.into_iter().map(|row| (row.value, row.label))))
    }

    async fn create_request(
        &self,
        viewer: &Viewer,
        input: RequestInput,
    ) -> BackendResult<AccessRequest> {
        Ok(requests::create(&self.svc, &Actor::console(viewer), &input).await?)
    }

    async fn list_my_requests(
        &self,
        viewer: &Viewer,
        cursor: Option<String>,
    ) -> BackendResult<Page<AccessRequest>> {
        Ok(requests::list_mine(&self.svc, &Actor::console(viewer), cursor.as_deref()).await?)
    }

    async fn list_review_queue(
        &self,
        viewer: &Viewer,
        cursor: Option<String>,
    ) -> BackendResult<Page<AccessRequest>> {
        Ok(requests::review_queue(&self.svc, &Actor::console(viewer), cursor.as_deref()).await?)
    }

    async fn get_request(&self, viewer: &Viewer, id: Uuid) -> BackendResult<RequestDetail> {
        Ok(reviews::detail(&self.svc, &Actor::console(viewer), id).await?)
    }

    async fn review_request(
        &self,
        viewer: &Viewer,
        id: Uuid,
        decision: ReviewDecision,
        comment: String,
    ) -> BackendResult<RequestDetail> {
        Ok(reviews::review(
            &self.svc,
            &Actor::console(viewer),
            id,
            decision,
            &comment,
            Channel::Console,
        )
        .await?)
    }

    async fn cancel_request(&self, viewer: &Viewer, id: Uuid) -> BackendResult<AccessRequest> {
        Ok(requests::cancel(&self.svc, &Actor::console(viewer), id).await?)
    }

    async fn list_grants(
        &self,
        viewer: &Viewer,
        scope: GrantScope,
        cursor: Option<String>,
    ) -> BackendResult<Page<Grant>> {
        Ok(grants::list(&self.svc, &Actor::console(viewer), scope, cursor.as_deref()).await?)
    }

    async fn extend_grant(
        &self,
        viewer: &Viewer,
        id: Uuid,
        by: String,
        reason: String,
    ) -> BackendResult<Grant> {
        Ok(grants::extend(&self.svc, &Actor::console(viewer), id, &by, &reason).await?)
    }

    async fn revoke_grant(
        &self,
        viewer: &Viewer,
        id: Uuid,
        reason: String,
    ) -> BackendResult<Grant> {
        Ok(grants::revoke(&self.svc, &Actor::console(viewer), id, &reason).await?)
    }

    async fn list_audit(
        &self,
        viewer: &Viewer,
        filter: AuditFilter,
        cursor: Option<String>,
    ) -> BackendResult<Page<AuditEvent>> {
        Ok(audit::list(
            &self.svc.pool,
            &Actor::console(viewer),
            &filter,
            cursor.as_deref(),
        )
        .await?)
    }

    async fn list_users(
        &self,
        viewer: &Viewer,
        cursor: Option<String>,
    ) -> BackendResult<Page<User>> {
        Ok(users::list(&self.svc, &Actor::console(viewer), cursor.as_deref()).await?)
    }

    async fn create_local_user(
        &self,
        viewer: &Viewer,
        input: NewUserInput,
    ) -> BackendResult<(User, Option<IssuedLink>)> {
        Ok(users::create_local(&self.svc, &Actor::console(viewer), &input).await?)
    }

    async fn set_user_roles(
        &self,
        viewer: &Viewer,
        id: Uuid,
        roles: Vec<String>,
    ) -> BackendResult<User> {
        Ok(users::set_roles(&self.svc, &Actor::console(viewer), id, &roles).await?)
    }

    async fn set_user_disabled(
        &self,
        viewer: &Viewer,
        id: Uuid,
        disabled: bool,
    ) -> BackendResult<User> {
        Ok(users::set_disabled(&self.svc, &Actor::console(viewer), id, disabled).await?)
    }

    async fn issue_sign_in_link(&self, viewer: &Viewer, id: Uuid) -> BackendResult<IssuedLink> {
        Ok(users::issue_link(&self.svc, &Actor::console(viewer), id).await?)
    }

    async fn list_groups(
        &self,
        viewer: &Viewer,
        cursor: Option<String>,
    ) -> BackendResult<Page<Group>> {
        Ok(users::list_groups(&self.svc, &Actor::console(viewer), cursor.as_deref()).await?)
    }

    async fn create_group(
        &self,
        viewer: &Viewer,
        name: String,
        description: String,
    ) -> BackendResult<Group> {
        Ok(users::create_group(&self.svc, &Actor::console(viewer), &name, &description).await?)
    }

    async fn set_group_member(
        &self,
        viewer: &Viewer,
        group_id: Uuid,
        user_id: Uuid,
        member: bool,
    ) -> BackendResult<Group> {
        Ok(users::set_group_member(
            &self.svc,
            &Actor::console(viewer),
            group_id,
            user_id,
            member,
        )
        .await?)
    }

    async fn list_api_tokens(&self, viewer: &Viewer) -> BackendResult<Vec<ApiToken>> {
        Ok(tokens::list(&self.svc, &Actor::console(viewer)).await?)
    }

    async fn create_api_token(
        &self,
        viewer: &Viewer,
        name: String,
        roles: Vec<String>,
        expires_in: String,
    ) -> BackendResult<CreatedToken> {
        Ok(tokens::create(
            &self.svc,
            &Actor::console(viewer),
            &name,
            &roles,
            &expires_in,
        )
        .await?)
    }

    async fn revoke_api_token(&self, viewer: &Viewer, id: Uuid) -> BackendResult<()> {
        Ok(tokens::revoke(&self.svc, &Actor::console(viewer), id).await?)
    }

    async fn open_approval_link(
        &self,
        viewer: Option<&Viewer>,
        token: String,
    ) -> BackendResult<ApprovalLinkView> {
        Ok(approval_links::open(&self.svc, viewer, &token).await?)
    }

    async fn decide_approval_link(
        &self,
        viewer: Option<&Viewer>,
        token: String,
        decision: ReviewDecision,
        comment: String,
    ) -> BackendResult<ApprovalLinkOutcome> {
        Ok(approval_links::decide(&self.svc, viewer, &token, decision, &comment).await?)
    }

    async fn notifications_overview(
        &self,
        viewer: &Viewer,
        failing_only: bool,
    ) -> BackendResult<NotificationsOverview> {
        Ok(notifications::overview(&self.svc, &Actor::console(viewer), failing_only).await?)
    }

    async fn set_resource_slack_channel(
        &self,
        viewer: &Viewer,
        resource_id: Uuid,
        channel: String,
    ) -> BackendResult<()> {
        Ok(notifications::set_resource_channel(
            &self.svc,
            &Actor::console(viewer),
            resource_id,
            &channel,
        )
        .await?)
    }

    async fn retry_delivery(&self, viewer: &Viewer, id: Uuid) -> BackendResult<()> {
        Ok(notifications::retry(&self.svc, &Actor::console(viewer), id).await?)
    }

    async fn policy_overview(&self, viewer: &Viewer) -> BackendResult<PolicyOverview> {
        Ok(policies::overview(&self.svc, &Actor::console(viewer)).await?)
    }

    async fn policy_version(
        &self,
        viewer: &Viewer,
        id: Uuid,
    ) -> BackendResult<PolicyVersionDetail> {
        Ok(policies::version(&self.svc, &Actor::console(viewer), id).await?)
    }

    async fn save_policy_draft(
        &self,
        viewer: &Viewer,
        source: String,
        reason: String,
    ) -> BackendResult<PolicyVersion> {
        Ok(policies::save_draft(&self.svc, &Actor::console(viewer), &source, &reason).await?)
    }

    async fn activate_policy(
        &self,
        viewer: &Viewer,
        id: Uuid,
        reason: String,
    ) -> BackendResult<PolicyVersion> {
        Ok(policies::activate(&self.svc, &Actor::console(viewer), id, &reason).await?)
    }

    async fn policy_what_if(&self, viewer: &Viewer, id: Uuid) -> BackendResult<WhatIf> {
        Ok(policies::what_if(&self.svc, &Actor::console(viewer), id).await?)
    }

    async fn list_decisions(
        &self,
        viewer: &Viewer,
        filter: DecisionFilter,
        cursor: Option<String>,
    ) -> BackendResult<Page<DecisionSummary>> {
        Ok(decision_log::list(
            &self.svc,
            &Actor::console(viewer),
            &filter,
            cursor.as_deref(),
        )
        .await?)
    }

    async fn get_decision(&self, viewer: &Viewer, id: Uuid) -> BackendResult<DecisionDetail> {
        Ok(decision_log::get(&self.svc, &Actor::console(viewer), id).await?)
    }

    async fn list_clients(&self, viewer: &Viewer) -> BackendResult<Vec<DecisionClient>> {
        Ok(clients::list(&self.svc, &Actor::console(viewer)).await?)
    }

    async fn create_client(
        &self,
        viewer: &Viewer,
        name: String,
        description: String,
    ) -> BackendResult<CreatedClient> {
        Ok(clients::create(&self.svc, &Actor::console(viewer), &name, &description).await?)
    }

    async fn rotate_client_token(&self, viewer: &Viewer, id: Uuid) -> BackendResult<CreatedClient> {
        Ok(clients::rotate(&self.svc, &Actor::console(viewer), id).await?)
    }

    async fn disable_client(&self, viewer: &Viewer, id: Uuid) -> BackendResult<DecisionClient> {
        Ok(clients::disable(&self.svc, &Actor::console(viewer), id).await?)
    }
}
